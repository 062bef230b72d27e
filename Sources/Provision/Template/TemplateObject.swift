import Inventory

/// A value while a template runs: data, an undefined name that fails when used, or one of
/// the callables and helpers that only live inside a template.
enum TemplateObject {
  case value(Value)
  /// The message says which name was missing, as `'foo' is undefined`.
  case undefined(String)
  /// Jinja2's plain `Undefined`, from an inline `if` without `else`: prints as nothing.
  case lenientUndefined(String)
  case macro(TemplateMacroClosure)
  case loop(TemplateLoop)
  case namespace(TemplateNamespace)
  /// A global function: `range`, `dict`, `lookup`, `query`, `namespace`.
  case function(String)
  /// What `{% import 'x' as m %}` binds: the template's macros and top-level variables.
  case module([String: TemplateObject])
  /// `loop.cycle` and friends, looked up without being called.
  case boundMethod(Value, String)

  var isUndefined: Bool {
    switch self {
    case .undefined, .lenientUndefined: return true
    default: return false
    }
  }

  /// The Python type name, for messages such as `'int object' has no attribute 'x'`.
  var typeName: String {
    switch self {
    case .value(let v): return v.typeName
    case .undefined: return "AnsibleUndefined"
    case .lenientUndefined: return "Undefined"
    case .macro: return "Macro"
    case .loop: return "LoopContext"
    case .namespace: return "Namespace"
    case .module: return "TemplateModule"
    case .function: return "function"
    case .boundMethod: return "builtin_function_or_method"
    }
  }
}

/// A macro together with the `caller` it was invoked with from a `{% call %}` block.
final class TemplateMacroClosure {
  let macro: TemplateMacro
  let caller: TemplateMacroClosure?
  /// Names visible where the macro was defined, so it can call sibling macros.
  let definitionScope: [String: TemplateObject]

  init(
    macro: TemplateMacro, caller: TemplateMacroClosure?,
    definitionScope: [String: TemplateObject]
  ) {
    self.macro = macro
    self.caller = caller
    self.definitionScope = definitionScope
  }
}

/// The `loop` variable of a `for` block.
final class TemplateLoop {
  let items: [Value]
  var index0 = 0
  let depth: Int
  /// What `loop.changed()` saw last.
  var lastChanged: [Value]?

  init(items: [Value], depth: Int) {
    self.items = items
    self.depth = depth
  }

  /// `loop.index`, `loop.first` and the other attributes Jinja2 offers.
  func attribute(_ name: String) -> Value? {
    let length = items.count
    switch name {
    case "index": return .int(index0 + 1)
    case "index0": return .int(index0)
    case "revindex": return .int(length - index0)
    case "revindex0": return .int(length - index0 - 1)
    case "first": return .bool(index0 == 0)
    case "last": return .bool(index0 == length - 1)
    case "length": return .int(length)
    case "depth": return .int(depth)
    case "depth0": return .int(depth - 1)
    case "previtem": return index0 > 0 ? Optional.some(items[index0 - 1]) : Optional.none
    case "nextitem": return index0 + 1 < length ? Optional.some(items[index0 + 1]) : Optional.none
    default: return nil
    }
  }
}

/// The mutable object `namespace()` makes, the one way to carry a value out of a loop.
final class TemplateNamespace {
  var attributes: OrderedDict
  init(_ attributes: OrderedDict) { self.attributes = attributes }
}
