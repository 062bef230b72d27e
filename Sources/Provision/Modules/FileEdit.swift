import Foundation
import Inventory

/// What `lineinfile`, `blockinfile` and `replace` share: the file they edit, its mode and
/// owners, and the plan that installs the edited content.
///
/// The content goes through `DesiredFile`, so it is uploaded atomically, backed up and
/// validated as `copy` does; a mode or owner that differs is set even when the content does
/// not change, and then, as in Ansible, the message says "ownership, perms or SE linux context
/// changed".
struct FileEdit: Sendable {
  var path: String
  var mode: FileMode?
  var owner: String?
  var group: String?
  var backup: Bool
  var validate: String?

  init(_ arguments: ModuleArguments) throws {
    guard let path = arguments.string("path"), !path.isEmpty else {
      throw ModuleError("missing required argument 'path'")
    }
    self.path = path
    mode = try arguments.mode("mode")
    owner = arguments.string("owner")
    group = arguments.string("group")
    backup = arguments.bool("backup")
    validate = arguments.string("validate")
  }

  /// The plan that gives the file `content` (nil: the content stays as it is) and the mode
  /// and owners asked for. `result` gets `msg`, extended when attributes change.
  func plan(
    current now: FileState?, content: [UInt8]?, message: String, result base: OrderedDict, contentHeader: String
  ) -> Plan {
    var result = base
    var message = message
    let attributes = Attributes.steps(
      path: path, current: now, isDirectory: false, mode: mode, owner: owner, group: group, defaultMode: 0o644)
    let attributesChange = !attributes.steps.isEmpty
    guard let content else {
      guard now != nil else {
        result["msg"] = .string(message)
        return Plan(result: result)
      }
      if attributesChange { message += "ownership, perms or SE linux context changed" }
      result["msg"] = .string(message)
      return Plan(steps: attributes.steps, diffs: attributes.diffs, result: result)
    }
    if let validate, !validate.contains("%s") {
      return .failed("validate must contain %s: \(validate)", result: result)
    }
    // The checksum of what was read, so a state built without one still compares right.
    var state = now
    if let content = state?.content { state?.sha256 = Digest.hex("sha256", [UInt8](content)) }
    let file = DesiredFile(
      path: path, content: Data(content), mode: mode, owner: owner, group: group, backup: backup, force: true,
      validate: validate, wantsDiff: true, sourceName: nil)
    var plan = file.plan(from: DesiredFile.Current(path: path, state: state))
    if plan.failure != nil { return plan }
    let parent = (path as NSString).deletingLastPathComponent
    if now == nil, !parent.isEmpty, parent != "/" {
      // Ansible creates the missing directories of a file it creates.
      plan.steps.insert(.argv(.create, "directory \(parent)", ["mkdir", "-p", "--", parent]), at: 0)
    }
    if !plan.diffs.isEmpty {
      plan.diffs[0].beforeHeader = contentHeader
      plan.diffs[0].afterHeader = contentHeader
    }
    if attributesChange { message += " and ownership, perms or SE linux context changed" }
    result["msg"] = .string(message)
    plan.result = result
    return plan
  }

  /// The failure for a path that is a directory, as Ansible words it.
  func directoryFailure() -> Plan {
    .failed("Path \(path) is a directory !", result: ["rc": 256])
  }
}
