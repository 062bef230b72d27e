/// A problem found in user input, ready to be shown the way compilers show them.
///
/// ```
/// playbooks/web.yml:12:7: error: unknown module 'aptt'
///    12 |     - aptt: { name: nginx }
///       |       ^
///   hint: did you mean 'apt'?
/// ```
public struct Diagnostic: Sendable, Equatable, CustomStringConvertible {
  public enum Severity: String, Sendable { case error, warning }

  public var severity: Severity
  public var location: SourceLocation?
  public var message: String
  /// The text of the line `location` points into, without its line break.
  public var sourceLine: String?
  public var hint: String?

  public init(
    _ severity: Severity = .error, at location: SourceLocation?, _ message: String,
    sourceLine: String? = nil, hint: String? = nil
  ) {
    self.severity = severity
    self.location = location
    self.message = message
    self.sourceLine = sourceLine
    self.hint = hint
  }

  /// The whole diagnostic: header, source line with a caret, and the hint.
  public var description: String {
    var out = ""
    if let location { out += "\(location): " }
    out += "\(severity.rawValue): \(message)"
    if let location, let line = sourceLine {
      let number = String(location.line)
      let gutter = String(repeating: " ", count: number.count)
      // Long lines (minified or binary input) are cut around the column.
      var shown = line
      var caretColumn = max(location.column, 1)
      if shown.count > 160 {
        let start = max(0, caretColumn - 60)
        shown = "…" + String(shown.dropFirst(start).prefix(120)) + "…"
        caretColumn = caretColumn - start + 1
      }
      shown = String(shown.map { $0.isASCII && ($0.asciiValue ?? 32) < 32 && $0 != "\t" ? "�" : $0 })
      out += "\n \(number) | \(shown)"
      let pad = String(shown.prefix(caretColumn - 1).map { $0 == "\t" ? "\t" : " " })
      out += "\n \(gutter) | \(pad)^"
    }
    if let hint { out += "\n  hint: \(hint)" }
    return out
  }
}

/// An error that can describe itself as a `Diagnostic`.
public protocol DiagnosticError: Error, Sendable {
  var diagnostic: Diagnostic { get }
}

/// The text of line `line` (1-based) of `bytes`, for diagnostics.
public func sourceLine(_ line: Int, in bytes: [UInt8]) -> String? {
  guard line >= 1 else { return nil }
  var current = 1
  var start = 0
  var i = 0
  while i < bytes.count && current < line {
    if bytes[i] == UInt8(ascii: "\n") {
      current += 1
      start = i + 1
    }
    i += 1
  }
  guard current == line else { return current == line - 1 && start == bytes.count ? "" : nil }
  var end = start
  while end < bytes.count && bytes[end] != UInt8(ascii: "\n") && bytes[end] != UInt8(ascii: "\r") {
    end += 1
  }
  return String(decoding: bytes[start..<end], as: UTF8.self)
}
