import Inventory

/// Runs compiled template statements against a context, for one render.
///
/// Scopes follow Jinja2: a `for` body and a macro body have their own, so a `set` inside a
/// loop does not change the variable outside it; `if` shares its parent's scope.
final class TemplateRenderer {
  let context: any TemplateContext
  let source: [UInt8]
  let name: String
  var scopes: [[String: TemplateObject]] = [[:]]
  private var output = ""
  private var chunkCount = 0
  private var firstChunk: Value?
  private var firstChunkIsText = false
  var loopDepth = 0
  var callDepth = 0
  var includeDepth = 0

  init(context: any TemplateContext, source: String, name: String) {
    self.context = context
    self.source = Array(source.utf8)
    self.name = name
  }

  // MARK: Errors

  func error(_ kind: TemplateError.Kind, at offset: Int) -> TemplateError {
    let (line, column) = TemplateLexer.position(of: max(offset, 0), in: source)
    return TemplateError(kind, templateName: name, line: line, column: column)
  }

  // MARK: Output

  /// The only output chunk, when the template produced exactly one from `{{ }}`.
  var singleOutput: Value? { chunkCount == 1 ? firstChunk : nil }

  /// Whether that single chunk came from a filter whose result Ansible keeps as text
  /// (its `STRING_TYPE_FILTERS`), so it is not read back as a list or dict.
  var singleOutputIsText: Bool { chunkCount == 1 && firstChunkIsText }

  static let stringTypeFilters: Set<String> = [
    "string", "to_json", "to_nice_json", "to_yaml", "to_nice_yaml", "ppretty", "json",
  ]

  func outputText() -> String {
    if chunkCount == 1, let first = firstChunk { return Self.text(of: first) }
    return output
  }

  /// What `{{ x }}` prints: Python's `str`, with `None` as the empty string as Ansible does.
  static func text(of value: Value) -> String {
    if case .null = value { return "" }
    return value.pythonString
  }

  private func emit(_ value: Value, isText: Bool = false) {
    chunkCount += 1
    if chunkCount == 1 {
      firstChunk = value
      firstChunkIsText = isText
      return
    }
    if chunkCount == 2, let first = firstChunk {
      output = Self.text(of: first)
      firstChunk = nil
    }
    output += Self.text(of: value)
  }

  /// Runs `body` with a fresh output buffer and returns what it printed.
  func capture(_ body: () throws -> Void) rethrows -> String {
    let saved = (output, chunkCount, firstChunk, firstChunkIsText)
    output = ""
    chunkCount = 0
    firstChunk = nil
    defer { (output, chunkCount, firstChunk, firstChunkIsText) = saved }
    try body()
    return outputText()
  }

  // MARK: Scopes

  func lookup(_ name: String) throws -> TemplateObject {
    for scope in scopes.reversed() {
      if let v = scope[name] { return v }
    }
    if let v = try context.variable(named: name) { return .value(v) }
    if TemplateRenderer.globalFunctions.contains(name) { return .function(name) }
    return .undefined("'\(name)' is undefined")
  }

  func assign(_ name: String, _ value: TemplateObject) {
    scopes[scopes.count - 1][name] = value
  }

  static let globalFunctions: Set<String> = [
    "range", "dict", "lookup", "query", "q", "namespace", "zip",
  ]

  // MARK: Statements

  func renderRoot(_ nodes: [TemplateNode]) throws {
    try run(nodes)
  }

  func run(_ nodes: [TemplateNode]) throws {
    for node in nodes { try run(node) }
  }

  private func run(_ node: TemplateNode) throws {
    switch node {
    case .text(let s):
      emit(.string(s))
    case .output(let e, let offset):
      let v = try value(try eval(e), at: e.offset >= 0 ? e.offset : offset)
      var isText = false
      if case .filter(_, let f, _, _) = e { isText = Self.stringTypeFilters.contains(f) }
      emit(v, isText: isText)
    case .ifChain(let branches, let orElse):
      for (condition, body) in branches where try truth(condition) {
        return try run(body)
      }
      try run(orElse)
    case .forLoop(let target, let iterable, let condition, let body, let orElse, let offset):
      try runFor(target, iterable, condition, body, orElse, offset)
    case .set(let target, let e, let offset):
      let v = try eval(e)
      try bind(target, v, at: offset)
    case .setBlock(let n, let body, let filters):
      var text = TemplateObject.value(.string(try capture { try run(body) }))
      for f in filters {
        text = try applyFilter(f.name, to: text, f.arguments, at: f.offset)
      }
      assign(n, text)
    case .macro(let m):
      let closure = TemplateMacroClosure(macro: m, caller: nil, definitionScope: [:])
      assign(m.name, .macro(closure))
    case .callBlock(let call, let callerMacro, let offset):
      guard case .call(let callee, let args, _) = call else { return }
      let caller = TemplateMacroClosure(
        macro: callerMacro, caller: nil, definitionScope: scopes.last ?? [:])
      let target = try eval(callee)
      guard case .macro(let m) = target else {
        throw error(.type("'\(target.typeName)' object is not callable"), at: offset)
      }
      let withCaller = TemplateMacroClosure(
        macro: m.macro, caller: caller, definitionScope: m.definitionScope)
      let result = try callMacro(withCaller, args, at: offset)
      emit(result)
    case .filterBlock(let filters, let body):
      var text = TemplateObject.value(.string(try capture { try run(body) }))
      for f in filters {
        text = try applyFilter(f.name, to: text, f.arguments, at: f.offset)
      }
      emit(try value(text, at: filters.first?.offset ?? 0))
    case .with(let assignments, let body):
      var scope: [String: TemplateObject] = [:]
      for (n, e) in assignments { scope[n] = try eval(e) }
      scopes.append(scope)
      defer { scopes.removeLast() }
      try run(body)
    case .include(let e, let ignoreMissing, let offset):
      guard let template = try loadTemplate(e, ignoreMissing: ignoreMissing, at: offset) else {
        return
      }
      // The included template sees every name visible here, as Jinja2 passes the context.
      let sub = TemplateRenderer(context: context, source: template.source, name: template.name)
      sub.scopes = [scopes.reduce(into: [:]) { $0.merge($1) { _, new in new } }]
      sub.includeDepth = includeDepth + 1
      let text = try sub.capture { try sub.run(template.nodes) }
      emit(.string(text))
    case .importTemplate(let e, let alias, let names, let offset):
      guard let template = try loadTemplate(e, ignoreMissing: false, at: offset) else { return }
      let sub = TemplateRenderer(context: context, source: template.source, name: template.name)
      sub.includeDepth = includeDepth + 1
      _ = try sub.capture { try sub.run(template.nodes) }
      var exports = sub.scopes[0]
      // Imported macros call each other through the module's own names.
      for (k, v) in exports {
        if case .macro(let m) = v {
          exports[k] = .macro(
            TemplateMacroClosure(macro: m.macro, caller: nil, definitionScope: sub.scopes[0]))
        }
      }
      if let alias { assign(alias, .module(exports)) }
      for (n, a) in names {
        assign(
          a, exports[n] ?? .undefined("the template '\(template.name)' does not export '\(n)'"))
      }
    }
  }

  /// Compiles the template an `include` or `import` names, or nil when it is missing and
  /// that is allowed.
  private func loadTemplate(_ e: TemplateExpression, ignoreMissing: Bool, at offset: Int) throws
    -> Template?
  {
    guard includeDepth < 32 else {
      throw error(.recursion("templates include each other too deeply"), at: offset)
    }
    let target = try valueOfExpression(e)
    for candidate in target.listValue ?? [target] {
      let n = candidate.pythonString
      if let source = try context.templateSource(named: n) {
        return try Template(source, name: n)
      }
    }
    if ignoreMissing { return nil }
    throw error(.templateNotFound(target.pythonString), at: offset)
  }

  private func bind(_ target: TemplateTarget, _ v: TemplateObject, at offset: Int) throws {
    switch target {
    case .name(let n):
      assign(n, v)
    case .tuple(let names):
      let items = try iterate(try value(v, at: offset), at: offset)
      guard items.count == names.count else {
        let word = items.count > names.count ? "too many" : "not enough"
        throw error(
          .value("\(word) values to unpack (expected \(names.count), got \(items.count))"),
          at: offset)
      }
      for (n, item) in zip(names, items) { assign(n, .value(item)) }
    case .namespaceAttribute(let ns, let attr):
      guard case .namespace(let namespace) = try lookup(ns) else {
        throw error(.type("cannot assign attribute on non-namespace object"), at: offset)
      }
      namespace.attributes[attr] = try value(v, at: offset)
    }
  }

  private func runFor(
    _ target: TemplateTarget, _ iterable: TemplateExpression, _ condition: TemplateExpression?,
    _ body: [TemplateNode], _ orElse: [TemplateNode], _ offset: Int
  ) throws {
    let seq = try value(try eval(iterable), at: iterable.offset >= 0 ? iterable.offset : offset)
    var items = try iterate(seq, at: offset)
    scopes.append([:])
    defer { scopes.removeLast() }
    if let condition {
      // The loop filter runs before `loop` exists, so loop.length counts only kept items.
      items = try items.filter { item in
        try bind(target, .value(item), at: offset)
        return try truth(condition)
      }
    }
    if items.isEmpty {
      scopes[scopes.count - 1] = [:]
      try run(orElse)
      return
    }
    loopDepth += 1
    defer { loopDepth -= 1 }
    let loop = TemplateLoop(items: items, depth: loopDepth)
    for (i, item) in items.enumerated() {
      loop.index0 = i
      scopes[scopes.count - 1] = ["loop": .loop(loop)]
      try bind(target, .value(item), at: offset)
      try run(body)
    }
  }

  /// Calls a macro with arguments bound to its parameters, and returns what it printed.
  func callMacro(_ closure: TemplateMacroClosure, _ args: TemplateArguments, at offset: Int)
    throws -> Value
  {
    let m = closure.macro
    var scope = closure.definitionScope
    var positional = try args.positional.map { try eval($0) }
    var keywords: [String: TemplateObject] = [:]
    for (k, e) in args.keywords { keywords[k] = try eval(e) }
    var varargs: [Value] = []
    for (i, (param, defaultValue)) in m.parameters.enumerated() {
      if i < positional.count {
        scope[param] = positional[i]
      } else if let kw = keywords.removeValue(forKey: param) {
        scope[param] = kw
      } else if let defaultValue {
        scope[param] = try eval(defaultValue)
      } else {
        scope[param] = .undefined("parameter '\(param)' was not provided")
      }
    }
    if positional.count > m.parameters.count && !m.takesVarargs {
      throw error(
        .type("macro '\(m.name)' takes not more than \(m.parameters.count) argument(s)"),
        at: offset)
    }
    if let extra = keywords.keys.sorted().first, !m.takesKwargs {
      throw error(.type("macro '\(m.name)' takes no keyword argument '\(extra)'"), at: offset)
    }
    if positional.count > m.parameters.count {
      varargs = try positional[m.parameters.count...].map { try value($0, at: offset) }
      positional.removeLast(positional.count - m.parameters.count)
    }
    var kwargs = OrderedDict()
    for (k, v) in keywords { kwargs[k] = try value(v, at: offset) }
    scope["varargs"] = .value(.tuple(varargs))
    scope["kwargs"] = .value(.dict(kwargs))
    if let caller = closure.caller { scope["caller"] = .macro(caller) }
    guard callDepth < 64 else {
      throw error(.recursion("macro '\(m.name)' calls itself too deeply"), at: offset)
    }
    callDepth += 1
    let savedScopes = scopes
    scopes = [scopes[0], scope]
    defer {
      scopes = savedScopes
      callDepth -= 1
    }
    let text = try capture { try run(m.body) }
    return .string(text)
  }
}
