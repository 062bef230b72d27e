import Foundation

/// Python's `re` on top of NSRegularExpression, for the modules that port Ansible's Python
/// (`lineinfile`, `blockinfile`, `replace`): `search`, `subn` and `Match.expand`.
///
/// Works on UTF-16 code units. A *bytes* pattern (what `lineinfile` and `blockinfile` compile)
/// sees its subject as bytes: ASCII stays ASCII and each byte 0x80–0xFF becomes one private-use
/// unit (U+E080–U+E0FF), so `.` takes one byte, `\w`, `\d`, `\b` and `(?i)` are ASCII-only, and
/// nothing but `\n` ends a line, as with Python's bytes patterns. A *text* pattern (`replace`)
/// sees Unicode.
///
/// The pattern is translated: `(?P<name>…)` becomes a numbered group (ICU names allow no `_`),
/// `(?P=name)` a numbered back reference, `\Z` is `\z`, a `{` that is not a quantifier and a
/// `[` inside a class are literal, `{,n}` is `{0,n}`, octal escapes become `\x{…}`.
struct PythonRegex {
  struct Failure: Error, CustomStringConvertible {
    var message: String
    var description: String { message }
  }

  /// The span of each group of one match, in code units; nil for a group that did not take part.
  struct Match {
    var groups: [Range<Int>?]
    var range: Range<Int> { groups[0]! }
  }

  let regex: NSRegularExpression
  /// Python's `groupindex`.
  let groupIndex: [String: Int]
  /// Python's `groups`: the number of capturing groups.
  let groups: Int
  let isBytes: Bool
  /// Whether the pattern is MULTILINE, by the flag given or a leading `(?m)`: Python's `flags & re.MULTILINE`.
  let isMultiline: Bool

  init(_ pattern: String, bytes: Bool, multiline: Bool = false, dotAll: Bool = false) throws {
    isBytes = bytes
    let scalars: [Unicode.Scalar] =
      bytes
      ? PythonRegex.units(bytes: Array(pattern.utf8)).map { Unicode.Scalar($0)! } : Array(pattern.unicodeScalars)
    var translator = Translator(p: scalars, bytes: bytes)
    let translated = try translator.translate()
    var options: NSRegularExpression.Options = [.useUnixLineSeparators]
    let isMultiline = multiline || translator.globalFlags.contains("m")
    if isMultiline { options.insert(.anchorsMatchLines) }
    if dotAll || translator.globalFlags.contains("s") { options.insert(.dotMatchesLineSeparators) }
    if translator.globalFlags.contains("i") { options.insert(.caseInsensitive) }
    do {
      regex = try NSRegularExpression(pattern: translated, options: options)
    } catch {
      throw Failure(message: "invalid regular expression '\(pattern)'")
    }
    self.isMultiline = isMultiline
    groupIndex = translator.groupIndex
    groups = translator.groups
  }

  // MARK: Subjects

  /// Bytes as code units: ASCII as is, 0x80–0xFF in the private-use area.
  static func units(bytes: some Sequence<UInt8>) -> [UInt16] {
    bytes.map { $0 < 0x80 ? UInt16($0) : 0xE000 | UInt16($0) }
  }

  /// The bytes that `units(bytes:)` made.
  static func bytes(units: some Sequence<UInt16>) -> [UInt8] {
    units.map { UInt8(truncatingIfNeeded: $0) }
  }

  /// Python's `pattern.search(subject, pos)`.
  func search(_ subject: [UInt16], from position: Int = 0) -> Match? {
    search(String(decoding: subject, as: UTF16.self), length: subject.count, from: position)
  }

  private func search(_ string: String, length: Int, from position: Int) -> Match? {
    guard position <= length else { return nil }
    guard
      let m = regex.firstMatch(
        in: string, options: [.withTransparentBounds, .withoutAnchoringBounds],
        range: NSRange(location: position, length: length - position))
    else { return nil }
    var spans: [Range<Int>?] = []
    for i in 0...groups {
      let r = i < m.numberOfRanges ? m.range(at: i) : NSRange(location: NSNotFound, length: 0)
      spans.append(r.location == NSNotFound ? nil : r.location..<(r.location + r.length))
    }
    return Match(groups: spans)
  }

  /// Whether the pattern matches anywhere in `bytes`: `re.search(pattern, bytes)`.
  func search(bytes: [UInt8]) -> Match? { search(Self.units(bytes: bytes)) }

  /// Python's `re.subn(pattern, template, subject)`, with Python 3.7's rule for empty matches.
  func subn(_ template: [UInt16], in subject: [UInt16]) throws -> (result: [UInt16], count: Int) {
    let pieces = try parseTemplate(template)
    let string = String(decoding: subject, as: UTF16.self)
    var out: [UInt16] = []
    var last = 0
    var start = 0
    var count = 0
    var mustAdvance = false
    while start <= subject.count {
      var found = search(string, length: subject.count, from: start)
      if let m = found, mustAdvance, m.range.isEmpty, m.range.lowerBound == start {
        // Python forbids an empty match where the last one ended, when that one was empty too.
        found = start < subject.count ? search(string, length: subject.count, from: start + 1) : nil
      }
      guard let m = found else { break }
      out += subject[last..<m.range.lowerBound]
      out += expand(pieces, m, in: subject)
      last = m.range.upperBound
      count += 1
      mustAdvance = m.range.isEmpty
      start = m.range.upperBound
    }
    out += subject[last...]
    return (out, count)
  }

  // MARK: Templates

  enum TemplatePiece: Equatable {
    case literal([UInt16])
    case group(Int)
  }

  /// Python's `re._parser.parse_template`: `\1`, `\g<1>`, `\g<name>`, the escapes `\n` `\t`
  /// `\r` `\f` `\v` `\a` `\b` `\\` and octal; other ASCII-letter escapes are errors and other
  /// escapes stay as written.
  func parseTemplate(_ t: [UInt16]) throws -> [TemplatePiece] {
    var pieces: [TemplatePiece] = []
    var literal: [UInt16] = []
    func flush() {
      if !literal.isEmpty { pieces.append(.literal(literal)) }
      literal = []
    }
    func isDigit(_ u: UInt16) -> Bool { (0x30...0x39).contains(u) }
    func isOctal(_ u: UInt16) -> Bool { (0x30...0x37).contains(u) }
    func isLetter(_ u: UInt16) -> Bool { (0x41...0x5A).contains(u) || (0x61...0x7A).contains(u) }
    func text(_ units: ArraySlice<UInt16>) -> String {
      isBytes ? String(decoding: Self.bytes(units: units), as: UTF8.self) : String(decoding: units, as: UTF16.self)
    }
    func addGroup(_ index: Int, at position: Int) throws {
      guard index <= groups else { throw Failure(message: "invalid group reference \(index) at position \(position)") }
      flush()
      pieces.append(.group(index))
    }
    func octal(_ digits: ArraySlice<UInt16>) -> UInt16 {
      digits.reduce(0) { $0 * 8 + ($1 - 0x30) }
    }
    func literalUnit(_ value: UInt16) -> UInt16 {
      isBytes && value >= 0x80 ? 0xE000 | value : value
    }
    var i = 0
    while i < t.count {
      let c = t[i]
      guard c == 0x5C else {
        literal.append(c)
        i += 1
        continue
      }
      guard i + 1 < t.count else { throw Failure(message: "bad escape (end of pattern) at position \(i)") }
      let e = t[i + 1]
      if e == UInt16(UInt8(ascii: "g")) {
        guard i + 2 < t.count, t[i + 2] == 0x3C else { throw Failure(message: "missing < at position \(i + 2)") }
        guard let close = t[(i + 3)...].firstIndex(of: 0x3E) else {
          throw Failure(message: "missing >, unterminated name at position \(i + 3)")
        }
        let name = text(t[(i + 3)..<close])
        if name.isEmpty { throw Failure(message: "missing group name at position \(i + 3)") }
        if let first = name.unicodeScalars.first, first == "_" || first.properties.isXIDStart,
          name.unicodeScalars.allSatisfy({ $0 == "_" || $0.properties.isXIDContinue })
        {
          guard let index = groupIndex[name] else { throw Failure(message: "unknown group name '\(name)'") }
          try addGroup(index, at: i + 3)
        } else {
          guard name.allSatisfy({ $0.isASCII && $0.isNumber }), let index = Int(name) else {
            throw Failure(message: "bad character in group name '\(name)' at position \(i + 3)")
          }
          try addGroup(index, at: i + 3)
        }
        i = close + 1
      } else if e == 0x30 {
        var j = i + 2
        while j < t.count, j < i + 4, isOctal(t[j]) { j += 1 }
        literal.append(literalUnit(octal(t[(i + 1)..<j]) & 0xFF))
        i = j
      } else if isDigit(e) {
        var j = i + 2
        if j < t.count, isDigit(t[j]) {
          j += 1
          if isOctal(e), isOctal(t[j - 1]), j < t.count, isOctal(t[j]) {
            j += 1
            let value = octal(t[(i + 1)..<j])
            guard value <= 0o377 else {
              throw Failure(message: "octal escape value \\\(text(t[(i + 1)..<j])) outside of range 0-0o377")
            }
            literal.append(literalUnit(value))
            i = j
            continue
          }
        }
        try addGroup(Int(text(t[(i + 1)..<j]))!, at: i + 1)
        i = j
      } else {
        let escapes: [UInt8: UInt16] = [
          UInt8(ascii: "a"): 7, UInt8(ascii: "b"): 8, UInt8(ascii: "f"): 12, UInt8(ascii: "n"): 10,
          UInt8(ascii: "r"): 13, UInt8(ascii: "t"): 9, UInt8(ascii: "v"): 11, UInt8(ascii: "\\"): 92,
        ]
        if e < 0x80, let value = escapes[UInt8(e)] {
          literal.append(value)
        } else if isLetter(e) {
          throw Failure(message: "bad escape \\\(text(t[(i + 1)...(i + 1)])) at position \(i)")
        } else {
          literal += [c, e]
        }
        i += 2
      }
    }
    flush()
    return pieces
  }

  func expand(_ pieces: [TemplatePiece], _ m: Match, in subject: [UInt16]) -> [UInt16] {
    var out: [UInt16] = []
    for piece in pieces {
      switch piece {
      case .literal(let units): out += units
      case .group(let i): if let r = m.groups[i] { out += subject[r] }
      }
    }
    return out
  }

  /// Python's `match.expand(template)`.
  func expand(_ template: [UInt16], _ m: Match, in subject: [UInt16]) throws -> [UInt16] {
    expand(try parseTemplate(template), m, in: subject)
  }
}

/// Rewrites a Python pattern for ICU.
private struct Translator {
  let p: [Unicode.Scalar]
  let bytes: Bool
  var i = 0
  var out = String.UnicodeScalarView()
  var groups = 0
  var groupIndex: [String: Int] = [:]
  /// Flags set by leading `(?…)` groups, without the ones ICU has no use for (`a`, `L`, `u`).
  var globalFlags: Set<Unicode.Scalar> = []
  var verbose = false

  init(p: [Unicode.Scalar], bytes: Bool) {
    self.p = p
    self.bytes = bytes
  }

  typealias Failure = PythonRegex.Failure

  mutating func emit(_ s: String) { out.append(contentsOf: s.unicodeScalars) }

  /// A literal code unit value as an ICU hex escape; for bytes, 0x80–0xFF are private-use units.
  mutating func emitLiteral(_ value: UInt32) {
    let v = bytes && value >= 0x80 ? 0xE000 | value : value
    emit("\\x{" + String(v, radix: 16) + "}")
  }

  func peek(_ offset: Int = 0) -> Unicode.Scalar? { i + offset < p.count ? p[i + offset] : nil }

  static func isDigit(_ s: Unicode.Scalar?) -> Bool { s.map { ("0"..."9").contains($0) } ?? false }
  static func isOctal(_ s: Unicode.Scalar?) -> Bool { s.map { ("0"..."7").contains($0) } ?? false }
  static func isHex(_ s: Unicode.Scalar?) -> Bool { s.map { $0.properties.isASCIIHexDigit } ?? false }

  mutating func translate() throws -> String {
    // Leading global flags, `(?im)`, possibly several groups.
    while peek() == "(", peek(1) == "?" {
      var j = i + 2
      var flags: [Unicode.Scalar] = []
      while j < p.count, "aiLmsux".unicodeScalars.contains(p[j]) {
        flags.append(p[j])
        j += 1
      }
      guard !flags.isEmpty, j < p.count, p[j] == ")" else { break }
      for f in flags where "imsx".unicodeScalars.contains(f) { globalFlags.insert(f) }
      i = j + 1
    }
    verbose = globalFlags.contains("x")
    globalFlags.remove("x")
    while i < p.count {
      let c = p[i]
      switch c {
      case "\\": try escape()
      case "[": try characterClass()
      case "(": try group()
      case "{": brace()
      case "}":
        emit("\\}")
        i += 1
      case _ where verbose && [" ", "\t", "\n", "\r", "\u{0B}", "\u{0C}"].contains(c):
        i += 1
      case "#" where verbose:
        while i < p.count, p[i] != "\n" { i += 1 }
      default:
        out.append(c)
        i += 1
      }
    }
    return String(out)
  }

  /// An escape outside a class.
  mutating func escape() throws {
    guard let c = peek(1) else { throw Failure(message: "bad escape (end of pattern)") }
    switch c {
    case "0":
      var j = i + 2
      while j < p.count, j < i + 4, Self.isOctal(p[j]) { j += 1 }
      emitLiteral(UInt32(String(String.UnicodeScalarView(p[(i + 1)..<j])), radix: 8)!)
      i = j
    case "1"..."9":
      var j = i + 2
      if Self.isDigit(peek(2)) {
        j += 1
        if Self.isOctal(c), Self.isOctal(peek(2)), Self.isOctal(peek(3)) {
          j += 1
          let value = UInt32(String(String.UnicodeScalarView(p[(i + 1)..<j])), radix: 8)!
          guard value <= 0o377 else { throw Failure(message: "octal escape value outside of range 0-0o377") }
          emitLiteral(value)
          i = j
          return
        }
      }
      let group = Int(String(String.UnicodeScalarView(p[(i + 1)..<j])))!
      guard group <= groups else { throw Failure(message: "invalid group reference \(group)") }
      emit("(?:\\\(group))")
      i = j
    case "x", "u", "U":
      let n = c == "x" ? 2 : c == "u" ? 4 : 8
      guard c == "x" || !bytes else { throw Failure(message: "bad escape \\\(c)") }
      guard i + 2 + n <= p.count, p[(i + 2)..<(i + 2 + n)].allSatisfy({ Self.isHex($0) }) else {
        throw Failure(message: "incomplete escape \\\(c)")
      }
      emitLiteral(UInt32(String(String.UnicodeScalarView(p[(i + 2)..<(i + 2 + n)])), radix: 16)!)
      i += 2 + n
    case "Z":
      emit("\\z")
      i += 2
    case "v":
      emit("\\x{b}")
      i += 2
    case "s" where bytes:
      emit("[\\t\\n\\x{b}\\f\\r ]")
      i += 2
    case "S" where bytes:
      emit("[^\\t\\n\\x{b}\\f\\r ]")
      i += 2
    default:
      out.append("\\")
      out.append(c)
      i += 2
    }
  }

  /// `[...]`: Python takes `[`, `&` and a leading `]` literally; ICU does not.
  mutating func characterClass() throws {
    emit("[")
    i += 1
    if peek() == "^" {
      emit("^")
      i += 1
    }
    if peek() == "]" {
      emit("\\]")
      i += 1
    }
    while true {
      guard let c = peek() else { throw Failure(message: "unterminated character set") }
      switch c {
      case "]":
        emit("]")
        i += 1
        return
      case "\\":
        guard let e = peek(1) else { throw Failure(message: "bad escape (end of pattern)") }
        switch e {
        case "0"..."7":
          var j = i + 2
          while j < p.count, j < i + 4, Self.isOctal(p[j]) { j += 1 }
          let value = UInt32(String(String.UnicodeScalarView(p[(i + 1)..<j])), radix: 8)!
          guard value <= 0o377 else { throw Failure(message: "octal escape value outside of range 0-0o377") }
          emitLiteral(value)
          i = j
        case "8", "9":
          throw Failure(message: "bad escape \\\(e)")
        case "x", "u", "U":
          let n = e == "x" ? 2 : e == "u" ? 4 : 8
          guard e == "x" || !bytes else { throw Failure(message: "bad escape \\\(e)") }
          guard i + 2 + n <= p.count, p[(i + 2)..<(i + 2 + n)].allSatisfy({ Self.isHex($0) }) else {
            throw Failure(message: "incomplete escape \\\(e)")
          }
          emitLiteral(UInt32(String(String.UnicodeScalarView(p[(i + 2)..<(i + 2 + n)])), radix: 16)!)
          i += 2 + n
        case "b":
          emit("\\x{8}")
          i += 2
        case "v":
          emit("\\x{b}")
          i += 2
        case "s" where bytes:
          emit("\\t\\n\\x{b}\\f\\r ")
          i += 2
        default:
          out.append("\\")
          out.append(e)
          i += 2
        }
      case "[", "&", "{", "}", "$":
        out.append("\\")
        out.append(c)
        i += 1
      default:
        out.append(c)
        i += 1
      }
    }
  }

  /// `(`: named groups become numbered ones, flags ICU lacks are dropped.
  mutating func group() throws {
    guard peek(1) == "?" else {
      groups += 1
      emit("(")
      i += 1
      return
    }
    let next = peek(2)
    if next == "P" {
      if peek(3) == "<" {
        guard let close = p[(i + 4)...].firstIndex(of: ">") else { throw Failure(message: "missing >, unterminated name") }
        let name = String(String.UnicodeScalarView(p[(i + 4)..<close]))
        guard !name.isEmpty, groupIndex[name] == nil else { throw Failure(message: "bad group name '\(name)'") }
        groups += 1
        groupIndex[name] = groups
        emit("(")
        i = close + 1
        return
      }
      if peek(3) == "=" {
        guard let close = p[(i + 4)...].firstIndex(of: ")") else { throw Failure(message: "missing ), unterminated name") }
        let name = String(String.UnicodeScalarView(p[(i + 4)..<close]))
        guard let index = groupIndex[name] else { throw Failure(message: "unknown group name '\(name)'") }
        emit("(?:\\\(index))")
        i = close + 1
        return
      }
      throw Failure(message: "unknown extension ?P")
    }
    if next == "#" {
      while i < p.count, p[i] != ")" { i += 1 }
      i += 1
      return
    }
    if next == "(" { throw Failure(message: "conditional groups (?(...)...) are not supported") }
    if let n = next, "aiLmsux-".unicodeScalars.contains(n) {
      // Scoped flags, `(?i:...)`, or global flags after the start (an error since Python 3.11).
      var j = i + 2
      var kept = ""
      while j < p.count, "aiLmsux-".unicodeScalars.contains(p[j]) {
        if !"aLu".unicodeScalars.contains(p[j]) { kept.unicodeScalars.append(p[j]) }
        j += 1
      }
      guard j < p.count, p[j] == ":" else { throw Failure(message: "global flags not at the start of the expression") }
      if kept.hasSuffix("-") { kept.removeLast() }
      emit("(?" + kept + ":")
      i = j + 1
      return
    }
    if next == "<", peek(3) != "=", peek(3) != "!" { throw Failure(message: "unknown extension ?<") }
    // (?: (?= (?! (?<= (?<! (?> pass through.
    emit("(?")
    i += 2
  }

  /// `{`: a quantifier as Python reads one (`{m}`, `{m,}`, `{,n}`, `{m,n}`), else a literal.
  mutating func brace() {
    var j = i + 1
    var low = ""
    var high = ""
    while j < p.count, Self.isDigit(p[j]) {
      low.unicodeScalars.append(p[j])
      j += 1
    }
    var comma = false
    if j < p.count, p[j] == "," {
      comma = true
      j += 1
      while j < p.count, Self.isDigit(p[j]) {
        high.unicodeScalars.append(p[j])
        j += 1
      }
    }
    guard j < p.count, p[j] == "}", peek(1) != "}" else {
      emit("\\{")
      i += 1
      return
    }
    emit("{" + (low.isEmpty ? "0" : low) + (comma ? "," + high : "") + "}")
    i = j + 1
  }
}

/// Python's `bytes.readlines()` / `splitlines(keepends=True)` on bytes.
enum ByteLines {
  /// `readlines()`: lines split after each `\n`, which they keep.
  static func readlines(_ data: [UInt8]) -> [[UInt8]] {
    var lines: [[UInt8]] = []
    var start = 0
    for (i, b) in data.enumerated() where b == 0x0A {
      lines.append(Array(data[start...i]))
      start = i + 1
    }
    if start < data.count { lines.append(Array(data[start...])) }
    return lines
  }

  /// `bytes.splitlines(True)`: lines end at `\n`, `\r\n` or `\r`, and keep their ending.
  static func splitlines(_ data: [UInt8]) -> [[UInt8]] {
    var lines: [[UInt8]] = []
    var start = 0
    var i = 0
    while i < data.count {
      if data[i] == 0x0A || data[i] == 0x0D {
        if data[i] == 0x0D, i + 1 < data.count, data[i + 1] == 0x0A { i += 1 }
        lines.append(Array(data[start...i]))
        start = i + 1
      }
      i += 1
    }
    if start < data.count { lines.append(Array(data[start...])) }
    return lines
  }

  /// `line.rstrip(b'\r\n')`.
  static func stripEnd(_ line: [UInt8]) -> ArraySlice<UInt8> {
    var end = line.count
    while end > 0, line[end - 1] == 0x0A || line[end - 1] == 0x0D { end -= 1 }
    return line[..<end]
  }

  /// Whether `needle` occurs in `haystack`: Python's `in` on bytes.
  static func contains(_ haystack: [UInt8], _ needle: [UInt8]) -> Bool {
    if needle.isEmpty { return true }
    guard needle.count <= haystack.count else { return false }
    for start in 0...(haystack.count - needle.count) where haystack[start] == needle[0] {
      if haystack[start..<(start + needle.count)].elementsEqual(needle) { return true }
    }
    return false
  }
}
