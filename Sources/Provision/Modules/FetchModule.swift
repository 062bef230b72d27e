import Foundation
import Inventory

/// Copies a file from the host to the controller: `fetch`.
///
/// Keys: `src` (a file on the host), `dest` (a directory on the controller), `flat`,
/// `fail_on_missing` (default true), `validate_checksum`. Without `flat` the file lands in
/// `dest/INVENTORY_HOSTNAME/SRC`; with it, in `dest` itself, or `dest/BASENAME` when `dest`
/// ends with `/`. A relative `dest` is relative to the current directory. `check` reads the
/// remote file in one command and the local copy, if any; the file is written only when their
/// SHA-1s differ. In check mode the task is skipped without reading anything, as in Ansible,
/// whose fetch does not support check mode.
///
/// ```yaml
/// - fetch: { src: /etc/rancher/rke2/rke2.yaml, dest: kubeconfigs/ }
/// ```
public struct FetchModule: Module {
  public static let name = "fetch"
  public static let arguments = ArgumentSpec([
    .init("src", .path, required: true), .init("dest", .path, required: true), .init("flat", .bool, default: false),
    .init("fail_on_missing", .bool, aliases: ["fail_when_missing"], default: true),
    .init("validate_checksum", .bool, aliases: ["verify_checksum"], default: true), .init("_host"),
    .init("_check", .bool),
  ])

  public struct Current: Sendable {
    var remote: SlurpModule.Current
    /// The remote file's permission bits, which a new local copy gets (less the umask).
    var remoteMode: UInt16? = nil
    /// Where the file goes on the controller, or a reason it cannot go there.
    var destination: Result<String, ModuleError>
    /// The SHA-1 of the local copy, nil when there is none.
    var localSHA1: String?
  }

  let src: String
  let dest: String
  let flat: Bool
  let failOnMissing: Bool
  let host: String
  let checkMode: Bool

  public init(_ arguments: ModuleArguments) throws {
    guard let src = arguments.string("src"), let dest = arguments.string("dest") else {
      throw ModuleError("src and dest are required")
    }
    self.src = src
    self.dest = dest
    flat = arguments.bool("flat")
    failOnMissing = arguments.bool("fail_on_missing", default: true)
    guard let host = arguments.string("_host") else {
      throw ModuleError("fetch needs the inventory hostname (_host)")
    }
    self.host = host
    checkMode = arguments.bool("_check")
  }

  /// The controller path for this host's copy of `src`, as Ansible's fetch computes it.
  static func destination(src: String, dest: String, flat: Bool, host: String, cwd: String, isDirectory: (String) -> Bool)
    throws(ModuleError) -> String
  {
    func absolute(_ p: String) -> String { p.hasPrefix("/") ? p : cwd + "/" + p }
    var path: String
    if flat {
      if isDirectory(absolute(dest)) && !dest.hasSuffix("/") {
        throw ModuleError("dest is an existing directory, use a trailing slash if you want to fetch src into that directory")
      }
      path = dest
      if dest.hasSuffix("/") {
        path = dest + (src as NSString).lastPathComponent
        if isDirectory(absolute(path)) {
          throw ModuleError(
            "calculated dest '\(path)' is an existing directory, use another path that does not point to an existing directory")
        }
      }
    } else {
      path = "\(dest)/\(host)/\(src)"
    }
    return normalize(absolute(path))
  }

  /// Python's `os.path.normpath` for absolute paths: no `//`, `.` or `..`.
  static func normalize(_ path: String) -> String {
    var parts: [Substring] = []
    for part in path.split(separator: "/", omittingEmptySubsequences: true) {
      if part == "." { continue }
      if part == ".." {
        if !parts.isEmpty { parts.removeLast() }
        continue
      }
      parts.append(part)
    }
    return "/" + parts.joined(separator: "/")
  }

  public func check(on host: HostProbe) async throws -> Current {
    // Skipped in check mode (see `plan`): nothing to read.
    if checkMode { return Current(remote: .missing, destination: .failure(ModuleError("check mode")), localSHA1: nil) }
    let result = try await host.run(SlurpModule.script(src, mode: true))
    guard result.succeeded, let (remote, remoteMode) = SlurpModule.parseWithMode(result.stdout) else {
      throw ModuleError("unable to read \(src): " + result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))
    }
    let fm = FileManager.default
    let destination: Result<String, ModuleError>
    do {
      destination = .success(
        try Self.destination(src: src, dest: dest, flat: flat, host: self.host, cwd: fm.currentDirectoryPath) { path in
          var isDirectory: ObjCBool = false
          return fm.fileExists(atPath: path, isDirectory: &isDirectory) && isDirectory.boolValue
        })
    } catch {
      destination = .failure(error)
    }
    var local: String?
    if case .success(let path) = destination, let data = fm.contents(atPath: path) {
      local = Digest.hex("sha1", [UInt8](data))
    }
    return Current(remote: remote, remoteMode: remoteMode, destination: destination, localSHA1: local)
  }

  public func plan(from current: Current) throws -> Plan {
    if checkMode {
      var plan = Plan(result: ["msg": "check mode not (yet) supported for this module"])
      plan.skipReason = "check mode not (yet) supported for this module"
      return plan
    }
    let data: Data
    switch current.remote {
    case .content(let d): data = d
    case .missing, .unreadable:
      let msg = current.remote == .missing
        ? "the remote file does not exist, not transferring, ignored" : "file is not readable: \(src)"
      if failOnMissing { return .failed(msg) }
      return Plan(result: ["file": .string(src), "msg": .string(msg)])
    case .directory:
      let msg = "remote file is a directory, fetch cannot work on directories"
      if failOnMissing { return .failed(msg) }
      return Plan(result: ["msg": .string(msg + ", not transferring, ignored")])
    }
    let path: String
    switch current.destination {
    case .success(let p): path = p
    case .failure(let error): return .failed(error.message)
    }
    let bytes = [UInt8](data)
    let sha1 = Digest.hex("sha1", bytes) ?? ""
    let md5 = Digest.hex("md5", bytes) ?? ""
    if current.localSHA1 == sha1 {
      return Plan(result: ["md5sum": .string(md5), "file": .string(src), "dest": .string(path), "checksum": .string(sha1)])
    }
    let step = Step(current.localSHA1 == nil ? .create : .update, "fetch \(src) to \(path)", .writeController(data, path: path, mode: current.remoteMode))
    return Plan(
      steps: [step],
      result: [
        "md5sum": .string(md5), "dest": .string(path), "remote_md5sum": .null, "checksum": .string(sha1),
        "remote_checksum": .string(sha1),
      ],
      skipsInCheckMode: true)
  }
}
