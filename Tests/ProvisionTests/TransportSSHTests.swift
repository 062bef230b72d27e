import Foundation
import Testing

@testable import Provision

#if canImport(Glibc)
  import Glibc
#endif

/// Tests of `SSHTransport` against a throwaway sshd on 127.0.0.1.
@Suite(.serialized) struct TransportSSHTests {
  let server: LoopbackSSHD

  init() throws { server = try LoopbackSSHD.shared.get() }

  private func transport(
    knownHosts: String? = nil, policy: SSHTarget.HostKeyPolicy = .strict,
    identityFiles: [String]? = nil, maxChannels: Int = 8
  ) throws -> SSHTransport {
    SSHTransport(
      target: try server.target(
        knownHosts: knownHosts, policy: policy, identityFiles: identityFiles,
        maxChannels: maxChannels))
  }

  private func expectTransportError(
    _ body: () async throws -> Void, sourceLocation: SourceLocation = #_sourceLocation
  ) async -> TransportError? {
    do {
      try await body()
      Issue.record("expected a TransportError", sourceLocation: sourceLocation)
      return nil
    } catch let error as TransportError {
      return error
    } catch {
      Issue.record("unexpected error \(error)", sourceLocation: sourceLocation)
      return nil
    }
  }

  @Test func keyAuthRunsCommandAndSeparatesStreams() async throws {
    let ssh = try transport()
    defer { Task { await ssh.close() } }
    let result = try await ssh.run("echo out; echo err >&2; exit 3")
    #expect(result.exitStatus == 3)
    #expect(result.exitSignal == nil)
    #expect(result.stdoutText == "out\n")
    #expect(result.stderrText == "err\n")
    let second = try await ssh.run(
      RemoteCommand(
        "printf '%s' \"$FOO\"; pwd", environment: ["FOO": "a b'c"], workingDirectory: "/tmp"))
    #expect(second.stdoutText == "a b'c/tmp\n")
    #expect(try await ssh.run("echo $LANG").stdoutText == "C.UTF-8\n")
  }

  @Test func wrongKeyFailsAuthAndNamesMethods() async throws {
    let other = server.directory.appendingPathComponent("other_\(UUID().uuidString.prefix(6))").path
    try LoopbackSSHD.shell(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", other])
    let ssh = try transport(identityFiles: [other])
    let error = await expectTransportError { _ = try await ssh.run("true") }
    guard case .authFailed(let tried)? = error?.kind else {
      Issue.record("expected authFailed, got \(String(describing: error))")
      return
    }
    #expect(tried == ["publickey (\(other))"])
    #expect(error?.description.contains("loopback") == true)
  }

  @Test func rsaKeyFailureExplainsWhy() async throws {
    let rsa = server.directory.appendingPathComponent("rsa_\(UUID().uuidString.prefix(6))").path
    try LoopbackSSHD.shell(["ssh-keygen", "-q", "-t", "rsa", "-b", "2048", "-N", "", "-f", rsa])
    try LoopbackSSHD.shell([
      "sh", "-c", "cat \(rsa).pub >> \(server.directory.path)/authorized_keys",
    ])
    let ssh = try transport(identityFiles: [rsa])
    let error = await expectTransportError { _ = try await ssh.run("true") }
    #expect(error?.detail?.contains("ed25519") == true)
  }

  @Test func hostKeyMismatchIsRefusedBeforeAuthentication() async throws {
    let sshd = try LoopbackSSHD(extraConfig: ["LogLevel DEBUG1"])
    let fake = sshd.directory.appendingPathComponent("fake_host").path
    try LoopbackSSHD.shell(["ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", fake])
    let fakeKey = try String(contentsOfFile: fake + ".pub", encoding: .utf8)
    let knownHosts = sshd.directory.appendingPathComponent("known_hosts_wrong").path
    try "[127.0.0.1]:\(sshd.port) \(fakeKey)".write(
      toFile: knownHosts, atomically: true, encoding: .utf8)
    let ssh = SSHTransport(target: try sshd.target(knownHosts: knownHosts))
    let error = await expectTransportError { _ = try await ssh.run("true") }
    #expect(
      error?.kind == .hostKeyMismatch(keyType: "ssh-ed25519", fingerprint: sshd.hostFingerprint))
    #expect(error?.description.contains(sshd.hostFingerprint) == true)
    try await Task.sleep(for: .milliseconds(300))
    #expect(!sshd.log.contains("userauth-request"))
    // The same server, trusted: authentication shows up in its log.
    let good = SSHTransport(target: try sshd.target())
    #expect(try await good.run("true").exitStatus == 0)
    await good.close()
    try await Task.sleep(for: .milliseconds(300))
    #expect(sshd.log.contains("userauth-request"))
  }

  @Test func unknownHostIsRefusedWhenStrict() async throws {
    let empty = server.directory.appendingPathComponent("kh_empty_\(UUID().uuidString.prefix(6))")
      .path
    try "".write(toFile: empty, atomically: true, encoding: .utf8)
    let ssh = try transport(knownHosts: empty)
    let error = await expectTransportError { _ = try await ssh.run("true") }
    #expect(
      error?.kind == .hostKeyUnknown(keyType: "ssh-ed25519", fingerprint: server.hostFingerprint))
  }

  @Test func bareHostEntryDoesNotMatchOtherPorts() async throws {
    let path = server.directory.appendingPathComponent("kh_bare_\(UUID().uuidString.prefix(6))")
      .path
    try "127.0.0.1 \(server.hostPublicKey)\n".write(toFile: path, atomically: true, encoding: .utf8)
    let ssh = try transport(knownHosts: path)
    let error = await expectTransportError { _ = try await ssh.run("true") }
    #expect(
      error?.kind == .hostKeyUnknown(keyType: "ssh-ed25519", fingerprint: server.hostFingerprint))
  }

  @Test func hashedKnownHostsEntriesMatch() async throws {
    let path = server.directory.appendingPathComponent("kh_hashed_\(UUID().uuidString.prefix(6))")
      .path
    try "[127.0.0.1]:\(server.port) \(server.hostPublicKey)\n".write(
      toFile: path, atomically: true, encoding: .utf8)
    try LoopbackSSHD.shell(["ssh-keygen", "-q", "-H", "-f", path])
    #expect(try String(contentsOfFile: path, encoding: .utf8).hasPrefix("|1|"))
    let ssh = try transport(knownHosts: path)
    #expect(try await ssh.run("true").exitStatus == 0)
    await ssh.close()
  }

  @Test func hostNamesAreResolvedAndKnownByName() async throws {
    let path = server.directory.appendingPathComponent("kh_name_\(UUID().uuidString.prefix(6))")
      .path
    try "[localhost]:\(server.port) \(server.hostPublicKey)\n".write(
      toFile: path, atomically: true, encoding: .utf8)
    var target = try server.target(knownHosts: path)
    target.address = "localhost"
    let ssh = SSHTransport(target: target)
    #expect(try await ssh.run("echo named").stdoutText == "named\n")
    await ssh.close()
  }

  @Test func unreachableAndSilentHostsFailInTime() async throws {
    var refused = try server.target()
    refused.port = LoopbackSSHD.freePort()
    let error = await expectTransportError {
      _ = try await SSHTransport(target: refused).run("true")
    }
    guard case .unreachable? = error?.kind else {
      Issue.record("expected unreachable, got \(String(describing: error))")
      return
    }
    let listener = LoopbackSSHD.silentListener()
    defer { close(listener.fd) }
    var silent = try server.target()
    silent.port = listener.port
    silent.handshakeTimeout = 1
    let start = ContinuousClock.now
    let timeout = await expectTransportError {
      _ = try await SSHTransport(target: silent).run("true")
    }
    #expect(timeout?.kind == .timeout)
    #expect(ContinuousClock.now - start < .seconds(15))
    var nameless = try server.target()
    nameless.address = "no-such-host.invalid"
    let unresolved = await expectTransportError {
      _ = try await SSHTransport(target: nameless).run("true")
    }
    #expect(unresolved?.description.contains("cannot resolve") == true)
  }

  /// A connection started ahead that fails fails the calls made while it was being made with
  /// its error, instead of their making a second attempt (a second wait for a silent host); a
  /// later call tries again. The listener never accepts: its queue counts the attempts.
  @Test func callsMadeWhileConnectingAheadShareItsFailure() async throws {
    let listener = LoopbackSSHD.silentListener()
    defer { close(listener.fd) }
    var silent = try server.target()
    silent.port = listener.port
    silent.handshakeTimeout = 1
    let ssh = SSHTransport(target: silent)
    ssh.connectAhead()
    ssh.connectAhead()
    // The call comes while the connection is being made (its handshake waits a second).
    try await Task.sleep(for: .milliseconds(300))
    let first = await expectTransportError { _ = try await ssh.run("true") }
    #expect(first?.kind == .timeout)
    func attempts() -> Int {
      _ = fcntl(listener.fd, F_SETFL, fcntl(listener.fd, F_GETFL) | O_NONBLOCK)
      var count = 0
      while case let fd = accept(listener.fd, nil, nil), fd >= 0 {
        close(fd)
        count += 1
      }
      return count
    }
    #expect(attempts() == 1)
    let later = await expectTransportError { _ = try await ssh.run("true") }
    #expect(later?.kind == .timeout)
    #expect(attempts() == 1)
  }

  @Test func acceptNewWritesTheKeyOnceUnderConcurrency() async throws {
    let path = server.directory.appendingPathComponent("kh_new_\(UUID().uuidString.prefix(6))/kh")
      .path
    let transports = try (0..<10).map { _ in try transport(knownHosts: path, policy: .acceptNew) }
    try await withThrowingTaskGroup(of: Int32?.self) { group in
      for ssh in transports { group.addTask { try await ssh.run("true").exitStatus } }
      for try await status in group { #expect(status == 0) }
    }
    for ssh in transports { await ssh.close() }
    let lines = try String(contentsOfFile: path, encoding: .utf8)
      .split(separator: "\n", omittingEmptySubsequences: true)
    let key = server.hostPublicKey.split(separator: " ").prefix(2).joined(separator: " ")
    #expect(lines == ["[127.0.0.1]:\(server.port) \(key)"])
    let strict = try transport(knownHosts: path, policy: .strict)
    #expect(try await strict.run("true").exitStatus == 0)
    await strict.close()
  }

  @Test func exitSignalIsReported() async throws {
    let ssh = try transport()
    let result = try await ssh.run("sh -c 'kill -TERM $$'")
    #expect(result.exitSignal == "TERM")
    #expect(result.exitStatus == nil)
    let missing = try await ssh.run("no-such-command-xyz")
    #expect(missing.exitStatus == 127)
    await ssh.close()
  }

  @Test func stdinOfOneMebibyteReachesTheCommand() async throws {
    let ssh = try transport()
    let input = Data((0..<(1 << 20)).map { UInt8(truncatingIfNeeded: $0 &* 31) })
    let result = try await ssh.run(RemoteCommand("wc -c", stdin: input))
    #expect(result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines) == "1048576")
    let echoed = try await ssh.run(RemoteCommand("cat", stdin: input))
    #expect(echoed.stdout == input)
    await ssh.close()
  }

  @Test func largeOutputStreamsWithoutDeadlock() async throws {
    let ssh = try transport()
    let result = try await ssh.run("head -c 20000000 /dev/zero; head -c 3000000 /dev/zero >&2")
    #expect(result.stdout.count == 20_000_000)
    #expect(result.stderr.count == 3_000_000)
    #expect(result.exitStatus == 0)
    let counter = ByteCounter()
    let streamed = try await ssh.run(RemoteCommand("head -c 20000000 /dev/zero")) {
      stream, data in counter.add(stream, data.count)
    }
    #expect(streamed.stdout.isEmpty)
    #expect(counter.stdout == 20_000_000)
    await ssh.close()
  }

  @Test func timeoutKillsTheRemoteCommand() async throws {
    let ssh = try transport()
    let start = ContinuousClock.now
    let error = await expectTransportError {
      _ = try await ssh.run(RemoteCommand("sleep 29.71", timeout: 1))
    }
    #expect(error?.kind == .timeout)
    // Well under the 29.71 s the command would take: the timeout, not the command, ended it.
    #expect(ContinuousClock.now - start < .seconds(15))
    try await Task.sleep(for: .seconds(2))
    let left = try await ssh.run("pgrep -f 'sleep 29[.]71' || true")
    #expect(left.stdoutText.isEmpty)
    #expect(try await ssh.run("echo alive").stdoutText == "alive\n")
    await ssh.close()
  }

  @Test func cancellingTheTaskClosesTheChannel() async throws {
    let ssh = try transport()
    #expect(try await ssh.run("true").exitStatus == 0)
    let running = Task { try await ssh.run("sleep 28.31") }
    try await Task.sleep(for: .milliseconds(700))
    let start = ContinuousClock.now
    running.cancel()
    await #expect(throws: CancellationError.self) { _ = try await running.value }
    #expect(ContinuousClock.now - start < .seconds(10))
    try await Task.sleep(for: .seconds(1.5))
    #expect(try await ssh.run("pgrep -f 'sleep 28[.]31' || true").stdoutText.isEmpty)
    await ssh.close()
  }

  @Test func manyCommandsShareOneConnection() async throws {
    let ssh = try transport(maxChannels: 8)
    let start = ContinuousClock.now
    try await withThrowingTaskGroup(of: (Int, String).self) { group in
      for index in 0..<20 {
        group.addTask { (index, try await ssh.run("sleep 0.5; echo \(index)").stdoutText) }
      }
      for try await (index, output) in group { #expect(output == "\(index)\n") }
    }
    // Three rounds of 0.5 s at 8 channels; far less than 20 in a row.
    #expect(ContinuousClock.now - start < .seconds(8))
    let sessions = try await ssh.run("echo $PPID")
    #expect(sessions.exitStatus == 0)
    await ssh.close()
  }

  @Test func concurrentStreamsInBothDirectionsShareTheSession() async throws {
    let ssh = try transport()
    try await withThrowingTaskGroup(of: Bool.self) { group in
      for index in 0..<12 {
        group.addTask {
          let input = Data((0..<1_500_000).map { UInt8(truncatingIfNeeded: $0 &+ index) })
          let result = try await ssh.run(
            RemoteCommand("cat; head -c 1000000 /dev/zero >&2", stdin: input))
          return result.stdout == input && result.stderr.count == 1_000_000
        }
      }
      for try await isIntact in group { #expect(isIntact) }
    }
    await ssh.close()
  }

  @Test func fiftyConnectionsDoNotBlockTheCooperativePool() async throws {
    let transports = try (0..<50).map { _ in try transport() }
    let ticker = Ticker()
    let tick = Task {
      while !Task.isCancelled {
        ticker.tick()
        try? await Task.sleep(for: .milliseconds(10))
      }
    }
    let start = ContinuousClock.now
    try await withThrowingTaskGroup(of: String.self) { group in
      for ssh in transports { group.addTask { try await ssh.run("echo ok").stdoutText } }
      for try await output in group { #expect(output == "ok\n") }
    }
    let elapsed = ContinuousClock.now - start
    tick.cancel()
    for ssh in transports { await ssh.close() }
    #expect(elapsed < .seconds(30))
    #expect(ticker.longestGap < .seconds(1), "the cooperative pool stalled")
  }

  @Test func uploadReplacesAtomicallyWithMode() async throws {
    let ssh = try transport()
    let directory = server.directory.appendingPathComponent("up_\(UUID().uuidString.prefix(6))")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    let path = directory.appendingPathComponent("file.conf").path
    try "old content\n".write(toFile: path, atomically: false, encoding: .utf8)
    chmod(path, 0o600)
    let inodeBefore = try await ssh.run("stat -c %i \(path)").stdoutText
    let content = Data((0..<300_000).map { UInt8(truncatingIfNeeded: $0 &* 7) })
    try await ssh.upload(content, to: path, mode: 0o640, owner: nil, group: nil, become: nil)
    #expect(try Data(contentsOf: URL(fileURLWithPath: path)) == content)
    let info = try #require(try await ssh.stat(path))
    #expect(info.type == .regular)
    #expect(info.mode == 0o640)
    #expect(info.size == 300_000)
    let local = try LoopbackSSHD.shell(["sha256sum", path]).prefix(64)
    #expect(info.sha256 == String(local))
    #expect(try await ssh.run("stat -c %i \(path)").stdoutText != inodeBefore)
    #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["file.conf"])
    try await ssh.upload(
      Data("owned\n".utf8), to: path, mode: 0o644, owner: server.user, group: nil, become: nil)
    #expect(try await ssh.stat(path)?.owner == server.user)
    // Without a mode, a replaced file keeps its mode.
    try await ssh.upload(Data("v2\n".utf8), to: path)
    #expect(try await ssh.stat(path)?.mode == 0o644)
    #expect(try await ssh.download(path) == Data("v2\n".utf8))
    let big = Data(count: 5_000_000)
    try await ssh.upload(big, to: path)
    #expect(try await ssh.download(path) == big)
    // Modes the temporary file is created with (by its umask) and modes set after, on new
    // files and over old ones; a read-only mode still lets the upload write the content.
    for mode: UInt16 in [0o600, 0o444, 0o755, 0o2750, 0o640] {
      for target in [path, directory.appendingPathComponent("new-\(String(mode, radix: 8))").path] {
        try await ssh.upload(Data("mode \(mode)\n".utf8), to: target, mode: mode, owner: nil, group: nil, become: nil)
        #expect(try await ssh.stat(target)?.mode == mode, "\(target) \(String(mode, radix: 8))")
        #expect(try await ssh.run("cat \(ShellQuoting.quote(target))").stdoutText == "mode \(mode)\n")
      }
    }
    #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path).allSatisfy { !$0.hasPrefix(".") })
    await ssh.close()
  }

  @Test func statReportsMissingAndDirectories() async throws {
    let ssh = try transport()
    #expect(try await ssh.stat("/nonexistent/provision/file") == nil)
    let info = try #require(try await ssh.stat(server.directory.path))
    #expect(info.type == .directory)
    #expect(info.sha256 == nil)
    let upload = await expectTransportError {
      try await ssh.upload(Data("x".utf8), to: "/nonexistent/provision/file")
    }
    #expect(upload?.kind == .channel("cannot upload '/nonexistent/provision/file': no such file"))
    let error = await expectTransportError { _ = try await ssh.download("/nonexistent/x") }
    guard case .channel? = error?.kind else {
      Issue.record("expected a channel error, got \(String(describing: error))")
      return
    }
    await ssh.close()
  }

  /// Prints the PID of the sshd process serving the connection: the parent of the command's
  /// shell, or of the resident shell that started it.
  static let sessionPID =
    "p=$PPID; [ \"$(cat /proc/$p/comm)\" = sshd ] || p=$(cut -d' ' -f4 /proc/$p/stat); echo $p"

  @Test func frozenServerIsDetectedByKeepalive() async throws {
    var target = try server.target()
    target.keepaliveInterval = 1
    let ssh = SSHTransport(target: target)
    let pid = try await ssh.run(Self.sessionPID).stdoutText
    let sessionPID = try #require(Int32(pid.trimmingCharacters(in: .whitespacesAndNewlines)))
    let running = Task { try await ssh.run("sleep 9.37") }
    try await Task.sleep(for: .milliseconds(500))
    kill(sessionPID, SIGSTOP)
    defer {
      kill(sessionPID, SIGKILL)
      kill(sessionPID, SIGCONT)
    }
    let start = ContinuousClock.now
    let error = await expectTransportError { _ = try await running.value }
    #expect(error?.kind == .connectionDropped)
    #expect(ContinuousClock.now - start < .seconds(15))
    #expect(try await ssh.run("echo fresh").stdoutText == "fresh\n")
    await ssh.close()
  }

  @Test func droppedConnectionFailsTheCommandAndReconnects() async throws {
    let ssh = try transport()
    #expect(try await ssh.run("true").exitStatus == 0)
    // Kill this connection's sshd process from inside the command.
    let error = await expectTransportError { _ = try await ssh.run("kill -KILL $(\(Self.sessionPID)); sleep 5") }
    #expect(error?.kind == .connectionDropped)
    #expect(try await ssh.run("echo back").stdoutText == "back\n")
    // Dropped between commands: the next command reconnects transparently.
    let pid = try await ssh.run(Self.sessionPID).stdoutText
    let sessionPID = try #require(Int32(pid.trimmingCharacters(in: .whitespacesAndNewlines)))
    kill(sessionPID, SIGKILL)
    try await Task.sleep(for: .milliseconds(200))
    #expect(try await ssh.run("echo again").stdoutText == "again\n")
    await ssh.close()
  }
}

/// Counts streamed bytes from the loop thread.
final class ByteCounter: @unchecked Sendable {
  private let lock = NSLock()
  private var counts: [CommandStream: Int] = [:]

  func add(_ stream: CommandStream, _ count: Int) {
    lock.withLock { counts[stream, default: 0] += count }
  }
  var stdout: Int { lock.withLock { counts[.stdout, default: 0] } }
}

/// Measures the longest pause between ticks of a task on the cooperative pool.
final class Ticker: @unchecked Sendable {
  private let lock = NSLock()
  private var last = ContinuousClock.now
  private var gap = Duration.zero

  func tick() {
    lock.withLock {
      let now = ContinuousClock.now
      gap = max(gap, now - last)
      last = now
    }
  }

  var longestGap: Duration { lock.withLock { gap } }
}
