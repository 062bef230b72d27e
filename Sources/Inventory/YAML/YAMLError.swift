/// A YAML document that could not be read.
public struct YAMLError: DiagnosticError, Equatable {
  public enum Kind: Sendable, Equatable {
    /// libyaml's own complaint, such as "mapping values are not allowed in this context".
    case syntax(String)
    case duplicateKey(String, first: SourceLocation)
    case unknownAlias(String)
    case aliasCycle(String)
    /// Aliases expand to more nodes than any real document needs ("billion laughs").
    case expansionLimit(Int)
    case complexKey
    /// `key: {{ var }}` unquoted: YAML reads the braces as a mapping inside a mapping.
    case unquotedTemplate
    case unreadable(String)
    /// Vault data that could not be decrypted: the whole file, or one `!vault` value.
    case vault(VaultError)
  }

  public var kind: Kind
  public var location: SourceLocation
  public var sourceLine: String?
  public var hint: String?

  public var message: String {
    switch kind {
    case .syntax(let problem): return problem
    case .duplicateKey(let key, let first):
      return "duplicate key '\(key)' (first defined at line \(first.line), column \(first.column))"
    case .unknownAlias(let name): return "unknown alias '*\(name)': no anchor '&\(name)' before it"
    case .aliasCycle(let name): return "alias '*\(name)' refers to the node that contains it"
    case .expansionLimit(let limit):
      return "aliases expand to more than \(limit) nodes; refusing to expand further"
    case .complexKey: return "a mapping key must be a plain value, not a mapping or a list"
    case .unquotedTemplate: return "unquoted '{{' starts a YAML mapping here, not a template"
    case .unreadable(let why): return why
    case .vault(let error): return error.message
    }
  }

  public var diagnostic: Diagnostic {
    Diagnostic(.error, at: location, message, sourceLine: sourceLine, hint: hint)
  }
}
