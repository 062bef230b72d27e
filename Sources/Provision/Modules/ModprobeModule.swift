import Foundation
import Inventory

/// Loads or unloads a kernel module, and optionally makes that last across reboots: `modprobe`,
/// as `community.general.modprobe`.
///
/// Keys: `name`, `state` (present, absent), `params` (module options, `k=v` words),
/// `persistent` (disabled, present, absent: a `/etc/modules-load.d/NAME.conf` file and an
/// `/etc/modprobe.d/NAME.conf` options file, or those lines commented out). `check` reads
/// `/proc/modules`, `modules.builtin` and the files under `/etc/modules-load.d` and
/// `/etc/modprobe.d` in one command; the plan is `modprobe NAME PARAMS` or `modprobe -r NAME`.
/// Needs root.
///
/// ```yaml
/// - modprobe: { name: br_netfilter, state: present, persistent: present }
/// ```
public struct ModprobeModule: Module {
  public static let name = "modprobe"
  public static let arguments = ArgumentSpec([
    .init("name", required: true), .init("state", choices: ["absent", "present"], default: "present"),
    .init("params", default: ""), .init("persistent", choices: ["disabled", "present", "absent"], default: "disabled"),
  ])

  public struct Current: Sendable, Equatable {
    /// False when the kernel has no `/proc/modules` (no loadable modules).
    var modular = true
    var loaded: Bool
    /// Files under /etc/modules-load.d, by path.
    var moduleFiles: [String: String]
    /// Files under /etc/modprobe.d, by path.
    var optionFiles: [String: String]
  }

  let moduleName: String
  let present: Bool
  let params: String
  let persistent: String

  public init(_ arguments: ModuleArguments) throws {
    guard let name = arguments.string("name"), !name.isEmpty else { throw ModuleError("missing required argument 'name'") }
    moduleName = name
    present = arguments.string("state") != "absent"
    params = arguments.string("params") ?? ""
    persistent = arguments.string("persistent") ?? "disabled"
  }

  func script() -> String {
    let n = ShellQuoting.quote(moduleName.replacingOccurrences(of: "-", with: "_") + " ")
    let ko = ShellQuoting.quote("/" + moduleName + ".ko")
    var s = ProbeSections.section(
      "loaded",
      "[ -r /proc/modules ] || exit 2; while IFS= read -r l; do case $l in \(n)*) exit 0 ;; esac; done </proc/modules; "
        + "b=/lib/modules/$(uname -r)/modules.builtin; [ -f \"$b\" ] || exit 1; "
        + "while IFS= read -r l; do case $l in *\(ko)) exit 0 ;; esac; done <\"$b\"; exit 1")
    if persistent != "disabled" {
      s += ProbeSections.section(
        "files",
        "for f in /etc/modules-load.d/* /etc/modprobe.d/*; do [ -f \"$f\" ] || continue; printf '@@file %s\\n' \"$f\"; cat -- \"$f\"; echo; done",
        mergeStderr: false)
    }
    return s
  }

  public func check(on host: HostProbe) async throws -> Current {
    let result = try await host.run(script())
    return Self.current(from: ProbeSections.parse(result.stdoutText))
  }

  static func current(from probe: ProbeSections) -> Current {
    var modules: [String: String] = [:]
    var options: [String: String] = [:]
    var path: String?
    var lines: [Substring] = []
    func flush() {
      guard let path else { return }
      // `cat; echo`: the echo's newline ends the last line, so the lines joined are the content.
      let text = lines.joined(separator: "\n")
      if path.hasPrefix("/etc/modules-load.d/") { modules[path] = text } else { options[path] = text }
    }
    for line in (probe["files"]?.text ?? "").split(separator: "\n", omittingEmptySubsequences: false) {
      if line.hasPrefix("@@file ") {
        flush()
        path = String(line.dropFirst(7))
        lines = []
      } else {
        lines.append(line)
      }
    }
    flush()
    return Current(
      modular: probe["loaded"]?.status != 2, loaded: probe["loaded"]?.succeeded == true, moduleFiles: modules,
      optionFiles: options)
  }

  // The regular expressions of community.general.modprobe, applied line by line.
  func isModuleLine(_ line: Substring) -> Bool {
    var rest = line.drop { $0 == " " }
    guard rest.hasPrefix(moduleName) else { return false }
    rest = rest.dropFirst(moduleName.count).drop { $0 == " " }
    return rest.isEmpty || rest.first == "#" || rest.first == ";"
  }

  /// `k=v` from `options NAME k=v [# comment]`, nil for other lines.
  func optionParam(_ line: Substring) -> String? {
    let prefix = "options \(moduleName) "
    guard line.hasPrefix(prefix) else { return nil }
    let rest = line.dropFirst(prefix.count)
    let word = rest.prefix { !$0.isWhitespace }
    guard let eq = word.firstIndex(of: "="), eq != word.startIndex,
      word[..<eq].allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }), word.index(after: eq) != word.endIndex
    else { return nil }
    let tail = rest.dropFirst(word.count).drop { $0 == " " }
    guard tail.isEmpty || tail.first == "#" || tail.first == ";" else { return nil }
    return String(word)
  }

  public func plan(from current: Current) throws -> Plan {
    let result: OrderedDict = [
      "name": .string(moduleName), "params": .string(params), "state": .string(present ? "present" : "absent"),
    ]
    guard current.modular else {
      return .failed("[Errno 2] No such file or directory: '/proc/modules' (this kernel has no loadable modules)", result: result)
    }
    var steps: [Step] = []
    var diffs: [FileDiff] = []
    let words = ShellWords.split(params, comments: false) ?? params.split(separator: " ").map(String.init)
    if present && !current.loaded {
      steps.append(.argv(.create, "load module \(moduleName)", ["modprobe", moduleName] + words))
      diffs.append(.attribute("module \(moduleName)", before: "state: absent\n", after: "state: present\n"))
    } else if !present && current.loaded {
      steps.append(.argv(.remove, "unload module \(moduleName)", ["modprobe", "-r", moduleName]))
      diffs.append(.attribute("module \(moduleName)", before: "state: present\n", after: "state: absent\n"))
    }
    let loadedPersistently = current.moduleFiles.values.contains { $0.split(separator: "\n").contains(where: isModuleLine) }
    var permanentParams = Set<String>()
    for text in current.optionFiles.values {
      for line in text.split(separator: "\n") { if let p = optionParam(line) { permanentParams.insert(p) } }
    }
    let desiredParams = Set(params.split(whereSeparator: \.isWhitespace).map(String.init))
    let paramsSet = desiredParams == permanentParams
    func commentOut(_ files: [String: String], except skipped: String? = nil, _ matches: (Substring) -> Bool) {
      for (path, text) in files.sorted(by: { $0.key < $1.key }) where path != skipped {
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        guard lines.contains(where: matches) else { continue }
        let new = lines.map { matches($0) ? "#" + $0 : String($0) }.joined(separator: "\n")
        steps.append(Step(.update, "comment out \(moduleName) in \(path)", .upload(Data(new.utf8), path: path, mode: nil, owner: nil, group: nil)))
        diffs.append(FileDiff(beforeHeader: path, afterHeader: path, before: text, after: new))
      }
    }
    if persistent == "present" && !(loadedPersistently && paramsSet) {
      if !loadedPersistently {
        let path = "/etc/modules-load.d/\(moduleName).conf"
        steps.append(Step(.create, "load \(moduleName) at boot (\(path))", .upload(Data((moduleName + "\n").utf8), path: path, mode: 0o644, owner: nil, group: nil)))
        diffs.append(FileDiff(beforeHeader: path, afterHeader: path, before: current.moduleFiles[path] ?? "", after: moduleName + "\n"))
      }
      if !paramsSet {
        let path = "/etc/modprobe.d/\(moduleName).conf"
        commentOut(current.optionFiles, except: path) { optionParam($0) != nil }
        let content = params.split(whereSeparator: \.isWhitespace).map { "options \(moduleName) \($0)" }.joined(separator: "\n") + "\n"
        steps.append(Step(.update, "options of \(moduleName) (\(path))", .upload(Data(content.utf8), path: path, mode: 0o644, owner: nil, group: nil)))
        diffs.append(FileDiff(beforeHeader: path, afterHeader: path, before: current.optionFiles[path] ?? "", after: content))
      }
    } else if persistent == "absent" && (loadedPersistently || !permanentParams.isEmpty) {
      commentOut(current.moduleFiles, isModuleLine)
      commentOut(current.optionFiles) { optionParam($0) != nil }
    }
    return Plan(steps: steps, diffs: diffs, result: result)
  }
}
