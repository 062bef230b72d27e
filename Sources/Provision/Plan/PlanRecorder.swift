import Foundation
import Inventory

/// Records a check-mode run as plays, tasks and host results, for a plan or a drift report,
/// and passes every event on to `next` (the output people see), if any.
public final class PlanRecorder: RunReporter {
  let next: (any RunReporter)?
  let redactor: Redactor
  private(set) var plays: [PlanPlay] = []
  private var hostOrder: [String: Int] = [:]
  private(set) public var recap: RunRecap?
  /// Why each host is unreachable or failed, by host.
  private var lastMessage: [String: String] = [:]

  public init(redactor: Redactor, hostOrder: [String], next: (any RunReporter)? = nil) {
    self.redactor = redactor
    self.next = next
    for (i, h) in hostOrder.enumerated() { self.hostOrder[h] = i }
  }

  public func playStarted(_ play: Play) {
    sortLastTask()
    plays.append(PlanPlay(name: redactor.redact(play.name), tasks: []))
    next?.playStarted(play)
  }

  public func taskStarted(_ title: String, task: PlaybookTask?, isHandler: Bool) {
    sortLastTask()
    if plays.isEmpty { plays.append(PlanPlay(name: "", tasks: [])) }
    plays[plays.count - 1].tasks.append(
      PlanTask(
        title: redactor.redact(title), location: task.map { "\($0.location)" } ?? "", action: task?.action,
        handler: isHandler ? true : nil, hosts: []))
    next?.taskStarted(title, task: task, isHandler: isHandler)
  }

  public func hostFinished(_ result: TaskResult, task: PlaybookTask?) {
    next?.hostFinished(result, task: task)
    guard result.included == nil, !plays.isEmpty, !plays[plays.count - 1].tasks.isEmpty else { return }
    let entry = Self.entry(result, redactor: redactor)
    if let message = entry.message, result.status == .failed || result.status == .unreachable {
      lastMessage[result.host] = message
    }
    plays[plays.count - 1].tasks[plays[plays.count - 1].tasks.count - 1].hosts.append(entry)
  }

  public func hostsRunning(_ hosts: [String]) { next?.hostsRunning(hosts) }
  public var wantsProgress: Bool { next?.wantsProgress ?? false }
  public func warning(_ message: String) { next?.warning(message) }
  public func notice(_ message: String) { next?.notice(message) }

  public func runFinished(_ recap: RunRecap) {
    sortLastTask()
    self.recap = recap
    next?.runFinished(recap)
  }

  /// Hosts finish a task in any order; the plan lists them in inventory order.
  private func sortLastTask() {
    guard let p = plays.indices.last, let t = plays[p].tasks.indices.last else { return }
    plays[p].tasks[t].hosts.sort { (hostOrder[$0.host] ?? Int.max, $0.host) < (hostOrder[$1.host] ?? Int.max, $1.host) }
  }

  /// The plan's record of one result: redacted text, and a fingerprint of the real values.
  static func entry(_ result: TaskResult, redactor: Redactor) -> PlanHostResult {
    let censored = result.isCensored
    func steps(_ s: [Step]) -> [PlanStep] {
      s.map { PlanStep(op: $0.marker, summary: censored ? Redactor.mask : redactor.redact($0.summary)) }
    }
    func diffs(_ d: [FileDiff]) -> [PlanDiff] {
      censored
        ? []
        : d.map {
          PlanDiff(
            beforeHeader: redactor.redact($0.beforeHeader), afterHeader: redactor.redact($0.afterHeader),
            before: redactor.redact($0.before), after: redactor.redact($0.after))
        }
    }
    let status = result.isUnknown ? PlanStatus.knownAfterApply : result.status.rawValue
    let items: [PlanItem]? =
      result.items.isEmpty
      ? nil
      : result.items.map {
        PlanItem(
          label: censored ? Redactor.mask : redactor.redact($0.label), status: $0.status.rawValue, steps: steps($0.steps),
          diffs: diffs($0.diffs))
      }
    var message: String?
    if result.status == .failed || result.status == .unreachable || result.isUnknown {
      message = result.message.map { censored ? Redactor.mask : redactor.redact($0) }
    }
    // Loop results carry their items' steps and diffs too; the items hold them for the plan.
    let ownSteps = result.items.isEmpty ? result.steps : []
    let ownDiffs = result.items.isEmpty ? result.diffs : []
    return PlanHostResult(
      host: result.host, status: status, delegatedTo: result.delegatedTo, message: message, steps: steps(ownSteps),
      diffs: diffs(ownDiffs), items: items, sensitive: censored ? true : nil,
      fingerprint: fingerprint(result))
  }

  /// SHA-256 over what decides the result: status, steps and before/after values, per item.
  static func fingerprint(_ result: TaskResult) -> String {
    var text = "status=\(result.isUnknown ? PlanStatus.knownAfterApply : result.status.rawValue)\n"
    func add(_ steps: [Step], _ diffs: [FileDiff]) {
      for s in steps { text += "step \(s.marker) \(s.summary.count):\(s.summary)\n" }
      for d in diffs {
        text += "diff \(d.beforeHeader.count):\(d.beforeHeader) \(d.afterHeader.count):\(d.afterHeader)\n"
        text += "\(d.before.utf8.count):\(d.before)\n\(d.after.utf8.count):\(d.after)\n"
      }
    }
    if result.items.isEmpty {
      add(result.steps, result.diffs)
    } else {
      for item in result.items {
        text += "item \(item.label.count):\(item.label) \(item.status.rawValue)\n"
        add(item.steps, item.diffs)
      }
    }
    return PlanStatus.digest(text)
  }

  /// The plan of this run: per-host summaries and the recorded plays.
  public func plan(inputs: PlanInputs, hosts: [String]) -> SavedPlan {
    sortLastTask()
    let covered = hosts.filter { h in plays.contains { $0.tasks.contains { $0.hosts.contains { $0.host == h } } } }
    var plan = SavedPlan(inputs: inputs, hosts: [], plays: plays)
    plan.hosts = covered.map { PlanStatus.summary(of: $0, in: plan, message: lastMessage[$0]) }
    return plan
  }
}

/// Shared wording and arithmetic of plans.
public enum PlanStatus {
  public static let knownAfterApply = "known after apply"

  static func digest(_ text: String) -> String {
    "sha256:" + Digest.hex("sha256", Array(text.utf8))!
  }

  /// Counts `host`'s steps by kind and fingerprints its results in order.
  static func summary(of host: String, in plan: SavedPlan, message: String?) -> PlanHost {
    var h = PlanHost(name: host, status: "no changes", fingerprint: "")
    var text = ""
    var failed = false
    var unreachable = false
    for (task, r) in plan.results(of: host) {
      text += "\(task.location) \(r.fingerprint)\n"
      switch r.status {
      case "failed": failed = true
      case "unreachable": unreachable = true
      case knownAfterApply: h.knownAfterApply += 1
      default: break
      }
      // Steps count where the run would take them: changed results, and commands check mode skips.
      guard r.status == "changed" || r.status == knownAfterApply || (r.status == "skipped" && !r.allSteps.isEmpty) else { continue }
      for step in r.allSteps {
        switch step.op {
        case "+": h.add += 1
        case "~": h.change += 1
        case "-": h.remove += 1
        default: h.run += 1
        }
      }
    }
    h.fingerprint = digest(text)
    h.status = unreachable ? "unreachable" : failed ? "failed" : h.hasChanges ? "changes" : "no changes"
    if unreachable || failed { h.message = message }
    return h
  }
}
