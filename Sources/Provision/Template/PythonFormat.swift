import Foundation
import Inventory

/// Python's string formatting: `'%s-%02d' % (a, b)` and `'{}:{:>5}'.format(a, b)`, which
/// templates use through the `%` operator, the `format` filter and `str.format`.
enum PythonFormat {
  /// A parsed format specification: `[[fill]align][sign][#][0][width][,][.precision][type]`.
  struct Spec {
    var fill: Character = " "
    var align: Character?
    var sign: Character = "-"
    var alternate = false
    var zeroPad = false
    var width = 0
    var grouping = false
    var precision: Int?
    var type: Character?
  }

  // MARK: printf style

  static func percent(_ format: String, _ args: Value, renderer: TemplateRenderer, at offset: Int)
    throws -> String
  {
    var positional: [Value]
    var mapping: OrderedDict?
    switch args {
    case .tuple(let l): positional = l
    case .dict(let d):
      positional = [args]
      mapping = d
    default: positional = [args]
    }
    var next = 0
    var out = ""
    let chars = Array(format)
    var i = 0
    func fail(_ message: String) -> TemplateError { renderer.error(.type(message), at: offset) }
    while i < chars.count {
      let c = chars[i]
      i += 1
      guard c == "%" else {
        out.append(c)
        continue
      }
      guard i < chars.count else { throw renderer.error(.value("incomplete format"), at: offset) }
      var key: String?
      if chars[i] == "(" {
        guard let close = chars[i...].firstIndex(of: ")") else {
          throw renderer.error(.value("incomplete format key"), at: offset)
        }
        key = String(chars[(i + 1)..<close])
        i = close + 1
      }
      var spec = Spec()
      while i < chars.count, "-+ #0".contains(chars[i]) {
        switch chars[i] {
        case "-": spec.align = "<"
        case "+": spec.sign = "+"
        case " ": if spec.sign != "+" { spec.sign = " " }
        case "#": spec.alternate = true
        default: spec.zeroPad = true
        }
        i += 1
      }
      func number() -> Int? {
        var digits = ""
        while i < chars.count, chars[i].isASCII, chars[i].isNumber {
          digits.append(chars[i])
          i += 1
        }
        return Int(digits)
      }
      if i < chars.count && chars[i] == "*" {
        i += 1
        guard next < positional.count, case .int(let w) = positional[next] else {
          throw fail("* wants int")
        }
        next += 1
        spec.width = w
      } else {
        spec.width = number() ?? 0
      }
      if i < chars.count && chars[i] == "." {
        i += 1
        spec.precision = number() ?? 0
      }
      while i < chars.count, "hlL".contains(chars[i]) { i += 1 }
      guard i < chars.count else { throw renderer.error(.value("incomplete format"), at: offset) }
      let type = chars[i]
      i += 1
      if type == "%" {
        out.append("%")
        continue
      }
      let arg: Value
      if let key {
        guard let mapping else { throw fail("format requires a mapping") }
        guard let v = mapping[key] else {
          throw renderer.error(.value("KeyError: '\(key)'"), at: offset)
        }
        arg = v
      } else {
        guard next < positional.count else { throw fail("not enough arguments for format string") }
        arg = positional[next]
        next += 1
      }
      if spec.zeroPad && spec.align == nil {
        spec.fill = "0"
        spec.align = "="
      }
      if spec.align == nil { spec.align = ">" }
      switch type {
      case "s":
        spec.type = "s"
        out += pad(truncate(arg.pythonString, spec.precision), spec)
      case "r", "a": out += pad(truncate(arg.pythonRepr, spec.precision), spec)
      case "d", "i", "u":
        spec.type = "d"
        spec.precision = nil
        guard let n = integer(arg) else {
          throw fail("%\(type) format: a real number is required, not \(arg.typeName)")
        }
        out += formatInteger(n, spec)
      case "x", "X", "o":
        spec.type = type
        guard let n = integer(arg, truncate: false) else {
          throw fail("%\(type) format: an integer is required, not \(arg.typeName)")
        }
        out += formatInteger(n, spec)
      case "f", "F", "e", "E", "g", "G":
        spec.type = type
        if spec.precision == nil { spec.precision = 6 }
        guard let d = real(arg) else {
          throw fail("must be real number, not \(arg.typeName)")
        }
        out += formatFloat(d, spec)
      case "c":
        if case .string(let s) = arg {
          out += pad(s, spec)
        } else if case .int(let n) = arg, let u = Unicode.Scalar(UInt32(clamping: n)) {
          out += pad(String(Character(u)), spec)
        }
      default:
        throw renderer.error(
          .value("unsupported format character '\(type)'"), at: offset)
      }
    }
    if mapping == nil && next < positional.count {
      throw fail("not all arguments converted during string formatting")
    }
    return out
  }

  private static func truncate(_ s: String, _ precision: Int?) -> String {
    guard let precision else { return s }
    return String(s.prefix(precision))
  }

  static func integer(_ v: Value, truncate: Bool = true) -> Int? {
    switch v {
    case .int(let i): return i
    case .bool(let b): return b ? 1 : 0
    case .double(let d) where truncate && d.isFinite && abs(d) < 9.2e18: return Int(d)
    default: return nil
    }
  }

  static func real(_ v: Value) -> Double? {
    switch v {
    case .int(let i): return Double(i)
    case .bool(let b): return b ? 1 : 0
    case .double(let d): return d
    default: return nil
    }
  }

  // MARK: Pieces

  static func pad(_ s: String, _ spec: Spec) -> String {
    let length = s.count
    guard spec.width > length else { return s }
    let n = spec.width - length
    let fill = String(repeating: spec.fill, count: n)
    switch spec.align {
    case "<": return s + fill
    case "^":
      let left = n / 2
      return String(repeating: spec.fill, count: left) + s
        + String(repeating: spec.fill, count: n - left)
    case "=":
      if let first = s.first, first == "-" || first == "+" || first == " " {
        return String(first) + fill + s.dropFirst()
      }
      return fill + s
    default: return fill + s
    }
  }

  private static func signed(_ digits: String, negative: Bool, _ spec: Spec) -> String {
    if negative { return "-" + digits }
    if spec.sign == "+" { return "+" + digits }
    if spec.sign == " " { return " " + digits }
    return digits
  }

  private static func group(_ digits: String) -> String {
    var out = ""
    for (i, c) in digits.reversed().enumerated() {
      if i > 0 && i % 3 == 0 { out.append(",") }
      out.append(c)
    }
    return String(out.reversed())
  }

  static func formatInteger(_ n: Int, _ spec: Spec) -> String {
    let magnitude = n.magnitude
    var digits: String
    switch spec.type {
    case "x": digits = (spec.alternate ? "0x" : "") + String(magnitude, radix: 16)
    case "X": digits = (spec.alternate ? "0X" : "") + String(magnitude, radix: 16).uppercased()
    case "o": digits = (spec.alternate ? "0o" : "") + String(magnitude, radix: 8)
    case "b": digits = (spec.alternate ? "0b" : "") + String(magnitude, radix: 2)
    default: digits = String(magnitude)
    }
    if spec.grouping { digits = group(digits) }
    return pad(signed(digits, negative: n < 0, spec), spec)
  }

  static func formatFloat(_ d: Double, _ spec: Spec) -> String {
    let precision = spec.precision ?? 6
    var body: String
    let negative = d < 0 || (d == 0 && d.sign == .minus)
    let m = abs(d)
    if m.isNaN {
      body = "nan"
    } else if m.isInfinite {
      body = "inf"
    } else {
      switch spec.type {
      case "e", "E":
        body = String(format: "%.\(precision)e", m)
      case "g", "G":
        body = String(format: "%\(spec.alternate ? "#" : "").\(precision)g", m)
      case "%":
        body = String(format: "%.\(precision)f", m * 100) + "%"
      case nil:
        body =
          spec.precision == nil
          ? Value.pythonFloatRepr(m)
          : String(format: "%.\(precision)g", m)
      default:
        body = String(format: "%.\(precision)f", m)
      }
      if spec.grouping, let dot = body.firstIndex(where: { !$0.isNumber }) {
        body = group(String(body[..<dot])) + body[dot...]
      } else if spec.grouping {
        body = group(body)
      }
    }
    if spec.type == "E" || spec.type == "G" || spec.type == "F" { body = body.uppercased() }
    return pad(signed(body, negative: negative, spec), spec)
  }

  // MARK: str.format

  /// Parses the part after `:` in a replacement field.
  static func parseSpec(_ text: String) -> Spec {
    var spec = Spec()
    var chars = Array(text)[...]
    if chars.count >= 2, "<>=^".contains(chars[chars.startIndex + 1]) {
      spec.fill = chars[chars.startIndex]
      spec.align = chars[chars.startIndex + 1]
      chars = chars.dropFirst(2)
    } else if let f = chars.first, "<>=^".contains(f) {
      spec.align = f
      chars = chars.dropFirst()
    }
    if let f = chars.first, "+- ".contains(f) {
      spec.sign = f
      chars = chars.dropFirst()
    }
    if chars.first == "#" {
      spec.alternate = true
      chars = chars.dropFirst()
    }
    if chars.first == "0" {
      spec.zeroPad = true
      chars = chars.dropFirst()
    }
    var width = ""
    while let f = chars.first, f.isASCII, f.isNumber {
      width.append(f)
      chars = chars.dropFirst()
    }
    spec.width = Int(width) ?? 0
    if chars.first == "," || chars.first == "_" {
      spec.grouping = true
      chars = chars.dropFirst()
    }
    if chars.first == "." {
      chars = chars.dropFirst()
      var p = ""
      while let f = chars.first, f.isASCII, f.isNumber {
        p.append(f)
        chars = chars.dropFirst()
      }
      spec.precision = Int(p) ?? 0
    }
    spec.type = chars.first
    return spec
  }

  /// Python's `format(value, spec)`.
  static func format(_ v: Value, spec text: String, renderer: TemplateRenderer, at offset: Int)
    throws -> String
  {
    var spec = parseSpec(text)
    if spec.zeroPad && spec.align == nil {
      spec.fill = "0"
      spec.align = "="
    }
    switch v {
    case .string(let s):
      if spec.align == nil { spec.align = "<" }
      guard spec.type == nil || spec.type == "s" else {
        throw renderer.error(
          .value("Unknown format code '\(spec.type ?? "s")' for object of type 'str'"),
          at: offset)
      }
      return pad(truncate(s, spec.precision), spec)
    case .int, .bool:
      if spec.align == nil { spec.align = ">" }
      if case .bool(let b) = v, spec.type == nil { return pad(b ? "True" : "False", spec) }
      let n = integer(v) ?? 0
      if let t = spec.type, "eEfFgG%".contains(t) { return formatFloat(Double(n), spec) }
      if spec.type == "c", let u = Unicode.Scalar(UInt32(clamping: n)) {
        return pad(String(Character(u)), spec)
      }
      return formatInteger(n, spec)
    case .double(let d):
      if spec.align == nil { spec.align = ">" }
      if let t = spec.type, "dxXob".contains(t) {
        throw renderer.error(
          .value("Unknown format code '\(t)' for object of type 'float'"), at: offset)
      }
      return formatFloat(d, spec)
    default:
      if spec.align == nil { spec.align = "<" }
      return pad(v.pythonString, spec)
    }
  }

  /// Python's `str.format(*args, **kwargs)`.
  static func strFormat(
    _ format: String, _ args: [Value], _ kwargs: OrderedDict, renderer: TemplateRenderer,
    at offset: Int
  ) throws -> String {
    var out = ""
    var auto = 0
    let chars = Array(format)
    var i = 0
    while i < chars.count {
      let c = chars[i]
      if c == "}" {
        guard i + 1 < chars.count, chars[i + 1] == "}" else {
          throw renderer.error(.value("Single '}' encountered in format string"), at: offset)
        }
        out.append("}")
        i += 2
        continue
      }
      guard c == "{" else {
        out.append(c)
        i += 1
        continue
      }
      if i + 1 < chars.count && chars[i + 1] == "{" {
        out.append("{")
        i += 2
        continue
      }
      guard let close = chars[i...].firstIndex(of: "}") else {
        throw renderer.error(.value("Single '{' encountered in format string"), at: offset)
      }
      var field = String(chars[(i + 1)..<close])
      i = close + 1
      var spec = ""
      if let colon = field.firstIndex(of: ":") {
        spec = String(field[field.index(after: colon)...])
        field = String(field[..<colon])
      }
      var conversion: Character?
      if let bang = field.firstIndex(of: "!") {
        conversion = field[field.index(after: bang)...].first
        field = String(field[..<bang])
      }
      var path = field.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
      let head = path.isEmpty ? "" : path.removeFirst()
      var v: Value
      if head.isEmpty {
        guard auto < args.count else {
          throw renderer.error(.value("Replacement index \(auto) out of range"), at: offset)
        }
        v = args[auto]
        auto += 1
      } else if let n = Int(head) {
        guard n < args.count else {
          throw renderer.error(.value("Replacement index \(n) out of range"), at: offset)
        }
        v = args[n]
      } else {
        var name = head
        var index: String?
        if let b = head.firstIndex(of: "[") {
          name = String(head[..<b])
          index = String(head[head.index(after: b)...].dropLast())
        }
        guard let x = kwargs[name] else {
          throw renderer.error(.value("KeyError: '\(name)'"), at: offset)
        }
        v = x
        if let index {
          if case .dict(let d) = v, let y = d[index] {
            v = y
          } else if let l = v.listValue, let n = Int(index), n < l.count {
            v = l[n]
          }
        }
      }
      for attr in path {
        if case .dict(let d) = v, let y = d[attr] { v = y }
      }
      switch conversion {
      case "r": v = .string(v.pythonRepr)
      case "s": v = .string(v.pythonString)
      default: break
      }
      out += try PythonFormat.format(v, spec: spec, renderer: renderer, at: offset)
    }
    return out
  }
}
