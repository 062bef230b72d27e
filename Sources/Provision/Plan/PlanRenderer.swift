import Foundation
import Inventory

/// Renders a saved plan for people: markdown for a pull-request comment, or the output of
/// `provision run --check --diff`.
public enum PlanRenderer {
  // MARK: - Markdown

  /// A summary table per host, then a collapsible section per host with changes.
  public static func markdown(_ plan: SavedPlan) -> String {
    var out = "### provision plan\n\n"
    let playbooks = plan.inputs.playbooks.map { "`\($0)`" }.joined(separator: ", ")
    let inventory = plan.inputs.inventory.map { "`\($0)`" }.joined(separator: ", ")
    out += "Playbook \(playbooks), inventory \(inventory)"
    if let limit = plan.inputs.limit { out += ", limit `\(limit)`" }
    out += ".\n\n"
    let changing = plan.hosts.filter { $0.status == "changes" }
    let troubled = plan.hosts.filter { $0.status == "failed" || $0.status == "unreachable" }
    let total = plan.totals
    out += "**\(count(changing.count, "host")) to change, \(plan.hosts.count - changing.count - troubled.count) unchanged"
    if !troubled.isEmpty { out += ", \(troubled.count) failed or unreachable" }
    out += "**: " + counts(total, always: true) + ".\n\n"
    out += "| Host | Add | Change | Remove | Run | Status |\n|:--|--:|--:|--:|--:|:--|\n"
    for h in plan.hosts {
      var status = h.status
      if h.knownAfterApply > 0 { status += ", \(h.knownAfterApply) known after apply" }
      out += "| \(cell(h.name)) | \(h.add) | \(h.change) | \(h.remove) | \(h.run) | \(cell(status)) |\n"
    }
    for h in plan.hosts where h.status != "no changes" || h.knownAfterApply > 0 {
      let title = h.status == "changes" || h.status == "no changes" ? counts(h, always: false) : h.status
      out += "\n<details>\n<summary><b>\(html(h.name))</b>: \(html(title))</summary>\n\n"
      if let message = h.message { out += fenced(message, language: "") + "\n" }
      for (task, r) in plan.results(of: h.name) where shows(r) {
        out += "**\(task.handler == true ? "HANDLER" : "TASK") [\(inline(task.title))]**"
        if !task.location.isEmpty { out += " `\(task.location)`" }
        out += "\n\n"
        var lines: [String] = []
        switch r.status {
        case "failed", "unreachable": lines.append("\(r.status): \(r.message ?? "")")
        case PlanStatus.knownAfterApply: lines.append("? \(r.message ?? PlanStatus.knownAfterApply)")
        default: break
        }
        lines += r.steps.map { "\($0.op) \($0.summary)" }
        for item in r.items ?? [] where !item.steps.isEmpty {
          lines += item.steps.map { "\($0.op) \($0.summary)  (item: \(item.label))" }
        }
        if r.sensitive == true { lines.append("(details hidden: no_log)") }
        if !lines.isEmpty { out += fenced(lines.joined(separator: "\n"), language: "") + "\n" }
        for diff in r.allDiffs {
          let text = diff.unified
          if !text.isEmpty { out += fenced(text.hasSuffix("\n") ? String(text.dropLast()) : text, language: "diff") + "\n" }
        }
      }
      out += "</details>\n"
    }
    out += "\n<sub>Plan \(plan.inputs.digest.prefix(19)) · schema \(plan.schema) · provision \(plan.version)</sub>\n"
    return out
  }

  /// True for results that change something or need attention.
  static func shows(_ r: PlanHostResult) -> Bool {
    switch r.status {
    case "changed", "failed", "unreachable", PlanStatus.knownAfterApply: return true
    case "skipped": return !r.allSteps.isEmpty
    default: return false
    }
  }

  static func count(_ n: Int, _ noun: String) -> String { "\(n) \(noun)\(n == 1 ? "" : "s")" }

  /// `3 to add, 1 to change, 2 to run`: the non-zero counts, or all four.
  static func counts(_ h: PlanHost, always: Bool) -> String {
    let parts = [(h.add, "to add"), (h.change, "to change"), (h.remove, "to remove"), (h.run, "to run")]
      .filter { always || $0.0 > 0 }.map { "\($0.0) \($0.1)" }
    var text = parts.isEmpty ? "no steps" : parts.joined(separator: ", ")
    if !always && h.knownAfterApply > 0 { text += ", \(h.knownAfterApply) known after apply" }
    return text
  }

  /// A fenced block whose fence is longer than any run of backticks in `text`.
  static func fenced(_ text: String, language: String) -> String {
    var longest = 0
    var run = 0
    for c in text {
      run = c == "`" ? run + 1 : 0
      longest = max(longest, run)
    }
    let fence = String(repeating: "`", count: max(3, longest + 1))
    return fence + language + "\n" + text + "\n" + fence + "\n"
  }

  static func cell(_ s: String) -> String { s.replacingOccurrences(of: "|", with: "\\|") }
  static func inline(_ s: String) -> String {
    s.replacingOccurrences(of: "*", with: "\\*").replacingOccurrences(of: "_", with: "\\_")
  }
  static func html(_ s: String) -> String {
    s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
  }

  // MARK: - Human

  /// The plan as `provision run --check --diff` printed it, without timings.
  public static func human(_ plan: SavedPlan, useColor: Bool = false, write: @escaping (String) -> Void) {
    let reporter = HumanReporter(verbosity: 0, showDiff: true, useColor: useColor, write: write)
    reporter.showsElapsed = false
    var stats: [String: HostStats] = [:]
    var failures: [(host: String, task: String, message: String)] = []
    for play in plan.plays {
      reporter.playBanner(play.name)
      for task in play.tasks {
        reporter.taskStarted(task.title, task: nil, isHandler: task.handler == true)
        for r in task.hosts {
          let result = taskResult(r)
          var s = stats[r.host] ?? HostStats()
          switch result.status {
          case .ok: s.ok += 1
          case .changed:
            s.ok += 1
            s.changed += 1
          case .skipped: s.skipped += 1
          case .failed:
            s.failures += 1
            failures.append((r.host, task.title, r.message ?? ""))
          case .unreachable:
            s.unreachable += 1
            failures.append((r.host, task.title, r.message ?? "unreachable"))
          }
          stats[r.host] = s
          reporter.hostFinished(result, task: nil)
        }
      }
    }
    let hosts = plan.hosts.map(\.name).sorted().map { ($0, stats[$0] ?? HostStats()) }
    reporter.runFinished(RunRecap(hosts: hosts, failures: failures, elapsed: 0, wasInterrupted: false))
  }

  /// A result as the run reported it, rebuilt from the plan.
  static func taskResult(_ r: PlanHostResult) -> TaskResult {
    func steps(_ s: [PlanStep]) -> [Step] {
      s.map { step in
        let effect: Step.Effect = step.op == "+" ? .create : step.op == "~" ? .update : step.op == "-" ? .remove : .run
        return Step(effect, step.summary, .shell(""))
      }
    }
    func diffs(_ d: [PlanDiff]) -> [FileDiff] {
      d.map { FileDiff(beforeHeader: $0.beforeHeader, afterHeader: $0.afterHeader, before: $0.before, after: $0.after) }
    }
    func status(_ s: String) -> TaskResult.Status { TaskResult.Status(rawValue: s) ?? .skipped }
    var result = TaskResult(host: r.host, status: status(r.status), result: ["changed": .bool(r.status == "changed")])
    if let message = r.message { result.result["msg"] = .string(message) }
    result.isUnknown = r.status == PlanStatus.knownAfterApply
    result.delegatedTo = r.delegatedTo
    result.steps = steps(r.steps)
    result.diffs = diffs(r.diffs)
    result.items = (r.items ?? []).map {
      ItemResult(status: status($0.status), label: $0.label, result: [:], diffs: diffs($0.diffs), steps: steps($0.steps))
    }
    result.diffs += result.items.flatMap(\.diffs)
    result.isCensored = r.sensitive == true
    return result
  }
}
