/// The filter and test names this engine knows, for "did you mean" hints.
enum TemplateNames {
  static let filters: [String] = [
    "human_readable", "human_to_bytes", "to_uuid",
    "default", "d", "mandatory", "bool", "int", "float", "string", "lower", "upper", "capitalize",
    "title", "trim", "replace", "regex_replace", "regex_search", "regex_findall", "regex_escape",
    "split", "join", "length", "count", "first", "last", "min", "max", "sum", "sort", "dictsort",
    "unique", "union", "intersect", "difference", "symmetric_difference", "reverse", "list",
    "dict2items", "items2dict", "combine", "map", "select", "reject", "selectattr", "rejectattr",
    "flatten", "zip", "zip_longest", "to_json", "to_nice_json", "from_json", "to_yaml",
    "to_nice_yaml", "from_yaml", "b64encode", "b64decode", "hash", "md5", "sha1", "sha256",
    "sha512", "checksum", "quote", "basename", "dirname", "expanduser", "splitext", "ternary",
    "type_debug", "abs", "pow", "log", "root", "round", "center", "indent", "wordwrap", "format",
    "random", "shuffle", "batch", "slice", "groupby", "dict", "items", "striptags", "truncate",
    "wordcount", "urlencode", "escape", "e", "forceescape", "safe", "attr", "extract",
    "subelements", "product", "comment",
  ]

  static let tests: [String] = [
    "defined", "undefined", "none", "string", "number", "integer", "float", "boolean", "mapping",
    "sequence", "iterable", "callable", "true", "false", "lower", "upper", "odd", "even",
    "divisibleby", "equalto", "==", "eq", "sameas", "ne", "!=", "lt", "<", "le", "<=", "gt", ">",
    "ge", ">=", "in", "contains", "match", "search", "regex", "subset", "issubset", "superset",
    "issuperset", "truthy", "falsy", "version", "version_compare", "succeeded", "success",
    "successful", "failed", "failure", "changed", "change", "skipped", "skip", "finished",
    "finish", "started", "start", "unreachable", "reachable", "abs", "is_abs", "any", "all",
  ]

  /// The known name closest to `name`, when it is close enough to be a likely typo.
  static func suggestion(for name: String, in names: [String]) -> String? {
    var best: (String, Int)?
    for candidate in names {
      let d = distance(name, candidate)
      if d <= max(1, name.count / 3), d < (best?.1 ?? Int.max) { best = (candidate, d) }
    }
    return best?.0
  }

  /// Levenshtein distance over characters.
  static func distance(_ a: String, _ b: String) -> Int {
    let x = Array(a)
    let y = Array(b)
    if x.isEmpty { return y.count }
    var previous = Array(0...y.count)
    for i in 1...x.count {
      var current = [i] + [Int](repeating: 0, count: y.count)
      for j in stride(from: 1, through: y.count, by: 1) {
        let cost = x[i - 1] == y[j - 1] ? 0 : 1
        current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost)
      }
      previous = current
    }
    return previous[y.count]
  }
}
