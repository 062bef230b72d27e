import Foundation
import Inventory
import Testing

@testable import Provision

/// Compares the template engine with the results real Jinja2 and Ansible produced for the
/// cases in `Fixtures/jinja/cases.txt` (regenerate with `scripts/jinja-cases`).
///
/// Cases listed in `known-failures.txt` are documented differences; any other mismatch fails.
struct TemplateDifferentialTests {
  struct Outcome {
    var passed = 0
    var failures: [String] = []
    var unexpected: [String] = []
    var knownButPassing: [String] = []
  }

  static func fixture(_ name: String) throws -> String {
    let here = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    let url = here.appendingPathComponent("Fixtures/jinja/\(name)")
    return try String(contentsOf: url, encoding: .utf8)
  }

  /// The key a case has in `known-failures.txt`: kind, a space, the source on one line.
  static func key(_ kind: String, _ source: String) -> String {
    kind + " " + source.replacingOccurrences(of: "\n", with: "⏎")
  }

  static func actual(kind: String, source: String, vars: [String: Value]) -> Result<String, Error> {
    Result {
      switch kind {
      case "expr":
        let context = DictionaryTemplateContext(vars)
        return try Template.evaluate(expression: source, context: context).jsonString()
      case "value":
        return try Template.renderValue(source, context: LazyTemplateContext(vars)).jsonString()
      case "tmpl":
        return try Template(source, name: "case").render(LazyTemplateContext(vars))
      default:
        let b = try Template.evaluateCondition(source, context: LazyTemplateContext(vars))
        return b ? "true" : "false"
      }
    }
  }

  /// The Jinja2 words of an undefined-variable error, such as `'foo' is undefined`.
  static func undefinedMessage(_ error: String) -> String? {
    for prefix in [
      "AnsibleUndefinedVariable: ", "ValueError: expression is undefined: ", "UndefinedError: ",
    ] where error.hasPrefix(prefix) {
      return String(error.dropFirst(prefix.count))
    }
    return nil
  }

  static func run() throws -> Outcome {
    let document = try Value.parseJSON(try fixture("expected.json"))
    let known = Set(
      try fixture("known-failures.txt").split(separator: "\n").map(String.init)
        .filter { !$0.hasPrefix("#") && !$0.isEmpty })
    var outcome = Outcome()
    let variableSets = document.dictValue?["variables"]?.listValue ?? []
    for c in document.dictValue?["cases"]?.listValue ?? [] {
      guard let d = c.dictValue, case .string(let kind)? = d["kind"],
        case .string(let source)? = d["source"]
      else { continue }
      var vars: [String: Value] = [:]
      if case .int(let i)? = d["vars"], i < variableSets.count {
        for (k, v) in variableSets[i].dictValue ?? OrderedDict() { vars[k] = v }
      }
      let expected = d["json"]?.stringValue ?? d["text"]?.stringValue
      let got = actual(kind: kind, source: source, vars: vars)
      let ok: Bool
      var detail: String
      switch (got, expected) {
      case (.success(let s), let e?):
        ok = s == e
        detail = "expected \(e.debugDescription), got \(s.debugDescription)"
      case (.success(let s), nil):
        ok = false
        detail = "expected error \(d["error"]?.stringValue ?? ""), got \(s.debugDescription)"
      case (.failure(let err), let e?):
        ok = false
        detail = "expected \(e.debugDescription), got error \(err)"
      case (.failure(let err), nil):
        // Undefined-variable errors must name the same thing Jinja2 names.
        let message = d["error"]?.stringValue ?? ""
        let wanted = Self.undefinedMessage(message)
        ok = wanted.map { "\(err)".contains($0) } ?? true
        detail = "expected error \(message.debugDescription), got error \(err)"
      }
      let k = key(kind, source)
      if ok {
        outcome.passed += 1
        if known.contains(k) { outcome.knownButPassing.append(k) }
      } else {
        outcome.failures.append("\(k)\n    \(detail)")
        if !known.contains(k) { outcome.unexpected.append("\(k)\n    \(detail)") }
      }
    }
    return outcome
  }

  @Test func matchesJinjaAndAnsible() throws {
    let outcome = try Self.run()
    let total = outcome.passed + outcome.failures.count
    print("template differential: \(outcome.passed)/\(total) cases match Jinja2/Ansible")
    for f in outcome.failures { print("  mismatch: \(f)") }
    for k in outcome.knownButPassing { Issue.record("known failure now passes, unlist it: \(k)") }
    #expect(total > 300)
    for f in outcome.unexpected { Issue.record("mismatch: \(f)") }
  }
}
