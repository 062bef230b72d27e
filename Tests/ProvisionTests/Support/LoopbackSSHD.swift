import Foundation
import Provision

#if canImport(Glibc)
  import Glibc
#endif

/// A throwaway OpenSSH server on 127.0.0.1 for transport tests.
///
/// Generates its own host key and an ed25519 client key, authorizes that key for the current
/// user and runs `sshd -D -e` as a child process on a free high port.
final class LoopbackSSHD: @unchecked Sendable {
  /// The directory with keys, config and logs.
  let directory: URL
  let port: Int
  let user: String
  /// The authorized client key.
  let clientKey: String
  /// The server's host key (public), as `ssh-ed25519 AAAA…`.
  let hostPublicKey: String
  /// The host key's fingerprint as OpenSSH prints it, `SHA256:…`.
  let hostFingerprint: String
  private let process: Process
  private let lifeline: Pipe
  private let logURL: URL

  /// The server shared by tests that need no special configuration.
  static let shared = Result { try LoopbackSSHD() }

  /// Starts a server with `extraConfig` lines in its sshd_config and `environment` set for
  /// every session.
  ///
  /// `SHLVL=1` is always set: Debian's bash sources `~/.bashrc` for commands run by sshd only
  /// when it is the first shell level, and root's rc file on test machines can take 150 ms of
  /// CPU per command, which would dominate timing-sensitive tests.
  /// With `fakeSudo`, a `FakeSudo` script comes first on the sessions' `PATH`.
  init(extraConfig: [String] = [], environment: [String: String] = [:], fakeSudo: Bool = false)
    throws
  {
    let base = FileManager.default.temporaryDirectory
      .appendingPathComponent("provision-sshd-\(UUID().uuidString.prefix(8))")
    try FileManager.default.createDirectory(at: base, withIntermediateDirectories: true)
    directory = base
    user = LoopbackSSHD.currentUserName()
    var environment = environment
    if fakeSudo {
      let bin = base.appendingPathComponent("bin")
      try FileManager.default.createDirectory(at: bin, withIntermediateDirectories: true)
      try FakeSudo.install(in: bin.path)
      environment["PATH"] = "\(bin.path):/usr/bin:/bin"
    }
    let hostKey = base.appendingPathComponent("host_ed25519").path
    clientKey = base.appendingPathComponent("client_ed25519").path
    try LoopbackSSHD.shell(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", hostKey])
    try LoopbackSSHD.shell(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", clientKey])
    hostPublicKey = try String(contentsOfFile: hostKey + ".pub", encoding: .utf8)
      .trimmingCharacters(in: .whitespacesAndNewlines)
    let listing = try LoopbackSSHD.shell(["ssh-keygen", "-l", "-E", "sha256", "-f", hostKey])
    hostFingerprint =
      listing.split(separator: " ").map(String.init).first {
        $0.hasPrefix("SHA256:")
      } ?? ""
    let authorized = base.appendingPathComponent("authorized_keys")
    try FileManager.default.copyItem(atPath: clientKey + ".pub", toPath: authorized.path)
    if getuid() == 0 {
      try? FileManager.default.createDirectory(
        atPath: "/run/sshd", withIntermediateDirectories: true)
    }
    logURL = base.appendingPathComponent("sshd.log")
    var lastError: (any Error)?
    for _ in 0..<5 {
      let port = LoopbackSSHD.freePort()
      let config = base.appendingPathComponent("sshd_config")
      // sshd keeps the first value it reads for a keyword, so the caller's lines go first.
      var lines = extraConfig
      let variables = ["SHLVL": "1"].merging(environment) { $1 }
        .sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
      lines.append("SetEnv " + variables.joined(separator: " "))
      lines += [
        "ListenAddress 127.0.0.1", "Port \(port)", "HostKey \(hostKey)",
        "PidFile \(base.appendingPathComponent("sshd.pid").path)",
        "AuthorizedKeysFile \(authorized.path)", "StrictModes no", "UsePAM no",
        "PasswordAuthentication no", "KbdInteractiveAuthentication no",
        "PermitRootLogin prohibit-password", "MaxStartups 200", "MaxSessions 10",
        "LogLevel ERROR", "Subsystem sftp internal-sftp",
      ]
      try (lines.joined(separator: "\n") + "\n").write(
        to: config, atomically: true, encoding: .utf8)
      // sshd runs under a shell that kills it and removes the directory as soon as its stdin
      // closes, so both go away with the test process even when nothing calls `stop()`.
      let process = Process()
      let lifeline = Pipe()
      process.executableURL = URL(fileURLWithPath: "/bin/sh")
      process.arguments = [
        "-c", "d=$1; shift; \"$@\" & pid=$!; read _; kill $pid; rm -rf \"$d\"", "sh",
        base.path, "/usr/sbin/sshd", "-D", "-e",
        "-f", config.path,
      ]
      process.standardInput = lifeline
      _ = FileManager.default.createFile(atPath: logURL.path, contents: nil)
      let log = try FileHandle(forWritingTo: logURL)
      process.standardError = log
      process.standardOutput = log
      try process.run()
      if LoopbackSSHD.waitForPort(port, seconds: 10) {
        self.process = process
        self.lifeline = lifeline
        self.port = port
        return
      }
      try? lifeline.fileHandleForWriting.close()
      process.waitUntilExit()
      lastError = SetupError(message: "sshd did not listen: \(log_(logURL))")
    }
    throw lastError ?? SetupError(message: "sshd did not start")
  }

  deinit { stop() }

  /// Stops the server and removes its directory, without waiting; connections it already
  /// accepted keep their own processes.
  func stop() {
    try? lifeline.fileHandleForWriting.close()
  }

  /// The server log so far.
  var log: String { log_(logURL) }

  /// A known_hosts file holding this server's key under `[127.0.0.1]:port`.
  func writeKnownHosts(name: String = "known_hosts") throws -> String {
    let path = directory.appendingPathComponent(name).path
    try "[127.0.0.1]:\(port) \(hostPublicKey)\n".write(
      toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  /// A target for this server that trusts its host key.
  func target(
    knownHosts: String? = nil, policy: SSHTarget.HostKeyPolicy = .strict,
    identityFiles: [String]? = nil, maxChannels: Int = 8
  ) throws -> SSHTarget {
    let knownHostsFile = try knownHosts ?? writeKnownHosts()
    return SSHTarget(
      name: "loopback", address: "127.0.0.1", port: port, user: user,
      identityFiles: identityFiles ?? [clientKey], useAgent: false,
      knownHostsFiles: [knownHostsFile], hostKeyPolicy: policy, connectTimeout: 5,
      handshakeTimeout: 10, maxChannels: maxChannels)
  }

  struct SetupError: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
  }

  @discardableResult
  static func shell(_ arguments: [String]) throws -> String {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = arguments
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let output = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let text = String(decoding: output, as: UTF8.self)
    guard process.terminationStatus == 0 else {
      throw SetupError(message: "\(arguments.joined(separator: " ")) failed: \(text)")
    }
    return text
  }

  private static func currentUserName() -> String {
    guard let entry = getpwuid(getuid()) else { return "root" }
    return String(cString: entry.pointee.pw_name)
  }

  /// A port the kernel just handed out and released.
  static func freePort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    address.sin_port = 0
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    _ = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return Int(UInt16(bigEndian: address.sin_port))
  }

  /// A socket on 127.0.0.1 that completes TCP connections but never says anything.
  /// - Returns: the listening descriptor (the caller closes it) and its port.
  static func silentListener() -> (fd: Int32, port: Int) {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    _ = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { bind(fd, $0, length) }
    }
    _ = listen(fd, 16)
    _ = withUnsafeMutablePointer(to: &address) {
      $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(fd, $0, &length) }
    }
    return (fd, Int(UInt16(bigEndian: address.sin_port)))
  }

  /// Waits until something accepts TCP connections on 127.0.0.1:`port`.
  static func waitForPort(_ port: Int, seconds: Double) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
      let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
      var address = sockaddr_in()
      address.sin_family = sa_family_t(AF_INET)
      address.sin_addr.s_addr = inet_addr("127.0.0.1")
      address.sin_port = UInt16(port).bigEndian
      let result = withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
          Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
      }
      close(fd)
      if result == 0 { return true }
      usleep(20_000)
    }
    return false
  }
}

private func log_(_ url: URL) -> String {
  (try? String(contentsOf: url, encoding: .utf8)) ?? ""
}
