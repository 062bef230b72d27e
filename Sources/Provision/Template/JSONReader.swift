import Inventory

/// Reads JSON text into a `Value`, keeping Python's int/float split and key order.
enum JSONReader {
  struct Failure: Error {
    var message: String
  }

  static func parse(_ text: String) throws -> Value {
    var reader = Reader(bytes: Array(text.utf8))
    reader.skipSpace()
    let v = try reader.value(depth: 0)
    reader.skipSpace()
    guard reader.pos == reader.bytes.count else {
      throw Failure(message: "Extra data at offset \(reader.pos)")
    }
    return v
  }

  private struct Reader {
    let bytes: [UInt8]
    var pos = 0

    mutating func skipSpace() {
      while pos < bytes.count, [32, 9, 10, 13].contains(bytes[pos]) { pos += 1 }
    }

    func fail(_ what: String) -> Failure { Failure(message: "\(what) at offset \(pos)") }

    mutating func literal(_ word: String, _ v: Value) throws -> Value {
      let w = Array(word.utf8)
      guard pos + w.count <= bytes.count, Array(bytes[pos..<(pos + w.count)]) == w else {
        throw fail("Expecting value")
      }
      pos += w.count
      return v
    }

    mutating func value(depth: Int) throws -> Value {
      guard depth < 200 else { throw fail("Nesting too deep") }
      guard pos < bytes.count else { throw fail("Expecting value") }
      switch bytes[pos] {
      case UInt8(ascii: "{"):
        pos += 1
        var d = OrderedDict()
        skipSpace()
        if pos < bytes.count && bytes[pos] == UInt8(ascii: "}") {
          pos += 1
          return .dict(d)
        }
        while true {
          skipSpace()
          guard pos < bytes.count, bytes[pos] == UInt8(ascii: "\"") else {
            throw fail("Expecting property name enclosed in double quotes")
          }
          let k = try string()
          skipSpace()
          guard pos < bytes.count, bytes[pos] == UInt8(ascii: ":") else {
            throw fail("Expecting ':' delimiter")
          }
          pos += 1
          skipSpace()
          d[k] = try value(depth: depth + 1)
          skipSpace()
          guard pos < bytes.count else { throw fail("Expecting ',' delimiter") }
          if bytes[pos] == UInt8(ascii: ",") {
            pos += 1
            continue
          }
          guard bytes[pos] == UInt8(ascii: "}") else { throw fail("Expecting ',' delimiter") }
          pos += 1
          return .dict(d)
        }
      case UInt8(ascii: "["):
        pos += 1
        var items: [Value] = []
        skipSpace()
        if pos < bytes.count && bytes[pos] == UInt8(ascii: "]") {
          pos += 1
          return .list(items)
        }
        while true {
          skipSpace()
          items.append(try value(depth: depth + 1))
          skipSpace()
          guard pos < bytes.count else { throw fail("Expecting ',' delimiter") }
          if bytes[pos] == UInt8(ascii: ",") {
            pos += 1
            continue
          }
          guard bytes[pos] == UInt8(ascii: "]") else { throw fail("Expecting ',' delimiter") }
          pos += 1
          return .list(items)
        }
      case UInt8(ascii: "\""): return .string(try string())
      case UInt8(ascii: "t"): return try literal("true", .bool(true))
      case UInt8(ascii: "f"): return try literal("false", .bool(false))
      case UInt8(ascii: "n"): return try literal("null", .null)
      case UInt8(ascii: "N"): return try literal("NaN", .double(.nan))
      case UInt8(ascii: "I"): return try literal("Infinity", .double(.infinity))
      default: return try number()
      }
    }

    mutating func number() throws -> Value {
      let start = pos
      if pos < bytes.count && bytes[pos] == UInt8(ascii: "-") {
        pos += 1
        if pos < bytes.count && bytes[pos] == UInt8(ascii: "I") {
          _ = try literal("Infinity", .null)
          return .double(-.infinity)
        }
      }
      var isFloat = false
      while pos < bytes.count {
        let c = bytes[pos]
        if c >= 48 && c <= 57 {
          pos += 1
        } else if c == UInt8(ascii: ".") || c == UInt8(ascii: "e") || c == UInt8(ascii: "E")
          || ((c == UInt8(ascii: "+") || c == UInt8(ascii: "-")) && isFloat)
        {
          isFloat = true
          pos += 1
        } else {
          break
        }
      }
      let text = String(decoding: bytes[start..<pos], as: UTF8.self)
      if !isFloat, let i = Int(text) { return .int(i) }
      guard let d = Double(text), !text.isEmpty else {
        pos = start
        throw fail("Expecting value")
      }
      return .double(d)
    }

    mutating func hex4() throws -> UInt32 {
      guard pos + 4 <= bytes.count,
        let v = UInt32(String(decoding: bytes[pos..<(pos + 4)], as: UTF8.self), radix: 16)
      else { throw fail("Invalid \\uXXXX escape") }
      pos += 4
      return v
    }

    mutating func string() throws -> String {
      pos += 1
      var out: [UInt8] = []
      while pos < bytes.count {
        let c = bytes[pos]
        pos += 1
        if c == UInt8(ascii: "\"") { return String(decoding: out, as: UTF8.self) }
        guard c == UInt8(ascii: "\\") else {
          out.append(c)
          continue
        }
        guard pos < bytes.count else { break }
        let e = bytes[pos]
        pos += 1
        switch e {
        case UInt8(ascii: "n"): out.append(10)
        case UInt8(ascii: "t"): out.append(9)
        case UInt8(ascii: "r"): out.append(13)
        case UInt8(ascii: "b"): out.append(8)
        case UInt8(ascii: "f"): out.append(12)
        case UInt8(ascii: "u"):
          var v = try hex4()
          if v >= 0xD800 && v < 0xDC00, pos + 6 <= bytes.count, bytes[pos] == UInt8(ascii: "\\"),
            bytes[pos + 1] == UInt8(ascii: "u")
          {
            pos += 2
            let low = try hex4()
            v = 0x10000 + ((v - 0xD800) << 10) + (low &- 0xDC00 & 0x3FF)
          }
          let scalar = Unicode.Scalar(v) ?? "\u{FFFD}"
          out.append(contentsOf: Array(String(Character(scalar)).utf8))
        default: out.append(e)
        }
      }
      throw fail("Unterminated string")
    }
  }
}
