import Foundation
import Inventory

/// A check read ahead of its task, valid while the host has not changed since.
struct PrefetchedCheck: @unchecked Sendable {
  var given: OrderedDict
  /// `given` as checked against the module's arguments, so the task need not check it again.
  var arguments: ModuleArguments?
  var become: Become?
  var transportHost: String
  var generation: Int
  var plan: Result<Plan, any Error>

  /// The check of `prepared`, read while the host was at `generation`.
  init(_ prepared: TaskExecutor.PreparedModule, generation: Int, plan: Result<Plan, any Error>) {
    given = prepared.given
    arguments = prepared.arguments
    become = prepared.become
    transportHost = prepared.transport.host
    self.generation = generation
    self.plan = plan
  }
}

extension TaskExecutor {
  /// The tasks that follow the running one in its task list and may have their checks read
  /// with it: set by the runner for each task.
  @TaskLocal static var lookahead: [PlaybookTask] = []

  /// How many following tasks are checked together with one that needs its check, at most,
  /// and at the start of a run: all of them, since state reads of many paths cost the host
  /// little more than one (after a change it starts again from none and doubles while tasks
  /// find nothing to change).
  static let lookaheadLimit = 24
  static let initialLookahead = lookaheadLimit

  /// Modules whose check waits, or reads something other than the host's state (a port, a
  /// URL, a file's bytes): they are checked when their turn comes.
  static let checkedInTurn: Set<String> = ["wait_for", "uri", "get_url", "fetch", "slurp", "setup", "gather_facts"]

  /// The plan of `prepared` on `host`: read ahead with an earlier task's check when the host
  /// has not changed since and the arguments are the same, else checked now, together with the
  /// checks of the following tasks (one round trip for all of them when nothing changes).
  func plan(_ task: PlaybookTask, _ prepared: PreparedModule, host: HostState) async throws -> Plan {
    let key = "\(task.location)"
    if task.loop == nil, let hit = host.takeCheck(key) {
      if hit.given == prepared.given && hit.become == prepared.become && hit.transportHost == prepared.transport.host {
        return host.noteUnchanged(try hit.plan.get())
      }
    }
    // Only a task that runs on its own host reads ahead: a delegated one's checks run elsewhere.
    // The host's first connection is made while the following tasks are rendered.
    let readsAhead = task.loop == nil && prepared.transport.host == host.name && host.lookaheadBudget > 0
    if readsAhead { prepared.transport.connectAhead() }
    let following = readsAhead ? ahead(of: task, on: host, limit: host.lookaheadBudget) : []
    guard !following.isEmpty else {
      let plan = try await prepared.type.planTask(prepared.arguments, on: HostProbe(transport: prepared.transport, become: prepared.become))
      return host.noteUnchanged(plan)
    }
    let checks = [(task, prepared)] + following
    let generation = host.checkGeneration
    let results = await Self.checkTogether(checks.map(\.1), transport: prepared.transport)
    for ((other, p), result) in zip(checks.dropFirst(), results.dropFirst()) {
      host.storeCheck("\(other.location)", PrefetchedCheck(p, generation: generation, plan: result))
    }
    return host.noteUnchanged(try results[0].get())
  }

  /// The following tasks whose checks can be read now: plain module tasks on this host, whose
  /// conditions hold and whose arguments can be rendered with what is known now.
  func ahead(of task: PlaybookTask, on host: HostState, limit: Int) -> [(PlaybookTask, PreparedModule)] {
    var out: [(PlaybookTask, PreparedModule)] = []
    for next in Self.lookahead.prefix(limit) {
      guard next.location != task.location, host.freshCheck("\(next.location)") == nil else { continue }
      guard !Self.checkedInTurn.contains(next.action) else { continue }
      let context = variables(next, host)
      do {
        if try firstFalse(next.keywords.when, context) != nil { continue }
      } catch {
        continue
      }
      guard let arguments = try? renderedModuleArguments(next, context: context),
        let prepared = try? prepareModule(next, host: host, context: context, arguments: arguments),
        prepared.transport.host == host.name
      else { continue }
      out.append((next, prepared))
    }
    return out
  }

  /// Runs the checks of `modules` on one host through a `CheckBatch`, in order of `modules`.
  static func checkTogether(_ modules: [PreparedModule], transport: any Transport) async -> [Result<Plan, any Error>] {
    await checkTogether(modules, batch: CheckBatch(transport: transport, checks: modules.count))
  }

  /// Runs the checks of `modules` through `batch`, made for as many checks.
  static func checkTogether(_ modules: [PreparedModule], batch: CheckBatch) async -> [Result<Plan, any Error>] {
    await withTaskGroup(of: (Int, Result<Plan, any Error>).self) { group in
      for (i, m) in modules.enumerated() {
        group.addTask {
          let probe = HostProbe(transport: batch.member(), become: m.become)
          let result: Result<Plan, any Error>
          do {
            result = .success(try await m.type.planTask(m.arguments, on: probe))
          } catch {
            result = .failure(error)
          }
          await batch.finished()
          return (i, result)
        }
      }
      var results = [Result<Plan, any Error>?](repeating: nil, count: modules.count)
      for await (i, r) in group { results[i] = r }
      return results.map { $0! }
    }
  }
}

/// The checks of the tasks after a change, read in the same command as the change's last step
/// (through a leading `BatchMember`), so that a run that changes every task pays one round
/// trip per task instead of two.
struct ChecksAfterChange {
  let batch: CheckBatch
  private let following: [(PlaybookTask, TaskExecutor.PreparedModule)]
  private let host: HostState
  private let generation: Int
  private let work: _Concurrency.Task<[Result<Plan, any Error>], Never>

  /// Starts the checks of `following` (they wait for the change's last command); nil when
  /// there are none. Made after the host's checks were invalidated for the change.
  init?(_ following: [(PlaybookTask, TaskExecutor.PreparedModule)], host: HostState, transport: any Transport) {
    guard !following.isEmpty else { return nil }
    let batch = CheckBatch(transport: transport, checks: following.count, afterChange: true)
    let modules = following.map(\.1)
    self.batch = batch
    self.following = following
    self.host = host
    generation = host.checkGeneration
    work = _Concurrency.Task { await TaskExecutor.checkTogether(modules, batch: batch) }
  }

  /// Lets the checks go if the change sent no command through its leading `BatchMember`, waits
  /// for them, and keeps their results for their tasks (unless the change failed halfway).
  func finish(storing: Bool) async {
    await batch.noFirst()
    let results = await work.value
    guard storing else { return }
    for ((task, p), result) in zip(following, results) {
      host.storeCheck("\(task.location)", PrefetchedCheck(p, generation: generation, plan: result))
    }
  }
}

extension HostState {
  /// A read-ahead check of the task at `key`, removed from the store; nil when there is none or
  /// the host changed since it was read.
  func takeCheck(_ key: String) -> PrefetchedCheck? {
    checksLock.withLock {
      guard let hit = prefetched.removeValue(forKey: key), hit.generation == generation else { return nil }
      return hit
    }
  }

  /// The fresh read-ahead check of `key`, left in place.
  func freshCheck(_ key: String) -> PrefetchedCheck? {
    checksLock.withLock {
      guard let hit = prefetched[key], hit.generation == generation else { return nil }
      return hit
    }
  }

  /// Keeps a check read ahead for its task. A check that failed is not kept: read with others
  /// it may have failed for them (a batch cut short), and its task checks again on its turn.
  func storeCheck(_ key: String, _ check: PrefetchedCheck) {
    if case .failure = check.plan { return }
    checksLock.withLock {
      guard check.generation == generation else { return }
      prefetched[key] = check
    }
  }

  var checkGeneration: Int { checksLock.withLock { generation } }

  /// The host is about to change: every check read ahead is stale, and reading ahead waits
  /// until tasks stop changing the host again.
  func invalidateChecks() {
    checksLock.withLock {
      generation += 1
      prefetched.removeAll()
      budget = 0
    }
  }

  /// How many following checks to read with the next one: none right after a change, then
  /// doubling with each task that finds nothing to change, so a run that converges a fresh
  /// host wastes few reads and one that finds a converged host reads ahead in a few trips.
  var lookaheadBudget: Int {
    get { checksLock.withLock { budget } }
    set { checksLock.withLock { budget = newValue } }
  }

  /// Grows the read-ahead after a check that finds nothing to change; returns `plan`.
  func noteUnchanged(_ plan: Plan) -> Plan {
    if plan.steps.isEmpty {
      checksLock.withLock { budget = min(TaskExecutor.lookaheadLimit, max(1, budget * 2)) }
    }
    return plan
  }
}
