import ArgumentParser
import Foundation
import Inventory
import Provision

#if canImport(Glibc)
  import Glibc
#endif

/// Options of the commands that plan: the playbooks and what selects their tasks.
struct PlanSelection: ParsableArguments {
  @Option(name: [.short, .customLong("tags")], help: "Only tasks with these tags (comma-separated, repeatable).")
  var tags: [String] = []

  @Option(name: .customLong("skip-tags"), help: "Skip tasks with these tags.")
  var skipTags: [String] = []

  @Option(name: .customLong("roles-path"), help: "Directories with roles, colon-separated.")
  var rolesPath: String?

  var tagList: [String] { Self.split(tags) }
  var skipTagList: [String] { Self.split(skipTags) }

  static func split(_ values: [String]) -> [String] {
    values.flatMap { $0.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) } }
  }

  /// Installs the vault passwords, then loads the playbooks and the inventory, and the run's
  /// options with these tags.
  func load(_ playbooks: [String], _ connection: ConnectionOptions, _ vault: VaultOptions) throws
    -> (playbooks: [Playbook], inventory: Inventory, options: RunOptions)
  {
    try vault.install()
    let loaded = try ConnectionOptions.loadPlaybooks(playbooks, rolesPath: ConnectionOptions.rolesPath(rolesPath))
    let inventory = try connection.loadInventory()
    var options = try connection.runOptions()
    options.tags = tagList
    options.skipTags = skipTagList
    return (loaded, inventory, options)
  }
}

/// Writes `data` to `path` through a temporary file and a rename.
func writeAtomically(_ data: Data, to path: String) throws {
  let temp = path + ".tmp-\(getpid())"
  guard FileManager.default.createFile(atPath: temp, contents: data) else {
    throw PlanError("cannot write '\(path)'", hint: "check that its directory exists and is writable")
  }
  guard rename(temp, path) == 0 else {
    unlink(temp)
    throw PlanError("cannot write '\(path)': \(String(cString: strerror(errno)))")
  }
}

/// Reads a plan file, or exits with its problem.
func loadPlan(_ path: String) throws -> SavedPlan {
  do {
    return try SavedPlan.load(path)
  } catch {
    printError("error: \(error)")
    throw ExitCode(ExitStatus.error)
  }
}

func loadInventory(_ sources: [String]) throws -> Inventory {
  do {
    return try InventoryLoader.load(sources: sources)
  } catch {
    throw fail(error)
  }
}

func standardOutput(_ text: String) { FileHandle.standardOutput.write(Data(text.utf8)) }

/// `provision plan`: what a run would change, saved for review and `provision apply`.
struct PlanCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "plan",
    abstract: "Save what a run would change, for review and for `provision apply`.",
    discussion: """
      Runs the playbooks in check mode (nothing on the hosts changes) and writes a plan: per host and
      task the steps a run would take (+ create, ~ update, - remove, ! run), before/after values and
      diffs, a fingerprint of the state each task read, and a digest of the playbook, inventory and
      variable inputs. Planning the same hosts with the same inputs writes the same bytes.

      Exit codes: 0 planned, 2 a host failed, 4 a host was unreachable or the input has errors.

      Examples:
        provision plan playbooks/rancher-ha.yml -i inventories/testbed.ini --out plan.json
        provision show plan.json --format markdown > comment.md
        provision apply plan.json
      """)

  @Argument(help: "Playbook files, run in order.")
  var playbooks: [String]

  @OptionGroup var connection: ConnectionOptions
  @OptionGroup var selection: PlanSelection
  @OptionGroup var vault: VaultOptions

  @Option(name: .customLong("out"), help: "Write the plan to this file.")
  var out: String?

  func run() async throws {
    SSHTransport.warmUp()
    let (loaded, inventory, options) = try selection.load(playbooks, connection, vault)
    let redactor = Redactor.forOutput()
    let inputs = PlanInputs.compute(
      playbooks: playbooks, inventory: connection.inventorySources, limit: options.limit, tags: options.tags,
      skipTags: options.skipTags, extraVars: options.extraVars,
      rolesPath: ConnectionOptions.rolesPath(selection.rolesPath), redactor: redactor)
    let stream: (any RunReporter)? =
      connection.output == .human
      ? HumanReporter(
        verbosity: connection.verbose, showDiff: true, useColor: isatty(1) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil,
        isTerminal: isatty(1) == 1, write: { standardOutput(redactor.redact($0)) })
      : nil
    let (plan, recap) = await PlanRun.check(loaded, inventory: inventory, options: options, inputs: inputs, redactor: redactor, next: stream)
    let data = try plan.encoded()
    if let out {
      try writeAtomically(data, to: out)
    }
    if connection.output == .json && out == nil {
      FileHandle.standardOutput.write(data)
    } else {
      let changing = plan.hosts.filter(\.hasChanges).count
      let total = plan.totals
      var line = "\nPlan: \(total.add) to add, \(total.change) to change, \(total.remove) to remove, \(total.run) to run"
      line += " on \(changing) of \(plan.hosts.count) host\(plan.hosts.count == 1 ? "" : "s")."
      if let out { line += " Saved to \(out): review it with `provision show \(out)`, apply it with `provision apply \(out)`." }
      (connection.output == .json ? printError : { standardOutput($0 + "\n") })(line)
    }
    if recap.exitStatus != 0 { throw ExitCode(recap.exitStatus) }
  }
}

/// `provision show`: a saved plan for people or machines.
struct ShowCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "show",
    abstract: "Show a saved plan: markdown for a pull request, the run's output, or JSON.",
    discussion: """
      Examples:
        provision show plan.json                      # markdown, for a pull-request comment
        provision show plan.json --format human       # as `provision run --check --diff` prints it
        provision show plan.json --format json
      """)

  enum Format: String, ExpressibleByArgument, CaseIterable {
    case markdown, human, json
  }

  @Argument(help: "The plan file.")
  var plan: String

  @Option(help: "markdown, human or json.")
  var format: Format = .markdown

  func run() throws {
    let plan = try loadPlan(self.plan)
    switch format {
    case .markdown: standardOutput(PlanRenderer.markdown(plan))
    case .json: FileHandle.standardOutput.write(try plan.encoded())
    case .human:
      PlanRenderer.human(plan, useColor: isatty(1) == 1 && ProcessInfo.processInfo.environment["NO_COLOR"] == nil, write: standardOutput)
    }
  }
}

/// `provision apply`: applies a saved plan exactly, or refuses hosts that changed since.
struct ApplyCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "apply",
    abstract: "Apply a saved plan exactly; refuse hosts whose state changed since it was made.",
    discussion: """
      First the inputs (playbooks, roles, inventories, -e) must be those the plan was made from, or
      the whole plan is refused. Then every host is checked again: a host whose state no longer
      matches the plan is refused and left untouched ("stale plan", with what changed), and the
      others are applied, each task checked right before it changes anything. Run it from the
      directory the plan was made in.

      Exit codes: 0 applied, 1 the inputs changed, 2 a host was refused or failed, 3 a new plan
      was written (--replan), 4 a host was unreachable.

      Examples:
        provision apply plan.json
        provision apply plan.json --all-or-nothing
        provision apply plan.json --replan      # stale: write a fresh plan to review instead
      """)

  @Argument(help: "The plan file.")
  var plan: String

  @OptionGroup var connection: ConnectionOptions
  @OptionGroup var vault: VaultOptions

  @Option(name: .customLong("roles-path"), help: "Directories with roles, colon-separated.")
  var rolesPath: String?

  @Flag(name: .customLong("all-or-nothing"), help: "Apply nothing when any host is stale or unreachable.")
  var allOrNothing = false

  @Flag(name: .customLong("replan"), help: "When the plan is stale, write a fresh plan to the same file instead of applying.")
  var replan = false

  func run() async throws {
    SSHTransport.warmUp()
    let saved = try loadPlan(plan)
    try vault.install()
    if !connection.inventory.isEmpty || connection.limit != nil {
      printError("error: apply takes the inventory and limit from the plan (\(saved.inputs.inventory.joined(separator: ", ")))")
      throw ExitCode(ExitStatus.usage)
    }
    var options = try connection.runOptions()
    if connection.extraVars.isEmpty {
      guard let kept = saved.inputs.replayableExtraVars else {
        printError("error: the plan's -e variables hold sensitive values, which plans do not keep: give the same -e again")
        throw ExitCode(ExitStatus.usage)
      }
      options.extraVars = kept
    }
    options.limit = saved.inputs.limit
    options.tags = saved.inputs.tags
    options.skipTags = saved.inputs.skipTags
    let roles = ConnectionOptions.rolesPath(rolesPath)
    let loaded = try ConnectionOptions.loadPlaybooks(saved.inputs.playbooks, rolesPath: roles)
    let inventory = try loadInventory(saved.inputs.inventory)
    let redactor = Redactor.forOutput()
    let inputs = PlanInputs.compute(
      playbooks: saved.inputs.playbooks, inventory: saved.inputs.inventory, limit: options.limit, tags: options.tags,
      skipTags: options.skipTags, extraVars: options.extraVars, rolesPath: roles, redactor: redactor)
    if inputs.digest != saved.inputs.digest {
      let changes = saved.inputs.changes(comparedTo: inputs)
      if replan {
        try await writeFreshPlan(loaded, inventory: inventory, options: options, inputs: inputs, redactor: redactor, why: changes)
      }
      printError("error: the inputs changed since the plan was made; nothing was applied:")
      for c in changes { printError("  \(c)") }
      printError("hint: plan again (provision plan … --out \(plan)) and review it, or apply with --replan")
      throw ExitCode(ExitStatus.error)
    }

    say("Checking \(saved.hosts.count) host\(saved.hosts.count == 1 ? "" : "s") against the plan…")
    let now = await PlanRun.check(loaded, inventory: inventory, options: options, inputs: inputs, redactor: redactor).plan
    let verification = PlanVerification.compare(saved: saved, now: now)
    for stale in verification.stale {
      say("stale plan: \(stale.host) changed since the plan was made; it is left untouched:")
      for c in stale.changes { say("  \(redactor.redact(c))") }
    }
    for down in verification.unreachable {
      say("unreachable: \(down.host): \(down.message)")
    }
    let refused = !verification.stale.isEmpty || !verification.unreachable.isEmpty
    if refused && replan {
      try await writeFreshPlan(now, why: verification.stale.map { "\($0.host) changed" })
    }
    if refused && allOrNothing {
      printError("error: --all-or-nothing: a host is stale or unreachable; nothing was applied")
      throw ExitCode(verification.unreachable.isEmpty ? ExitStatus.hostFailed : ExitStatus.hostUnreachable)
    }
    var recapStatus: Int32 = 0
    if !verification.current.isEmpty {
      options.limit = verification.current.joined(separator: ",")
      options.applyGuard = PlanApplyGuard(saved)
      recapStatus = await connection.runInterruptibly(loaded, inventory: inventory, options: options).exitStatus
    } else {
      say("No host matches the plan any more; nothing was applied.")
    }
    if !verification.unreachable.isEmpty || recapStatus == 4 { throw ExitCode(ExitStatus.hostUnreachable) }
    if !verification.stale.isEmpty || recapStatus != 0 { throw ExitCode(ExitStatus.hostFailed) }
  }

  /// A line for people: on standard output, or standard error when that carries JSON.
  func say(_ line: String) {
    if connection.output == .json { printError(line) } else { standardOutput(line + "\n") }
  }

  /// `--replan`: plans again and writes it over the plan file, applying nothing.
  func writeFreshPlan(
    _ playbooks: [Playbook], inventory: Inventory, options: RunOptions, inputs: PlanInputs, redactor: Redactor, why: [String]
  ) async throws {
    let fresh = await PlanRun.check(playbooks, inventory: inventory, options: options, inputs: inputs, redactor: redactor).plan
    try await writeFreshPlan(fresh, why: why)
  }

  func writeFreshPlan(_ fresh: SavedPlan, why: [String]) async throws {
    try writeAtomically(try fresh.encoded(), to: plan)
    printError("the plan was stale (\(why.joined(separator: "; "))): wrote a fresh plan to \(plan); nothing was applied")
    printError("hint: review it with `provision show \(plan)`, then `provision apply \(plan)`")
    throw ExitCode(3)
  }
}

/// `provision drift`: whether hosts still match a playbook, for cron jobs and CI monitors.
struct DriftCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "drift",
    abstract: "Report which hosts drifted from a playbook, changing nothing.",
    discussion: """
      Runs the playbooks in check mode and lists, per host, the tasks a run would change.

      Exit codes: 0 every host converged, 2 a host drifted (or a task failed), 4 a host was
      unreachable or the input has errors.

      Examples:
        provision drift playbooks/rancher-ha.yml -i inventories/ha.ini
        provision drift site.yml -i hosts --output json
      """)

  @Argument(help: "Playbook files, run in order.")
  var playbooks: [String]

  @OptionGroup var connection: ConnectionOptions
  @OptionGroup var selection: PlanSelection
  @OptionGroup var vault: VaultOptions

  func run() async throws {
    SSHTransport.warmUp()
    let (loaded, inventory, options) = try selection.load(playbooks, connection, vault)
    let redactor = Redactor.forOutput()
    let inputs = PlanInputs(
      playbooks: playbooks, inventory: connection.inventorySources, limit: options.limit, tags: options.tags,
      skipTags: options.skipTags, extraVars: [:], extraVarsDigest: "", files: [:], digest: "")
    let stream: (any RunReporter)? =
      connection.verbose > 0 && connection.output == .human
      ? HumanReporter(verbosity: connection.verbose - 1, showDiff: true, useColor: false, write: { standardOutput(redactor.hidingSecrets($0)) })
      : nil
    let (plan, _) = await PlanRun.check(loaded, inventory: inventory, options: options, inputs: inputs, redactor: redactor, next: stream)
    let report = DriftReport(plan)
    switch connection.output {
    case .human: standardOutput(report.text)
    case .json:
      FileHandle.standardOutput.write(try SavedPlan.json(report))
    }
    if report.exitStatus != 0 { throw ExitCode(report.exitStatus) }
  }
}
