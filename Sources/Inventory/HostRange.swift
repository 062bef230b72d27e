/// Host names as written in inventories: `web01`, `db-[a:c]`, `node[01:10]`, `node[1:10:2]`,
/// optionally followed by `:port`; IPv6 addresses with a port are written `[::1]:2222`.
enum HostRange {
  struct Parsed: Equatable {
    var names: [String]
    var port: Int?
  }

  static func parse(_ pattern: String) throws(InventoryError) -> Parsed {
    var text = pattern
    var port: Int?
    if text.hasSuffix(":") {
      throw InventoryError(
        .badHostPattern(pattern, reason: "it ends in ':', which is reserved for a port"), at: nil)
    }
    if text.hasPrefix("["), let close = text.firstIndex(of: "]"),
      text[text.index(after: text.startIndex)..<close].filter({ $0 == ":" }).count >= 2
    {
      // [IPv6]:port
      let after = text[text.index(after: close)...]
      let address = String(text[text.index(after: text.startIndex)..<close])
      if after.isEmpty { return Parsed(names: [address], port: nil) }
      guard after.hasPrefix(":"), let p = Int(after.dropFirst()) else {
        throw InventoryError(.badHostPattern(pattern, reason: "expected ':port' after ']'"), at: nil)
      }
      return Parsed(names: [address], port: p)
    }
    // Colons outside brackets: one followed by digits is a port; several mean a bare IPv6.
    var depth = 0
    var colons: [String.Index] = []
    for i in text.indices {
      switch text[i] {
      case "[": depth += 1
      case "]": depth -= 1
      case ":" where depth == 0: colons.append(i)
      default: break
      }
    }
    if colons.count == 1, let c = colons.first {
      let digits = text[text.index(after: c)...]
      if let p = Int(digits), digits.allSatisfy(\.isNumber) {
        port = p
        text = String(text[..<c])
      }
    } else if colons.count >= 2 {
      return Parsed(names: [text], port: nil)
    }
    return Parsed(names: try expand(text, original: pattern), port: port)
  }

  /// Expands every `[a:b]` / `[a:b:step]` range, leftmost first.
  static func expand(_ text: String, original: String) throws(InventoryError) -> [String] {
    guard let open = text.firstIndex(of: "["), let close = text[open...].firstIndex(of: "]") else {
      if text.contains("]") || text.contains("[") {
        // A lone bracket is a name character in Ansible unless it forms a range.
        return [text]
      }
      return [text]
    }
    let head = String(text[..<open])
    let body = String(text[text.index(after: open)..<close])
    let tail = String(text[text.index(after: close)...])
    guard body.contains(":") else { return [text] }
    let parts = body.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
    guard parts.count == 2 || parts.count == 3 else {
      throw InventoryError(
        .badHostRange(original, reason: "a range is [begin:end] or [begin:end:step]"), at: nil)
    }
    let begin = parts[0].isEmpty ? "0" : parts[0]
    let end = parts[1]
    guard !end.isEmpty else {
      throw InventoryError(.badHostRange(original, reason: "the range has no end value"), at: nil)
    }
    var step = 1
    if parts.count == 3 {
      guard let s = Int(parts[2]), s > 0 else {
        throw InventoryError(.badHostRange(original, reason: "the step must be a positive number"), at: nil)
      }
      step = s
    }
    var items: [String] = []
    if let b = Int(begin), let e = Int(end) {
      guard b >= 0 else {
        throw InventoryError(.badHostRange(original, reason: "the range cannot start below zero"), at: nil)
      }
      guard b <= e else {
        throw InventoryError(.badHostRange(original, reason: "the range starts after it ends"), at: nil)
      }
      let count = (e - b) / step + 1  // e >= b >= 0: no overflow
      guard count <= maximumHosts else { throw tooLarge(original) }
      // A leading zero fixes the width: node[01:10] -> node01 ... node10.
      let width = begin.hasPrefix("0") && begin.count > 1 ? begin.count : 0
      for i in 0..<count {
        let digits = String(b + i * step)
        items.append(String(repeating: "0", count: max(0, width - digits.count)) + digits)
      }
    } else if begin.count == 1, end.count == 1, let b = begin.unicodeScalars.first,
      let e = end.unicodeScalars.first, b.properties.isAlphabetic, e.properties.isAlphabetic
    {
      guard b.value <= e.value else {
        throw InventoryError(.badHostRange(original, reason: "the range starts after it ends"), at: nil)
      }
      let count = Int(e.value - b.value) / step + 1
      guard count <= maximumHosts else { throw tooLarge(original) }
      for i in 0..<count {
        if let scalar = Unicode.Scalar(b.value + UInt32(i * step)) { items.append(String(Character(scalar))) }
      }
    } else {
      throw InventoryError(
        .badHostRange(original, reason: "begin and end must both be numbers or single letters"),
        at: nil)
    }
    let rests = try expand(tail, original: original)
    // Ranges in one name multiply: node[1:100]-[1:100] is 10,000 hosts.
    let (total, overflow) = items.count.multipliedReportingOverflow(by: rests.count)
    guard !overflow, total <= maximumHosts else { throw tooLarge(original) }
    var result: [String] = []
    result.reserveCapacity(total)
    for item in items {
      for rest in rests { result.append(head + item + rest) }
    }
    return result
  }

  /// The most hosts one pattern may expand to; more is almost surely a typo.
  static let maximumHosts = 100_000

  static func tooLarge(_ pattern: String) -> InventoryError {
    InventoryError(
      .badHostRange(pattern, reason: "it expands to more than \(maximumHosts) hosts"), at: nil)
  }
}
