import Foundation
import Inventory

/// A unit of desired state that the engine compares with a host and converges.
///
/// A module reads the host in `check` (never changing it), then `plan` compares what it read
/// with what the task asks for and returns the steps that would converge the host. The engine
/// runs the steps (`apply`) unless the run is in check mode, so `--check` reports exactly what
/// a real run would do.
public protocol Module: Sendable {
  associatedtype Current: Sendable
  /// The task key that selects this module, such as `file` or `copy`.
  static var name: String { get }
  /// The arguments the module accepts, checked before any host is touched.
  static var arguments: ArgumentSpec { get }
  /// Builds the module from a task's templated arguments.
  ///
  /// - Throws: `ModuleError` for a wrong type, a bad choice or a missing argument.
  init(_ arguments: ModuleArguments) throws
  /// Reads the part of the host this module manages. Never changes it.
  func check(on host: HostProbe) async throws -> Current
  /// Compares the desired state with `current`. Pure: no I/O, no clock.
  func plan(from current: Current) throws -> Plan
}

/// What one task would change on one host: the steps, the diff, and the values it reports.
public struct Plan: Sendable {
  /// The changes, run in order by the engine; empty means the host already conforms.
  public var steps: [Step]
  /// Before and after of what the steps change, shown with `--diff`.
  public var diffs: [FileDiff]
  /// Values the module reports whether or not it changes anything (`path`, `mode`, `stat`).
  public var result: OrderedDict
  /// True when the module cannot know the current state and always runs (`command`).
  public var isIdempotent: Bool
  /// True when the module reports `skipped` in check mode (`command` without `creates`).
  public var skipsInCheckMode: Bool
  /// A failure found while planning, reported as the task's failure on this host.
  public var failure: String?
  /// Why the task is skipped on this host (`script` whose `creates` exists), in any mode.
  public var skipReason: String?
  /// What the steps would leave on the host for later tasks' checks, when check mode does not
  /// run them: `apt_sources` lists the repositories `apt_repository` adds. Modules that take
  /// `_pending` get them, so a plan can follow a change it has not made.
  public var pending: [String: [String]] = [:]

  public init(
    steps: [Step] = [], diffs: [FileDiff] = [], result: OrderedDict = [:], isIdempotent: Bool = true,
    skipsInCheckMode: Bool = false, failure: String? = nil
  ) {
    self.steps = steps
    self.diffs = diffs
    self.result = result
    self.isIdempotent = isIdempotent
    self.skipsInCheckMode = skipsInCheckMode
    self.failure = failure
  }

  /// A plan that changes nothing.
  public static let unchanged = Plan()

  /// A plan that fails with `message`.
  public static func failed(_ message: String, result: OrderedDict = [:]) -> Plan {
    Plan(result: result, failure: message)
  }
}

/// One change the engine makes on a host.
public struct Step: Sendable {
  public enum Effect: Sendable, Equatable {
    case create, update, remove, run
  }

  public enum Action: Sendable {
    /// Runs a shell command; a non-zero status fails the task unless `allowsFailure`.
    case shell(String, stdin: Data = Data())
    /// Writes a file atomically.
    case upload(Data, path: String, mode: UInt16?, owner: String?, group: String?)
    /// Writes a file on the controller (`fetch`), creating its directory. A new file gets
    /// `mode` less the umask, as OpenSSH's sftp gives a fetched file the remote one's mode; an
    /// existing one keeps its own.
    case writeController(Data, path: String, mode: UInt16?)
  }

  /// What the step does, for plans and summaries: `+` create, `~` update, `-` remove, `!` run.
  public var effect: Effect
  /// What is changed, such as `directory /srv/app`.
  public var summary: String
  public var action: Action
  /// The command's output becomes the task's `stdout`, `stderr` and `rc`.
  public var reportsOutput: Bool
  /// A non-zero exit status is reported in `rc` but does not fail the task by itself.
  public var allowsFailure: Bool
  /// The output keeps its trailing newlines (`raw`, `strip_empty_ends: false`).
  public var keepsTrailingNewlines = false
  /// The command runs with a pseudo-terminal, as ansible-playbook runs `raw` and `script`
  /// (`ssh -tt`): its error output joins standard output and lines end with `\r\n`.
  public var wantsPTY = false
  /// Turns the command's output into the task's values, whether it changed anything and
  /// whether it failed (`uri` reads curl's output); nil keeps the plain stdout/rc rules.
  public var interpret: (@Sendable (CommandResult) -> StepOutcome)?

  public init(
    _ effect: Effect, _ summary: String, _ action: Action, reportsOutput: Bool = false,
    allowsFailure: Bool = false
  ) {
    self.effect = effect
    self.summary = summary
    self.action = action
    self.reportsOutput = reportsOutput
    self.allowsFailure = allowsFailure
  }

  public static func shell(_ effect: Effect, _ summary: String, _ command: String) -> Step {
    Step(effect, summary, .shell(command))
  }

  public static func argv(_ effect: Effect, _ summary: String, _ argv: [String]) -> Step {
    Step(effect, summary, .shell(argv.map(ShellQuoting.quote).joined(separator: " ")))
  }

  /// The plan marker: `+`, `~`, `-` or `!`.
  public var marker: String {
    switch effect {
    case .create: return "+"
    case .update: return "~"
    case .remove: return "-"
    case .run: return "!"
    }
  }
}

/// What a step's command meant, as its module reads the output.
public struct StepOutcome: Sendable {
  public var result: OrderedDict
  public var changed: Bool
  public var failure: String?

  public init(result: OrderedDict, changed: Bool, failure: String? = nil) {
    self.result = result
    self.changed = changed
    self.failure = failure
  }
}

/// Before and after of one changed thing, as Ansible's `diff` result carries it.
public struct FileDiff: Sendable, Equatable {
  public var beforeHeader: String
  public var afterHeader: String
  public var before: String
  public var after: String

  public init(beforeHeader: String, afterHeader: String, before: String, after: String) {
    self.beforeHeader = beforeHeader
    self.afterHeader = afterHeader
    self.before = before
    self.after = after
  }

  /// The diff of one attribute (`state`, `mode`) of `path`.
  public static func attribute(_ path: String, before: String, after: String) -> FileDiff {
    FileDiff(beforeHeader: path, afterHeader: path, before: before, after: after)
  }

  public var asValue: Value {
    .dict([
      "before": .string(before), "after": .string(after), "before_header": .string(beforeHeader),
      "after_header": .string(afterHeader),
    ])
  }
}

/// A failure of a module's arguments or of its work on a host.
public struct ModuleError: Error, Sendable, Equatable, CustomStringConvertible {
  public var message: String
  public var hint: String?
  public init(_ message: String, hint: String? = nil) {
    self.message = message
    self.hint = hint
  }
  public var description: String { message }
}

/// The read-only view of a host that `check` gets: it can look, never write.
public struct HostProbe: Sendable {
  let transport: any Transport
  /// Privilege escalation for reads, as the task asks.
  public let become: Become?
  /// The host's inventory name, for messages.
  public var host: String { transport.host }

  public init(transport: any Transport, become: Become?) {
    self.transport = transport
    self.become = become
  }

  /// The file's type, mode, owner and checksum, or nil when it does not exist.
  public func stat(_ path: String) async throws -> RemoteFileInfo? {
    try await transport.stat(path, become: become)
  }

  /// The file's content, or nil when it does not exist.
  public func read(_ path: String) async throws -> Data? {
    let script = "p=\(ShellQuoting.quote(path)); if [ -f \"$p\" ]; then echo y; cat -- \"$p\"; else echo n; fi"
    let result = try await transport.run(RemoteCommand(script, become: become))
    guard result.succeeded else {
      throw ModuleError("cannot read '\(path)': \(result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))")
    }
    let out = result.stdout
    guard out.first == UInt8(ascii: "y") else { return nil }
    return out.count > 2 ? out.subdata(in: out.startIndex + 2..<out.endIndex) : Data()
  }

  /// Runs a command that only reads, and returns what it printed.
  public func run(_ shell: String) async throws -> CommandResult {
    try await transport.run(RemoteCommand(shell, become: become))
  }
}
