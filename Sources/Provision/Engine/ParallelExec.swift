import Foundation

/// Runs one command on many hosts at once, at most `forks` at a time, each host over its own
/// transport; a host that fails or cannot be reached never stops the others.
public enum ParallelExec {
  public enum Outcome: Sendable {
    case finished(CommandResult)
    case unreachable(TransportError)
    case failed(any Error)
  }

  /// Results in the order of `targets`.
  public static func run(
    targets: [(String, ConnectionSettings)], command: String, timeout: Double?, forks: Int
  ) async -> [(String, Outcome)] {
    var outcomes = [Outcome?](repeating: nil, count: targets.count)
    await withTaskGroup(of: (Int, Outcome).self) { group in
      var next = 0
      func start() {
        guard next < targets.count else { return }
        let index = next
        let settings = targets[index].1
        next += 1
        group.addTask {
          let transport = settings.makeTransport()
          defer { Task { await transport.close() } }
          do {
            var remote = RemoteCommand(command, timeout: timeout, become: settings.becomeSetting)
            remote.ownChannel = true
            let result = try await transport.run(remote)
            return (index, .finished(result))
          } catch let error as TransportError where error.isUnreachable {
            return (index, .unreachable(error))
          } catch {
            return (index, .failed(error))
          }
        }
      }
      for _ in 0..<min(forks, targets.count) { start() }
      for await (index, outcome) in group {
        outcomes[index] = outcome
        start()
      }
    }
    return zip(targets, outcomes).map { ($0.0.0, $0.1 ?? .failed(CancellationError())) }
  }
}
