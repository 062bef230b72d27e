import Foundation
import Inventory

/// Runs a program on the host without a shell: `command`.
///
/// Keys: `cmd` (or free form), `argv`, `chdir`, `creates`, `removes`, `stdin`,
/// `stdin_add_newline`, `strip_empty_ends`. `check` only tests `creates`/`removes`; the
/// command itself always runs (it is not idempotent), and is skipped in check mode.
///
/// ```yaml
/// - command: /usr/sbin/update-ca-certificates creates=/etc/ssl/certs/local.pem
/// ```
public struct CommandModule: Module {
  public static let name = "command"
  public static let arguments = ArgumentSpec(
    [
      .init("cmd", .raw), .init("argv", .list), .init("chdir", .path), .init("creates", .path),
      .init("removes", .path), .init("stdin", .raw), .init("stdin_add_newline", .bool, default: true),
      .init("strip_empty_ends", .bool, default: true), .init("expand_argument_vars", .bool, default: true),
      .init("executable", .path), .init("warn", .bool),
    ],
    freeForm: "cmd", mutuallyExclusive: [["cmd", "argv"]])

  var run: ShellRun

  public init(_ arguments: ModuleArguments) throws {
    let commandLine: String
    var display: Value
    if let argv = arguments.list("argv") {
      guard !argv.isEmpty else { throw ModuleError("no command given") }
      commandLine = argv.map(ShellQuoting.quote).joined(separator: " ")
      display = .list(argv.map(Value.string))
    } else {
      guard let cmd = arguments.string("cmd"), !cmd.trimmingCharacters(in: .whitespaces).isEmpty else {
        throw ModuleError("no command given", hint: "write the command after 'command:' or under 'cmd:'")
      }
      let words = ShellWords.split(cmd, comments: false) ?? [cmd]
      commandLine = words.map { Self.quoteKeepingVariables($0) }.joined(separator: " ")
      display = .list(words.map(Value.string))
    }
    run = try ShellRun(arguments, command: commandLine, display: display)
  }

  /// Quotes a word for the shell but leaves `$VAR` and `${VAR}` expandable, as Ansible's
  /// `expand_argument_vars` does, and `~` at the start.
  static func quoteKeepingVariables(_ word: String) -> String {
    guard word.contains("$") || word.hasPrefix("~") else { return ShellQuoting.quote(word) }
    var out = ""
    var literal = ""
    var chars = Array(word)[...]
    if chars.first == "~" {
      let user = chars.prefix { $0 != "/" }
      out += String(user)
      chars = chars.dropFirst(user.count)
    }
    func flush() {
      if !literal.isEmpty { out += ShellQuoting.quote(literal) }
      literal = ""
    }
    while let c = chars.first {
      if c == "$", let next = chars.dropFirst().first, next == "{" || next.isLetter || next == "_" {
        flush()
        if next == "{", let close = chars.firstIndex(of: "}") {
          out += "\"" + String(chars[chars.startIndex...close]) + "\""
          chars = chars[(close + 1)...]
        } else {
          let name = chars.dropFirst().prefix { $0.isLetter || $0.isNumber || $0 == "_" }
          out += "\"$" + String(name) + "\""
          chars = chars.dropFirst(1 + name.count)
        }
      } else {
        literal.append(c)
        chars = chars.dropFirst()
      }
    }
    flush()
    return out
  }

  public func check(on host: HostProbe) async throws -> ShellRun.Current { try await run.check(on: host) }
  public func plan(from current: ShellRun.Current) throws -> Plan { run.plan(from: current) }
}

/// Runs a command through the shell: `shell`.
///
/// Keys: as `command`, plus `executable` (such as `/bin/bash`). Pipes, redirections and
/// variables work.
public struct ShellModule: Module {
  public static let name = "shell"
  public static let arguments = ArgumentSpec(CommandModule.arguments.arguments, freeForm: "cmd")

  var run: ShellRun

  public init(_ arguments: ModuleArguments) throws {
    guard let cmd = arguments.string("cmd"), !cmd.trimmingCharacters(in: .whitespaces).isEmpty else {
      throw ModuleError("no command given", hint: "write the command after 'shell:' or under 'cmd:'")
    }
    var line = cmd
    if let executable = arguments.string("executable") {
      line = ShellQuoting.quote(executable) + " -c " + ShellQuoting.quote(cmd)
    }
    run = try ShellRun(arguments, command: line, display: .string(cmd))
  }

  public func check(on host: HostProbe) async throws -> ShellRun.Current { try await run.check(on: host) }
  public func plan(from current: ShellRun.Current) throws -> Plan { run.plan(from: current) }
}

/// Sends a command line as it is: `raw`. Works on hosts with nothing but a shell.
public struct RawModule: Module {
  public static let name = "raw"
  public static let arguments = ArgumentSpec([.init("cmd", .raw), .init("executable", .path)], freeForm: "cmd")

  let command: String

  public init(_ arguments: ModuleArguments) throws {
    guard let cmd = arguments.string("cmd") else { throw ModuleError("no command given") }
    if let executable = arguments.string("executable") {
      command = ShellQuoting.quote(executable) + " -c " + ShellQuoting.quote(cmd)
    } else {
      command = cmd
    }
  }

  public func check(on host: HostProbe) async throws {}

  public func plan(from current: Void) throws -> Plan {
    var step = Step(.run, "run", .shell(command), reportsOutput: true)
    step.keepsTrailingNewlines = true
    step.wantsPTY = true
    return Plan(steps: [step], isIdempotent: false, skipsInCheckMode: true)
  }
}

/// What `command` and `shell` share: `chdir`, `creates`, `removes`, `stdin`.
public struct ShellRun: Sendable {
  public struct Current: Sendable {
    var createsExists: Bool?
    var removesExists: Bool?
  }

  var command: String
  var display: Value
  var chdir: String?
  var creates: String?
  var removes: String?
  var stdin: Data
  var stripEmptyEnds: Bool

  init(_ arguments: ModuleArguments, command: String, display: Value) throws {
    self.command = command
    self.display = display
    chdir = arguments.string("chdir")
    creates = arguments.string("creates")
    removes = arguments.string("removes")
    stripEmptyEnds = arguments.bool("strip_empty_ends", default: true)
    if let text = arguments.string("stdin") {
      stdin = Data((text + (arguments.bool("stdin_add_newline", default: true) ? "\n" : "")).utf8)
    } else {
      stdin = Data()
    }
  }

  /// A test for `path`, which may hold glob characters, relative to `chdir`.
  func existence(_ path: String) -> String {
    let hasGlob = path.contains { "*?[".contains($0) }
    let word = hasGlob ? Self.globWord(path) : ShellQuoting.quote(path)
    return "for f in \(word); do if [ -e \"$f\" ] || [ -L \"$f\" ]; then echo y; else echo n; fi; break; done"
  }

  /// Quotes everything but the glob characters, so that the shell expands only those.
  static func globWord(_ path: String) -> String {
    var out = ""
    var literal = ""
    for c in path {
      if "*?[]".contains(c) {
        if !literal.isEmpty { out += ShellQuoting.quote(literal) }
        literal = ""
        out.append(c)
      } else {
        literal.append(c)
      }
    }
    if !literal.isEmpty { out += ShellQuoting.quote(literal) }
    return out
  }

  func check(on host: HostProbe) async throws -> Current {
    guard creates != nil || removes != nil else { return Current() }
    var script = chdir.map { "cd \(ShellQuoting.quote($0)) 2>/dev/null; " } ?? ""
    if let creates { script += existence(creates) + "; " }
    if let removes { script += existence(removes) + "; " }
    let lines = try await host.run(script).stdoutText.split(separator: "\n").map(String.init)
    var current = Current()
    var index = 0
    if creates != nil {
      current.createsExists = lines.count > index && lines[index] == "y"
      index += 1
    }
    if removes != nil { current.removesExists = lines.count > index && lines[index] == "y" }
    return current
  }

  func plan(from current: Current) -> Plan {
    var result: OrderedDict = ["cmd": display]
    if let creates, current.createsExists == true {
      result["rc"] = 0
      result["stdout"] = .string("skipped, since \(creates) exists")
      result["msg"] = .string("Did not run command since '\(creates)' exists")
      return Plan(result: result)
    }
    if let removes, current.removesExists == false {
      result["rc"] = 0
      result["stdout"] = .string("skipped, since \(removes) does not exist")
      result["msg"] = .string("Did not run command since '\(removes)' does not exist")
      return Plan(result: result)
    }
    var line = command
    if let chdir { line = "cd \(ShellQuoting.quote(chdir)) && " + line }
    var step = Step(.run, "run \(display.stringValue ?? command)", .shell(line, stdin: stdin), reportsOutput: true)
    step.keepsTrailingNewlines = !stripEmptyEnds
    return Plan(
      steps: [step], result: result, isIdempotent: false, skipsInCheckMode: creates == nil && removes == nil)
  }
}

/// Answers `pong`: proves the host is reachable and runs commands.
public struct PingModule: Module {
  public static let name = "ping"
  public static let arguments = ArgumentSpec([.init("data", default: "pong")])
  let data: String

  public init(_ arguments: ModuleArguments) throws { data = arguments.string("data") ?? "pong" }

  public func check(on host: HostProbe) async throws {
    let result = try await host.run("echo pong")
    guard result.succeeded else { throw ModuleError("the host did not answer: \(result.stderrText)") }
  }

  public func plan(from current: Void) throws -> Plan {
    if data == "crash" { return .failed("boom") }
    return Plan(result: ["ping": .string(data)])
  }
}
