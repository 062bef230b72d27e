/// Splits a line into words like Python's `shlex.split`: quotes group words, a backslash
/// escapes, and with `comments` (as Ansible reads INI host lines) `#` outside quotes ends the
/// line. Returns nil for an unclosed quote or a trailing backslash.
public enum ShellWords {
  public static func split(_ line: String, comments: Bool = true) -> [String]? {
    var words: [String] = []
    var word = ""
    var inWord = false
    var quote: Character?
    var escaping = false
    for c in line {
      if escaping {
        // Inside double quotes only \" and \\ are escapes; elsewhere any character is.
        if quote == "\"" && c != "\"" && c != "\\" { word.append("\\") }
        word.append(c)
        escaping = false
        continue
      }
      if let q = quote {
        if c == q {
          quote = nil
        } else if c == "\\" && q == "\"" {
          escaping = true
        } else {
          word.append(c)
        }
        continue
      }
      switch c {
      case " ", "\t", "\n", "\r":
        if inWord {
          words.append(word)
          word = ""
          inWord = false
        }
      case "#" where comments:
        if inWord { words.append(word) }
        return words
      case "'", "\"":
        quote = c
        inWord = true
      case "\\":
        escaping = true
        inWord = true
      default:
        word.append(c)
        inWord = true
      }
    }
    if quote != nil || escaping { return nil }
    if inWord { words.append(word) }
    return words
  }
}
