import Foundation
import Testing

@testable import Provision

/// The C-library timestamps write what Foundation's formatters write.
@Suite struct TimestampTests {
  static let dates = [
    Date(timeIntervalSince1970: 0), Date(timeIntervalSince1970: 1_005_268_127.25),
    Date(timeIntervalSince1970: 1_795_651_265.999_5), Date(timeIntervalSince1970: 951_825_600.000_001),
  ]

  @Test func isoIsUTCWithMilliseconds() {
    let reference = ISO8601DateFormatter()
    reference.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
    for date in Self.dates {
      // The formatter rounds the milliseconds, the C library's fields truncate them.
      let truncated = Date(timeIntervalSince1970: (date.timeIntervalSince1970 * 1000).rounded(.down) / 1000)
      #expect(Timestamp.iso(date) == reference.string(from: truncated))
    }
    #expect(Timestamp.iso(Date(timeIntervalSince1970: 1_005_268_127.25)) == "2001-11-09T01:08:47.250Z")
  }

  @Test func localHasMicroseconds() {
    let reference = DateFormatter()
    reference.locale = Locale(identifier: "en_US_POSIX")
    reference.dateFormat = "yyyy-MM-dd HH:mm:ss"
    for date in Self.dates {
      let text = Timestamp.local(date)
      // Foundation rounds to milliseconds first; Ansible's fields, like these, truncate.
      #expect(text.prefix(19) == reference.string(from: Date(timeIntervalSince1970: date.timeIntervalSince1970.rounded(.down))))
      let micro = Int(((date.timeIntervalSince1970 - date.timeIntervalSince1970.rounded(.down)) * 1_000_000).rounded(.down))
      #expect(text.dropFirst(20) == String(format: "%06d", micro))
    }
  }
}
