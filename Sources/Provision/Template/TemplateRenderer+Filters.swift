import Foundation
import Inventory

/// Jinja2's built-in filters and the Ansible filters playbooks use most.
extension TemplateRenderer {
  func applyFilter(
    _ name: String, to input: TemplateObject, _ args: TemplateArguments, at offset: Int
  ) throws -> TemplateObject {
    let bound = try bindArguments(args, at: offset)
    return try filter(Self.shortName(name), input, bound, at: offset)
  }

  /// Ansible's size units, largest first, for `human_readable` and `human_to_bytes`.
  static let sizeRanges: [(String, Double)] = [
    ("Y", 0x1p80), ("Z", 0x1p70), ("E", 0x1p60), ("P", 0x1p50), ("T", 0x1p40), ("G", 0x1p30),
    ("M", 0x1p20), ("K", 0x1p10), ("B", 1),
  ]

  /// `ansible.builtin.to_json` is `to_json`: builtin plugins answer to their full names too.
  static func shortName(_ name: String) -> String {
    for prefix in ["ansible.builtin.", "ansible.legacy."] where name.hasPrefix(prefix) {
      return String(name.dropFirst(prefix.count))
    }
    return name
  }

  /// Attribute paths of `map(attribute=...)`, `sort(attribute=...)`: `a.b.0`.
  func attributePath(_ v: Value, _ path: String, at offset: Int) throws -> TemplateObject {
    var current = TemplateObject.value(v)
    for part in path.split(separator: ".") {
      let key: Value = Int(part).map { .int($0) } ?? .string(String(part))
      current = try getItem(current, .value(key), at: offset)
    }
    return current
  }

  private func list(_ v: Value, _ name: String, at offset: Int) throws -> [Value] {
    try iterate(v, at: offset)
  }

  private func string(_ v: Value) -> String { v.pythonString }

  private func sortKey(_ v: Value, caseSensitive: Bool) -> Value {
    if !caseSensitive, case .string(let s) = v { return .string(s.lowercased()) }
    return v
  }

  private func sorted(
    _ items: [Value], reverse: Bool, key: (Value) throws -> Value, at offset: Int
  ) throws -> [Value] {
    let keyed = try items.map { ($0, try key($0)) }
    var failure: TemplateError?
    let result = keyed.enumerated().sorted { a, b in
      let (x, y) = (a.element.1, b.element.1)
      guard let less = TemplateOperators.lessThan(reverse ? y : x, reverse ? x : y) else {
        failure = self.error(
          .type("'<' not supported between instances of '\(x.typeName)' and '\(y.typeName)'"),
          at: offset)
        return a.offset < b.offset
      }
      if less { return true }
      if TemplateOperators.lessThan(reverse ? x : y, reverse ? y : x) == true { return false }
      return a.offset < b.offset
    }
    if let failure { throw failure }
    return result.map { $0.element.0 }
  }

  private func unique(_ items: [Value], caseSensitive: Bool, attribute: String?, at offset: Int)
    throws -> [Value]
  {
    var seen: [Value] = []
    var out: [Value] = []
    for item in items {
      var key = item
      if let attribute {
        key = try value(try attributePath(item, attribute, at: offset), at: offset)
      }
      key = sortKey(key, caseSensitive: caseSensitive)
      if !seen.contains(key) {
        seen.append(key)
        out.append(item)
      }
    }
    return out
  }

  private func toInt(_ v: Value, default fallback: Value, base: Int) -> Value {
    switch v {
    case .int: return v
    case .bool(let b): return .int(b ? 1 : 0)
    case .double(let d): return d.isFinite && abs(d) < 9.2e18 ? .int(Int(d)) : fallback
    case .string(let raw):
      var s = raw.trimmingSpaces().replacingOccurrences(of: "_", with: "")
      var negative = false
      if s.hasPrefix("-") || s.hasPrefix("+") {
        negative = s.hasPrefix("-")
        s.removeFirst()
      }
      let prefixes = [16: "0x", 8: "0o", 2: "0b"]
      if let p = prefixes[base], s.lowercased().hasPrefix(p) { s.removeFirst(2) }
      if let i = Int(s, radix: base) { return .int(negative ? -i : i) }
      // Jinja2 falls back to float parsing for base 10: int('3.5') gives 3.
      if base == 10, let d = Double(s), d.isFinite, abs(d) < 9.2e18 {
        return .int(Int(negative ? -d : d))
      }
      return fallback
    default: return fallback
    }
  }

  private func toFloat(_ v: Value, default fallback: Value) -> Value {
    switch v {
    case .int(let i): return .double(Double(i))
    case .bool(let b): return .double(b ? 1 : 0)
    case .double: return v
    case .string(let s):
      let t = s.trimmingSpaces().lowercased()
      if t == "inf" || t == "infinity" || t == "+inf" { return .double(.infinity) }
      if t == "-inf" || t == "-infinity" { return .double(-.infinity) }
      if t == "nan" { return .double(.nan) }
      if let d = Double(t.replacingOccurrences(of: "_", with: "")) { return .double(d) }
      return fallback
    default: return fallback
    }
  }

  private func flatten(_ items: [Value], levels: Int?, skipNulls: Bool) -> [Value] {
    var out: [Value] = []
    for item in items {
      if skipNulls && (item == .null || item == "None" || item == "null") { continue }
      if let inner = item.listValue, levels.map({ $0 >= 1 }) ?? true {
        out += flatten(inner, levels: levels.map { $0 - 1 }, skipNulls: skipNulls)
      } else {
        out.append(item)
      }
    }
    return out
  }

  private func combine(_ a: OrderedDict, _ b: OrderedDict, recursive: Bool, listMerge: String)
    -> OrderedDict
  {
    var out = a
    for (k, v) in b {
      if recursive, case .dict(let x)? = out[k], case .dict(let y) = v {
        out[k] = .dict(combine(x, y, recursive: true, listMerge: listMerge))
      } else if case .list(let x)? = out[k], case .list(let y) = v, listMerge != "replace" {
        switch listMerge {
        case "keep": break
        case "append": out[k] = .list(x + y)
        case "prepend": out[k] = .list(y + x)
        case "append_rp": out[k] = .list(x.filter { !y.contains($0) } + y)
        case "prepend_rp": out[k] = .list(y + x.filter { !y.contains($0) })
        default: out[k] = v
        }
      } else {
        out[k] = v
      }
    }
    return out
  }

  /// POSIX shell quoting as Python's `shlex.quote`.
  static func shellQuote(_ s: String) -> String {
    if s.isEmpty { return "''" }
    let safe = s.unicodeScalars.allSatisfy { c in
      (c.value < 128)
        && (CharacterSet.alphanumerics.contains(c)
          || "@%+=:,./-_".unicodeScalars
            .contains(c))
    }
    if safe { return s }
    return "'" + s.replacingOccurrences(of: "'", with: "'\"'\"'") + "'"
  }

  private func indent(_ s: String, width: String, first: Bool, blank: Bool) -> String {
    var lines = s.components(separatedBy: "\n")
    for i in lines.indices {
      if i == 0 && !first { continue }
      if lines[i].isEmpty && !blank { continue }
      lines[i] = width + lines[i]
    }
    return lines.joined(separator: "\n")
  }

  private func wordwrap(_ s: String, width: Int, breakLong: Bool, wrapstring: String) -> String {
    // Jinja2 uses textwrap with replace_whitespace=False on each paragraph line.
    var outLines: [String] = []
    for line in s.components(separatedBy: "\n") {
      var current = ""
      for word in line.split(separator: " ", omittingEmptySubsequences: true) {
        var w = String(word)
        if current.isEmpty {
          current = w
        } else if current.count + 1 + w.count <= width {
          current += " " + w
        } else {
          outLines.append(current)
          current = w
        }
        while breakLong && current.count > width {
          outLines.append(String(current.prefix(width)))
          current = String(current.dropFirst(width))
          w = current
        }
      }
      outLines.append(current)
    }
    return outLines.joined(separator: wrapstring)
  }

  // swiftlint:disable:next cyclomatic_complexity function_body_length
  func filter(
    _ name: String, _ input: TemplateObject, _ a: TemplateCallArguments, at offset: Int
  ) throws -> TemplateObject {
    func v() throws -> Value { try value(input, at: offset) }
    func fail(_ message: String) -> TemplateError { error(.type(message), at: offset) }
    switch name {
    case "default", "d":
      let p = try a.bind(name, ["default_value", "boolean"])
      let useDefault = try a.bool(p[1], false)
      if try input.isUndefined || (useDefault && !v().isTruthy) {
        return p[0] ?? .value("")
      }
      return input
    case "mandatory":
      let p = try a.bind(name, ["msg"])
      if case .undefined(let message) = input {
        if let msg = p[0] {
          throw error(.failed(try value(msg, at: offset).pythonString), at: offset)
        }
        let name =
          message.hasPrefix("'") && message.hasSuffix("' is undefined")
          ? String(message.dropLast(" is undefined".count)) + " " : ""
        // Ansible's message has two spaces after the name.
        throw error(.failed("Mandatory variable \(name) not defined."), at: offset)
      }
      return input
    case "bool":
      _ = try a.bind(name, [])
      let x = try v()
      switch x {
      case .null, .bool: return .value(x)
      case .string(let s):
        return .value(.bool(["yes", "on", "1", "true"].contains(s.lowercased())))
      case .int(let i): return .value(.bool(i == 1))
      case .double(let d): return .value(.bool(d == 1))
      default: return .value(.bool(false))
      }
    case "int":
      let p = try a.bind(name, ["default", "base"])
      return .value(
        toInt(try v(), default: try a.value(p[0], .int(0)), base: try a.int(p[1], 10, name)))
    case "float":
      let p = try a.bind(name, ["default"])
      return .value(toFloat(try v(), default: try a.value(p[0], .double(0))))
    case "string":
      return .value(.string(try v().pythonString))
    case "lower": return .value(.string(string(try v()).lowercased()))
    case "upper": return .value(.string(string(try v()).uppercased()))
    case "capitalize": return .value(.string(TemplateStrings.capitalize(string(try v()))))
    case "title": return .value(.string(TemplateStrings.title(string(try v()))))
    case "trim":
      let p = try a.bind(name, ["chars"])
      let s = string(try v())
      if let chars = p[0], case .string(let cs) = try value(chars, at: offset) {
        var sub = Substring(s)
        while let f = sub.first, cs.contains(f) { sub.removeFirst() }
        while let l = sub.last, cs.contains(l) { sub.removeLast() }
        return .value(.string(String(sub)))
      }
      return .value(.string(s.trimmingCharacters(in: .whitespacesAndNewlines)))
    case "replace":
      let p = try a.bind(name, ["old", "new", "count"], required: 2)
      return .value(
        .string(
          TemplateStrings.replace(
            string(try v()), string(try a.value(p[0], "")), string(try a.value(p[1], "")),
            count: try a.int(p[2], -1, name))))
    case "regex_replace":
      let p = try a.bind(
        name, ["pattern", "replacement", "ignorecase", "multiline", "count", "mandatory_count"])
      let re = try regex(
        string(try a.value(p[0], "")), ignoreCase: try a.bool(p[2], false),
        multiline: try a.bool(p[3], false), at: offset)
      let (out, n) = re.replace(
        string(try v()), with: string(try a.value(p[1], "")), count: try a.int(p[4], 0, name))
      let mandatory = try a.int(p[5], 0, name)
      if mandatory != 0 && mandatory != n {
        throw error(
          .failed(
            "'\(string(try a.value(p[0], "")))' should match \(mandatory) times,"
              + " but matches \(n) times"),
          at: offset)
      }
      return .value(.string(out))
    case "regex_search":
      var ignoreCase = false
      var multiline = false
      for (k, x) in a.keywords {
        if k == "ignorecase" {
          ignoreCase = try value(x, at: offset).isTruthy
        } else if k == "multiline" {
          multiline = try value(x, at: offset).isTruthy
        } else {
          throw error(
            .wrongArguments(name, "got an unexpected keyword argument '\(k)'"), at: offset)
        }
      }
      guard let first = a.positional.first else {
        throw error(.wrongArguments(name, "missing required argument 'regex'"), at: offset)
      }
      let s = string(try v())
      let re = try regex(
        string(try value(first, at: offset)), ignoreCase: ignoreCase,
        multiline: multiline, at: offset)
      guard let m = re.firstMatch(in: s) else { return .value(.null) }
      let refs = try a.positional.dropFirst().map { string(try value($0, at: offset)) }
      if refs.isEmpty {
        return .value(TemplateRegex.group(m, 0, in: s).map { .string($0) } ?? .null)
      }
      var groups: [Value] = []
      for ref in refs {
        if ref.hasPrefix("\\g<"), ref.hasSuffix(">") {
          let n = String(ref.dropFirst(3).dropLast())
          groups.append(re.group(m, named: n, in: s).map { .string($0) } ?? .null)
        } else if ref.hasPrefix("\\"), let k = Int(ref.dropFirst()) {
          groups.append(TemplateRegex.group(m, k, in: s).map { .string($0) } ?? .null)
        } else {
          throw error(.value("Unknown argument"), at: offset)
        }
      }
      return .value(.list(groups))
    case "regex_findall":
      let p = try a.bind(name, ["regex", "multiline", "ignorecase"], required: 1)
      let s = string(try v())
      let re = try regex(
        string(try a.value(p[0], "")), ignoreCase: try a.bool(p[2], false),
        multiline: try a.bool(p[1], false), at: offset)
      let groups = re.regex.numberOfCaptureGroups
      return .value(
        .list(
          re.matches(in: s).map { m in
            if groups == 0 { return .string(TemplateRegex.group(m, 0, in: s) ?? "") }
            if groups == 1 { return .string(TemplateRegex.group(m, 1, in: s) ?? "") }
            return .tuple((1...groups).map { .string(TemplateRegex.group(m, $0, in: s) ?? "") })
          }))
    case "regex_escape":
      let s = string(try v())
      var out = ""
      for c in s {
        if !(c.isLetter || c.isNumber || c == "_") || !c.isASCII { out.append("\\") }
        out.append(c)
      }
      return .value(.string(out))
    case "split":
      let p = try a.bind(name, ["sep", "maxsplit"])
      let sep = try a.value(p[0], .null)
      return .value(
        .list(
          try TemplateStrings.split(
            string(try v()), separator: sep == .null ? nil : string(sep),
            maxSplit: try a.int(p[1], -1, name), fromRight: false, renderer: self, at: offset
          ).map { .string($0) }))
    case "join":
      let p = try a.bind(name, ["d", "attribute"])
      let sep = string(try a.value(p[0], ""))
      var items = try list(try v(), name, at: offset)
      if let attr = p[1] {
        let path = string(try value(attr, at: offset))
        items = try items.map { try value(try attributePath($0, path, at: offset), at: offset) }
      }
      return .value(.string(items.map { $0.pythonString }.joined(separator: sep)))
    case "length", "count":
      _ = try a.bind(name, [])
      switch try v() {
      case .string(let s): return .value(.int(s.count))
      case .list(let l), .tuple(let l): return .value(.int(l.count))
      case .dict(let d): return .value(.int(d.count))
      case let x: throw fail("object of type '\(x.typeName)' has no len()")
      }
    case "first", "last":
      let items = try list(try v(), name, at: offset)
      guard let x = name == "first" ? items.first : items.last else {
        return .undefined("No \(name) item, sequence was empty.")
      }
      return .value(x)
    case "min", "max":
      let p = try a.bind(name, ["case_sensitive", "attribute"])
      let caseSensitive = try a.bool(p[0], false)
      let attribute = try p[1].map { string(try value($0, at: offset)) }
      let items = try list(try v(), name, at: offset)
      guard !items.isEmpty else {
        return .undefined("No aggregated item, sequence was empty.")
      }
      let ordered = try sorted(
        items, reverse: false,
        key: { item in
          var k = item
          if let attribute {
            k = try self.value(try self.attributePath(item, attribute, at: offset), at: offset)
          }
          return self.sortKey(k, caseSensitive: caseSensitive)
        }, at: offset)
      if name == "min" { return .value(ordered[0]) }
      // max keeps the first of equal items, as Python's max does.
      let last = ordered[ordered.count - 1]
      let lastKey = sortKey(last, caseSensitive: caseSensitive)
      let firstEqual = items.first {
        sortKey($0, caseSensitive: caseSensitive) == lastKey && attribute == nil
      }
      return .value(firstEqual ?? last)
    case "sum":
      let p = try a.bind(name, ["attribute", "start"])
      var items = try list(try v(), name, at: offset)
      if let attr = p[0] {
        let path = string(try value(attr, at: offset))
        items = try items.map { try value(try attributePath($0, path, at: offset), at: offset) }
      }
      var total = try a.value(p[1], .int(0))
      for item in items {
        total = try TemplateOperators.binary("+", total, item, renderer: self, at: offset)
      }
      return .value(total)
    case "sort":
      let p = try a.bind(name, ["reverse", "case_sensitive", "attribute"])
      let reverse = try a.bool(p[0], false)
      let caseSensitive = try a.bool(p[1], false)
      let attributes = try p[2].map { string(try value($0, at: offset)) }?
        .split(separator: ",").map { String($0).trimmingSpaces() }
      let items = try list(try v(), name, at: offset)
      return .value(
        .list(
          try sorted(
            items, reverse: reverse,
            key: { item in
              guard let attributes else { return self.sortKey(item, caseSensitive: caseSensitive) }
              let keys = try attributes.map {
                self.sortKey(
                  try self.value(try self.attributePath(item, $0, at: offset), at: offset),
                  caseSensitive: caseSensitive)
              }
              return keys.count == 1 ? keys[0] : .list(keys)
            }, at: offset)))
    case "dictsort":
      let p = try a.bind(name, ["case_sensitive", "by", "reverse"])
      guard case .dict(let d) = try v() else { throw fail("dictsort requires a dict") }
      let byValue = string(try a.value(p[1], "key")) == "value"
      let caseSensitive = try a.bool(p[0], false)
      let pairs: [Value] = d.map { .tuple([.string($0.key), $0.value]) }
      return .value(
        .list(
          try sorted(
            pairs, reverse: try a.bool(p[2], false),
            key: { pair in
              guard case .tuple(let kv) = pair else { return pair }
              return self.sortKey(byValue ? kv[1] : kv[0], caseSensitive: caseSensitive)
            }, at: offset)))
    case "unique":
      let p = try a.bind(name, ["case_sensitive", "attribute"])
      let attribute = try p[1].map { string(try value($0, at: offset)) }
      return .value(
        .list(
          try unique(
            try list(try v(), name, at: offset), caseSensitive: try a.bool(p[0], false),
            attribute: attribute, at: offset)))
    case "union", "intersect", "difference", "symmetric_difference":
      let p = try a.bind(name, ["b"], required: 1)
      let x = try list(try v(), name, at: offset)
      let y = try list(try a.value(p[0], .list([])), name, at: offset)
      func dedupe(_ items: [Value]) -> [Value] {
        var out: [Value] = []
        for i in items where !out.contains(i) { out.append(i) }
        return out
      }
      switch name {
      case "union": return .value(.list(dedupe(x + y)))
      case "intersect": return .value(.list(dedupe(x.filter { y.contains($0) })))
      case "difference": return .value(.list(dedupe(x.filter { !y.contains($0) })))
      default:
        let u = dedupe(x + y)
        let i = dedupe(x.filter { y.contains($0) })
        return .value(.list(u.filter { !i.contains($0) }))
      }
    case "reverse":
      switch try v() {
      case .string(let s): return .value(.string(String(s.reversed())))
      case let x: return .value(.list(try list(x, name, at: offset).reversed()))
      }
    case "list":
      return .value(.list(try list(try v(), name, at: offset)))
    case "dict2items":
      let p = try a.bind(name, ["key_name", "value_name"])
      guard case .dict(let d) = try v() else {
        throw error(
          .failed("dict2items requires a dictionary, got \(try v().typeName) instead."),
          at: offset)
      }
      let k = string(try a.value(p[0], "key"))
      let val = string(try a.value(p[1], "value"))
      return .value(.list(d.map { .dict(OrderedDict([(k, .string($0.key)), (val, $0.value)])) }))
    case "items2dict":
      let p = try a.bind(name, ["key_name", "value_name"])
      let k = try a.value(p[0], "key")
      let val = try a.value(p[1], "value")
      var out = OrderedDict()
      for item in try list(try v(), name, at: offset) {
        let key = try getItem(.value(item), .value(k), at: offset)
        let x = try getItem(.value(item), .value(val), at: offset)
        guard !key.isUndefined, !x.isUndefined else {
          throw error(
            .failed(
              "items2dict requires each item to have '\(k.pythonString)'"
                + " and '\(val.pythonString)'"),
            at: offset)
        }
        out[dictKey(try value(key, at: offset))] = try value(x, at: offset)
      }
      return .value(.dict(out))
    case "combine":
      var recursive = false
      var listMerge = "replace"
      for (k, x) in a.keywords {
        switch k {
        case "recursive": recursive = try value(x, at: offset).isTruthy
        case "list_merge": listMerge = string(try value(x, at: offset))
        default:
          throw error(
            .failed("'recursive' and 'list_merge' are the only valid keyword arguments"),
            at: offset)
        }
      }
      var terms = [try v()]
      terms += try a.positional.map { try value($0, at: offset) }
      var out = OrderedDict()
      for term in flatten(terms, levels: 1, skipNulls: false) {
        guard case .dict(let d) = term else {
          throw error(
            .failed("failed to combine variables, expected dicts but got a '\(term.typeName)'"),
            at: offset)
        }
        out = combine(out, d, recursive: recursive, listMerge: listMerge)
      }
      return .value(.dict(out))
    case "map":
      let items = try list(try v(), name, at: offset)
      if let attr = a.keywords.first(where: { $0.0 == "attribute" }) {
        let path = string(try value(attr.1, at: offset))
        let fallback = a.keywords.first { $0.0 == "default" }?.1
        return .value(
          .list(
            try items.map { item in
              let r = try attributePath(item, path, at: offset)
              if r.isUndefined, let fallback { return try value(fallback, at: offset) }
              return try value(r, at: offset)
            }))
      }
      guard let first = a.positional.first, case .string(let f) = try value(first, at: offset)
      else {
        throw error(.wrongArguments("map", "requires a filter argument"), at: offset)
      }
      let rest = TemplateCallArguments(
        positional: Array(a.positional.dropFirst()), keywords: a.keywords, offset: offset,
        renderer: self)
      return .value(
        .list(try items.map { try value(try filter(f, .value($0), rest, at: offset), at: offset) }))
    case "select", "reject":
      let items = try list(try v(), name, at: offset)
      let keep = name == "select"
      guard let first = a.positional.first else {
        return .value(.list(items.filter { $0.isTruthy == keep }))
      }
      let t = string(try value(first, at: offset))
      let rest = TemplateCallArguments(
        positional: Array(a.positional.dropFirst()), keywords: a.keywords, offset: offset,
        renderer: self)
      return .value(.list(try items.filter { try test(t, .value($0), rest, at: offset) == keep }))
    case "selectattr", "rejectattr":
      let items = try list(try v(), name, at: offset)
      let keep = name == "selectattr"
      guard let first = a.positional.first else {
        throw error(.wrongArguments(name, "missing required argument 'attribute'"), at: offset)
      }
      let path = string(try value(first, at: offset))
      guard a.positional.count > 1 else {
        return .value(
          .list(
            try items.filter {
              try value(try attributePath($0, path, at: offset), at: offset).isTruthy == keep
            }))
      }
      let t = string(try value(a.positional[1], at: offset))
      let rest = TemplateCallArguments(
        positional: Array(a.positional.dropFirst(2)), keywords: a.keywords, offset: offset,
        renderer: self)
      return .value(
        .list(
          try items.filter {
            try test(t, try attributePath($0, path, at: offset), rest, at: offset) == keep
          }))
    case "flatten":
      let p = try a.bind(name, ["levels", "skip_nulls"])
      let levels = try p[0].flatMap { x -> Int? in
        let l = try value(x, at: offset)
        return l == .null ? nil : try a.int(x, 0, name)
      }
      return .value(
        .list(
          flatten(
            try list(try v(), name, at: offset), levels: levels,
            skipNulls: try a.bool(p[1], true))))
    case "zip", "zip_longest":
      var lists = [try list(try v(), name, at: offset)]
      for x in a.positional { lists.append(try list(try value(x, at: offset), name, at: offset)) }
      let fill =
        try a.keywords.first { $0.0 == "fillvalue" }.map { try value($0.1, at: offset) }
        ?? .null
      let n = name == "zip" ? lists.map(\.count).min() ?? 0 : lists.map(\.count).max() ?? 0
      return .value(.list((0..<n).map { i in .tuple(lists.map { i < $0.count ? $0[i] : fill }) }))
    case "to_json":
      var style = Value.JSONStyle.compact
      for (k, x) in a.keywords {
        if k == "indent" { style.indent = try a.int(x, 0, name) }
        if k == "sort_keys" { style.sortKeys = try value(x, at: offset).isTruthy }
        if k == "ensure_ascii" { style.ensureASCII = try value(x, at: offset).isTruthy }
      }
      return .value(.string(try v().jsonString(style)))
    case "to_nice_json":
      let p = try a.bind(name, ["indent", "sort_keys", "ensure_ascii"])
      let style = Value.JSONStyle(
        indent: try a.int(p[0], 4, name), sortKeys: try a.bool(p[1], true),
        ensureASCII: try a.bool(p[2], true))
      return .value(.string(try v().jsonString(style)))
    case "from_json":
      let s = string(try v())
      do {
        return .value(try Value.parseJSON(s))
      } catch let e {
        throw error(.value("from_json: \(e)"), at: offset)
      }
    case "to_yaml", "to_nice_yaml":
      let p = try a.bind(
        name,
        [
          "indent", "default_flow_style", "width", "sort_keys",
          "allow_unicode", "explicit_start", "explicit_end",
        ])
      let nice = name == "to_nice_yaml"
      return .value(
        .string(
          YAMLWriter(
            indent: try a.int(p[0], nice ? 4 : 2, name),
            flowLeaves: try !nice && a.value(p[1], .null) == .null,
            sortKeys: try a.bool(p[3], true)
          ).write(try v())))
    case "from_yaml":
      let s = string(try v())
      do {
        return .value(try YAMLReader.parse(s))
      } catch let e as YAMLReader.Failure {
        throw error(.value("from_yaml: \(e.message)"), at: offset)
      }
    case "b64encode":
      return .value(.string(Data(string(try v()).utf8).base64EncodedString()))
    case "b64decode":
      var s = string(try v()).trimmingSpaces()
      while s.count % 4 != 0 { s += "=" }
      guard let data = Data(base64Encoded: s) else {
        throw error(.value("Incorrect padding"), at: offset)
      }
      return .value(.string(String(decoding: data, as: UTF8.self)))
    case "hash":
      let p = try a.bind(name, ["hashtype"])
      let kind = string(try a.value(p[0], "sha1"))
      let bytes = Array(string(try v()).utf8)
      guard let digest = Digest.hex(kind, bytes) else {
        throw error(.failed("unsupported hash type \(kind)"), at: offset)
      }
      return .value(.string(digest))
    case "md5", "sha1", "sha256", "sha512", "checksum":
      let kind = name == "checksum" ? "sha1" : name
      return .value(.string(Digest.hex(kind, Array(string(try v()).utf8)) ?? ""))
    case "quote":
      let x = try v()
      return .value(.string(TemplateRenderer.shellQuote(x == .null ? "" : x.pythonString)))
    case "basename":
      let s = string(try v())
      return .value(
        .string(
          s.split(separator: "/", omittingEmptySubsequences: false).last.map(String.init) ?? ""))
    case "dirname":
      let s = string(try v())
      guard let slash = s.lastIndex(of: "/") else { return .value("") }
      var head = String(s[...slash])
      if head.contains(where: { $0 != "/" }) { while head.hasSuffix("/") { head.removeLast() } }
      return .value(.string(head))
    case "expanduser":
      let s = string(try v())
      guard s.hasPrefix("~") else { return .value(.string(s)) }
      let end = s.firstIndex(of: "/") ?? s.endIndex
      let user = s[s.index(after: s.startIndex)..<end]
      let home =
        user.isEmpty
        ? (ProcessInfo.processInfo.environment["HOME"] ?? "~")
        : (user == "root" ? "/root" : "/home/\(user)")
      return .value(.string(home + s[end...]))
    case "splitext":
      let s = string(try v())
      let base = s.split(separator: "/", omittingEmptySubsequences: false).last ?? ""
      if let dot = base.lastIndex(of: "."), base[..<dot].contains(where: { $0 != "." }) {
        let extLength = base.distance(from: dot, to: base.endIndex)
        return .value(
          .list([
            .string(String(s.dropLast(extLength))),
            .string(String(base[dot...])),
          ]))
      }
      return .value(.list([.string(s), ""]))
    case "ternary":
      let p = try a.bind(name, ["true_val", "false_val", "none_val"], required: 2)
      let x = try v()
      if x == .null, let none = p[2], try value(none, at: offset) != .null { return none }
      return x.isTruthy ? p[0] ?? .value(.null) : p[1] ?? .value(.null)
    case "type_debug":
      return .value(.string(input.typeName))
    case "abs":
      switch try v() {
      case .int(let i): return .value(.int(abs(i)))
      case .double(let d): return .value(.double(abs(d)))
      case .bool(let b): return .value(.int(b ? 1 : 0))
      case let x: throw fail("bad operand type for abs(): '\(x.typeName)'")
      }
    case "human_readable":
      let p = try a.bind(name, ["isbits", "unit"])
      guard let size = PythonFormat.real(try v()) else {
        throw error(
          .failed("human_readable() failed on bad input: \(try v().pythonRepr)"), at: offset)
      }
      let base = try a.bool(p[0], false) ? "bits" : "Bytes"
      let unit = try p[1].map { try value($0, at: offset) }.flatMap { $0 == .null ? nil : $0 }
      var chosen = TemplateRenderer.sizeRanges.last ?? ("B", 1)
      for (suffix, limit) in TemplateRenderer.sizeRanges {
        if let unit {
          if unit.pythonString.uppercased().first == suffix.first {
            chosen = (suffix, limit)
            break
          }
        } else if size >= limit {
          chosen = (suffix, limit)
          break
        }
      }
      let suffix = chosen.1 != 1 ? chosen.0 + String(base.prefix(1)) : base
      let spec = PythonFormat.Spec(precision: 2, type: "f")
      return .value(.string(PythonFormat.formatFloat(size / chosen.1, spec) + " " + suffix))
    case "human_to_bytes":
      let p = try a.bind(name, ["default_unit", "isbits"])
      let text = string(try v()).trimmingSpaces()
      var number = ""
      var rest = Substring(text)
      while let c = rest.first, c.isNumber || c == "." {
        number.append(c)
        rest = rest.dropFirst()
      }
      let unitText = String(rest).trimmingSpaces()
      let defaultUnit = try p[0].map { try value($0, at: offset) }.flatMap {
        $0 == .null ? nil : $0.pythonString
      }
      guard let amount = Double(number), unitText.allSatisfy({ $0.isLetter }) else {
        throw error(
          .failed("human_to_bytes() can't interpret following string: \(text)"), at: offset)
      }
      let unit = unitText.isEmpty ? (defaultUnit ?? "B") : unitText
      guard let letter = unit.uppercased().first,
        let limit = TemplateRenderer.sizeRanges.first(where: { $0.0.first == letter })?.1
      else {
        throw error(
          .failed("human_to_bytes() failed to convert \(text). Value is not a valid string"),
          at: offset)
      }
      let isBits = try a.bool(p[1], false)
      if unit.count > 1, let last = unit.last, last == (isBits ? "B" : "b") {
        throw error(
          .failed(
            "human_to_bytes() failed to convert \(text). Value is not a valid string"
              + " (expect \(isBits ? "bits" : "bytes"))"), at: offset)
      }
      return .value(.int(Int((amount * limit).rounded(.toNearestOrEven))))
    case "to_uuid":
      let p = try a.bind(name, ["namespace"])
      let namespace = string(try a.value(p[0], "361E6D51-FAEC-444A-9079-341386DA8E2E"))
      let hex = namespace.lowercased().filter { $0 != "-" && $0 != "{" && $0 != "}" }
      guard hex.count == 32 else {
        throw error(.value("badly formed hexadecimal UUID string"), at: offset)
      }
      var bytes: [UInt8] = []
      var i = hex.startIndex
      while i < hex.endIndex {
        let j = hex.index(i, offsetBy: 2)
        bytes.append(UInt8(hex[i..<j], radix: 16) ?? 0)
        i = j
      }
      var digest = Array(Digest.sha1(bytes + Array(string(try v()).utf8)).prefix(16))
      digest[6] = (digest[6] & 0x0F) | 0x50
      digest[8] = (digest[8] & 0x3F) | 0x80
      let h = digest.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
      let parts = [0..<8, 8..<12, 12..<16, 16..<20, 20..<32].map { r in
        String(
          h[
            h.index(
              h.startIndex, offsetBy: r.lowerBound)..<h.index(h.startIndex, offsetBy: r.upperBound)]
        )
      }
      return .value(.string(parts.joined(separator: "-")))
    case "pow", "log", "root":
      let p = try a.bind(name, [name == "pow" ? "y" : "base"], required: name == "pow" ? 1 : 0)
      guard let x = PythonFormat.real(try v()) else { throw fail("\(name) requires a number") }
      let y = try p[0].map { try value($0, at: offset) }.flatMap(PythonFormat.real)
      switch name {
      case "pow": return .value(.double(Foundation.pow(x, y ?? 1)))
      case "log":
        guard x > 0 else { throw error(.value("math domain error"), at: offset) }
        return .value(
          .double(y.map { Foundation.log(x) / Foundation.log($0) } ?? Foundation.log(x)))
      default:
        let base = y ?? 2
        return .value(.double(base == 2 ? x.squareRoot() : Foundation.pow(x, 1 / base)))
      }
    case "round":
      let p = try a.bind(name, ["precision", "method"])
      let precision = try a.int(p[0], 0, name)
      let method = string(try a.value(p[1], "common"))
      guard let d = PythonFormat.real(try v()) else { throw fail("round requires a number") }
      let scale = Foundation.pow(10.0, Double(precision))
      let rule: FloatingPointRoundingRule =
        method == "ceil"
        ? .up
        : method == "floor"
          ? .down
          : .toNearestOrEven
      return .value(.double((d * scale).rounded(rule) / scale))
    case "center":
      let p = try a.bind(name, ["width"])
      let s = string(try v())
      let width = try a.int(p[0], 80, name)
      let n = width - s.count
      guard n > 0 else { return .value(.string(s)) }
      let left = n / 2 + (n & width & 1)
      return .value(
        .string(
          String(repeating: " ", count: left) + s
            + String(repeating: " ", count: n - left)))
    case "indent":
      let p = try a.bind(name, ["width", "first", "blank"])
      let widthValue = try a.value(p[0], .int(4))
      let width = try widthValue.stringValue ?? String(repeating: " ", count: a.int(p[0], 4, name))
      return .value(
        .string(
          indent(
            string(try v()), width: width, first: try a.bool(p[1], false),
            blank: try a.bool(p[2], false))))
    case "wordwrap":
      let p = try a.bind(name, ["width", "break_long_words", "wrapstring", "break_on_hyphens"])
      return .value(
        .string(
          wordwrap(
            string(try v()), width: try a.int(p[0], 79, name), breakLong: try a.bool(p[1], true),
            wrapstring: string(try a.value(p[2], "\n")))))
    case "format":
      let s = string(try v())
      let args = try a.positional.map { try value($0, at: offset) }
      if !a.keywords.isEmpty {
        var d = OrderedDict()
        for (k, x) in a.keywords { d[k] = try value(x, at: offset) }
        return .value(.string(try PythonFormat.percent(s, .dict(d), renderer: self, at: offset)))
      }
      return .value(
        .string(
          try PythonFormat.percent(
            s, .tuple(args), renderer: self, at: offset)))
    case "random":
      let p = try a.bind(name, ["start", "step", "seed"])
      var generator = TemplateRandom(seed: try p[2].map { try value($0, at: offset) })
      switch try v() {
      case .int(let end):
        // Ansible: `if not start: start = 0; if not step: step = 1`, then randrange.
        let start = try a.int(p[0], 0, name)
        let step = try a.int(p[1], 1, name)
        guard let picked = generator.randrange(start, end, step == 0 ? 1 : step) else {
          throw error(.value("empty range for randrange(\(start), \(end), \(step))"), at: offset)
        }
        return .value(.int(picked))
      case let x:
        let items = try list(x, name, at: offset)
        guard !items.isEmpty else { return .undefined("No random item, sequence was empty.") }
        return .value(items[generator.next(below: items.count)])
      }
    case "shuffle":
      let p = try a.bind(name, ["seed"])
      // Ansible seeds only when the seed is truthy (`if seed:`).
      let seed = try p[0].map { try value($0, at: offset) }
      var generator = TemplateRandom(seed: seed.flatMap { $0.isTruthy ? $0 : nil })
      var items = try list(try v(), name, at: offset)
      for i in stride(from: items.count - 1, to: 0, by: -1) {
        items.swapAt(i, generator.next(below: i + 1))
      }
      return .value(.list(items))
    case "batch", "slice":
      let p = try a.bind(name, ["linecount", "fill_with"], required: 1)
      let n = try a.int(p[0], 1, name)
      guard n > 0 else { throw error(.value("\(name) size must be positive"), at: offset) }
      let items = try list(try v(), name, at: offset)
      let fill = try p[1].map { try value($0, at: offset) }
      var out: [Value] = []
      if name == "batch" {
        var i = 0
        while i < items.count {
          var chunk = Array(items[i..<min(i + n, items.count)])
          if let fill { while chunk.count < n { chunk.append(fill) } }
          out.append(.list(chunk))
          i += n
        }
      } else {
        let per = items.count / n
        let extra = items.count % n
        var start = 0
        for k in 0..<n {
          let size = per + (k < extra ? 1 : 0)
          var chunk = Array(items[start..<(start + size)])
          if let fill, k >= extra, extra > 0 { chunk.append(fill) }
          out.append(.list(chunk))
          start += size
        }
      }
      return .value(.list(out))
    case "groupby":
      let p = try a.bind(name, ["attribute", "default", "case_sensitive"], required: 1)
      let path = string(try a.value(p[0], ""))
      var groups: [(Value, [Value])] = []
      for item in try list(try v(), name, at: offset) {
        let k = try value(try attributePath(item, path, at: offset), at: offset)
        if let i = groups.firstIndex(where: { $0.0 == k }) {
          groups[i].1.append(item)
        } else {
          groups.append((k, [item]))
        }
      }
      let ordered = try sorted(
        groups.map { Value.tuple([$0.0, .list($0.1)]) }, reverse: false,
        key: { $0.listValue?.first ?? .null }, at: offset)
      return .value(.list(ordered))
    case "dict":
      return .value(try v())
    case "items":
      guard case .dict(let d) = try v() else { return .value(.list([])) }
      return .value(.list(d.map { .tuple([.string($0.key), $0.value]) }))
    case "striptags":
      let re = try regex("<[^>]*>", ignoreCase: false, multiline: false, at: offset)
      let s = re.replace(string(try v()), with: "").0
      return .value(.string(s.split(whereSeparator: { $0.isWhitespace }).joined(separator: " ")))
    case "truncate":
      let p = try a.bind(name, ["length", "killwords", "end", "leeway"])
      let s = string(try v())
      let length = try a.int(p[0], 255, name)
      let end = string(try a.value(p[2], "..."))
      let leeway = try a.int(p[3], 5, name)
      if s.count <= length + leeway { return .value(.string(s)) }
      if try a.bool(p[1], false) {
        return .value(.string(String(s.prefix(length - end.count)) + end))
      }
      var result = String(s.prefix(length - end.count))
      if let space = result.lastIndex(of: " ") { result = String(result[..<space]) }
      return .value(.string(result + end))
    case "wordcount":
      return .value(
        .int(
          string(try v()).split(whereSeparator: { !$0.isLetter && !$0.isNumber && $0 != "_" }).count
        ))
    case "urlencode":
      let s = string(try v())
      let allowed = CharacterSet(
        charactersIn:
          "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_.~/")
      return .value(.string(s.addingPercentEncoding(withAllowedCharacters: allowed) ?? s))
    case "escape", "e", "forceescape":
      let s = string(try v())
      return .value(
        .string(
          s.replacingOccurrences(of: "&", with: "&amp;")
            .replacingOccurrences(of: "<", with: "&lt;").replacingOccurrences(of: ">", with: "&gt;")
            .replacingOccurrences(of: "\"", with: "&#34;").replacingOccurrences(
              of: "'", with: "&#39;")))
    case "safe":
      return input
    case "attr":
      let p = try a.bind(name, ["name"], required: 1)
      return try getAttribute(input, string(try a.value(p[0], "")), at: offset)
    case "extract":
      let p = try a.bind(name, ["container", "morekeys"], required: 1)
      var r = try getItem(p[0] ?? .value(.null), input, at: offset)
      if let more = p[1] {
        let keys = try value(more, at: offset)
        for k in keys.listValue ?? [keys] { r = try getItem(r, .value(k), at: offset) }
      }
      return r
    case "subelements":
      let p = try a.bind(name, ["subelements", "skip_missing"], required: 1)
      let path = string(try a.value(p[0], ""))
      var out: [Value] = []
      for item in try list(try v(), name, at: offset) {
        let sub = try attributePath(item, path, at: offset)
        if try sub.isUndefined && a.bool(p[1], false) { continue }
        for s in try list(try value(sub, at: offset), name, at: offset) {
          out.append(.tuple([item, s]))
        }
      }
      return .value(.list(out))
    case "product":
      var lists = [try list(try v(), name, at: offset)]
      for x in a.positional { lists.append(try list(try value(x, at: offset), name, at: offset)) }
      var out: [[Value]] = [[]]
      for l in lists { out = out.flatMap { prefix in l.map { prefix + [$0] } } }
      return .value(.list(out.map { .tuple($0) }))
    case "comment":
      let s = string(try v())
      return .value(
        .string(
          "#\n"
            + s.split(separator: "\n", omittingEmptySubsequences: false)
            .map { "# " + $0 }.joined(separator: "\n") + "\n#"))
    default:
      var e = error(.unknownFilter(name), at: offset)
      if let s = TemplateNames.suggestion(for: name, in: TemplateNames.filters) {
        e.hint = "did you mean '\(s)'?"
      }
      throw e
    }
  }

  func regex(_ pattern: String, ignoreCase: Bool, multiline: Bool, at offset: Int) throws
    -> TemplateRegex
  {
    do {
      return try TemplateRegex(pattern, ignoreCase: ignoreCase, multiline: multiline)
    } catch {
      throw self.error(.value("invalid regular expression '\(pattern)'"), at: offset)
    }
  }
}
