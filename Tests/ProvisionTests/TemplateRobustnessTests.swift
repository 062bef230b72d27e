import Foundation
import Inventory
import Testing

@testable import Provision

/// Random and mutated template text must give a result or a `TemplateError`, never a crash
/// or a hang.
struct TemplateRobustnessTests {
  /// A fixed-seed generator so a failure can be reproduced.
  struct Generator: RandomNumberGenerator {
    var state: UInt64
    mutating func next() -> UInt64 {
      state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
      var z = state
      z = (z ^ (z >> 33)) &* 0xff51_afd7_ed55_8ccd
      return z ^ (z >> 33)
    }
  }

  static let seeds = [
    "{{ name | default('x') | upper }}", "{% for k, v in d.items() %}{{ k }}={{ v }}{% endfor %}",
    "{% if a > 1 and b is defined %}x{% elif c %}y{% else %}z{% endif %}",
    "{% set ns = namespace(n=0) %}{% for i in range(3) %}{% set ns.n = ns.n + i %}{% endfor %}",
    "{% macro m(a, b=2) %}{{ a ~ b }}{% endmacro %}{{ m(1) }}", "{{ [1, 2.5, 'x', none][1:] }}",
    "{{ {'a': {'b': [1, 2]}}['a'].b[-1] ** 2 // 3 % 2 }}", "{% raw %}{{ x }}{% endraw %}",
    "{{ '%s-%05.2f' % ('a', 3.14159) }}", "{{ s.split(',') | map('trim') | select | list }}",
    "{{ x is version('1.2.3', '>=') }} {# c #} {{- y -}}", "{{ 'a' if b else 'c' }}",
    "{{ users | selectattr('age', 'gt', 3) | map(attribute='name') | join(', ') }}",
    "{{ '{:>5}'.format(n) ~ (d | to_json) ~ (d | to_nice_yaml) }}",
  ]

  static let fragments = [
    "{{", "}}", "{%", "%}", "{#", "#}", "-", "'", "\"", "(", ")", "[", "]", "{", "}", "|", ".",
    ",", ":", "=", "==", "**", "//", "%", "~", " is ", " not ", " in ", " if ", " else ", "for",
    "endfor", "endif", "set", "macro", "raw", "endraw", "\\", "\n", "0x", "1e",
    "9999999999999999999",
    "é", "\u{0}", "none", "loop", "default", "range(", "-1", "1.5", "]]", "[[", "`",
  ]

  static func mutate(_ s: String, _ g: inout Generator) -> String {
    var chars = Array(s)
    for _ in 0..<Int.random(in: 1...4, using: &g) {
      let i = chars.isEmpty ? 0 : Int.random(in: 0...chars.count, using: &g)
      switch Int.random(in: 0..<3, using: &g) {
      case 0:
        let f = fragments.randomElement(using: &g) ?? ""
        chars.insert(contentsOf: f, at: i)
      case 1:
        if !chars.isEmpty, i < chars.count {
          chars.removeSubrange(i..<min(chars.count, i + Int.random(in: 1...3, using: &g)))
        }
      default:
        if i < chars.count {
          chars[i] = Character(Unicode.Scalar(UInt8.random(in: 32...126, using: &g)))
        }
      }
    }
    return String(chars)
  }

  @Test(arguments: [
    String(repeating: "(", count: 50_000), String(repeating: "[", count: 50_000),
    String(repeating: "-", count: 50_000) + "1", String(repeating: "not ", count: 20_000) + "x",
    String(repeating: "{% if x %}", count: 5_000), String(repeating: "x|", count: 20_000) + "y",
    String(repeating: "a.", count: 20_000) + "b",
  ])
  func deepNestingFailsCleanly(expression: String) throws {
    let context = DictionaryTemplateContext(["x": 1])
    _ = try? Template("{{ " + expression + " }}", name: "deep").render(context)
    _ = try? Template(expression, name: "deep").render(context)
    _ = try? Template.evaluateCondition(expression, context: context)
  }

  @Test func deepDataFailsCleanly() throws {
    let context = DictionaryTemplateContext([
      "j": .string(String(repeating: "[", count: 50_000)),
      "y": .string(String(repeating: "[", count: 50_000)),
    ])
    #expect(throws: TemplateError.self) { try Template("{{ j | from_json }}").render(context) }
    #expect(throws: TemplateError.self) { try Template("{{ y | from_yaml }}").render(context) }
    let macro = "{% macro f(n) %}{{ f(n + 1) }}{% endmacro %}{{ f(0) }}"
    #expect(throws: TemplateError.self) { try Template(macro).render(context) }
  }

  @Test func randomTemplatesNeverCrash() throws {
    var g = Generator(state: 42)
    let context = DictionaryTemplateContext([
      "name": "n", "a": 2, "b": true, "c": nil, "d": ["k": [1, 2]], "s": "a, b,,c", "x": "1.2",
      "n": 5, "users": [["name": "u", "age": 4]],
    ])
    var rendered = 0
    var failed = 0
    let start = Date()
    for i in 0..<20_000 {
      let source: String
      if i % 4 == 0 {
        source = String(
          (0..<Int.random(in: 0...8, using: &g)).map { _ in
            Self.fragments.randomElement(using: &g) ?? ""
          }.joined())
      } else {
        source = Self.mutate(Self.seeds.randomElement(using: &g) ?? "", &g)
      }
      do {
        _ = try Template(source, name: "fuzz").render(context)
        _ = try? Template.renderValue(source, context: context)
        rendered += 1
      } catch is TemplateError {
        failed += 1
      }
      _ = try? Template.evaluateCondition(source, context: context)
    }
    #expect(rendered + failed == 20_000)
    #expect(rendered > 1_000)
    #expect(Date().timeIntervalSince(start) < 120)
  }
}
