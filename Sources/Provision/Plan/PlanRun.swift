import Foundation
import Inventory

/// Check-mode runs that produce plans: `provision plan`, the re-check of `apply`, `drift`.
public enum PlanRun {
  /// Runs `playbooks` in check mode with diffs and records the plan; `next` sees the run.
  public static func check(
    _ playbooks: [Playbook], inventory: Inventory, options: RunOptions, inputs: PlanInputs, redactor: Redactor,
    next: (any RunReporter)? = nil
  ) async -> (plan: SavedPlan, recap: RunRecap) {
    var options = options
    options.check = true
    options.diff = true
    options.applyGuard = nil
    let recorder = PlanRecorder(redactor: redactor, hostOrder: inventory.hostOrder, next: next)
    let recap = await PlaybookRunner(inventory: inventory, options: options, reporter: recorder).run(playbooks)
    return (recorder.plan(inputs: inputs, hosts: inventory.hostOrder), recap)
  }
}

/// Which hosts drifted from a playbook: what `provision drift` reports.
public struct DriftReport: Codable, Equatable, Sendable {
  public struct Host: Codable, Equatable, Sendable {
    public var name: String
    /// `converged`, `drifted`, `failed` or `unreachable`.
    public var status: String
    public var message: String?
    /// The tasks that would change the host, with their steps.
    public var drifted: [Change]
    /// Tasks check mode cannot judge, because they depend on a real run's values.
    public var unknown: [String]
  }

  public struct Change: Codable, Equatable, Sendable {
    public var task: String
    public var location: String
    public var steps: [PlanStep]
  }

  public var hosts: [Host]
  public var converged: Int
  public var drifted: Int
  public var failed: Int
  public var unreachable: Int

  public init(_ plan: SavedPlan) {
    hosts = plan.hosts.map { h in
      var host = Host(name: h.name, status: "converged", message: h.message, drifted: [], unknown: [])
      for (task, r) in plan.results(of: h.name) {
        if r.status == "changed" {
          host.drifted.append(Change(task: task.title, location: task.location, steps: r.allSteps))
        } else if r.status == PlanStatus.knownAfterApply {
          host.unknown.append(task.title)
        }
      }
      switch h.status {
      case "unreachable", "failed": host.status = h.status
      default: host.status = host.drifted.isEmpty ? "converged" : "drifted"
      }
      return host
    }
    converged = hosts.filter { $0.status == "converged" }.count
    drifted = hosts.filter { $0.status == "drifted" }.count
    failed = hosts.filter { $0.status == "failed" }.count
    unreachable = hosts.filter { $0.status == "unreachable" }.count
  }

  /// 0 when every host is converged, 2 when one drifted or failed, 4 when one is unreachable.
  public var exitStatus: Int32 {
    unreachable > 0 ? 4 : drifted + failed > 0 ? 2 : 0
  }

  /// One line per host, then the drifted tasks under it.
  public var text: String {
    var out = ""
    for h in hosts {
      switch h.status {
      case "drifted":
        out += "\(h.name): drifted (\(h.drifted.count) task\(h.drifted.count == 1 ? "" : "s") would change)\n"
        for c in h.drifted {
          out += "  TASK [\(c.task)] \(c.location)\n"
          for s in c.steps { out += "    \(s.op) \(s.summary)\n" }
        }
      case "converged":
        out += "\(h.name): converged\n"
      default:
        out += "\(h.name): \(h.status): \(h.message ?? "")\n"
      }
      if h.status == "drifted" && !h.unknown.isEmpty {
        out += "  known only after a real run: \(h.unknown.joined(separator: ", "))\n"
      }
    }
    out += "\(converged) converged, \(drifted) drifted, \(failed) failed, \(unreachable) unreachable\n"
    return out
  }
}
