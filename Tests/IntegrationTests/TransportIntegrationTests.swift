import Foundation
import Inventory
import Testing

@testable import Provision

/// The SSH transport against real OpenSSH servers on the namespaced test hosts.
///
/// Serialized: the fault tests stop, kill and cut hosts that other tests use.
@Suite(.serialized) struct TransportIntegrationTests {
  @Test func everyHostRunsACommand() async throws {
    let inventory = try Testbed.shared()
    let targets = try inventory.hosts(in: "all").map { ($0, try Testbed.settings($0)) }
    #expect(targets.count == Testbed.hostCount)
    let results = await ParallelExec.run(targets: targets, command: "hostname", timeout: 20, forks: 10)
    for (host, outcome) in results {
      guard case .finished(let result) = outcome else {
        Issue.record("\(host): \(outcome)")
        continue
      }
      #expect(result.exitStatus == 0)
      #expect(result.stdoutText == host + "\n")
    }
  }

  @Test func connectsOverIPv6() async throws {
    var settings = try Testbed.settings("node2")
    settings.address = "fd31:231::12"
    settings.hostKeyPolicy = .acceptNew  // known_hosts lists the hosts by IPv4 address
    settings.knownHostsFiles = ["/tmp/provision-known-hosts-v6-\(UUID())"]
    defer { try? FileManager.default.removeItem(atPath: settings.knownHostsFiles[0]) }
    let transport = settings.makeTransport()
    defer { Task { await transport.close() } }
    let r = try await transport.run("echo $SSH_CONNECTION")
    #expect(r.stdoutText.contains("fd31:231::12"))
  }

  @Test func exitStatusSignalAndSeparateStreams() async throws {
    let transport = try Testbed.settings("node1").makeTransport()
    defer { Task { await transport.close() } }
    let r = try await transport.run("echo out; echo err >&2; exit 3")
    #expect(r.exitStatus == 3 && r.stdoutText == "out\n" && r.stderrText == "err\n")
    let killed = try await transport.run("sh -c 'kill -TERM $$'")
    #expect(killed.exitSignal == "TERM")
    #expect(!killed.succeeded)
  }

  @Test func becomeWithoutAndWithPassword() async throws {
    let deploy = try Testbed.settings("node2", user: "deploy", become: true).makeTransport()
    let r = try await deploy.run(RemoteCommand("id -un", become: Become()))
    #expect(r.stdoutText == "root\n")
    let plain = try await deploy.run("id -un")
    #expect(plain.stdoutText == "deploy\n")
    await deploy.close()

    let ops = try Testbed.settings("node2", user: "ops").makeTransport()
    let withPassword = try await ops.run(RemoteCommand("id -un", become: Become(password: Testbed.opsPassword)))
    #expect(withPassword.stdoutText == "root\n")
    let asDeploy = try await ops.run(
      RemoteCommand("id -un", become: Become(user: "deploy", password: Testbed.opsPassword)))
    #expect(asDeploy.stdoutText == "deploy\n")
    await #expect(throws: TransportError.self) {
      try await ops.run(RemoteCommand("id -un", become: Become(password: "not-the-password")))
    }
    let needsPassword = try await ops.run(RemoteCommand("id -un", become: Become()))
    #expect(!needsPassword.succeeded)
    await ops.close()
  }

  @Test func becomeWithSu() async throws {
    let root = try Testbed.settings("node2").makeTransport()
    #expect(try await root.run("echo 'root:su-test-pw' | chpasswd").succeeded)
    await root.close()
    let ops = try Testbed.settings("node2", user: "ops").makeTransport()
    defer { Task { await ops.close() } }
    let r = try await ops.run(
      RemoteCommand("id -un; cat", stdin: Data("after the gate\n".utf8),
        become: Become(password: "su-test-pw", method: .su)))
    #expect(r.stdoutText == "root\nafter the gate\n")
    await #expect(throws: TransportError.self) {
      try await ops.run(RemoteCommand("id -un", become: Become(password: "wrong", method: .su)))
    }
    do {
      _ = try await ops.run(RemoteCommand("id -un", become: Become(method: .su)))
      Issue.record("su without a password should fail, not wait")
    } catch let error as TransportError {
      #expect(error.kind == .becomeFailed("su asks for a password and none was given"))
    }
  }

  @Test func bigOutputAndStdin() async throws {
    let transport = try Testbed.settings("node3").makeTransport()
    defer { Task { await transport.close() } }
    let big = try await transport.run("head -c 20000000 /dev/zero; head -c 1000000 /dev/zero >&2")
    #expect(big.stdout.count == 20_000_000)
    #expect(big.stderr.count == 1_000_000)
    let input = Data(repeating: 65, count: 1 << 20)
    let counted = try await transport.run(RemoteCommand("wc -c", stdin: input))
    #expect(counted.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == "1048576")
  }

  @Test func timeoutKillsTheRemoteCommand() async throws {
    let transport = try Testbed.settings("node3").makeTransport()
    defer { Task { await transport.close() } }
    let started = Date()
    await #expect(throws: TransportError(.timeout, host: "node3")) {
      try await transport.run(RemoteCommand("sleep 37", timeout: 2))
    }
    #expect(Date().timeIntervalSince(started) < 10)
    // The resident shell's process group is killed at once; `timeout`, in a process group of
    // its own, kills the command at the remote deadline, a second after the local one.
    var left = ""
    for _ in 0..<10 {
      try await Task.sleep(for: .milliseconds(500))
      left = try await transport.run("ps -eo args= | grep -x 'sleep 37' || true").stdoutText
      if left.isEmpty { break }
    }
    #expect(left.isEmpty, "the command outlived the remote deadline")
  }

  @Test func filesUploadAtomicallyWithModeAndChecksum() async throws {
    let transport = try Testbed.settings("node1", user: "deploy").makeTransport()
    defer { Task { await transport.close() } }
    let path = "/etc/provision-test/it's a file.conf"
    _ = try await transport.run(RemoteCommand("mkdir -p /etc/provision-test", become: Become()))
    for content in ["first\n", "second, replacing the first\n"] {
      try await transport.upload(
        Data(content.utf8), to: path, mode: 0o640, owner: "root", group: "deploy", become: Become())
    }
    let info = try #require(try await transport.stat(path, become: Become()))
    #expect(info.mode == 0o640 && info.owner == "root" && info.group == "deploy")
    #expect(info.size == 28)
    #expect(info.sha256 == "23c4b60aad417432bad41b3ff2cfc6f07e1512cae59dc052537478846af85b87")
    let back = try await transport.download(path, become: Become())
    #expect(String(decoding: back, as: UTF8.self) == "second, replacing the first\n")
    let leftovers = try await transport.run(RemoteCommand("ls -a /etc/provision-test | wc -l", become: Become()))
    #expect(leftovers.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == "3")  // . .. file
  }

  @Test func aHostKilledMidCommandFailsAloneAndComesBack() async throws {
    async let victim: ParallelExec.Outcome = {
      let r = await ParallelExec.run(targets: [("node4", try Testbed.settings("node4"))], command: "sleep 20", timeout: 40, forks: 1)
      return r[0].1
    }()
    async let survivor = ParallelExec.run(
      targets: [("node5", try Testbed.settings("node5"))], command: "sleep 3; echo done", timeout: 40, forks: 1)
    try await Task.sleep(for: .seconds(1))
    #expect(Testbed.fault("kill", "node4").status == 0)
    let outcome = try await victim
    guard case .unreachable(let error) = outcome else {
      Issue.record("node4 should have dropped: \(outcome)")
      return
    }
    #expect(error.host == "node4")
    let other = try await survivor
    guard case .finished(let done) = other[0].1 else {
      Issue.record("node5: \(other[0].1)")
      return
    }
    #expect(done.stdoutText == "done\n")
    #expect(Testbed.fault("revive", "node4").status == 0)
    let again = await ParallelExec.run(targets: [("node4", try Testbed.settings("node4"))], command: "true", timeout: 20, forks: 1)
    guard case .finished(let r) = again[0].1 else {
      Issue.record("node4 after revive: \(again[0].1)")
      return
    }
    #expect(r.succeeded)
  }

  @Test func aCutLinkFailsThatHostOnly() async throws {
    #expect(Testbed.fault("link-down", "node5").status == 0)
    defer { Testbed.fault("link-up", "node5") }
    var cut = try Testbed.settings("node5")
    cut.connectTimeout = 2
    let results = await ParallelExec.run(
      targets: [("node5", cut), ("node4", try Testbed.settings("node4"))], command: "echo up", timeout: 5, forks: 2)
    if case .finished = results[0].1 { Issue.record("node5 answered through a cut link") }
    guard case .finished(let ok) = results[1].1 else {
      Issue.record("node4: \(results[1].1)")
      return
    }
    #expect(ok.stdoutText == "up\n")
  }

  @Test func sshdDownIsUnreachable() async throws {
    #expect(Testbed.fault("sshd-stop", "node3").status == 0)
    defer { Testbed.fault("sshd-start", "node3") }
    let results = await ParallelExec.run(targets: [("node3", try Testbed.settings("node3"))], command: "true", timeout: 5, forks: 1)
    guard case .unreachable(let error) = results[0].1 else {
      Issue.record("expected unreachable: \(results[0].1)")
      return
    }
    #expect(String(describing: error).contains("node3"))
  }

  @Test func acceptNewRecordsEachKeyOnce() async throws {
    let file = "/tmp/provision-known-hosts-\(UUID())"
    defer { try? FileManager.default.removeItem(atPath: file) }
    let hosts = try Testbed.shared().hosts(in: "all")
    let targets = try hosts.map { host -> (String, ConnectionSettings) in
      var s = try Testbed.settings(host)
      s.knownHostsFiles = [file]
      s.hostKeyPolicy = .acceptNew
      return (host, s)
    }
    for _ in 0..<2 {
      let results = await ParallelExec.run(targets: targets + targets, command: "true", timeout: 20, forks: 12)
      for (host, outcome) in results {
        if case .finished = outcome { continue }
        Issue.record("\(host): \(outcome)")
      }
    }
    let lines = try String(contentsOfFile: file, encoding: .utf8).split(separator: "\n")
    #expect(lines.count == hosts.count)
    let strict = targets.map { host, settings -> (String, ConnectionSettings) in
      var s = settings
      s.hostKeyPolicy = .strict
      return (host, s)
    }
    let again = await ParallelExec.run(targets: strict, command: "true", timeout: 20, forks: 12)
    #expect(again.allSatisfy { if case .finished = $0.1 { return true } else { return false } })
  }

  /// Last: the new host key stays until the test hosts are rebuilt.
  @Test func aChangedHostKeyIsRefused() async throws {
    #expect(Testbed.fault("rekey", "node6").status == 0)
    let results = await ParallelExec.run(targets: [("node6", try Testbed.settings("node6"))], command: "true", timeout: 10, forks: 1)
    guard case .unreachable(let error) = results[0].1, case .hostKeyMismatch(let type, let fingerprint) = error.kind else {
      Issue.record("expected a host key mismatch: \(results[0].1)")
      return
    }
    #expect(type == "ssh-ed25519")
    #expect(fingerprint.hasPrefix("SHA256:") && !fingerprint.hasSuffix("="))
  }
}
