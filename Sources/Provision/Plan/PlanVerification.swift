import Foundation
import Inventory

/// How the hosts compare with a saved plan, right before it is applied.
public struct PlanVerification: Sendable {
  /// Hosts whose state still matches the plan.
  public var current: [String] = []
  /// Hosts whose state changed since the plan, with what changed, one line per task.
  public var stale: [(host: String, changes: [String])] = []
  /// Hosts the check could not reach.
  public var unreachable: [(host: String, message: String)] = []

  /// Compares each host of `saved` with `now`, a fresh check of the same inputs.
  public static func compare(saved: SavedPlan, now: SavedPlan) -> PlanVerification {
    var v = PlanVerification()
    for host in saved.hosts {
      guard let fresh = now.hosts.first(where: { $0.name == host.name }) else {
        v.stale.append((host.name, ["the host is no longer selected by the inventory and limit"]))
        continue
      }
      if fresh.status == "unreachable" {
        v.unreachable.append((host.name, fresh.message ?? "unreachable"))
        continue
      }
      if fresh.fingerprint == host.fingerprint {
        v.current.append(host.name)
        continue
      }
      v.stale.append((host.name, differences(saved.results(of: host.name), now.results(of: host.name))))
    }
    for host in now.hosts where !saved.hosts.contains(where: { $0.name == host.name }) {
      v.stale.append((host.name, ["the host was not in the plan"]))
    }
    return v
  }

  /// The tasks whose result differs, saying what the plan had and what a check finds now.
  static func differences(
    _ planned: [(task: PlanTask, result: PlanHostResult)], _ now: [(task: PlanTask, result: PlanHostResult)]
  ) -> [String] {
    var out: [String] = []
    for i in 0..<max(planned.count, now.count) {
      let p = i < planned.count ? planned[i] : nil
      let n = i < now.count ? now[i] : nil
      if let p, let n, p.task.location == n.task.location, p.result.fingerprint == n.result.fingerprint { continue }
      if let p, let n, p.task.location == n.task.location {
        out.append("TASK [\(p.task.title)]: planned \(describe(p.result)); now \(describe(n.result))")
      } else if let p, let n {
        out.append("the run now takes another path: TASK [\(n.task.title)] instead of TASK [\(p.task.title)]")
        break
      } else if let p {
        out.append("TASK [\(p.task.title)] planned, no longer reached")
      } else if let n {
        out.append("TASK [\(n.task.title)] now reached, not in the plan")
      }
    }
    return out.isEmpty ? ["the host's results differ from the plan"] : out
  }

  static func describe(_ r: PlanHostResult) -> String {
    let steps = r.allSteps.map { "\($0.op) \($0.summary)" }
    var text = r.status == "ok" ? "no change" : r.status
    if !steps.isEmpty { text += " (" + steps.joined(separator: "; ") + ")" }
    return text
  }
}

/// Lets a real run make only the changes of a saved plan: until a host has changed, each
/// task's steps must be the planned ones; afterwards a task may differ in detail (it sees the
/// earlier changes) but must be one the plan changes on that host.
public final class PlanApplyGuard: ApplyGuard, @unchecked Sendable {
  private let lock = NSLock()
  /// Per host, per task location: the planned step lists (one per loop item), in order.
  private var planned: [String: [String: [[String]]]] = [:]
  /// Per host, the task locations whose outcome the plan knew only after apply.
  private var unknown: [String: Set<String>] = [:]
  private var changedHosts: Set<String> = []

  public init(_ plan: SavedPlan) {
    for play in plan.plays {
      for task in play.tasks where !task.location.isEmpty {
        for r in task.hosts {
          if r.status == PlanStatus.knownAfterApply { unknown[r.host, default: []].insert(task.location) }
          let units = r.items.map { $0.map { $0.steps } } ?? [r.steps]
          for steps in units where !steps.isEmpty {
            planned[r.host, default: [:]][task.location, default: []].append(steps.map { "\($0.op) \($0.summary)" })
          }
        }
      }
    }
  }

  public func approve(host: String, task: PlaybookTask, steps: [Step]) -> String? {
    let location = "\(task.location)"
    let wanted = steps.map { "\($0.marker) \($0.summary)" }
    return lock.withLock { () -> String? in
      let wasPlanned = planned[host]?[location] != nil
      var queue = planned[host]?[location] ?? []
      let next = queue.isEmpty ? nil : queue.removeFirst()
      if wasPlanned { planned[host]?[location] = queue }
      let listed = wanted.joined(separator: "; ")
      guard let next else {
        // After a change of this run, a task the plan changes (or could not know) may take one
        // more step than planned: it sees that change.
        if changedHosts.contains(host) && (wasPlanned || unknown[host]?.contains(location) == true) { return nil }
        return "stale plan: this task would now \(listed), which the plan does not contain; nothing more is applied on this host (plan again to review it)"
      }
      if next != wanted && !changedHosts.contains(host) {
        return "stale plan: this task would now \(listed); the plan says \(next.joined(separator: "; ")); nothing more is applied on this host (plan again to review it)"
      }
      changedHosts.insert(host)
      return nil
    }
  }
}
