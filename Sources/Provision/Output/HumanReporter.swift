import Foundation
import Inventory

/// Prints a run the way ansible-playbook's default output does: play and task banners, a line
/// per host, diffs with `--diff`, and the recap.
public final class HumanReporter: RunReporter {
  let verbosity: Int
  let showDiff: Bool
  let useColor: Bool
  let write: (String) -> Void
  let isTerminal: Bool
  /// The recap ends with the run's time; a replayed plan has none.
  public var showsElapsed = true
  private var liveLineShown = false
  private var taskStarted = Date()

  public init(verbosity: Int, showDiff: Bool, useColor: Bool, isTerminal: Bool = false, write: @escaping (String) -> Void) {
    self.verbosity = verbosity
    self.showDiff = showDiff
    self.useColor = useColor
    self.isTerminal = isTerminal
    self.write = write
  }

  static let columns = 79

  func banner(_ text: String) -> String {
    let stars = max(3, Self.columns - text.count)
    return "\n" + text + " " + String(repeating: "*", count: stars)
  }

  func color(_ text: String, _ code: String) -> String {
    useColor ? "\u{1B}[\(code)m" + text + "\u{1B}[0m" : text
  }

  private func emit(_ line: String) {
    clearLiveLine()
    write(line + "\n")
  }

  private func clearLiveLine() {
    if liveLineShown {
      write("\r\u{1B}[K")
      liveLineShown = false
    }
  }

  public func playStarted(_ play: Play) {
    playBanner(play.name)
  }

  public func playBanner(_ name: String) {
    emit(banner("PLAY [\(name)]"))
  }

  public func taskStarted(_ title: String, task: PlaybookTask?, isHandler: Bool) {
    taskStarted = Date()
    emit(banner((isHandler ? "RUNNING HANDLER" : "TASK") + " [\(title)]"))
  }

  public var wantsProgress: Bool { isTerminal }

  public func hostsRunning(_ hosts: [String]) {
    guard isTerminal else { return }
    clearLiveLine()
    guard !hosts.isEmpty, Date().timeIntervalSince(taskStarted) > 2 else { return }
    let names = hosts.prefix(8).joined(separator: ", ") + (hosts.count > 8 ? " and \(hosts.count - 8) more" : "")
    write(color("still running (\(Int(Date().timeIntervalSince(taskStarted))) s): \(names)", "2"))
    liveLineShown = true
  }

  func hostLabel(_ result: TaskResult) -> String {
    result.delegatedTo.map { "\(result.host) -> \($0)" } ?? result.host
  }

  func json(_ dict: OrderedDict) -> String {
    var d = dict
    for key in ["_arguments"] { _ = d.removeValue(forKey: key) }
    return Value.dict(d).jsonString(.init(indent: 4, sortKeys: true, ensureASCII: false))
  }

  /// What `-v` shows of a result, and what failures always show.
  func details(_ result: OrderedDict, censored: Bool) -> String {
    if censored {
      return json(["censored": "the output has been hidden due to the fact that 'no_log: true' was specified for this result", "changed": result["changed"] ?? false])
    }
    var d = result
    _ = d.removeValue(forKey: "diff")
    return json(d)
  }

  public func hostFinished(_ result: TaskResult, task: PlaybookTask?) {
    if let included = result.included {
      emit("included: \(included) for \(result.host)")
      return
    }
    if showDiff && !result.isCensored {
      for diff in result.diffs {
        let text = UnifiedDiff.render(diff.before, diff.after, beforeHeader: diff.beforeHeader, afterHeader: diff.afterHeader)
        if !text.isEmpty { emit(colorDiff(text.hasSuffix("\n") ? String(text.dropLast()) : text)) }
      }
    }
    let label = hostLabel(result)
    if !result.items.isEmpty {
      for item in result.items {
        let line = "\(word(item.status)): [\(label)] => (item=\(result.isCensored ? "None" : item.label))"
        if item.status == .failed {
          emit(color("failed: [\(label)] (item=\(item.label)) => " + details(item.result, censored: result.isCensored), "31"))
        } else if verbosity > 0 && item.status != .skipped {
          emit(color(line + " => " + details(item.result, censored: result.isCensored), code(item.status)))
        } else {
          emit(color(line, code(item.status)))
        }
      }
      switch result.status {
      case .failed:
        emit(color("fatal: [\(label)]: FAILED! => " + details(["msg": result.result["msg"] ?? "One or more items failed", "changed": result.result["changed"] ?? false], censored: false), "31"))
        if result.isIgnored { emit(color("...ignoring", "36")) }
      case .skipped where result.items.isEmpty:
        emit(color("skipping: [\(label)]", "36"))
      default:
        break
      }
      return
    }
    switch result.status {
    case .failed:
      emit(color("fatal: [\(label)]: FAILED! => " + details(result.result, censored: result.isCensored), "31"))
      if result.isIgnored { emit(color("...ignoring", "36")) }
    case .unreachable:
      emit(color("fatal: [\(label)]: UNREACHABLE! => " + details(result.result, censored: false), "31"))
    default:
      let isDebug = task?.action == "debug"
      var line = "\(word(result.status)): [\(label)]"
      if result.isUnknown {
        line += " => (\(result.message ?? "known after apply"))"
      } else if (isDebug && result.status != .skipped) || (verbosity > 0 && result.status != .skipped) {
        var shown = result.result
        if isDebug && verbosity == 0 { _ = shown.removeValue(forKey: "changed") }
        line += " => " + details(shown, censored: result.isCensored)
      }
      emit(color(line, code(result.status)))
      if verbosity > 1, !result.steps.isEmpty {
        for step in result.steps { emit("    \(step.marker) \(step.summary)") }
      }
    }
  }

  func word(_ status: TaskResult.Status) -> String {
    switch status {
    case .ok: return "ok"
    case .changed: return "changed"
    case .skipped: return "skipping"
    case .failed: return "failed"
    case .unreachable: return "unreachable"
    }
  }

  func code(_ status: TaskResult.Status) -> String {
    switch status {
    case .ok: return "32"
    case .changed: return "33"
    case .skipped: return "36"
    case .failed, .unreachable: return "31"
    }
  }

  func colorDiff(_ text: String) -> String {
    guard useColor else { return text }
    return text.split(separator: "\n", omittingEmptySubsequences: false).map { line -> String in
      if line.hasPrefix("+") && !line.hasPrefix("+++") { return color(String(line), "32") }
      if line.hasPrefix("-") && !line.hasPrefix("---") { return color(String(line), "31") }
      if line.hasPrefix("@@") { return color(String(line), "36") }
      return String(line)
    }.joined(separator: "\n")
  }

  public func warning(_ message: String) {
    emit(color("[WARNING]: " + message, "35"))
  }

  public func notice(_ message: String) {
    emit(message)
  }

  public func runFinished(_ recap: RunRecap) {
    emit(banner("PLAY RECAP"))
    for (host, s) in recap.hosts {
      let name = host.padding(toLength: max(26, host.count), withPad: " ", startingAt: 0)
      func field(_ lead: String, _ n: Int, _ c: String) -> String {
        let text = "\(lead)=\(n)".padding(toLength: max(lead.count + 5, lead.count + 1 + String(n).count), withPad: " ", startingAt: 0)
        return n > 0 ? color(text, c) : text
      }
      let hostColor = s.failures > 0 || s.unreachable > 0 ? "31" : s.changed > 0 ? "33" : "32"
      emit(
        color(name, hostColor) + " : " + field("ok", s.ok, "32") + " " + field("changed", s.changed, "33") + " "
          + field("unreachable", s.unreachable, "31") + " " + field("failed", s.failures, "31") + " "
          + field("skipped", s.skipped, "36") + " " + field("rescued", s.rescued, "35") + " " + field("ignored", s.ignored, "35"))
    }
    if !recap.failures.isEmpty {
      emit("\nFailed tasks:")
      for f in recap.failures {
        let message = f.message.split(separator: "\n").first.map(String.init) ?? ""
        emit("  \(f.host): \(f.task): \(message)")
      }
    }
    if recap.wasInterrupted { emit("\nInterrupted: the recap above covers what ran before the stop.") }
    if showsElapsed { emit(String(format: "\nFinished in %.2f s", recap.elapsed)) }
  }
}
