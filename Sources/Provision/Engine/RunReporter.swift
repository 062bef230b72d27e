import Foundation
import Inventory

/// Receives what happens during a run, in order, to print it. Called from one task at a time.
public protocol RunReporter: AnyObject {
  func playStarted(_ play: Play)
  /// A task (or handler) begins on `hosts`.
  func taskStarted(_ title: String, task: PlaybookTask?, isHandler: Bool)
  /// One host finished the task.
  func hostFinished(_ result: TaskResult, task: PlaybookTask?)
  /// Hosts still running the current task, for a live line; empty when all are done.
  func hostsRunning(_ hosts: [String])
  /// Whether `hostsRunning` should be called every second while a task runs.
  var wantsProgress: Bool { get }
  func warning(_ message: String)
  func notice(_ message: String)
  func runFinished(_ recap: RunRecap)
}

extension RunReporter {
  public func hostsRunning(_ hosts: [String]) {}
  public var wantsProgress: Bool { false }
}

/// What a run did: per-host counts, failures, time.
public struct RunRecap: Sendable {
  public var hosts: [(name: String, stats: HostStats)]
  public var failures: [(host: String, task: String, message: String)]
  public var elapsed: Double
  public var wasInterrupted: Bool

  /// ansible-playbook's exit status: 4 when a host was unreachable, 2 when one failed, else 0.
  public var exitStatus: Int32 {
    if hosts.contains(where: { $0.stats.unreachable > 0 }) { return 4 }
    if hosts.contains(where: { $0.stats.failures > 0 }) || wasInterrupted { return 2 }
    return 0
  }
}
