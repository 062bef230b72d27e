/// Unified diffs of text, as `diff -u` prints them, for `--diff`.
public enum UnifiedDiff {
  /// The diff of `before` and `after` with `context` lines around each change; empty when equal.
  public static func render(
    _ before: String, _ after: String, beforeHeader: String, afterHeader: String, context: Int = 3
  ) -> String {
    guard before != after else { return "" }
    let a = lines(before)
    let b = lines(after)
    let ops = editScript(a, b)
    var out = "--- before: \(beforeHeader)\n+++ after: \(afterHeader)\n"
    // Group operations into hunks with `context` lines of context.
    var i = 0
    while i < ops.count {
      guard let firstChange = ops[i...].firstIndex(where: { $0.kind != .same }) else { break }
      let start = max(i, firstChange - context)
      var end = firstChange
      var lastChange = firstChange
      while end < ops.count {
        if ops[end].kind != .same { lastChange = end }
        if end - lastChange > 2 * context { break }
        end += 1
      }
      let hunkEnd = min(ops.count, lastChange + context + 1)
      let hunk = ops[start..<hunkEnd]
      let aStart = hunk.first?.aIndex ?? 0
      let bStart = hunk.first?.bIndex ?? 0
      let aCount = hunk.filter { $0.kind != .insert }.count
      let bCount = hunk.filter { $0.kind != .delete }.count
      out += "@@ -\(range(aStart, aCount)) +\(range(bStart, bCount)) @@\n"
      for op in hunk {
        switch op.kind {
        case .same: out += " " + a[op.aIndex]
        case .delete: out += "-" + a[op.aIndex]
        case .insert: out += "+" + b[op.bIndex]
        }
      }
      i = hunkEnd
    }
    return out
  }

  private static func range(_ start: Int, _ count: Int) -> String {
    let first = count == 0 ? start : start + 1
    return count == 1 ? "\(first)" : "\(first),\(count)"
  }

  /// Lines with their line ends; a last line without one gets the marker diff prints.
  static func lines(_ text: String) -> [String] {
    var out: [String] = []
    var current = ""
    for c in text {
      current.append(c)
      if c == "\n" {
        out.append(current)
        current = ""
      }
    }
    if !current.isEmpty { out.append(current + "\n\\ No newline at end of file\n") }
    return out
  }

  struct Op {
    enum Kind { case same, delete, insert }
    var kind: Kind
    var aIndex: Int
    var bIndex: Int
  }

  /// The shortest edit script by longest common subsequence, after trimming the common ends.
  static func editScript(_ a: [String], _ b: [String]) -> [Op] {
    var prefix = 0
    while prefix < a.count && prefix < b.count && a[prefix] == b[prefix] { prefix += 1 }
    var suffix = 0
    while suffix < a.count - prefix && suffix < b.count - prefix && a[a.count - 1 - suffix] == b[b.count - 1 - suffix] {
      suffix += 1
    }
    let a1 = Array(a[prefix..<(a.count - suffix)])
    let b1 = Array(b[prefix..<(b.count - suffix)])
    var ops: [Op] = (0..<prefix).map { Op(kind: .same, aIndex: $0, bIndex: $0) }
    if a1.count * b1.count > 4_000_000 {
      // Too big for the table: show it as a replacement.
      ops += a1.indices.map { Op(kind: .delete, aIndex: prefix + $0, bIndex: prefix) }
      ops += b1.indices.map { Op(kind: .insert, aIndex: prefix + a1.count, bIndex: prefix + $0) }
    } else {
      var table = [[Int]](repeating: [Int](repeating: 0, count: b1.count + 1), count: a1.count + 1)
      for i in stride(from: a1.count - 1, through: 0, by: -1) {
        for j in stride(from: b1.count - 1, through: 0, by: -1) {
          table[i][j] = a1[i] == b1[j] ? table[i + 1][j + 1] + 1 : max(table[i + 1][j], table[i][j + 1])
        }
      }
      var i = 0
      var j = 0
      while i < a1.count || j < b1.count {
        if i < a1.count && j < b1.count && a1[i] == b1[j] {
          ops.append(Op(kind: .same, aIndex: prefix + i, bIndex: prefix + j))
          i += 1
          j += 1
        } else if j < b1.count && (i == a1.count || table[i][j + 1] > table[i + 1][j]) {
          ops.append(Op(kind: .insert, aIndex: prefix + i, bIndex: prefix + j))
          j += 1
        } else {
          ops.append(Op(kind: .delete, aIndex: prefix + i, bIndex: prefix + j))
          i += 1
        }
      }
    }
    let aEnd = a.count - suffix
    let bEnd = b.count - suffix
    ops += (0..<suffix).map { Op(kind: .same, aIndex: aEnd + $0, bIndex: bEnd + $0) }
    return ops
  }
}
