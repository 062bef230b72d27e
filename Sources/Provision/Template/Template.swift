import Inventory

/// A compiled Jinja2 template, rendered the way Ansible renders templates.
///
/// Compile once, render many times: the source is lexed and parsed in `init` only.
/// Ansible's settings apply: `trim_blocks` on, `lstrip_blocks` off, trailing newlines of the
/// source kept, `None` printed as the empty string, undefined variables an error.
///
/// ```swift
/// let t = try Template("Hello {{ name | default('world') }}!\n", name: "motd.j2")
/// let text = try t.render(DictionaryTemplateContext(["name": "web1"]))
/// ```
public struct Template: Sendable {
  /// What errors call the template, such as its file name.
  public let name: String
  /// The template text as given.
  public let source: String
  let nodes: [TemplateNode]
  /// Newlines at the end of the source, which Ansible puts back after rendering.
  private let trailingNewlines: Int

  /// Compiles a template as the `template` module reads it.
  ///
  /// - Throws: `TemplateError` for syntax errors, with the line and column in `source`.
  public init(_ source: String, name: String = "<template>") throws {
    try self.init(source, name: name, escapeBackslashes: false)
  }

  /// Compiles a template, choosing how backslashes in `{{ }}` strings are read.
  ///
  /// - Parameters:
  ///   - source: The template text.
  ///   - name: What errors call the template, such as its file name.
  ///   - escapeBackslashes: Ansible's setting for task arguments and variables: backslashes
  ///     in string literals inside `{{ }}` are kept as written, because YAML already
  ///     unescaped them once. The `template` module turns it off.
  /// - Throws: `TemplateError` for syntax errors, with the line and column in `source`.
  public init(_ source: String, name: String = "<template>", escapeBackslashes: Bool) throws {
    self.name = name
    self.source = source
    self.trailingNewlines = Template.countTrailingNewlines(source)
    // Jinja2 turns every line ending into "\n" and drops one trailing newline unless
    // keep_trailing_newline is set; Ansible restores the count afterwards, which is not always
    // the same thing, so do both as they do.
    var body = Template.normalizingNewlines(source)
    if body.hasSuffix("\n") { body.removeLast() }
    var lexer = TemplateLexer(body, name: name, rawVariableStrings: escapeBackslashes)
    let tokens = try lexer.tokenize()
    var parser = TemplateParser(tokens: tokens, source: body, name: name)
    self.nodes = try parser.parseTemplate()
  }

  /// Renders to text, as the `template` module writes a file.
  public func render(_ context: any TemplateContext) throws -> String {
    let renderer = TemplateRenderer(context: context, source: source, name: name)
    try renderer.renderRoot(nodes)
    var text = renderer.outputText()
    restoreTrailingNewlines(&text)
    return text
  }

  /// Renders with Ansible's type conversion for task arguments and variables.
  ///
  /// A result that looks like a list, a dict, `True` or `False` is read back as that value,
  /// as Ansible does with `literal_eval`; numbers stay text except when the template is a
  /// single variable holding a number (`"{{ port }}"`), which keeps its type.
  ///
  /// - Parameters:
  ///   - context: Where variables and lookups come from.
  ///   - native: Like Ansible's `jinja2_native`: a template whose whole output is one
  ///     `{{ expression }}` returns the expression's value with its type (`{{ 1 + 1 }}` is
  ///     the integer 2). Off by default, as in Ansible 2.17.
  /// - Returns: the value a task argument or variable gets.
  /// - Throws: `TemplateError` when rendering fails.
  public func renderValue(_ context: any TemplateContext, native: Bool = false) throws -> Value {
    if let single = Template.singleVariableName(source),
      let raw = try context.rawVariable(named: single)
    {
      switch raw {
      case .bool, .int, .double, .null: return raw
      default: break
      }
    }
    let renderer = TemplateRenderer(context: context, source: source, name: name)
    try renderer.renderRoot(nodes)
    if native, let only = renderer.singleOutput { return only }
    var text: String
    if let only = renderer.singleOutput, renderer.singleOutputIsText {
      text = TemplateRenderer.text(of: only)
      restoreTrailingNewlines(&text)
      return .string(text)
    }
    if let only = renderer.singleOutput {
      switch only {
      case .list, .dict, .bool: return only
      case .string(let s): text = s
      case .null: text = ""
      default: text = only.pythonString
      }
    } else {
      text = renderer.outputText()
    }
    if text.hasPrefix("{") || text.hasPrefix("[") || text == "True" || text == "False" {
      if let literal = PythonLiteral.parse(text) { return literal }
    }
    restoreTrailingNewlines(&text)
    return .string(text)
  }

  /// `\r\n` and `\r` become `\n`, as Jinja2's `newline_sequence` default does.
  static func normalizingNewlines(_ s: String) -> String {
    guard s.utf8.contains(UInt8(ascii: "\r")) else { return s }
    var out: [UInt8] = []
    out.reserveCapacity(s.utf8.count)
    var previousCR = false
    for b in s.utf8 {
      if b == UInt8(ascii: "\r") {
        out.append(UInt8(ascii: "\n"))
        previousCR = true
        continue
      }
      if !(b == UInt8(ascii: "\n") && previousCR) { out.append(b) }
      previousCR = false
    }
    return String(decoding: out, as: UTF8.self)
  }

  private func restoreTrailingNewlines(_ text: inout String) {
    let have = Template.countTrailingNewlines(text)
    if trailingNewlines > have {
      text += String(repeating: "\n", count: trailingNewlines - have)
    }
  }

  private static func countTrailingNewlines(_ s: String) -> Int {
    var n = 0
    for c in s.utf8.reversed() {
      if c == UInt8(ascii: "\n") {
        n += 1
      } else {
        break
      }
    }
    return n
  }

  /// The name in `{{ name }}` when that is the whole template, as Ansible's `SINGLE_VAR`,
  /// whose `$` also matches before one final newline: `"{{ n }}\n"` gives `n` itself.
  static func singleVariableName(_ s: String) -> String? {
    var u = Array(s.utf8)
    if u.last == UInt8(ascii: "\n") { u.removeLast() }
    guard u.count >= 4, u[0] == UInt8(ascii: "{"), u[1] == UInt8(ascii: "{"),
      u[u.count - 1] == UInt8(ascii: "}"), u[u.count - 2] == UInt8(ascii: "}")
    else { return nil }
    let inner = String(decoding: u[2..<(u.count - 2)], as: UTF8.self)
    let name = inner.trimmingSpaces()
    guard !name.isEmpty,
      name.utf8.allSatisfy({ TemplateLexer.isNameChar($0) && $0 < 0x80 })
    else { return nil }
    return name
  }

  /// Whether a string has template syntax in it, as Ansible's `is_possibly_template`.
  public static func isPossiblyTemplate(_ s: String) -> Bool {
    // A byte scan: this runs for every argument and variable of every task on every host.
    var afterBrace = false
    for b in s.utf8 {
      if afterBrace && (b == UInt8(ascii: "{") || b == UInt8(ascii: "%") || b == UInt8(ascii: "#")) { return true }
      afterBrace = b == UInt8(ascii: "{")
    }
    return false
  }

  /// Whether a value has template syntax anywhere inside it.
  public static func containsTemplate(_ value: Value) -> Bool {
    switch value {
    case .string(let s): return isPossiblyTemplate(s)
    case .list(let l): return l.contains(where: containsTemplate)
    case .dict(let d): return d.values.contains(where: containsTemplate)
    default: return false
    }
  }

  /// Templates a string as Ansible templates task arguments: text without template syntax
  /// comes back unchanged, anything else as `renderValue` returns it.
  public static func renderValue(
    _ source: String, context: any TemplateContext, native: Bool = false
  ) throws -> Value {
    guard isPossiblyTemplate(source) else { return .string(source) }
    return try Template(source, name: source, escapeBackslashes: true)
      .renderValue(context, native: native)
  }

  /// Templates every string inside a value, as Ansible templates a task's arguments.
  public static func renderValue(_ value: Value, context: any TemplateContext) throws -> Value {
    switch value {
    case .string(let s): return try renderValue(s, context: context)
    case .list(let l): return .list(try l.map { try renderValue($0, context: context) })
    case .dict(let d):
      var out = OrderedDict()
      for (k, v) in d { out[k] = try renderValue(v, context: context) }
      return .dict(out)
    default: return value
    }
  }

  /// Evaluates a bare expression such as `x | default(1) + 2` to its value.
  public static func evaluate(expression: String, context: any TemplateContext) throws -> Value {
    try CompiledExpression(expression).evaluate(context)
  }

  /// Evaluates a `when:` condition.
  ///
  /// A condition that itself contains `{{ }}` is templated first, as Ansible does (with a
  /// warning there); a boolean result is the answer, anything else is the expression.
  public static func evaluateCondition(_ when: String, context: any TemplateContext) throws -> Bool
  {
    var expression = when
    if isPossiblyTemplate(when) {
      switch try renderValue(when, context: context) {
      case .bool(let b): return b
      case .string(let s):
        if s.isEmpty { return false }
        expression = s
      case let other: expression = other.pythonString
      }
    }
    do {
      return try CompiledExpression(expression, name: when).isTrue(context)
    } catch var e as TemplateError {
      if case .undefined(let message) = e.kind {
        e.kind = .undefined("error while evaluating conditional (\(when)): \(message)")
      }
      throw e
    }
  }
}

/// A compiled bare expression, for conditions evaluated many times.
public struct CompiledExpression: Sendable {
  /// The expression text as given.
  public let source: String
  private let expression: TemplateExpression
  private let name: String

  /// Compiles an expression; `name` defaults to the expression itself, for errors.
  public init(_ source: String, name: String? = nil) throws {
    self.source = source
    self.name = name ?? source
    do {
      var lexer = TemplateLexer(CompiledExpression.prefix + source + " }}", name: self.name)
      var tokens = try lexer.tokenize()
      // Drop the braces added for the lexer; the offsets stay shifted, fixed in errors.
      tokens.removeFirst()
      tokens.remove(at: tokens.count - 2)
      var parser = TemplateParser(
        tokens: tokens, source: CompiledExpression.prefix + source, name: self.name)
      self.expression = try parser.parseStandaloneExpression()
    } catch let e as TemplateError {
      throw CompiledExpression.unshift(e)
    }
  }

  /// Expressions are lexed inside `{{ ` and ` }}`; the space keeps `-1` from reading as `{{-`.
  static let prefix = "{{ "

  /// Moves an error's column back over the added prefix.
  static func unshift(_ e: TemplateError) -> TemplateError {
    var e = e
    if e.line == 1 { e.column = max(1, e.column - prefix.count) }
    return e
  }

  /// The expression's value.
  public func evaluate(_ context: any TemplateContext) throws -> Value {
    let renderer = TemplateRenderer(
      context: context, source: CompiledExpression.prefix + source, name: name)
    do {
      // An inline `if` without `else` prints as nothing, but as a value it is missing.
      if case .lenientUndefined(let message) = try renderer.eval(expression) {
        throw renderer.error(.undefined(message), at: expression.offset)
      }
      return try renderer.valueOfExpression(expression)
    } catch let e as TemplateError {
      throw CompiledExpression.unshift(e)
    }
  }

  /// Whether the expression is true in Python's sense.
  public func isTrue(_ context: any TemplateContext) throws -> Bool {
    let renderer = TemplateRenderer(
      context: context, source: CompiledExpression.prefix + source, name: name)
    do {
      return try renderer.truth(expression)
    } catch let e as TemplateError {
      throw CompiledExpression.unshift(e)
    }
  }
}

extension String {
  func trimmingSpaces() -> String {
    var s = Substring(self)
    while let f = s.first, f == " " || f == "\t" || f == "\n" || f == "\r" { s.removeFirst() }
    while let l = s.last, l == " " || l == "\t" || l == "\n" || l == "\r" { s.removeLast() }
    return String(s)
  }
}
