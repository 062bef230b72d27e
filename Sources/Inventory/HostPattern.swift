import Foundation

/// Host patterns as `ansible` accepts them in `hosts:` and `--limit`: `all`, `*`, a group or host
/// name, globs, `~regex`, unions `a:b` and `a,b`, intersections `a:&b`, exclusions `a:!b`,
/// subscripts `group[0]`, `group[-1]`, `group[1:3]` (inclusive), and `@file` in limits.
public struct HostSelection: Sendable, Equatable {
  public var hosts: [String]
  /// Patterns that matched nothing; Ansible warns about them and goes on.
  public var warnings: [String]
}

extension Inventory {
  /// The hosts a pattern selects, in inventory order, each once.
  ///
  /// - Parameter limit: a `--limit` pattern; hosts outside it are dropped.
  /// - Throws: `InventoryError` for a bad regular expression, a subscript past the end, or a
  ///   limit file that cannot be read.
  public func select(_ pattern: String, limit: String? = nil) throws(InventoryError) -> HostSelection {
    var warnings: [String] = []
    var hosts = try evaluate(Inventory.splitPattern(pattern), warnings: &warnings)
    if let limit {
      var patterns: [String] = []
      for part in Inventory.splitPattern(limit) {
        if part.hasPrefix("@") {
          let path = String(part.dropFirst())
          guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
            throw InventoryError(
              .unreadable("cannot read limit file '\(path)'"), at: nil,
              hint: "'--limit @FILE' reads host patterns from FILE, one per line")
          }
          patterns += text.split(separator: "\n").map { $0.trimmingCharacters(in: " \t\r") }
            .filter { !$0.isEmpty }
        } else {
          patterns.append(part)
        }
      }
      let allowed = Set(try evaluate(patterns, warnings: &warnings))
      hosts = hosts.filter { allowed.contains($0) }
    }
    return HostSelection(hosts: hosts, warnings: warnings)
  }

  /// Splits `a:b:&c:!d` or `a,b` into its parts; brackets and IPv6 addresses stay whole.
  public static func splitPattern(_ pattern: String) -> [String] {
    let trimmed = pattern.trimmingCharacters(in: " \t\n")
    var parts: [String]
    if trimmed.contains(",") {
      parts = trimmed.split(separator: ",").map(String.init)
    } else if trimmed.filter({ $0 == ":" }).count >= 2 && !trimmed.contains("&") && !trimmed.contains("!")
      && !trimmed.contains("[") && trimmed.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." })
    {
      parts = [trimmed]  // a bare IPv6 address
    } else {
      parts = []
      var current = ""
      var depth = 0
      for c in trimmed {
        if c == "[" { depth += 1 }
        if c == "]" { depth = max(0, depth - 1) }
        if c == ":" && depth == 0 && !current.hasPrefix("~") {
          parts.append(current)
          current = ""
        } else {
          current.append(c)
        }
      }
      parts.append(current)
    }
    return parts.map { $0.trimmingCharacters(in: " \t") }.filter { !$0.isEmpty }
  }

  private func evaluate(_ patterns: [String], warnings: inout [String]) throws(InventoryError) -> [String] {
    var regular = patterns.filter { !$0.hasPrefix("&") && !$0.hasPrefix("!") }
    if regular.isEmpty { regular = ["all"] }
    let ordered = regular + patterns.filter { $0.hasPrefix("&") } + patterns.filter { $0.hasPrefix("!") }
    var result: [String] = []
    var present: Set<String> = []
    for p in ordered {
      if hosts[p] != nil {
        if present.insert(p).inserted { result.append(p) }
        continue
      }
      let matched = try matchOne(p, warnings: &warnings)
      if p.hasPrefix("!") {
        let that = Set(matched)
        result.removeAll { that.contains($0) }
        present.subtract(that)
      } else if p.hasPrefix("&") {
        let that = Set(matched)
        result.removeAll { !that.contains($0) }
        present = Set(result)
      } else {
        for h in matched where present.insert(h).inserted { result.append(h) }
      }
    }
    return result
  }

  private func matchOne(_ raw: String, warnings: inout [String]) throws(InventoryError) -> [String] {
    var pattern = raw
    if pattern.hasPrefix("&") || pattern.hasPrefix("!") { pattern.removeFirst() }
    guard !pattern.isEmpty else { return [] }
    let (expression, slice) = Inventory.splitSubscript(pattern)
    var matched = try enumerate(expression, warnings: &warnings)
    // Ansible applies a subscript only when something matched: `nothing[0]` is just empty.
    if let (start, end) = slice, !matched.isEmpty {
      func index(_ i: Int) -> Int { i < 0 ? matched.count + i : i }
      if let end {
        let s = index(start)
        let e = end == -1 ? matched.count - 1 : index(end)
        matched = s <= e && s < matched.count ? Array(matched[max(0, s)...min(e, matched.count - 1)]) : []
      } else {
        let i = index(start)
        guard i >= 0 && i < matched.count else {
          throw InventoryError(
            .badHostPattern(pattern, reason: "no hosts matched the subscripted pattern"), at: nil,
            hint: "'\(expression)' has \(matched.count) host\(matched.count == 1 ? "" : "s"); subscripts count from 0")
        }
        matched = [matched[i]]
      }
    }
    return matched
  }

  /// `group[3]` -> ("group", (3, nil)); `group[1:2]` -> ("group", (1, 2)); `group[1:]` -> (1, -1).
  static func splitSubscript(_ pattern: String) -> (String, (Int, Int?)?) {
    guard !pattern.hasPrefix("~"), pattern.hasSuffix("]"), let open = pattern.lastIndex(of: "["),
      open > pattern.startIndex
    else { return (pattern, nil) }
    let body = pattern[pattern.index(after: open)..<pattern.index(before: pattern.endIndex)]
    let base = String(pattern[..<open])
    if let i = Int(body), body.allSatisfy({ $0.isNumber || $0 == "-" }) { return (base, (i, nil)) }
    for sep in [":", "-"] {
      let parts = body.split(separator: Character(sep), maxSplits: 1, omittingEmptySubsequences: false)
      if parts.count == 2, let s = Int(parts[0]), parts[0].allSatisfy(\.isNumber),
        parts[1].allSatisfy(\.isNumber)
      {
        let e = parts[1].isEmpty ? -1 : Int(parts[1]) ?? -1
        // Ansible treats an end of 0 as "no end": `g[0:0]` is g[0].
        return (base, (s, e == 0 ? nil : e))
      }
    }
    return (pattern, nil)
  }

  private func enumerate(_ pattern: String, warnings: inout [String]) throws(InventoryError) -> [String] {
    let matcher = try Inventory.matcher(for: pattern)
    var result: [String] = []
    var seen: Set<String> = []
    let matchingGroups = groupOrder.filter(matcher)
    for g in matchingGroups {
      for h in hosts(in: g) where seen.insert(h).inserted { result.append(h) }
    }
    if matchingGroups.isEmpty || pattern.hasPrefix("~")
      || pattern.contains(where: { ".?*[".contains($0) })
    {
      for h in hostOrder where matcher(h) && seen.insert(h).inserted { result.append(h) }
    }
    if result.isEmpty && matchingGroups.isEmpty && pattern != "all" {
      warnings.append("could not match supplied host pattern, ignoring: \(pattern)")
    }
    return result
  }

  /// A glob (as Python's fnmatch) or, after `~`, a regular expression matched at the start.
  static func matcher(for pattern: String) throws(InventoryError) -> @Sendable (String) -> Bool {
    if pattern.hasPrefix("~") {
      let source = String(pattern.dropFirst())
      guard let regex = try? NSRegularExpression(pattern: source) else {
        throw InventoryError(
          .badHostPattern(pattern, reason: "not a valid regular expression"), at: nil)
      }
      let r = regex
      return { name in
        let range = NSRange(name.startIndex..., in: name)
        return r.firstMatch(in: name, options: [.anchored], range: range) != nil
      }
    }
    if !pattern.contains(where: { "*?[".contains($0) }) {
      return { $0 == pattern }
    }
    let tokens = globTokens(Array(pattern))
    return { name in globMatch(tokens, Array(name)) }
  }
}

/// fnmatch: `*` any run, `?` one character, `[abc]`, `[a-z]`, `[!x]` a class.
///
/// Iterative, remembering only the last `*`: linear in pattern times name length, where the
/// obvious recursion is exponential in the number of stars.
private func globMatch(_ tokens: [GlobToken], _ s: [Character]) -> Bool {
  var t = 0
  var i = 0
  var star = -1
  var mark = 0
  while i < s.count {
    if t < tokens.count, case .one(let matches) = tokens[t], matches(s[i]) {
      t += 1
      i += 1
    } else if t < tokens.count, case .star = tokens[t] {
      star = t
      mark = i
      t += 1
    } else if star >= 0 {
      t = star + 1
      mark += 1
      i = mark
    } else {
      return false
    }
  }
  while t < tokens.count, case .star = tokens[t] { t += 1 }
  return t == tokens.count
}

private enum GlobToken: Sendable {
  case star
  case one(@Sendable (Character) -> Bool)
}

private func globTokens(_ p: [Character]) -> [GlobToken] {
  var tokens: [GlobToken] = []
  var i = 0
  while i < p.count {
    let c = p[i]
    switch c {
    case "*":
      if case .star? = tokens.last {} else { tokens.append(.star) }
      i += 1
    case "?":
      tokens.append(.one { _ in true })
      i += 1
    case "[":
      // A class needs a closing bracket after at least one member; otherwise '[' is literal.
      var j = i + 1
      if j < p.count && p[j] == "!" { j += 1 }
      if j < p.count && p[j] == "]" { j += 1 }
      while j < p.count && p[j] != "]" { j += 1 }
      guard j < p.count else {
        tokens.append(.one { $0 == "[" })
        i += 1
        continue
      }
      var set = Array(p[(i + 1)..<j])
      let negate = set.first == "!"
      if negate { set.removeFirst() }
      var ranges: [(Character, Character)] = []
      var k = 0
      while k < set.count {
        if k + 2 < set.count && set[k + 1] == "-" {
          ranges.append((set[k], set[k + 2]))
          k += 3
        } else {
          ranges.append((set[k], set[k]))
          k += 1
        }
      }
      let members = ranges
      tokens.append(.one { ch in members.contains { $0.0 <= ch && ch <= $0.1 } != negate })
      i = j + 1
    default:
      tokens.append(.one { $0 == c })
      i += 1
    }
  }
  return tokens
}
