/// Splits a line into words like Python's `shlex.split(line, comments=True)`, which Ansible uses
/// for INI host lines: quotes group words, a backslash escapes, `#` outside quotes ends the line.
enum ShellWords {
  static func split(_ line: String) -> [String]? {
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
      case "#":
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
