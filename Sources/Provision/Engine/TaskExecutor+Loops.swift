import Foundation
import Inventory

extension TaskExecutor {
  /// The items of the task's `loop` or `with_X`, templated with the host's variables.
  func loopItems(_ task: PlaybookTask, _ context: TaskVariables) throws -> [Value] {
    guard let loop = task.loop else { return [] }
    var value = try context.render(loop)
    if case .string(let s) = value, task.loopLookup == nil || task.loopLookup == "items" {
      // A bare variable name, as old playbooks write `with_items: packages`.
      if let v = try? Template.evaluate(expression: s, context: context), v.listValue != nil { value = v }
    }
    guard let lookup = task.loopLookup else {
      guard let list = value.listValue else {
        throw ModuleError("Invalid data passed to 'loop', it requires a list, got this instead: \(value.jsonString())", hint: "use a list, or a filter such as dict2items")
      }
      return list
    }
    let terms = value.listValue ?? [value]
    switch lookup {
    case "items", "flattened":
      return terms.flatMap { $0.listValue ?? [$0] }
    case "list":
      return value.listValue ?? [value]
    case "indexed_items":
      return terms.flatMap { $0.listValue ?? [$0] }.enumerated().map { .tuple([.int($0.offset), $0.element]) }
    case "dict":
      guard let d = value.dictValue else { throw ModuleError("with_dict expects a dict") }
      return d.map { .dict(["key": .string($0.key), "value": $0.value]) }
    case "nested":
      var product: [[Value]] = [[]]
      for term in terms {
        let list = term.listValue ?? [term]
        product = product.flatMap { prefix in list.map { prefix + [$0] } }
      }
      return product.map(Value.list)
    case "together":
      let lists = terms.map { $0.listValue ?? [$0] }
      let count = lists.map(\.count).max() ?? 0
      return (0..<count).map { i in .list(lists.map { i < $0.count ? $0[i] : .null }) }
    case "sequence":
      return try terms.flatMap { try Self.sequence(ModuleArguments.text($0) ?? "") }
    case "fileglob":
      return terms.flatMap { term -> [Value] in
        guard let pattern = ModuleArguments.text(term) else { return [] }
        let full = pattern.hasPrefix("/") ? pattern : (searchPaths(task).first.map { ($0 as NSString).appendingPathComponent("files/" + pattern) } ?? pattern)
        return Self.glob(full).map(Value.string)
      }
    case "subelements":
      guard terms.count >= 2, let list = terms[0].listValue, let key = ModuleArguments.text(terms[1]) else {
        throw ModuleError("with_subelements expects a list and a key")
      }
      return list.flatMap { element -> [Value] in
        (element.dictValue?[key]?.listValue ?? []).map { .tuple([element, $0]) }
      }
    case "lines", "file", "first_found", "random_choice", "inventory_hostnames":
      let options = OrderedDict()
      return try TemplateLookups.run(lookup, terms: terms, options: options, context: context)
    default:
      throw ModuleError("with_\(lookup) is not supported")
    }
  }

  /// `with_sequence`: `start=1 end=5 stride=1 format=x%02d`, or `1-5`, or `count=3`.
  static func sequence(_ spec: String) throws -> [Value] {
    var start = 1
    var end: Int?
    var stride = 1
    var format = "%d"
    for word in spec.split(separator: " ") {
      let parts = word.split(separator: "=", maxSplits: 1).map(String.init)
      if parts.count == 2 {
        switch parts[0] {
        case "start": start = Int(parts[1], radix: parts[1].hasPrefix("0x") ? 16 : 10) ?? start
        case "end": end = Int(parts[1])
        case "count": end = start + (Int(parts[1]) ?? 0) - 1
        case "stride": stride = Int(parts[1]) ?? 1
        case "format": format = parts[1]
        default: throw ModuleError("unknown with_sequence option '\(parts[0])'")
        }
      } else {
        let range = word.split(separator: "-").compactMap { Int($0) }
        if range.count == 2 {
          start = range[0]
          end = range[1]
        } else if range.count == 1 {
          end = range[0]
        }
      }
    }
    guard let end else { throw ModuleError("with_sequence needs 'end' or 'count'") }
    guard stride != 0 else { throw ModuleError("with_sequence: stride must not be 0") }
    var out: [Value] = []
    var i = start
    while stride > 0 ? i <= end : i >= end {
      out.append(.string(String(format: format, i)))
      i += stride
      if out.count > 100_000 { break }
    }
    return out
  }

  /// Files matching a shell glob on the controller, sorted.
  static func glob(_ pattern: String) -> [String] {
    var g = glob_t()
    defer { globfree(&g) }
    guard Foundation.glob(pattern, 0, nil, &g) == 0 else { return [] }
    var out: [String] = []
    for i in 0..<Int(g.gl_pathc) {
      if let p = g.gl_pathv[i] {
        let path = String(cString: p)
        var isDirectory: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue { out.append(path) }
      }
    }
    return out.sorted()
  }
}
