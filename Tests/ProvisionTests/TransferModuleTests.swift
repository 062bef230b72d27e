import Foundation
import Inventory
import Testing

@testable import Provision

/// Builds a module from arguments as a task would give them.
fileprivate func makeModule<M: Module>(_ type: M.Type, _ given: OrderedDict) throws -> M {
  try M(ModuleArguments(given, spec: M.arguments, module: M.name))
}

/// Tests of `script`, `slurp` and `fetch`, run against the local machine where they read.
@Suite struct TransferModuleTests {
  let local = LocalTransport()
  var probe: HostProbe { HostProbe(transport: local, become: nil) }

  /// A fresh directory, removed by the caller.
  func temporaryDirectory() throws -> String {
    let path = FileManager.default.temporaryDirectory.appendingPathComponent("provision-xfer-\(UUID().uuidString.prefix(8))").path
    try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
  }

  /// Runs a plan's steps locally, as the engine would; returns the last command's result.
  func runSteps(_ plan: Plan) async throws -> CommandResult {
    var last: CommandResult?
    for (index, step) in plan.steps.enumerated() {
      switch step.action {
      case .shell(let command, let stdin):
        last = try await local.run(RemoteCommand(command, stdin: stdin))
        if index < plan.steps.count - 1, last?.succeeded != true { throw ModuleError("\(step.summary) failed") }
      case .upload(let data, let path, let mode, let owner, let group):
        try await local.upload(data, to: path, mode: mode, owner: owner, group: group, become: nil)
      case .writeController:
        throw ModuleError("unexpected step \(step.summary)")
      }
    }
    guard let last else { throw ModuleError("no command among \(plan.steps.map(\.summary))") }
    return last
  }

  // MARK: script

  @Test func interpreterOfAShebang() {
    #expect(ScriptModule.interpreter(Data("#!/bin/bash\necho".utf8)) == ["/bin/bash"])
    #expect(ScriptModule.interpreter(Data("#!/usr/bin/env python3 -u\r\n".utf8)) == ["/usr/bin/env", "python3 -u"])
    #expect(ScriptModule.interpreter(Data("#! /bin/sh".utf8)) == ["/bin/sh"])
    #expect(ScriptModule.interpreter(Data("echo hi\n".utf8)) == nil)
  }

  @Test func scriptRunsWithHostileArguments() async throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = dir + "/my script's.sh"
    try "#!/bin/sh\nprintf '[%s]\\n' \"$@\"\necho \"stdin:$(cat)\"\necho err >&2\nexit 4\n".write(
      toFile: path, atomically: true, encoding: .utf8)
    let line = "'\(dir)/my script'\\''s.sh' one 'two words' \"th'ree\" '$(touch /tmp/pwned-script)' 'a\nb' é"
    let module = try makeModule(ScriptModule.self, ["cmd": .string(line), "chdir": .string(dir)])
    let plan = try module.plan(from: try await module.check(on: probe))
    #expect(plan.isIdempotent == false && plan.skipsInCheckMode)
    // A private directory, the copy, then the run, with a pseudo-terminal over SSH.
    #expect(plan.steps.map(\.summary).last == "run script \(dir)/my script's.sh")
    #expect(plan.steps.map(\.reportsOutput) == [false, false, true])
    #expect(plan.steps.last?.wantsPTY == true)
    let result = try await runSteps(plan)
    #expect(result.exitStatus == 4)
    #expect(result.stdoutText == "[one]\n[two words]\n[th'ree]\n[$(touch /tmp/pwned-script)]\n[a\nb]\n[é]\nstdin:\n")
    #expect(result.stderrText == "err\n")
    #expect(!FileManager.default.fileExists(atPath: "/tmp/pwned-script"))
  }

  @Test func scriptUsesSourcePathExecutableAndCleansUp() async throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try "echo \"$0\" > \(ShellQuoting.quote(dir))/zero; echo ${BASH_VERSION:+bash}\n".write(
      toFile: dir + "/s.sh", atomically: true, encoding: .utf8)
    // The engine resolves the name and passes the real path as `_source_path`.
    let plain = try makeModule(ScriptModule.self, ["cmd": "files/s.sh", "_source_path": .string(dir + "/s.sh")])
    #expect(try await runSteps(plain.plan(from: .init())).stdoutText == "\n")
    let zero = try String(contentsOfFile: dir + "/zero", encoding: .utf8)
    #expect(zero.hasSuffix("/s.sh\n"))
    #expect(!FileManager.default.fileExists(atPath: (zero.trimmingCharacters(in: .newlines) as NSString).deletingLastPathComponent))
    let bash = try makeModule(
      ScriptModule.self, ["cmd": "files/s.sh", "_source_path": .string(dir + "/s.sh"), "executable": "/bin/bash"])
    #expect(try await runSteps(bash.plan(from: .init())).stdoutText == "bash\n")
  }

  @Test func scriptCreatesAndRemoves() async throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try "exit 0\n".write(toFile: dir + "/s.sh", atomically: true, encoding: .utf8)
    let skipped = try makeModule(ScriptModule.self, ["cmd": .string(dir + "/s.sh"), "creates": .string(dir)])
    let plan = try skipped.plan(from: try await skipped.check(on: probe))
    #expect(plan.steps.isEmpty)
    #expect(plan.result["msg"] == .string("\(dir) exists, matching creates option"))
    let runs = try makeModule(ScriptModule.self, ["cmd": .string(dir + "/s.sh"), "removes": .string(dir)])
    let runPlan = try runs.plan(from: try await runs.check(on: probe))
    #expect(runPlan.steps.count == 3 && !runPlan.skipsInCheckMode)
  }

  @Test func scriptFailures() throws {
    let missing = try makeModule(ScriptModule.self, ["cmd": "/nonexistent/x.sh arg"])
    #expect(try missing.plan(from: .init()).failure == "Could not find or access '/nonexistent/x.sh' on the Ansible Controller.")
    #expect(throws: ModuleError.self) { try makeModule(ScriptModule.self, ["cmd": "/bin/true", "chdir": "relative"]) }
    #expect(throws: ModuleError.self) { try makeModule(ScriptModule.self, ["cmd": "  "]) }
  }

  // MARK: slurp

  @Test func slurpParsesAndPlans() throws {
    #expect(SlurpModule.parse(Data("y\nab\u{0}c".utf8)) == .content(Data("ab\u{0}c".utf8)))
    #expect(SlurpModule.parse(Data("y\n".utf8)) == .content(Data()))
    #expect(SlurpModule.parse(Data("n\n".utf8)) == .missing)
    #expect(SlurpModule.parse(Data("x".utf8)) == nil)
    let slurp = try makeModule(SlurpModule.self, ["path": "/etc/x"])
    let plan = try slurp.plan(from: .content(Data("hi\n".utf8)))
    #expect(plan.result["content"] == "aGkK" && plan.result["encoding"] == "base64" && plan.result["source"] == "/etc/x")
    #expect(try slurp.plan(from: .missing).failure == "file not found: /etc/x")
    #expect(try slurp.plan(from: .directory).failure == "source is a directory and must be a file: /etc/x")
  }

  @Test func slurpReadsWeirdNames() async throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let path = dir + "/a b'$(x)\nü"
    let bytes = Data([0, 1, 2, 255, 10, 10])
    try bytes.write(to: URL(fileURLWithPath: path))
    let slurp = try makeModule(SlurpModule.self, ["src": .string(path)])
    #expect(try await slurp.check(on: probe) == .content(bytes))
    #expect(try await makeModule(SlurpModule.self, ["src": .string(dir)]).check(on: probe) == .directory)
    #expect(try await makeModule(SlurpModule.self, ["src": .string(dir + "/none")]).check(on: probe) == .missing)
  }

  // MARK: fetch

  @Test func fetchDestinations() throws {
    func dest(_ src: String, _ dest: String, flat: Bool = false, dirs: Set<String> = []) throws -> String {
      try FetchModule.destination(src: src, dest: dest, flat: flat, host: "node1", cwd: "/work") { dirs.contains($0) }
    }
    #expect(try dest("/etc/hosts", "out") == "/work/out/node1/etc/hosts")
    #expect(try dest("/etc/../etc/hosts", "/abs/") == "/abs/node1/etc/hosts")
    #expect(try dest("/etc/hosts", "copies/", flat: true) == "/work/copies/hosts")
    #expect(try dest("/etc/hosts", "/x/hosts.node1", flat: true) == "/x/hosts.node1")
    #expect(throws: ModuleError.self) { try dest("/etc/hosts", "/x", flat: true, dirs: ["/x"]) }
    #expect(throws: ModuleError.self) { try dest("/etc/hosts", "/x/", flat: true, dirs: ["/x/hosts"]) }
    #expect(FetchModule.normalize("/a//b/./c/../d") == "/a/b/d")
  }

  @Test func fetchPlans() throws {
    let fetch = try makeModule(FetchModule.self, ["src": "/etc/motd", "dest": "/tmp/f", "_host": "node1"])
    let data = Data("hello\n".utf8)
    let sha1 = "f572d396fae9206628714fb2ce00f72e94f2258f"
    let new = try fetch.plan(from: .init(remote: .content(data), destination: .success("/tmp/f/node1/etc/motd"), localSHA1: nil))
    #expect(new.steps.count == 1 && new.skipsInCheckMode)
    guard case .writeController(let written, let path, nil) = new.steps[0].action else {
      Issue.record("expected a controller write")
      return
    }
    #expect(written == data && path == "/tmp/f/node1/etc/motd")
    #expect(new.result["checksum"] == .string(sha1) && new.result["remote_checksum"] == .string(sha1))
    #expect(new.result["md5sum"] == "b1946ac92492d2347c6235b4d2611184")
    let same = try fetch.plan(from: .init(remote: .content(data), destination: .success("/d"), localSHA1: sha1))
    #expect(same.steps.isEmpty && same.result["file"] == "/etc/motd")
    #expect(
      try fetch.plan(from: .init(remote: .missing, destination: .success("/d"), localSHA1: nil)).failure
        == "the remote file does not exist, not transferring, ignored")
    let lenient = try makeModule(FetchModule.self, ["src": "/x", "dest": "/d", "_host": "h", "fail_on_missing": false])
    let ignored = try lenient.plan(from: .init(remote: .missing, destination: .success("/d"), localSHA1: nil))
    #expect(ignored.failure == nil && ignored.steps.isEmpty)
    #expect(
      try fetch.plan(from: .init(remote: .directory, destination: .success("/d"), localSHA1: nil)).failure
        == "remote file is a directory, fetch cannot work on directories")
    #expect(throws: ModuleError.self) { try makeModule(FetchModule.self, ["src": "/x", "dest": "/d"]) }
  }

  @Test func fetchIsSkippedInCheckMode() async throws {
    // As in Ansible, whose fetch does not support check mode: not even a missing file fails.
    let fetch = try makeModule(FetchModule.self, ["src": "/no/such/file", "dest": "/tmp/f", "_host": "node1", "_check": true])
    let plan = try fetch.plan(from: try await fetch.check(on: probe))
    #expect(plan.skipReason == "check mode not (yet) supported for this module")
    #expect(plan.steps.isEmpty && plan.failure == nil)
  }

  @Test func fetchCheckComparesWithTheLocalCopy() async throws {
    let dir = try temporaryDirectory()
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try "remote\n".write(toFile: dir + "/src file", atomically: true, encoding: .utf8)
    #expect(chmod(dir + "/src file", 0o600) == 0)
    let fetch = try makeModule(
      FetchModule.self, ["src": .string(dir + "/src file"), "dest": .string(dir + "/out"), "_host": "node1"])
    let first = try fetch.plan(from: try await fetch.check(on: probe))
    // The remote file's mode goes with it, for a new local copy.
    guard case .writeController(let data, let path, 0o600)? = first.steps.first?.action else {
      Issue.record("expected a controller write with mode 0600, got \(String(describing: first.steps.first?.action))")
      return
    }
    #expect(path == dir + "/out/node1" + dir + "/src file")
    try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
    try data.write(to: URL(fileURLWithPath: path))
    #expect(try fetch.plan(from: try await fetch.check(on: probe)).steps.isEmpty)
  }
}
