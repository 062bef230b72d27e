import Foundation
import Testing

@testable import Provision

/// Checks of several tasks combined into one script: each command's output, error output and
/// exit status come back as if it had run alone, in as few round trips as the checks allow.
@Suite struct CheckBatchTests {
  /// Counts the commands that reach the host.
  final class Counting: Transport, @unchecked Sendable {
    let base = LocalTransport()
    let lock = NSLock()
    var commands = 0
    var host: String { base.host }
    func run(_ command: RemoteCommand) async throws -> CommandResult {
      lock.withLock { commands += 1 }
      return try await base.run(command)
    }
    func run(_ command: RemoteCommand, output: @escaping OutputSink) async throws -> CommandResult {
      try await base.run(command, output: output)
    }
    func upload(_ data: Data, to path: String, mode: UInt16?, owner: String?, group: String?, become: Become?) async throws {
      try await base.upload(data, to: path, mode: mode, owner: owner, group: group, become: become)
    }
    func download(_ path: String, become: Become?) async throws -> Data { try await base.download(path, become: become) }
    func stat(_ path: String, become: Become?) async throws -> RemoteFileInfo? { try await base.stat(path, become: become) }
    func close() async {}
  }

  /// Sends `commands` as so many checks of one batch on `host`, each once, and returns their
  /// results in order.
  static func together(_ commands: [RemoteCommand], on host: Counting) async throws -> [CommandResult] {
    let batch = CheckBatch(transport: host, checks: commands.count)
    return try await withThrowingTaskGroup(of: (Int, CommandResult).self) { group in
      for (i, c) in commands.enumerated() {
        group.addTask {
          let r = try await batch.member().run(c)
          await batch.finished()
          return (i, r)
        }
      }
      var out = [CommandResult?](repeating: nil, count: commands.count)
      for try await (i, r) in group { out[i] = r }
      return out.map { $0! }
    }
  }

  @Test func resultsAreThoseOfSeparateCommands() async throws {
    let commands = [
      "printf 'no newline'",
      "echo out; echo err >&2; exit 3",
      "printf 'two\\n\\n'; printf 'e\\n\\n' >&2",
      "true",
      "cat; echo read-nothing",
    ]
    let host = Counting()
    let together = try await Self.together(commands.map { RemoteCommand($0) }, on: host)
    #expect(host.commands == 1)
    for (c, r) in zip(commands, together) {
      let alone = try await LocalTransport().run(RemoteCommand(c, stdin: Data()))
      #expect(r.stdout == alone.stdout, "\(c)")
      #expect(r.stderr == alone.stderr, "\(c)")
      #expect(r.exitStatus == alone.exitStatus, "\(c)")
      #expect(r.exitSignal == alone.exitSignal, "\(c)")
    }
    #expect(together[1].exitStatus == 3 && together[1].stderrText == "err\n")
  }

  /// A check that reads twice gets its second command in a second round, with the other
  /// checks' second commands; a check that finishes early does not hold the others up.
  @Test func checksThatReadAgainGoInLaterRounds() async throws {
    let host = Counting()
    let batch = CheckBatch(transport: host, checks: 3)
    let results = try await withThrowingTaskGroup(of: String.self) { group in
      for i in 0..<3 {
        group.addTask {
          let member = batch.member()
          var text = try await member.run(RemoteCommand("echo \(i)")).stdoutText
          if i > 0 { text += try await member.run(RemoteCommand("echo again \(i)")).stdoutText }
          if i > 1 { text += try await member.stat("/")?.type == .directory ? "dir" : "?" }
          await batch.finished()
          return text
        }
      }
      var all: [String] = []
      for try await r in group { all.append(r) }
      return all.sorted()
    }
    #expect(results == ["0\n", "1\nagain 1\n", "2\nagain 2\ndir"])
    #expect(host.commands == 3)
    #expect(await batch.roundTrips == 3)
  }

  /// Error output that comes before the first frame (a sudo lecture) belongs to no check.
  @Test func errorOutputBeforeTheFirstFrameBelongsToNone() {
    let result = CommandResult(
      stdout: Data("a\n\nB0 0\nb\nB0 3\n".utf8), stderr: Data("lecture\nB0\nwarn\n\nB0\n\nB0\n".utf8),
      exitStatus: 0, exitSignal: nil)
    let parts = CheckBatch.split(result, boundary: "B0", count: 2)
    #expect(parts.map(\.stdoutText) == ["a\n", "b"])
    #expect(parts.map(\.stderrText) == ["warn\n", ""])
    #expect(parts.map(\.exitStatus) == [0, 3])
  }

  /// A directory holding every kind of path a state read meets, names hard for a shell and
  /// for `sha256sum`'s output included.
  static func tree() throws -> (root: String, paths: [String]) {
    let root = FileManager.default.temporaryDirectory.appendingPathComponent("batch-\(UUID().uuidString)").path
    let fm = FileManager.default
    try fm.createDirectory(atPath: root + "/dir", withIntermediateDirectories: true)
    let names = ["plain", "with space", "quote'\"$(x)", "back\\slash", "new\nline", "ünï"]
    for (n, name) in names.enumerated() {
      try Data("content \(n)\n".utf8).write(to: URL(fileURLWithPath: root + "/" + name))
    }
    try Data().write(to: URL(fileURLWithPath: root + "/empty"))
    try fm.createSymbolicLink(atPath: root + "/link", withDestinationPath: "plain")
    try fm.createSymbolicLink(atPath: root + "/dirlink", withDestinationPath: "dir")
    try fm.createSymbolicLink(atPath: root + "/dangling", withDestinationPath: "nowhere")
    let paths = (names + ["empty", "dir", "link", "dirlink", "dangling", "absent"]).map { root + "/" + $0 }
    return (root, paths)
  }

  /// Several state reads in one round become one script with one `stat` and one `sha256sum`,
  /// and each check gets the output its own script gives: reads that follow links, reads that
  /// do not, and both mixed in one round (nil: every other read follows).
  @Test(arguments: [false, true, nil] as [Bool?]) func stateReadsAreCombined(follow: Bool?) async throws {
    let (root, all) = try Self.tree()
    defer { try? FileManager.default.removeItem(atPath: root) }
    // Over the size whose checksum comes from the controller: sha256sum's line, not content.
    try Data(repeating: 0x61, count: FileState.catLimit + 1).write(to: URL(fileURLWithPath: root + "/big"))
    // stat -L fails on a dangling link: that case is the fallback's (next test).
    let paths = (follow == true ? all.filter { !$0.hasSuffix("/dangling") } : all) + [root + "/big"]
    let follows = paths.indices.map { follow ?? (paths[$0].hasSuffix("/dangling") ? false : $0 % 2 == 0) }
    // Every path read without its content, and every third with it too (as lineinfile does).
    let reads = zip(paths, follows).flatMap { path, follow in
      [(path, follow, false)] + (paths.firstIndex(of: path)! % 3 == 0 ? [(path, follow, true)] : [])
    }
    let host = Counting()
    let together = try await Self.together(
      reads.map { FileState.command($0.0, content: $0.2, follow: $0.1, become: nil) } + [RemoteCommand("echo other")],
      on: host)
    #expect(host.commands == 1)
    #expect(together[reads.count].stdoutText == "other\n")
    for ((path, follow, content), r) in zip(reads, together) {
      let alone = try await LocalTransport().run(RemoteCommand(FileState.script(path, content: content, follow: follow)))
      #expect(r.stdout == alone.stdout, "\(path) content: \(content)")
      #expect(r.exitStatus == 0 && alone.exitStatus == 0, "\(path)")
      let state = try #require(FileState.parse(r.stdout))
      #expect((state == nil) == path.hasSuffix("/absent"), "\(path)")
    }
  }

  /// When the combined read cannot stand for the single ones (here stat -L fails on a
  /// dangling link), each check's own command runs and gets its own answer.
  @Test func combinedReadFallsBackToSingleReads() async throws {
    let (root, paths) = try Self.tree()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let host = Counting()
    let together = try await Self.together(paths.map { FileState.command($0, content: false, follow: true, become: nil) }, on: host)
    #expect(host.commands == 1 + paths.count)
    for (path, r) in zip(paths, together) {
      let alone = try await LocalTransport().run(RemoteCommand(FileState.script(path, content: false, follow: true)))
      #expect(r.stdout == alone.stdout, "\(path)")
      #expect(r.exitStatus == alone.exitStatus, "\(path)")
    }
    #expect(together[paths.firstIndex { $0.hasSuffix("/dangling") }!].exitStatus != 0)
  }

  /// Output whose `sha256sum` lines do not name the files in order (a file replaced by another
  /// kind between `stat` and `sha256sum`), or whose `cat` output is not the size `stat` gave
  /// (a file written in between), is refused rather than matched up wrongly.
  @Test func combinedOutputOutOfStepIsRefused() throws {
    let hash = String(repeating: "a", count: 64)
    let both: [FileState.PathRead] = [("/a", true, false), ("/b", true, false)]
    let good = "11\n81a4 644 0 0 1 root root\n81a4 644 0 0 1 root root\n=\nSS\n\n=\n\(hash)  /a\n\(hash)  /b\n"
    #expect(FileState.split(Data(good.utf8), reads: both)?.count == 2)
    let swapped = good.replacingOccurrences(of: "/a\n\(hash)  /b", with: "/b\n\(hash)  /a")
    #expect(FileState.split(Data(swapped.utf8), reads: both) == nil)
    let missing = "11\n81a4 644 0 0 1 root root\n81a4 644 0 0 1 root root\n=\nSS\n\n=\n\(hash)  /a\n"
    #expect(FileState.split(Data(missing.utf8), reads: both) == nil)
    #expect(FileState.split(Data("1\n".utf8), reads: both) == nil)
    #expect(FileState.split(Data("00\n".utf8), reads: both) == [Data("absent\n".utf8), Data("absent\n".utf8)])
    // A followed link's target comes in a line of its own, for a read that follows only.
    let linked = "11\n81a4 644 0 0 1 root root\na1ff 777 0 0 5 root root\nF2 81a4 644 0 0 9 root root\n=\nSS\n\n=\n\(hash)  /a\n\(hash)  /b\n"
    #expect(
      FileState.split(Data(linked.utf8), reads: [("/a", false, false), ("/b", true, false)])?.last
        == Data("81a4 644 0 0 9 root root\n\n\(hash)\n".utf8))
    #expect(FileState.split(Data(linked.utf8), reads: [("/a", false, false), ("/b", false, false)]) == nil)
    // Content by size: the checksum of `x` for the first, the content itself for the second.
    let sized = "11\n81a4 644 0 0 1 root root\n81a4 644 0 0 3 root root\n=\nCC\nxyz\n\n=\n"
    let reads: [FileState.PathRead] = [("/a", false, false), ("/b", false, true)]
    let xHash = "2d711642b726b04401627ca9fbac32f5c8530fb1903cc4db02258717921a4881"
    #expect(
      FileState.split(Data(sized.utf8), reads: reads)
        == [Data("81a4 644 0 0 1 root root\n\n\(xHash)\n".utf8), Data("81a4 644 0 0 3 root root\n\ncontent\nyz\n".utf8)])
    for changed in ["xyzw\n", "xy", "xyz\nw\n"] {
      let wrong = sized.replacingOccurrences(of: "CC\nxyz\n", with: "CC\n" + changed)
      #expect(FileState.split(Data(wrong.utf8), reads: reads) == nil, "\(changed)")
    }
    #expect(FileState.split(Data(sized.replacingOccurrences(of: "CC", with: "C").utf8), reads: reads) == nil)
  }

  /// Paths that are all missing (a fresh host) are read in one command too.
  @Test func missingPathsAreReadTogether() async throws {
    let host = Counting()
    let root = "/nonexistent-\(UUID().uuidString)"
    let states = try await Self.together(
      ["a", "b", "c"].map { FileState.command(root + "/" + $0, content: false, follow: false, become: nil) }, on: host
    ).map { FileState.parse($0.stdout) }
    #expect(host.commands == 1)
    #expect(states.count == 3 && states.allSatisfy { $0 != nil && $0! == nil })
  }

  /// A read with content computes the checksum on the controller; it equals sha256sum's.
  @Test func contentReadsCarryTheChecksum() async throws {
    let (root, paths) = try Self.tree()
    defer { try? FileManager.default.removeItem(atPath: root) }
    for path in paths.prefix(7) {
      let withContent = try #require(try await FileState.read(path, on: HostProbe(transport: LocalTransport(), become: nil), content: true))
      let without = try #require(try await FileState.read(path, on: HostProbe(transport: LocalTransport(), become: nil)))
      #expect(withContent.sha256 == without.sha256 && without.sha256?.count == 64, "\(path)")
      #expect(withContent.content == FileManager.default.contents(atPath: path), "\(path)")
    }
  }

  /// The controller's SHA-256, which stands for `sha256sum` on the host for files that come
  /// back as content, gives the same hex at every length around the block and padding edges.
  @Test func controllerChecksumsMatchSha256sum() async throws {
    var generator = SystemRandomNumberGenerator()
    for length in [0, 1, 55, 56, 63, 64, 65, 119, 120, 1000, 70000] {
      let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
      let host = try await LocalTransport().run(RemoteCommand("sha256sum | cut -c1-64", stdin: Data(bytes)))
      #expect(Digest.hex("sha256", bytes).map { $0 + "\n" } == host.stdoutText, "\(length) bytes")
    }
    #expect(Digest.hex("sha256", Array("abc".utf8)) == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
  }

  /// Checks that send the same read in one round (three edits of one file) share one read.
  @Test func sameReadsAreSentOnce() async throws {
    let host = Counting()
    let command = RemoteCommand("echo $$; cat /proc/sys/kernel/random/uuid")
    let results = try await Self.together([command, command, command, RemoteCommand("echo other")], on: host).map(\.stdoutText)
    #expect(host.commands == 1)
    let shared = results.filter { $0 != "other\n" }
    #expect(shared.count == 3 && Set(shared).count == 1)
  }
}


/// A change's last command with the next tasks' checks after it in the same script.
@Suite struct ChecksAfterChangeTests {
  /// Runs `lead` through a batch made for checks after a change, with `checks` reading the host;
  /// returns the lead's result, the checks' outputs and the commands that reached the host.
  func run(lead: RemoteCommand?, checks: [RemoteCommand]) async throws -> (CommandResult?, [String], Int) {
    let host = CheckBatchTests.Counting()
    let batch = CheckBatch(transport: host, checks: checks.count, afterChange: true)
    let reads = _Concurrency.Task {
      try await withThrowingTaskGroup(of: (Int, String).self) { group in
        for (i, c) in checks.enumerated() {
          group.addTask {
            let r = try await batch.member().run(c)
            await batch.finished()
            return (i, r.stdoutText)
          }
        }
        var out = [String](repeating: "", count: checks.count)
        for try await (i, r) in group { out[i] = r }
        return out
      }
    }
    // The checks wait for the change, however long it takes to come.
    try await _Concurrency.Task.sleep(for: .milliseconds(50))
    var result: CommandResult?
    if let lead {
      result = try await BatchMember(batch: batch, base: host, leads: true).run(lead)
    }
    await batch.noFirst()
    return (result, try await reads.value, host.commands)
  }

  @Test func checksReadWhatTheChangeLeftInOneCommand() async throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lead-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let (lead, reads, commands) = try await run(
      lead: RemoteCommand("cat > '\(dir)/f'; echo written; echo note >&2; exit 4", stdin: Data("from stdin\n".utf8)),
      checks: [RemoteCommand("cat '\(dir)/f'"), FileState.command(dir + "/f", content: false, follow: false, become: nil), FileState.command(dir + "/g", content: false, follow: false, become: nil)])
    #expect(commands == 1)
    #expect(lead?.stdoutText == "written\n" && lead?.stderrText == "note\n" && lead?.exitStatus == 4)
    #expect(reads[0] == "from stdin\n")
    #expect(reads[1].hasPrefix("81a4 ") || reads[1].hasPrefix("8180 "))
    #expect(reads[2] == "absent\n")
  }

  /// A change that cannot share a script (it sets environment) runs first, alone; the checks
  /// go after it and see it.
  @Test func aChangeThatCannotLeadRunsFirst() async throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("lead-\(UUID().uuidString)").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let (lead, reads, commands) = try await run(
      lead: RemoteCommand("echo \"$V\" > '\(dir)/f'", environment: ["V": "set"]),
      checks: [RemoteCommand("cat '\(dir)/f'")])
    #expect(lead?.exitStatus == 0)
    #expect(reads == ["set\n"])
    #expect(commands == 2)
  }

  /// A change that sends nothing (it wrote on the controller) lets the checks go on their own.
  @Test func checksGoWithoutAChangeCommand() async throws {
    let (lead, reads, commands) = try await run(lead: nil, checks: [RemoteCommand("echo a"), RemoteCommand("echo b")])
    #expect(lead == nil)
    #expect(reads == ["a\n", "b\n"])
    #expect(commands == 1)
  }
}
