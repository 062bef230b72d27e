import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Times written into results and JSON output, made with the C library: a `DateFormatter` or
/// `ISO8601DateFormatter` sets up ICU each time it is made (about half a millisecond, on every
/// task of every host).
enum Timestamp {
  /// `date` as ansible-playbook's json callback writes it: UTC with milliseconds,
  /// `2026-11-25T22:31:05.123Z`.
  static func iso(_ date: Date) -> String {
    let (t, micro) = fields(date, utc: true)
    return String(
      format: "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min,
      t.tm_sec, Int32(micro / 1000))
  }

  /// `date` as Ansible's command module writes `start` and `end`: local time with
  /// microseconds, `2026-11-25 22:31:05.123456`.
  static func local(_ date: Date) -> String {
    let (t, micro) = fields(date, utc: false)
    return String(
      format: "%04d-%02d-%02d %02d:%02d:%02d.%06d", t.tm_year + 1900, t.tm_mon + 1, t.tm_mday, t.tm_hour, t.tm_min,
      t.tm_sec, Int32(micro))
  }

  private static func fields(_ date: Date, utc: Bool) -> (tm, Int) {
    let seconds = date.timeIntervalSince1970
    var whole = time_t(seconds.rounded(.down))
    let micro = min(999_999, Int(((seconds - Double(whole)) * 1_000_000).rounded(.down)))
    var t = tm()
    if utc { gmtime_r(&whole, &t) } else { localtime_r(&whole, &t) }
    return (t, micro)
  }
}
