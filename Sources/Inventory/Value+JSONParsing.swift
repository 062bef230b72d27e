/// Reads JSON into a `Value`, keeping the int/float distinction and key order.
extension Value {
  public struct JSONParseError: Error, Sendable, Equatable, CustomStringConvertible {
    public var offset: Int
    public var message: String
    public var description: String { "invalid JSON at byte \(offset): \(message)" }
  }

  public static func parseJSON(_ text: String) throws(JSONParseError) -> Value {
    var parser = JSONParser(bytes: Array(text.utf8))
    parser.skipSpace()
    let value = try parser.parseValue(depth: 0)
    parser.skipSpace()
    guard parser.i == parser.bytes.count else { throw parser.error("unexpected text after the value") }
    return value
  }
}

private struct JSONParser {
  let bytes: [UInt8]
  var i = 0

  func error(_ message: String) -> Value.JSONParseError { Value.JSONParseError(offset: i, message: message) }

  mutating func skipSpace() {
    while i < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[i]) { i += 1 }
  }

  mutating func literal(_ word: String, _ value: Value) throws(Value.JSONParseError) -> Value {
    let w = Array(word.utf8)
    guard i + w.count <= bytes.count, Array(bytes[i..<i + w.count]) == w else { throw error("expected \(word)") }
    i += w.count
    return value
  }

  mutating func parseValue(depth: Int) throws(Value.JSONParseError) -> Value {
    // Bounded well below what a secondary thread's stack holds in a debug build.
    guard depth < 200 else { throw error("nested too deeply") }
    guard i < bytes.count else { throw error("unexpected end") }
    switch bytes[i] {
    case UInt8(ascii: "{"):
      i += 1
      var dict = OrderedDict()
      skipSpace()
      if i < bytes.count, bytes[i] == UInt8(ascii: "}") {
        i += 1
        return .dict(dict)
      }
      while true {
        skipSpace()
        guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw error("expected a key") }
        let key = try parseString()
        skipSpace()
        guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw error("expected ':'") }
        i += 1
        skipSpace()
        dict[key] = try parseValue(depth: depth + 1)
        skipSpace()
        guard i < bytes.count else { throw error("unexpected end") }
        if bytes[i] == UInt8(ascii: ",") {
          i += 1
        } else if bytes[i] == UInt8(ascii: "}") {
          i += 1
          return .dict(dict)
        } else {
          throw error("expected ',' or '}'")
        }
      }
    case UInt8(ascii: "["):
      i += 1
      var items: [Value] = []
      skipSpace()
      if i < bytes.count, bytes[i] == UInt8(ascii: "]") {
        i += 1
        return .list(items)
      }
      while true {
        skipSpace()
        items.append(try parseValue(depth: depth + 1))
        skipSpace()
        guard i < bytes.count else { throw error("unexpected end") }
        if bytes[i] == UInt8(ascii: ",") {
          i += 1
        } else if bytes[i] == UInt8(ascii: "]") {
          i += 1
          return .list(items)
        } else {
          throw error("expected ',' or ']'")
        }
      }
    case UInt8(ascii: "\""): return .string(try parseString())
    case UInt8(ascii: "t"): return try literal("true", .bool(true))
    case UInt8(ascii: "f"): return try literal("false", .bool(false))
    case UInt8(ascii: "n"): return try literal("null", .null)
    case UInt8(ascii: "N"): return try literal("NaN", .double(.nan))
    case UInt8(ascii: "I"): return try literal("Infinity", .double(.infinity))
    default: return try parseNumber()
    }
  }

  mutating func parseNumber() throws(Value.JSONParseError) -> Value {
    let start = i
    if i < bytes.count, bytes[i] == UInt8(ascii: "-") {
      i += 1
      if i < bytes.count, bytes[i] == UInt8(ascii: "I") { return try literal("Infinity", .double(-.infinity)) }
    }
    var isFloat = false
    while i < bytes.count {
      let b = bytes[i]
      if b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") {
        i += 1
      } else if b == UInt8(ascii: ".") || b == UInt8(ascii: "e") || b == UInt8(ascii: "E")
        || ((b == UInt8(ascii: "+") || b == UInt8(ascii: "-")) && isFloat)
      {
        isFloat = true
        i += 1
      } else {
        break
      }
    }
    let text = String(decoding: bytes[start..<i], as: UTF8.self)
    if !isFloat, let n = Int(text) { return .int(n) }
    guard let d = Double(text) else { throw error("invalid number '\(text)'") }
    return .double(d)
  }

  mutating func parseString() throws(Value.JSONParseError) -> String {
    i += 1
    var out = [UInt8]()
    while i < bytes.count {
      let b = bytes[i]
      if b == UInt8(ascii: "\"") {
        i += 1
        return String(decoding: out, as: UTF8.self)
      }
      if b == UInt8(ascii: "\\") {
        i += 1
        guard i < bytes.count else { break }
        let e = bytes[i]
        i += 1
        switch e {
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "u"):
          var code = try hex4()
          if (0xD800..<0xDC00).contains(code), i + 1 < bytes.count, bytes[i] == UInt8(ascii: "\\"),
            bytes[i + 1] == UInt8(ascii: "u")
          {
            i += 2
            let low = try hex4()
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
          }
          out.append(contentsOf: Array(String(Character(Unicode.Scalar(code) ?? "\u{FFFD}")).utf8))
        default: out.append(e)
        }
        continue
      }
      out.append(b)
      i += 1
    }
    throw error("unterminated string")
  }

  mutating func hex4() throws(Value.JSONParseError) -> UInt32 {
    guard i + 4 <= bytes.count, let v = UInt32(String(decoding: bytes[i..<i + 4], as: UTF8.self), radix: 16)
    else { throw error("bad \\u escape") }
    i += 4
    return v
  }
}
