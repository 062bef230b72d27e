import Foundation
import Inventory

/// Runs a script from the controller on the host: `script`.
///
/// Keys: `cmd` (or free form: `path/to/script.sh args`), `creates`, `removes`, `chdir`
/// (absolute), `executable`. The script is read on the controller (the engine finds it in
/// `files/` beside the playbook or the role and passes `_source_path`), copied to a new private
/// directory on the host and run there with its arguments and a pseudo-terminal, as
/// ansible-playbook runs it: by `executable` when given, else by the interpreter of its `#!`
/// line, else by `sh`. The directory is removed afterwards. `check` only tests
/// `creates`/`removes`; the script always runs (it is not idempotent), and is skipped in check
/// mode unless `creates` or `removes` is given.
///
/// ```yaml
/// - script: files/bootstrap.sh --role server creates=/etc/rancher/bootstrapped
/// ```
public struct ScriptModule: Module {
  public static let name = "script"
  public static let arguments = ArgumentSpec(
    [
      .init("cmd", .raw), .init("creates", .path), .init("removes", .path), .init("chdir", .path),
      .init("executable", .path), .init("decrypt", .bool), .init("_source_path", .path),
    ],
    freeForm: "cmd")

  var run: ShellRun
  /// The script's name as written, for messages.
  let source: String
  /// The script, and its file name on the host.
  let script: Data
  let fileName: String
  /// Why the script cannot be read, when it cannot.
  let missing: String?

  public init(_ arguments: ModuleArguments) throws {
    guard let line = arguments.string("cmd"), !line.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else {
      throw ModuleError("no script given", hint: "write the script's path after 'script:' or under 'cmd:'")
    }
    guard let words = ShellWords.split(line, comments: false), let first = words.first else {
      throw ModuleError("cannot split the script line: \(line)")
    }
    source = first
    if let chdir = arguments.string("chdir"), !chdir.hasPrefix("/") {
      throw ModuleError("chdir \(chdir) must be an absolute path for a Unix-aware remote node")
    }
    let path = arguments.string("_source_path") ?? first
    var isDirectory: ObjCBool = false
    var content = Data()
    if FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory), !isDirectory.boolValue,
      let data = FileManager.default.contents(atPath: path)
    {
      content = data
      missing = nil
    } else {
      // Reported only when the script would run: `creates`/`removes` are tested first, as in Ansible.
      missing = "Could not find or access '\(first)' on the Ansible Controller."
    }
    script = content
    fileName = (first as NSString).lastPathComponent
    let command = Self.command(
      script: content, arguments: Array(words.dropFirst()), executable: arguments.string("executable"))
    run = try ShellRun(arguments, command: command, display: .string(line))
  }

  /// The interpreter of a `#!` line, as the kernel reads it: the program and at most one
  /// argument (the rest of the line). Nil without a `#!` line.
  static func interpreter(_ script: Data) -> [String]? {
    guard script.starts(with: [0x23, 0x21]) else { return nil }
    let end = script.firstIndex(of: 0x0A) ?? script.endIndex
    let line = String(decoding: script[(script.startIndex + 2)..<end], as: UTF8.self)
      .trimmingCharacters(in: .whitespaces.union(CharacterSet(charactersIn: "\r")))
    guard !line.isEmpty else { return nil }
    guard let space = line.firstIndex(where: { $0 == " " || $0 == "\t" }) else { return [line] }
    let argument = line[space...].trimmingCharacters(in: .whitespaces)
    return [String(line[..<space])] + (argument.isEmpty ? [] : [argument])
  }

  /// The shell command that runs the copied script `$t` and removes its directory `$d`. A
  /// script without `#!` runs with `sh`, as `execve` falls back to; a binary (a NUL byte in its
  /// first block) runs directly.
  static func command(script: Data, arguments: [String], executable: String?) -> String {
    let runner: String
    if let executable {
      runner = ShellWords.split(executable, comments: false)?.map(ShellQuoting.quote).joined(separator: " ")
        ?? ShellQuoting.quote(executable)
      return wrap(runner + " \"$t\"", arguments: arguments)
    }
    if let interpreter = interpreter(script) {
      runner = interpreter.map(ShellQuoting.quote).joined(separator: " ")
      return wrap(runner + " \"$t\"", arguments: arguments)
    }
    if script.prefix(512).contains(0) {
      return wrap("\"$t\"", arguments: arguments)
    }
    return wrap("sh \"$t\"", arguments: arguments)
  }

  private static func wrap(_ run: String, arguments: [String]) -> String {
    let args = arguments.map { CommandModule.quoteKeepingVariables($0) }.joined(separator: " ")
    return """
      \(run)\(args.isEmpty ? "" : " " + args) </dev/null
      rc=$?
      rm -rf "$d"
      exit $rc
      """
  }

  public func check(on host: HostProbe) async throws -> ShellRun.Current { try await run.check(on: host) }

  public func plan(from current: ShellRun.Current) throws -> Plan {
    var plan = run.plan(from: current)
    plan.result["cmd"] = nil
    if plan.steps.isEmpty {
      // Ansible skips the task; its message names the option.
      if let creates = run.creates, current.createsExists == true {
        plan.result = ["msg": .string("\(creates) exists, matching creates option")]
        plan.skipReason = "\(creates) exists, matching creates option"
      } else if let removes = run.removes, current.removesExists == false {
        plan.result = ["msg": .string("\(removes) does not exist, matching removes option")]
        plan.skipReason = "\(removes) does not exist, matching removes option"
      }
      return plan
    }
    if let missing { return .failed(missing) }
    // A directory of its own per run, made with a name chosen here so that the copy needs no
    // round trip to learn it; the run removes it.
    let directory = "/tmp/.provision-script-" + RenderedCommand.randomToken()
    let file = directory + "/" + fileName
    guard case .shell(let line, _) = plan.steps[0].action else { return plan }
    plan.steps[0].summary = "run script \(source)"
    plan.steps[0].action = .shell(
      "d=\(ShellQuoting.quote(directory)); t=\(ShellQuoting.quote(file))\n" + line)
    // ansible-playbook runs the script with a pseudo-terminal: its error output joins standard
    // output, and lines end with \r\n.
    plan.steps[0].wantsPTY = true
    plan.steps[0].keepsTrailingNewlines = true
    plan.steps.insert(contentsOf: [
      .argv(.run, "directory for script \(source)", ["mkdir", "-m", "700", "--", directory]),
      Step(.run, "copy of script \(source)", .upload(script, path: file, mode: 0o700, owner: nil, group: nil)),
    ], at: 0)
    return plan
  }
}
