import Foundation
import Inventory
import Testing

@testable import Provision

/// Builds a module from arguments as a task would give them.
fileprivate func makeModule<M: Module>(_ type: M.Type, _ given: OrderedDict) throws -> M {
  try M(ModuleArguments(given, spec: M.arguments, module: M.name))
}

#if canImport(Glibc)
  import Glibc
#endif

/// Tests of `wait_for`: argument checks, parsing, messages, and the shell loop run locally.
@Suite struct WaitForModuleTests {
  let probe = HostProbe(transport: LocalTransport(), become: nil)

  func waitFor(_ given: OrderedDict) throws -> WaitForModule { try makeModule(WaitForModule.self, given) }

  /// Runs the module's check and plan locally.
  func run(_ given: OrderedDict) async throws -> Plan {
    let module = try waitFor(given)
    return try module.plan(from: try await module.check(on: probe))
  }

  @Test func argumentChecks() {
    #expect(throws: ModuleError("port and path parameter can not both be passed to wait_for")) {
      try waitFor(["port": 22, "path": "/x"])
    }
    #expect(throws: ModuleError("state=stopped should only be used for checking a port in the wait_for module")) {
      try waitFor(["path": "/x", "state": "stopped"])
    }
    #expect(throws: ModuleError.self) { try waitFor(["path": "/x", "search_regex": "(unclosed"]) }
    #expect(throws: ModuleError.self) { try waitFor(["port": 22, "exclude_hosts": ["10.0.0.1"]]) }
    #expect(throws: ModuleError.self) { try waitFor(["port": 22, "state": "drained", "active_connection_states": ["NOPE"]]) }
    #expect(throws: ModuleError.self) { try waitFor(["state": "sideways"]) }
  }

  @Test func parsesTheLoopOutput() {
    #expect(WaitForModule.parse("timeout 5\n", hasPath: false)?.outcome == .timedOut)
    #expect(WaitForModule.parse("error no bash\n", hasPath: false)?.outcome == .failed("no bash"))
    let ok = WaitForModule.parse("ok 3\nstat 81a4 644 0 0 12 1 root root\nport 8080 ready\n", hasPath: true)
    #expect(ok?.elapsed == 3 && ok?.matchedLine == "port 8080 ready")
    // A match over several lines ends at the end, or where \u{1} stands for grep's NUL.
    #expect(WaitForModule.parse("ok 1\n-\nline one\nline two\u{1}other\u{1}\n", hasPath: true)?.matchedLine == "line one\nline two")
    #expect(ok?.pathInfo?["mode"] == "0644" && ok?.pathInfo?["state"] == "file" && ok?.pathInfo?["size"] == 12)
    #expect(WaitForModule.parse("ok 0\n-\n", hasPath: true)?.pathInfo == nil)
    #expect(WaitForModule.pathInfo("stat 41ed 755 0 0 4096 2 root root")?["state"] == "directory")
    #expect(WaitForModule.pathInfo("stat 81a4 644 0 0 1 2 root root")?["state"] == "hard")
    #expect(WaitForModule.parse("garbage", hasPath: false) == nil)
  }

  @Test func messagesMatchAnsible() throws {
    let timedOut = WaitForModule.Current(outcome: .timedOut, elapsed: 7)
    #expect(try waitFor(["port": 8080]).plan(from: timedOut).failure == "Timeout when waiting for 127.0.0.1:8080")
    #expect(try waitFor(["port": 80, "host": "web", "state": "stopped"]).plan(from: timedOut).failure == "Timeout when waiting for web:80 to stop.")
    #expect(try waitFor(["path": "/f"]).plan(from: timedOut).failure == "Timeout when waiting for file /f")
    #expect(try waitFor(["path": "/f", "state": "absent"]).plan(from: timedOut).failure == "Timeout when waiting for /f to be absent.")
    #expect(
      try waitFor(["path": "/f", "search_regex": "x+"]).plan(from: timedOut).failure == "Timeout when waiting for search string x+ in /f")
    #expect(try waitFor(["port": 1, "msg": "custom"]).plan(from: timedOut).failure == "custom")
    #expect(try waitFor(["port": 1]).plan(from: timedOut).result["elapsed"] == 7)
  }

  @Test func matchGroupsComeFromTheMatchedLine() throws {
    let module = try waitFor(["path": "/log", "search_regex": "listening on (?P<addr>\\S+):(\\d+)"])
    let plan = try module.plan(from: .init(outcome: .ready, elapsed: 2, matchedLine: "x listening on 0.0.0.0:9345 y"))
    #expect(plan.steps.isEmpty)
    #expect(plan.result["match_groups"] == ["0.0.0.0", "9345"])
    #expect(plan.result["match_groupdict"] == ["addr": "0.0.0.0"])
    #expect(plan.result["elapsed"] == 2 && plan.result["state"] == "started" && plan.result["path"] == "/log")
    #expect(WaitForModule.extendedPattern("a\\d+\\D") == "a[0-9]+[^0-9]")
    // What a port sent is matched, but Ansible reports no groups for it.
    let port = try waitFor(["port": 9345, "search_regex": "listening on (?P<addr>\\S+)"])
    let greeted = try port.plan(from: .init(outcome: .ready, elapsed: 0, matchedLine: "listening on 0.0.0.0"))
    #expect(greeted.result["match_groups"] == [] && greeted.result["match_groupdict"] == [:])
  }

  @Test func waitsForAFileThatAppears() async throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("provision-wait-\(UUID().uuidString.prefix(6))").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = dir + "/a 'b' $(x).log"
    // A thread, not a task: the cooperative pool may be busy with other tests.
    Thread.detachNewThread {
      usleep(1_200_000)
      try? "starting\nTunnel server listening on 10.0.0.1:9345\n".write(toFile: path, atomically: true, encoding: .utf8)
    }
    let plan = try await run(["path": .string(path), "search_regex": "listening on ([\\d.]+):(\\d+)", "timeout": 30])
    #expect(plan.failure == nil)
    #expect(plan.result["match_groups"] == ["10.0.0.1", "9345"])
    #expect(plan.result["state"] == "file" && plan.result["size"] != nil)
    // As Ansible's re.search over the whole file: a match may span lines.
    let across = try await run(["path": .string(path), "search_regex": "starting\\s+Tunnel (\\w+) ", "timeout": 5])
    #expect(across.failure == nil && across.result["match_groups"] == ["server"])
    let gone = try await run(["path": .string(dir + "/none"), "state": "absent", "timeout": 5])
    #expect(gone.failure == nil && gone.result["state"] == "absent")
    let stays = try await run(["path": .string(path), "state": "absent", "timeout": 1])
    #expect(stays.failure == "Timeout when waiting for \(path) to be absent.")
  }

  @Test func waitsForPorts() async throws {
    let (fd, port) = LoopbackSSHD.silentListener()
    defer { close(fd) }
    let open = try await run(["port": .int(port), "timeout": 5])
    #expect(open.failure == nil && open.result["port"] == .int(port))
    let closed = LoopbackSSHD.freePort()
    let start = Date()
    let timedOut = try await run(["port": .int(closed), "timeout": 1, "sleep": 1])
    #expect(timedOut.failure == "Timeout when waiting for 127.0.0.1:\(closed)")
    #expect(Date().timeIntervalSince(start) < 5)
    #expect(try await run(["port": .int(closed), "state": "stopped", "timeout": 3]).failure == nil)
    #expect(try await run(["port": .int(port), "state": "drained", "timeout": 3]).failure == nil)
  }

  /// Without bash or nc, a local port is found listening in /proc/net/tcp.
  @Test func procFallbackWithoutBashOrNc() async throws {
    let (fd, port) = LoopbackSSHD.silentListener()
    defer { close(fd) }
    let bin = FileManager.default.temporaryDirectory.appendingPathComponent("provision-minbin-\(UUID().uuidString.prefix(6))").path
    try FileManager.default.createDirectory(atPath: bin, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: bin) }
    for tool in ["date", "sleep", "awk", "grep", "printf", "cat", "stat", "echo", "timeout"] {
      for dir in ["/usr/bin", "/bin"] where FileManager.default.fileExists(atPath: "\(dir)/\(tool)") {
        try? FileManager.default.createSymbolicLink(atPath: "\(bin)/\(tool)", withDestinationPath: "\(dir)/\(tool)")
      }
    }
    let module = try waitFor(["port": .int(port), "timeout": 3])
    let script = "PATH=\(ShellQuoting.quote(bin)); export PATH\n" + module.script
    let result = try await LocalTransport().run(RemoteCommand("/bin/sh -c \(ShellQuoting.quote(script))"))
    #expect(result.stdoutText.hasPrefix("ok "), "\(result.stdoutText) \(result.stderrText)")
    let remote = try waitFor(["port": .int(port), "host": "10.1.2.3", "timeout": 3])
    let refused = try await LocalTransport().run(
      RemoteCommand("/bin/sh -c \(ShellQuoting.quote("PATH=\(ShellQuoting.quote(bin)); export PATH\n" + remote.script))"))
    #expect(refused.stdoutText.hasPrefix("error wait_for needs bash or nc"))
  }
}
