import Foundation
import Inventory

/// What one path on a host is, read in one round trip: type, mode, owners, link target,
/// SHA-256 and, when asked, the content.
public struct FileState: Sendable, Equatable {
  public var type: RemoteFileInfo.FileType
  public var mode: UInt16
  public var uid: Int
  public var gid: Int
  public var size: UInt64
  public var owner: String
  public var group: String
  /// Where a symlink points; nil for other types.
  public var linkTarget: String?
  /// SHA-256 of a regular file's content.
  public var sha256: String?
  /// The content of a regular file, when it was asked for.
  public var content: Data?

  /// Reads `path` on the host; nil when nothing is there.
  public static func read(
    _ path: String, on host: HostProbe, content: Bool = false, follow: Bool = false
  ) async throws -> FileState? {
    let result = try await host.run(script(path, content: content, follow: follow))
    guard result.succeeded else {
      throw ModuleError(
        "cannot read the state of '\(path)': " + result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))
    }
    guard let state = parse(result.stdout) else {
      throw ModuleError("unexpected output reading '\(path)': " + String(result.stdoutText.prefix(200)))
    }
    return state
  }

  /// The shell script behind `read`: `absent`, or a stat line, the link target line, the
  /// checksum line, then the content.
  public static func script(_ path: String, content: Bool, follow: Bool = false) -> String {
    let l = follow ? "-L " : ""
    return """
      p=\(ShellQuoting.quote(path))
      if [ ! -e "$p" ] && [ ! -L "$p" ]; then echo absent; exit 0; fi
      stat \(l)-c '%f %a %u %g %s %U %G' -- "$p" || exit 1
      if [ -L "$p" ]; then readlink -- "$p"; else echo; fi
      if \(follow ? "[ -f \"$p\" ]" : "[ -f \"$p\" ] && [ ! -L \"$p\" ]"); then sha256sum < "$p" | cut -c1-64\(content ? "; cat -- \"$p\"" : ""); else echo; fi
      """
  }

  /// Parses the output of `script`: `.some(nil)` when absent, nil when the output is not ours.
  public static func parse(_ output: Data) -> FileState?? {
    let bytes = [UInt8](output)
    var lines: [String] = []
    var index = 0
    while lines.count < 3, index < bytes.count {
      let end = bytes[index...].firstIndex(of: 0x0A) ?? bytes.count
      lines.append(String(decoding: bytes[index..<end], as: UTF8.self))
      index = end + 1
    }
    guard let first = lines.first else { return nil }
    if first == "absent" { return .some(nil) }
    let f = first.split(separator: " ").map(String.init)
    guard f.count >= 7, lines.count == 3, let raw = UInt32(f[0], radix: 16), let mode = UInt16(f[1], radix: 8),
      let uid = Int(f[2]), let gid = Int(f[3]), let size = UInt64(f[4])
    else { return nil }
    let type = RemoteFileInfo.FileType(statMode: raw)
    let content = index <= bytes.count && lines[2].count == 64 ? Data(bytes[min(index, bytes.count)...]) : nil
    return .some(
      FileState(
        type: type, mode: mode, uid: uid, gid: gid, size: size, owner: f[5], group: f[6],
        linkTarget: type == .symlink ? lines[1] : nil, sha256: lines[2].count == 64 ? lines[2] : nil,
        content: content))
  }

  /// Whether `owner` (a name or a uid) names this file's owner.
  public func isOwned(by owner: String) -> Bool { owner == self.owner || owner == String(uid) }

  /// Whether `group` (a name or a gid) names this file's group.
  public func isInGroup(_ group: String) -> Bool { group == self.group || group == String(gid) }

  /// The `state` Ansible reports for this type.
  public var stateName: String {
    switch type {
    case .regular: return "file"
    case .directory: return "directory"
    case .symlink: return "link"
    case .other: return "file"
    }
  }

  /// The values Ansible's file modules report: `mode`, `owner`, `group`, `uid`, `gid`, `size`, `state`.
  public var resultFields: OrderedDict {
    [
      "mode": .string(String(format: "%04o", mode)), "owner": .string(owner), "group": .string(group),
      "uid": .int(uid), "gid": .int(gid), "size": .int(Int(size)), "state": .string(stateName),
    ]
  }
}

/// The steps that give a path the mode and ownership a task asks for.
enum Attributes {
  /// chmod/chown steps for `path`, given its current state (nil when it is about to be created
  /// with `defaultMode`).
  static func steps(
    path: String, current: FileState?, isDirectory: Bool, mode: FileMode?, owner: String?, group: String?,
    defaultMode: UInt16, recurse: Bool = false
  ) -> (steps: [Step], diffs: [FileDiff], mode: UInt16) {
    var steps: [Step] = []
    var diffs: [FileDiff] = []
    let currentMode = current?.mode ?? defaultMode
    let desired = mode?.bits(from: currentMode, isDirectory: isDirectory) ?? currentMode
    let r = recurse ? ["-R"] : []
    if desired != currentMode || (recurse && mode != nil) {
      if desired != currentMode || current == nil {
        steps.append(.argv(.update, "mode of \(path)", ["chmod"] + r + [String(desired, radix: 8), "--", path]))
        diffs.append(.attribute(path, before: "mode: \(String(format: "%04o", currentMode))\n", after: "mode: \(String(format: "%04o", desired))\n"))
      }
    }
    let ownerChanges = owner.map { o in current.map { !$0.isOwned(by: o) } ?? true } ?? false
    let groupChanges = group.map { g in current.map { !$0.isInGroup(g) } ?? true } ?? false
    if ownerChanges || groupChanges {
      let spec = (ownerChanges ? owner ?? "" : "") + (groupChanges ? ":" + (group ?? "") : "")
      steps.append(.argv(.update, "owner of \(path)", ["chown"] + r + [spec, "--", path]))
      if ownerChanges {
        diffs.append(.attribute(path, before: "owner: \(current?.owner ?? "")\n", after: "owner: \(owner ?? "")\n"))
      }
      if groupChanges {
        diffs.append(.attribute(path, before: "group: \(current?.group ?? "")\n", after: "group: \(group ?? "")\n"))
      }
    }
    return (steps, diffs, desired)
  }
}
