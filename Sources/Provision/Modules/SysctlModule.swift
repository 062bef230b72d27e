import Foundation
import Inventory

/// Sets a kernel parameter in a sysctl file and, if asked, in the running kernel: `sysctl`, as
/// `ansible.posix.sysctl`.
///
/// Keys: `name` (`key`), `value` (`val`; yes/no/true/false become 1/0), `state` (present,
/// absent), `sysctl_file` (default `/etc/sysctl.conf`), `reload` (default true: `sysctl -p
/// FILE` after a change), `sysctl_set` (also `sysctl -w`), `ignoreerrors` (`-e`). `check` reads
/// `sysctl -e -n NAME`, the file and its mode in one command; the file is rewritten as
/// Ansible does (every `key=value` line normalised, later duplicates dropped) and uploaded
/// atomically. Needs root.
///
/// ```yaml
/// - sysctl: { name: net.ipv4.ip_forward, value: "1", sysctl_set: true }
/// ```
public struct SysctlModule: Module {
  public static let name = "sysctl"
  public static let arguments = ArgumentSpec([
    .init("name", required: true, aliases: ["key"]), .init("value", .raw, aliases: ["val"]),
    .init("state", choices: ["present", "absent"], default: "present"), .init("reload", .bool, default: true),
    .init("sysctl_set", .bool, default: false), .init("ignoreerrors", .bool, default: false),
    .init("sysctl_file", .path, default: "/etc/sysctl.conf"),
    .init("mode", .mode), .init("owner"), .init("group"), .init("_diff", .bool),
  ])

  public struct Current: Sendable, Equatable {
    /// `sysctl -e -n NAME`, nil when it failed (unknown key).
    var procValue: String?
    /// The file's content, nil when it does not exist.
    var file: String?
    /// The file's mode, owner and group (`644 root root`).
    var fileMode: UInt16?
  }

  let key: String
  let value: String
  let present: Bool
  let reload: Bool
  let sysctlSet: Bool
  let ignoreErrors: Bool
  let file: String

  public init(_ arguments: ModuleArguments) throws {
    let key = (arguments.string("name") ?? "").trimmingCharacters(in: .whitespaces)
    guard !key.isEmpty else { throw ModuleError("name cannot be blank") }
    self.key = key
    present = (arguments.string("state") ?? "present") == "present"
    let raw = arguments["value"]
    if present && raw == nil { throw ModuleError("value cannot be None") }
    value = Self.parseValue(raw)
    if present && value.isEmpty { throw ModuleError("value cannot be blank") }
    reload = arguments.bool("reload", default: true)
    sysctlSet = arguments.bool("sysctl_set")
    ignoreErrors = arguments.bool("ignoreerrors")
    file = arguments.string("sysctl_file") ?? "/etc/sysctl.conf"
  }

  /// As `_parse_value`: booleans and their spellings become `1`/`0`; text is stripped.
  static func parseValue(_ v: Value?) -> String {
    guard let v else { return "" }
    switch v {
    case .bool(let b): return b ? "1" : "0"
    case .string(let s):
      let lower = s.lowercased()
      if ["y", "yes", "on", "1", "true", "1.0"].contains(lower) { return "1" }
      if ["n", "no", "off", "0", "false", "0.0"].contains(lower) { return "0" }
      return s.trimmingCharacters(in: .whitespacesAndNewlines)
    case .int(let i): return i == 1 ? "1" : i == 0 ? "0" : String(i)
    default: return ModuleArguments.text(v) ?? ""
    }
  }

  func script() -> String {
    let f = ShellQuoting.quote(file)
    return ProbeSections.section("proc", "LANG=C LC_ALL=C sysctl -e -n \(ShellQuoting.quote(key))", mergeStderr: false)
      + ProbeSections.file("file", file)
      + ProbeSections.section("mode", "stat -c %a \(f)", mergeStderr: false)
  }

  public func check(on host: HostProbe) async throws -> Current {
    let result = try await host.run(script())
    return Self.current(from: ProbeSections.parse(result.stdoutText))
  }

  static func current(from probe: ProbeSections) -> Current {
    let proc = probe["proc"].flatMap { $0.succeeded ? $0.text : nil }
    let file = probe["file"].flatMap { $0.succeeded ? $0.content : nil }
    let mode = probe["mode"].flatMap { $0.succeeded ? UInt16($0.trimmed, radix: 8) : nil }
    return Current(procValue: proc, file: file, fileMode: mode)
  }

  /// `values_is_equal`: the same words in the same order.
  static func valuesEqual(_ a: String?, _ b: String?) -> Bool {
    guard let a, let b else { return false }
    return a.split(whereSeparator: \.isWhitespace) == b.split(whereSeparator: \.isWhitespace)
  }

  /// The file's token values (the last of duplicates wins) and its rewritten lines.
  func fixLines(_ content: String) -> (values: [String: String], lines: [String]) {
    var values: [String: String] = [:]
    var fixed: [String] = []
    var checked: Set<String> = []
    // Python's readlines() then strip(): lines split on \n, each stripped.
    var lines = content.components(separatedBy: "\n")
    if lines.last == "" { lines.removeLast() }
    for raw in lines {
      let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
      if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") || !line.contains("=") {
        fixed.append(line)
        continue
      }
      let eq = line.firstIndex(of: "=")!
      let k = line[..<eq].trimmingCharacters(in: .whitespaces)
      let v = line[line.index(after: eq)...].trimmingCharacters(in: .whitespaces)
      values[k] = v
      if !checked.contains(k) {
        checked.insert(k)
        if k == key {
          if present { fixed.append("\(k)=\(value)") }
        } else {
          fixed.append("\(k)=\(v)")
        }
      }
    }
    if !checked.contains(key) && present { fixed.append("\(key)=\(value)") }
    return (values, fixed)
  }

  /// Fails the step when sysctl printed one of the errors it exits 0 with.
  static func checked(_ command: String) -> String {
    "out=$(LANG=C LC_ALL=C \(command) 2>&1); rc=$?; printf '%s\\n' \"$out\" >&2; [ $rc -eq 0 ] && ! printf '%s\\n' \"$out\" | grep -Eq '^sysctl: setting key \"[^\"]+\": (Invalid argument|Read-only file system)$'"
  }

  public func plan(from current: Current) throws -> Plan {
    let (values, lines) = fixLines(current.file ?? "")
    let fileValue = values[key]
    var changed = false
    var writeFile = false
    var setProc = false
    if fileValue == nil && present {
      changed = true
      writeFile = true
    } else if fileValue == nil && !present {
      changed = false
    } else if let fileValue, !fileValue.isEmpty, !present {
      changed = true
      writeFile = true
    } else if fileValue != value {
      changed = true
      writeFile = true
    } else if reload {
      if current.procValue == nil || !Self.valuesEqual(current.procValue, value) { changed = true }
    }
    if sysctlSet && present {
      if current.procValue == nil {
        changed = true
      } else if !Self.valuesEqual(current.procValue, value) {
        changed = true
        setProc = true
      }
    }
    var steps: [Step] = []
    var diffs: [FileDiff] = []
    let e = ignoreErrors ? " -e" : ""
    if setProc {
      steps.append(
        .shell(.update, "\(key) = \(value) in the kernel", Self.checked("sysctl\(e) -w \(ShellQuoting.quote("\(key)=\(value)"))")))
    }
    if writeFile {
      let content = lines.map { $0.trimmingCharacters(in: .whitespacesAndNewlines) + "\n" }.joined()
      steps.append(
        Step(current.file == nil ? .create : .update, "\(key) in \(file)", .upload(Data(content.utf8), path: file, mode: current.fileMode ?? 0o644, owner: nil, group: nil)))
      diffs.append(FileDiff(beforeHeader: file, afterHeader: file, before: current.file ?? "", after: content))
    }
    if changed && reload {
      steps.append(.shell(.run, "reload \(file)", Self.checked("sysctl\(e) -p \(ShellQuoting.quote(file))")))
    }
    return Plan(steps: steps, diffs: diffs)
  }
}
