import Foundation
import Inventory

/// Collects a run into one JSON document shaped like ansible-playbook's `json` stdout callback:
/// `plays` -> `tasks` -> `hosts`, and `stats` per host.
public final class JSONReporter: RunReporter {
  private var plays: [Value] = []
  private var currentPlay: OrderedDict?
  private var tasks: [Value] = []
  private var currentTask: OrderedDict?
  private var taskHosts = OrderedDict()
  private var playStart = Date()
  private var taskStart = Date()
  private let write: (String) -> Void
  private let warn: (String) -> Void

  public init(write: @escaping (String) -> Void, warn: @escaping (String) -> Void) {
    self.write = write
    self.warn = warn
  }

  private func finishTask() {
    guard var task = currentTask else { return }
    var duration = task["duration"]?.dictValue ?? [:]
    duration["end"] = .string(Timestamp.iso(Date()))
    task["duration"] = .dict(duration)
    tasks.append(.dict(["hosts": .dict(taskHosts), "task": .dict(task)]))
    currentTask = nil
    taskHosts = [:]
  }

  private func finishPlay() {
    finishTask()
    guard var play = currentPlay else { return }
    var duration = play["duration"]?.dictValue ?? [:]
    duration["end"] = .string(Timestamp.iso(Date()))
    play["duration"] = .dict(duration)
    plays.append(.dict(["play": .dict(play), "tasks": .list(tasks)]))
    currentPlay = nil
    tasks = []
  }

  public func playStarted(_ play: Play) {
    finishPlay()
    playStart = Date()
    currentPlay = [
      "duration": .dict(["start": .string(Timestamp.iso(playStart))]), "id": .string(UUID().uuidString.lowercased()),
      "name": .string(play.name), "path": .string("\(play.location.file):\(play.location.line)"),
    ]
  }

  public func taskStarted(_ title: String, task: PlaybookTask?, isHandler: Bool) {
    finishTask()
    taskStart = Date()
    var t: OrderedDict = [
      "duration": .dict(["start": .string(Timestamp.iso(taskStart))]), "id": .string(UUID().uuidString.lowercased()),
      "name": .string(title),
    ]
    if let task { t["path"] = .string("\(task.location.file):\(task.location.line)") }
    currentTask = t
  }

  public func hostFinished(_ result: TaskResult, task: PlaybookTask?) {
    if result.included != nil { return }
    var r = result.result
    _ = r.removeValue(forKey: "_arguments")
    if result.isCensored {
      r = ["censored": "the output has been hidden due to the fact that 'no_log: true' was specified for this result", "changed": r["changed"] ?? false]
    }
    r["action"] = .string(task?.action ?? "gather_facts")
    r["changed"] = .bool(result.status == .changed)
    switch result.status {
    case .failed: r["failed"] = true
    case .skipped: r["skipped"] = true
    case .unreachable: r["unreachable"] = true
    default: break
    }
    if result.isIgnored { r["ignore_errors"] = true }
    taskHosts[result.host] = .dict(r)
  }

  public func warning(_ message: String) { warn("[WARNING]: " + message) }

  public func notice(_ message: String) {}

  public func runFinished(_ recap: RunRecap) {
    finishPlay()
    var stats = OrderedDict()
    for (host, s) in recap.hosts {
      stats[host] = .dict([
        "changed": .int(s.changed), "failures": .int(s.failures), "ignored": .int(s.ignored), "ok": .int(s.ok),
        "rescued": .int(s.rescued), "skipped": .int(s.skipped), "unreachable": .int(s.unreachable),
      ])
    }
    let document: Value = .dict([
      "custom_stats": .dict([:]), "global_custom_stats": .dict([:]), "plays": .list(plays), "stats": .dict(stats),
    ])
    write(document.jsonString(.init(indent: 4, sortKeys: true, ensureASCII: false)) + "\n")
  }
}
