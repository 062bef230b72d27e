import Foundation
import Inventory

/// Ensures a path is a file, directory, link or hard link, or is absent, with a mode and owners.
///
/// Keys: `path` (`dest`, `name`), `state` (file, directory, absent, touch, link, hard), `src`,
/// `mode` (octal or symbolic), `owner`, `group`, `recurse`, `force`, `follow`. `check` reads
/// the path's type, mode, owners and link target in one command.
///
/// ```yaml
/// - file: { path: /var/lib/rancher/state, state: absent }
/// ```
public struct FileModule: Module {
  public static let name = "file"
  public static let arguments = ArgumentSpec([
    .init("path", .path, required: true, aliases: ["dest", "name"]),
    .init("state", choices: ["file", "directory", "absent", "touch", "link", "hard"]),
    .init("src", .path), .init("mode", .mode), .init("owner"), .init("group"),
    .init("recurse", .bool, default: false), .init("force", .bool, default: false),
    .init("follow", .bool, default: true), .init("modification_time"), .init("access_time"),
    .init("modification_time_format"), .init("access_time_format"), .init("unsafe_writes", .bool),
    .init("attributes", aliases: ["attr"]), .init("selevel"), .init("serole"), .init("setype"), .init("seuser"),
  ])

  let path: String
  let state: String?
  let src: String?
  let mode: FileMode?
  let owner: String?
  let group: String?
  let recurse: Bool
  let force: Bool
  let preserveTimes: Bool

  public init(_ arguments: ModuleArguments) throws {
    guard let path = arguments.string("path"), !path.isEmpty else { throw ModuleError("missing required argument 'path'") }
    self.path = path.count > 1 && path.hasSuffix("/") ? String(path.dropLast()) : path
    state = arguments.string("state")
    src = arguments.string("src")
    mode = try arguments.mode("mode")
    owner = arguments.string("owner")
    group = arguments.string("group")
    recurse = arguments.bool("recurse")
    force = arguments.bool("force")
    preserveTimes = arguments.string("modification_time") == "preserve" && arguments.string("access_time") == "preserve"
    if (state == "link" || state == "hard") && src == nil {
      throw ModuleError("src is required for state '\(state ?? "")'")
    }
    if recurse && state != "directory" {
      throw ModuleError("recurse option requires state to be 'directory'")
    }
  }

  public struct Current: Sendable {
    var state: FileState?
    /// Paths below a directory whose mode or owners differ, for `recurse`.
    var mismatched: Int
  }

  public func check(on host: HostProbe) async throws -> Current {
    var command = FileState.command(path, content: false, follow: false, become: host.become)
    if recurse, mode != nil || owner != nil || group != nil {
      // What `chmod -R` and `chown -R` would change below the directory: entries that fail a
      // test, counted; for a symbolic mode, whose result depends on each entry's mode, the
      // distinct modes and types, which `mismatches` applies the mode to. Links are left out
      // of the mode: chmod -R passes them by, as Ansible does.
      let script = command.shell
      var tests: [String] = []
      if case .absolute(let bits)? = mode { tests.append("! -type l ! -perm \(String(bits, radix: 8))") }
      if let owner { tests.append("! -user \(ShellQuoting.quote(owner))") }
      if let group { tests.append("! -group \(ShellQuoting.quote(group))") }
      let p = ShellQuoting.quote(path)
      var lines = ["( \(script) )"]
      lines.append(
        tests.isEmpty
          ? "echo '#0'" : "echo \"#$(find \(p) -mindepth 1 \\( \(tests.joined(separator: " -o ")) \\) -print 2>/dev/null | wc -l)\"")
      if case .symbolic? = mode {
        lines.append("find \(p) -mindepth 1 ! -type l -printf '%m %y\\n' 2>/dev/null | sort -u")
      }
      command = RemoteCommand(lines.joined(separator: "\n"), become: host.become)
    }
    let result = try await host.transport.run(command)
    guard result.succeeded else { throw ModuleError("cannot read '\(path)': " + result.stderrText) }
    var mismatched = 0
    var output = result.stdout
    if recurse, let hash = output.lastIndex(of: UInt8(ascii: "#")) {
      let below = String(decoding: output[(hash + 1)...], as: UTF8.self).split(separator: "\n")
      mismatched = (below.first.flatMap { Int($0.trimmingCharacters(in: .whitespaces)) } ?? 0) + mismatches(below.dropFirst())
      output = output.prefix(upTo: hash)
    }
    guard let state = FileState.parse(output) else { throw ModuleError("unexpected output reading '\(path)'") }
    return Current(state: state, mismatched: mismatched)
  }

  /// How many of the distinct `mode type` lines (find's `%m %y`) a symbolic mode would change.
  func mismatches(_ lines: ArraySlice<Substring>) -> Int {
    guard case .symbolic? = mode else { return 0 }
    return lines.filter { line in
      let fields = line.split(separator: " ")
      guard fields.count == 2, let bits = UInt16(fields[0], radix: 8) else { return false }
      return mode?.bits(from: bits, isDirectory: fields[1] == "d") != bits
    }.count
  }

  public func plan(from current: Current) throws -> Plan {
    let now = current.state
    let desired = state ?? (now == nil ? "file" : now?.stateName == "link" ? "link" : now?.stateName ?? "file")
    var result: OrderedDict = ["path": .string(path)]
    var steps: [Step] = []
    var diffs: [FileDiff] = []
    let beforeState = now?.stateName ?? "absent"
    func stateDiff(_ after: String) {
      diffs.append(.attribute(path, before: "state: \(beforeState)\n", after: "state: \(after)\n"))
    }
    switch desired {
    case "absent":
      result["state"] = "absent"
      if now != nil {
        steps.append(.argv(.remove, "\(beforeState) \(path)", ["rm", "-rf", "--", path]))
        stateDiff("absent")
      }
      return Plan(steps: steps, diffs: diffs, result: result)
    case "file":
      guard let now else {
        return .failed("file (\(path)) is absent, cannot continue", result: result.merging(["state": "absent"]))
      }
      if now.type == .directory && state == "file" {
        return .failed("file (\(path)) is directory, cannot continue", result: result)
      }
    case "directory":
      if let now, now.type != .directory {
        if now.type == .symlink && current.state != nil {
          // A link to a directory counts as one, as with Ansible's default follow=yes.
        } else {
          return .failed("\(path) already exists as a \(now.stateName)", result: result)
        }
      }
      if now == nil {
        if let mode {
          // As Ansible does, directories created on the way get the task's mode and owners too.
          let owners = (owner ?? "") + (group.map { ":" + $0 } ?? "")
          // The directories that are missing, parents first, found with the shell's own string
          // operations (dirname would be one process per level); one mkdir, chmod and chown for
          // all. A numeric mode is mkdir's own (-m: exact, whatever the umask), with -p so that
          // each one created in between is no error.
          let chown = owners.isEmpty ? "" : " && chown -- \(ShellQuoting.quote(owners)) \"$@\""
          let make =
            if case .absolute(let bits) = mode {
              "[ $# -eq 0 ] || { mkdir -p -m \(String(bits, radix: 8)) -- \"$@\"\(chown); }"
            } else {
              "mkdir -p -- \"$p\" && { [ $# -eq 0 ] || { chmod \(ShellQuoting.quote(modeArgument(mode))) -- \"$@\"\(chown); }; }"
            }
          let script = "p=\(ShellQuoting.quote(path)); set --; d=$p; while [ ! -d \"$d\" ]; do set -- \"$d\" \"$@\"; "
            + "case $d in */*) d=${d%/*}; [ -n \"$d\" ] || d=/ ;; *) d=. ;; esac; done; " + make
          steps.append(.shell(.create, "directory \(path)", script))
        } else {
          steps.append(.argv(.create, "directory \(path)", ["mkdir", "-p", "--", path]))
        }
        stateDiff("directory")
      }
    case "touch":
      if now == nil {
        steps.append(.argv(.create, "file \(path)", ["touch", "--", path]))
        stateDiff("touch")
      } else if !preserveTimes {
        steps.append(.argv(.update, "times of \(path)", ["touch", "--", path]))
        stateDiff("touch")
      }
    case "link":
      guard let src else { return .failed("src is required for state 'link'") }
      if let now, now.type != .symlink || now.linkTarget != src {
        if now.type == .directory && !force {
          return .failed("refusing to convert from directory to symlink for \(path)", result: result)
        }
        if now.type == .regular && !force {
          return .failed("refusing to convert from file to symlink for \(path)", result: result)
        }
        steps.append(.shell(.update, "link \(path) -> \(src)", "rm -rf -- \(ShellQuoting.quote(path)) && ln -s -- \(ShellQuoting.quote(src)) \(ShellQuoting.quote(path))"))
        stateDiff("link")
      } else if now == nil {
        steps.append(.argv(.create, "link \(path) -> \(src)", ["ln", "-s", "--", src, path]))
        stateDiff("link")
      }
      result["src"] = .string(src)
      // Mode and owner of a link itself are left alone; Linux ignores link modes.
      result["state"] = "link"
      if owner != nil || group != nil, !steps.isEmpty || now?.isOwned(by: owner ?? now?.owner ?? "") == false || now?.isInGroup(group ?? now?.group ?? "") == false {
        let spec = (owner ?? "") + (group.map { ":" + $0 } ?? "")
        steps.append(.argv(.update, "owner of \(path)", ["chown", "-h", spec, "--", path]))
      }
      return Plan(steps: steps, diffs: diffs, result: result)
    case "hard":
      guard let src else { return .failed("src is required for state 'hard'") }
      steps.append(.shell(.update, "hard link \(path) -> \(src)", "if [ \(ShellQuoting.quote(path)) -ef \(ShellQuoting.quote(src)) ]; then :; else ln -f -- \(ShellQuoting.quote(src)) \(ShellQuoting.quote(path)); fi"))
      if now != nil {
        // Whether it is already the same inode needs the link count; check with one test.
        steps[0].summary = "hard link \(path) -> \(src) (if not already)"
      } else {
        stateDiff("hard")
      }
      result["src"] = .string(src)
      return Plan(steps: now == nil ? steps : [], diffs: diffs, result: result)
    default:
      break
    }
    let isDirectory = desired == "directory" || now?.type == .directory
    let attributes = Attributes.steps(
      path: path, current: now, isDirectory: isDirectory, mode: mode, owner: owner, group: group,
      defaultMode: isDirectory ? 0o755 : 0o644, recurse: recurse && current.mismatched > 0)
    steps += attributes.steps
    diffs += attributes.diffs
    if recurse && current.mismatched > 0 && attributes.steps.isEmpty {
      var r: [Step] = []
      if let mode { r.append(.argv(.update, "mode below \(path)", ["chmod", "-R", modeArgument(mode), "--", path])) }
      if owner != nil || group != nil {
        r.append(.argv(.update, "owner below \(path)", ["chown", "-R", (owner ?? "") + (group.map { ":" + $0 } ?? ""), "--", path]))
      }
      steps += r
    }
    result["state"] = .string(desired == "touch" ? "file" : desired)
    result["mode"] = .string(String(format: "%04o", attributes.mode))
    if let now {
      result["owner"] = .string(owner ?? now.owner)
      result["group"] = .string(group ?? now.group)
    }
    return Plan(steps: steps, diffs: diffs, result: result)
  }

  func modeArgument(_ mode: FileMode) -> String {
    switch mode {
    case .absolute(let bits): return String(bits, radix: 8)
    case .symbolic(let s): return s
    }
  }
}

extension OrderedDict {
  func merging(_ other: OrderedDict) -> OrderedDict {
    var out = self
    for (k, v) in other { out[k] = v }
    return out
  }
}
