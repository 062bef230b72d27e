import Foundation
import Inventory

/// The Python methods Ansible users call on values: `s.split(',')`, `d.items()` and so on.
enum TemplateMethods {
  private static let stringMethods: Set<String> = [
    "startswith", "endswith", "split", "rsplit", "strip", "lstrip", "rstrip", "replace",
    "lower", "upper", "capitalize", "title", "format", "join", "find", "rfind", "index",
    "count", "isdigit", "isalpha", "isalnum", "isspace", "islower", "isupper", "splitlines",
    "zfill", "center", "ljust", "rjust", "swapcase", "casefold", "partition",
  ]
  private static let listMethods: Set<String> = ["index", "count", "copy"]

  static func has(_ method: String, on v: Value) -> Bool {
    switch v {
    case .string: return stringMethods.contains(method)
    case .list: return listMethods.contains(method)
    case .tuple: return method == "index" || method == "count"
    default: return false
    }
  }

  static func call(
    _ method: String, on receiver: Value, _ args: TemplateCallArguments,
    renderer: TemplateRenderer, at offset: Int
  ) throws -> Value {
    switch receiver {
    case .string(let s): return try stringMethod(method, s, args, renderer: renderer, at: offset)
    case .dict(let d): return try dictMethod(method, d, args, renderer: renderer, at: offset)
    case .list(let l), .tuple(let l):
      switch method {
      // Only lists get here with `copy`: `has(_:on:)` offers tuples `index` and `count`.
      case "copy": return .list(l)
      case "count":
        let a = try args.bind("count", ["x"], required: 1)
        let x = try args.value(a[0], .null)
        return .int(l.filter { $0 == x }.count)
      case "index":
        let a = try args.bind("index", ["x"], required: 1)
        let x = try args.value(a[0], .null)
        guard let i = l.firstIndex(of: x) else {
          let message =
            receiver.typeName == "list"
            ? "\(x.pythonRepr) is not in list" : "tuple.index(x): x not in tuple"
          throw renderer.error(.value(message), at: offset)
        }
        return .int(i)
      default: break
      }
    default: break
    }
    throw renderer.error(
      .type("'\(receiver.typeName)' object has no attribute '\(method)'"), at: offset)
  }

  private static func dictMethod(
    _ method: String, _ d: OrderedDict, _ args: TemplateCallArguments,
    renderer: TemplateRenderer, at offset: Int
  ) throws -> Value {
    switch method {
    case "keys":
      _ = try args.bind(method, [])
      return .list(d.keys.map { .string($0) })
    case "values":
      _ = try args.bind(method, [])
      return .list(d.values)
    case "items":
      _ = try args.bind(method, [])
      return .list(d.map { .tuple([.string($0.key), $0.value]) })
    case "copy":
      return .dict(d)
    case "get":
      let a = try args.bind("get", ["key", "default"], required: 1)
      let key = try args.value(a[0], .null)
      return try d[renderer.dictKey(key)] ?? args.value(a[1], .null)
    default:
      throw renderer.error(.type("'dict' object method '\(method)' is not supported"), at: offset)
    }
  }

  private static func isSpace(_ c: Character) -> Bool { c.isWhitespace }

  private static func stringMethod(
    _ method: String, _ s: String, _ args: TemplateCallArguments, renderer: TemplateRenderer,
    at offset: Int
  ) throws -> Value {
    func strip(_ chars: TemplateObject?, left: Bool, right: Bool) throws -> Value {
      let set: ((Character) -> Bool)
      if let chars, case .string(let cs) = try renderer.value(chars, at: offset) {
        set = { cs.contains($0) }
      } else {
        set = { $0.isWhitespace }
      }
      var sub = Substring(s)
      if left { while let f = sub.first, set(f) { sub.removeFirst() } }
      if right { while let l = sub.last, set(l) { sub.removeLast() } }
      return .string(String(sub))
    }
    switch method {
    case "startswith", "endswith":
      let a = try args.bind(method, ["prefix"], required: 1)
      let p = try args.value(a[0], .null)
      let candidates: [Value] = p.listValue ?? [p]
      for c in candidates {
        guard case .string(let x) = c else {
          throw renderer.error(
            .type("\(method) first arg must be str or a tuple of str, not \(c.typeName)"),
            at: offset)
        }
        if method == "startswith" ? s.hasPrefix(x) : s.hasSuffix(x) { return .bool(true) }
        if x.isEmpty { return .bool(true) }
      }
      return .bool(false)
    case "split", "rsplit":
      let a = try args.bind(method, ["sep", "maxsplit"])
      let sep = try args.value(a[0], .null)
      let maxsplit = try args.int(a[1], -1, method)
      return .list(
        try TemplateStrings.split(
          s, separator: sep.stringValue, maxSplit: maxsplit, fromRight: method == "rsplit",
          renderer: renderer, at: offset
        ).map { .string($0) })
    case "strip": return try strip(try args.bind(method, ["chars"])[0], left: true, right: true)
    case "lstrip": return try strip(try args.bind(method, ["chars"])[0], left: true, right: false)
    case "rstrip": return try strip(try args.bind(method, ["chars"])[0], left: false, right: true)
    case "replace":
      let a = try args.bind(method, ["old", "new", "count"], required: 2)
      let old = try args.string(a[0], "", method)
      let new = try args.string(a[1], "", method)
      let count = try args.int(a[2], -1, method)
      return .string(TemplateStrings.replace(s, old, new, count: count))
    case "lower": return .string(s.lowercased())
    case "upper": return .string(s.uppercased())
    case "casefold": return .string(s.lowercased())
    case "swapcase":
      return .string(
        String(s.map { $0.isUppercase ? Character($0.lowercased()) : Character($0.uppercased()) }))
    case "capitalize": return .string(TemplateStrings.capitalize(s))
    case "title": return .string(TemplateStrings.pythonTitle(s))
    case "format":
      var kwargs = OrderedDict()
      for (k, v) in args.keywords { kwargs[k] = try renderer.value(v, at: offset) }
      let positional = try args.positional.map { try renderer.value($0, at: offset) }
      return .string(
        try PythonFormat.strFormat(s, positional, kwargs, renderer: renderer, at: offset))
    case "join":
      let a = try args.bind(method, ["iterable"], required: 1)
      let items = try renderer.iterate(try args.value(a[0], .null), at: offset)
      var parts: [String] = []
      for item in items {
        guard case .string(let x) = item else {
          throw renderer.error(
            .type("sequence item \(parts.count): expected str instance, \(item.typeName) found"),
            at: offset)
        }
        parts.append(x)
      }
      return .string(parts.joined(separator: s))
    case "find", "rfind", "index":
      let a = try args.bind(method, ["sub"], required: 1)
      let sub = try args.string(a[0], "", method)
      let chars = Array(s)
      let needle = Array(sub)
      var found = -1
      if needle.count <= chars.count {
        let range = Array(0...(chars.count - needle.count))
        for i in method == "rfind" ? range.reversed() : range
        where Array(chars[i..<(i + needle.count)]) == needle {
          found = i
          break
        }
      }
      if found < 0 && method == "index" {
        throw renderer.error(.value("substring not found"), at: offset)
      }
      return .int(found)
    case "count":
      let a = try args.bind(method, ["sub"], required: 1)
      let sub = try args.string(a[0], "", method)
      if sub.isEmpty { return .int(s.count + 1) }
      return .int(s.components(separatedBy: sub).count - 1)
    case "isdigit": return .bool(!s.isEmpty && s.allSatisfy { $0.isNumber && $0.isASCII })
    case "isalpha": return .bool(!s.isEmpty && s.allSatisfy { $0.isLetter })
    case "isalnum": return .bool(!s.isEmpty && s.allSatisfy { $0.isLetter || $0.isNumber })
    case "isspace": return .bool(!s.isEmpty && s.allSatisfy { $0.isWhitespace })
    case "islower":
      return .bool(s.contains { $0.isLowercase } && !s.contains { $0.isUppercase })
    case "isupper":
      return .bool(s.contains { $0.isUppercase } && !s.contains { $0.isLowercase })
    case "splitlines":
      var lines = s.split(omittingEmptySubsequences: false) { $0.isNewline }.map(String.init)
      if lines.last == "" { lines.removeLast() }
      return .list(lines.map { .string($0) })
    case "zfill":
      let a = try args.bind(method, ["width"], required: 1)
      let width = try args.int(a[0], 0, method)
      guard s.count < width else { return .string(s) }
      let zeros = String(repeating: "0", count: width - s.count)
      if let f = s.first, f == "-" || f == "+" { return .string(String(f) + zeros + s.dropFirst()) }
      return .string(zeros + s)
    case "center", "ljust", "rjust":
      let a = try args.bind(method, ["width", "fillchar"], required: 1)
      var spec = PythonFormat.Spec()
      spec.width = try args.int(a[0], 0, method)
      spec.fill = try args.string(a[1], " ", method).first ?? " "
      spec.align = method == "center" ? "^" : method == "ljust" ? "<" : ">"
      if method == "center" {
        // Python centres with the extra space on the right only for odd widths.
        let n = spec.width - s.count
        guard n > 0 else { return .string(s) }
        let left = n / 2 + (n & spec.width & 1)
        return .string(
          String(repeating: spec.fill, count: left) + s
            + String(repeating: spec.fill, count: n - left))
      }
      return .string(PythonFormat.pad(s, spec))
    case "partition":
      let a = try args.bind(method, ["sep"], required: 1)
      let sep = try args.string(a[0], "", method)
      guard let r = s.range(of: sep) else { return .list([.string(s), "", ""]) }
      return .list([
        .string(String(s[..<r.lowerBound])), .string(sep),
        .string(String(s[r.upperBound...])),
      ])
    default:
      throw renderer.error(.type("'str' object has no attribute '\(method)'"), at: offset)
    }
  }
}
