import Foundation
import Inventory

/// A plan written by `provision plan`: what a run would change, per play, task and host, with
/// the fingerprints of the state it was computed from and the digest of its inputs.
///
/// The file is JSON with sorted keys and no times or durations, so planning the same hosts
/// with the same inputs writes the same bytes.
public struct SavedPlan: Codable, Equatable, Sendable {
  public static let currentSchema = "provision.plan/1"

  public var schema: String
  /// The provision version that wrote the plan.
  public var version: String
  public var inputs: PlanInputs
  /// One entry per host the plan covers, in inventory order.
  public var hosts: [PlanHost]
  /// The run as check mode saw it: plays, their tasks and each host's result.
  public var plays: [PlanPlay]

  public init(inputs: PlanInputs, hosts: [PlanHost], plays: [PlanPlay]) {
    self.schema = Self.currentSchema
    self.version = ProvisionVersion.string
    self.inputs = inputs
    self.hosts = hosts
    self.plays = plays
  }

  /// The plan as the file holds it.
  public func encoded() throws -> Data { try Self.json(self) }

  /// `value` as pretty JSON with sorted keys, empty lists and maps on one line, and a newline.
  public static func json(_ value: some Encodable) throws -> Data {
    let encoder = JSONEncoder()
    encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
    let text = String(decoding: try encoder.encode(value), as: UTF8.self)
    let compact = text.replacingOccurrences(of: #"\[\n\s*\n\s*\]"#, with: "[]", options: .regularExpression)
      .replacingOccurrences(of: #"\{\n\s*\n\s*\}"#, with: "{}", options: .regularExpression)
    return Data((compact + "\n").utf8)
  }

  /// Reads a plan file, refusing other schemas with a clear message.
  public static func load(_ path: String) throws -> SavedPlan {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw PlanError("cannot read the plan '\(path)'", hint: "write one with: provision plan PLAYBOOK -i INVENTORY --out \(path)")
    }
    struct Header: Decodable { var schema: String? }
    let header = try? JSONDecoder().decode(Header.self, from: data)
    guard let schema = header?.schema else {
      throw PlanError("'\(path)' is not a plan file", hint: "plan files are written by: provision plan … --out FILE")
    }
    guard schema == currentSchema else {
      throw PlanError("'\(path)' has schema '\(schema)'; this provision reads '\(currentSchema)'", hint: "plan again with this version")
    }
    do {
      return try JSONDecoder().decode(SavedPlan.self, from: data)
    } catch {
      throw PlanError("'\(path)' is damaged: \(error)", hint: "plan again")
    }
  }

  /// The steps of every host added up.
  public var totals: PlanHost {
    var total = PlanHost(name: "", status: "", fingerprint: "")
    for h in hosts {
      total.add += h.add
      total.change += h.change
      total.remove += h.remove
      total.run += h.run
      total.knownAfterApply += h.knownAfterApply
    }
    return total
  }

  /// Every host result of `host`, in run order, with the task it belongs to.
  public func results(of host: String) -> [(task: PlanTask, result: PlanHostResult)] {
    plays.flatMap { play in
      play.tasks.compactMap { task in task.hosts.first { $0.host == host }.map { (task, $0) } }
    }
  }
}

/// What a plan was computed from: the files read, the options given and a digest of them all.
public struct PlanInputs: Codable, Equatable, Sendable {
  public var playbooks: [String]
  public var inventory: [String]
  public var limit: String?
  public var tags: [String]
  public var skipTags: [String]
  /// `-e` variables, with sensitive values replaced by `(sensitive)`.
  public var extraVars: [String: String]
  /// SHA-256 of the exact `-e` variables (sensitive ones included).
  public var extraVarsDigest: String
  /// Each input file (playbook directories, roles, inventories) and its SHA-256.
  public var files: [String: String]
  /// SHA-256 over everything above: equal digests mean equal inputs.
  public var digest: String

  public init(
    playbooks: [String], inventory: [String], limit: String?, tags: [String], skipTags: [String],
    extraVars: [String: String], extraVarsDigest: String, files: [String: String], digest: String
  ) {
    self.playbooks = playbooks
    self.inventory = inventory
    self.limit = limit
    self.tags = tags
    self.skipTags = skipTags
    self.extraVars = extraVars
    self.extraVarsDigest = extraVarsDigest
    self.files = files
    self.digest = digest
  }

  enum CodingKeys: String, CodingKey {
    case playbooks, inventory, limit, tags, files, digest
    case skipTags = "skip_tags"
    case extraVars = "extra_vars"
    case extraVarsDigest = "extra_vars_digest"
  }
}

/// One host's summary: counts of steps by kind and the fingerprint of all its results.
public struct PlanHost: Codable, Equatable, Sendable {
  public var name: String
  /// `changes`, `no changes`, `failed` or `unreachable`.
  public var status: String
  public var add = 0
  public var change = 0
  public var remove = 0
  public var run = 0
  /// Tasks whose outcome is known only after an earlier change is applied.
  public var knownAfterApply = 0
  public var fingerprint: String
  public var message: String?

  enum CodingKeys: String, CodingKey {
    case name, status, add, change, remove, run, fingerprint, message
    case knownAfterApply = "known_after_apply"
  }

  public var hasChanges: Bool { add + change + remove + run > 0 }
}

public struct PlanPlay: Codable, Equatable, Sendable {
  public var name: String
  public var tasks: [PlanTask]
}

public struct PlanTask: Codable, Equatable, Sendable {
  public var title: String
  /// `file:line:column` of the task; empty for fact gathering.
  public var location: String
  public var action: String?
  public var handler: Bool?
  /// One result per host, in inventory order.
  public var hosts: [PlanHostResult]
}

/// What one task would do on one host.
public struct PlanHostResult: Codable, Equatable, Sendable {
  public var host: String
  /// `ok`, `changed`, `skipped`, `failed`, `unreachable` or `known after apply`.
  public var status: String
  public var delegatedTo: String?
  public var message: String?
  public var steps: [PlanStep]
  public var diffs: [PlanDiff]
  public var items: [PlanItem]?
  /// `no_log`: steps are counted, their text and the diffs are left out.
  public var sensitive: Bool?
  /// SHA-256 of the state the result was computed from, as the task's module read it:
  /// its status, steps and before/after values.
  public var fingerprint: String

  enum CodingKeys: String, CodingKey {
    case host, status, message, steps, diffs, items, sensitive, fingerprint
    case delegatedTo = "delegated_to"
  }

  /// The steps of the result and of its loop items.
  public var allSteps: [PlanStep] { steps + (items ?? []).flatMap(\.steps) }
  public var allDiffs: [PlanDiff] { diffs + (items ?? []).flatMap(\.diffs) }
}

public struct PlanItem: Codable, Equatable, Sendable {
  public var label: String
  public var status: String
  public var steps: [PlanStep]
  public var diffs: [PlanDiff]
}

/// One change: `+` create, `~` update, `-` remove, `!` run, and what it changes.
public struct PlanStep: Codable, Equatable, Sendable {
  public var op: String
  public var summary: String
}

/// Before and after of one changed thing.
public struct PlanDiff: Codable, Equatable, Sendable {
  public var beforeHeader: String
  public var afterHeader: String
  public var before: String
  public var after: String

  enum CodingKeys: String, CodingKey {
    case before, after
    case beforeHeader = "before_header"
    case afterHeader = "after_header"
  }

  /// The unified diff, as `--diff` prints it.
  public var unified: String {
    UnifiedDiff.render(before, after, beforeHeader: beforeHeader, afterHeader: afterHeader)
  }
}

/// A plan that cannot be read, applied or written.
public struct PlanError: Error, Sendable, CustomStringConvertible {
  public var message: String
  public var hint: String?
  public init(_ message: String, hint: String? = nil) {
    self.message = message
    self.hint = hint
  }
  public var description: String { message + (hint.map { "\nhint: \($0)" } ?? "") }
}
