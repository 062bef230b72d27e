import Inventory

/// Global functions: `range`, `dict`, `namespace`, `lookup`, `query`/`q`, `zip`.
extension TemplateRenderer {
  func callGlobal(_ name: String, _ args: TemplateArguments, at offset: Int) throws
    -> TemplateObject
  {
    let a = try bindArguments(args, at: offset)
    switch name {
    case "range":
      guard a.keywords.isEmpty, (1...3).contains(a.positional.count) else {
        throw error(.wrongArguments("range", "expected 1 to 3 integer arguments"), at: offset)
      }
      let n = try a.positional.map { try a.int($0, 0, "range") }
      let (start, stop, step) =
        n.count == 1 ? (0, n[0], 1) : (n[0], n[1], n.count == 3 ? n[2] : 1)
      guard step != 0 else { throw error(.value("range() arg 3 must not be zero"), at: offset) }
      let count = step > 0 ? (stop - start + step - 1) / step : (start - stop - step - 1) / -step
      guard count <= 100_000 else {
        throw error(.value("range too big, maximum size is 100000"), at: offset)
      }
      return .value(.list(stride(from: start, to: stop, by: step).map { .int($0) }))
    case "dict":
      var d = OrderedDict()
      for p in a.positional {
        let v = try value(p, at: offset)
        switch v {
        case .dict(let x): for (k, y) in x { d[k] = y }
        case .list(let pairs), .tuple(let pairs):
          for pair in pairs {
            guard let kv = pair.listValue, kv.count == 2 else {
              throw error(.type("cannot convert dictionary update sequence element"), at: offset)
            }
            d[dictKey(kv[0])] = kv[1]
          }
        default: throw error(.type("'\(v.typeName)' object is not iterable"), at: offset)
        }
      }
      for (k, v) in a.keywords { d[k] = try value(v, at: offset) }
      return .value(.dict(d))
    case "namespace":
      var d = OrderedDict()
      for p in a.positional {
        if case .dict(let x) = try value(p, at: offset) { for (k, y) in x { d[k] = y } }
      }
      for (k, v) in a.keywords { d[k] = try value(v, at: offset) }
      return .namespace(TemplateNamespace(d))
    case "lookup", "query", "q":
      guard let first = a.positional.first else {
        throw error(.wrongArguments(name, "missing the lookup plugin name"), at: offset)
      }
      let plugin = try value(first, at: offset).pythonString
      let terms = try a.positional.dropFirst().map { try value($0, at: offset) }
      var options = OrderedDict()
      var wantList = name != "lookup"
      var errors = "strict"
      for (k, v) in a.keywords {
        let x = try value(v, at: offset)
        if k == "wantlist" {
          wantList = x.isTruthy
        } else if k == "errors" {
          errors = x.pythonString
        } else {
          options[k] = x
        }
      }
      let results: [Value]
      do {
        results = try context.lookup(plugin, terms: terms, options: options)
      } catch let e as TemplateError {
        if errors == "ignore" { return .value(wantList ? .list([]) : .null) }
        throw error(e.kind, at: offset)
      }
      if wantList { return .value(.list(results)) }
      if results.allSatisfy({ $0.stringValue != nil }) {
        return .value(.string(results.compactMap(\.stringValue).joined(separator: ",")))
      }
      return .value(results.count == 1 ? results[0] : .list(results))
    case "zip":
      let lists = try a.positional.map { try iterate(try value($0, at: offset), at: offset) }
      let n = lists.map(\.count).min() ?? 0
      return .value(.list((0..<n).map { i in .tuple(lists.map { $0[i] }) }))
    default:
      throw error(.unknownFunction(name), at: offset)
    }
  }
}
