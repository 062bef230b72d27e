import Foundation
import Inventory

/// Ensures a group exists with a given GID, or does not: `group`.
///
/// Keys: `name`, `state` (present, absent), `gid`, `system`, `non_unique`, `force`. `check`
/// runs `getent group NAME`; the plan is one `groupadd`, `groupmod -g` or `groupdel`. A new
/// group's gid is read back after `groupadd`, for the result. In check mode, a group this
/// task would create counts as existing for later `user` tasks (`_pending`).
///
/// ```yaml
/// - group: { name: rancher, gid: 1500 }
/// ```
public struct GroupModule: Module {
  public static let name = "group"
  public static let arguments = ArgumentSpec([
    .init("name", required: true), .init("state", choices: ["absent", "present"], default: "present"),
    .init("gid", .int), .init("system", .bool, default: false), .init("non_unique", .bool, default: false),
    .init("force", .bool, default: false), .init("local", .bool, default: false),
  ])

  /// One line of the group database.
  public struct Entry: Sendable, Equatable {
    var name: String
    var gid: Int
    var members: [String]

    /// Parses `name:x:gid:a,b`; nil for anything else.
    static func parse(_ line: Substring) -> Entry? {
      let f = line.split(separator: ":", omittingEmptySubsequences: false)
      guard f.count >= 4, let gid = Int(f[2]) else { return nil }
      return Entry(name: String(f[0]), gid: gid, members: f[3].split(separator: ",").map(String.init))
    }
  }

  let group: String
  let present: Bool
  let gid: Int?
  let system: Bool
  let nonUnique: Bool

  public init(_ arguments: ModuleArguments) throws {
    guard let name = arguments.string("name"), !name.isEmpty else { throw ModuleError("missing required argument 'name'") }
    group = name
    present = arguments.string("state") != "absent"
    gid = arguments.int("gid")
    system = arguments.bool("system")
    nonUnique = arguments.bool("non_unique")
    if nonUnique && gid == nil { throw ModuleError("non_unique is True but all of the following are missing: gid") }
    if arguments.bool("local") { throw ModuleError("local groups (lgroupadd) are not supported") }
  }

  public func check(on host: HostProbe) async throws -> Entry? {
    let result = try await host.run("getent group \(ShellQuoting.quote(group)) || [ $? = 2 ]")
    guard result.succeeded else {
      throw ModuleError("cannot look up group '\(group)': " + result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))
    }
    return result.stdoutText.split(separator: "\n").compactMap(Entry.parse).first { $0.name == group }
  }

  public func plan(from current: Entry?) throws -> Plan {
    var result: OrderedDict = ["name": .string(group), "state": .string(present ? "present" : "absent")]
    guard present else {
      guard current != nil else { return Plan(result: result) }
      return Plan(steps: [.argv(.remove, "group \(group)", ["groupdel", group])], result: result)
    }
    var steps: [Step] = []
    if let current {
      if let gid, gid != current.gid {
        steps.append(.argv(.update, "gid of group \(group)", ["groupmod", "-g", String(gid)] + (nonUnique ? ["-o"] : []) + [group]))
      }
    } else {
      var argv = ["groupadd"]
      if let gid { argv += ["-g", String(gid)] + (nonUnique ? ["-o"] : []) }
      if system { argv.append("-r") }
      // groupadd picks the gid when none is given: read back, as Ansible reports it.
      let name = group
      steps.append(
        Step.argv(.create, "group \(group)", argv + [group]).readingBack("getent group \(ShellQuoting.quote(group))") { out in
          guard let entry = out.split(separator: "\n").compactMap(Entry.parse).first(where: { $0.name == name }) else { return [:] }
          return ["gid": .int(entry.gid)]
        })
    }
    result["system"] = .bool(system)
    if let g = gid ?? current?.gid { result["gid"] = .int(g) }
    var plan = Plan(steps: steps, result: result)
    // In check mode the group is not made: `user` tasks after this one take it as made.
    if current == nil { plan.pending["groups"] = [group] }
    return plan
  }
}
