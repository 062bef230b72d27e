/// An inventory that cannot be used as written.
public struct InventoryError: DiagnosticError, Equatable {
  public enum Kind: Sendable, Equatable {
    case unknownSectionType(String)
    case invalidSection(String)
    case undefinedChildGroup(parent: String, child: String)
    case expectedAssignment(String)
    case badHostRange(String, reason: String)
    case badHostPattern(String, reason: String)
    case invalidStructure(String)
    case recursiveGroup(parent: String, child: String)
    case unreadable(String)
    case yaml(YAMLError)
    case vault(VaultError)
  }

  public var kind: Kind
  public var location: SourceLocation?
  public var sourceLine: String?
  public var hint: String?

  public init(
    _ kind: Kind, at location: SourceLocation?, sourceLine: String? = nil, hint: String? = nil
  ) {
    self.kind = kind
    self.location = location
    self.sourceLine = sourceLine
    self.hint = hint
  }

  public var message: String {
    switch kind {
    case .unknownSectionType(let type):
      return "unknown section type ':\(type)'; expected ':vars' or ':children'"
    case .invalidSection(let line): return "invalid section header '\(line)'"
    case .undefinedChildGroup(let parent, let child):
      return "section [\(parent):children] includes undefined group '\(child)'"
    case .expectedAssignment(let got): return "expected key=value, got '\(got)'"
    case .badHostRange(let pattern, let reason): return "bad host range in '\(pattern)': \(reason)"
    case .badHostPattern(let pattern, let reason): return "invalid host pattern '\(pattern)': \(reason)"
    case .invalidStructure(let why): return why
    case .recursiveGroup(let parent, let child):
      return "adding group '\(child)' as a child of '\(parent)' creates a loop"
    case .unreadable(let why): return why
    case .yaml(let error): return error.message
    case .vault(let error): return error.message
    }
  }

  public var diagnostic: Diagnostic {
    if case .yaml(let error) = kind { return error.diagnostic }
    if case .vault(let error) = kind { return error.diagnostic }
    return Diagnostic(.error, at: location, message, sourceLine: sourceLine, hint: hint)
  }
}
