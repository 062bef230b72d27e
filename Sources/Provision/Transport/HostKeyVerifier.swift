import CLibSSH2
import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Checks a session's host key against known_hosts files before any credential is sent.
enum HostKeyVerifier {
  /// Verifies the host key of `session` for `target`, adding it under `acceptNew`.
  ///
  /// - Throws: `TransportError` with `.hostKeyMismatch` or `.hostKeyUnknown`.
  static func verify(_ session: SSHSession, target: SSHTarget) throws(TransportError) {
    guard let (key, type) = session.hostKey() else {
      throw TransportError(
        .unreachable("the server sent no host key"), host: target.name,
        detail: session.lastError.message)
    }
    let keyType = keyTypeName(type)
    let fingerprint = self.fingerprint(session.hostKeySHA256() ?? [])
    if target.hostKeyPolicy == .off { return }
    let hostString = knownHostsName(address: target.address, port: target.port)
    let files = knownHostsFiles(for: target)
    var sawMismatch = false
    for file in files {
      guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { continue }
      switch check(text: text, session: session, host: hostString, key: key, type: type) {
      case .match: return
      case .mismatch: sawMismatch = true
      case .notFound: break
      }
    }
    if sawMismatch {
      throw TransportError(
        .hostKeyMismatch(keyType: keyType, fingerprint: fingerprint), host: target.name)
    }
    guard target.hostKeyPolicy == .acceptNew, let file = files.first else {
      throw TransportError(
        .hostKeyUnknown(keyType: keyType, fingerprint: fingerprint), host: target.name)
    }
    let line = "\(hostString) \(keyType) \(Data(key).base64EncodedString())\n"
    let existing = try append(line, to: file, host: target.name) { text in
      check(text: text, session: session, host: hostString, key: key, type: type)
    }
    if existing == .mismatch {
      throw TransportError(
        .hostKeyMismatch(keyType: keyType, fingerprint: fingerprint), host: target.name)
    }
  }

  /// The known_hosts files for `target`, defaulting to `~/.ssh/known_hosts`.
  static func knownHostsFiles(for target: SSHTarget) -> [String] {
    if !target.knownHostsFiles.isEmpty {
      return target.knownHostsFiles.map { ($0 as NSString).expandingTildeInPath }
    }
    return [NSHomeDirectory() + "/.ssh/known_hosts"]
  }

  /// The host field OpenSSH uses: `name` on port 22, `[name]:port` elsewhere.
  static func knownHostsName(address: String, port: Int) -> String {
    port == 22 ? address : "[\(address)]:\(port)"
  }

  /// An OpenSSH fingerprint: `SHA256:` and unpadded base64.
  static func fingerprint(_ digest: [UInt8]) -> String {
    var text = Data(digest).base64EncodedString()
    while text.hasSuffix("=") { text.removeLast() }
    return "SHA256:" + text
  }

  /// The SSH name of a libssh2 host key type.
  static func keyTypeName(_ type: Int32) -> String {
    switch type {
    case LIBSSH2_HOSTKEY_TYPE_RSA: return "ssh-rsa"
    case LIBSSH2_HOSTKEY_TYPE_DSS: return "ssh-dss"
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: return "ecdsa-sha2-nistp256"
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: return "ecdsa-sha2-nistp384"
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: return "ecdsa-sha2-nistp521"
    case LIBSSH2_HOSTKEY_TYPE_ED25519: return "ssh-ed25519"
    default: return "unknown"
    }
  }

  private static func knownHostKeyType(_ type: Int32) -> Int32 {
    switch type {
    case LIBSSH2_HOSTKEY_TYPE_RSA: return LIBSSH2_KNOWNHOST_KEY_SSHRSA
    case LIBSSH2_HOSTKEY_TYPE_DSS: return LIBSSH2_KNOWNHOST_KEY_SSHDSS
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_256: return LIBSSH2_KNOWNHOST_KEY_ECDSA_256
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_384: return LIBSSH2_KNOWNHOST_KEY_ECDSA_384
    case LIBSSH2_HOSTKEY_TYPE_ECDSA_521: return LIBSSH2_KNOWNHOST_KEY_ECDSA_521
    case LIBSSH2_HOSTKEY_TYPE_ED25519: return LIBSSH2_KNOWNHOST_KEY_ED25519
    default: return LIBSSH2_KNOWNHOST_KEY_UNKNOWN
    }
  }

  private static func check(
    text: String, session: SSHSession, host: String, key: [UInt8], type: Int32
  ) -> KnownHostsFile.Match {
    guard let file = KnownHostsFile(session: session) else { return .notFound }
    file.add(text: text, for: host)
    return file.check(host: host, key: key, knownHostKeyType: knownHostKeyType(type))
  }

  /// Appends `line` to `path` under an exclusive `flock`, unless `recheck` finds the host in
  /// the locked file (another connection added it meanwhile).
  ///
  /// Many connections may learn keys at once; the lock and a single `write` keep the file whole.
  /// - Returns: what `recheck` found in the file before appending.
  private static func append(
    _ line: String, to path: String, host: String,
    recheck: (String) -> KnownHostsFile.Match
  ) throws(TransportError) -> KnownHostsFile.Match {
    let directory = (path as NSString).deletingLastPathComponent
    if !directory.isEmpty && !FileManager.default.fileExists(atPath: directory) {
      try? FileManager.default.createDirectory(
        atPath: directory, withIntermediateDirectories: true,
        attributes: [.posixPermissions: 0o700])
    }
    let fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0o600)
    guard fd >= 0 else {
      throw TransportError(
        .channel("cannot write known_hosts file '\(path)'"), host: host,
        detail: String(cString: strerror(errno)))
    }
    defer { close(fd) }
    while flock(fd, LOCK_EX) != 0 && errno == EINTR {}
    defer { _ = flock(fd, LOCK_UN) }
    var contents = [UInt8]()
    var buffer = [UInt8](repeating: 0, count: 65536)
    var offset: off_t = 0
    while true {
      let count = buffer.withUnsafeMutableBytes { pread(fd, $0.baseAddress, $0.count, offset) }
      if count <= 0 { break }
      contents.append(contentsOf: buffer[0..<count])
      offset += off_t(count)
    }
    let found = recheck(String(decoding: contents, as: UTF8.self))
    if found != .notFound { return found }
    var bytes = Array(line.utf8)
    if let last = contents.last, last != UInt8(ascii: "\n") { bytes.insert(10, at: 0) }
    let written = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
    guard written == bytes.count else {
      throw TransportError(
        .channel("cannot write known_hosts file '\(path)'"), host: host,
        detail: String(cString: strerror(errno)))
    }
    return .notFound
  }
}
