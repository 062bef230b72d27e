import ArgumentParser
import Foundation
import Inventory
import Provision

#if canImport(Glibc)
  import Glibc
#endif

/// Options `run` and `adhoc` share: inventory, connection, privilege, variables, output.
struct ConnectionOptions: ParsableArguments {
  @Option(name: [.short, .customLong("inventory")], help: "An inventory file, directory or host list; repeatable.")
  var inventory: [String] = []

  @Option(name: [.short, .customLong("limit")], help: "Further limit the hosts with a pattern.")
  var limit: String?

  @Option(name: [.short, .customLong("extra-vars")], help: "Variables: k=v, a JSON or YAML mapping, or @file; repeatable.")
  var extraVars: [String] = []

  @Option(name: .shortAndLong, help: "How many hosts to run on at once.")
  var forks: Int = 5

  @Option(name: [.short, .customLong("user")], help: "Log in as this user.")
  var user: String?

  @Option(name: .customLong("private-key"), help: "The private key file to authenticate with.")
  var privateKey: String?

  @Flag(name: [.customShort("b"), .customLong("become")], help: "Run tasks with privilege escalation (sudo).")
  var become = false

  @Option(name: .customLong("become-user"), help: "The user to become.")
  var becomeUser: String?

  @Option(name: .customLong("become-method"), help: "sudo or su.")
  var becomeMethod: String?

  @Flag(
    name: [.customShort("K"), .customLong("ask-become-pass")],
    help: "Ask for the privilege escalation password (or set PROVISION_BECOME_PASSWORD).")
  var askBecomePass = false

  @Flag(name: [.customShort("k"), .customLong("ask-pass")], help: "Ask for the SSH password (or set PROVISION_SSH_PASSWORD).")
  var askPass = false

  @Option(name: [.customShort("F"), .customLong("ssh-config")], help: "Read this SSH client config instead of ~/.ssh/config.")
  var sshConfig: String?

  @Option(name: [.customShort("T"), .customLong("timeout")], help: "Connection timeout in seconds.")
  var timeout: Double?

  @Flag(name: [.customShort("C"), .customLong("check")], help: "Change nothing; report what a run would change.")
  var check = false

  @Flag(name: [.customShort("D"), .customLong("diff")], help: "Show the differences in files and attributes that tasks change.")
  var diff = false

  @Flag(name: .customShort("v"), help: "More output; repeat for more (-vv lists each task's steps).")
  var verbose: Int

  @Option(help: "human (ansible-playbook's default output) or json (its json callback).")
  var output: OutputFormat = .human

  enum OutputFormat: String, ExpressibleByArgument, CaseIterable {
    case human, json
  }

  func loadInventory() throws -> Inventory {
    do {
      return try InventoryLoader.load(sources: inventorySources)
    } catch let error as any DiagnosticError {
      throw fail(error)
    }
  }

  /// `--roles-path`, else `ANSIBLE_ROLES_PATH`, split at colons.
  static func rolesPath(_ option: String?) -> [String] {
    (option ?? ProcessInfo.processInfo.environment["ANSIBLE_ROLES_PATH"] ?? "").split(separator: ":").map(String.init)
  }

  /// Loads every playbook, printing every problem of all of them before giving up.
  static func loadPlaybooks(_ paths: [String], rolesPath: [String]) throws -> [Playbook] {
    var loaded: [Playbook] = []
    var problems = 0
    for path in paths {
      do {
        loaded.append(try PlaybookLoader.load(path, rolesPath: rolesPath))
      } catch {
        for e in error.errors { printError(e.diagnostic.description) }
        problems += error.errors.count
      }
    }
    if problems > 0 {
      printError("\(problems) problem\(problems == 1 ? "" : "s") found; no host was contacted")
      throw ExitCode(ExitStatus.badInput)
    }
    return loaded
  }

  /// The inventory sources: `-i`, or the bundled test hosts' inventory.
  var inventorySources: [String] { inventory.isEmpty ? ["inventories/testbed.ini"] : inventory }

  func runOptions() throws -> RunOptions {
    var o = RunOptions()
    o.check = check
    o.diff = diff
    o.limit = limit
    do {
      o.extraVars = try ExtraVars.parse(extraVars)
    } catch {
      printError("error: \(error)")
      throw ExitCode(ExitStatus.badInput)
    }
    o.forks = max(1, forks)
    o.user = user
    o.privateKey = privateKey
    o.become = become
    o.becomeUser = becomeUser
    o.becomeMethod = becomeMethod
    o.becomePassword = Secrets.password(ask: askBecomePass, prompt: "BECOME password: ", environment: "PROVISION_BECOME_PASSWORD")
    o.sshPassword = Secrets.password(ask: askPass, prompt: "SSH password: ", environment: "PROVISION_SSH_PASSWORD")
    o.passphrase = ProcessInfo.processInfo.environment["PROVISION_SSH_PASSPHRASE"]
    o.sshConfig = sshConfig.map { SSHConfig(contentsOf: $0) }
    o.verbosity = verbose
    o.connectTimeout = timeout
    return o
  }

  func reporter() -> any RunReporter {
    let redactor = Redactor.forOutput()
    let out: (String) -> Void = { text in FileHandle.standardOutput.write(Data(redactor.hidingSecrets(text).utf8)) }
    switch output {
    case .json:
      return JSONReporter(write: out, warn: { printError($0) })
    case .human:
      let tty = isatty(1) == 1
      let color = tty && ProcessInfo.processInfo.environment["NO_COLOR"] == nil
      return HumanReporter(verbosity: verbose, showDiff: diff, useColor: color, isTerminal: tty, write: out)
    }
  }

  /// Runs `playbooks` and exits with ansible-playbook's status; Ctrl-C stops cleanly with a recap.
  func execute(_ playbooks: [Playbook], inventory: Inventory, options: RunOptions) async throws {
    let recap = await runInterruptibly(playbooks, inventory: inventory, options: options)
    if recap.exitStatus != 0 { throw ExitCode(recap.exitStatus) }
  }

  /// Runs `playbooks` with this command line's output; Ctrl-C stops after the running tasks.
  func runInterruptibly(_ playbooks: [Playbook], inventory: Inventory, options: RunOptions) async -> RunRecap {
    let runner = PlaybookRunner(inventory: inventory, options: options, reporter: reporter())
    let work = _Concurrency.Task { await runner.run(playbooks) }
    signal(SIGINT, SIG_IGN)
    let source = DispatchSource.makeSignalSource(signal: SIGINT)
    source.setEventHandler {
      printError("\n[interrupted: stopping after the running tasks]")
      work.cancel()
    }
    source.resume()
    let recap = await work.value
    source.cancel()
    return recap
  }
}

/// `provision run`: runs Ansible playbooks.
struct RunCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "run",
    abstract: "Run playbooks against an inventory, as ansible-playbook does.",
    discussion: """
      Exit codes: 0 ok, 2 a host failed, 4 a host was unreachable or the input has errors, 5 bad options.

      Examples:
        provision run playbooks/rancher-ha.yml -i inventories/testbed.ini
        provision run site.yml -i hosts --check --diff --limit web1
        provision run site.yml -i hosts --tags config -e version=1.10.3 --output json
      """)

  @Argument(help: "Playbook files, run in order.")
  var playbooks: [String]

  @OptionGroup var connection: ConnectionOptions

  @OptionGroup var vault: VaultOptions

  @Option(name: [.short, .customLong("tags")], help: "Only run tasks with these tags (comma-separated, repeatable).")
  var tags: [String] = []

  @Option(name: .customLong("skip-tags"), help: "Skip tasks with these tags.")
  var skipTags: [String] = []

  @Option(name: .customLong("start-at-task"), help: "Start at the task with this name.")
  var startAtTask: String?

  @Flag(name: .customLong("list-hosts"), help: "List the hosts each play would run on, and stop.")
  var listHosts = false

  @Flag(name: .customLong("list-tasks"), help: "List the tasks each play would run, and stop.")
  var listTasks = false

  @Flag(name: .customLong("list-tags"), help: "List the tags of each play, and stop.")
  var listTags = false

  @Flag(name: .customLong("syntax-check"), help: "Check the playbooks, connect to nothing, and stop.")
  var syntaxCheck = false

  @Option(name: .customLong("roles-path"), help: "Directories with roles, colon-separated.")
  var rolesPath: String?

  func run() async throws {
    SSHTransport.warmUp()
    PlaybookRunner.warmUpRegularExpressions()
    try vault.install()
    let loaded = try ConnectionOptions.loadPlaybooks(playbooks, rolesPath: ConnectionOptions.rolesPath(rolesPath))
    if syntaxCheck {
      print("\nplaybook: " + playbooks.joined(separator: ", "))
      return
    }
    let inventory = try connection.loadInventory()
    var options = try connection.runOptions()
    options.tags = tags.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
    options.skipTags = skipTags.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
    options.startAtTask = startAtTask
    if listHosts || listTasks || listTags {
      try list(loaded, inventory: inventory, options: options)
      return
    }
    try await connection.execute(loaded, inventory: inventory, options: options)
  }

  /// `--list-hosts`, `--list-tasks` and `--list-tags`, in ansible-playbook's layout.
  func list(_ playbooks: [Playbook], inventory: Inventory, options: RunOptions) throws {
    let runner = PlaybookRunner(inventory: inventory, options: options, reporter: HumanReporter(verbosity: 0, showDiff: false, useColor: false, write: { _ in }))
    for (path, playbook) in zip(self.playbooks, playbooks) {
      print("\nplaybook: \(path)")
      for (index, play) in playbook.plays.enumerated() {
        let tags = play.keywords.tags
        print("\n  play #\(index + 1) (\(play.hosts)): \(play.name)\tTAGS: [\(tags.joined(separator: ","))]")
        if listHosts {
          let hosts = (try? inventory.select(play.hosts, limit: options.limit).hosts) ?? []
          print("    pattern: ['\(play.hosts)']")
          print("    hosts (\(hosts.count)):")
          for h in hosts { print("      \(h)") }
        }
        let tasks = Self.flatten(play.preTasks + play.roles.flatMap(\.tasks) + play.tasks + play.postTasks)
          .filter { runner.selectedByTags($0.keywords.tags) }
        if listTasks {
          print("    tasks:")
          for t in tasks { print("      \(t.displayName)\tTAGS: [\(t.keywords.tags.joined(separator: ", "))]") }
        }
        if listTags {
          let all = Set(tasks.flatMap { $0.keywords.tags } + tags).sorted()
          print("      TASK TAGS: [\(all.joined(separator: ", "))]")
        }
      }
    }
  }

  static func flatten(_ nodes: [TaskNode]) -> [PlaybookTask] {
    nodes.flatMap { node -> [PlaybookTask] in
      switch node {
      case .task(let t): return [t]
      case .block(let b): return flatten(b.body + b.rescue + b.always)
      }
    }
  }
}

/// `provision adhoc`: one module on the hosts a pattern selects, as `ansible PATTERN -m M -a ARGS`.
struct AdhocCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "adhoc",
    abstract: "Run one module on every host a pattern selects.",
    discussion: """
      Examples:
        provision adhoc all -i inventories/testbed.ini -m ping
        provision adhoc cluster -i inventories/testbed.ini -m file -a 'path=/srv/app state=directory' -b
        provision adhoc node1 -i inventories/testbed.ini -m shell -a 'uptime'
      """)

  @Argument(help: "The host pattern.")
  var pattern: String

  @Option(name: [.short, .customLong("module-name")], help: "The module to run.")
  var module: String = "command"

  @Option(name: [.short, .customLong("args")], help: "The module's arguments: k=v pairs, or the command for command/shell.")
  var args: String = ""

  @OptionGroup var connection: ConnectionOptions

  @OptionGroup var vault: VaultOptions

  func run() async throws {
    SSHTransport.warmUp()
    try vault.install()
    let text = """
      - hosts: \(Self.yamlQuote(pattern))
        gather_facts: false
        tasks:
          - \(Self.yamlQuote(module)): \(Self.yamlQuote(args))
      """
    let path = NSTemporaryDirectory() + "provision-adhoc-\(getpid()).yml"
    try text.write(toFile: path, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: path) }
    let playbook: Playbook
    do {
      playbook = try PlaybookLoader.load(path)
    } catch {
      for e in error.errors { printError(e.message + (e.hint.map { " (\($0))" } ?? "")) }
      throw ExitCode(ExitStatus.badInput)
    }
    let inventory = try connection.loadInventory()
    var options = try connection.runOptions()
    if connection.verbose == 0 { options.verbosity = 1 }
    try await connection.execute([playbook], inventory: inventory, options: options)
  }

  static func yamlQuote(_ s: String) -> String {
    "'" + s.replacingOccurrences(of: "'", with: "''") + "'"
  }
}
