import Foundation
import Inventory

/// A small YAML reader for the `from_yaml` filter: block mappings and sequences, flow
/// collections, quoted and plain scalars with YAML 1.1 types as PyYAML resolves them, and
/// `|` / `>` block scalars. Anchors, tags and multi-document streams are not supported.
enum YAMLReader {
  struct Failure: Error {
    var message: String
  }

  private struct Line {
    var indent: Int
    var text: Substring
    var number: Int
  }

  static func parse(_ text: String) throws -> Value {
    var lines: [Line] = []
    for (i, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
      var line = raw
      if line.hasSuffix("\r") { line = line.dropLast() }
      let body = stripComment(line)
      let trimmed = body.drop { $0 == " " }
      if trimmed.allSatisfy({ $0 == " " || $0 == "\t" }) { continue }
      if trimmed.hasPrefix("---") && (trimmed.count == 3 || trimmed.dropFirst(3).first == " ") {
        if trimmed.count == 3 { continue }
      }
      if trimmed == "..." { break }
      lines.append(Line(indent: body.count - trimmed.count, text: trimmed, number: i + 1))
    }
    var parser = Parser(
      lines: lines, raw: text.split(separator: "\n", omittingEmptySubsequences: false))
    guard !lines.isEmpty else { return .null }
    let v = try parser.node(minIndent: 0)
    guard parser.index == lines.count else {
      throw Failure(message: "unexpected content at line \(lines[parser.index].number)")
    }
    return v
  }

  /// Drops a `#` comment that starts the line or follows a space, outside quotes.
  private static func stripComment(_ line: Substring) -> Substring {
    var quote: Character?
    var previous: Character = " "
    for i in line.indices {
      let c = line[i]
      if let q = quote {
        if c == q { quote = nil }
      } else if c == "'" || c == "\"" {
        if previous == " " || previous == "[" || previous == "{" || previous == ":"
          || previous == "," || previous == "-"
        {
          quote = c
        }
      } else if c == "#" && (previous == " " || previous == "\t") {
        var out = line[..<i]
        while out.last == " " { out = out.dropLast() }
        return out
      }
      previous = c
    }
    return line
  }

  private struct Parser {
    var lines: [Line]
    let raw: [Substring]
    var index = 0

    init(lines: [Line], raw: [Substring]) {
      self.lines = lines
      self.raw = raw
    }

    func fail(_ message: String) -> Failure {
      let n = index < lines.count ? lines[index].number : lines.last?.number ?? 0
      return Failure(message: "\(message) at line \(n)")
    }

    static func isSequenceItem(_ t: Substring) -> Bool { t == "-" || t.hasPrefix("- ") }

    /// The key of a `key: value` line, and what follows the colon.
    static func splitKey(_ t: Substring) -> (String, Substring)? {
      if t.hasPrefix("[") || t.hasPrefix("{") { return nil }
      var quote: Character?
      var i = t.startIndex
      if let f = t.first, f == "'" || f == "\"" {
        quote = f
        i = t.index(after: i)
        while i < t.endIndex && t[i] != f { i = t.index(after: i) }
        guard i < t.endIndex else { return nil }
        i = t.index(after: i)
      }
      while i < t.endIndex {
        if t[i] == ":" {
          let next = t.index(after: i)
          if next == t.endIndex || t[next] == " " {
            let keyText = t[..<i]
            let key: String
            if quote != nil, let v = try? scalar(keyText.trimmingTrailingSpaces()) {
              key = v.pythonString
            } else {
              key = String(keyText.trimmingTrailingSpaces())
            }
            return (key, t[next...].drop { $0 == " " })
          }
        }
        if quote != nil { return nil }
        i = t.index(after: i)
      }
      return nil
    }

    mutating func node(minIndent: Int) throws -> Value {
      guard index < lines.count else { return .null }
      let line = lines[index]
      guard line.indent >= minIndent else { return .null }
      if Parser.isSequenceItem(line.text) { return try sequence(indent: line.indent) }
      if Parser.splitKey(line.text) != nil { return try mapping(indent: line.indent) }
      return try inlineValue(line.text, indent: line.indent)
    }

    /// A scalar or flow collection that starts on the current line and may continue on
    /// more indented lines.
    mutating func inlineValue(_ text: Substring, indent: Int) throws -> Value {
      var t = String(text)
      index += 1
      if let f = t.first, f == "[" || f == "{" || f == "\"" || f == "'" {
        while !YAMLReader.isComplete(t), index < lines.count, lines[index].indent > indent - 1 {
          t += " " + lines[index].text
          index += 1
        }
        return try Parser.scalar(Substring(t))
      }
      if t.hasPrefix("|") || t.hasPrefix(">") { return .string(try blockScalar(t, indent: indent)) }
      // A plain scalar folds the more indented lines that follow into one line.
      while index < lines.count, lines[index].indent > indent,
        Parser.splitKey(lines[index].text) == nil
      {
        t += " " + lines[index].text
        index += 1
      }
      return try Parser.scalar(Substring(t))
    }

    mutating func blockScalar(_ header: String, indent: Int) throws -> String {
      let folded = header.hasPrefix(">")
      let keep = header.contains("+")
      let strip = header.contains("-")
      // Block scalars keep blank lines and comments, so read the raw text.
      let start = lines[index - 1].number
      var body: [Substring] = []
      var n = start
      var contentIndent: Int?
      while n < raw.count {
        let r = raw[n]
        let spaces = r.prefix { $0 == " " }.count
        if r.allSatisfy({ $0 == " " }) {
          body.append("")
          n += 1
          continue
        }
        if contentIndent == nil { contentIndent = spaces }
        guard let ci = contentIndent, spaces >= ci, spaces > indent else { break }
        body.append(r.dropFirst(ci))
        n += 1
      }
      while index < lines.count && lines[index].number <= n { index += 1 }
      var trailing = 0
      while body.last == "" {
        body.removeLast()
        trailing += 1
      }
      var text: String
      if folded {
        text = ""
        for (i, l) in body.enumerated() {
          if i > 0 { text += (l.isEmpty || body[i - 1].isEmpty || l.hasPrefix(" ")) ? "\n" : " " }
          text += l
        }
      } else {
        text = body.joined(separator: "\n")
      }
      if strip { return text }
      if keep { return text + String(repeating: "\n", count: trailing + 1) }
      return body.isEmpty ? "" : text + "\n"
    }

    mutating func sequence(indent: Int) throws -> Value {
      var items: [Value] = []
      while index < lines.count, lines[index].indent == indent,
        Parser.isSequenceItem(lines[index].text)
      {
        let rest = lines[index].text.dropFirst().drop { $0 == " " }
        if rest.isEmpty {
          index += 1
          if index < lines.count && lines[index].indent > indent {
            items.append(try node(minIndent: indent + 1))
          } else {
            items.append(.null)
          }
          continue
        }
        // The item's content continues as if it started at its own column.
        let column = indent + (lines[index].text.count - rest.count)
        lines[index] = Line(indent: column, text: rest, number: lines[index].number)
        items.append(try node(minIndent: column))
      }
      return .list(items)
    }

    mutating func mapping(indent: Int) throws -> Value {
      var d = OrderedDict()
      while index < lines.count, lines[index].indent == indent,
        let (key, rest) = Parser.splitKey(lines[index].text)
      {
        if rest.isEmpty {
          index += 1
          if index < lines.count
            && (lines[index].indent > indent
              || (lines[index].indent == indent && Parser.isSequenceItem(lines[index].text)))
          {
            d[key] = try node(minIndent: indent)
          } else {
            d[key] = .null
          }
        } else {
          d[key] = try inlineValue(rest, indent: indent)
        }
      }
      return .dict(d)
    }

    /// A scalar or flow collection on one line.
    static func scalar(_ text: Substring) throws -> Value {
      var flow = FlowReader(chars: Array(text))
      let v = try flow.value(inFlow: false)
      flow.skipSpaces()
      guard flow.pos == flow.chars.count else {
        throw Failure(message: "unexpected characters after '\(text)'")
      }
      return v
    }
  }

  /// The value a plain (unquoted) scalar stands for under PyYAML's resolver.
  static func resolvePlain(_ s: String) -> Value {
    switch s {
    case "", "~", "null", "Null", "NULL": return .null
    case "true", "True", "TRUE", "yes", "Yes", "YES", "on", "On", "ON": return .bool(true)
    case "false", "False", "FALSE", "no", "No", "NO", "off", "Off", "OFF": return .bool(false)
    case ".inf", ".Inf", ".INF", "+.inf", "+.Inf", "+.INF": return .double(.infinity)
    case "-.inf", "-.Inf", "-.INF": return .double(-.infinity)
    case ".nan", ".NaN", ".NAN": return .double(.nan)
    default: break
    }
    var t = s.replacingOccurrences(of: "_", with: "")
    var negative = false
    if t.hasPrefix("-") || t.hasPrefix("+") {
      negative = t.hasPrefix("-")
      t.removeFirst()
    }
    guard let first = t.first, first.isNumber || first == "." else { return .string(s) }
    if t.allSatisfy({ $0.isASCII && $0.isNumber }) {
      if t.count > 1 && t.hasPrefix("0"), let o = Int(t, radix: 8) {
        return .int(negative ? -o : o)
      }
      if let i = Int(t) { return .int(negative ? -i : i) }
    }
    if t.hasPrefix("0x"), let h = Int(t.dropFirst(2), radix: 16) { return .int(negative ? -h : h) }
    if t.hasPrefix("0b"), let b = Int(t.dropFirst(2), radix: 2) { return .int(negative ? -b : b) }
    // YAML 1.1 floats need a dot: 1e3 is a string, 1.0e+3 a float.
    // PyYAML's YAML 1.1 float: the exponent needs a sign, so 1.5e3 stays a string.
    if let e = t.firstIndex(where: { $0 == "e" || $0 == "E" }) {
      let next = t.index(after: e)
      guard next < t.endIndex, t[next] == "+" || t[next] == "-" else { return .string(s) }
    }
    if t.contains("."), t.allSatisfy({ $0.isNumber || "eE+-.".contains($0) }), let d = Double(t) {
      return .double(negative ? -d : d)
    }
    return .string(s)
  }

  /// Whether quotes and brackets in a flow value are all closed.
  static func isComplete(_ s: String) -> Bool {
    var depth = 0
    var quote: Character?
    var previous: Character = " "
    for c in s {
      if let q = quote {
        if c == q && !(q == "\"" && previous == "\\") { quote = nil }
      } else if c == "'" || c == "\"" {
        quote = c
      } else if c == "[" || c == "{" {
        depth += 1
      } else if c == "]" || c == "}" {
        depth -= 1
      }
      previous = c
    }
    return depth <= 0 && quote == nil
  }

  /// Flow collections and quoted or plain scalars.
  private struct FlowReader {
    let chars: [Character]
    var pos = 0
    var depth = 0

    mutating func skipSpaces() {
      while pos < chars.count && (chars[pos] == " " || chars[pos] == "\t") { pos += 1 }
    }

    mutating func value(inFlow: Bool) throws -> Value {
      depth += 1
      defer { depth -= 1 }
      guard depth < 200 else { throw Failure(message: "nested too deeply") }
      skipSpaces()
      guard pos < chars.count else { return .null }
      switch chars[pos] {
      case "[":
        pos += 1
        var items: [Value] = []
        while true {
          skipSpaces()
          guard pos < chars.count else { throw Failure(message: "unclosed '['") }
          if chars[pos] == "]" {
            pos += 1
            return .list(items)
          }
          items.append(try value(inFlow: true))
          skipSpaces()
          if pos < chars.count && chars[pos] == "," { pos += 1 }
        }
      case "{":
        pos += 1
        var d = OrderedDict()
        while true {
          skipSpaces()
          guard pos < chars.count else { throw Failure(message: "unclosed '{'") }
          if chars[pos] == "}" {
            pos += 1
            return .dict(d)
          }
          let key = try value(inFlow: true)
          skipSpaces()
          var v = Value.null
          if pos < chars.count && chars[pos] == ":" {
            pos += 1
            v = try value(inFlow: true)
          }
          d[key.pythonString] = v
          skipSpaces()
          if pos < chars.count && chars[pos] == "," { pos += 1 }
        }
      case "'":
        pos += 1
        var s = ""
        while pos < chars.count {
          if chars[pos] == "'" {
            if pos + 1 < chars.count && chars[pos + 1] == "'" {
              s.append("'")
              pos += 2
              continue
            }
            pos += 1
            return .string(s)
          }
          s.append(chars[pos])
          pos += 1
        }
        throw Failure(message: "unclosed quoted scalar")
      case "\"":
        pos += 1
        var s = ""
        while pos < chars.count {
          let c = chars[pos]
          if c == "\"" {
            pos += 1
            return .string(s)
          }
          if c == "\\" && pos + 1 < chars.count {
            let e = chars[pos + 1]
            pos += 2
            switch e {
            case "n": s.append("\n")
            case "t": s.append("\t")
            case "r": s.append("\r")
            case "0": s.append("\0")
            case "x", "u", "U":
              let n = e == "x" ? 2 : e == "u" ? 4 : 8
              guard pos + n <= chars.count,
                let v = UInt32(String(chars[pos..<(pos + n)]), radix: 16),
                let u = Unicode.Scalar(v)
              else { throw Failure(message: "invalid escape") }
              s.unicodeScalars.append(u)
              pos += n
            default: s.append(e)
            }
            continue
          }
          s.append(c)
          pos += 1
        }
        throw Failure(message: "unclosed quoted scalar")
      default:
        var s = ""
        while pos < chars.count {
          let c = chars[pos]
          if inFlow && (c == "," || c == "]" || c == "}") { break }
          if inFlow && c == ":" && (pos + 1 == chars.count || chars[pos + 1] == " ") { break }
          s.append(c)
          pos += 1
        }
        while s.last == " " { s.removeLast() }
        return resolvePlain(s)
      }
    }
  }
}

extension Substring {
  fileprivate func trimmingTrailingSpaces() -> Substring {
    var s = self
    while s.last == " " { s = s.dropLast() }
    return s
  }
}
