import Foundation
import Inventory

extension Step {
  /// This step followed by `query`, whose output `read` turns into the task's values: what the
  /// command chose by itself, such as the uid `useradd` gave a new account, which Ansible reads
  /// back after the change. The query's own failure is ignored; the command's is reported as
  /// the engine reports a failed step.
  func readingBack(_ query: String, _ read: @escaping @Sendable (String) -> OrderedDict) -> Step {
    guard case .shell(let command, let stdin) = action else { return self }
    var step = Step(effect, summary, .shell(command + " && { " + query + " || true; }", stdin: stdin))
    let summary = summary
    step.interpret = { output in
      guard output.succeeded else {
        return StepOutcome(result: [:], changed: false, failure: Step.failure(summary, output))
      }
      return StepOutcome(result: read(output.stdoutText), changed: true)
    }
    return step
  }

  /// How a step whose command failed is reported: `SUMMARY failed (rc=N): STDERR`.
  static func failure(_ summary: String, _ output: CommandResult) -> String {
    let detail = output.stderrText.trimmingCharacters(in: .whitespacesAndNewlines)
    return "\(summary) failed (rc=\(output.exitStatus.map(String.init) ?? "none")): \(detail)"
  }
}
