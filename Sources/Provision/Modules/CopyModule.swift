import Foundation
import Inventory

/// Puts a file with given content on the host: `copy`.
///
/// Keys: `dest`, `content` or `src` (a file beside the playbook or in the role's `files/`),
/// `mode`, `owner`, `group`, `backup`, `force`, `validate` (`%s` is the new file). `check`
/// reads the destination's state and SHA-256 in one command; the file is uploaded only when
/// its checksum differs, to a temporary name that is renamed over the old one.
///
/// ```yaml
/// - copy: { content: "net.ipv4.ip_forward = 1\n", dest: /etc/sysctl.d/60-rancher.conf, mode: "0644" }
/// ```
public struct CopyModule: Module {
  public static let name = "copy"
  public static let arguments = ArgumentSpec(
    [
      .init("dest", .path, required: true), .init("src", .path), .init("content", .raw),
      .init("mode", .mode), .init("owner"), .init("group"), .init("backup", .bool, default: false),
      .init("force", .bool, aliases: ["thirsty"], default: true), .init("validate"),
      .init("remote_src", .bool), .init("directory_mode", .mode), .init("follow", .bool),
      .init("local_follow", .bool), .init("checksum"), .init("decrypt", .bool), .init("unsafe_writes", .bool),
      .init("attributes", aliases: ["attr"]), .init("_source_path", .path), .init("_diff", .bool),
    ],
    mutuallyExclusive: [["content", "src"]])

  var file: DesiredFile?
  var tree: DirectoryCopy?

  public enum Current: Sendable {
    case file(DesiredFile.Current)
    case tree(DirectoryCopy.Current)
  }

  public init(_ arguments: ModuleArguments) throws {
    guard var dest = arguments.string("dest") else { throw ModuleError("missing required argument 'dest'") }
    let content: Data
    var sourceName: String?
    if let text = arguments["content"] {
      switch text {
      case .string(let s): content = Data(s.utf8)
      case .list, .dict: content = Data(text.jsonString().utf8)
      default: content = Data((ModuleArguments.text(text) ?? "").utf8)
      }
    } else if let source = arguments.string("_source_path") {
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory) else {
        throw ModuleError("could not find src=\(arguments.string("src") ?? source)")
      }
      if isDirectory.boolValue {
        // As Ansible: 'src: dir/' copies the directory's contents into dest, 'src: dir' the
        // directory itself.
        let written = arguments.string("src") ?? source
        let target = written.hasSuffix("/") ? dest : (dest as NSString).appendingPathComponent((source as NSString).lastPathComponent)
        tree = try DirectoryCopy(
          source: source, dest: target, mode: try arguments.mode("mode"), directoryMode: try arguments.mode("directory_mode"),
          owner: arguments.string("owner"), group: arguments.string("group"), force: arguments.bool("force", default: true),
          wantsDiff: arguments.bool("_diff"))
        return
      }
      guard let data = FileManager.default.contents(atPath: source) else {
        throw ModuleError("cannot read src '\(source)'")
      }
      content = data
      sourceName = (source as NSString).lastPathComponent
    } else if arguments.bool("remote_src") {
      throw ModuleError("remote_src is not supported yet", hint: "use 'command: cp -a SRC DEST creates=DEST'")
    } else {
      throw ModuleError("src (or content) is required")
    }
    if dest.hasSuffix("/"), let sourceName { dest += sourceName }
    file = DesiredFile(
      path: dest, content: content, mode: try arguments.mode("mode"), owner: arguments.string("owner"),
      group: arguments.string("group"), backup: arguments.bool("backup"), force: arguments.bool("force", default: true),
      validate: arguments.string("validate"), wantsDiff: arguments.bool("_diff"), sourceName: sourceName)
  }

  public func check(on host: HostProbe) async throws -> Current {
    if let tree { return .tree(try await tree.check(on: host)) }
    guard let file else { throw ModuleError("nothing to copy") }
    return .file(try await file.check(on: host))
  }

  public func plan(from current: Current) throws -> Plan {
    switch current {
    case .tree(let state): return tree?.plan(from: state) ?? .unchanged
    case .file(let state): return file?.plan(from: state) ?? .unchanged
    }
  }
}

/// Renders a Jinja2 template on the controller and puts the result on the host: `template`.
///
/// Keys: `src` (in `templates/` beside the playbook or in the role), `dest`, `mode`, `owner`,
/// `group`, `backup`, `force`, `validate`. The engine renders `src` with the host's variables;
/// from there it is `copy` with `content`.
public struct TemplateModule: Module {
  public static let name = "template"
  public static let arguments = ArgumentSpec([
    .init("src", .path, required: true), .init("dest", .path, required: true), .init("mode", .mode),
    .init("owner"), .init("group"), .init("backup", .bool, default: false), .init("force", .bool, default: true),
    .init("validate"), .init("newline_sequence"), .init("trim_blocks", .bool), .init("lstrip_blocks", .bool),
    .init("variable_start_string"), .init("variable_end_string"), .init("block_start_string"),
    .init("block_end_string"), .init("output_encoding"), .init("follow", .bool), .init("unsafe_writes", .bool),
    .init("attributes", aliases: ["attr"]), .init("_content", .raw), .init("_diff", .bool),
  ])

  var file: DesiredFile

  public init(_ arguments: ModuleArguments) throws {
    guard let dest = arguments.string("dest") else { throw ModuleError("missing required argument 'dest'") }
    guard let content = arguments.string("_content") else { throw ModuleError("the template was not rendered") }
    file = DesiredFile(
      path: dest, content: Data(content.utf8), mode: try arguments.mode("mode"), owner: arguments.string("owner"),
      group: arguments.string("group"), backup: arguments.bool("backup"), force: arguments.bool("force", default: true),
      validate: arguments.string("validate"), wantsDiff: arguments.bool("_diff"),
      sourceName: arguments.string("src").map { ($0 as NSString).lastPathComponent })
  }

  public func check(on host: HostProbe) async throws -> DesiredFile.Current { try await file.check(on: host) }
  public func plan(from current: DesiredFile.Current) throws -> Plan { file.plan(from: current) }
}

/// A file whose content the task gives: what `copy` and `template` share.
public struct DesiredFile: Sendable {
  public struct Current: Sendable {
    var path: String
    var state: FileState?
  }

  var path: String
  var content: Data
  var mode: FileMode?
  var owner: String?
  var group: String?
  var backup: Bool
  var force: Bool
  var validate: String?
  var wantsDiff: Bool
  var sourceName: String?

  var sha256: String { Digest.hex("sha256", [UInt8](content)) ?? "" }

  func check(on host: HostProbe) async throws -> Current {
    var state = try await FileState.read(path, on: host, content: wantsDiff, follow: true)
    var target = path
    if let s = state, s.type == .directory {
      // Like cp: a directory destination receives the file under its own name.
      guard let sourceName else { return Current(path: path, state: state) }
      target = (path as NSString).appendingPathComponent(sourceName)
      state = try await FileState.read(target, on: host, content: wantsDiff, follow: true)
    }
    return Current(path: target, state: state)
  }

  func plan(from current: Current) -> Plan {
    let path = current.path
    let now = current.state
    var result: OrderedDict = [
      "dest": .string(path), "checksum": .string(Digest.hex("sha1", [UInt8](content)) ?? ""),
      "size": .int(content.count),
    ]
    if let now, now.type == .directory {
      return .failed("dest '\(path)' is a directory; give a file name", result: result)
    }
    var steps: [Step] = []
    var diffs: [FileDiff] = []
    let contentChanges = now == nil || (now?.sha256 != sha256 && force)
    let attributes = Attributes.steps(
      path: path, current: now, isDirectory: false, mode: mode, owner: owner, group: group, defaultMode: 0o644)
    if contentChanges {
      if backup, now != nil {
        steps.append(
          .shell(
            .create, "backup of \(path)",
            "cp -p -- \(ShellQuoting.quote(path)) \(ShellQuoting.quote(path)).$(date +%Y-%m-%d@%H:%M:%S)~"))
      }
      let newMode: UInt16? = mode == nil ? now?.mode : attributes.mode
      if let validate {
        steps.append(validatedInstall(path: path, mode: newMode ?? 0o644, validate: validate))
      } else {
        steps.append(
          Step(now == nil ? .create : .update, "content of \(path)", .upload(content, path: path, mode: newMode ?? 0o644, owner: owner, group: group)))
      }
      let before = now?.content.map { String(decoding: $0, as: UTF8.self) } ?? ""
      diffs.append(
        FileDiff(
          beforeHeader: path, afterHeader: sourceName.map { "dynamically generated" == $0 ? $0 : $0 } ?? "dynamically generated",
          before: before, after: String(decoding: content, as: UTF8.self)))
      // Mode and owners are set by the upload; only report what differs.
      diffs += attributes.diffs.filter { _ in now != nil }
    } else {
      steps += attributes.steps
      diffs += attributes.diffs
    }
    result["mode"] = .string(String(format: "%04o", attributes.mode))
    if let now {
      result["owner"] = .string(owner ?? now.owner)
      result["group"] = .string(group ?? now.group)
    }
    result["state"] = "file"
    return Plan(steps: steps, diffs: diffs, result: result)
  }

  /// Uploads beside `path`, runs `validate` on the new file, and renames it into place only if
  /// validation passes.
  func validatedInstall(path: String, mode: UInt16, validate: String) -> Step {
    let temporary = (path as NSString).deletingLastPathComponent + "/.provision-validate-" + (path as NSString).lastPathComponent
    let check = validate.replacingOccurrences(of: "%s", with: ShellQuoting.quote(temporary))
    var spec = ""
    if owner != nil || group != nil { spec = (owner ?? "") + (group.map { ":" + $0 } ?? "") }
    let t = ShellQuoting.quote(temporary)
    let script = """
      cat > \(t) && chmod \(String(mode, radix: 8)) \(t)\(spec.isEmpty ? "" : " && chown \(ShellQuoting.quote(spec)) \(t)") || { rm -f \(t); exit 1; }
      if ! ( \(check) ) >&2; then rm -f \(t); echo "failed to validate" >&2; exit 1; fi
      mv -f \(t) \(ShellQuoting.quote(path))
      """
    return Step(.update, "validated content of \(path)", .shell(script, stdin: content))
  }
}
