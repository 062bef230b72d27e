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
  private var waiting: [(command: RemoteCommand, continuation: CheckedContinuation<CommandResult, any Error>)] = []
  /// Round trips made, for tests.
  private(set) var roundTrips = 0

  init(transport: any Transport, checks: Int) {
    self.transport = transport
    self.running = checks
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
    guard !waiting.isEmpty, waiting.count >= running else { return }
    let round = waiting
    waiting = []
    roundTrips += 1
    let transport = self.transport
    _Concurrency.Task { await Self.send(round, over: transport) }
  }

  static func combinable(_ c: RemoteCommand) -> Bool {
    c.stdin.isEmpty && c.environment.isEmpty && c.workingDirectory == nil && c.timeout == nil && !c.wantsPTY
  }

  /// Sends one round: the combinable commands as one script per `become`, the others alone.
  private static func send(
    _ round: [(command: RemoteCommand, continuation: CheckedContinuation<CommandResult, any Error>)],
    over transport: any Transport
  ) async {
    var groups: [[Int]] = []
    for (i, entry) in round.enumerated() {
      if combinable(entry.command), let g = groups.firstIndex(where: { combinable(round[$0[0]].command) && round[$0[0]].command.become == entry.command.become }) {
        groups[g].append(i)
      } else {
        groups.append([i])
      }
    }
    await withTaskGroup(of: Void.self) { group in
      for indices in groups {
        group.addTask {
          if indices.count == 1 {
            let entry = round[indices[0]]
            do {
              entry.continuation.resume(returning: try await transport.run(entry.command))
            } catch {
              entry.continuation.resume(throwing: error)
            }
            return
          }
          let commands = indices.map { round[$0].command }
          let boundary = UUID().uuidString.replacingOccurrences(of: "-", with: "")
          var combined = RemoteCommand(script(commands.map(\.shell), boundary: boundary), become: commands[0].become)
          combined.become = commands[0].become
          do {
            let result = try await transport.run(combined)
            let parts = split(result, boundary: boundary, count: indices.count)
            for (n, i) in indices.enumerated() {
              if n < parts.count {
                round[i].continuation.resume(returning: parts[n])
              } else {
                round[i].continuation.resume(
                  throwing: TransportError(
                    .channel("the batch of checks stopped before this one (exit \(result.exitStatus.map(String.init) ?? "none"))"),
                    host: transport.host, detail: String(result.stderrText.suffix(300))))
              }
            }
          } catch {
            for i in indices { round[i].continuation.resume(throwing: error) }
          }
        }
      }
    }
  }

  /// One script that runs `commands` in turn, each in its own subshell with its standard error
  /// kept apart, and frames each one's output, exit status and standard error with `boundary`.
  static func script(_ commands: [String], boundary: String) -> String {
    var s = "t=$(mktemp) || exit 1; trap 'rm -f \"$t\"' EXIT\n"
    for command in commands {
      s += "(\n\(command)\n) </dev/null 2>\"$t\"; r=$?; printf '\\n\(boundary) %d\\n' \"$r\"; "
      s += "if [ -s \"$t\" ]; then cat \"$t\"; fi; printf '\\n\(boundary)\\n'\n"
    }
    return s
  }

  /// The results framed by `script`, in order; fewer than `count` when the script stopped early.
  static func split(_ result: CommandResult, boundary: String, count: Int) -> [CommandResult] {
    let out = [UInt8](result.stdout)
    let status = Array("\n\(boundary) ".utf8)
    let end = Array("\n\(boundary)\n".utf8)
    var parts: [CommandResult] = []
    var position = 0
    while parts.count < count, let s = find(status, in: out, from: position) {
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
      p += 1
      // The standard error block ends at the closing boundary; `p - 1` keeps its leading newline.
      guard let e = find(end, in: out, from: p - 1) else { break }
      let stderr = e > p ? Data(out[p..<e]) : Data()
      let exit = Int32(negative ? -code : code)
      // A shell reports death by signal N as 128 + N.
      let signal = exit > 128 && exit < 160 ? signalName(exit - 128) : nil
      parts.append(CommandResult(stdout: stdout, stderr: stderr, exitStatus: signal == nil ? exit : nil, exitSignal: signal))
      position = e + end.count
    }
    return parts
  }

  static func signalName(_ n: Int32) -> String? {
    [1: "HUP", 2: "INT", 3: "QUIT", 6: "ABRT", 9: "KILL", 13: "PIPE", 14: "ALRM", 15: "TERM"][n]
  }

  static func find(_ needle: [UInt8], in haystack: [UInt8], from start: Int) -> Int? {
    guard !needle.isEmpty, haystack.count >= needle.count, start <= haystack.count - needle.count else { return nil }
    var i = start
    let first = needle[0]
    while i <= haystack.count - needle.count {
      if haystack[i] == first && Array(haystack[i..<(i + needle.count)]) == needle { return i }
      i += 1
    }
    return nil
  }
}

/// One check's view of a `CheckBatch`: `run` and `stat` (a command) join the batch, the rest
/// goes straight to the host.
struct BatchMember: Transport {
  let batch: CheckBatch
  let base: any Transport

  var host: String { base.host }

  func run(_ command: RemoteCommand) async throws -> CommandResult {
    try await batch.run(command)
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
    try await statByScript(path, become: become)
  }

  func close() async {}
}
