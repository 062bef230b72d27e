import Inventory

/// A playbook that cannot run as written, found before any host is touched.
public struct PlaybookError: DiagnosticError, Equatable {
  public enum Kind: Sendable, Equatable {
    case notAList(found: String)
    case playNotAMapping(found: String)
    case missingKey(String, in: String)
    case unknownPlayKey(String)
    case unknownTaskKey(String)
    case conflictingActions([String])
    case noAction
    case wrongType(key: String, expected: String, found: String)
    case yaml(YAMLError)
    case unknownModule(String)
    case badArgument(String)
    case badExpression(String)
    case missingFile(String)
    case missingRole(String)
  }

  public var kind: Kind
  public var location: SourceLocation
  public var sourceLine: String?
  public var hint: String?

  public var message: String {
    switch kind {
    case .notAList(let found): return "a playbook must be a list of plays, found \(found)"
    case .playNotAMapping(let found): return "a play must be a mapping, found \(found)"
    case .missingKey(let key, let place): return "\(place) has no '\(key)'"
    case .unknownPlayKey(let key): return "'\(key)' is not a valid attribute for a play"
    case .unknownTaskKey(let key): return "'\(key)' is not a task keyword, and the task already has a module"
    case .conflictingActions(let names):
      return "conflicting action statements: \(names.map { "'\($0)'" }.joined(separator: ", "))"
    case .noAction: return "the task names no module or action"
    case .wrongType(let key, let expected, let found): return "'\(key)' must be \(expected), found \(found)"
    case .yaml(let error): return error.message
    case .unknownModule(let name): return "couldn't resolve module/action '\(name)'"
    case .badArgument(let message): return message
    case .badExpression(let message): return "bad expression: \(message)"
    case .missingFile(let path): return "cannot read '\(path)'"
    case .missingRole(let name): return "the role '\(name)' was not found"
    }
  }

  public var diagnostic: Diagnostic {
    if case .yaml(let error) = kind { return error.diagnostic }
    return Diagnostic(.error, at: location, message, sourceLine: sourceLine, hint: hint)
  }
}
