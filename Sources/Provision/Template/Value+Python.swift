import Inventory

/// Python's `str()` and `repr()` of values, which is what Jinja2 prints when a template
/// outputs a list, a dict, a boolean or None.
extension Value {
  /// Python's `str(value)`: strings as they are, everything else as `repr`.
  var pythonString: String {
    switch self {
    case .string(let s): return s
    default: return pythonRepr
    }
  }

  /// Python's `repr(value)`: `['a', 1]`, `{'k': True}`, `None`, `1.0`.
  var pythonRepr: String {
    var out = ""
    writeRepr(into: &out)
    return out
  }

  private func writeRepr(into out: inout String) {
    switch self {
    case .null: out += "None"
    case .bool(let b): out += b ? "True" : "False"
    case .int(let i): out += String(i)
    case .double(let d): out += Value.pythonFloatRepr(d)
    case .string(let s): Value.writeStringRepr(s, into: &out)
    case .list(let items):
      out += "["
      for (i, item) in items.enumerated() {
        if i > 0 { out += ", " }
        item.writeRepr(into: &out)
      }
      out += "]"
    case .tuple(let items):
      out += "("
      for (i, item) in items.enumerated() {
        if i > 0 { out += ", " }
        item.writeRepr(into: &out)
      }
      out += items.count == 1 ? ",)" : ")"
    case .dict(let d):
      out += "{"
      var first = true
      for (k, v) in d {
        if !first { out += ", " }
        first = false
        Value.writeStringRepr(k, into: &out)
        out += ": "
        v.writeRepr(into: &out)
      }
      out += "}"
    }
  }

  /// Python quotes with `'` unless the text contains `'` and no `"`.
  static func writeStringRepr(_ s: String, into out: inout String) {
    let quote: Character = s.contains("'") && !s.contains("\"") ? "\"" : "'"
    out.append(quote)
    for scalar in s.unicodeScalars {
      switch scalar {
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      default:
        if Character(scalar) == quote {
          out += "\\"
          out.unicodeScalars.append(scalar)
        } else if scalar.value < 0x20 || scalar.value == 0x7F
          || (scalar.value >= 0x80 && scalar.value < 0xA0)
        {
          let hex = String(scalar.value, radix: 16)
          out += "\\x" + (hex.count < 2 ? "0" : "") + hex
        } else {
          out.unicodeScalars.append(scalar)
        }
      }
    }
    out.append(quote)
  }
}
