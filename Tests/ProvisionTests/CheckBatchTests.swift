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

  @Test func resultsAreThoseOfSeparateCommands() async throws {
    let commands = [
      "printf 'no newline'",
      "echo out; echo err >&2; exit 3",
      "printf 'two\\n\\n'; printf 'e\\n\\n' >&2",
      "true",
      "cat; echo read-nothing",
    ]
    let host = Counting()
    let batch = CheckBatch(transport: host, checks: commands.count)
    let together = try await withThrowingTaskGroup(of: (Int, CommandResult).self) { group in
      for (i, c) in commands.enumerated() {
        group.addTask {
          let r = try await batch.member().run(RemoteCommand(c))
          await batch.finished()
          return (i, r)
        }
      }
      var out = [CommandResult?](repeating: nil, count: commands.count)
      for try await (i, r) in group { out[i] = r }
      return out.map { $0! }
    }
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
}
