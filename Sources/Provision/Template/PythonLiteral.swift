import Inventory

/// Python's `ast.literal_eval` for the text Ansible reads back after templating: lists,
/// dicts, tuples, strings, numbers, `True`/`False`/`None` and JSON's `true`/`false`/`null`.
enum PythonLiteral {
  /// The value the text spells, or `nil` when it is not a literal.
  static func parse(_ text: String) -> Value? {
    var lexer = TemplateLexer("{{ " + text + " }}", name: "literal")
    guard var tokens = try? lexer.tokenize(), tokens.count >= 3 else { return nil }
    tokens.removeFirst()
    tokens.remove(at: tokens.count - 2)
    // JSON's null is not a Jinja2 name, but Ansible accepts it here.
    // Lower-case none is a Jinja2 literal but not a Python or JSON one.
    if tokens.contains(where: { $0.kind == .name("none") }) { return nil }
    tokens = tokens.map { t in
      t.kind == .name("null") ? TemplateToken(kind: .name("None"), offset: t.offset) : t
    }
    var parser = TemplateParser(tokens: tokens, source: text, name: "literal")
    guard let e = try? parser.parseStandaloneExpression() else { return nil }
    return literal(e)
  }

  private static func literal(_ e: TemplateExpression) -> Value? {
    switch e {
    case .literal(let v): return v
    case .list(let items), .tuple(let items):
      var out: [Value] = []
      for item in items {
        guard let v = literal(item) else { return nil }
        out.append(v)
      }
      if case .tuple = e { return .tuple(out) }
      return .list(out)
    case .dict(let pairs):
      var out = OrderedDict()
      for (k, v) in pairs {
        guard let key = literal(k), let value = literal(v) else { return nil }
        out[key.pythonString] = value
      }
      return .dict(out)
    case .negate(let inner, _):
      switch literal(inner) {
      case .int(let i)?: return .int(-i)
      case .double(let d)?: return .double(-d)
      default: return nil
      }
    case .plus(let inner, _):
      switch literal(inner) {
      case .int(let i)?: return .int(i)
      case .double(let d)?: return .double(d)
      default: return nil
      }
    default: return nil
    }
  }
}
