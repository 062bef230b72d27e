import Foundation
import Inventory

/// Runs playbooks: plays in order, tasks in lockstep across hosts (the linear strategy) or each
/// host at its own pace (`strategy: free`), up to `forks` hosts at once, handlers at the end of
/// each section, and a recap at the end.
public final class PlaybookRunner {
  let shared: RunShared
  let reporter: any RunReporter
  var options: RunOptions { shared.options }
  private var startAtTaskPending: Bool
  private var failures: [(host: String, task: String, message: String)] = []
  private var playHosts: [String] = []
  private var play: Play?
  private var info: PlayInfo?
  private var endPlay = false
  /// The running task's name as printed, for the list of failures.
  private var currentTitle = ""
  /// For one host's runner of a `strategy: free` play: every host of the batch, which
  /// `meta: end_play` ends.
  private var freeBatch: [HostState]?

  /// A runner for one host of a `strategy: free` play: the same run and play, its own place in
  /// the task list.
  private init(freeHostOf parent: PlaybookRunner, reporter: any RunReporter, batch: [HostState]) {
    shared = parent.shared
    self.reporter = reporter
    startAtTaskPending = parent.startAtTaskPending
    playHosts = parent.playHosts
    play = parent.play
    info = parent.info
    freeBatch = batch
  }

  public init(inventory: Inventory, options: RunOptions, reporter: any RunReporter) {
    shared = RunShared(inventory: inventory, options: options)
    self.reporter = reporter
    startAtTaskPending = options.startAtTask != nil
  }

  /// Starts ICU's one-time setup of its regular expression engine (its Unicode property sets:
  /// about 10 ms of CPU, a tenth of a warm run) on a thread of its own, so that it overlaps
  /// loading the playbooks and connecting instead of delaying the first check that compiles a
  /// pattern (`lineinfile`, `replace`, the `regex_*` filters, through `PythonRegex`).
  public static func warmUpRegularExpressions() {
    Thread.detachNewThread { _ = try? NSRegularExpression(pattern: "a") }
  }

  /// Runs every play of `playbooks` and returns the recap.
  public func run(_ playbooks: [Playbook]) async -> RunRecap {
    TransportTrace.record("-", "run started", since: TransportTrace.now())
    let started = Date()
    var interrupted = false
    outer: for playbook in playbooks {
      for play in playbook.plays {
        if _Concurrency.Task.isCancelled {
          interrupted = true
          break outer
        }
        await run(play)
      }
    }
    await shared.closeAll()
    let order = shared.inventory.hostOrder
    let states = Dictionary(shared.allHosts.map { ($0.name, $0) }, uniquingKeysWith: { a, _ in a })
    let touched = order.filter { states[$0].map { $0.stats != HostStats() } ?? false }
      + states.keys.filter { !order.contains($0) && states[$0]?.stats != HostStats() }.sorted()
    let recap = RunRecap(
      hosts: touched.sorted().map { ($0, states[$0]?.stats ?? HostStats()) }, failures: failures,
      elapsed: Date().timeIntervalSince(started), wasInterrupted: interrupted || _Concurrency.Task.isCancelled)
    reporter.runFinished(recap)
    return recap
  }

  // MARK: - Plays

  private func run(_ play: Play) async {
    reporter.playStarted(play)
    self.play = play
    endPlay = false
    let pattern: String
    do {
      let context = TaskVariables(options.extraVars)
      pattern = ModuleArguments.text(try context.render(.string(play.hosts))) ?? play.hosts
    } catch {
      reporter.warning("could not template the hosts of play '\(play.name)': \(error)")
      return
    }
    var selected: [String]
    do {
      let selection = try shared.inventory.select(pattern, limit: options.limit)
      for w in selection.warnings { reporter.warning(w) }
      selected = selection.hosts
    } catch {
      reporter.warning("\(error)")
      return
    }
    // Hosts that failed or were unreachable in an earlier play sit out the rest of the run.
    selected = selected.filter { let h = shared.host($0); return !h.isFailed && !h.isUnreachable }
    guard !selected.isEmpty else {
      reporter.notice("skipping: no hosts matched")
      return
    }
    switch play.order {
    case "reverse_inventory": selected.reverse()
    case "sorted": selected.sort()
    case "reverse_sorted": selected.sort(by: >)
    case "shuffle": selected.shuffle()
    default: break
    }
    playHosts = selected
    let batches = self.batches(selected, play: play)
    var failedSoFar = 0
    for batch in batches {
      if endPlay { break }
      let states = batch.map { shared.host($0) }
      for h in states {
        h.notified = []
        h.hasEnded = false
      }
      info = PlayInfo(
        name: play.name, directory: play.directory, hosts: selected, batch: batch,
        remoteUser: play.keywords.remoteUser.flatMap(ModuleArguments.text))
      await loadVarsFiles(play, states)
      if !promptVariables(play, states) { break }
      let gather = play.gatherFacts.map { ModuleArguments.boolean($0) ?? true } ?? true
      if gather || startsOnItsHosts(play) { connectAhead(play, states) }
      if play.strategy == "free" && states.count > 1 {
        await runFree(play, states, gather: gather)
      } else {
        await runSections(play, states, gather: gather)
      }
      failedSoFar += states.filter { $0.isFailed || $0.isUnreachable }.count
      if let max = play.maxFailPercentage.flatMap(ModuleArguments.number),
        Double(failedSoFar) / Double(selected.count) * 100 > max
      {
        reporter.notice("NO MORE HOSTS LEFT: max_fail_percentage of \(max)% exceeded")
        break
      }
      if !states.contains(where: \.isActive) && batches.count > 1 && failedSoFar == selected.count { break }
    }
  }

  /// Starts connecting to the batch's first `forks` hosts before any of their tasks is
  /// rendered. A connection is mostly the host's work (sshd starting, the key exchange), so it
  /// then overlaps the rendering of the first tasks instead of waiting for each host's turn on
  /// the controller's few threads. The transport is the play's, as fact gathering uses; a host
  /// whose connection fails is reported by its first task, as before. Only for a play whose
  /// first step runs on its hosts (`startsOnItsHosts`).
  private func connectAhead(_ play: Play, _ states: [HostState]) {
    let executor = self.executor()
    var task = PlaybookTask.synthetic("gather_facts", play: play)
    task.keywords = play.keywords
    for host in states.prefix(max(1, options.forks)) where host.isActive {
      executor.connection(task, host: host, context: executor.variables(task, host)).connectAhead()
    }
  }

  /// Actions carried out on the controller, or not through the host's connection.
  static let controllerActions: Set<String> = [
    "debug", "set_fact", "assert", "fail", "pause", "include_vars", "group_by", "add_host", "meta", "include_tasks",
    "include_role", "import_tasks", "import_role",
  ]

  /// Whether the play's first task runs a module on its hosts, connected as the play says. A
  /// play that starts on the controller, or with a task delegated elsewhere (`local_action:
  /// wait_for port=22`), may be waiting for its hosts to come up: connecting at its start would
  /// fail and fail the first task that reaches the host with it. A first task with its own
  /// `remote_user` or `ansible_*` variables makes the host's connection itself, as before.
  func startsOnItsHosts(_ play: Play) -> Bool {
    guard options.startAtTask == nil,
      case .task(let first)? = (play.preTasks + play.roles.flatMap(\.tasks) + play.tasks).first(where: {
        if case .task(let t) = $0 { return selectedByTags(t.keywords.tags) }
        return true
      })
    else { return false }
    let own = first.keywords
    return own.delegateTo == nil && !Self.controllerActions.contains(first.action)
      && own.remoteUser == play.keywords.remoteUser
      && own.vars.keys.allSatisfy { !$0.hasPrefix("ansible_") || own.vars[$0] == play.keywords.vars[$0] }
  }

  /// Facts, then pre_tasks, roles and tasks, post_tasks, each followed by its handlers.
  private func runSections(_ play: Play, _ states: [HostState], gather: Bool) async {
    if gather { await gatherFacts(states) }
    await runSection(play.preTasks, states)
    await flushHandlers(states)
    await runSection(play.roles.flatMap(\.tasks) + play.tasks, states)
    await flushHandlers(states)
    await runSection(play.postTasks, states)
    await flushHandlers(states)
  }

  /// `strategy: free`: each host goes through the play at its own pace, up to `forks` hosts at
  /// once, so a slow host holds up no other. Each result is printed under its task's header,
  /// which is printed again when results of another task came in between. As in Ansible,
  /// `run_once` then runs on every host, and `meta: end_play` ends the play for all hosts at
  /// their next task.
  private func runFree(_ play: Play, _ states: [HostState], gather: Bool) async {
    let output = FreeOutput(reporter)
    let subs = states.map {
      Unchecked(PlaybookRunner(freeHostOf: self, reporter: FreeOutput.Front(output), batch: states), $0)
    }
    await withTaskGroup(of: Void.self) { group in
      var next = 0
      func start(_ group: inout TaskGroup<Void>) {
        let sub = subs[next]
        next += 1
        group.addTask { await sub.runner.runSections(play, [sub.host], gather: gather) }
      }
      while next < min(subs.count, max(1, options.forks)) { start(&group) }
      while await group.next() != nil {
        if next < subs.count { start(&group) }
      }
    }
    for sub in subs.map(\.runner) {
      failures += sub.failures
      if sub.endPlay { endPlay = true }
    }
    if startAtTaskPending { startAtTaskPending = subs.allSatisfy(\.runner.startAtTaskPending) }
  }

  /// `serial`: a number, a percentage, or a list of them for growing batches.
  func batches(_ hosts: [String], play: Play) -> [[String]] {
    guard let serial = play.serial else { return [hosts] }
    let sizes = (serial.listValue ?? [serial]).map { v -> Int in
      if case .string(let s) = v, s.hasSuffix("%"), let p = Double(s.dropLast()) {
        return max(1, Int(Double(hosts.count) * p / 100))
      }
      return max(1, ModuleArguments.integer(v) ?? hosts.count)
    }
    guard !sizes.isEmpty else { return [hosts] }
    var out: [[String]] = []
    var rest = hosts[...]
    var index = 0
    while !rest.isEmpty {
      let size = sizes[min(index, sizes.count - 1)]
      out.append(Array(rest.prefix(size)))
      rest = rest.dropFirst(size)
      index += 1
    }
    return out
  }

  private func loadVarsFiles(_ play: Play, _ states: [HostState]) async {
    guard !play.varsFiles.isEmpty, let info else { return }
    let executor = TaskExecutor(shared: shared, play: info)
    for host in states {
      var loaded = OrderedDict()
      for entry in play.varsFiles {
        // A list entry is a list of candidates: the first that exists is used.
        let candidates = entry.listValue ?? [entry]
        let task = PlaybookTask.synthetic("vars_files", play: play)
        let context = executor.variables(task, host)
        var found = false
        for candidate in candidates {
          guard let name = (try? context.render(candidate)).flatMap(ModuleArguments.text) else { continue }
          let path = name.hasPrefix("/") ? name : (play.directory as NSString).appendingPathComponent(name)
          guard let data = FileManager.default.contents(atPath: path) else { continue }
          do {
            let root = try YAMLLoader.loadSingle([UInt8](data), file: path)
            for (k, v) in root?.value.dictValue ?? [:] { loaded[k] = v }
            found = true
            break
          } catch {
            reporter.warning(error.diagnostic.description)
          }
        }
        if !found {
          host.isFailed = true
          host.stats.failures += 1
          let message = "vars file \(candidates.map { ModuleArguments.text($0) ?? "" }.joined(separator: ", ")) was not found"
          reporter.hostFinished(TaskResult(host: host.name, status: .failed, result: ["msg": .string(message)]), task: nil)
          failures.append((host.name, "vars_files", message))
        }
      }
      host.varsFiles = loaded
    }
  }

  /// `vars_prompt` without a terminal: each answer comes from `-e`, or the prompt's default.
  /// A prompt with neither fails the play's hosts, naming the variable to pass.
  private func promptVariables(_ play: Play, _ states: [HostState]) -> Bool {
    for prompt in play.varsPrompt {
      guard let name = prompt["name"].flatMap(ModuleArguments.text) else { continue }
      if options.extraVars[name] != nil { continue }
      guard let value = prompt["default"] else {
        for h in states {
          h.isFailed = true
          h.stats.failures += 1
          failures.append((h.name, "vars_prompt", "no value for '\(name)'"))
        }
        reporter.warning("vars_prompt '\(name)' has no default and provision does not ask: pass -e \(name)=VALUE")
        return false
      }
      for h in states { h.varsFiles[name] = value }
    }
    return true
  }

  private func gatherFacts(_ states: [HostState]) async {
    guard let play else { return }
    reporter.taskStarted("Gathering Facts", task: nil, isHandler: false)
    var task = PlaybookTask.synthetic("gather_facts", play: play)
    task.keywords = play.keywords
    task.keywords.when = []
    task.keywords.checkMode = .bool(false)
    await runTask(task, states.filter(\.isActive), announce: false)
  }

  // MARK: - PlaybookTask lists

  private struct Scope {
    /// A failure here is rescued by an enclosing block.
    var isRescued = false
  }

  private func runSection(_ nodes: [TaskNode], _ hosts: [HostState]) async {
    await runNodes(nodes, hosts, scope: Scope())
  }

  private func runNodes(_ nodes: [TaskNode], _ hosts: [HostState], scope: Scope) async {
    for (index, node) in nodes.enumerated() {
      if endPlay || _Concurrency.Task.isCancelled { return }
      let active = hosts.filter(\.isActive)
      guard !active.isEmpty else { return }
      switch node {
      case .block(let block):
        await runBlock(block, active, scope: scope)
      case .task(let task):
        guard selectedByTags(task.keywords.tags) else { continue }
        if startAtTaskPending {
          guard let start = options.startAtTask, task.displayName == start || task.name == start
            || fnmatch(start, task.name ?? "", 0) == 0
          else { continue }
          startAtTaskPending = false
        }
        switch task.action {
        case "include_tasks", "include_role":
          await runInclude(task, active, scope: scope)
        case "meta":
          await runMeta(task, active, all: hosts)
        default:
          await runTask(task, active, scope: scope, lookahead: startAtTaskPending ? [] : lookahead(after: index, in: nodes))
        }
      }
    }
  }

  /// The plain module tasks right after `index` in `nodes`, whose checks may be read together
  /// with the task at `index` (see `TaskExecutor.plan`).
  func lookahead(after index: Int, in nodes: [TaskNode]) -> [PlaybookTask] {
    var out: [PlaybookTask] = []
    for node in nodes[(index + 1)...] {
      guard out.count < TaskExecutor.lookaheadLimit, case .task(let t) = node else { break }
      guard selectedByTags(t.keywords.tags) else { continue }
      guard ModuleRegistry.modules[t.action] != nil, t.loop == nil, t.keywords.delegateTo == nil, t.keywords.runOnce == nil,
        !TaskExecutor.checkedInTurn.contains(t.action)
      else { continue }
      out.append(t)
    }
    return out
  }

  private func runBlock(_ block: Block, _ hosts: [HostState], scope: Scope) async {
    let hasRescue = !block.rescue.isEmpty
    var inner = scope
    inner.isRescued = scope.isRescued || hasRescue
    await runNodes(block.body, hosts, scope: inner)
    let failedInBody = hosts.filter { $0.isFailed && !$0.isUnreachable }
    if hasRescue && !failedInBody.isEmpty {
      for h in failedInBody {
        h.isFailed = false
        h.stats.rescued += 1
      }
      await runNodes(block.rescue, failedInBody, scope: scope)
    }
    if !block.always.isEmpty {
      let failed = hosts.filter { $0.isFailed && !$0.isUnreachable }
      for h in failed { h.isFailed = false }
      await runNodes(block.always, hosts.filter { !$0.isUnreachable && !$0.hasEnded }, scope: scope)
      for h in failed { h.isFailed = true }
    }
  }

  /// Whether a task with `tags` runs under `--tags` and `--skip-tags`, by ansible-core's rules
  /// (`Taggable.evaluate_tags`): `always` runs unless skipped by name, `never` only when named.
  public func selectedByTags(_ tags: [String]) -> Bool {
    let set = tags.isEmpty ? Set(["untagged"]) : Set(tags)
    let isUntagged = set == ["untagged"]
    let only = Set(options.tags.isEmpty ? ["all"] : options.tags)
    let skip = Set(options.skipTags)
    var run: Bool
    if set.contains("always") {
      run = true
    } else if only.contains("all") && !set.contains("never") {
      run = true
    } else if !set.isDisjoint(with: only) {
      run = true
    } else if only.contains("tagged") && !isUntagged && !set.contains("never") {
      run = true
    } else {
      run = false
    }
    if run && !skip.isEmpty {
      if skip.contains("all") {
        if !set.contains("always") || skip.contains("always") { run = false }
      } else if !set.isDisjoint(with: skip) {
        run = false
      } else if skip.contains("tagged") && !isUntagged {
        run = false
      }
    }
    return run
  }

  // MARK: - One task on many hosts

  func executor() -> TaskExecutor {
    TaskExecutor(shared: shared, play: info ?? PlayInfo(name: "", directory: ".", hosts: [], batch: [], remoteUser: nil))
  }

  private func runTask(
    _ task: PlaybookTask, _ hosts: [HostState], scope: Scope = Scope(), announce: Bool = true, extra: OrderedDict = [:],
    lookahead: [PlaybookTask] = []
  ) async {
    let executor = self.executor()
    currentTitle = title(task, executor: executor, host: hosts[0])
    if announce { reporter.taskStarted(currentTitle, task: task, isHandler: task.isHandler) }
    let traceStart = TransportTrace.now()
    defer { TransportTrace.record("-", "task \(currentTitle)", since: traceStart) }
    let runOnce = (try? executor.boolean(task.keywords.runOnce, executor.variables(task, hosts[0]))) ?? false
    let targets = runOnce ? [hosts[0]] : hosts
    let forks = max(1, options.forks)
    var running = Set<String>()
    var results: [TaskResult] = []
    let ticks = reporter.wantsProgress
    await withTaskGroup(of: TaskResult?.self) { group in
      var next = 0
      var remaining = targets.count
      func start() {
        guard next < targets.count else { return }
        let host = targets[next]
        next += 1
        running.insert(host.name)
        group.addTask {
          await TaskExecutor.$lookahead.withValue(extra.isEmpty ? lookahead : []) { await executor.execute(task, on: host, extra: extra) }
        }
      }
      // A tick every second refreshes the line of hosts still running a long task.
      func tick() {
        group.addTask {
          try? await _Concurrency.Task.sleep(nanoseconds: 1_000_000_000)
          return nil
        }
      }
      for _ in 0..<min(forks, targets.count) { start() }
      if ticks { tick() }
      for await outcome in group {
        guard let result = outcome else {
          if remaining > 0 {
            reporter.hostsRunning(running.sorted())
            tick()
          }
          continue
        }
        remaining -= 1
        running.remove(result.host)
        results.append(result)
        process(result, task: task, scope: scope)
        start()
        if remaining == 0 {
          reporter.hostsRunning([])
          group.cancelAll()
        }
      }
    }
    if runOnce, let first = results.first {
      for host in hosts.dropFirst() {
        if let name = task.register { host.register(name, .dict(first.result)) }
        if first.status == .changed { notify(task, host: host, result: first) }
        if first.status == .failed && !first.isIgnored { host.isFailed = true }
      }
    }
    if task.action == "group_by" || task.action == "add_host" { applyInventoryChanges(task, results) }
    let anyErrorsFatal = (try? executor.boolean(task.keywords.anyErrorsFatal, executor.variables(task, hosts[0]))) ?? false
    if anyErrorsFatal, results.contains(where: { $0.status == .failed && !$0.isIgnored }) {
      // As in ansible-core: every host of the play fails with it, so later plays skip them too.
      for h in playHosts.map({ shared.host($0) }) where h.isActive { h.isFailed = true }
      reporter.notice("NO MORE HOSTS LEFT: any_errors_fatal stopped the play after a failure")
      endPlay = true
    }
  }

  /// The task's name with its variables filled in, as ansible-playbook prints it; the name as
  /// written when it cannot be rendered.
  func title(_ task: PlaybookTask, executor: TaskExecutor, host: HostState) -> String {
    guard let name = task.name, Template.isPossiblyTemplate(name) else { return task.displayName }
    let rendered = (try? executor.variables(task, host).render(.string(name))).flatMap(ModuleArguments.text) ?? name
    return task.role.map { "\($0.name) : \(rendered)" } ?? rendered
  }

  private func process(_ result: TaskResult, task: PlaybookTask, scope: Scope) {
    let host = shared.host(result.host)
    switch result.status {
    case .ok:
      host.stats.ok += 1
    case .changed:
      host.stats.ok += 1
      host.stats.changed += 1
      notify(task, host: host, result: result)
    case .skipped:
      host.stats.skipped += 1
    case .failed:
      if result.isIgnored {
        // As ansible-core counts them: an ignored failure is ok, ignored, and changed if it changed.
        host.stats.ignored += 1
        host.stats.ok += 1
        if result.result["changed"]?.isTruthy == true { host.stats.changed += 1 }
      } else {
        if !scope.isRescued { host.stats.failures += 1 }
        host.isFailed = true
        host.setFact("ansible_failed_task", .dict(["name": .string(task.displayName), "action": .string(task.action)]))
        host.register("ansible_failed_result", .dict(result.result))
        if !scope.isRescued {
          failures.append((result.host, currentTitle.isEmpty ? task.displayName : currentTitle, Self.failureSummary(result)))
        }
      }
    case .unreachable:
      if result.isIgnored {
        host.stats.skipped += 0
      } else {
        host.stats.unreachable += 1
        host.isUnreachable = true
        failures.append((result.host, currentTitle.isEmpty ? task.displayName : currentTitle, result.message ?? "unreachable"))
      }
    }
    reporter.hostFinished(result, task: task)
  }

  /// One line for the list of failed tasks: the message, and for commands the exit status,
  /// the command and the last line of stderr.
  static func failureSummary(_ result: TaskResult) -> String {
    var text = result.message ?? "failed"
    if let rc = result.result["rc"].flatMap(ModuleArguments.integer), rc != 0 {
      text += " (rc=\(rc))"
      if let cmd = result.result["cmd"] {
        let shown = cmd.listValue.map { $0.compactMap(ModuleArguments.text).joined(separator: " ") } ?? ModuleArguments.text(cmd) ?? ""
        text += ": " + String(shown.prefix(120))
      }
      if let stderr = result.result["stderr"].flatMap(ModuleArguments.text),
        let last = stderr.split(separator: "\n").last(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty })
      {
        text += ": " + String(last.prefix(200))
      }
    }
    return text
  }

  private func notify(_ task: PlaybookTask, host: HostState, result: TaskResult) {
    guard !task.notify.isEmpty else { return }
    let executor = self.executor()
    let context = executor.variables(task, host)
    for name in task.notify {
      let rendered = (try? context.render(.string(name))).flatMap(ModuleArguments.text) ?? name
      if !host.notified.contains(rendered) { host.notified.append(rendered) }
    }
  }

  // MARK: - Handlers

  private func flushHandlers(_ hosts: [HostState]) async {
    guard let play else { return }
    let force = play.forceHandlers.flatMap(ModuleArguments.boolean) ?? false
    // A handler may notify another; go round until nothing new is notified.
    var rounds = 0
    while rounds < 16 {
      rounds += 1
      var anyRan = false
      // Every handler named by, or listening to, a notification runs; notifications made by
      // the handlers themselves wait for the next round.
      let pending = Dictionary(hosts.map { ($0.name, Set($0.notified)) }, uniquingKeysWith: { a, _ in a })
      var handled = Set<String>()
      for node in flattenHandlers(play.allHandlers) {
        guard case .task(let handler) = node else { continue }
        let names = Set([handler.name ?? "", handler.displayName] + handler.listen)
        let targets = hosts.filter { h in
          (h.isActive || (force && !h.isUnreachable)) && !(pending[h.name] ?? []).isDisjoint(with: names)
        }
        guard !targets.isEmpty else { continue }
        handled.formUnion(names)
        anyRan = true
        await runTask(handler, targets)
      }
      for h in hosts {
        let done = (pending[h.name] ?? []).intersection(handled)
        h.notified.removeAll { done.contains($0) }
      }
      if !anyRan { break }
    }
    for notified in Set(hosts.filter(\.isActive).flatMap(\.notified)).sorted() {
      reporter.warning("a handler named '\(notified)' was notified but no handler has that name or listens to it")
    }
    for h in hosts { h.notified = [] }
  }

  private func flattenHandlers(_ nodes: [TaskNode]) -> [TaskNode] {
    nodes.flatMap { node -> [TaskNode] in
      if case .block(let b) = node { return flattenHandlers(b.body) }
      return [node]
    }
  }

  // MARK: - Includes and meta

  private func runInclude(_ task: PlaybookTask, _ hosts: [HostState], scope: Scope) async {
    let executor = self.executor()
    // Group hosts by the file (and loop item) they include, in order of first appearance.
    var groups: [(key: String, file: String, vars: OrderedDict, hosts: [HostState])] = []
    reporter.taskStarted(task.displayName, task: task, isHandler: task.isHandler)
    for host in hosts {
      let context = executor.variables(task, host)
      do {
        if try executor.firstFalse(task.keywords.when, context) != nil {
          host.stats.skipped += 1
          reporter.hostFinished(TaskResult(host: host.name, status: .skipped, result: ["changed": false]), task: task)
          continue
        }
        let loopVar = task.loopControl["loop_var"].flatMap(ModuleArguments.text) ?? "item"
        let items: [Value?] = task.loop == nil ? [nil] : try executor.loopItems(task, context).map { $0 }
        for item in items {
          if let item { context.set(loopVar, item) }
          let args = try context.render(.dict(task.args)).dictValue ?? [:]
          var vars = OrderedDict()
          if let item { vars[loopVar] = item }
          let file: String
          if task.action == "include_role" {
            file = "role:" + (args["name"].flatMap(ModuleArguments.text) ?? "") + ":" + (args["tasks_from"].flatMap(ModuleArguments.text) ?? "main")
          } else {
            let name = (args["file"] ?? args["_raw_params"]).flatMap(ModuleArguments.text) ?? ""
            let base = task.role.map { ($0.path as NSString).appendingPathComponent("tasks") } ?? (task.location.file as NSString).deletingLastPathComponent
            file = name.hasPrefix("/") ? name : (base as NSString).appendingPathComponent(name)
            for (k, v) in args where !["file", "_raw_params", "apply"].contains(k) { vars[k] = v }
          }
          let key = file + "\u{0}" + Value.dict(vars).jsonString()
          if let i = groups.firstIndex(where: { $0.key == key }) {
            groups[i].hosts.append(host)
          } else {
            groups.append((key, file, vars, [host]))
          }
        }
      } catch {
        let r = TaskResult(host: host.name, status: .failed, result: ["failed": true, "msg": .string(executor.describe(error, task: task))])
        process(r, task: task, scope: scope)
      }
    }
    for group in groups {
      var result = TaskResult(host: group.hosts.map(\.name).joined(separator: ", "), status: .ok, result: [:])
      result.included = group.file.hasPrefix("role:") ? String(group.file.split(separator: ":")[1]) : group.file
      reporter.hostFinished(result, task: task)
      var keywords = task.keywords
      keywords.when = []
      for (k, v) in group.vars { keywords.vars[k] = v }
      let nodes: [TaskNode]
      do {
        if group.file.hasPrefix("role:") {
          let parts = group.file.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
          nodes = try loadRoleTasks(parts[1], tasksFrom: parts[2], keywords: keywords, from: task)
        } else {
          nodes = try PlaybookLoader.loadTasks(group.file, inherited: keywords, role: task.role)
        }
      } catch {
        let message = error.errors.map(\.diagnostic.description).joined(separator: "\n")
        for host in group.hosts {
          process(TaskResult(host: host.name, status: .failed, result: ["failed": true, "msg": .string(message)]), task: task, scope: scope)
        }
        continue
      }
      for h in group.hosts { h.stats.ok += 1 }
      await runNodes(nodes, group.hosts, scope: scope)
    }
  }

  private func loadRoleTasks(_ name: String, tasksFrom: String, keywords: TaskKeywords, from task: PlaybookTask) throws(PlaybookErrors) -> [TaskNode] {
    var loader = PlaybookLoader()
    let directory = info?.directory ?? "."
    guard let role = loader.loadRole(name: name, params: [:], location: task.location, directory: directory) else {
      throw PlaybookErrors(errors: [PlaybookError(kind: .missingRole(name), location: task.location)])
    }
    var nodes = role.tasks
    if tasksFrom != "main" {
      let file = (role.path as NSString).appendingPathComponent("tasks/" + (tasksFrom.hasSuffix(".yml") ? tasksFrom : tasksFrom + ".yml"))
      nodes = try PlaybookLoader.loadTasks(file, inherited: TaskKeywords(), role: role)
    }
    return nodes.map { PlaybookLoader.inherit($0, keywords) }
  }

  private func runMeta(_ task: PlaybookTask, _ hosts: [HostState], all: [HostState]) async {
    let action = task.args["_raw_params"].flatMap(ModuleArguments.text)?.trimmingCharacters(in: .whitespaces) ?? ""
    let executor = self.executor()
    let applies = hosts.filter { h in (try? executor.firstFalse(task.keywords.when, executor.variables(task, h))) == nil }
    switch action {
    case "flush_handlers":
      await flushHandlers(hosts)
    case "end_play":
      if !applies.isEmpty {
        endPlay = true
        for h in freeBatch ?? all { h.hasEnded = true }
      }
    case "end_host":
      for h in applies { h.hasEnded = true }
    case "end_batch":
      if !applies.isEmpty { for h in all { h.hasEnded = true } }
    case "clear_host_errors":
      for h in shared.allHosts where h.isFailed { h.isFailed = false }
    case "clear_facts":
      for h in applies { h.facts = [:] }
    case "noop", "refresh_inventory", "reset_connection":
      break
    default:
      reporter.warning("meta '\(action)' is not supported; ignored")
    }
  }

  private func applyInventoryChanges(_ task: PlaybookTask, _ results: [TaskResult]) {
    var inventory = shared.inventory
    for result in results where result.status == .ok {
      guard let args = result.result["_arguments"]?.dictValue else { continue }
      if task.action == "group_by", let key = args["key"].flatMap(ModuleArguments.text) {
        let group = inventory.addGroup(key)
        inventory.addHost(result.host, group: group)
        shared.host(result.host).groups.append(group)
      } else if task.action == "add_host", let name = args["name"].flatMap(ModuleArguments.text) {
        let groups = (args["groups"]?.listValue?.compactMap(ModuleArguments.text)) ?? (args["groups"].flatMap(ModuleArguments.text).map { [$0] } ?? [])
        inventory.addHost(name, group: nil)
        for g in groups { inventory.addHost(name, group: inventory.addGroup(g)) }
        for (k, v) in args where !["name", "groups"].contains(k) { inventory.setHostVariable(name, k, v) }
      }
    }
    inventory.reconcile()
    shared.inventory = inventory
  }
}

extension PlaybookTask {
  /// A task the engine makes itself, such as fact gathering.
  static func synthetic(_ action: String, play: Play) -> PlaybookTask {
    PlaybookTask(
      name: nil, action: action, actionAsWritten: action, args: [:], keywords: TaskKeywords(), location: play.location,
      argsLocation: play.location, register: nil, loop: nil, loopLookup: nil, loopControl: [:], changedWhen: nil,
      failedWhen: nil, until: nil, retries: nil, delay: nil, notify: [], listen: [], role: nil, isHandler: false)
  }
}

/// One host's runner of a free play and its host, handed to the task that runs them.
private struct Unchecked: @unchecked Sendable {
  let runner: PlaybookRunner
  let host: HostState
  init(_ runner: PlaybookRunner, _ host: HostState) {
    self.runner = runner
    self.host = host
  }
}

/// The output of a `strategy: free` play, whose hosts run different tasks at once: calls from
/// the hosts' runners are serialized, and each result comes right after its task's header
/// (printed again when another task's results came in between), so every reporter reads the
/// order it expects.
final class FreeOutput: @unchecked Sendable {
  private let base: any RunReporter
  private let lock = NSLock()
  private var lastHeader: Header?

  struct Header: Equatable {
    var title: String
    var task: PlaybookTask?
    var isHandler: Bool
    static func == (a: Header, b: Header) -> Bool {
      a.title == b.title && a.task?.location == b.task?.location && a.isHandler == b.isHandler
    }
  }

  init(_ base: any RunReporter) { self.base = base }

  func emit(_ result: TaskResult, task: PlaybookTask?, under header: Header?) {
    lock.withLock {
      if let header, header != lastHeader {
        base.taskStarted(header.title, task: header.task, isHandler: header.isHandler)
        lastHeader = header
      }
      base.hostFinished(result, task: task)
    }
  }

  func say(_ body: (any RunReporter) -> Void) { lock.withLock { body(base) } }

  /// One host's view: it keeps the header of the task its host is running.
  final class Front: RunReporter, @unchecked Sendable {
    let output: FreeOutput
    private var header: FreeOutput.Header?
    init(_ output: FreeOutput) { self.output = output }

    func playStarted(_ play: Play) {}
    func taskStarted(_ title: String, task: PlaybookTask?, isHandler: Bool) {
      header = Header(title: title, task: task, isHandler: isHandler)
    }
    func hostFinished(_ result: TaskResult, task: PlaybookTask?) { output.emit(result, task: task, under: header) }
    func warning(_ message: String) { output.say { $0.warning(message) } }
    func notice(_ message: String) { output.say { $0.notice(message) } }
    func runFinished(_ recap: RunRecap) {}
  }
}
