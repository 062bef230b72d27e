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

  /// Adds the lines of `text` one by one.
  ///
  /// `libssh2_knownhost_readfile` stops at the first line it cannot parse (a key type it does
  /// not know, `@cert-authority`), which would hide every entry after it.
  func add(text: String) {
    for line in text.split(whereSeparator: \.isNewline) {
      let trimmed = line.trimmingCharacters(in: .whitespaces)
      if trimmed.isEmpty || trimmed.hasPrefix("#") || trimmed.hasPrefix("@") { continue }
      _ = libssh2_knownhost_readline(
        raw, trimmed, trimmed.utf8.count, LIBSSH2_KNOWNHOST_FILE_OPENSSH)
    }
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
