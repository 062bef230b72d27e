import Foundation
import Inventory

/// How a run goes: what the command line asked for.
public struct RunOptions: Sendable {
  public var check = false
  public var diff = false
  public var limit: String?
  public var tags: [String] = []
  public var skipTags: [String] = []
  public var extraVars = OrderedDict()
  public var forks = 5
  public var user: String?
  public var privateKey: String?
  public var become = false
  public var becomeUser: String?
  public var becomeMethod: String?
  public var becomePassword: String?
  public var sshPassword: String?
  public var passphrase: String?
  public var sshConfig: SSHConfig?
  public var startAtTask: String?
  public var verbosity = 0
  public var timeout: Double?
  /// Seconds between connection keepalives; nil leaves the default.
  public var connectTimeout: Double?
  /// Asked before a real run changes a host (`provision apply`): may refuse the change.
  public var applyGuard: (any ApplyGuard)?

  public init() {}
}

/// Decides, right before a real run changes a host, whether the change may be made.
public protocol ApplyGuard: Sendable {
  /// Nil approves `steps` of `task` (one loop item's, in a loop) on `host`; a message refuses
  /// them, and the task fails on that host with it.
  func approve(host: String, task: PlaybookTask, steps: [Step]) -> String?
}

/// Per-host counts for the recap, as ansible-playbook keeps them.
public struct HostStats: Sendable, Equatable {
  public var ok = 0
  public var changed = 0
  public var unreachable = 0
  public var failures = 0
  public var skipped = 0
  public var rescued = 0
  public var ignored = 0

  public init(
    ok: Int = 0, changed: Int = 0, unreachable: Int = 0, failures: Int = 0, skipped: Int = 0, rescued: Int = 0,
    ignored: Int = 0
  ) {
    self.ok = ok
    self.changed = changed
    self.unreachable = unreachable
    self.failures = failures
    self.skipped = skipped
    self.rescued = rescued
    self.ignored = ignored
  }
}

/// The result of one task on one host.
public struct TaskResult: Sendable {
  public enum Status: String, Sendable {
    case ok, changed, failed, skipped, unreachable
  }

  public var host: String
  public var status: Status
  /// What `register` stores: `changed`, `failed`, `msg`, the module's values, `results` for loops.
  public var result: OrderedDict
  /// One entry per loop item, in order; empty without a loop.
  public var items: [ItemResult] = []
  /// The failure was ignored (`ignore_errors`).
  public var isIgnored = false
  /// The host the task ran on instead, with `delegate_to`.
  public var delegatedTo: String?
  public var diffs: [FileDiff] = []
  /// The steps the task made (or, in check mode, would make).
  public var steps: [Step] = []
  /// The task ran in check mode.
  public var isCheck = false
  /// Output is hidden (`no_log`).
  public var isCensored = false
  /// Check mode cannot tell what the task would do: it depends on a value only a real run
  /// produces, such as the output of a command that check mode skips.
  public var isUnknown = false
  /// Check mode skipped the task because only a real run can do it (a command).
  public var isCheckSkip = false
  /// PlaybookTask includes: the files this host includes, for output.
  public var included: String?

  public init(host: String, status: Status, result: OrderedDict) {
    self.host = host
    self.status = status
    self.result = result
  }

  /// The failure or result message; for a loop, the first failed item's message.
  public var message: String? {
    if status == .failed, let item = items.first(where: { $0.status == .failed }),
      let text = item.result["msg"].flatMap(ModuleArguments.text)
    {
      return text
    }
    return result["msg"].flatMap(ModuleArguments.text)
  }
}

/// One loop item's result.
public struct ItemResult: Sendable {
  public var status: TaskResult.Status
  public var label: String
  public var result: OrderedDict
  public var diffs: [FileDiff] = []
  public var steps: [Step] = []
  public var isCheckSkip = false
}

/// Everything known about one host during a run. Used by one task at a time; the lock guards
/// what other hosts read through `hostvars`.
final class HostState: @unchecked Sendable {
  let name: String
  private let lock = NSLock()
  private var _facts = OrderedDict()
  private var _setFacts = OrderedDict()
  private var _registered: Set<String> = []
  var inventoryVars: OrderedDict
  var varsFiles = OrderedDict()
  var includedVars = OrderedDict()
  var groups: [String]
  var stats = HostStats()
  var isFailed = false
  var isUnreachable = false
  var hasEnded = false
  var notified: [String] = []
  /// Registered names whose value check mode could not know (a skipped command's output),
  /// with the task that registers them.
  var unknownInCheck: [String: String] = [:]
  /// In check mode, what earlier planned steps would have left on the host (`Plan.pending`).
  var pending: [String: [String]] = [:]
  /// Checks read ahead of their tasks by task location, and the count of changes they are
  /// valid for (see `TaskExecutor.plan`).
  let checksLock = NSLock()
  var prefetched: [String: PrefetchedCheck] = [:]
  var generation = 0
  var budget = TaskExecutor.initialLookahead
  var transport: (any Transport)?
  var settings: ConnectionSettings?

  init(name: String, inventoryVars: OrderedDict, groups: [String]) {
    self.name = name
    self.inventoryVars = inventoryVars
    self.groups = groups
  }

  var facts: OrderedDict {
    get { lock.withLock { _facts } }
    set { lock.withLock { _facts = newValue } }
  }

  /// `set_fact` and `register` values.
  var setFacts: OrderedDict {
    get { lock.withLock { _setFacts } }
    set { lock.withLock { _setFacts = newValue } }
  }

  func setFact(_ name: String, _ value: Value) {
    lock.withLock {
      _setFacts[name] = value
      _registered.remove(name)
    }
  }

  /// Stores a registered result, which is never templated again.
  func register(_ name: String, _ value: Value) {
    lock.withLock {
      _setFacts[name] = value
      _registered.insert(name)
    }
  }

  /// The names that hold registered results.
  var registeredNames: Set<String> { lock.withLock { _registered } }

  /// Active in the play: not failed, not unreachable, not ended.
  var isActive: Bool { !isFailed && !isUnreachable && !hasEnded }

  /// What `hostvars[name]` shows of this host.
  var visibleVariables: OrderedDict {
    var vars = inventoryVars
    let (facts, set) = lock.withLock { (_facts, _setFacts) }
    if !facts.isEmpty {
      vars["ansible_facts"] = .dict(facts)
      for (k, v) in facts { vars["ansible_" + k] = v }
    }
    for (k, v) in varsFiles { vars[k] = v }
    for (k, v) in includedVars { vars[k] = v }
    for (k, v) in set { vars[k] = v }
    vars["inventory_hostname"] = .string(name)
    vars["inventory_hostname_short"] = .string(String(name.prefix { $0 != "." }))
    vars["group_names"] = .list(groups.filter { $0 != "all" && $0 != "ungrouped" }.sorted().map(Value.string))
    return vars
  }
}
