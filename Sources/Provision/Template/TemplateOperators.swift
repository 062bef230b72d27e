import Foundation
import Inventory

/// Arithmetic and comparison with Python's rules: `/` is always float, `//` and `%` floor,
/// `%` takes the divisor's sign, strings and lists repeat with `*` and concatenate with `+`,
/// and booleans count as 0 and 1.
enum TemplateOperators {
  private enum Number {
    case int(Int)
    case double(Double)
  }

  private static func number(_ v: Value) -> Number? {
    switch v {
    case .int(let i): return .int(i)
    case .double(let d): return .double(d)
    case .bool(let b): return .int(b ? 1 : 0)
    default: return nil
    }
  }

  private static func double(_ n: Number) -> Double {
    switch n {
    case .int(let i): return Double(i)
    case .double(let d): return d
    }
  }

  static func binary(
    _ op: String, _ l: Value, _ r: Value, renderer: TemplateRenderer, at offset: Int
  ) throws -> Value {
    func unsupported() -> TemplateError {
      renderer.error(
        .type(
          "unsupported operand type(s) for \(op): '\(l.typeName)' and '\(r.typeName)'"),
        at: offset)
    }
    func overflow() -> TemplateError { renderer.error(.value("integer overflow"), at: offset) }

    switch (op, l, r) {
    case ("+", .string(let a), .string(let b)): return .string(a + b)
    case ("+", .list(let a), .list(let b)): return .list(a + b)
    case ("+", .tuple(let a), .tuple(let b)): return .tuple(a + b)
    case ("*", .string(let s), _), ("*", _, .string(let s)):
      guard case .int(let n)? = number(op == "*" && l.stringValue != nil ? r : l) else {
        throw renderer.error(
          .type("can't multiply sequence by non-int of type '\(r.typeName)'"), at: offset)
      }
      return .string(n > 0 ? String(repeating: s, count: n) : "")
    case ("*", .list(let items), _), ("*", _, .list(let items)), ("*", .tuple(let items), _),
      ("*", _, .tuple(let items)):
      guard case .int(let n)? = number(l.listValue != nil ? r : l) else {
        throw renderer.error(
          .type("can't multiply sequence by non-int of type '\(r.typeName)'"), at: offset)
      }
      let repeated = n > 0 ? Array((0..<n).map { _ in items }.joined()) : []
      if case .tuple = (l.listValue != nil ? l : r) { return .tuple(repeated) }
      return .list(repeated)
    case ("%", .string(let format), _):
      return .string(try PythonFormat.percent(format, r, renderer: renderer, at: offset))
    default: break
    }
    guard let a = number(l), let b = number(r) else { throw unsupported() }
    if case .int(let x) = a, case .int(let y) = b {
      switch op {
      case "+":
        let (v, o) = x.addingReportingOverflow(y)
        if o { throw overflow() }
        return .int(v)
      case "-":
        let (v, o) = x.subtractingReportingOverflow(y)
        if o { throw overflow() }
        return .int(v)
      case "*":
        let (v, o) = x.multipliedReportingOverflow(by: y)
        if o { throw overflow() }
        return .int(v)
      case "/":
        guard y != 0 else { throw renderer.error(.zeroDivision, at: offset) }
        return .double(Double(x) / Double(y))
      case "//":
        guard y != 0 else { throw renderer.error(.zeroDivision, at: offset) }
        return .int(floorDivide(x, y))
      case "%":
        guard y != 0 else { throw renderer.error(.zeroDivision, at: offset) }
        return .int(x - floorDivide(x, y) * y)
      case "**":
        if y < 0 { return .double(pow(Double(x), Double(y))) }
        var result = 1
        var base = x
        var e = y
        while e > 0 {
          if e & 1 == 1 {
            let (v, o) = result.multipliedReportingOverflow(by: base)
            if o { throw overflow() }
            result = v
          }
          e >>= 1
          if e > 0 {
            let (v, o) = base.multipliedReportingOverflow(by: base)
            if o { throw overflow() }
            base = v
          }
        }
        return .int(result)
      default: throw unsupported()
      }
    }
    let x = double(a)
    let y = double(b)
    switch op {
    case "+": return .double(x + y)
    case "-": return .double(x - y)
    case "*": return .double(x * y)
    case "/":
      guard y != 0 else { throw renderer.error(.zeroDivision, at: offset) }
      return .double(x / y)
    case "//":
      guard y != 0 else { throw renderer.error(.zeroDivision, at: offset) }
      return .double((x / y).rounded(.down))
    case "%":
      guard y != 0 else { throw renderer.error(.zeroDivision, at: offset) }
      let m = x.truncatingRemainder(dividingBy: y)
      return .double(m != 0 && (m < 0) != (y < 0) ? m + y : m)
    case "**":
      return .double(pow(x, y))
    default: throw unsupported()
    }
  }

  static func floorDivide(_ x: Int, _ y: Int) -> Int {
    let q = x / y
    return (x % y != 0) && ((x < 0) != (y < 0)) ? q - 1 : q
  }

  static func pow(_ x: Double, _ y: Double) -> Double { Foundation.pow(x, y) }

  /// Python's ordering: numbers with numbers, strings with strings, lists (and tuples) item
  /// by item.
  static func lessThan(_ l: Value, _ r: Value) -> Bool? {
    if let a = number(l), let b = number(r) {
      if case .int(let x) = a, case .int(let y) = b { return x < y }
      return double(a) < double(b)
    }
    switch (l, r) {
    case (.string(let a), .string(let b)): return Value.pythonStringOrder(a, b)
    case (.list(let a), .list(let b)), (.tuple(let a), .tuple(let b)):
      for (x, y) in zip(a, b) where x != y {
        return lessThan(x, y)
      }
      return a.count < b.count
    default: return nil
    }
  }

  static func compare(
    _ op: String, _ l: Value, _ r: Value, renderer: TemplateRenderer, at offset: Int
  ) throws -> Bool {
    switch op {
    case "==": return l == r
    case "!=": return l != r
    case "in", "notin":
      let found = try contains(r, l, renderer: renderer, at: offset)
      return op == "in" ? found : !found
    default: break
    }
    let (a, b) = op == ">" || op == ">=" ? (r, l) : (l, r)
    guard let less = lessThan(a, b) else {
      throw renderer.error(
        .type(
          "'\(op)' not supported between instances of '\(l.typeName)' and '\(r.typeName)'"),
        at: offset)
    }
    if op == "<" || op == ">" { return less }
    return less || l == r
  }

  /// Python's `needle in haystack`.
  static func contains(
    _ haystack: Value, _ needle: Value, renderer: TemplateRenderer, at offset: Int
  ) throws -> Bool {
    switch haystack {
    case .string(let s):
      guard case .string(let n) = needle else {
        throw renderer.error(
          .type("'in <string>' requires string as left operand, not \(needle.typeName)"),
          at: offset)
      }
      return n.isEmpty || s.contains(n)
    case .list(let l), .tuple(let l): return l.contains(needle)
    case .dict(let d):
      switch needle {
      case .string(let k): return d.contains(k)
      case .list, .dict:
        throw renderer.error(.type("unhashable type: '\(needle.typeName)'"), at: offset)
      default: return d.contains(needle.pythonString)
      }
    default:
      throw renderer.error(
        .type("argument of type '\(haystack.typeName)' is not iterable"), at: offset)
    }
  }
}
