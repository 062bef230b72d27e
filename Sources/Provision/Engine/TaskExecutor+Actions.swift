import Foundation
import Inventory

extension TaskExecutor {
  /// Carries out the task's action once on `host`.
  /// The task's arguments rendered for this host, `omit` left out, `module_defaults` added.
  func renderedModuleArguments(_ task: PlaybookTask, context: TaskVariables, except skipped: Set<String> = []) throws -> OrderedDict {
    var args = OrderedDict(minimumCapacity: task.args.count)
    for (k, v) in task.args {
      if skipped.contains(k) {
        args[k] = v
        continue
      }
      // Modules get their arguments as JSON in Ansible, where a tuple is a list.
      let rendered = try context.render(v, name: task.location.description).tuplesAsLists
      if rendered == .string(shared.omit) { continue }
      args[k] = rendered
    }
    if let defaults = task.keywords.moduleDefaults[task.action]?.dictValue {
      for (k, v) in defaults where args[k] == nil { args[k] = try context.render(v).tuplesAsLists }
    }
    return args
  }

  func perform(_ task: PlaybookTask, host: HostState, context: TaskVariables) async throws -> TaskResult {
    func renderedArguments(except skipped: Set<String> = []) throws -> OrderedDict {
      try renderedModuleArguments(task, context: context, except: skipped)
    }
    switch task.action {
    case "debug":
      let args = try renderedArguments(except: ["var"])
      if let verbosity = args["verbosity"].flatMap(ModuleArguments.integer), verbosity > options.verbosity {
        return TaskResult(host: host.name, status: .skipped, result: ["skipped_reason": "Verbosity threshold not met.", "changed": false])
      }
      if let name = args["var"].flatMap(ModuleArguments.text) {
        var value: Value
        do {
          value = try Template.evaluate(expression: name, context: context)
          if case .string(let s) = value, Template.isPossiblyTemplate(s) { value = try context.render(value) }
        } catch {
          value = "VARIABLE IS NOT DEFINED!"
        }
        return TaskResult(host: host.name, status: .ok, result: [name: value, "changed": false])
      }
      return TaskResult(host: host.name, status: .ok, result: ["msg": args["msg"] ?? "Hello world!", "changed": false])
    case "set_fact":
      let args = try renderedArguments()
      var facts = OrderedDict()
      for (k, v) in args where k != "cacheable" {
        facts[k] = v
        host.setFact(k, v)
      }
      return TaskResult(host: host.name, status: .ok, result: ["ansible_facts": .dict(facts), "changed": false])
    case "assert":
      let args = try renderedArguments(except: ["that"])
      let that: [Value] = task.args["that"].map { $0.listValue ?? [$0] } ?? []
      for item in that {
        let condition = try Condition(item, location: task.location)
        if try !condition.isTrue(context) {
          let message = args["msg"] ?? args["fail_msg"] ?? "Assertion failed"
          return TaskResult(
            host: host.name, status: .failed,
            result: ["failed": true, "assertion": .string(condition.source), "evaluated_to": false, "msg": message])
        }
      }
      let message = args["success_msg"] ?? "All assertions passed"
      return TaskResult(host: host.name, status: .ok, result: ["msg": message, "changed": false])
    case "fail":
      let args = try renderedArguments()
      return TaskResult(host: host.name, status: .failed, result: ["failed": true, "msg": args["msg"] ?? "Failed as requested from task"])
    case "pause":
      let args = try renderedArguments()
      let seconds = (args["seconds"].flatMap(ModuleArguments.number) ?? 0) + (args["minutes"].flatMap(ModuleArguments.number) ?? 0) * 60
      let started = Date()
      if seconds > 0 { try? await _Concurrency.Task.sleep(nanoseconds: UInt64(seconds * 1e9)) }
      return TaskResult(
        host: host.name, status: .ok,
        result: ["changed": false, "delta": .int(Int(Date().timeIntervalSince(started))), "echo": true, "stdout": .string("Paused for \(seconds) seconds")])
    case "include_vars":
      let args = try renderedArguments()
      guard let file = (args["file"] ?? args["_raw_params"]).flatMap(ModuleArguments.text) else {
        throw ModuleError("include_vars needs a file")
      }
      let bases = (task.role.map { [($0.path as NSString).appendingPathComponent("vars")] } ?? []) + searchPaths(task).flatMap { [$0 + "/vars", $0] }
      let path = file.hasPrefix("/") ? file : bases.map { ($0 as NSString).appendingPathComponent(file) }.first { FileManager.default.fileExists(atPath: $0) } ?? file
      let vars: OrderedDict
      do {
        let root = try YAMLLoader.loadSingle([UInt8](FileManager.default.contents(atPath: path) ?? Data()), file: path)
        guard let data = FileManager.default.contents(atPath: path), !data.isEmpty || root == nil else {
          throw ModuleError("could not find or access '\(file)'")
        }
        vars = root?.value.dictValue ?? [:]
      } catch let error as YAMLError {
        throw ModuleError(error.diagnostic.description)
      }
      var facts = vars
      if let name = args["name"].flatMap(ModuleArguments.text) { facts = [name: .dict(vars)] }
      for (k, v) in facts { host.includedVars[k] = v }
      return TaskResult(host: host.name, status: .ok, result: ["ansible_facts": .dict(facts), "ansible_included_var_files": [.string(path)], "changed": false])
    case "setup", "gather_facts":
      let transport = connection(task, host: host, context: context)
      let result = try await transport.run(RemoteCommand(Facts.script, timeout: 60))
      guard result.succeeded else {
        throw ModuleError("gathering facts failed: " + result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))
      }
      let facts = Facts.parse(result.stdoutText)
      var merged = host.facts
      for (k, v) in facts { merged[k] = v }
      host.facts = merged
      return TaskResult(host: host.name, status: .ok, result: ["ansible_facts": .dict(facts), "changed": false])
    case "group_by", "add_host":
      // Carried out by the runner, which owns the inventory; here only the arguments.
      let args = try renderedArguments()
      return TaskResult(host: host.name, status: .ok, result: ["changed": false, "_arguments": .dict(args)])
    default:
      return try await runModule(task, host: host, context: context, arguments: try renderedArguments())
    }
  }

  /// The transport for the task: the host's own, or the delegate's.
  func connection(_ task: PlaybookTask, host: HostState, context: TaskVariables) -> any Transport {
    let delegate = (try? task.keywords.delegateTo.map { try context.render($0) })?.flatMap(ModuleArguments.text)
    let target = delegate ?? host.name
    var vars: OrderedDict
    if let delegate, delegate != host.name {
      if delegate == "localhost" || delegate == "127.0.0.1" {
        vars = ["ansible_connection": "local"]
        vars = shared.inventory.hosts[delegate] != nil ? shared.host(delegate).inventoryVars.merging(vars) : vars
      } else {
        vars = shared.host(delegate).inventoryVars
      }
    } else {
      vars = host.inventoryVars
      for key in host.inventoryVars.keys where key.hasPrefix("ansible_") {
        if let v = try? context.variable(named: key) { vars[key] = v }
      }
    }
    let remoteUser = (try? task.keywords.remoteUser.map { try context.render($0) })?.flatMap(ModuleArguments.text) ?? play.remoteUser
    return shared.transport(for: target, variables: vars, remoteUser: remoteUser)
  }

  /// Privilege escalation for the task, from its keywords, the host's variables and the
  /// command line, in Ansible's order.
  func become(_ task: PlaybookTask, context: TaskVariables) throws -> Become? {
    func text(_ keyword: Value?, _ variable: String) throws -> String? {
      if let keyword { return ModuleArguments.text(try context.render(keyword)) }
      return try context.variable(named: variable).flatMap(ModuleArguments.text)
    }
    let wanted = try boolean(task.keywords.become, context)
      ?? (try context.variable(named: "ansible_become")).flatMap(ModuleArguments.boolean) ?? options.become
    guard wanted else { return nil }
    let user = try text(task.keywords.becomeUser, "ansible_become_user") ?? options.becomeUser ?? "root"
    let method = try text(task.keywords.becomeMethod, "ansible_become_method") ?? options.becomeMethod ?? "sudo"
    let password = try options.becomePassword
      ?? context.variable(named: "ansible_become_password").flatMap(ModuleArguments.text)
      ?? context.variable(named: "ansible_become_pass").flatMap(ModuleArguments.text)
    return Become(user: user, password: password, method: method == "su" ? .su : .sudo)
  }

  /// Finds a controller-side file for `src`: the role's `files/` or `templates/`, then the
  /// directories beside the task and the playbook.
  func locate(_ name: String, in subdirectory: String, task: PlaybookTask) -> String? {
    if name.hasPrefix("/") { return FileManager.default.fileExists(atPath: name) ? name : nil }
    for base in searchPaths(task) {
      for candidate in [subdirectory + "/" + name, name] {
        let path = (base as NSString).appendingPathComponent(candidate)
        if FileManager.default.fileExists(atPath: path) { return path }
      }
    }
    return nil
  }

  /// Runs a module: check and plan, then (unless in check mode) the plan's steps.
  /// A module task ready to check: its arguments complete and checked, and where it runs.
  struct PreparedModule {
    var type: any Module.Type
    var arguments: ModuleArguments
    /// What the arguments were built from: equal values give an equal check.
    var given: OrderedDict
    var checkMode: Bool
    var diff: Bool
    var become: Become?
    var transport: any Transport
  }

  func runModule(_ task: PlaybookTask, host: HostState, context: TaskVariables, arguments: OrderedDict) async throws -> TaskResult {
    let prepared = try prepareModule(task, host: host, context: context, arguments: arguments)
    let (type, checkMode, diff, become, transport) = (prepared.type, prepared.checkMode, prepared.diff, prepared.become, prepared.transport)
    let plan = try await self.plan(task, prepared, host: host)
    return try await apply(plan, of: task, type: type, checkMode: checkMode, diff: diff, become: become, transport: transport, host: host, context: context)
  }

  /// Completes and checks the arguments of a module task: files it names, internal arguments.
  func prepareModule(_ task: PlaybookTask, host: HostState, context: TaskVariables, arguments: OrderedDict) throws -> PreparedModule {
    guard let type = ModuleRegistry.modules[task.action] else {
      throw ModuleError("couldn't resolve module/action '\(task.actionAsWritten)'")
    }
    var given = arguments
    if let rawParams = given.removeValue(forKey: "_raw_params"), let free = type.arguments.freeForm, given[free] == nil {
      given[free] = rawParams
    }
    let checkMode = try boolean(task.keywords.checkMode, context) ?? options.check
    let diff = try boolean(task.keywords.diff, context) ?? options.diff
    if diff { given["_diff"] = true }
    if task.action == "template", let src = given["src"].flatMap(ModuleArguments.text) {
      guard let path = locate(src, in: "templates", task: task), let data = FileManager.default.contents(atPath: path) else {
        throw ModuleError("Could not find or access '\(src)'", hint: "looked in 'templates/' beside the playbook and the role")
      }
      let template = try Template(String(decoding: data, as: UTF8.self), name: path)
      context.set("template_path", .string(path))
      context.set("template_host", .string(ProcessInfo.processInfo.hostName))
      context.set("template_fullpath", .string(path))
      context.set("template_destpath", given["dest"] ?? .null)
      context.set("ansible_managed", .string("Ansible managed"))
      var rendered = try template.render(context)
      // Jinja2 as Ansible configures it keeps the final newline of the template.
      if String(decoding: data, as: UTF8.self).hasSuffix("\n") && !rendered.hasSuffix("\n") { rendered += "\n" }
      given["_content"] = .string(rendered)
    }
    if task.action == "copy", given["content"] == nil, let src = given["src"].flatMap(ModuleArguments.text), given["remote_src"].flatMap(ModuleArguments.boolean) != true {
      guard let path = locate(src, in: "files", task: task) else {
        throw ModuleError("Could not find or access '\(src)'", hint: "looked in 'files/' beside the playbook and the role")
      }
      given["_source_path"] = .string(path)
    }
    if type.arguments.canonicalName("_host") != nil { given["_host"] = .string(host.name) }
    if task.action == "fetch", let dest = given["dest"].flatMap(ModuleArguments.text), !dest.hasPrefix("/") {
      // As in Ansible, a relative fetch destination starts at the playbook's directory.
      given["dest"] = .string((play.directory as NSString).appendingPathComponent(dest))
    }
    // Modules that accept `_check` plan for check mode themselves, such as a service whose
    // package an earlier task would have installed.
    if type.arguments.canonicalName("_check") != nil { given["_check"] = .bool(checkMode) }
    if checkMode, !host.pending.isEmpty, type.arguments.canonicalName("_pending") != nil {
      given["_pending"] = .dict(OrderedDict(host.pending.sorted { $0.key < $1.key }.map { ($0.key, .list($0.value.map(Value.string))) }))
    }
    if task.action == "script", let line = given["cmd"].flatMap(ModuleArguments.text) {
      let name = ShellWords.split(line, comments: false)?.first ?? line
      if let path = locate(name, in: "files", task: task) { given["_source_path"] = .string(path) }
    }
    // A check read ahead of this task with the same arguments already checked them.
    let moduleArguments: ModuleArguments
    if let hit = host.freshCheck("\(task.location)"), let checked = hit.arguments, hit.given == given {
      moduleArguments = checked
    } else {
      moduleArguments = try ModuleArguments(given, spec: type.arguments, module: task.action)
    }
    let become = try self.become(task, context: context)
    let transport = connection(task, host: host, context: context)
    return PreparedModule(
      type: type, arguments: moduleArguments, given: given, checkMode: checkMode, diff: diff, become: become, transport: transport)
  }

  /// Runs the steps of `plan`, or in check mode reports them.
  func apply(
    _ plan: Plan, of task: PlaybookTask, type: any Module.Type, checkMode: Bool, diff: Bool, become: Become?,
    transport: any Transport, host: HostState, context: TaskVariables
  ) async throws -> TaskResult {
    var result = plan.result
    if diff && !plan.diffs.isEmpty { result["diff"] = .list(plan.diffs.map(\.asValue)) }
    var outcome = TaskResult(host: host.name, status: .ok, result: result)
    outcome.diffs = plan.diffs
    outcome.steps = plan.steps
    outcome.isCheck = checkMode
    if let failure = plan.failure {
      outcome.status = .failed
      outcome.result["failed"] = true
      outcome.result["msg"] = .string(failure)
      return outcome
    }
    if let reason = plan.skipReason {
      outcome.status = .skipped
      outcome.result["skipped"] = true
      outcome.result["changed"] = false
      if outcome.result["msg"] == nil { outcome.result["msg"] = .string(reason) }
      return outcome
    }
    if plan.steps.isEmpty {
      outcome.result["changed"] = false
      mergeFacts(outcome.result, into: host)
      return outcome
    }
    if checkMode {
      if plan.skipsInCheckMode {
        // A command that says it never changes anything is no step of a plan.
        if task.neverChanges { outcome.steps = [] }
        outcome.isCheckSkip = true
        outcome.status = .skipped
        outcome.result["msg"] = "Command would have run if not in check mode"
        outcome.result["skipped"] = true
        outcome.result["changed"] = false
        return outcome
      }
      for (key, values) in plan.pending { host.pending[key, default: []] += values }
      outcome.status = .changed
      outcome.result["changed"] = true
      return outcome
    }
    if let guardian = options.applyGuard, !task.neverChanges, let refusal = guardian.approve(host: host.name, task: task, steps: plan.steps) {
      outcome.status = .failed
      outcome.result["failed"] = true
      outcome.result["changed"] = false
      outcome.result["msg"] = .string(refusal)
      return outcome
    }
    // The host changes now: checks read before this are stale.
    shared.host(transport.host).invalidateChecks()
    if transport.host != host.name { host.invalidateChecks() }
    // The next task's check goes with this change's last command and reads what it left.
    let following = task.loop == nil && transport.host == host.name ? ahead(of: task, on: host, limit: 1) : []
    guard let checks = ChecksAfterChange(following, host: host, transport: transport) else {
      return try await runSteps(plan, of: task, outcome: outcome, become: become, transport: transport, host: host, context: context, lead: nil)
    }
    do {
      let done = try await runSteps(plan, of: task, outcome: outcome, become: become, transport: transport, host: host, context: context, lead: checks.batch)
      await checks.finish(storing: true)
      return done
    } catch {
      await checks.finish(storing: false)
      throw error
    }
  }

  /// Runs the steps of a plan; the last one's command goes through `lead` when given.
  private func runSteps(
    _ plan: Plan, of task: PlaybookTask, outcome: TaskResult, become: Become?, transport: any Transport,
    host: HostState, context: TaskVariables, lead: CheckBatch?
  ) async throws -> TaskResult {
    var outcome = outcome
    let environment = try self.environment(task, context: context)
    let timeout = try task.keywords.timeout.map { try context.render($0) }.flatMap(ModuleArguments.number) ?? options.timeout
    outcome.status = .changed
    var anyChanged = false
    for (index, step) in plan.steps.enumerated() {
      // The last step's command leads the checks of the tasks after it.
      let leader: (any Transport)? = index == plan.steps.count - 1 ? lead.map { BatchMember(batch: $0, base: transport, leads: true) } : nil
      anyChanged = anyChanged || step.interpret == nil
      switch step.action {
      case .upload(let data, let path, let mode, let owner, let group):
        if let leader, data.count <= SSHTransport.streamedUploadLimit {
          try await leader.uploadThroughStdin(data, to: path, mode: mode, owner: owner, group: group, become: become)
        } else {
          try await transport.upload(data, to: path, mode: mode, owner: owner, group: group, become: become)
        }
      case .writeController(let data, let path, let mode):
        let directory = (path as NSString).deletingLastPathComponent
        let fm = FileManager.default
        do {
          try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
          let existing = (try? fm.attributesOfItem(atPath: path))?[.posixPermissions] as? Int
          try data.write(to: URL(fileURLWithPath: path), options: .atomic)
          if let permissions = existing ?? mode.map({ Int($0 & 0o777 & ~Self.fileCreationMask) }) {
            try fm.setAttributes([.posixPermissions: permissions], ofItemAtPath: path)
          }
        } catch {
          throw ModuleError("cannot write '\(path)' on the controller: \(error.localizedDescription)")
        }
      case .shell(let command, let stdin):
        let started = Date()
        var command = RemoteCommand(command, stdin: stdin, environment: environment, timeout: timeout, become: become)
        command.ownChannel = step.reportsOutput
        command.wantsPTY = step.wantsPTY
        let r = try await (leader ?? transport).run(command)
        let ended = Date()
        if step.reportsOutput {
          var stdout = r.stdoutText
          var stderr = r.stderrText
          if !step.keepsTrailingNewlines {
            while stdout.hasSuffix("\n") { stdout.removeLast() }
            while stderr.hasSuffix("\n") { stderr.removeLast() }
          }
          outcome.result["stdout"] = .string(stdout)
          outcome.result["stderr"] = .string(stderr)
          outcome.result["rc"] = .int(Int(r.exitStatus ?? -1))
          outcome.result["stdout_lines"] = .list(Self.splitLines(stdout).map(Value.string))
          outcome.result["stderr_lines"] = .list(Self.splitLines(stderr).map(Value.string))
          outcome.result["start"] = .string(Timestamp.local(started))
          outcome.result["end"] = .string(Timestamp.local(ended))
          outcome.result["delta"] = .string(Self.delta(ended.timeIntervalSince(started)))
          if outcome.result["msg"] == nil { outcome.result["msg"] = "" }
        }
        if let interpret = step.interpret {
          let meaning = interpret(r)
          for (k, v) in meaning.result { outcome.result[k] = v }
          anyChanged = anyChanged || meaning.changed
          if let failure = meaning.failure {
            outcome.status = .failed
            outcome.result["failed"] = true
            outcome.result["changed"] = .bool(meaning.changed)
            outcome.result["msg"] = .string(failure)
            return outcome
          }
          continue
        }
        if !r.succeeded && !step.allowsFailure {
          outcome.status = .failed
          outcome.result["failed"] = true
          outcome.result["changed"] = .bool(step.reportsOutput)
          if step.reportsOutput {
            outcome.result["msg"] = r.exitSignal.map { .string("killed by signal \($0)") } ?? "non-zero return code"
          } else {
            outcome.result["msg"] = .string(Step.failure(step.summary, r))
          }
          return outcome
        }
      }
    }
    outcome.status = anyChanged ? .changed : .ok
    outcome.result["changed"] = .bool(anyChanged)
    mergeFacts(outcome.result, into: host)
    return outcome
  }

  /// The lines of `text` as Python's `str.splitlines()` gives them, which is what Ansible puts
  /// in `stdout_lines`: no empty last line for a final line break, and `\r\n`, `\r` and the
  /// other Unicode line breaks end lines too.
  static func splitLines(_ text: String) -> [String] {
    var lines: [String] = []
    var current = String.UnicodeScalarView()
    var afterCR = false
    for c in text.unicodeScalars {
      if afterCR {
        afterCR = false
        if c == "\n" { continue }
      }
      switch c.value {
      case 0x0A, 0x0B, 0x0C, 0x0D, 0x1C, 0x1D, 0x1E, 0x85, 0x2028, 0x2029:
        lines.append(String(current))
        current = String.UnicodeScalarView()
        afterCR = c == "\r"
      default:
        current.append(c)
      }
    }
    if !current.isEmpty { lines.append(String(current)) }
    return lines
  }

  /// Facts a module returns under `ansible_facts` (`hostname`) become the host's facts.
  func mergeFacts(_ result: OrderedDict, into host: HostState) {
    guard let facts = result["ansible_facts"]?.dictValue, !facts.isEmpty else { return }
    var merged = host.facts
    for (k, v) in facts { merged[k.hasPrefix("ansible_") ? String(k.dropFirst(8)) : k] = v }
    host.facts = merged
  }

  /// The task's `environment`, merged from the play, blocks and the task.
  func environment(_ task: PlaybookTask, context: TaskVariables) throws -> [String: String] {
    var env: [String: String] = [:]
    for value in task.keywords.environment {
      guard let d = try context.render(value).dictValue else { continue }
      for (k, v) in d { env[k] = ModuleArguments.text(v) ?? "" }
    }
    return env
  }

  /// The process's umask (read once: setting it back is the only way to read it).
  static let fileCreationMask: UInt16 = {
    let old = umask(0o022)
    _ = umask(old)
    return UInt16(old)
  }()

  static func delta(_ seconds: Double) -> String {
    let micro = Int((seconds * 1_000_000).rounded())
    return String(format: "%d:%02d:%02d.%06d", micro / 3_600_000_000, micro / 60_000_000 % 60, micro / 1_000_000 % 60, micro % 1_000_000)
  }
}
