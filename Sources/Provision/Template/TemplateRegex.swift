import Foundation
import Inventory

/// Python `re` patterns on top of NSRegularExpression: named groups are translated and
/// replacement strings use Python's `\1` and `\g<name>` forms.
struct TemplateRegex {
  let regex: NSRegularExpression
  let groupNames: [String]

  init(_ pattern: String, ignoreCase: Bool = false, multiline: Bool = false) throws {
    var options: NSRegularExpression.Options = []
    if ignoreCase { options.insert(.caseInsensitive) }
    if multiline { options.insert(.anchorsMatchLines) }
    var names: [String] = []
    let translated = TemplateRegex.translate(pattern, names: &names)
    regex = try NSRegularExpression(pattern: translated, options: options)
    groupNames = names
  }

  /// `(?P<n>...)` becomes `(?<n>...)`, `(?P=n)` becomes `\k<n>`.
  private static func translate(_ pattern: String, names: inout [String]) -> String {
    var out = ""
    let chars = Array(pattern)
    var i = 0
    while i < chars.count {
      if chars[i] == "\\" && i + 1 < chars.count {
        out.append(chars[i])
        out.append(chars[i + 1])
        i += 2
        continue
      }
      if chars[i] == "(" && i + 3 < chars.count && chars[i + 1] == "?" && chars[i + 2] == "P" {
        if chars[i + 3] == "<", let close = chars[(i + 4)...].firstIndex(of: ">") {
          names.append(String(chars[(i + 4)..<close]))
          out += "(?<" + String(chars[(i + 4)..<close]) + ">"
          i = close + 1
          continue
        }
        if chars[i + 3] == "=", let close = chars[(i + 4)...].firstIndex(of: ")") {
          out += "\\k<" + String(chars[(i + 4)..<close]) + ">"
          i = close + 1
          continue
        }
      }
      out.append(chars[i])
      i += 1
    }
    return out
  }

  func matches(in s: String) -> [NSTextCheckingResult] {
    regex.matches(in: s, range: NSRange(s.startIndex..., in: s))
  }

  func firstMatch(in s: String, anchored: Bool = false) -> NSTextCheckingResult? {
    regex.firstMatch(
      in: s, options: anchored ? [.anchored] : [], range: NSRange(s.startIndex..., in: s))
  }

  /// The text of group `i`, or nil when the group did not take part.
  static func group(_ m: NSTextCheckingResult, _ i: Int, in s: String) -> String? {
    guard i < m.numberOfRanges, let r = Range(m.range(at: i), in: s) else { return nil }
    return String(s[r])
  }

  func group(_ m: NSTextCheckingResult, named name: String, in s: String) -> String? {
    guard let r = Range(m.range(withName: name), in: s) else { return nil }
    return String(s[r])
  }

  /// Expands a Python replacement template (`\1`, `\g<1>`, `\g<name>`, `\n`) for one match.
  func expand(_ template: String, _ m: NSTextCheckingResult, in s: String) -> String {
    var out = ""
    let chars = Array(template)
    var i = 0
    while i < chars.count {
      let c = chars[i]
      guard c == "\\", i + 1 < chars.count else {
        out.append(c)
        i += 1
        continue
      }
      let n = chars[i + 1]
      if n.isASCII && n.isNumber {
        var digits = String(n)
        i += 2
        if i < chars.count && chars[i].isASCII && chars[i].isNumber {
          digits.append(chars[i])
          i += 1
        }
        out += TemplateRegex.group(m, Int(digits) ?? 0, in: s) ?? ""
        continue
      }
      if n == "g", i + 2 < chars.count, chars[i + 2] == "<",
        let close = chars[(i + 3)...].firstIndex(of: ">")
      {
        let ref = String(chars[(i + 3)..<close])
        if let k = Int(ref) {
          out += TemplateRegex.group(m, k, in: s) ?? ""
        } else {
          out += group(m, named: ref, in: s) ?? ""
        }
        i = close + 1
        continue
      }
      switch n {
      case "n": out += "\n"
      case "t": out += "\t"
      case "r": out += "\r"
      case "\\": out += "\\"
      default:
        out.append(c)
        out.append(n)
      }
      i += 2
    }
    return out
  }

  /// Python's `re.subn`: replaces up to `count` matches (0 for all).
  func replace(_ s: String, with template: String, count: Int = 0) -> (String, Int) {
    var out = ""
    var last = s.startIndex
    var n = 0
    for m in matches(in: s) {
      if count > 0 && n >= count { break }
      guard let r = Range(m.range, in: s) else { continue }
      out += s[last..<r.lowerBound]
      out += expand(template, m, in: s)
      last = r.upperBound
      n += 1
    }
    out += s[last...]
    return (out, n)
  }
}
