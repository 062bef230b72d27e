/// One token of a template: literal text, a tag delimiter or a piece of an expression.
struct TemplateToken: Sendable, Equatable {
  enum Kind: Sendable, Equatable {
    case data(String)
    case variableBegin, variableEnd, blockBegin, blockEnd
    case name(String)
    case string(String)
    case int(Int)
    case float(Double)
    case op(String)
    case eof
  }
  var kind: Kind
  /// Byte offset into the UTF-8 source, for error positions.
  var offset: Int
}

/// Splits template source into tokens the way Jinja2's lexer does, with Ansible's settings:
/// `trim_blocks` on, `lstrip_blocks` off.
struct TemplateLexer {
  private let src: [UInt8]
  private let trimBlocks: Bool
  /// Backslashes in strings inside `{{ }}` are literal, as after Ansible's escaping.
  private let rawVariableStrings: Bool
  private var pos = 0
  private var tokens: [TemplateToken] = []
  /// Whitespace after a `-}}`, `-%}` or `-#}` is dropped from the next text.
  private var stripNextLeading = false
  let name: String

  init(
    _ source: String, name: String, trimBlocks: Bool = true, rawVariableStrings: Bool = false
  ) {
    self.src = Array(source.utf8)
    self.trimBlocks = trimBlocks
    self.rawVariableStrings = rawVariableStrings
    self.name = name
  }

  /// 1-based line and column of a byte offset, columns counted in characters.
  static func position(of offset: Int, in src: [UInt8]) -> (line: Int, column: Int) {
    var line = 1
    var column = 1
    var i = 0
    let end = min(offset, src.count)
    while i < end {
      if src[i] == UInt8(ascii: "\n") {
        line += 1
        column = 1
      } else if src[i] & 0xC0 != 0x80 {
        column += 1
      }
      i += 1
    }
    return (line, column)
  }

  private func error(_ kind: TemplateError.Kind, at offset: Int) -> TemplateError {
    let (line, column) = TemplateLexer.position(of: offset, in: src)
    return TemplateError(kind, templateName: name, line: line, column: column)
  }

  mutating func tokenize() throws -> [TemplateToken] {
    var textStart = 0
    while pos < src.count {
      guard let open = findTagStart(from: pos) else { break }
      let kind = src[open + 1]
      let afterOpen = open + 2
      let strip = afterOpen < src.count && src[afterOpen] == UInt8(ascii: "-")
      // A raw block is handled whole, so its content is never tokenized.
      if kind == UInt8(ascii: "%"), let rawEnd = matchRawStart(at: afterOpen) {
        emitText(from: textStart, to: open, stripTrailing: strip)
        try lexRaw(openAt: open, contentStart: rawEnd.contentStart, stripLeading: rawEnd.strip)
        textStart = pos
        continue
      }
      emitText(from: textStart, to: open, stripTrailing: strip)
      pos =
        afterOpen
        + (strip || (afterOpen < src.count && src[afterOpen] == UInt8(ascii: "+"))
          ? 1 : 0)
      switch kind {
      case UInt8(ascii: "#"):
        try lexComment(openAt: open)
      case UInt8(ascii: "{"):
        tokens.append(TemplateToken(kind: .variableBegin, offset: open))
        try lexExpression(end: UInt8(ascii: "}"), openAt: open)
      default:
        tokens.append(TemplateToken(kind: .blockBegin, offset: open))
        try lexExpression(end: UInt8(ascii: "%"), openAt: open)
      }
      textStart = pos
    }
    emitText(from: textStart, to: src.count, stripTrailing: false)
    tokens.append(TemplateToken(kind: .eof, offset: src.count))
    return tokens
  }

  private func findTagStart(from start: Int) -> Int? {
    var i = start
    while i + 1 < src.count {
      if src[i] == UInt8(ascii: "{") {
        let c = src[i + 1]
        if c == UInt8(ascii: "{") || c == UInt8(ascii: "%") || c == UInt8(ascii: "#") {
          return i
        }
      }
      i += 1
    }
    return nil
  }

  private static func isSpace(_ c: UInt8) -> Bool {
    c == 32 || c == 9 || c == 10 || c == 13 || c == 11 || c == 12
  }

  private mutating func emitText(from start: Int, to end: Int, stripTrailing: Bool) {
    var s = start
    var e = end
    if stripNextLeading {
      while s < e && TemplateLexer.isSpace(src[s]) { s += 1 }
      stripNextLeading = false
    }
    if stripTrailing {
      while e > s && TemplateLexer.isSpace(src[e - 1]) { e -= 1 }
    }
    if s < e {
      tokens.append(
        TemplateToken(kind: .data(String(decoding: src[s..<e], as: UTF8.self)), offset: s))
    }
  }

  /// After a block or comment ends: `-` strips following whitespace, trim_blocks one newline.
  private mutating func afterTagEnd(stripped: Bool, isBlock: Bool) {
    if stripped {
      stripNextLeading = true
    } else if isBlock && trimBlocks && pos < src.count {
      if src[pos] == UInt8(ascii: "\n") {
        pos += 1
      } else if src[pos] == UInt8(ascii: "\r") {
        pos += 1
        if pos < src.count && src[pos] == UInt8(ascii: "\n") { pos += 1 }
      }
    }
  }

  private mutating func lexComment(openAt open: Int) throws {
    var i = pos
    while i + 1 < src.count {
      if src[i] == UInt8(ascii: "#") && src[i + 1] == UInt8(ascii: "}") {
        let stripped = i > pos && src[i - 1] == UInt8(ascii: "-")
        pos = i + 2
        afterTagEnd(stripped: stripped, isBlock: true)
        return
      }
      i += 1
    }
    throw error(.unclosed("end of comment tag"), at: open)
  }

  private func skipSpaces(_ i: Int) -> Int {
    var i = i
    while i < src.count && TemplateLexer.isSpace(src[i]) { i += 1 }
    return i
  }

  private func matchWord(_ word: String, at i: Int) -> Int? {
    let w = Array(word.utf8)
    guard i + w.count <= src.count, Array(src[i..<(i + w.count)]) == w else { return nil }
    let after = i + w.count
    if after < src.count && TemplateLexer.isNameChar(src[after]) { return nil }
    return after
  }

  /// Matches `[-+]? ws* raw ws* -? %}` after `{%`; returns where the content starts.
  private func matchRawStart(at start: Int) -> (contentStart: Int, strip: Bool)? {
    var i = start
    if i < src.count && (src[i] == UInt8(ascii: "-") || src[i] == UInt8(ascii: "+")) { i += 1 }
    i = skipSpaces(i)
    guard let after = matchWord("raw", at: i) else { return nil }
    i = skipSpaces(after)
    var strip = false
    if i < src.count && src[i] == UInt8(ascii: "-") {
      strip = true
      i += 1
    }
    guard i + 1 < src.count, src[i] == UInt8(ascii: "%"), src[i + 1] == UInt8(ascii: "}") else {
      return nil
    }
    return (i + 2, strip)
  }

  private mutating func lexRaw(openAt open: Int, contentStart: Int, stripLeading: Bool) throws {
    var i = contentStart
    while let tag = findTagStart(from: i) {
      i = tag + 1
      guard src[tag + 1] == UInt8(ascii: "%") else { continue }
      var j = tag + 2
      let strip = j < src.count && src[j] == UInt8(ascii: "-")
      if j < src.count && (src[j] == UInt8(ascii: "-") || src[j] == UInt8(ascii: "+")) { j += 1 }
      j = skipSpaces(j)
      guard let after = matchWord("endraw", at: j) else { continue }
      j = skipSpaces(after)
      var stripAfter = false
      if j < src.count && src[j] == UInt8(ascii: "-") {
        stripAfter = true
        j += 1
      }
      guard j + 1 < src.count, src[j] == UInt8(ascii: "%"), src[j + 1] == UInt8(ascii: "}") else {
        continue
      }
      var s = contentStart
      var e = tag
      if stripLeading { while s < e && TemplateLexer.isSpace(src[s]) { s += 1 } }
      if strip { while e > s && TemplateLexer.isSpace(src[e - 1]) { e -= 1 } }
      if s < e {
        tokens.append(
          TemplateToken(kind: .data(String(decoding: src[s..<e], as: UTF8.self)), offset: s))
      }
      pos = j + 2
      afterTagEnd(stripped: stripAfter, isBlock: true)
      return
    }
    throw error(.missingEnd("endraw"), at: open)
  }

  static func isNameStart(_ c: UInt8) -> Bool {
    (c >= 97 && c <= 122) || (c >= 65 && c <= 90) || c == 95 || c >= 0x80
  }

  static func isNameChar(_ c: UInt8) -> Bool { isNameStart(c) || (c >= 48 && c <= 57) }

  private static let twoCharOps: Set<String> = ["//", "**", "==", "!=", "<=", ">="]
  private static let oneCharOps: Set<UInt8> = Set("+-*/%~<>=.,:|()[]{};!".utf8)

  /// Lexes expression tokens until the closing `}}` or `%}` outside any brackets.
  private mutating func lexExpression(end: UInt8, openAt open: Int) throws {
    var depth: [UInt8] = []
    let isBlock = end == UInt8(ascii: "%")
    while true {
      pos = skipSpaces(pos)
      guard pos < src.count else {
        throw error(
          .unclosed(isBlock ? "end of statement block" : "end of print statement"),
          at: open)
      }
      let c = src[pos]
      if depth.isEmpty {
        if c == end && pos + 1 < src.count && src[pos + 1] == UInt8(ascii: "}") {
          tokens.append(TemplateToken(kind: isBlock ? .blockEnd : .variableEnd, offset: pos))
          pos += 2
          afterTagEnd(stripped: false, isBlock: isBlock)
          return
        }
        if c == UInt8(ascii: "-") && pos + 2 < src.count && src[pos + 1] == end
          && src[pos + 2] == UInt8(ascii: "}")
        {
          tokens.append(TemplateToken(kind: isBlock ? .blockEnd : .variableEnd, offset: pos))
          pos += 3
          afterTagEnd(stripped: true, isBlock: isBlock)
          return
        }
      }
      let start = pos
      if TemplateLexer.isNameStart(c) {
        while pos < src.count && TemplateLexer.isNameChar(src[pos]) { pos += 1 }
        tokens.append(
          TemplateToken(
            kind: .name(String(decoding: src[start..<pos], as: UTF8.self)),
            offset: start))
      } else if c >= 48 && c <= 57 {
        let afterDot = tokens.last?.kind == .op(".")
        tokens.append(TemplateToken(kind: try lexNumber(integerOnly: afterDot), offset: start))
      } else if c == UInt8(ascii: "'") || c == UInt8(ascii: "\"") {
        let raw = rawVariableStrings && !isBlock
        tokens.append(
          TemplateToken(kind: .string(try lexString(quote: c, raw: raw)), offset: start))
      } else {
        if pos + 1 < src.count {
          let two = String(decoding: src[pos..<(pos + 2)], as: UTF8.self)
          if TemplateLexer.twoCharOps.contains(two) {
            tokens.append(TemplateToken(kind: .op(two), offset: start))
            pos += 2
            continue
          }
        }
        guard TemplateLexer.oneCharOps.contains(c) else {
          let scalar = String(decoding: src[pos..<min(pos + 1, src.count)], as: UTF8.self)
          throw error(.syntax("unexpected char '\(scalar)'"), at: pos)
        }
        switch c {
        case UInt8(ascii: "("), UInt8(ascii: "["), UInt8(ascii: "{"):
          depth.append(c)
        case UInt8(ascii: ")"), UInt8(ascii: "]"), UInt8(ascii: "}"):
          let expected: UInt8 =
            c == UInt8(ascii: ")")
            ? UInt8(ascii: "(")
            : c == UInt8(ascii: "]") ? UInt8(ascii: "[") : UInt8(ascii: "{")
          guard let last = depth.last else {
            throw error(.syntax("unexpected '\(Character(Unicode.Scalar(c)))'"), at: pos)
          }
          guard last == expected else {
            throw error(
              .syntax(
                "unexpected '\(Character(Unicode.Scalar(c)))', expected '"
                  + "\(Character(Unicode.Scalar(TemplateLexer.closer(last))))'"), at: pos)
          }
          depth.removeLast()
        default: break
        }
        tokens.append(
          TemplateToken(kind: .op(String(Character(Unicode.Scalar(c)))), offset: start))
        pos += 1
      }
    }
  }

  private static func closer(_ c: UInt8) -> UInt8 {
    c == UInt8(ascii: "(")
      ? UInt8(ascii: ")")
      : c == UInt8(ascii: "[") ? UInt8(ascii: "]") : UInt8(ascii: "}")
  }

  private func isDigit(_ i: Int) -> Bool { i < src.count && src[i] >= 48 && src[i] <= 57 }

  private mutating func digits(_ valid: (UInt8) -> Bool) -> String {
    var out = ""
    while pos < src.count {
      let c = src[pos]
      if valid(c) {
        out.append(Character(Unicode.Scalar(c)))
      } else if c == UInt8(ascii: "_") && pos + 1 < src.count && valid(src[pos + 1]) && !out.isEmpty
      {
        // Underscores separate digits, as in Python.
      } else {
        break
      }
      pos += 1
    }
    return out
  }

  private mutating func lexNumber(integerOnly: Bool) throws -> TemplateToken.Kind {
    let start = pos
    if src[pos] == UInt8(ascii: "0") && pos + 1 < src.count {
      let p = src[pos + 1] | 0x20
      let radix =
        p == UInt8(ascii: "x") ? 16 : p == UInt8(ascii: "o") ? 8 : p == UInt8(ascii: "b") ? 2 : 0
      if radix != 0 {
        pos += 2
        let text = digits { c in
          let v = Int(c) - 48
          if radix == 16 { return (c >= 48 && c <= 57) || ((c | 0x20) >= 97 && (c | 0x20) <= 102) }
          return v >= 0 && v < radix
        }
        guard let value = Int(text, radix: radix) else {
          throw error(.syntax("invalid number literal"), at: start)
        }
        return .int(value)
      }
    }
    let intPart = digits { $0 >= 48 && $0 <= 57 }
    if integerOnly {
      guard let v = Int(intPart) else { throw error(.syntax("integer too large"), at: start) }
      return .int(v)
    }
    var text = intPart
    var isFloat = false
    if pos + 1 < src.count && src[pos] == UInt8(ascii: ".") && isDigit(pos + 1) {
      pos += 1
      text += "." + digits { $0 >= 48 && $0 <= 57 }
      isFloat = true
    }
    if pos < src.count && (src[pos] | 0x20) == UInt8(ascii: "e") {
      var j = pos + 1
      if j < src.count && (src[j] == UInt8(ascii: "+") || src[j] == UInt8(ascii: "-")) { j += 1 }
      if isDigit(j) {
        let sign = src[pos + 1] == UInt8(ascii: "-") ? "-" : ""
        pos = j
        text += "e" + sign + digits { $0 >= 48 && $0 <= 57 }
        isFloat = true
      }
    }
    if isFloat {
      guard let d = Double(text) else { throw error(.syntax("invalid number"), at: start) }
      return .float(d)
    }
    guard let v = Int(text) else { throw error(.syntax("integer too large"), at: start) }
    return .int(v)
  }

  private mutating func lexString(quote: UInt8, raw: Bool = false) throws -> String {
    let start = pos
    pos += 1
    var bytes: [UInt8] = []
    while pos < src.count {
      let c = src[pos]
      if c == quote {
        pos += 1
        return String(decoding: bytes, as: UTF8.self)
      }
      if c == UInt8(ascii: "\\") && pos + 1 < src.count && !raw {
        let e = src[pos + 1]
        pos += 2
        switch e {
        case UInt8(ascii: "n"): bytes.append(10)
        case UInt8(ascii: "t"): bytes.append(9)
        case UInt8(ascii: "r"): bytes.append(13)
        case UInt8(ascii: "0"): bytes.append(0)
        case UInt8(ascii: "a"): bytes.append(7)
        case UInt8(ascii: "b"): bytes.append(8)
        case UInt8(ascii: "f"): bytes.append(12)
        case UInt8(ascii: "v"): bytes.append(11)
        case UInt8(ascii: "\\"), UInt8(ascii: "'"), UInt8(ascii: "\""): bytes.append(e)
        case UInt8(ascii: "\n"): break
        case UInt8(ascii: "x"), UInt8(ascii: "u"), UInt8(ascii: "U"):
          let n = e == UInt8(ascii: "x") ? 2 : e == UInt8(ascii: "u") ? 4 : 8
          guard pos + n <= src.count,
            let v = UInt32(String(decoding: src[pos..<(pos + n)], as: UTF8.self), radix: 16),
            let scalar = Unicode.Scalar(v)
          else {
            throw error(.syntax("invalid escape in string"), at: pos - 2)
          }
          bytes.append(contentsOf: Array(String(Character(scalar)).utf8))
          pos += n
        default:
          // Python keeps unknown escapes as written.
          bytes.append(UInt8(ascii: "\\"))
          bytes.append(e)
        }
        continue
      }
      bytes.append(c)
      pos += 1
    }
    throw error(.unclosed("end of string"), at: start)
  }
}
