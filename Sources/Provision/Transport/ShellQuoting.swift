import Foundation

/// POSIX shell quoting.
enum ShellQuoting {
  /// Quotes `word` so that `/bin/sh` reads it back as exactly one word.
  static func quote(_ word: String) -> String {
    if !word.isEmpty && word.utf8.allSatisfy(isSafe) { return word }
    var out = "'"
    out.reserveCapacity(word.utf8.count + 2)
    // Whole runs between quotes are appended at once: scripts of kilobytes are quoted often.
    var rest = Substring(word)
    while let quote = rest.utf8.firstIndex(of: UInt8(ascii: "'")) {
      out += rest[..<quote]
      out += "'\\''"
      rest = rest[rest.utf8.index(after: quote)...]
    }
    out += rest
    return out + "'"
  }

  /// `bytes` in single quotes as one word, whatever they are (they need not be UTF-8): a
  /// command's standard input written into the resident shell's line (`ShellFrame`).
  static func quotedBytes(_ bytes: Data) -> Data {
    var out = Data([UInt8(ascii: "'")])
    out.reserveCapacity(bytes.count + 2)
    var rest = bytes[...]
    while let quote = rest.firstIndex(of: UInt8(ascii: "'")) {
      out.append(rest[..<quote])
      out.append(contentsOf: Array("'\\''".utf8))
      rest = rest[(quote + 1)...]
    }
    out.append(rest)
    out.append(UInt8(ascii: "'"))
    return out
  }

  /// Bytes that need no quoting: ASCII letters, digits and `-_./=:@%+,`.
  private static func isSafe(_ b: UInt8) -> Bool {
    switch b {
    case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"):
      return true
    case UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "/"), UInt8(ascii: "="), UInt8(ascii: ":"),
      UInt8(ascii: "@"), UInt8(ascii: "%"), UInt8(ascii: "+"), UInt8(ascii: ","):
      return true
    default:
      return false
    }
  }
}
