/// A failure to compile or render a template, with the place inside the template text.
///
/// Line and column are 1-based and count characters within the template string itself;
/// the caller adds the file location of the string when it has one.
public struct TemplateError: Error, Sendable, Equatable, CustomStringConvertible {
  /// What went wrong; tests compare kinds.
  public enum Kind: Sendable, Equatable {
    /// The text is not valid template syntax; the payload says what was expected.
    case syntax(String)
    /// A `{{`, `{%`, `{#`, string or `{% raw %}` that never ends.
    case unclosed(String)
    /// A block statement such as `if` or `for` without its `end` tag.
    case missingEnd(String)
    /// A variable that no context defines, such as `'foo' is undefined`.
    case undefined(String)
    case unknownFilter(String)
    case unknownTest(String)
    case unknownFunction(String)
    /// A filter, test, method or macro called with arguments it does not accept.
    case wrongArguments(String, String)
    /// An operation on values of the wrong type, worded as Python words it.
    case type(String)
    /// A value that has the right type but cannot be used, such as `int('x')`.
    case value(String)
    /// Division or modulo by zero.
    case zeroDivision
    /// A variable whose value refers back to itself while being templated.
    case recursion(String)
    /// A template named by `include` or `import` that the context cannot find.
    case templateNotFound(String)
    /// A lookup plugin that failed or does not exist.
    case lookup(String)
    /// Raised on purpose by the template, such as the `mandatory` filter.
    case failed(String)
  }

  /// What went wrong.
  public var kind: Kind
  /// The name given to the template, such as its file name or `when`.
  public var templateName: String
  /// 1-based line within the template text, or 0 when the error has no place.
  public var line: Int
  /// 1-based column, in characters.
  public var column: Int
  /// What to change, when there is a likely fix.
  public var hint: String?

  /// An error of `kind` at `line` and `column` of the template called `templateName`.
  public init(
    _ kind: Kind, templateName: String = "", line: Int = 0, column: Int = 0,
    hint: String? = nil
  ) {
    self.kind = kind
    self.templateName = templateName
    self.line = line
    self.column = column
    self.hint = hint
  }

  /// The error in the words Jinja2 uses, so that users recognise it.
  public var message: String {
    switch kind {
    case .syntax(let s): return s
    case .unclosed(let s): return "unexpected end of template, expected \(s)"
    case .missingEnd(let s): return "unexpected end of template, expected '\(s)'"
    case .undefined(let s): return s
    case .unknownFilter(let s): return "no filter named '\(s)'"
    case .unknownTest(let s): return "no test named '\(s)'"
    case .unknownFunction(let s): return "'\(s)' is undefined"
    case .wrongArguments(let f, let s): return "\(f)() \(s)"
    case .type(let s): return s
    case .value(let s): return s
    case .zeroDivision: return "division by zero"
    case .recursion(let s): return "recursive loop detected in template: \(s)"
    case .templateNotFound(let s): return "template '\(s)' not found"
    case .lookup(let s): return s
    case .failed(let s): return s
    }
  }

  /// `name:line:column: message`.
  public var description: String {
    let place = templateName.isEmpty ? "" : "\(templateName):"
    return "\(place)\(line):\(column): \(message)"
  }
}
