import Foundation
import Inventory

extension PlanInputs {
  /// The inputs of a plan as they are now on disk.
  ///
  /// Files counted: each playbook, the YAML files beside it (not JSON, where plans are kept), its `roles/`,
  /// `group_vars/`, `host_vars/`, `vars/`, `tasks/`, `handlers/`, `templates/` and `files/`, the
  /// roles path, and every inventory source with the `group_vars/` and `host_vars/` beside it.
  public static func compute(
    playbooks: [String], inventory: [String], limit: String?, tags: [String], skipTags: [String],
    extraVars: OrderedDict, rolesPath: [String], redactor: Redactor
  ) -> PlanInputs {
    var files: [String: String] = [:]
    let fm = FileManager.default
    func hashFile(_ path: String) {
      guard let data = fm.contents(atPath: path) else { return }
      files[path] = PlanStatus.digest(bytes: [UInt8](data))
    }
    func hashTree(_ path: String) {
      var isDirectory: ObjCBool = false
      guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else { return }
      guard isDirectory.boolValue else { return hashFile(path) }
      for entry in ((try? fm.contentsOfDirectory(atPath: path)) ?? []).sorted() where !entry.hasPrefix(".") {
        hashTree((path as NSString).appendingPathComponent(entry))
      }
    }
    let beside = ["roles", "group_vars", "host_vars", "vars", "tasks", "handlers", "templates", "files"]
    for playbook in playbooks {
      hashFile(playbook)
      let directory = (playbook as NSString).deletingLastPathComponent
      let base = directory.isEmpty ? "." : directory
      for entry in ((try? fm.contentsOfDirectory(atPath: base)) ?? []).sorted() where !entry.hasPrefix(".") {
        let path = directory.isEmpty ? entry : (directory as NSString).appendingPathComponent(entry)
        if beside.contains(entry) {
          hashTree(path)
        } else if entry.hasSuffix(".yml") || entry.hasSuffix(".yaml") {
          hashFile(path)
        }
      }
    }
    for path in rolesPath { hashTree(path) }
    for source in inventory {
      hashTree(source)
      var isDirectory: ObjCBool = false
      if fm.fileExists(atPath: source, isDirectory: &isDirectory), !isDirectory.boolValue {
        let directory = (source as NSString).deletingLastPathComponent
        for kind in ["group_vars", "host_vars"] {
          hashTree(directory.isEmpty ? kind : (directory as NSString).appendingPathComponent(kind))
        }
      }
    }
    let exact = Value.dict(extraVars).jsonString(.init(indent: nil, sortKeys: true, ensureASCII: true))
    var inputs = PlanInputs(
      playbooks: playbooks, inventory: inventory, limit: limit, tags: tags, skipTags: skipTags,
      extraVars: Self.recorded(extraVars, redactor: redactor), extraVarsDigest: PlanStatus.digest(exact), files: files, digest: "")
    inputs.digest = inputs.computedDigest
    return inputs
  }

  /// `-e` variables as the plan keeps them: each value as JSON, so `apply` gets the same types
  /// back; sensitive ones (by name, or holding a vault value) as `(sensitive)`.
  static func recorded(_ vars: OrderedDict, redactor: Redactor) -> [String: String] {
    var out: [String: String] = [:]
    for (k, v) in vars {
      let json = v.jsonString(.init(indent: nil, sortKeys: true, ensureASCII: false))
      out[k] = Redactor.isSensitiveName(k) || redactor.hidingSecrets(json) != json ? Redactor.mask : json
    }
    return out
  }

  /// The `-e` variables a plan kept, or nil when some were sensitive and left out.
  public var replayableExtraVars: OrderedDict? {
    guard !extraVars.values.contains(Redactor.mask) else { return nil }
    let object = "{" + extraVars.sorted { $0.key < $1.key }.map { Value.string($0.key).jsonString() + ": " + $0.value }.joined(separator: ", ") + "}"
    return try? ExtraVars.parse([object])
  }

  /// SHA-256 over the options, the `-e` digest and every file's digest.
  var computedDigest: String {
    var text = "playbooks=\(playbooks)\ninventory=\(inventory)\nlimit=\(limit ?? "")\n"
    text += "tags=\(tags)\nskip_tags=\(skipTags)\nextra_vars=\(extraVarsDigest)\n"
    for (path, digest) in files.sorted(by: { $0.key < $1.key }) { text += "\(path)\t\(digest)\n" }
    return PlanStatus.digest(text)
  }

  /// What differs between the inputs a plan was made from (`self`) and `now`, one line each.
  public func changes(comparedTo now: PlanInputs) -> [String] {
    var out: [String] = []
    if playbooks != now.playbooks { out.append("playbooks: \(playbooks) → \(now.playbooks)") }
    if inventory != now.inventory { out.append("inventory: \(inventory) → \(now.inventory)") }
    if limit != now.limit { out.append("limit: \(limit ?? "(none)") → \(now.limit ?? "(none)")") }
    if tags != now.tags || skipTags != now.skipTags { out.append("tags or skip-tags differ") }
    if extraVarsDigest != now.extraVarsDigest { out.append("extra variables (-e) differ") }
    for path in Set(files.keys).union(now.files.keys).sorted() {
      switch (files[path], now.files[path]) {
      case (nil, _?): out.append("added: \(path)")
      case (_?, nil): out.append("removed: \(path)")
      case (let a?, let b?) where a != b: out.append("changed: \(path)")
      default: break
      }
    }
    return out
  }
}

extension PlanStatus {
  static func digest(bytes: [UInt8]) -> String {
    "sha256:" + Digest.hex("sha256", bytes)!
  }
}
