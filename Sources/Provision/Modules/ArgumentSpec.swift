import Foundation
import Inventory

/// The arguments a module accepts: names, types, aliases, choices and which are required.
///
/// Used twice: before any host is touched, on the arguments as written (templated values are
/// checked only for their names), and on each host, on the templated values.
public struct ArgumentSpec: Sendable {
  public enum Kind: Sendable, Equatable {
    case string, bool, int, float, list, dict, raw, path, mode
  }

  public struct Argument: Sendable {
    public var name: String
    public var kind: Kind
    public var isRequired: Bool
    public var aliases: [String]
    public var choices: [String]
    public var defaultValue: Value?

    public init(
      _ name: String, _ kind: Kind = .string, required: Bool = false, aliases: [String] = [],
      choices: [String] = [], default defaultValue: Value? = nil
    ) {
      self.name = name
      self.kind = kind
      self.isRequired = required
      self.aliases = aliases
      self.choices = choices
      self.defaultValue = defaultValue
    }
  }

  public var arguments: [Argument]
  /// The argument that receives free-form text (`command: ls -l`), if any.
  public var freeForm: String?
  /// Groups of which exactly one... at least one must be given.
  public var requiredOneOf: [[String]]
  /// Groups of which at most one may be given.
  public var mutuallyExclusive: [[String]]
  /// Accepts any argument name (`set_fact`, `debug` of a var).
  public var acceptsAnyName: Bool

  public init(
    _ arguments: [Argument], freeForm: String? = nil, requiredOneOf: [[String]] = [],
    mutuallyExclusive: [[String]] = [], acceptsAnyName: Bool = false
  ) {
    self.arguments = arguments
    self.freeForm = freeForm
    self.requiredOneOf = requiredOneOf
    self.mutuallyExclusive = mutuallyExclusive
    self.acceptsAnyName = acceptsAnyName
  }

  /// The canonical name for `name` or one of its aliases.
  public func canonicalName(_ name: String) -> String? {
    arguments.first { $0.name == name || $0.aliases.contains(name) }?.name
  }

  /// A problem with one argument, with the argument's name so the caller can point at it.
  public struct Problem: Sendable, Equatable {
    public var argument: String?
    public var message: String
    public var hint: String?
  }

  /// Every problem with `given`. When `templated` is true, values that still hold `{{` are
  /// only checked for their names, since their type is known only on the host.
  public func problems(in given: OrderedDict, module: String, templated: Bool = false) -> [Problem] {
    var problems: [Problem] = []
    let known = Set(arguments.flatMap { [$0.name] + $0.aliases })
    for (key, value) in given {
      guard let name = canonicalName(key) else {
        if acceptsAnyName || key.hasPrefix("_") { continue }
        let hint = PlaybookValidator.suggestion(for: key, among: known)
          ?? "'\(module)' accepts: \(arguments.map(\.name).sorted().joined(separator: ", "))"
        problems.append(Problem(argument: key, message: "unsupported parameter '\(key)' for module '\(module)'", hint: hint))
        continue
      }
      guard let spec = arguments.first(where: { $0.name == name }) else { continue }
      if templated && Template.containsTemplate(value) { continue }
      if value == .null { continue }
      if let problem = typeProblem(value, spec: spec, key: key) { problems.append(problem) }
    }
    let givenNames = Set(given.keys.compactMap { canonicalName($0) })
    for spec in arguments where spec.isRequired && !givenNames.contains(spec.name) {
      problems.append(Problem(argument: nil, message: "missing required argument '\(spec.name)' for module '\(module)'", hint: nil))
    }
    for group in requiredOneOf where givenNames.isDisjoint(with: group) {
      problems.append(Problem(argument: nil, message: "'\(module)' needs one of: \(group.joined(separator: ", "))", hint: nil))
    }
    // A templated value may turn out to be `omit`: only literal values count as given here.
    let literalNames = Set(given.compactMap { key, value in
      templated && Template.containsTemplate(value) ? nil : canonicalName(key)
    })
    for group in mutuallyExclusive where literalNames.intersection(group).count > 1 {
      problems.append(Problem(argument: nil, message: "parameters are mutually exclusive: \(group.joined(separator: "|"))", hint: nil))
    }
    return problems
  }

  private func typeProblem(_ value: Value, spec: Argument, key: String) -> Problem? {
    func wrong(_ expected: String) -> Problem {
      Problem(argument: key, message: "'\(key)' must be \(expected), found \(value.typeName) \(value.ansibleRepr)", hint: nil)
    }
    switch spec.kind {
    case .bool:
      if ModuleArguments.boolean(value) == nil { return wrong("a boolean (yes/no, true/false)") }
    case .int:
      if ModuleArguments.integer(value) == nil { return wrong("an integer") }
    case .float:
      if ModuleArguments.number(value) == nil { return wrong("a number") }
    case .dict:
      if value.dictValue == nil { return wrong("a mapping") }
    case .mode:
      if case .string(let s) = value, FileMode.parse(s) == nil {
        return Problem(argument: key, message: "bad mode '\(s)'", hint: "use an octal string such as '0644' or a symbolic mode such as 'u=rw,g=r,o=r'")
      }
    case .string, .path, .list, .raw:
      break
    }
    if !spec.choices.isEmpty, let text = ModuleArguments.text(value), !spec.choices.contains(text) {
      return Problem(
        argument: key, message: "value of '\(key)' must be one of: \(spec.choices.joined(separator: ", ")), got: \(text)",
        hint: PlaybookValidator.suggestion(for: text, among: Set(spec.choices)))
    }
    return nil
  }
}

extension Value {
  /// A short Python-like rendering for messages.
  var ansibleRepr: String {
    switch self {
    case .string(let s): return "'\(s)'"
    default: return jsonString()
    }
  }
}

/// A module's templated arguments with typed access, aliases resolved and defaults applied.
public struct ModuleArguments: Sendable {
  public var values: OrderedDict
  public let module: String

  public init(_ given: OrderedDict, spec: ArgumentSpec, module: String) throws {
    self.module = module
    let problems = spec.problems(in: given, module: module)
    if let first = problems.first { throw ModuleError(first.message, hint: first.hint) }
    var values = OrderedDict()
    for (key, value) in given {
      values[spec.canonicalName(key) ?? key] = value
    }
    for argument in spec.arguments where values[argument.name] == nil {
      if let d = argument.defaultValue { values[argument.name] = d }
    }
    self.values = values
  }

  public subscript(name: String) -> Value? {
    guard let v = values[name], v != .null else { return nil }
    return v
  }

  public func string(_ name: String) -> String? { self[name].flatMap(Self.text) }

  public func bool(_ name: String, default d: Bool = false) -> Bool {
    self[name].flatMap(Self.boolean) ?? d
  }

  public func optionalBool(_ name: String) -> Bool? { self[name].flatMap(Self.boolean) }

  public func int(_ name: String) -> Int? { self[name].flatMap(Self.integer) }

  public func double(_ name: String) -> Double? { self[name].flatMap(Self.number) }

  /// A list argument; a comma-separated string is split as Ansible does.
  public func list(_ name: String) -> [String]? {
    switch self[name] {
    case .list(let items)?, .tuple(let items)?: return items.compactMap(Self.text)
    case .string(let s)?: return s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
    case let v?: return Self.text(v).map { [$0] }
    case nil: return nil
    }
  }

  public func mode(_ name: String) throws -> FileMode? {
    switch self[name] {
    case nil: return nil
    case .int(let i)?:
      guard (0...0o7777).contains(i) else { throw ModuleError("mode \(i) is out of range") }
      return .absolute(UInt16(i))
    case .string(let s)?:
      guard let mode = FileMode.parse(s) else {
        throw ModuleError("bad mode '\(s)'", hint: "use an octal string such as '0644' or a symbolic mode such as 'u=rw,g=r,o=r'")
      }
      return mode
    case let v?: throw ModuleError("'\(name)' must be a mode, found \(v.typeName)")
    }
  }

  static func text(_ v: Value) -> String? {
    switch v {
    case .string(let s): return s
    case .int(let i): return String(i)
    case .double(let d): return Value.double(d).jsonString()
    case .bool(let b): return b ? "True" : "False"
    case .null: return nil
    case .list, .dict, .tuple: return v.jsonString()
    }
  }

  static func boolean(_ v: Value) -> Bool? {
    switch v {
    case .bool(let b): return b
    case .int(let i) where i == 0 || i == 1: return i == 1
    case .double(let d) where d == 0 || d == 1: return d == 1
    case .string(let s):
      switch s.lowercased() {
      case "yes", "on", "1", "true", "y", "t": return true
      case "no", "off", "0", "false", "n", "f", "": return false
      default: return nil
      }
    default: return nil
    }
  }

  static func integer(_ v: Value) -> Int? {
    switch v {
    case .int(let i): return i
    case .double(let d) where d == d.rounded(): return Int(d)
    case .string(let s): return Int(s.trimmingCharacters(in: .whitespaces))
    default: return nil
    }
  }

  static func number(_ v: Value) -> Double? {
    switch v {
    case .int(let i): return Double(i)
    case .double(let d): return d
    case .string(let s): return Double(s.trimmingCharacters(in: .whitespaces))
    default: return nil
    }
  }
}
