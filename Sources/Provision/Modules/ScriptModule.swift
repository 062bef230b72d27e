import Foundation
import Inventory

/// Runs a script from the controller on the host: `script`.
///
/// Keys: `cmd` (or free form: `path/to/script.sh args`), `creates`, `removes`, `chdir`
/// (absolute), `executable`. The script is read on the controller (the engine finds it in
/// `files/` beside the playbook or the role and passes `_source_path`), sent on standard input,
/// written to a temporary file on the host and run there with its arguments: by `executable`
/// when given, else by the interpreter of its `#!` line, else by `sh`. The file is removed
/// afterwards. `check` only tests `creates`/`removes`; the script always runs (it is not
/// idempotent), and is skipped in check mode unless `creates` or `removes` is given.
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
    let command = Self.command(
      script: content, name: (first as NSString).lastPathComponent, arguments: Array(words.dropFirst()),
      executable: arguments.string("executable"))
    run = try ShellRun(arguments, command: command, display: .string(line))
    run.stdin = content
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

  /// The shell command that saves standard input to a temporary file and runs it. A script
  /// without `#!` runs with `sh`, as `execve` falls back to; a binary (a NUL byte in its first
  /// block) is made executable and run directly.
  static func command(script: Data, name: String, arguments: [String], executable: String?) -> String {
    let runner: String
    if let executable {
      runner = ShellWords.split(executable, comments: false)?.map(ShellQuoting.quote).joined(separator: " ")
        ?? ShellQuoting.quote(executable)
      return wrap(runner + " \"$t\"", name: name, arguments: arguments)
    }
    if let interpreter = interpreter(script) {
      runner = interpreter.map(ShellQuoting.quote).joined(separator: " ")
      return wrap(runner + " \"$t\"", name: name, arguments: arguments)
    }
    if script.prefix(512).contains(0) {
      return wrap("\"$t\"", name: name, arguments: arguments)
    }
    return wrap("sh \"$t\"", name: name, arguments: arguments)
  }

  private static func wrap(_ run: String, name: String, arguments: [String]) -> String {
    let args = arguments.map { CommandModule.quoteKeepingVariables($0) }.joined(separator: " ")
    return """
      d=$(mktemp -d "${TMPDIR:-/tmp}/.provision-script-XXXXXX") || exit 1
      t="$d"/\(ShellQuoting.quote(name))
      if ! cat > "$t"; then rm -rf "$d"; exit 1; fi
      chmod 700 "$t"
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
    plan.steps[0].summary = "run script \(source)"
    return plan
  }
}
