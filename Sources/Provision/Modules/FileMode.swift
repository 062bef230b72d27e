/// A file mode as a task gives it: octal (`0644`, `'755'`) or symbolic (`u=rw,g=r,o-w`).
public enum FileMode: Sendable, Equatable {
  case absolute(UInt16)
  case symbolic(String)

  /// Parses a mode string, or nil when it is neither octal nor symbolic.
  public static func parse(_ text: String) -> FileMode? {
    let s = text.trimmingSpaces()
    if !s.isEmpty, s.allSatisfy({ ("0"..."7").contains($0) }) {
      guard let bits = UInt16(s, radix: 8), bits <= 0o7777 else { return nil }
      return .absolute(bits)
    }
    return (try? apply(symbolic: s, to: 0, isDirectory: false)) != nil ? .symbolic(s) : nil
  }

  /// The mode bits this mode gives a file whose current bits are `current`.
  public func bits(from current: UInt16, isDirectory: Bool) -> UInt16 {
    switch self {
    case .absolute(let bits): return bits
    case .symbolic(let s): return (try? Self.apply(symbolic: s, to: current, isDirectory: isDirectory)) ?? current
    }
  }

  struct BadMode: Error {}

  /// chmod(1)'s symbolic modes: clauses `[ugoa]*[+-=][rwxXst]*`, comma-separated.
  static func apply(symbolic: String, to current: UInt16, isDirectory: Bool) throws -> UInt16 {
    var mode = current
    guard !symbolic.isEmpty else { throw BadMode() }
    for clause in symbolic.split(separator: ",", omittingEmptySubsequences: false) {
      var chars = Substring(clause)
      var who: UInt16 = 0
      while let c = chars.first, "ugoa".contains(c) {
        switch c {
        case "u": who |= 0o4700
        case "g": who |= 0o2070
        case "o": who |= 0o1007
        default: who |= 0o7777
        }
        chars = chars.dropFirst()
      }
      if who == 0 { who = 0o7777 }
      guard !chars.isEmpty else { throw BadMode() }
      while let op = chars.first {
        guard "+-=".contains(op) else { throw BadMode() }
        chars = chars.dropFirst()
        var perms: UInt16 = 0
        while let c = chars.first, "rwxXst".contains(c) {
          switch c {
          case "r": perms |= 0o444
          case "w": perms |= 0o222
          case "x": perms |= 0o111
          case "X": if isDirectory || mode & 0o111 != 0 { perms |= 0o111 }
          case "s": perms |= 0o6000
          default: perms |= 0o1000
          }
          chars = chars.dropFirst()
        }
        let mask = perms & who
        switch op {
        case "+": mode |= mask
        case "-": mode &= ~mask
        default:
          // '=' clears the classes named (without their special bits unless named) first.
          mode &= ~(who & 0o0777)
          mode |= mask
        }
      }
    }
    return mode
  }
}

import Foundation
