import Foundation

/// Runs the read-only checks of several tasks on one host in as few round trips as their
/// commands allow: the checks run at once, each command they send waits, and when every
/// check still running is waiting the waiting commands go to the host as one shell script.
/// A check that needs a second command after reading the first gets it in the next round.
///
/// Only commands without standard input, environment, working directory or pseudo-terminal are
/// combined, one script per privilege escalation; any other goes to the host on its own.
actor CheckBatch {
  private let transport: any Transport
  /// Checks that have not finished.
  private var running: Int
  private var waiting: [Entry] = []
  /// Round trips made, for tests.
  private(set) var roundTrips = 0
  /// Whether the first round waits for a change's last command (`runFirst`) or word that
  /// there is none (`noFirst`).
  private var awaitingFirst: Bool
  private var first: Entry?

  typealias Entry = (command: RemoteCommand, continuation: CheckedContinuation<CommandResult, any Error>)

  /// - Parameter afterChange: the checks read the host as a change leaves it: their first
  ///   round goes out with the change's last command (`runFirst`), in the same script after
  ///   it, or after `noFirst` says the change is done.
  init(transport: any Transport, checks: Int, afterChange: Bool = false) {
    self.transport = transport
    self.running = checks
    awaitingFirst = afterChange
  }

  /// Runs `command`, a change's last, followed in the same script by the checks' first round
  /// when it can share a script with them (its standard input is kept for it); else alone,
  /// then the round.
  func runFirst(_ command: RemoteCommand) async throws -> CommandResult {
    try await withCheckedThrowingContinuation { continuation in
      first = (command, continuation)
      awaitingFirst = false
      flushIfAllWait()
    }
  }

  /// The change is over without a command for `runFirst`: the checks go when they are ready.
  func noFirst() {
    awaitingFirst = false
    flushIfAllWait()
  }

  /// Whether `command` can lead a round's script: as `combinable`, but with standard input.
  static func canLead(_ c: RemoteCommand) -> Bool {
    c.environment.isEmpty && c.workingDirectory == nil && c.timeout == nil && !c.wantsPTY && c.become?.password == nil
  }

  /// A transport whose commands join this batch, for one check's `HostProbe`.
  nonisolated func member() -> any Transport { BatchMember(batch: self, base: transport) }

  func run(_ command: RemoteCommand) async throws -> CommandResult {
    try await withCheckedThrowingContinuation { continuation in
      waiting.append((command, continuation))
      flushIfAllWait()
    }
  }

  /// One check finished (or failed): it sends no more commands.
  func finished() {
    running -= 1
    flushIfAllWait()
  }

  private func flushIfAllWait() {
    guard !awaitingFirst, !waiting.isEmpty || first != nil, waiting.count >= running else { return }
    let round = waiting
    let lead = first
    waiting = []
    first = nil
    roundTrips += 1
    let transport = self.transport
    _Concurrency.Task {
      guard let lead else { return await Self.send(round, over: transport) }
      if round.isEmpty || !Self.canLead(lead.command) || !round.allSatisfy({ Self.combinable($0.command) && $0.command.become == lead.command.become }) {
        // Not one script: the change first, then the checks, which must see it.
        do {
          lead.continuation.resume(returning: try await transport.run(lead.command))
        } catch {
          lead.continuation.resume(throwing: error)
        }
        if !round.isEmpty { await Self.send(round, over: transport) }
        return
      }
      await Self.send(round, over: transport, after: lead)
    }
  }

  static func combinable(_ c: RemoteCommand) -> Bool {
    c.stdin.isEmpty && c.environment.isEmpty && c.workingDirectory == nil && c.timeout == nil && !c.wantsPTY
  }

  /// One part of a round's script: one check's command, or one read of the state of several
  /// paths standing for the checks that asked for each (`FileState.script(reads:)`).
  private struct Unit: Sendable {
    var command: RemoteCommand
    /// The round's entries it answers: one, several asking the same, or one per path.
    var entries: [Int]
    /// The different reads of a combined state read; nil for a plain command.
    var reads: [FileState.PathRead]?
    /// For each of `entries`, which of `reads` answers it.
    var readOfEntry: [Int] = []
  }

  /// Sends one round: the combinable commands as one script per `become`, the others alone.
  /// State reads of paths with the same `become` become one read of all those paths, each path
  /// read once however many checks ask for it.
  private static func send(_ round: [Entry], over transport: any Transport, after lead: Entry? = nil) async {
    var found: [Unit] = []
    for (i, entry) in round.enumerated() {
      if combinable(entry.command), case .fileState(let path, let follow, let content)? = entry.command.reads {
        let read = (path: path, follow: follow, content: content)
        guard let u = found.firstIndex(where: { $0.reads != nil && $0.command.become == entry.command.become }) else {
          found.append(Unit(command: entry.command, entries: [i], reads: [read], readOfEntry: [0]))
          continue
        }
        let known = found[u].reads?.firstIndex { $0 == read }
        if known == nil { found[u].reads?.append(read) }
        found[u].entries.append(i)
        found[u].readOfEntry.append(known ?? (found[u].reads?.count ?? 1) - 1)
      } else if combinable(entry.command), let u = found.firstIndex(where: { $0.reads == nil && $0.command == entry.command }) {
        // Checks that read the same thing share one read.
        found[u].entries.append(i)
      } else {
        found.append(Unit(command: entry.command, entries: [i]))
      }
    }
    for u in found.indices where found[u].reads.map({ $0.count > 1 }) ?? false {
      found[u].command = RemoteCommand(FileState.script(reads: found[u].reads ?? []), become: found[u].command.become)
    }
    // A single path (however many checks ask for it) is read with its own command.
    for u in found.indices where found[u].reads?.count == 1 { found[u].reads = nil }

    let units = found
    var groups: [[Int]] = []
    for (u, unit) in units.enumerated() {
      if combinable(unit.command), let g = groups.firstIndex(where: { combinable(units[$0[0]].command) && units[$0[0]].command.become == unit.command.become }) {
        groups[g].append(u)
      } else {
        groups.append([u])
      }
    }
    if let lead {
      // One script: the change, then every check of the round (all of them can share it).
      return await runTogether(groups.flatMap { $0 }.map { units[$0] }, after: lead, of: round, over: transport)
    }
    await withTaskGroup(of: Void.self) { group in
      for members in groups {
        group.addTask {
          guard members.count == 1 else {
            return await runTogether(members.map { units[$0] }, of: round, over: transport)
          }
          let unit = units[members[0]]
          do {
            await deliver(.success(try await transport.run(unit.command)), to: unit, of: round, over: transport)
          } catch {
            await deliver(.failure(error), to: unit, of: round, over: transport)
          }
        }
      }
    }
  }

  /// Runs `units` as one script, after `lead` (which keeps its standard input) when given, and
  /// answers each from its framed part of the output.
  private static func runTogether(_ units: [Unit], after lead: Entry? = nil, of round: [Entry], over transport: any Transport) async {
    let boundary = UUID().uuidString.replacingOccurrences(of: "-", with: "")
    let shells = (lead.map { [$0.command.shell] } ?? []) + units.map(\.command.shell)
    var combined = RemoteCommand(
      script(shells, boundary: boundary, firstTakesStdin: lead != nil), become: lead?.command.become ?? units[0].command.become)
    combined.stdin = lead?.command.stdin ?? Data()
    combined.ownChannel = lead?.command.ownChannel ?? false
    do {
      let result = try await transport.run(combined)
      var parts = split(result, boundary: boundary, count: shells.count)[...]
      if let lead {
        guard let part = parts.popFirst() else {
          throw TransportError(
            .channel("the command stopped early (exit \(result.exitStatus.map(String.init) ?? "none"))"),
            host: transport.host, detail: String(result.stderrText.suffix(300)))
        }
        lead.continuation.resume(returning: part)
      }
      for (n, unit) in units.enumerated() {
        let answer: Result<CommandResult, any Error> =
          n < parts.count
          ? .success(parts[parts.startIndex + n])
          : .failure(
            TransportError(
              .channel("the batch of checks stopped before this one (exit \(result.exitStatus.map(String.init) ?? "none"))"),
              host: transport.host, detail: String(result.stderrText.suffix(300))))
        await deliver(answer, to: unit, of: round, over: transport)
      }
    } catch {
      lead?.continuation.resume(throwing: error)
      for unit in units { await deliver(.failure(error), to: unit, of: round, over: transport) }
    }
  }

  /// Answers the checks behind `unit`. A combined state read that did not come back whole (a
  /// file changed while it ran) sends each check's own command instead.
  private static func deliver(
    _ result: Result<CommandResult, any Error>, to unit: Unit, of round: [Entry], over transport: any Transport
  ) async {
    guard let reads = unit.reads else {
      for i in unit.entries { round[i].continuation.resume(with: result) }
      return
    }
    if case .success(let combined) = result, combined.succeeded,
      let outputs = FileState.split(combined.stdout, reads: reads)
    {
      for (i, read) in zip(unit.entries, unit.readOfEntry) {
        round[i].continuation.resume(returning: CommandResult(stdout: outputs[read], stderr: Data(), exitStatus: 0, exitSignal: nil))
      }
      return
    }
    if case .failure = result {
      for i in unit.entries { round[i].continuation.resume(with: result) }
      return
    }
    await withTaskGroup(of: Void.self) { group in
      for i in unit.entries {
        group.addTask {
          do {
            round[i].continuation.resume(returning: try await transport.run(round[i].command))
          } catch {
            round[i].continuation.resume(throwing: error)
          }
        }
      }
    }
  }

  /// One script that runs `commands` in turn, each in its own subshell (with its standard
  /// input closed, but for a first command that takes it), and frames each one's output and
  /// exit status on standard output, and its error output on standard error, with `boundary`.
  /// Standard error before the first frame (a sudo lecture) belongs to none of them.
  static func script(_ commands: [String], boundary: String, firstTakesStdin: Bool = false) -> String {
    var s = "printf '\(boundary)\\n' >&2\n"
    for (n, command) in commands.enumerated() {
      let input = n == 0 && firstTakesStdin ? "" : " </dev/null"
      s += "(\n\(command)\n)\(input); r=$?; printf '\\n\(boundary) %d\\n' \"$r\"; printf '\\n\(boundary)\\n' >&2\n"
    }
    return s
  }

  /// The results framed by `script`, in order; fewer than `count` when the script stopped early.
  static func split(_ result: CommandResult, boundary: String, count: Int) -> [CommandResult] {
    let out = [UInt8](result.stdout)
    let err = [UInt8](result.stderr)
    let status = Array("\n\(boundary) ".utf8)
    let end = Array("\n\(boundary)\n".utf8)
    guard let start = err.firstIndex(ofBytes: Array("\(boundary)\n".utf8), from: 0) else { return [] }
    var errPosition = start + boundary.utf8.count + 1
    var parts: [CommandResult] = []
    var position = 0
    while parts.count < count, let s = out.firstIndex(ofBytes: status, from: position) {
      let stdout = Data(out[position..<s])
      var p = s + status.count
      var code = 0
      var negative = false
      if p < out.count, out[p] == UInt8(ascii: "-") {
        negative = true
        p += 1
      }
      while p < out.count, out[p] >= 48, out[p] <= 57 {
        code = code * 10 + Int(out[p] - 48)
        p += 1
      }
      guard p < out.count, out[p] == 10 else { break }
      guard let e = err.firstIndex(ofBytes: end, from: errPosition) else { break }
      let stderr = Data(err[errPosition..<e])
      parts.append(CommandResult(stdout: stdout, stderr: stderr, shellStatus: Int32(negative ? -code : code)))
      position = p + 1
      errPosition = e + end.count
    }
    return parts
  }
}

/// One check's view of a `CheckBatch`: `run` and `stat` (a command) join the batch, the rest
/// goes straight to the host. A leading member is a change's last step instead: its command
/// goes first in the batch's first round (`CheckBatch.runFirst`).
struct BatchMember: Transport {
  let batch: CheckBatch
  let base: any Transport
  var leads = false

  var host: String { base.host }

  func run(_ command: RemoteCommand) async throws -> CommandResult {
    leads ? try await batch.runFirst(command) : try await batch.run(command)
  }

  func run(_ command: RemoteCommand, output: @escaping OutputSink) async throws -> CommandResult {
    try await base.run(command, output: output)
  }

  func upload(_ data: Data, to path: String, mode: UInt16?, owner: String?, group: String?, become: Become?) async throws {
    try await base.upload(data, to: path, mode: mode, owner: owner, group: group, become: become)
  }

  func download(_ path: String, become: Become?) async throws -> Data {
    try await base.download(path, become: become)
  }

  func stat(_ path: String, become: Become?) async throws -> RemoteFileInfo? {
    leads ? try await base.stat(path, become: become) : try await statByScript(path, become: become)
  }

  func close() async {}
}
