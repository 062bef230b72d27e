import Foundation
import Inventory

/// A loaded playbook: plays with their tasks, imports resolved, every task with its location.
public struct Playbook: Sendable {
  public var path: String
  public var plays: [Play]
}

/// Keywords that plays, roles and blocks pass down to the tasks inside them.
public struct TaskKeywords: Sendable {
  public var become: Value?
  public var becomeUser: Value?
  public var becomeMethod: Value?
  public var remoteUser: Value?
  public var environment: [Value] = []
  public var tags: [String] = []
  public var when: [Condition] = []
  public var checkMode: Value?
  public var diff: Value?
  public var ignoreErrors: Value?
  public var ignoreUnreachable: Value?
  public var noLog: Value?
  public var anyErrorsFatal: Value?
  public var vars = OrderedDict()
  public var delegateTo: Value?
  public var runOnce: Value?
  public var timeout: Value?
  public var moduleDefaults = OrderedDict()

  public init() {}

  /// These keywords as a child sees them inside `parent`: unset keys come from the parent,
  /// tags add up, conditions must all hold, vars of the child win.
  func inheriting(from parent: TaskKeywords) -> TaskKeywords {
    var k = self
    k.become = become ?? parent.become
    k.becomeUser = becomeUser ?? parent.becomeUser
    k.becomeMethod = becomeMethod ?? parent.becomeMethod
    k.remoteUser = remoteUser ?? parent.remoteUser
    k.environment = parent.environment + environment
    k.tags = parent.tags + tags.filter { !parent.tags.contains($0) }
    k.when = parent.when + when
    k.checkMode = checkMode ?? parent.checkMode
    k.diff = diff ?? parent.diff
    k.ignoreErrors = ignoreErrors ?? parent.ignoreErrors
    k.ignoreUnreachable = ignoreUnreachable ?? parent.ignoreUnreachable
    k.noLog = noLog ?? parent.noLog
    k.anyErrorsFatal = anyErrorsFatal ?? parent.anyErrorsFatal
    var vars = parent.vars
    for (key, value) in self.vars { vars[key] = value }
    k.vars = vars
    k.delegateTo = delegateTo ?? parent.delegateTo
    k.runOnce = runOnce ?? parent.runOnce
    k.timeout = timeout ?? parent.timeout
    var defaults = parent.moduleDefaults
    for (key, value) in moduleDefaults { defaults[key] = value }
    k.moduleDefaults = defaults
    return k
  }
}

/// A `when`, `changed_when`, `failed_when` or `until` expression, compiled once.
public struct Condition: Sendable {
  public var source: String
  public var location: SourceLocation
  let compiled: CompiledExpression?
  let constant: Bool?

  init(_ value: Value, location: SourceLocation) throws(PlaybookError) {
    self.location = location
    switch value {
    case .bool(let b):
      source = b ? "True" : "False"
      constant = b
      compiled = nil
    case .int, .double:
      source = ModuleArguments.text(value) ?? ""
      constant = value.isTruthy
      compiled = nil
    case .string(var s):
      s = s.trimmingCharacters(in: .whitespacesAndNewlines)
      // Ansible accepts a bare '{{ x }}' in conditionals, with a warning.
      if s.hasPrefix("{{") && s.hasSuffix("}}") && !s.dropFirst(2).contains("{{") {
        s = String(s.dropFirst(2).dropLast(2)).trimmingCharacters(in: .whitespaces)
      }
      source = s
      constant = nil
      do {
        compiled = try CompiledExpression(s, name: "")
      } catch {
        throw PlaybookError(kind: .badExpression("\(error)"), location: location, hint: nil)
      }
    default:
      throw PlaybookError(
        kind: .wrongType(key: "condition", expected: "an expression", found: value.typeName),
        location: location)
    }
  }

  func isTrue(_ context: any TemplateContext) throws -> Bool {
    if let constant { return constant }
    guard let compiled else { return false }
    return try compiled.isTrue(context)
  }
}

/// A role as a play or task refers to it, loaded with everything it brings.
public final class Role: Sendable {
  public let name: String
  public let path: String
  public let defaults: OrderedDict
  public let vars: OrderedDict
  public let params: OrderedDict
  public let tasks: [TaskNode]
  public let handlers: [TaskNode]

  init(
    name: String, path: String, defaults: OrderedDict, vars: OrderedDict, params: OrderedDict,
    tasks: [TaskNode], handlers: [TaskNode]
  ) {
    self.name = name
    self.path = path
    self.defaults = defaults
    self.vars = vars
    self.params = params
    self.tasks = tasks
    self.handlers = handlers
  }
}

/// One entry of a task list: a task or a block.
public indirect enum TaskNode: Sendable {
  case task(PlaybookTask)
  case block(Block)
}

/// `block` with its `rescue` and `always` sections.
public struct Block: Sendable {
  public var name: String?
  public var body: [TaskNode]
  public var rescue: [TaskNode]
  public var always: [TaskNode]
  public var location: SourceLocation
  /// The block's own `when`, checked once per host before the body runs.
  public var keywords: TaskKeywords
}

/// One task, with its keywords already merged with those of the blocks, roles and play around it.
public struct PlaybookTask: Sendable {
  public var name: String?
  /// The module or action, short name (`copy`, not `ansible.builtin.copy`).
  public var action: String
  /// The action as written, for output (`ansible.builtin.copy`).
  public var actionAsWritten: String
  /// The arguments as written; templated per host when the task runs.
  public var args: OrderedDict
  public var keywords: TaskKeywords
  public var location: SourceLocation
  public var argsLocation: SourceLocation
  public var register: String?
  public var loop: Value?
  /// The `with_X` lookup of the loop, when the task used one.
  public var loopLookup: String?
  public var loopControl: OrderedDict
  public var changedWhen: [Condition]?
  public var failedWhen: [Condition]?
  public var until: Condition?
  public var retries: Value?
  public var delay: Value?
  public var notify: [String]
  public var listen: [String]
  public var role: Role?
  /// True for tasks of `handlers:` sections.
  public var isHandler: Bool

  /// `changed_when: false`: the task says it never changes the host (a command that reads).
  public var neverChanges: Bool {
    guard let changedWhen, changedWhen.count == 1 else { return false }
    return changedWhen[0].constant == false
  }

  /// The name Ansible prints: the task name, or the action.
  public var displayName: String {
    let base = name ?? actionAsWritten
    if let role { return "\(role.name) : \(base)" }
    return base
  }
}
