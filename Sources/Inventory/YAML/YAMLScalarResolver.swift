import Foundation

/// Types plain scalars the way PyYAML's YAML 1.1 resolver does, which is what Ansible uses.
///
/// `yes`/`no`/`on`/`off`/`true`/`false` in their lower, Capitalised and UPPER forms are booleans;
/// `0644` is octal (420); `1:30` is base 60 (90); `1e5` is a string but `1.0e+5` a float;
/// quoted and block scalars are always strings; `!!str`, `!!int`, `!!float`, `!!bool` and
/// `!!null` force a type.
public enum YAMLScalarResolver {
  static let strTag = "tag:yaml.org,2002:str"

  public static func resolve(_ text: String, style: YAMLNode.ScalarStyle, tag: String?) -> Value {
    if let tag {
      switch tag {
      case "tag:yaml.org,2002:str", "!", "!unsafe": return .string(text)
      case "tag:yaml.org,2002:int": return int(text).map(Value.int) ?? .string(text)
      case "tag:yaml.org,2002:float":
        return float(text).map(Value.double) ?? int(text).map { .double(Double($0)) } ?? .string(text)
      case "tag:yaml.org,2002:bool": return bool(text).map(Value.bool) ?? .string(text)
      case "tag:yaml.org,2002:null": return .null
      default: break  // `!vault` (decrypted by YAMLLoader) and other local tags keep their text
      }
      return .string(text)
    }
    guard style == .plain else { return .string(text) }
    return resolvePlain(text)
  }

  /// The value of an unquoted, untagged scalar.
  public static func resolvePlain(_ text: String) -> Value {
    guard let first = text.utf8.first else { return .null }
    switch first {
    case UInt8(ascii: "~"), UInt8(ascii: "n"), UInt8(ascii: "N"):
      if text == "~" || text == "null" || text == "Null" || text == "NULL" { return .null }
      if let b = bool(text) { return .bool(b) }
    case UInt8(ascii: "y"), UInt8(ascii: "Y"), UInt8(ascii: "t"), UInt8(ascii: "T"),
      UInt8(ascii: "f"), UInt8(ascii: "F"), UInt8(ascii: "o"), UInt8(ascii: "O"):
      if let b = bool(text) { return .bool(b) }
    case UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "+"),
      UInt8(ascii: "."):
      if let i = int(text) { return .int(i) }
      if let d = float(text) { return .double(d) }
    default: break
    }
    return .string(text)
  }

  static func bool(_ text: String) -> Bool? {
    switch text {
    case "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON": return true
    case "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF": return false
    default: return nil
    }
  }

  /// PyYAML's int forms: `0b1010`, `0o`-less octal `0755`, decimal, `0x1F`, base 60 `1:30`,
  /// each with an optional sign and `_` separators.
  static func int(_ text: String) -> Int? {
    var bytes = Array(text.utf8)
    var negative = false
    if let f = bytes.first, f == UInt8(ascii: "-") || f == UInt8(ascii: "+") {
      negative = f == UInt8(ascii: "-")
      bytes.removeFirst()
    }
    guard let first = bytes.first else { return nil }
    func digits(_ s: ArraySlice<UInt8>, radix: Int) -> Int? {
      guard !s.isEmpty else { return nil }
      var value = 0
      var seenDigit = false
      for b in s {
        if b == UInt8(ascii: "_") { continue }
        guard let d = digitValue(b), d < radix else { return nil }
        let (m, o1) = value.multipliedReportingOverflow(by: radix)
        let (a, o2) = m.addingReportingOverflow(d)
        if o1 || o2 { return nil }
        value = a
        seenDigit = true
      }
      return seenDigit || radix == 8 ? value : nil
    }
    var result: Int?
    if first == UInt8(ascii: "0") && bytes.count > 1 {
      let second = bytes[1]
      if second == UInt8(ascii: "b") {
        result = digits(bytes[2...], radix: 2)
      } else if second == UInt8(ascii: "x") {
        result = digits(bytes[2...], radix: 16)
      } else {
        result = digits(bytes[1...], radix: 8)
      }
    } else if bytes.contains(UInt8(ascii: ":")) {
      // Base 60: the first part starts 1-9, later parts are 0-59 written with one or two digits.
      guard first != UInt8(ascii: "0") else { return nil }
      let parts = bytes.split(separator: UInt8(ascii: ":"), omittingEmptySubsequences: false)
      guard var value = digits(parts[0], radix: 10) else { return nil }
      for part in parts.dropFirst() {
        guard (1...2).contains(part.count), let p = digits(part, radix: 10), p < 60 else {
          return nil
        }
        if part.count == 2 && part.first.map(digitValue) == nil { return nil }
        value = value * 60 + p
      }
      result = value
    } else {
      guard digitValue(first).map({ $0 < 10 }) == true else { return nil }
      result = digits(bytes[...], radix: 10)
    }
    guard let result else { return nil }
    return negative ? -result : result
  }

  /// PyYAML's float forms: `1.5`, `1.`, `.5`, `1.0e+3` (the exponent needs a sign),
  /// `.inf`, `-.Inf`, `.NaN`, and base 60 `1:30.5`.
  static func float(_ text: String) -> Double? {
    let bytes = Array(text.utf8)
    var i = 0
    var negative = false
    if i < bytes.count, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") {
      negative = bytes[i] == UInt8(ascii: "-")
      i += 1
    }
    let rest = String(decoding: bytes[i...], as: UTF8.self)
    switch rest {
    case ".inf", ".Inf", ".INF": return negative ? -.infinity : .infinity
    case ".nan", ".NaN", ".NAN": return i == 0 ? .nan : nil
    default: break
    }
    func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
    let start = i
    // Integer part: [0-9][0-9_]* (optional only when there is no sign).
    var intDigits = 0
    while i < bytes.count, isDigit(bytes[i]) || (intDigits > 0 && bytes[i] == UInt8(ascii: "_")) {
      intDigits += 1
      i += 1
    }
    if intDigits > 0, i < bytes.count, bytes[i] == UInt8(ascii: ":") {
      // Base 60 float: 190:20:30.15
      let parts = text.split(separator: ":", omittingEmptySubsequences: false)
      var value = 0.0
      for (n, part) in parts.enumerated() {
        let clean = part.replacingUnderscores().trimmingSign()
        guard let p = Double(clean) else { return nil }
        if n > 0 && (p >= 60 || (n < parts.count - 1 && clean.contains("."))) { return nil }
        value = value * 60 + p
      }
      guard parts.last?.contains(".") == true else { return nil }
      return negative ? -value : value
    }
    if intDigits == 0 && start != 0 { return nil }  // a sign needs digits before the point
    guard i < bytes.count, bytes[i] == UInt8(ascii: ".") else { return nil }
    i += 1
    var fracDigits = 0
    while i < bytes.count, isDigit(bytes[i]) || bytes[i] == UInt8(ascii: "_") {
      fracDigits += 1
      i += 1
    }
    if intDigits == 0 && fracDigits == 0 { return nil }
    if i < bytes.count {
      guard bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") else { return nil }
      i += 1
      guard i < bytes.count, bytes[i] == UInt8(ascii: "-") || bytes[i] == UInt8(ascii: "+") else {
        return nil
      }
      i += 1
      var expDigits = 0
      while i < bytes.count, isDigit(bytes[i]) {
        expDigits += 1
        i += 1
      }
      guard expDigits > 0, i == bytes.count else { return nil }
    }
    var clean = String(decoding: bytes.filter { $0 != UInt8(ascii: "_") }, as: UTF8.self)
    if clean.hasSuffix(".") { clean += "0" }
    if clean.hasPrefix(".") { clean = "0" + clean }
    clean = clean.replacingOccurrences(of: "+.", with: "+0.").replacingOccurrences(
      of: "-.", with: "-0.")
    return Double(clean)
  }

  private static func digitValue(_ b: UInt8) -> Int? {
    switch b {
    case UInt8(ascii: "0")...UInt8(ascii: "9"): return Int(b - UInt8(ascii: "0"))
    case UInt8(ascii: "a")...UInt8(ascii: "f"): return Int(b - UInt8(ascii: "a")) + 10
    case UInt8(ascii: "A")...UInt8(ascii: "F"): return Int(b - UInt8(ascii: "A")) + 10
    default: return nil
    }
  }
}

extension StringProtocol {
  fileprivate func replacingUnderscores() -> String { String(filter { $0 != "_" }) }
}

extension String {
  fileprivate func trimmingSign() -> String {
    hasPrefix("-") || hasPrefix("+") ? String(dropFirst()) : self
  }
}
