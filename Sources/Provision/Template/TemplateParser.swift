import Inventory

/// Builds statements and expressions from tokens with Jinja2's grammar and precedence.
///
/// From loosest to tightest: `x if c else y`, `or`, `and`, `not`, comparisons and `in`,
/// `+ -`, `~`, `* / // %`, `**`, unary `- +`, then filters `|` and tests `is`, which apply
/// to the unary expression before them, then `.attr`, `[item]` and calls.
struct TemplateParser {
  private let tokens: [TemplateToken]
  private var index = 0
  private let source: [UInt8]
  private let name: String
  /// Offsets of the block tags being parsed, so a missing `end` tag points at its opener.
  private var openBlocks: [Int] = []
  /// How deeply expressions nest; bounded so hostile input cannot exhaust the stack.
  private var depth = 0
  private static let maximumDepth = 100

  init(tokens: [TemplateToken], source: String, name: String) {
    self.tokens = tokens
    self.source = Array(source.utf8)
    self.name = name
  }

  // MARK: Tokens

  private var current: TemplateToken { tokens[index] }
  private var kind: TemplateToken.Kind { tokens[index].kind }

  private func peek(_ n: Int = 1) -> TemplateToken.Kind {
    index + n < tokens.count ? tokens[index + n].kind : .eof
  }

  private mutating func advance() -> TemplateToken {
    let t = tokens[index]
    if index < tokens.count - 1 { index += 1 }
    return t
  }

  func error(_ kind: TemplateError.Kind, at offset: Int) -> TemplateError {
    let (line, column) = TemplateLexer.position(of: max(offset, 0), in: source)
    return TemplateError(kind, templateName: name, line: line, column: column)
  }

  private static func describe(_ kind: TemplateToken.Kind) -> String {
    switch kind {
    case .data: return "template data"
    case .variableBegin: return "'{{'"
    case .variableEnd: return "end of print statement"
    case .blockBegin: return "'{%'"
    case .blockEnd: return "end of statement block"
    case .name(let n): return "'\(n)'"
    case .string: return "string"
    case .int, .float: return "number"
    case .op(let o): return "'\(o)'"
    case .eof: return "end of template"
    }
  }

  private func unexpected(expected: String) -> TemplateError {
    let got = TemplateParser.describe(kind)
    if kind == .eof { return error(.unclosed(expected), at: current.offset) }
    return error(.syntax("expected \(expected), got \(got)"), at: current.offset)
  }

  private func isOp(_ op: String) -> Bool { kind == .op(op) }
  private func isName(_ n: String) -> Bool { kind == .name(n) }

  private mutating func expectOp(_ op: String) throws {
    guard isOp(op) else { throw unexpected(expected: "'\(op)'") }
    _ = advance()
  }

  private mutating func expectName() throws -> String {
    guard case .name(let n) = kind else { throw unexpected(expected: "a name") }
    _ = advance()
    return n
  }

  private mutating func expectBlockEnd() throws {
    guard kind == .blockEnd else { throw unexpected(expected: "end of statement block") }
    _ = advance()
  }

  // MARK: Statements

  /// Parses a whole template.
  mutating func parseTemplate() throws -> [TemplateNode] {
    let (body, end) = try parseBody(until: [])
    if let end { throw error(.syntax("unexpected '\(end)'"), at: current.offset) }
    return body
  }

  /// Parses an expression only, as a `when:` condition or `evaluate(expression:)`.
  mutating func parseStandaloneExpression() throws -> TemplateExpression {
    let e = try parseTupleExpression()
    guard kind == .eof else {
      throw error(
        .syntax("unexpected \(TemplateParser.describe(kind)) after expression"),
        at: current.offset)
    }
    return e
  }

  /// Parses statements until a block tag named in `terminators`; returns that tag's name with
  /// the parser positioned after it (the caller reads the rest of the tag).
  private mutating func parseBody(until terminators: Set<String>) throws -> (
    [TemplateNode], String?
  ) {
    var nodes: [TemplateNode] = []
    while true {
      switch kind {
      case .eof:
        if let first = terminators.sorted().first(where: { $0.hasPrefix("end") }) {
          throw error(.missingEnd(first), at: openBlocks.last ?? current.offset)
        }
        return (nodes, nil)
      case .data(let text):
        nodes.append(.text(text))
        _ = advance()
      case .variableBegin:
        let start = advance().offset
        let e = try parseTupleExpression()
        guard kind == .variableEnd else { throw unexpected(expected: "end of print statement") }
        _ = advance()
        nodes.append(.output(e, start))
      case .blockBegin:
        let start = advance().offset
        guard case .name(let keyword) = kind else { throw unexpected(expected: "a statement") }
        if terminators.contains(keyword) {
          _ = advance()
          return (nodes, keyword)
        }
        nodes.append(try parseStatement(keyword, at: start))
      default:
        throw error(.syntax("unexpected \(TemplateParser.describe(kind))"), at: current.offset)
      }
    }
  }

  private mutating func parseStatement(_ keyword: String, at start: Int) throws -> TemplateNode {
    _ = advance()
    openBlocks.append(start)
    defer { openBlocks.removeLast() }
    switch keyword {
    case "if": return try parseIf()
    case "for": return try parseFor(at: start)
    case "set": return try parseSet(at: start)
    case "macro": return try parseMacro()
    case "call": return try parseCallBlock(at: start)
    case "filter":
      let filters = try parseFilterChain()
      try expectBlockEnd()
      let (body, _) = try parseBody(until: ["endfilter"])
      try expectBlockEnd()
      return .filterBlock(filters, body)
    case "include":
      let e = try parseExpression()
      var ignoreMissing = false
      if isName("ignore") && peek() == .name("missing") {
        _ = advance()
        _ = advance()
        ignoreMissing = true
      }
      try skipContextModifier()
      try expectBlockEnd()
      return .include(e, ignoreMissing: ignoreMissing, offset: start)
    case "import":
      let e = try parseExpression()
      guard isName("as") else { throw unexpected(expected: "'as'") }
      _ = advance()
      let alias = try expectName()
      try skipContextModifier()
      try expectBlockEnd()
      return .importTemplate(e, alias: alias, names: [], offset: start)
    case "from":
      let e = try parseExpression()
      guard isName("import") else { throw unexpected(expected: "'import'") }
      _ = advance()
      var names: [(String, String)] = []
      repeat {
        if !names.isEmpty { _ = advance() }
        let n = try expectName()
        var alias = n
        if isName("as") {
          _ = advance()
          alias = try expectName()
        }
        names.append((n, alias))
      } while isOp(",")
      try skipContextModifier()
      try expectBlockEnd()
      return .importTemplate(e, alias: nil, names: names, offset: start)
    case "with":
      var assignments: [(String, TemplateExpression)] = []
      while kind != .blockEnd {
        if !assignments.isEmpty { try expectOp(",") }
        let n = try expectName()
        try expectOp("=")
        assignments.append((n, try parseExpression()))
      }
      try expectBlockEnd()
      let (body, _) = try parseBody(until: ["endwith"])
      try expectBlockEnd()
      return .with(assignments, body)
    default:
      throw error(
        .syntax("encountered unknown tag '\(keyword)'"), at: tokens[index - 1].offset)
    }
  }

  /// `with context` and `without context` are accepted; the context is always shared.
  private mutating func skipContextModifier() throws {
    guard isName("with") || isName("without") else { return }
    _ = advance()
    guard isName("context") else { throw unexpected(expected: "'context'") }
    _ = advance()
  }

  private mutating func parseIf() throws -> TemplateNode {
    var branches: [(TemplateExpression, [TemplateNode])] = []
    var condition = try parseTupleExpression()
    while true {
      try expectBlockEnd()
      let (body, end) = try parseBody(until: ["elif", "else", "endif"])
      branches.append((condition, body))
      switch end {
      case "elif":
        condition = try parseTupleExpression()
      case "else":
        try expectBlockEnd()
        let (elseBody, _) = try parseBody(until: ["endif"])
        try expectBlockEnd()
        return .ifChain(branches, orElse: elseBody)
      default:
        try expectBlockEnd()
        return .ifChain(branches, orElse: [])
      }
    }
  }

  private mutating func parseTarget() throws -> TemplateTarget {
    let first = try expectName()
    if isOp(".") {
      _ = advance()
      return .namespaceAttribute(first, try expectName())
    }
    guard isOp(",") else { return .name(first) }
    var names = [first]
    while isOp(",") {
      _ = advance()
      guard case .name = kind else { break }
      names.append(try expectName())
    }
    return .tuple(names)
  }

  private mutating func parseFor(at start: Int) throws -> TemplateNode {
    let target: TemplateTarget
    if isOp("(") {
      _ = advance()
      target = try parseTarget()
      try expectOp(")")
    } else {
      target = try parseTarget()
    }
    guard isName("in") else { throw unexpected(expected: "'in'") }
    _ = advance()
    let iterable = try parseTupleExpression(withCondition: false)
    var condition: TemplateExpression?
    if isName("if") {
      _ = advance()
      condition = try parseExpression()
    }
    if isName("recursive") {
      throw error(.syntax("recursive loops are not supported"), at: current.offset)
    }
    try expectBlockEnd()
    let (body, end) = try parseBody(until: ["else", "endfor"])
    var orElse: [TemplateNode] = []
    if end == "else" {
      try expectBlockEnd()
      (orElse, _) = try parseBody(until: ["endfor"])
    }
    try expectBlockEnd()
    return .forLoop(
      target: target, iterable: iterable, condition: condition, body: body, orElse: orElse,
      offset: start)
  }

  private mutating func parseSet(at start: Int) throws -> TemplateNode {
    let target = try parseTarget()
    if isOp("=") {
      _ = advance()
      let value = try parseTupleExpression()
      try expectBlockEnd()
      return .set(target, value, start)
    }
    guard case .name(let n) = target else { throw unexpected(expected: "'='") }
    let filters = isOp("|") ? try parseFilterChain(leadingBar: true) : []
    try expectBlockEnd()
    let (body, _) = try parseBody(until: ["endset"])
    try expectBlockEnd()
    return .setBlock(n, body, filters)
  }

  private mutating func parseFilterChain(leadingBar: Bool = false) throws -> [TemplateFilterCall] {
    var filters: [TemplateFilterCall] = []
    var first = !leadingBar
    while first || isOp("|") {
      if !first { _ = advance() }
      first = false
      let offset = current.offset
      var n = try expectName()
      while isOp(".") {
        _ = advance()
        n += "." + (try expectName())
      }
      let args = isOp("(") ? try parseCallArguments() : TemplateArguments()
      filters.append(TemplateFilterCall(name: n, arguments: args, offset: offset))
    }
    return filters
  }

  private mutating func parseParameters() throws -> [(String, TemplateExpression?)] {
    var params: [(String, TemplateExpression?)] = []
    try expectOp("(")
    while !isOp(")") {
      if !params.isEmpty { try expectOp(",") }
      if isOp(")") { break }
      let n = try expectName()
      var defaultValue: TemplateExpression?
      if isOp("=") {
        _ = advance()
        defaultValue = try parseExpression()
      } else if params.contains(where: { $0.1 != nil }) {
        throw error(.syntax("non-default argument follows default argument"), at: current.offset)
      }
      params.append((n, defaultValue))
    }
    try expectOp(")")
    return params
  }

  private mutating func parseMacro() throws -> TemplateNode {
    let n = try expectName()
    let params = try parseParameters()
    try expectBlockEnd()
    let (body, _) = try parseBody(until: ["endmacro"])
    if case .name = kind { _ = advance() }
    try expectBlockEnd()
    return .macro(TemplateMacro(name: n, parameters: params, body: body))
  }

  private mutating func parseCallBlock(at start: Int) throws -> TemplateNode {
    let params = isOp("(") ? try parseParameters() : []
    let call = try parseExpression()
    guard case .call = call else {
      throw error(.syntax("expected call"), at: start)
    }
    try expectBlockEnd()
    let (body, _) = try parseBody(until: ["endcall"])
    try expectBlockEnd()
    return .callBlock(call, TemplateMacro(name: "caller", parameters: params, body: body), start)
  }

  // MARK: Expressions

  /// Counts one more level of a left-nested chain such as `a + b + c` or `x | f | g`, which
  /// the loops below build without recursing; evaluating it recurses, so it is bounded too.
  private func link(_ links: inout Int) throws {
    links += 1
    guard depth + links <= TemplateParser.maximumDepth else {
      throw error(.syntax("expression nested too deeply"), at: current.offset)
    }
  }

  /// An expression, or several separated by commas, which make a tuple.
  mutating func parseTupleExpression(withCondition: Bool = true) throws -> TemplateExpression {
    let first = withCondition ? try parseExpression() : try parseOr()
    guard isOp(",") else { return first }
    var items = [first]
    while isOp(",") {
      _ = advance()
      if kind == .variableEnd || kind == .blockEnd || kind == .eof || isName("in")
        || isName("if") || isOp(")")
      {
        break
      }
      items.append(withCondition ? try parseExpression() : try parseOr())
    }
    return .tuple(items)
  }

  mutating func parseExpression() throws -> TemplateExpression {
    depth += 1
    defer { depth -= 1 }
    guard depth <= TemplateParser.maximumDepth, openBlocks.count <= TemplateParser.maximumDepth
    else {
      throw error(.syntax("expression nested too deeply"), at: current.offset)
    }
    var e = try parseOr()
    var links = 0
    while isName("if") {
      try link(&links)
      let offset = advance().offset
      let condition = try parseOr()
      var orElse: TemplateExpression?
      if isName("else") {
        _ = advance()
        orElse = try parseExpression()
      }
      e = .conditional(condition, e, orElse, offset)
    }
    return e
  }

  private mutating func parseOr() throws -> TemplateExpression {
    var e = try parseAnd()
    var links = 0
    while isName("or") {
      try link(&links)
      _ = advance()
      e = .or(e, try parseAnd())
    }
    return e
  }

  private mutating func parseAnd() throws -> TemplateExpression {
    var e = try parseNot()
    var links = 0
    while isName("and") {
      try link(&links)
      _ = advance()
      e = .and(e, try parseNot())
    }
    return e
  }

  private mutating func parseNot() throws -> TemplateExpression {
    if isName("not") {
      _ = advance()
      depth += 1
      defer { depth -= 1 }
      guard depth <= TemplateParser.maximumDepth else {
        throw error(.syntax("expression nested too deeply"), at: current.offset)
      }
      return .not(try parseNot())
    }
    return try parseCompare()
  }

  private static let comparisonOps: Set<String> = ["==", "!=", "<", "<=", ">", ">="]

  private mutating func parseCompare() throws -> TemplateExpression {
    let offset = current.offset
    let left = try parseMath1()
    var ops: [(String, TemplateExpression)] = []
    while true {
      if case .op(let o) = kind, TemplateParser.comparisonOps.contains(o) {
        _ = advance()
        ops.append((o, try parseMath1()))
      } else if isName("in") {
        _ = advance()
        ops.append(("in", try parseMath1()))
      } else if isName("not") && peek() == .name("in") {
        _ = advance()
        _ = advance()
        ops.append(("notin", try parseMath1()))
      } else {
        break
      }
    }
    return ops.isEmpty ? left : .compare(left, ops, offset)
  }

  private mutating func parseMath1() throws -> TemplateExpression {
    var e = try parseConcat()
    var links = 0
    while isOp("+") || isOp("-") {
      try link(&links)
      let t = advance()
      guard case .op(let o) = t.kind else { break }
      e = .binary(o, e, try parseConcat(), t.offset)
    }
    return e
  }

  private mutating func parseConcat() throws -> TemplateExpression {
    let offset = current.offset
    var items = [try parseMath2()]
    while isOp("~") {
      _ = advance()
      items.append(try parseMath2())
    }
    return items.count == 1 ? items[0] : .concat(items, offset)
  }

  private mutating func parseMath2() throws -> TemplateExpression {
    var e = try parsePow()
    var links = 0
    while isOp("*") || isOp("/") || isOp("//") || isOp("%") {
      try link(&links)
      let t = advance()
      guard case .op(let o) = t.kind else { break }
      e = .binary(o, e, try parsePow(), t.offset)
    }
    return e
  }

  private mutating func parsePow() throws -> TemplateExpression {
    var e = try parseUnary()
    var links = 0
    while isOp("**") {
      try link(&links)
      let t = advance()
      e = .binary("**", e, try parseUnary(), t.offset)
    }
    return e
  }

  private mutating func parseUnary(withFilter: Bool = true) throws -> TemplateExpression {
    depth += 1
    defer { depth -= 1 }
    guard depth <= TemplateParser.maximumDepth else {
      throw error(.syntax("expression nested too deeply"), at: current.offset)
    }
    var e: TemplateExpression
    if isOp("-") {
      let t = advance()
      e = .negate(try parseUnary(withFilter: false), t.offset)
    } else if isOp("+") {
      let t = advance()
      e = .plus(try parseUnary(withFilter: false), t.offset)
    } else {
      e = try parsePostfix(try parsePrimary())
    }
    if withFilter { e = try parseFilterExpression(e) }
    return e
  }

  private mutating func parsePrimary() throws -> TemplateExpression {
    let t = current
    switch t.kind {
    case .name(let n):
      _ = advance()
      switch n {
      case "true", "True": return .literal(.bool(true))
      case "false", "False": return .literal(.bool(false))
      case "none", "None": return .literal(.null)
      default: return .name(n, t.offset)
      }
    case .string(let s):
      _ = advance()
      var text = s
      while case .string(let more) = kind {
        text += more
        _ = advance()
      }
      return .literal(.string(text))
    case .int(let i):
      _ = advance()
      return .literal(.int(i))
    case .float(let d):
      _ = advance()
      return .literal(.double(d))
    case .op("("):
      _ = advance()
      if isOp(")") {
        _ = advance()
        return .tuple([])
      }
      let first = try parseExpression()
      if isOp(")") {
        _ = advance()
        return first
      }
      var items = [first]
      while isOp(",") {
        _ = advance()
        if isOp(")") { break }
        items.append(try parseExpression())
      }
      try expectOp(")")
      return .tuple(items)
    case .op("["):
      _ = advance()
      var items: [TemplateExpression] = []
      while !isOp("]") {
        if !items.isEmpty { try expectOp(",") }
        if isOp("]") { break }
        items.append(try parseExpression())
      }
      try expectOp("]")
      return .list(items)
    case .op("{"):
      _ = advance()
      var pairs: [(TemplateExpression, TemplateExpression)] = []
      while !isOp("}") {
        if !pairs.isEmpty { try expectOp(",") }
        if isOp("}") { break }
        let k = try parseExpression()
        try expectOp(":")
        pairs.append((k, try parseExpression()))
      }
      try expectOp("}")
      return .dict(pairs)
    default:
      throw unexpected(expected: "an expression")
    }
  }

  private mutating func parsePostfix(_ base: TemplateExpression) throws -> TemplateExpression {
    var e = base
    var links = 0
    while true {
      try link(&links)
      if isOp(".") {
        let t = advance()
        switch kind {
        case .name(let n):
          _ = advance()
          e = .attribute(e, n, t.offset)
        case .int(let i):
          _ = advance()
          e = .item(e, .literal(.int(i)), t.offset)
        default:
          throw unexpected(expected: "an attribute name")
        }
      } else if isOp("[") {
        let t = advance()
        e = try parseSubscript(e, at: t.offset)
      } else if isOp("(") {
        let offset = current.offset
        e = .call(e, try parseCallArguments(), offset)
      } else {
        return e
      }
    }
  }

  private mutating func parseSubscript(_ base: TemplateExpression, at offset: Int) throws
    -> TemplateExpression
  {
    var parts: [TemplateExpression?] = []
    var part: TemplateExpression?
    var isSlice = false
    while !isOp("]") {
      if isOp(":") {
        _ = advance()
        parts.append(part)
        part = nil
        isSlice = true
        guard parts.count <= 2 else { throw error(.syntax("invalid slice"), at: offset) }
      } else {
        guard part == nil else { throw unexpected(expected: "']'") }
        part = try parseExpression()
      }
    }
    _ = advance()
    parts.append(part)
    if !isSlice {
      guard let index = parts[0] else { throw error(.syntax("expected subscript"), at: offset) }
      return .item(base, index, offset)
    }
    while parts.count < 3 { parts.append(nil) }
    return .slice(base, parts[0], parts[1], parts[2], offset)
  }

  private mutating func parseCallArguments() throws -> TemplateArguments {
    try expectOp("(")
    var args = TemplateArguments()
    while !isOp(")") {
      if !args.isEmpty { try expectOp(",") }
      if isOp(")") { break }
      if case .name(let n) = kind, peek() == .op("=") {
        _ = advance()
        _ = advance()
        args.keywords.append((n, try parseExpression()))
      } else {
        if !args.keywords.isEmpty {
          throw error(.syntax("positional argument follows keyword argument"), at: current.offset)
        }
        args.positional.append(try parseExpression())
      }
    }
    try expectOp(")")
    return args
  }

  private mutating func parseFilterExpression(_ base: TemplateExpression) throws
    -> TemplateExpression
  {
    var e = base
    var links = 0
    while true {
      try link(&links)
      if isOp("|") {
        _ = advance()
        let offset = current.offset
        var n = try expectName()
        while isOp(".") {
          _ = advance()
          n += "." + (try expectName())
        }
        let args = isOp("(") ? try parseCallArguments() : TemplateArguments()
        e = .filter(e, n, args, offset)
      } else if isName("is") {
        _ = advance()
        var negated = false
        if isName("not") {
          _ = advance()
          negated = true
        }
        let offset = current.offset
        var n = try expectName()
        while isOp(".") {
          _ = advance()
          n += "." + (try expectName())
        }
        var args = TemplateArguments()
        if isOp("(") {
          args = try parseCallArguments()
        } else if startsBareTestArgument() {
          var arg = try parsePrimary()
          arg = try parsePostfix(arg)
          args.positional = [arg]
        }
        e = .test(e, n, args, negated: negated, offset)
      } else {
        return e
      }
    }
  }

  /// `x is divisibleby 3` and `x is sameas none` take one argument without parentheses.
  private func startsBareTestArgument() -> Bool {
    switch kind {
    case .name(let n): return !["else", "or", "and", "if", "in", "not", "is"].contains(n)
    case .string, .int, .float: return true
    case .op("["), .op("{"): return true
    default: return false
    }
  }
}
