/// JSON output that matches Python's `json.dumps`, so that what we print can be compared
/// byte for byte with what Ansible prints.
extension Value {
  /// Options of Python's `json.dumps` that Ansible's tools use.
  public struct JSONStyle: Sendable {
    /// Spaces per level, or `nil` for one line with `", "` and `": "` separators.
    public var indent: Int?
    public var sortKeys: Bool
    /// Escape every non-ASCII character as `\uXXXX`, as Python does by default.
    public var ensureASCII: Bool

    public init(indent: Int? = nil, sortKeys: Bool = false, ensureASCII: Bool = true) {
      self.indent = indent
      self.sortKeys = sortKeys
      self.ensureASCII = ensureASCII
    }

    /// `ansible-inventory --list` and `--host`: four spaces, sorted keys.
    public static let ansibleInventory = JSONStyle(indent: 4, sortKeys: true)
    /// Ansible's `to_json` filter: one line, keys in order.
    public static let compact = JSONStyle()
  }

  /// The value as JSON text in the given style.
  public func jsonString(_ style: JSONStyle = .compact) -> String {
    // Built as bytes: a run's JSON output is tens of kilobytes in small pieces, and appending
    // to an array costs a fraction of appending to a String.
    var out: [UInt8] = []
    out.reserveCapacity(256)
    writeJSON(into: &out, style: style, level: 0)
    return String(decoding: out, as: UTF8.self)
  }

  private func writeJSON(into out: inout [UInt8], style: JSONStyle, level: Int) {
    switch self {
    case .null: out.append(contentsOf: "null".utf8)
    case .bool(let b): out.append(contentsOf: (b ? "true" : "false").utf8)
    case .int(let i): out.append(contentsOf: String(i).utf8)
    case .double(let d): out.append(contentsOf: Value.pythonFloatRepr(d, json: true).utf8)
    case .string(let s): Value.writeJSONString(s, into: &out, ensureASCII: style.ensureASCII)
    case .list(let items), .tuple(let items):
      if items.isEmpty {
        out.append(contentsOf: "[]".utf8)
        return
      }
      out.append(UInt8(ascii: "["))
      for (i, item) in items.enumerated() {
        if i > 0 { Value.separator(&out, style) }
        Value.newline(&out, style, level + 1)
        item.writeJSON(into: &out, style: style, level: level + 1)
      }
      Value.newline(&out, style, level)
      out.append(UInt8(ascii: "]"))
    case .dict(let dict):
      if dict.isEmpty {
        out.append(contentsOf: "{}".utf8)
        return
      }
      out.append(UInt8(ascii: "{"))
      let keys = style.sortKeys ? dict.keys.sorted(by: Value.pythonStringOrder) : dict.keys
      for (i, key) in keys.enumerated() {
        if i > 0 { Value.separator(&out, style) }
        Value.newline(&out, style, level + 1)
        Value.writeJSONString(key, into: &out, ensureASCII: style.ensureASCII)
        out.append(contentsOf: ": ".utf8)
        (dict[key] ?? .null).writeJSON(into: &out, style: style, level: level + 1)
      }
      Value.newline(&out, style, level)
      out.append(UInt8(ascii: "}"))
    }
  }

  /// Between items: `", "` on one line, `","` before an indented line.
  private static func separator(_ out: inout [UInt8], _ style: JSONStyle) {
    out.append(UInt8(ascii: ","))
    if style.indent == nil { out.append(UInt8(ascii: " ")) }
  }

  private static func newline(_ out: inout [UInt8], _ style: JSONStyle, _ level: Int) {
    guard let indent = style.indent else { return }
    out.append(10)
    out.append(contentsOf: repeatElement(UInt8(ascii: " "), count: indent * level))
  }

  /// Python orders strings by code point; Swift's `<` on String compares by grapheme
  /// clusters. UTF-8's byte order is code point order, so the bytes are compared.
  public static func pythonStringOrder(_ a: String, _ b: String) -> Bool {
    a.utf8.lexicographicallyPrecedes(b.utf8)
  }

  static func writeJSONString(_ s: String, into out: inout [UInt8], ensureASCII: Bool) {
    out.append(UInt8(ascii: "\""))
    // Most strings need no escape: appended whole, not a scalar at a time.
    let limit: UInt8 = ensureASCII ? 0x7E : 0xFF
    if s.utf8.allSatisfy({ $0 >= 0x20 && $0 <= limit && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) {
      out.append(contentsOf: s.utf8)
      out.append(UInt8(ascii: "\""))
      return
    }
    for scalar in s.unicodeScalars {
      switch scalar {
      case "\"": out.append(contentsOf: #"\""#.utf8)
      case "\\": out.append(contentsOf: #"\\"#.utf8)
      case "\n": out.append(contentsOf: #"\n"#.utf8)
      case "\r": out.append(contentsOf: #"\r"#.utf8)
      case "\t": out.append(contentsOf: #"\t"#.utf8)
      case "\u{08}": out.append(contentsOf: #"\b"#.utf8)
      case "\u{0C}": out.append(contentsOf: #"\f"#.utf8)
      default:
        if scalar.value < 0x20 || (ensureASCII && scalar.value > 0x7E) {
          if scalar.value > 0xFFFF {
            let v = scalar.value - 0x10000
            hex4(0xD800 + (v >> 10), into: &out)
            hex4(0xDC00 + (v & 0x3FF), into: &out)
          } else {
            hex4(scalar.value, into: &out)
          }
        } else {
          UTF8.encode(scalar) { out.append($0) }
        }
      }
    }
    out.append(UInt8(ascii: "\""))
  }

  /// `\uXXXX` in lowercase hex, as Python writes it.
  private static func hex4(_ v: UInt32, into out: inout [UInt8]) {
    out.append(contentsOf: #"\u"#.utf8)
    Hex.append(UInt8(v >> 8), to: &out)
    Hex.append(UInt8(v & 0xFF), to: &out)
  }

  /// Python's `repr(float)`: the shortest text that reads back as the same number.
  public static func pythonFloatRepr(_ d: Double, json: Bool = false) -> String {
    if d.isNaN { return json ? "NaN" : "nan" }
    if d.isInfinite { return d < 0 ? (json ? "-Infinity" : "-inf") : (json ? "Infinity" : "inf") }
    // Swift's description is also shortest-round-trip; it differs from Python only in when it
    // switches to exponent form and how it writes the exponent.
    let magnitude = abs(d)
    if magnitude != 0 && (magnitude >= 1e16 || magnitude < 1e-4) {
      let s = d.description  // like 1e-05 or 1.5e+16
      return s.contains("e") ? normaliseExponent(s) : s
    }
    var s = d.description
    if s.contains("e") {
      s = plainDecimal(d)
    }
    if !s.contains(".") { s += ".0" }
    return s
  }

  private static func normaliseExponent(_ s: String) -> String {
    // Python writes 1e-05, 1.5e+16: a sign and at least two exponent digits.
    guard let e = s.firstIndex(where: { $0 == "e" || $0 == "E" }) else { return s }
    var mantissa = String(s[..<e])
    var exp = String(s[s.index(after: e)...])
    var sign = "+"
    if exp.hasPrefix("-") {
      sign = "-"
      exp.removeFirst()
    } else if exp.hasPrefix("+") {
      exp.removeFirst()
    }
    while exp.count < 2 { exp = "0" + exp }
    if mantissa.hasSuffix(".0") { mantissa.removeLast(2) }
    return mantissa + "e" + sign + exp
  }

  private static func plainDecimal(_ d: Double) -> String {
    // Only reached for 1e-4 <= |d| < 1e16 when Swift chose exponent form.
    let s = d.description
    guard let e = s.firstIndex(of: "e"), let exp = Int(s[s.index(after: e)...]) else { return s }
    var mantissa = String(s[..<e])
    let negative = mantissa.hasPrefix("-")
    if negative { mantissa.removeFirst() }
    let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
    var digits = String(parts[0]) + (parts.count > 1 ? String(parts[1]) : "")
    var point = parts[0].count + exp
    if point <= 0 {
      digits = String(repeating: "0", count: -point + 1) + digits
      point = 1
    }
    while digits.count < point { digits += "0" }
    let intPart = digits.prefix(point)
    var frac = digits.dropFirst(point)
    while frac.hasSuffix("0") { frac.removeLast() }
    return (negative ? "-" : "") + intPart + "." + (frac.isEmpty ? "0" : frac)
  }
}
