import CLibSSH2
import Foundation

/// A set of known_hosts lines parsed by libssh2, for checking one host key.
final class KnownHostsFile {
  /// What a check found.
  enum Match: Equatable {
    case match
    case mismatch
    case notFound
  }

  private let raw: OpaquePointer

  /// Creates an empty set bound to `session`.
  init?(session: SSHSession) {
    guard let raw = libssh2_knownhost_init(session.raw) else { return nil }
    self.raw = raw
  }

  deinit { libssh2_knownhost_free(raw) }

  /// Adds the lines of `text` one by one; with `host`, only the lines that may name it (its
  /// name among the line's names, a hashed name, or a pattern), so that a file of thousands of
  /// hosts costs little for each connection.
  ///
  /// `libssh2_knownhost_readfile` stops at the first line it cannot parse (a key type it does
  /// not know, `@cert-authority`), which would hide every entry after it.
  func add(text: String, for host: String? = nil) {
    let wanted = host.map { Array($0.utf8) }
    var bytes = Array(text.utf8)
    bytes.append(UInt8(ascii: "\n"))
    var start = 0
    for end in bytes.indices where bytes[end] == UInt8(ascii: "\n") {
      var lo = start
      var hi = end
      start = end + 1
      while lo < hi, Self.isBlank(bytes[lo]) { lo += 1 }
      while hi > lo, Self.isBlank(bytes[hi - 1]) { hi -= 1 }
      guard lo < hi, bytes[lo] != UInt8(ascii: "#"), bytes[lo] != UInt8(ascii: "@") else { continue }
      if let wanted, !Self.mayName(bytes[lo..<hi], wanted) { continue }
      let line = String(decoding: bytes[lo..<hi], as: UTF8.self)
      _ = libssh2_knownhost_readline(raw, line, line.utf8.count, LIBSSH2_KNOWNHOST_FILE_OPENSSH)
    }
  }

  static func isBlank(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 || b == 0x0D }

  /// Whether the names of a known_hosts line (its first field) may include `host`.
  static func mayName(_ line: ArraySlice<UInt8>, _ host: [UInt8]) -> Bool {
    let field = line.prefix { !isBlank($0) }
    if field.first == UInt8(ascii: "|") { return true }
    if field.contains(where: { $0 == UInt8(ascii: "*") || $0 == UInt8(ascii: "?") || $0 == UInt8(ascii: "!") }) { return true }
    return field.split(separator: UInt8(ascii: ",")).contains { $0.elementsEqual(host) }
  }

  /// Checks `key` for `host`, which is `name` for port 22 and `[name]:port` otherwise.
  ///
  /// The port is passed as -1 so that libssh2 compares the host string literally: with a port
  /// it would also accept a bare `name` entry for any port, unlike OpenSSH.
  func check(host: String, key: [UInt8], knownHostKeyType: Int32) -> Match {
    let typeMask =
      LIBSSH2_KNOWNHOST_TYPE_PLAIN | LIBSSH2_KNOWNHOST_KEYENC_RAW | knownHostKeyType
    let result = key.withUnsafeBytes { bytes in
      libssh2_knownhost_checkp(
        raw, host, -1, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count,
        typeMask, nil)
    }
    switch result {
    case LIBSSH2_KNOWNHOST_CHECK_MATCH: return .match
    case LIBSSH2_KNOWNHOST_CHECK_MISMATCH: return .mismatch
    default: return .notFound
    }
  }
}
