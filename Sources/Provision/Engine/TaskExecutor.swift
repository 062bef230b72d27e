import Foundation
import Inventory

/// What a task needs to know of its play.
struct PlayInfo: Sendable {
  var name: String
  var directory: String
  var hosts: [String]
  var batch: [String]
  var remoteUser: String?
}

/// Runs one task on one host: variables, conditions, loops, the module's check, plan and
/// apply, then `changed_when`, `failed_when`, `register`.
struct TaskExecutor: Sendable {
  let shared: RunShared
  let play: PlayInfo

  var options: RunOptions { shared.options }

  // MARK: - Variables

  /// The variables `task` sees on `host`, lowest precedence first.
  func variables(_ task: PlaybookTask, _ host: HostState, extra: OrderedDict = [:]) -> TaskVariables {
    var vars = OrderedDict()
    func add(_ d: OrderedDict) { for (k, v) in d { vars[k] = v } }
    if let role = task.role { add(role.defaults) }
    add(host.inventoryVars)
    let facts = host.facts
    if !facts.isEmpty {
      for (k, v) in facts { vars["ansible_" + k] = v }
      vars["ansible_facts"] = .dict(facts)
    }
    add(host.varsFiles)
    if let role = task.role { add(role.vars) }
    add(task.keywords.vars)
    add(host.includedVars)
    add(host.setFacts)
    add(extra)
    add(options.extraVars)
    vars["inventory_hostname"] = .string(host.name)
    vars["inventory_hostname_short"] = .string(String(host.name.prefix { $0 != "." }))
    vars["group_names"] = .list(host.groups.filter { $0 != "all" && $0 != "ungrouped" }.sorted().map(Value.string))
    vars["playbook_dir"] = .string(play.directory)
    vars["ansible_play_name"] = .string(play.name)
    vars["ansible_check_mode"] = .bool(options.check)
    vars["ansible_diff_mode"] = .bool(options.diff)
    vars["ansible_forks"] = .int(options.forks)
    vars["ansible_run_tags"] = .list((options.tags.isEmpty ? ["all"] : options.tags).map(Value.string))
    vars["ansible_skip_tags"] = .list(options.skipTags.map(Value.string))
    vars["ansible_version"] = .dict([
      "full": .string(ProvisionVersion.ansibleCompatible), "major": 2, "minor": 17, "revision": 0,
      "string": .string(ProvisionVersion.ansibleCompatible),
    ])
    vars["omit"] = .string(shared.omit)
    if let role = task.role {
      vars["role_path"] = .string(role.path)
      vars["role_name"] = .string(role.name)
      vars["ansible_role_name"] = .string(role.name)
    }
    let shared = self.shared
    // The lists of the play's hosts are made when a task uses them: building them for every
    // task on every host costs time in the square of the hosts.
    let (batch, hosts, name) = (play.batch, play.hosts, host.name)
    for magic in ["play_hosts", "ansible_play_batch", "ansible_play_hosts", "ansible_play_hosts_all"] {
      _ = vars.removeValue(forKey: magic)
    }
    let context = TaskVariables(
      vars,
      computed: [
        "hostvars": { shared.hostvars() }, "groups": { shared.groups() },
        "play_hosts": { .list(batch.map(Value.string)) },
        "ansible_play_batch": { .list(batch.map(Value.string)) },
        // The play's hosts still in it: failed and unreachable ones leave, as in ansible-core.
        "ansible_play_hosts": { .list(hosts.filter { $0 == name || shared.host($0).isActive }.map(Value.string)) },
        "ansible_play_hosts_all": { .list(hosts.map(Value.string)) },
      ])
    var literal = host.registeredNames
    if !facts.isEmpty {
      literal.insert("ansible_facts")
      for k in facts.keys { literal.insert("ansible_" + k) }
    }
    // A name set again by a later layer (set_fact, -e) is templated as usual.
    literal.subtract(options.extraVars.keys)
    context.literalNames = literal
    context.searchPaths = searchPaths(task)
    return context
  }

  /// Where `src` files and templates are looked for: the role, then the playbook's directory.
  func searchPaths(_ task: PlaybookTask) -> [String] {
    var paths: [String] = []
    if let role = task.role { paths.append(role.path) }
    let taskDirectory = (task.location.file as NSString).deletingLastPathComponent
    paths.append(taskDirectory)
    if !paths.contains(play.directory) { paths.append(play.directory) }
    return paths
  }

  // MARK: - Running

  /// Runs `task` on `host` and returns what happened; never throws, failures are results.
  func execute(_ task: PlaybookTask, on host: HostState, extra: OrderedDict = [:]) async -> TaskResult {
    let context = variables(task, host, extra: extra)
    let loopVar = task.loopControl["loop_var"].flatMap(ModuleArguments.text) ?? "item"
    do {
      let noLog = try boolean(task.keywords.noLog, context) ?? false
      if var unknown = unknownInCheck(task, host: host) {
        unknown.isCensored = noLog
        register(task, unknown, on: host)
        return unknown
      }
      guard task.loop != nil else {
        if let skip = try firstFalse(task.keywords.when, context) {
          var r = TaskResult(host: host.name, status: .skipped, result: skippedResult(skip))
          r.isCensored = noLog
          return r
        }
        var result = await runOnce(task, host: host, context: context)
        result.isCensored = noLog
        register(task, result, on: host)
        return result
      }
      let items = try loopItems(task, context)
      var results: [ItemResult] = []
      var registered: [Value] = []
      var overall = TaskResult(host: host.name, status: .skipped, result: [:])
      overall.isCensored = noLog
      let indexVar = task.loopControl["index_var"].flatMap(ModuleArguments.text)
      let pause = task.loopControl["pause"].flatMap(ModuleArguments.number) ?? 0
      for (index, item) in items.enumerated() {
        context.set(loopVar, item)
        if let indexVar { context.set(indexVar, .int(index)) }
        context.set("ansible_loop_var", .string(loopVar))
        if index > 0 && pause > 0 { try? await _Concurrency.Task.sleep(nanoseconds: UInt64(pause * 1e9)) }
        let label = try task.loopControl["label"].map { try context.render($0) }.flatMap(ModuleArguments.text)
          ?? item.pythonString
        var one: TaskResult
        if let skip = try firstFalse(task.keywords.when, context) {
          one = TaskResult(host: host.name, status: .skipped, result: skippedResult(skip))
        } else {
          one = await runOnce(task, host: host, context: context)
        }
        var value = one.result
        value[loopVar] = item
        value["ansible_loop_var"] = .string(loopVar)
        if let indexVar { value[indexVar] = .int(index) }
        registered.append(.dict(value))
        results.append(
          ItemResult(status: one.status, label: label, result: value, diffs: one.diffs, steps: one.steps, isCheckSkip: one.isCheckSkip))
        overall.diffs += one.diffs
        overall.steps += one.steps
        if one.status == .unreachable {
          overall.status = .unreachable
          break
        }
      }
      let statuses = results.map(\.status)
      if statuses.contains(.unreachable) {
        overall.status = .unreachable
      } else if statuses.contains(.failed) {
        overall.status = .failed
      } else if statuses.contains(.changed) {
        overall.status = .changed
      } else if statuses.allSatisfy({ $0 == .skipped }) {
        overall.status = .skipped
      } else {
        overall.status = .ok
      }
      var value: OrderedDict = ["results": .list(registered), "changed": .bool(statuses.contains(.changed))]
      if statuses.contains(.failed) {
        value["failed"] = true
        value["msg"] = "One or more items failed"
      } else if statuses.allSatisfy({ $0 == .skipped }) {
        value["msg"] = "All items skipped"
      }
      value["skipped"] = .bool(!items.isEmpty && statuses.allSatisfy { $0 == .skipped } || items.isEmpty)
      if items.isEmpty { value["skipped_reason"] = "No items in the list" }
      overall.result = value
      overall.items = results
      if overall.status == .failed, try boolean(task.keywords.ignoreErrors, context) == true {
        overall.isIgnored = true
      }
      register(task, overall, on: host)
      return overall
    } catch {
      var r = TaskResult(host: host.name, status: .failed, result: ["failed": true, "msg": .string(describe(error, task: task))])
      r.isIgnored = (try? boolean(task.keywords.ignoreErrors, context)) == true
      register(task, r, on: host)
      return r
    }
  }

  private func skippedResult(_ condition: Condition) -> OrderedDict {
    ["changed": false, "skipped": true, "skip_reason": "Conditional result was False", "false_condition": .string(condition.source)]
  }

  /// In check mode, a task that reads a value only a real run produces (the output of a
  /// command check mode skips) is reported as known after apply, neither run nor failed.
  func unknownInCheck(_ task: PlaybookTask, host: HostState) -> TaskResult? {
    guard options.check, !host.unknownInCheck.isEmpty else { return nil }
    let text = Self.sourceText(task)
    guard let (name, producer) = host.unknownInCheck.sorted(by: { $0.key < $1.key }).first(where: { Self.mentions(text, $0.key) })
    else { return nil }
    var r = TaskResult(
      host: host.name, status: .skipped,
      result: [
        "changed": false, "skipped": true,
        "msg": .string("known after apply: depends on '\(name)', which the task '\(producer)' sets only in a real run"),
      ])
    r.isUnknown = true
    return r
  }

  /// The task's arguments, conditions and loop as written, to see which variables it reads.
  static func sourceText(_ task: PlaybookTask) -> String {
    var parts: [String] = []
    func collect(_ v: Value) {
      switch v {
      case .string(let s): parts.append(s)
      case .list(let l): l.forEach(collect)
      case .dict(let d): d.values.forEach(collect)
      default: break
      }
    }
    collect(.dict(task.args))
    if let loop = task.loop { collect(loop) }
    parts += task.keywords.when.map(\.source)
    parts += (task.changedWhen ?? []).map(\.source) + (task.failedWhen ?? []).map(\.source)
    if let until = task.until { parts.append(until.source) }
    return parts.joined(separator: "\n")
  }

  /// True when `name` occurs in `text` as a whole identifier.
  static func mentions(_ text: String, _ name: String) -> Bool {
    var rest = text[...]
    while let r = rest.range(of: name) {
      let before = r.lowerBound == text.startIndex ? nil : text[text.index(before: r.lowerBound)]
      let after = r.upperBound == text.endIndex ? nil : text[r.upperBound]
      func isWord(_ c: Character?) -> Bool { c.map { $0.isLetter || $0.isNumber || $0 == "_" } ?? false }
      if !isWord(before) && !isWord(after) && before != "." { return true }
      rest = text[r.upperBound...]
    }
    return false
  }

  private func register(_ task: PlaybookTask, _ result: TaskResult, on host: HostState) {
    guard let name = task.register else { return }
    let skippedRun = result.isCheckSkip || result.items.contains(where: \.isCheckSkip)
    if options.check && (result.isUnknown || skippedRun) {
      host.unknownInCheck[name] = task.displayName
    } else {
      host.unknownInCheck[name] = nil
    }
    var value = result.result
    if value["changed"] == nil { value["changed"] = .bool(result.status == .changed) }
    if result.status == .failed && value["failed"] == nil { value["failed"] = true }
    if result.status != .failed && value["failed"] == nil && result.status != .skipped { value["failed"] = false }
    host.register(name, .dict(value))
  }

  /// The first condition that is false, or nil when all hold.
  func firstFalse(_ conditions: [Condition], _ context: TaskVariables) throws -> Condition? {
    for c in conditions where try !c.isTrue(context) { return c }
    return nil
  }

  /// `value` rendered as a boolean; nil when absent. The variables are gathered only when
  /// there is a value: `run_once` and `any_errors_fatal` are asked of every task.
  func boolean(_ value: Value?, _ context: @autoclosure () -> TaskVariables) throws -> Bool? {
    guard let value else { return nil }
    let rendered = try context().render(value)
    return ModuleArguments.boolean(rendered) ?? rendered.isTruthy
  }

  func describe(_ error: any Error, task: PlaybookTask? = nil) -> String {
    if let e = error as? ModuleError { return e.message + (e.hint.map { " (\($0))" } ?? "") }
    if let e = error as? TemplateError {
      // Arguments and conditions are named after the task's place in its file: say that
      // place once, rather than a column inside a one-line expression.
      if let task, e.templateName == task.location.description || e.templateName.isEmpty {
        return "\(e.message) (in the task at \(task.location))"
      }
      return "\(e)"
    }
    if let e = error as? TransportError { return e.description }
    return "\(error)"
  }

  /// One run of the task's action (one loop item), with retries, `changed_when`, `failed_when`.
  func runOnce(_ task: PlaybookTask, host: HostState, context: TaskVariables) async -> TaskResult {
    let retries = ((try? task.retries.map { try context.render($0) }).flatMap { $0.flatMap(ModuleArguments.integer) }) ?? (task.until == nil ? 0 : 3)
    let delay = ((try? task.delay.map { try context.render($0) }).flatMap { $0.flatMap(ModuleArguments.number) }) ?? 5
    var attempt = 0
    while true {
      attempt += 1
      var result = await attemptOnce(task, host: host, context: context)
      if result.status == .unreachable { return result }
      guard let until = task.until else { return result }
      if let register = task.register { context.set(register, .dict(result.result)) }
      let done = (try? until.isTrue(context)) ?? false
      if done || attempt > retries {
        result.result["attempts"] = .int(attempt)
        if !done {
          result.status = .failed
          result.result["failed"] = true
          if result.result["msg"] == nil { result.result["msg"] = .string("Retried \(retries) times without success") }
        }
        return result
      }
      try? await _Concurrency.Task.sleep(nanoseconds: UInt64(max(0, delay) * 1e9))
    }
  }

  private func attemptOnce(_ task: PlaybookTask, host: HostState, context: TaskVariables) async -> TaskResult {
    var result: TaskResult
    do {
      result = try await perform(task, host: host, context: context)
    } catch let error as TransportError where error.isUnreachable {
      var r = TaskResult(host: host.name, status: .unreachable, result: ["unreachable": true, "msg": .string(error.description), "changed": false])
      if (try? boolean(task.keywords.ignoreUnreachable, context)) == true { r.isIgnored = true }
      return r
    } catch let error as TransportError {
      result = TaskResult(host: host.name, status: .failed, result: ["failed": true, "msg": .string(error.description)])
    } catch {
      result = TaskResult(host: host.name, status: .failed, result: ["failed": true, "msg": .string(describe(error, task: task))])
    }
    // changed_when / failed_when see the result under the register name.
    do {
      if task.changedWhen != nil || task.failedWhen != nil, result.status != .skipped {
        if let register = task.register { context.set(register, .dict(result.result)) }
        for (k, v) in result.result where task.register == nil && ["rc", "stdout", "stderr", "stdout_lines", "stderr_lines"].contains(k) {
          context.set(k, v)
        }
        if let changedWhen = task.changedWhen {
          let changed = try changedWhen.isEmpty ? false : changedWhen.allSatisfy { try $0.isTrue(context) }
          result.result["changed"] = .bool(changed)
          if result.status != .failed { result.status = changed ? .changed : .ok }
        }
        if let failedWhen = task.failedWhen {
          let failed = try !failedWhen.isEmpty && failedWhen.allSatisfy { try $0.isTrue(context) }
          result.result["failed_when_result"] = .bool(failed)
          if failed {
            result.status = .failed
            result.result["failed"] = true
          } else if result.status == .failed {
            result.status = result.result["changed"]?.isTruthy == true ? .changed : .ok
            result.result["failed"] = false
            if result.result["msg"] == "non-zero return code" { _ = result.result.removeValue(forKey: "msg") }
          }
        }
      }
    } catch {
      result.status = .failed
      result.result["failed"] = true
      result.result["msg"] = .string("the conditional check failed: \(describe(error, task: task))")
    }
    if let delegate = (try? task.keywords.delegateTo.map { try context.render($0) })?.flatMap(ModuleArguments.text),
      delegate != host.name
    {
      result.delegatedTo = delegate
    }
    if result.status == .failed, (try? boolean(task.keywords.ignoreErrors, context)) == true {
      result.isIgnored = true
    }
    if result.status != .failed || result.result["changed"] == nil {
      result.result["changed"] = .bool(result.status == .changed)
    }
    return result
  }
}
