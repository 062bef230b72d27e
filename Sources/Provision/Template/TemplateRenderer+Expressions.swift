import Inventory

/// Expression evaluation: names, attributes, items, calls, operators, filters and tests.
extension TemplateRenderer {
  /// The value of an expression; an undefined result is an error naming the variable.
  func valueOfExpression(_ e: TemplateExpression) throws -> Value {
    try value(try eval(e), at: e.offset)
  }

  /// The data inside an object, or the error an undefined object stands for.
  func value(_ o: TemplateObject, at offset: Int) throws -> Value {
    switch o {
    case .value(let v): return v
    case .undefined(let message): throw error(.undefined(message), at: offset)
    case .lenientUndefined: return .string("")
    case .loop(let loop):
      var d = OrderedDict()
      for k in ["index", "index0", "revindex", "revindex0", "first", "last", "length"] {
        d[k] = loop.attribute(k)
      }
      return .dict(d)
    case .namespace(let ns): return .dict(ns.attributes)
    case .module: return .string("<template module>")
    case .macro(let m):
      return .string("<Macro '\(m.macro.name)'>")
    case .function(let n):
      return .string("<function \(n)>")
    case .boundMethod(_, let n):
      return .string("<built-in method \(n)>")
    }
  }

  /// Python truthiness of an expression; undefined is an error, as with StrictUndefined.
  func truth(_ e: TemplateExpression) throws -> Bool {
    try value(try eval(e), at: e.offset).isTruthy
  }

  func eval(_ e: TemplateExpression) throws -> TemplateObject {
    switch e {
    case .literal(let v):
      return .value(v)
    case .name(let n, _):
      return try lookup(n)
    case .list(let items):
      return .value(.list(try items.map { try valueOfExpression($0) }))
    case .tuple(let items):
      return .value(.tuple(try items.map { try valueOfExpression($0) }))
    case .dict(let pairs):
      var d = OrderedDict()
      for (k, v) in pairs {
        let key = try valueOfExpression(k)
        d[dictKey(key)] = try valueOfExpression(v)
      }
      return .value(.dict(d))
    case .attribute(let base, let attr, let offset):
      return try getAttribute(try eval(base), attr, at: offset)
    case .item(let base, let index, let offset):
      return try getItem(try eval(base), try eval(index), at: offset)
    case .slice(let base, let start, let stop, let step, let offset):
      let b = try value(try eval(base), at: offset)
      return .value(
        try slice(
          b, start.map(valueOfExpression), stop.map(valueOfExpression),
          step.map(valueOfExpression), at: offset))
    case .call(let callee, let args, let offset):
      return try call(callee, args, at: offset)
    case .filter(let base, let n, let args, let offset):
      return try applyFilter(n, to: try eval(base), args, at: offset)
    case .test(let base, let n, let args, let negated, let offset):
      let r = try applyTest(n, to: try eval(base), args, at: offset)
      return .value(.bool(negated ? !r : r))
    case .negate(let inner, let offset):
      let v = try valueOfExpression(inner)
      switch v {
      case .int(let i):
        guard i != Int.min else { throw error(.value("integer overflow"), at: offset) }
        return .value(.int(-i))
      case .double(let d): return .value(.double(-d))
      case .bool(let b): return .value(.int(b ? -1 : 0))
      default: throw error(.type("bad operand type for unary -: '\(v.typeName)'"), at: offset)
      }
    case .plus(let inner, let offset):
      let v = try valueOfExpression(inner)
      switch v {
      case .int, .double: return .value(v)
      case .bool(let b): return .value(.int(b ? 1 : 0))
      default: throw error(.type("bad operand type for unary +: '\(v.typeName)'"), at: offset)
      }
    case .not(let inner):
      return .value(.bool(!(try truth(inner))))
    case .and(let a, let b):
      let left = try eval(a)
      guard try value(left, at: a.offset).isTruthy else { return left }
      return try eval(b)
    case .or(let a, let b):
      let left = try eval(a)
      if try value(left, at: a.offset).isTruthy { return left }
      return try eval(b)
    case .binary(let op, let a, let b, let offset):
      let l = try valueOfExpression(a)
      let r = try valueOfExpression(b)
      return .value(try TemplateOperators.binary(op, l, r, renderer: self, at: offset))
    case .compare(let first, let rest, let offset):
      var left = try valueOfExpression(first)
      for (op, e) in rest {
        let right = try valueOfExpression(e)
        guard try TemplateOperators.compare(op, left, right, renderer: self, at: offset) else {
          return .value(.bool(false))
        }
        left = right
      }
      return .value(.bool(true))
    case .conditional(let condition, let then, let orElse, let offset):
      if try truth(condition) { return try eval(then) }
      if let orElse { return try eval(orElse) }
      let line = TemplateLexer.position(of: offset, in: source).line
      return .lenientUndefined(
        "the inline if-expression on line \(line) evaluated to false"
          + " and no else section was defined.")
    case .concat(let items, _):
      var s = ""
      for item in items { s += try valueOfExpression(item).pythonString }
      return .value(.string(s))
    }
  }

  /// Dict keys are strings in `Value`; other literal keys keep their printed form.
  func dictKey(_ v: Value) -> String { v.pythonString }

  // MARK: Attributes and items

  private static let dictMethods: Set<String> = [
    "keys", "values", "items", "get", "copy", "update", "pop", "setdefault",
  ]

  func getAttribute(_ base: TemplateObject, _ attr: String, at offset: Int) throws
    -> TemplateObject
  {
    switch base {
    case .undefined, .lenientUndefined:
      // Ansible's undefined returns itself, so the first missing name is the one reported.
      return base
    case .loop(let loop):
      if let v = loop.attribute(attr) { return .value(v) }
      if attr == "cycle" || attr == "changed" { return .boundMethod(.null, "loop." + attr) }
      return .undefined("'LoopContext object' has no attribute '\(attr)'")
    case .namespace(let ns):
      if let v = ns.attributes[attr] { return .value(v) }
      return .undefined("'Namespace object' has no attribute '\(attr)'")
    case .module(let exports):
      if let v = exports[attr] { return v }
      return .undefined("'TemplateModule object' has no attribute '\(attr)'")
    case .value(let v):
      if case .dict(let d) = v {
        if TemplateRenderer.dictMethods.contains(attr) { return .boundMethod(v, attr) }
        if let x = d[attr] { return .value(x) }
      }
      if TemplateMethods.has(attr, on: v) { return .boundMethod(v, attr) }
      return .undefined("'\(Self.objectName(v))' has no attribute '\(attr)'")
    default:
      return .undefined("'\(base.typeName) object' has no attribute '\(attr)'")
    }
  }

  static func objectName(_ v: Value) -> String {
    switch v {
    case .null: return "None"
    default: return "\(v.typeName) object"
    }
  }

  func getItem(_ base: TemplateObject, _ index: TemplateObject, at offset: Int) throws
    -> TemplateObject
  {
    if base.isUndefined { return base }
    // Jinja2 indexes a list or string with an undefined key and gets undefined, which
    // `is defined` can test; a dict has to hash the key, which fails.
    if index.isUndefined {
      if case .value(.dict) = base { _ = try value(index, at: offset) }
      return index
    }
    let i = try value(index, at: offset)
    if case .value(let b) = base {
      switch (b, i) {
      case (.dict(let d), _):
        if let x = d[dictKey(i)] { return .value(x) }
      case (.list(let l), .int(let n)), (.tuple(let l), .int(let n)):
        let k = n < 0 ? n + l.count : n
        if k >= 0 && k < l.count { return .value(l[k]) }
        return .undefined("\(b.typeName) object has no element \(n)")
      case (.list(let l), .bool(let flag)), (.tuple(let l), .bool(let flag)):
        let k = flag ? 1 : 0
        if k < l.count { return .value(l[k]) }
      case (.string(let s), .int(let n)):
        let chars = Array(s)
        let k = n < 0 ? n + chars.count : n
        if k >= 0 && k < chars.count { return .value(.string(String(chars[k]))) }
        return .undefined("str object has no element \(n)")
      default: break
      }
      if case .string(let attr) = i { return try getAttribute(base, attr, at: offset) }
      return .undefined("\(Self.objectName(b)) has no element \(i.pythonRepr)")
    }
    if case .string(let attr) = i { return try getAttribute(base, attr, at: offset) }
    return .undefined("'\(base.typeName) object' has no element \(i.pythonRepr)")
  }

  func slice(_ base: Value, _ start: Value?, _ stop: Value?, _ step: Value?, at offset: Int)
    throws -> Value
  {
    func int(_ v: Value?) throws -> Int? {
      switch v {
      case nil, .null?: return nil
      case .int(let i)?: return i
      case .bool(let b)?: return b ? 1 : 0
      default:
        throw error(
          .type("slice indices must be integers or None or have an __index__ method"), at: offset)
      }
    }
    let stepValue = try int(step) ?? 1
    guard stepValue != 0 else { throw error(.value("slice step cannot be zero"), at: offset) }
    func indices(_ count: Int) throws -> [Int] {
      var lo = try int(start)
      var hi = try int(stop)
      if stepValue > 0 {
        lo = lo.map { $0 < 0 ? max($0 + count, 0) : min($0, count) } ?? 0
        hi = hi.map { $0 < 0 ? max($0 + count, 0) : min($0, count) } ?? count
        return Array(stride(from: lo ?? 0, to: hi ?? count, by: stepValue))
      }
      lo = lo.map { $0 < 0 ? max($0 + count, -1) : min($0, count - 1) } ?? (count - 1)
      hi = hi.map { $0 < 0 ? max($0 + count, -1) : min($0, count - 1) } ?? -1
      return Array(stride(from: lo ?? count - 1, to: hi ?? -1, by: stepValue))
    }
    switch base {
    case .list(let l): return .list(try indices(l.count).map { l[$0] })
    case .tuple(let l): return .tuple(try indices(l.count).map { l[$0] })
    case .string(let s):
      let chars = Array(s)
      return .string(String(try indices(chars.count).map { chars[$0] }))
    default:
      throw error(.type("'\(base.typeName)' object is not subscriptable"), at: offset)
    }
  }

  // MARK: Iteration

  /// The items of a value as a `for` loop sees them: a dict's keys, a string's characters.
  func iterate(_ v: Value, at offset: Int) throws -> [Value] {
    switch v {
    case .list(let l), .tuple(let l): return l
    case .dict(let d): return d.keys.map { .string($0) }
    case .string(let s): return s.map { .string(String($0)) }
    default: throw error(.type("'\(v.typeName)' object is not iterable"), at: offset)
    }
  }

  // MARK: Calls

  private func call(_ callee: TemplateExpression, _ args: TemplateArguments, at offset: Int)
    throws -> TemplateObject
  {
    let target = try eval(callee)
    switch target {
    case .macro(let m):
      return .value(try callMacro(m, args, at: offset))
    case .boundMethod(let receiver, let method):
      if method == "loop.changed", case .loop(let loop) = try lookup("loop") {
        let items = try args.positional.map { try valueOfExpression($0) }
        defer { loop.lastChanged = items }
        return .value(.bool(loop.lastChanged != items))
      }
      if method == "loop.cycle", case .loop(let loop) = try lookup("loop") {
        let items = try args.positional.map { try valueOfExpression($0) }
        guard !items.isEmpty else {
          throw error(.type("no items for cycling given"), at: offset)
        }
        return .value(items[loop.index0 % items.count])
      }
      let bound = try bindArguments(args, at: offset)
      return .value(
        try TemplateMethods.call(method, on: receiver, bound, renderer: self, at: offset))
    case .function(let n):
      return try callGlobal(n, args, at: offset)
    case .undefined(let message), .lenientUndefined(let message):
      throw error(.undefined(message), at: offset)
    default:
      throw error(.type("'\(target.typeName)' object is not callable"), at: offset)
    }
  }

  /// Evaluates call arguments for a filter, test, method or function.
  func bindArguments(_ args: TemplateArguments, at offset: Int) throws -> TemplateCallArguments {
    TemplateCallArguments(
      positional: try args.positional.map { try eval($0) },
      keywords: try args.keywords.map { ($0.0, try eval($0.1)) },
      offset: offset, renderer: self)
  }
}
