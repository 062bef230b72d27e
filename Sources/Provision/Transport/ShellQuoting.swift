/// POSIX shell quoting.
enum ShellQuoting {
  /// Quotes `word` so that `/bin/sh` reads it back as exactly one word.
  static func quote(_ word: String) -> String {
    if !word.isEmpty
      && word.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_./=:@%+,".contains($0)) }
      )
    {
      return word
    }
    return "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
  }
}
