import Inventory

/// Jinja2's tests (`x is defined`) and Ansible's (`version`, `succeeded`, `match`, ...).
extension TemplateRenderer {
  func applyTest(
    _ name: String, to input: TemplateObject, _ args: TemplateArguments, at offset: Int
  ) throws -> Bool {
    try test(Self.shortName(name), input, try bindArguments(args, at: offset), at: offset)
  }

  private func taskResult(_ input: TemplateObject, _ name: String, at offset: Int) throws
    -> OrderedDict
  {
    guard case .dict(let d) = try value(input, at: offset) else {
      throw error(
        .failed("The '\(name)' test expects a dictionary"), at: offset)
    }
    return d
  }

  // swiftlint:disable:next cyclomatic_complexity function_body_length
  func test(_ name: String, _ input: TemplateObject, _ a: TemplateCallArguments, at offset: Int)
    throws -> Bool
  {
    func v() throws -> Value { try value(input, at: offset) }
    func other() throws -> Value {
      let p = try a.bind(name, ["other"], required: 1)
      return try a.value(p[0], .null)
    }
    switch name {
    case "defined": return !input.isUndefined
    case "undefined": return input.isUndefined
    case "none": if case .value(.null) = input { return true } else { return false }
    case "string": if case .value(.string) = input { return true } else { return false }
    case "number":
      if case .value(let x) = input {
        switch x {
        case .int, .double, .bool: return true
        default: return false
        }
      }
      return false
    case "integer": if case .value(.int) = input { return true } else { return false }
    case "float": if case .value(.double) = input { return true } else { return false }
    case "boolean": if case .value(.bool) = input { return true } else { return false }
    case "mapping": if case .value(.dict) = input { return true } else { return false }
    case "sequence", "iterable":
      if case .value(let x) = input {
        switch x {
        case .list, .tuple, .dict, .string: return true
        default: return false
        }
      }
      if case .loop = input { return name == "iterable" }
      return false
    case "callable":
      switch input {
      case .macro, .function, .boundMethod: return true
      default: return false
      }
    case "true": if case .value(.bool(true)) = input { return true } else { return false }
    case "false": if case .value(.bool(false)) = input { return true } else { return false }
    case "lower":
      let s = try v().pythonString
      return s.contains { $0.isLowercase } && !s.contains { $0.isUppercase }
    case "upper":
      let s = try v().pythonString
      return s.contains { $0.isUppercase } && !s.contains { $0.isLowercase }
    case "odd", "even":
      guard case .int(let i) = try v() else {
        throw error(.type("\(name) test requires an integer"), at: offset)
      }
      return (i % 2 != 0) == (name == "odd")
    case "divisibleby":
      let p = try a.bind(name, ["num"], required: 1)
      let n = try a.int(p[0], 1, name)
      guard n != 0 else { throw error(.zeroDivision, at: offset) }
      guard case .int(let i) = try v() else { return false }
      return i % n == 0
    case "equalto", "==", "eq", "sameas":
      return try v() == (try other())
    case "ne", "!=":
      return try v() != (try other())
    case "lt", "<", "le", "<=", "gt", ">", "ge", ">=":
      let ops = ["lt": "<", "le": "<=", "gt": ">", "ge": ">="]
      return try TemplateOperators.compare(
        ops[name] ?? name, try v(), try other(), renderer: self, at: offset)
    case "in":
      let p = try a.bind(name, ["seq"], required: 1)
      return try TemplateOperators.contains(
        try a.value(p[0], .null), try v(), renderer: self, at: offset)
    case "contains":
      let p = try a.bind(name, ["seq"], required: 1)
      return try TemplateOperators.contains(
        try v(), try a.value(p[0], .null), renderer: self, at: offset)
    case "match", "search", "regex":
      let p = try a.bind(name, ["pattern", "ignorecase", "multiline", "match_type"], required: 1)
      let s = try v().pythonString
      let re = try regex(
        try a.value(p[0], "").pythonString, ignoreCase: try a.bool(p[1], false),
        multiline: try a.bool(p[2], false), at: offset)
      var kind = name
      if name == "regex" { kind = try a.value(p[3], "search").pythonString }
      if kind == "match" { return re.firstMatch(in: s, anchored: true) != nil }
      if kind == "fullmatch" {
        guard let m = re.firstMatch(in: s, anchored: true) else { return false }
        return m.range.length == s.utf16.count
      }
      return re.firstMatch(in: s) != nil
    case "subset", "issubset", "superset", "issuperset":
      let x = try iterate(try v(), at: offset)
      let y = try iterate(try other(), at: offset)
      if name.hasSuffix("subset") { return x.allSatisfy { y.contains($0) } }
      return y.allSatisfy { x.contains($0) }
    case "truthy":
      let p = try a.bind(name, ["convert_bool"])
      let x = try v()
      if try a.bool(p[0], false), let b = Self.convertBool(x) { return b }
      return x.isTruthy
    case "falsy":
      let p = try a.bind(name, ["convert_bool"])
      let x = try v()
      if try a.bool(p[0], false), let b = Self.convertBool(x) { return !b }
      return !x.isTruthy
    case "version", "version_compare":
      let p = try a.bind(name, ["version", "operator", "strict", "version_type"], required: 1)
      let op = try a.value(p[1], "eq").pythonString
      var type = try a.value(p[3], .null)
      if try type == .null && a.bool(p[2], false) { type = "strict" }
      return try VersionComparison.test(
        try v().pythonString, try a.value(p[0], "").pythonString, op: op,
        type: type == .null ? nil : type.pythonString, renderer: self, at: offset)
    case "succeeded", "success", "successful":
      let d = try taskResult(input, name, at: offset)
      return !(d["failed"]?.isTruthy ?? false)
    case "failed", "failure":
      let d = try taskResult(input, name, at: offset)
      return d["failed"]?.isTruthy ?? false
    case "changed", "change":
      let d = try taskResult(input, name, at: offset)
      return d["changed"]?.isTruthy ?? false
    case "skipped", "skip":
      let d = try taskResult(input, name, at: offset)
      return d["skipped"]?.isTruthy ?? false
    case "finished", "finish":
      let d = try taskResult(input, name, at: offset)
      return (d["finished"] ?? .int(1)).isTruthy
    case "started", "start":
      let d = try taskResult(input, name, at: offset)
      return (d["started"] ?? .int(1)).isTruthy
    case "unreachable":
      let d = try taskResult(input, name, at: offset)
      return d["unreachable"]?.isTruthy ?? false
    case "reachable":
      let d = try taskResult(input, name, at: offset)
      return !(d["unreachable"]?.isTruthy ?? false)
    case "abs", "is_abs":
      return try v().pythonString.hasPrefix("/")
    case "any":
      return try iterate(try v(), at: offset).contains { $0.isTruthy }
    case "all":
      return try iterate(try v(), at: offset).allSatisfy { $0.isTruthy }
    default:
      var e = error(.unknownTest(name), at: offset)
      if let s = TemplateNames.suggestion(for: name, in: TemplateNames.tests) {
        e.hint = "did you mean '\(s)'?"
      }
      throw e
    }
  }

  /// Ansible's `convert_bool` reading of yes/no strings, or nil when it is not one.
  static func convertBool(_ v: Value) -> Bool? {
    switch v {
    case .bool(let b): return b
    case .int(let i) where i == 0 || i == 1: return i == 1
    case .double(let d) where d == 0 || d == 1: return d == 1
    case .string(let s):
      let l = s.lowercased()
      if ["y", "yes", "on", "1", "true", "t", "1.0"].contains(l) { return true }
      if ["n", "no", "off", "0", "false", "f", "0.0"].contains(l) { return false }
      return nil
    default: return nil
    }
  }
}
