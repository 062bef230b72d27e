import Foundation
import Inventory

/// YAML text as PyYAML's `yaml.dump` writes it for Ansible's `to_yaml` (flow style for
/// collections of scalars) and `to_nice_yaml` (block style, four-space indent).
struct YAMLWriter {
  var indent: Int
  /// PyYAML's `default_flow_style=None`: innermost collections on one line.
  var flowLeaves: Bool
  var sortKeys: Bool

  func write(_ value: Value) -> String {
    let v = value.tuplesAsLists
    var out = ""
    switch v {
    case .list(let l) where !l.isEmpty && !(flowLeaves && isLeaf(v)):
      writeBlock(v, into: &out, level: 0)
    case .dict(let d) where !d.isEmpty && !(flowLeaves && isLeaf(v)):
      writeBlock(v, into: &out, level: 0)
    case .list, .dict:
      var column = 0
      out += flow(v, column: &column, continuation: 2 * indent) + "\n"
    default:
      out += fold(scalar(v), column: 0, continuation: indent) + "\n"
    }
    return out
  }

  /// PyYAML's line width: plain and single-quoted scalars wrap at a space past it.
  private static let width = 80

  /// Wraps a plain or single-quoted scalar as PyYAML does, given the column it starts at:
  /// a single space after column 80 becomes a line break, and a line break inside a quoted
  /// scalar is written as an empty line, both followed by `continuation` spaces.
  func fold(_ text: String, column start: Int, continuation: Int) -> String {
    let chars = Array(text)
    guard let first = chars.first, first != "\"" else { return text }
    let quoted = first == "'"
    let pad = String(repeating: " ", count: continuation)
    var out = ""
    var column = start
    var i = 0
    while i < chars.count {
      let c = chars[i]
      if c == " ", i > 0, i + 1 < chars.count, chars[i - 1] != " ", chars[i + 1] != " ",
        column > YAMLWriter.width, !(quoted && (i == 1 || i == chars.count - 2))
      {
        out += "\n" + pad
        column = continuation
      } else if c == "\n" && quoted {
        var breaks = 0
        while i < chars.count && chars[i] == "\n" {
          breaks += 1
          i += 1
        }
        out += String(repeating: "\n", count: breaks + 1) + pad
        column = continuation
        continue
      } else {
        out.append(c)
        column += 1
      }
      i += 1
    }
    return out
  }

  private func column(of out: String) -> Int {
    var n = 0
    for c in out.reversed() {
      if c == "\n" { break }
      n += 1
    }
    return n
  }

  private func isLeaf(_ v: Value) -> Bool {
    switch v {
    case .list(let l): return l.allSatisfy { !isCollection($0) }
    case .dict(let d): return d.values.allSatisfy { !isCollection($0) }
    default: return true
    }
  }

  private func isCollection(_ v: Value) -> Bool {
    switch v {
    case .list, .dict: return true
    default: return false
    }
  }

  private func keys(_ d: OrderedDict) -> [String] {
    sortKeys ? d.keys.sorted(by: Value.pythonStringOrder) : d.keys
  }

  /// One-line form, for leaf collections and empty ones.
  private func flow(_ v: Value) -> String {
    var column = 0
    return flow(v, column: &column, continuation: 0, wraps: false)
  }

  /// Flow style that wraps past the line width as PyYAML does: before an item, and inside
  /// scalars, continuing at `continuation` spaces.
  private func flow(_ v: Value, column: inout Int, continuation: Int, wraps: Bool = true)
    -> String
  {
    var out = ""
    func put(_ s: String) {
      out += s
      if let nl = s.lastIndex(of: "\n") {
        column = s.distance(from: s.index(after: nl), to: s.endIndex)
      } else {
        column += s.count
      }
    }
    func breakIfWide() {
      if wraps && column > YAMLWriter.width {
        put("\n" + String(repeating: " ", count: continuation))
      }
    }
    func item(_ x: Value) {
      if isCollection(x) {
        put(flow(x, column: &column, continuation: continuation, wraps: wraps))
        return
      }
      let text = scalar(x, inFlow: true)
      put(wraps ? fold(text, column: column, continuation: continuation) : text)
    }
    switch v {
    case .list(let l):
      put("[")
      for (i, x) in l.enumerated() {
        if i > 0 { put(",") }
        breakIfWide()
        if i > 0 && !out.hasSuffix(" ") { put(" ") }
        item(x)
      }
      put("]")
    case .dict(let d):
      put("{")
      for (i, k) in keys(d).enumerated() {
        if i > 0 { put(",") }
        breakIfWide()
        if i > 0 && !out.hasSuffix(" ") { put(" ") }
        item(.string(k))
        put(": ")
        item(d[k] ?? .null)
      }
      put("}")
    default:
      item(v)
    }
    return out
  }

  /// Writes a non-empty collection in block style at `level` spaces.
  private func writeBlock(_ v: Value, into out: inout String, level: Int) {
    let pad = String(repeating: " ", count: level)
    switch v {
    case .list(let l):
      for item in l {
        // Scalars follow "- "; a nested block starts at the next indentation level.
        let nested =
          isCollection(item) && !(flowLeaves && isLeaf(item))
          && item != .list([]) && item != .dict(OrderedDict())
        out += pad + "-" + String(repeating: " ", count: nested ? max(indent - 1, 1) : 1)
        writeNested(item, into: &out, level: level + indent, inSequence: true)
      }
    case .dict(let d):
      for k in keys(d) {
        let item = d[k] ?? .null
        out += pad + scalar(.string(k)) + ":"
        writeNested(item, into: &out, level: level, inSequence: false)
      }
    default:
      out += pad + scalar(v) + "\n"
    }
  }

  private func writeNested(_ item: Value, into out: inout String, level: Int, inSequence: Bool) {
    let block: Bool
    switch item {
    case .list(let l): block = !l.isEmpty && !(flowLeaves && isLeaf(item))
    case .dict(let d): block = !d.isEmpty && !(flowLeaves && isLeaf(item))
    default: block = false
    }
    if !block {
      if isCollection(item) {
        if !inSequence { out += " " }
        var column = column(of: out)
        let continuation = (inSequence ? level - indent : level) + 2 * indent
        out += flow(item, column: &column, continuation: continuation) + "\n"
      } else {
        if !inSequence { out += " " }
        let continuation = inSequence ? level : level + indent
        out += fold(scalar(item), column: column(of: out), continuation: continuation) + "\n"
      }
      return
    }
    if inSequence {
      // The first entry shares the dash's line.
      var nested = ""
      writeBlock(item, into: &nested, level: level)
      out += String(nested.dropFirst(level))
      return
    }
    out += "\n"
    if case .list = item {
      writeBlock(item, into: &out, level: level)
    } else {
      writeBlock(item, into: &out, level: level + indent)
    }
  }

  private static let reserved: Set<String> = [
    "", "~", "null", "Null", "NULL", "true", "True", "TRUE", "false", "False", "FALSE", "yes",
    "Yes", "YES", "no", "No", "NO", "on", "On", "ON", "off", "Off", "OFF", "=", "<<",
  ]

  private func needsQuotes(_ s: String, inFlow: Bool) -> Bool {
    if YAMLWriter.reserved.contains(s) { return true }
    if YAMLReader.resolvePlain(s) != .string(s) { return true }
    guard let first = s.first, let last = s.last else { return true }
    if first == " " || last == " " { return true }
    if "-?:,[]{}#&*!|>'\"%@`".contains(first) {
      if first == "-" || first == "?" || first == ":" {
        if s.count == 1 || s.dropFirst().first == " " { return true }
      } else {
        return true
      }
    }
    if s.contains(": ") || s.contains(" #") || s.hasSuffix(":") { return true }
    if inFlow && s.contains(where: { ",[]{}".contains($0) }) { return true }
    return s.unicodeScalars.contains { $0.value < 0x20 || $0.value == 0x7F }
  }

  func scalar(_ v: Value, inFlow: Bool = false) -> String {
    switch v {
    case .null: return "null"
    case .bool(let b): return b ? "true" : "false"
    case .int(let i): return String(i)
    case .double(let d):
      if d.isNaN { return ".nan" }
      if d.isInfinite { return d < 0 ? "-.inf" : ".inf" }
      var r = Value.pythonFloatRepr(d)
      if r.contains("e") && !r.contains(".") {
        r = r.replacingOccurrences(of: "e", with: ".0e")
      }
      return r
    case .string(let s):
      if !needsQuotes(s, inFlow: inFlow) { return s }
      // Line breaks go in single quotes unless a space touches one or a control character
      // needs an escape; then only double quotes can hold the text.
      if s.unicodeScalars.contains(where: { $0.value < 0x20 && $0 != "\n" || $0.value == 0x7F })
        || s.contains(" \n") || s.contains("\n ")
      {
        var out = "\""
        for c in s.unicodeScalars {
          switch c {
          case "\n": out += "\\n"
          case "\t": out += "\\t"
          case "\"": out += "\\\""
          case "\\": out += "\\\\"
          default:
            if c.value < 0x20 || c.value == 0x7F {
              let h = String(c.value, radix: 16)
              out += "\\x" + (h.count < 2 ? "0" : "") + h
            } else {
              out.unicodeScalars.append(c)
            }
          }
        }
        return out + "\""
      }
      return "'" + s.replacingOccurrences(of: "'", with: "''") + "'"
    default: return flow(v)
    }
  }
}
