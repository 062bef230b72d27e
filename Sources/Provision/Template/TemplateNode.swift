import Inventory

/// Arguments of a call, filter or test: positional first, then `name=value` pairs.
struct TemplateArguments: Sendable {
  var positional: [TemplateExpression] = []
  var keywords: [(String, TemplateExpression)] = []
  var isEmpty: Bool { positional.isEmpty && keywords.isEmpty }
}

/// An expression of the template language, with the byte offset it starts at.
indirect enum TemplateExpression: Sendable {
  case literal(Value)
  case name(String, Int)
  case list([TemplateExpression])
  case tuple([TemplateExpression])
  case dict([(TemplateExpression, TemplateExpression)])
  /// `a.b`: attribute first, then item, as Jinja2's `getattr`.
  case attribute(TemplateExpression, String, Int)
  /// `a[b]`: item first, then attribute, as Jinja2's `getitem`.
  case item(TemplateExpression, TemplateExpression, Int)
  case slice(TemplateExpression, TemplateExpression?, TemplateExpression?, TemplateExpression?, Int)
  case call(TemplateExpression, TemplateArguments, Int)
  case filter(TemplateExpression, String, TemplateArguments, Int)
  case test(TemplateExpression, String, TemplateArguments, negated: Bool, Int)
  case negate(TemplateExpression, Int)
  case plus(TemplateExpression, Int)
  case not(TemplateExpression)
  case binary(String, TemplateExpression, TemplateExpression, Int)
  case and(TemplateExpression, TemplateExpression)
  case or(TemplateExpression, TemplateExpression)
  case compare(TemplateExpression, [(String, TemplateExpression)], Int)
  case conditional(TemplateExpression, TemplateExpression, TemplateExpression?, Int)
  case concat([TemplateExpression], Int)

  /// Where the expression starts, for error messages.
  var offset: Int {
    switch self {
    case .literal, .list, .tuple, .dict, .not, .and, .or: return -1
    case .name(_, let o), .attribute(_, _, let o), .item(_, _, let o), .slice(_, _, _, _, let o),
      .call(_, _, let o), .filter(_, _, _, let o), .test(_, _, _, _, let o), .negate(_, let o),
      .plus(_, let o), .binary(_, _, _, let o), .compare(_, _, let o),
      .conditional(_, _, _, let o), .concat(_, let o):
      return o
    }
  }
}

/// A filter applied by `{% set x | f %}` or `{% filter f %}`.
struct TemplateFilterCall: Sendable {
  var name: String
  var arguments: TemplateArguments
  var offset: Int
}

/// Where `{% set %}` or a `for` loop stores a value: a name, a tuple, or `ns.attr`.
enum TemplateTarget: Sendable {
  case name(String)
  case tuple([String])
  case namespaceAttribute(String, String)
}

/// A macro definition: its parameters with defaults, and its body.
final class TemplateMacro: Sendable {
  let name: String
  let parameters: [(String, TemplateExpression?)]
  let body: [TemplateNode]
  /// Jinja2 accepts extra positional or keyword arguments only when the body reads
  /// `varargs` or `kwargs`.
  let takesVarargs: Bool
  let takesKwargs: Bool

  init(name: String, parameters: [(String, TemplateExpression?)], body: [TemplateNode]) {
    self.name = name
    self.parameters = parameters
    self.body = body
    self.takesVarargs = body.contains { $0.mentions("varargs") }
    self.takesKwargs = body.contains { $0.mentions("kwargs") }
  }
}

/// A statement of a compiled template.
indirect enum TemplateNode: Sendable {
  case text(String)
  case output(TemplateExpression, Int)
  case ifChain([(TemplateExpression, [TemplateNode])], orElse: [TemplateNode])
  case forLoop(
    target: TemplateTarget, iterable: TemplateExpression, condition: TemplateExpression?,
    body: [TemplateNode], orElse: [TemplateNode], offset: Int)
  case set(TemplateTarget, TemplateExpression, Int)
  case setBlock(String, [TemplateNode], [TemplateFilterCall])
  case macro(TemplateMacro)
  case callBlock(TemplateExpression, TemplateMacro, Int)
  case filterBlock([TemplateFilterCall], [TemplateNode])
  case with([(String, TemplateExpression)], [TemplateNode])
  /// `{% include name [ignore missing] %}`: renders another template here.
  case include(TemplateExpression, ignoreMissing: Bool, offset: Int)
  /// `{% import name as alias %}` and `{% from name import a, b as c %}`.
  case importTemplate(TemplateExpression, alias: String?, names: [(String, String)], offset: Int)
}

extension TemplateArguments {
  func mentions(_ name: String) -> Bool {
    positional.contains { $0.mentions(name) } || keywords.contains { $0.1.mentions(name) }
  }
}

extension TemplateExpression {
  /// Whether the expression reads the variable `name` anywhere inside it.
  func mentions(_ name: String) -> Bool {
    switch self {
    case .literal: return false
    case .name(let n, _): return n == name
    case .list(let items), .tuple(let items), .concat(let items, _):
      return items.contains { $0.mentions(name) }
    case .dict(let pairs): return pairs.contains { $0.0.mentions(name) || $0.1.mentions(name) }
    case .attribute(let e, _, _), .negate(let e, _), .plus(let e, _), .not(let e):
      return e.mentions(name)
    case .item(let a, let b, _), .binary(_, let a, let b, _), .and(let a, let b),
      .or(let a, let b):
      return a.mentions(name) || b.mentions(name)
    case .slice(let e, let a, let b, let c, _):
      return e.mentions(name) || [a, b, c].contains { $0?.mentions(name) ?? false }
    case .call(let e, let args, _), .filter(let e, _, let args, _),
      .test(let e, _, let args, _, _):
      return e.mentions(name) || args.mentions(name)
    case .compare(let e, let rest, _):
      return e.mentions(name) || rest.contains { $0.1.mentions(name) }
    case .conditional(let a, let b, let c, _):
      return a.mentions(name) || b.mentions(name) || (c?.mentions(name) ?? false)
    }
  }
}

extension TemplateNode {
  /// Whether the statement reads the variable `name`, outside nested macro definitions.
  func mentions(_ name: String) -> Bool {
    func any(_ nodes: [TemplateNode]) -> Bool { nodes.contains { $0.mentions(name) } }
    func filters(_ fs: [TemplateFilterCall]) -> Bool { fs.contains { $0.arguments.mentions(name) } }
    switch self {
    case .text, .macro: return false
    case .output(let e, _), .set(_, let e, _): return e.mentions(name)
    case .ifChain(let branches, let orElse):
      return branches.contains { $0.0.mentions(name) || any($0.1) } || any(orElse)
    case .forLoop(_, let iterable, let condition, let body, let orElse, _):
      return iterable.mentions(name) || (condition?.mentions(name) ?? false) || any(body)
        || any(orElse)
    case .setBlock(_, let body, let fs), .filterBlock(let fs, let body):
      return any(body) || filters(fs)
    case .callBlock(let e, let caller, _): return e.mentions(name) || any(caller.body)
    case .with(let assignments, let body):
      return assignments.contains { $0.1.mentions(name) } || any(body)
    case .include(let e, _, _), .importTemplate(let e, _, _, _): return e.mentions(name)
    }
  }
}
