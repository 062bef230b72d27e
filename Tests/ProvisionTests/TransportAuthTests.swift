import Foundation
import Testing

@testable import Provision

#if canImport(Glibc)
  import Glibc
#endif

/// Authentication methods and privilege escalation over SSH.
@Suite struct TransportAuthTests {
  let server: LoopbackSSHD

  init() throws { server = try LoopbackSSHD.shared.get() }

  private func key(_ name: String, passphrase: String = "") throws -> String {
    let path = server.directory.appendingPathComponent("\(name)_\(UUID().uuidString.prefix(6))")
      .path
    try LoopbackSSHD.shell(["ssh-keygen", "-q", "-t", "ed25519", "-N", passphrase, "-f", path])
    try LoopbackSSHD.shell([
      "sh", "-c", "cat \(path).pub >> \(server.directory.path)/authorized_keys",
    ])
    return path
  }

  @Test func passphraseProtectedKey() async throws {
    let path = try key("locked", passphrase: "open sesame")
    var target = try server.target(identityFiles: [path])
    target.passphrase = "open sesame"
    let ssh = SSHTransport(target: target)
    #expect(try await ssh.run("echo in").stdoutText == "in\n")
    await ssh.close()
    target.passphrase = "wrong"
    do {
      _ = try await SSHTransport(target: target).run("true")
      Issue.record("a wrong passphrase authenticated")
    } catch let error as TransportError {
      #expect(error.kind == .authFailed(["publickey (\(path))"]))
      #expect(error.detail?.contains("wrong passphrase") == true)
    }
  }

  @Test func agentIdentity() async throws {
    let path = try key("agent")
    let socket = server.directory.appendingPathComponent("agent-\(UUID().uuidString.prefix(6))")
      .path
    let agent = Process()
    agent.executableURL = URL(fileURLWithPath: "/usr/bin/ssh-agent")
    agent.arguments = ["-D", "-a", socket]
    agent.standardOutput = FileHandle.nullDevice
    try agent.run()
    // ssh-agent -D does not end on SIGTERM while a client is connected.
    defer { kill(agent.processIdentifier, SIGKILL) }
    for _ in 0..<100 where !FileManager.default.fileExists(atPath: socket) {
      try await Task.sleep(for: .milliseconds(20))
    }
    try LoopbackSSHD.shell(["SSH_AUTH_SOCK=\(socket)", "ssh-add", "-q", path])
    var target = try server.target(identityFiles: ["/nonexistent/key"])
    target.useAgent = true
    target.agentSocket = socket
    let ssh = SSHTransport(target: target)
    #expect(try await ssh.run("echo agent").stdoutText == "agent\n")
    await ssh.close()
  }

  @Test func proxyJumpThroughABastion() async throws {
    let bastion = try LoopbackSSHD(extraConfig: ["LogLevel DEBUG1"])
    var target = try server.target()
    target.proxyJump = SSHTarget.ProxyJump(try bastion.target())
    let ssh = SSHTransport(target: target)
    #expect(try await ssh.run("echo through").stdoutText == "through\n")
    let big = try await ssh.run("head -c 5000000 /dev/zero")
    #expect(big.stdout.count == 5_000_000)
    let input = Data((0..<2_000_000).map { UInt8(truncatingIfNeeded: $0) })
    #expect(try await ssh.run(RemoteCommand("cat", stdin: input)).stdout == input)
    await ssh.close()
    try await Task.sleep(for: .milliseconds(300))
    #expect(bastion.log.contains("direct-tcpip"))
  }

  @Test func ptyOnlyWhenAsked() async throws {
    let ssh = SSHTransport(target: try server.target())
    let plain = try await ssh.run("tty || true")
    #expect(plain.stdoutText == "not a tty\n")
    let pty = try await ssh.run(RemoteCommand("tty; echo err >&2", wantsPTY: true))
    #expect(pty.stdoutText.hasPrefix("/dev/pts/"))
    #expect(pty.stdoutText.contains("err\r\n"))
    await ssh.close()
  }
}

/// Privilege escalation against a stand-in `sudo` that speaks sudo's `-n`, `-S`, `-p`, `-u`.
@Suite struct TransportBecomeTests {
  let server: LoopbackSSHD
  let ssh: SSHTransport

  init() throws {
    server = try LoopbackSSHD(fakeSudo: true)
    ssh = SSHTransport(target: try server.target())
  }

  @Test func passwordlessBecome() async throws {
    let result = try await ssh.run(
      RemoteCommand("echo $FAKE_SUDO_USER", become: Become(user: "app")))
    #expect(result.stdoutText == "app\n")
    await ssh.close()
  }

  @Test func passwordIsAnsweredAndStdinFollows() async throws {
    let result = try await ssh.run(
      RemoteCommand(
        "cat; echo \" as $FAKE_SUDO_USER\"", stdin: Data("data".utf8),
        become: Become(password: "letmein")))
    #expect(result.stdoutText == "data as root\n")
    #expect(result.stderrText.isEmpty)
    await ssh.close()
  }

  @Test func passwordIsNotSentWhenSudoDoesNotAsk() async throws {
    let result = try await ssh.run(
      RemoteCommand(
        "cat", stdin: Data("only this".utf8),
        become: Become(user: "nopass", password: "letmein")))
    #expect(result.stdoutText == "only this")
    await ssh.close()
  }

  @Test func fileOperationsWithBecome() async throws {
    let become = Become(password: "letmein")
    let directory = server.directory.appendingPathComponent("become-files")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let path = directory.appendingPathComponent("app.conf").path
    try await ssh.upload(
      Data("x=1\n".utf8), to: path, mode: 0o600, owner: nil, group: nil, become: become)
    let info = try #require(try await ssh.stat(path, become: become))
    #expect(info.mode == 0o600)
    #expect(info.size == 4)
    #expect(try await ssh.download(path, become: become) == Data("x=1\n".utf8))
    #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["app.conf"])
    await ssh.close()
  }

  @Test func wrongPasswordFailsWithoutHanging() async throws {
    let start = ContinuousClock.now
    await #expect(
      throws: TransportError(.becomeFailed("sudo rejected the password"), host: "loopback")
    ) {
      _ = try await ssh.run(RemoteCommand("true", become: Become(password: "nope")))
    }
    // A sudo that prompts again would hang until the channel dies; this only has to be far
    // from that, not fast.
    #expect(ContinuousClock.now - start < .seconds(30))
    await ssh.close()
  }
}
