/// Reads INI inventory values the way Ansible does, with Python's `ast.literal_eval`:
/// `2222` is an int, `True` a bool, `[1, 2]` a list, `'a b'` a string; anything else
/// (`yes`, `web01`, `1.2.3`) stays the text it was.
enum PythonLiteral {
  static func parse(_ text: String) -> Value {
    var parser = Parser(Array(text.unicodeScalars))
    guard let value = parser.parseTop() else { return .string(text) }
    return value
  }

  private struct Parser {
    let s: [Unicode.Scalar]
    var i = 0

    init(_ s: [Unicode.Scalar]) { self.s = s }

    mutating func parseTop() -> Value? {
      skipSpace()
      guard let v = parseExpr() else { return nil }
      skipSpace()
      if i < s.count && s[i] == "#" { i = s.count }  // a Python comment
      return i == s.count ? v : nil
    }

    mutating func skipSpace() {
      while i < s.count, s[i] == " " || s[i] == "\t" { i += 1 }
    }

    mutating func parseExpr() -> Value? {
      skipSpace()
      guard i < s.count else { return nil }
      let c = s[i]
      switch c {
      case "[": return parseSequence(close: "]").map(Value.list)
      case "(":
        let save = i
        if let items = parseSequence(close: ")", tuple: true) { return .list(items) }
        i = save
        return nil
      case "{": return parseDict()
      case "'", "\"": return parseStrings()
      case "-", "+":
        i += 1
        skipSpace()
        guard let v = parseNumber() else { return nil }
        if c == "+" { return v }
        switch v {
        case .int(let n): return .int(-n)
        case .double(let d): return .double(-d)
        default: return nil
        }
      default:
        if c.properties.numericType != nil || c == "." { return parseNumber() }
        return parseName()
      }
    }

    mutating func parseName() -> Value? {
      let start = i
      while i < s.count, s[i].properties.isAlphabetic || s[i] == "_" || s[i].properties.numericType != nil {
        i += 1
      }
      switch String(String.UnicodeScalarView(s[start..<i])) {
      case "True": return .bool(true)
      case "False": return .bool(false)
      case "None": return .null
      default: return nil
      }
    }

    mutating func parseNumber() -> Value? {
      let start = i
      while i < s.count,
        s[i].properties.isAlphabetic || s[i].properties.numericType != nil || s[i] == "_"
          || s[i] == "." || ((s[i] == "+" || s[i] == "-") && i > start && (s[i - 1] == "e" || s[i - 1] == "E"))
      {
        i += 1
      }
      var text = String(String.UnicodeScalarView(s[start..<i]))
      guard !text.contains("__"), !text.hasSuffix("_"), !text.hasPrefix("_") else { return nil }
      text.removeAll { $0 == "_" }
      let lower = text.lowercased()
      for (prefix, radix) in [("0x", 16), ("0o", 8), ("0b", 2)] where lower.hasPrefix(prefix) {
        return Int(lower.dropFirst(2), radix: radix).map(Value.int)
      }
      if lower.allSatisfy(\.isASCIIDigit) {
        // Python 3 refuses leading zeros in decimal ints ("010"), except for zero itself.
        if lower.count > 1 && lower.hasPrefix("0") && lower.contains(where: { $0 != "0" }) {
          return nil
        }
        return Int(lower).map(Value.int)
      }
      guard lower.allSatisfy({ $0.isASCIIDigit || $0 == "." || $0 == "e" || $0 == "+" || $0 == "-" }),
        lower.contains(where: \.isASCIIDigit)
      else { return nil }
      return Double(lower.hasPrefix(".") ? "0" + lower : lower).map(Value.double)
    }

    /// Adjacent string literals concatenate, as in Python: `'a' 'b'` is `'ab'`.
    mutating func parseStrings() -> Value? {
      var result = ""
      guard let first = parseString() else { return nil }
      result += first
      while true {
        let save = i
        skipSpace()
        if i < s.count, s[i] == "'" || s[i] == "\"", let more = parseString() {
          result += more
        } else {
          i = save
          break
        }
      }
      return .string(result)
    }

    mutating func parseString() -> String? {
      let quote = s[i]
      var triple = false
      if i + 2 < s.count && s[i + 1] == quote && s[i + 2] == quote {
        triple = true
        i += 3
      } else {
        i += 1
      }
      var out = String.UnicodeScalarView()
      while i < s.count {
        let c = s[i]
        if c == quote {
          if !triple {
            i += 1
            return String(out)
          }
          if i + 2 < s.count && s[i + 1] == quote && s[i + 2] == quote {
            i += 3
            return String(out)
          }
        }
        if c == "\n" && !triple { return nil }
        if c == "\\" && i + 1 < s.count {
          i += 1
          let e = s[i]
          switch e {
          case "n": out.append("\n")
          case "t": out.append("\t")
          case "r": out.append("\r")
          case "0": out.append("\0")
          case "\\": out.append("\\")
          case "'": out.append("'")
          case "\"": out.append("\"")
          case "a": out.append("\u{07}")
          case "b": out.append("\u{08}")
          case "f": out.append("\u{0C}")
          case "v": out.append("\u{0B}")
          case "x", "u", "U":
            let n = e == "x" ? 2 : (e == "u" ? 4 : 8)
            guard i + n < s.count,
              let code = UInt32(String(String.UnicodeScalarView(s[(i + 1)...(i + n)])), radix: 16),
              let scalar = Unicode.Scalar(code)
            else { return nil }
            out.append(scalar)
            i += n
          case "\n": break
          default:
            out.append("\\")
            out.append(e)
          }
          i += 1
          continue
        }
        out.append(c)
        i += 1
      }
      return nil
    }

    mutating func parseSequence(close: Unicode.Scalar, tuple: Bool = false) -> [Value]? {
      i += 1
      var items: [Value] = []
      var sawComma = false
      while true {
        skipSpace()
        guard i < s.count else { return nil }
        if s[i] == close {
          i += 1
          // `(1)` is just 1 in Python, not a tuple; callers only get here for real sequences.
          if tuple && items.count == 1 && !sawComma { return nil }
          return items
        }
        guard let v = parseExpr() else { return nil }
        items.append(v)
        skipSpace()
        guard i < s.count else { return nil }
        if s[i] == "," {
          sawComma = true
          i += 1
        } else if s[i] != close {
          return nil
        }
      }
    }

    mutating func parseDict() -> Value? {
      i += 1
      var dict = OrderedDict()
      while true {
        skipSpace()
        guard i < s.count else { return nil }
        if s[i] == "}" {
          i += 1
          return .dict(dict)
        }
        guard let k = parseExpr() else { return nil }
        skipSpace()
        guard i < s.count, s[i] == ":" else { return nil }
        i += 1
        guard let v = parseExpr() else { return nil }
        switch k {
        case .string(let key): dict[key] = v
        case .int(let n): dict[String(n)] = v
        case .bool(let b): dict[b ? "True" : "False"] = v
        case .double(let d): dict[Value.pythonFloatRepr(d)] = v
        case .null: dict["None"] = v
        default: return nil
        }
        skipSpace()
        guard i < s.count else { return nil }
        if s[i] == "," {
          i += 1
        } else if s[i] != "}" {
          return nil
        }
      }
    }
  }
}

extension Character {
  fileprivate var isASCIIDigit: Bool { isASCII && isNumber }
}
