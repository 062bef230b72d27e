import Inventory

/// String operations with Python's exact behaviour, shared by methods and filters.
enum TemplateStrings {
  /// Python's `str.split` and `str.rsplit`.
  static func split(
    _ s: String, separator: String?, maxSplit: Int, fromRight: Bool,
    renderer: TemplateRenderer, at offset: Int
  ) throws -> [String] {
    if let separator {
      guard !separator.isEmpty else { throw renderer.error(.value("empty separator"), at: offset) }
      var parts: [String] = []
      let chars = Array(s.unicodeScalars)
      let sep = Array(separator.unicodeScalars)
      var splits = 0
      if fromRight {
        var end = chars.count
        var i = chars.count - sep.count
        while i >= 0 && (maxSplit < 0 || splits < maxSplit) {
          if Array(chars[i..<(i + sep.count)]) == sep {
            parts.append(scalars(chars[(i + sep.count)..<end]))
            end = i
            i -= sep.count
            splits += 1
          } else {
            i -= 1
          }
        }
        parts.append(scalars(chars[0..<end]))
        return parts.reversed()
      }
      var start = 0
      var i = 0
      while i + sep.count <= chars.count && (maxSplit < 0 || splits < maxSplit) {
        if Array(chars[i..<(i + sep.count)]) == sep {
          parts.append(scalars(chars[start..<i]))
          i += sep.count
          start = i
          splits += 1
        } else {
          i += 1
        }
      }
      parts.append(scalars(chars[start...]))
      return parts
    }
    // Runs of whitespace; leading and trailing whitespace gives no empty strings.
    var words: [String] = []
    let chars = Array(s)
    if fromRight {
      var i = chars.count
      while i > 0 {
        while i > 0 && chars[i - 1].isWhitespace { i -= 1 }
        if i == 0 { break }
        if maxSplit >= 0 && words.count == maxSplit {
          words.append(String(chars[0..<i]))
          break
        }
        var j = i
        while j > 0 && !chars[j - 1].isWhitespace { j -= 1 }
        words.append(String(chars[j..<i]))
        i = j
      }
      return words.reversed()
    }
    var i = 0
    while i < chars.count {
      while i < chars.count && chars[i].isWhitespace { i += 1 }
      if i == chars.count { break }
      if maxSplit >= 0 && words.count == maxSplit {
        var rest = chars[i...]
        while let l = rest.last, l.isWhitespace { rest.removeLast() }
        words.append(String(rest))
        break
      }
      var j = i
      while j < chars.count && !chars[j].isWhitespace { j += 1 }
      words.append(String(chars[i..<j]))
      i = j
    }
    return words
  }

  private static func scalars(_ s: ArraySlice<Unicode.Scalar>) -> String {
    var out = String.UnicodeScalarView()
    out.append(contentsOf: s)
    return String(out)
  }

  /// Python's `str.replace(old, new, count)`.
  static func replace(_ s: String, _ old: String, _ new: String, count: Int = -1) -> String {
    if old.isEmpty {
      var out = new
      var n = 1
      for c in s.unicodeScalars {
        out.unicodeScalars.append(c)
        if count < 0 || n < count {
          out += new
          n += 1
        }
      }
      return count == 0 ? s : out
    }
    let chars = Array(s.unicodeScalars)
    let o = Array(old.unicodeScalars)
    var out = String.UnicodeScalarView()
    var i = 0
    var done = 0
    while i < chars.count {
      if (count < 0 || done < count) && i + o.count <= chars.count
        && Array(chars[i..<(i + o.count)]) == o
      {
        out.append(contentsOf: new.unicodeScalars)
        i += o.count
        done += 1
      } else {
        out.append(chars[i])
        i += 1
      }
    }
    return String(out)
  }

  /// Python's `str.capitalize`: first character upper, the rest lower.
  static func capitalize(_ s: String) -> String {
    guard let f = s.first else { return s }
    return f.uppercased() + s.dropFirst().lowercased()
  }

  /// Python's `str.title`: a letter after any non-letter starts a word, so `They'Re`.
  static func pythonTitle(_ s: String) -> String {
    var out = ""
    var previousIsCased = false
    for c in s {
      out += previousIsCased ? c.lowercased() : c.uppercased()
      previousIsCased = c.isLetter
    }
    return out
  }

  /// Jinja2's `title` filter: words start after whitespace, `-`, `(` and similar.
  static func title(_ s: String) -> String {
    var out = ""
    var startOfWord = true
    for c in s {
      if c.isWhitespace || "-([{<".contains(c) {
        out.append(c)
        startOfWord = true
      } else if startOfWord {
        out += c.uppercased()
        startOfWord = false
      } else {
        out += c.lowercased()
      }
    }
    return out
  }
}
