import Foundation
import Inventory
import Testing

@testable import Provision

#if canImport(Glibc)
  import Glibc
#endif

/// provision against ansible-core on the test hosts: each playbook in `Fixtures/differential`
/// runs once with `ansible-playbook` (ansible-core from PyPI, `scripts/ansible-venv`) and once
/// with `provision`, on twin roots (`/srv/diff/ansible/CASE`, `/srv/diff/provision/CASE`) on
/// every host, and on the controller for what `fetch` brings back. The files they leave (type,
/// mode, owner, group, links, content), their exit statuses and per-host stats must be equal,
/// and a second run of each must change nothing.
/// Nothing expected is written by hand: ansible-core produces it on every run.
///
/// Differences that are provision bugs not fixed yet are listed in `knownDifferences`; any other
/// difference fails, and so does a listed one that no longer shows (unlist it).
///
/// `scripts/differential CASE` runs one case by hand and prints the same comparison.
@Suite(.serialized) struct DifferentialTests {
  struct Case: Sendable, CustomTestStringConvertible {
    var name: String
    /// Further arguments for both tools, such as `--tags`.
    var arguments: [String] = []
    /// False when the playbook changes something on every run on purpose: the second runs'
    /// stats are compared instead of being required to show changed=0.
    var idempotent = true
    /// Whether both tools then run with `--check` on the converged roots: their exit statuses
    /// and every task's result must be equal (`CASE: check run ACTION 'TASK'` where not), and
    /// neither may change a file.
    var checkMode = false
    var testDescription: String { name }
  }

  static let cases: [Case] = [
    Case(name: "file"),
    Case(name: "copy"),
    Case(name: "template"),
    Case(name: "command"),
    Case(name: "edit"),
    Case(name: "loops"),
    Case(name: "blocks"),
    Case(name: "handlers"),
    Case(name: "strategy"),
    Case(name: "role"),
    Case(name: "tags", arguments: ["--tags", "config"]),
    Case(name: "become"),
    Case(name: "always", idempotent: false),
    Case(name: "script", checkMode: true),
    Case(name: "slurp", checkMode: true),
    Case(name: "get_url", checkMode: true),
    Case(name: "uri", checkMode: true),
    Case(name: "wait_for", checkMode: true),
    Case(name: "users", idempotent: false, checkMode: true),
  ]

  /// Differences from ansible-core that are provision bugs or choices, by the key the comparison
  /// gives them (a key ending in `*` covers every key it begins), each with the reason.
  static let knownDifferences: [String: String] = [
    "get_url: check run get_url 'get_url into a directory'": getURLCheck,
    "get_url: check run get_url 'get_url with force'": getURLCheck,
    "get_url: check run get_url 'get_url without force replaces an existing file that is older'": getURLCheck,
    "get_url: check run get_url 'get_url with the wrong checksum'": getURLCheck,
    "get_url: check run copy 'record the checksum failure'": getURLCheck,
    "uri: check run uri 'uri GET with return_content'": uriCheck,
    "uri: check run uri 'uri GET that accepts a 404'": uriCheck,
    "uri: check run uri 'uri that follows a redirect'": uriCheck,
    "uri: check run uri 'uri GET into a file'": uriCheck,
    "uri: check run uri 'uri GET into a file that is newer'": uriCheck,
    "wait_for: check run wait_for 'a port that is started'": waitForCheck,
    "wait_for: check run wait_for 'a port whose greeting matches'": waitForCheck,
    "wait_for: check run wait_for 'a port that is stopped'": waitForCheck,
    "wait_for: check run wait_for 'a port that stops within the timeout'": waitForCheck,
    "wait_for: check run wait_for 'a path that is present'": waitForCheck,
    "wait_for: check run wait_for 'a path that is absent'": waitForCheck,
    "wait_for: check run wait_for 'a regex in a file'": waitForCheck,
    "wait_for: check run wait_for 'a regex across lines in a file'": waitForCheck,
    "users: check run user 'a user in a missing group'": userCheck,
    "users: check run copy 'record the missing group'": userCheck,
  ]

  /// By design: provision downloads in --check and predicts exactly.
  static let getURLCheck =
    "by design: in --check provision downloads and compares, so it predicts what the run does (no change for content already there, a failure for a wrong checksum); ansible-core's get_url sends HEAD and compares the SHA-1 of the empty body, so it predicts a change for every download"
  /// By design: provision makes GET and HEAD requests in --check.
  static let uriCheck =
    "by design: a GET only reads, so provision makes it in --check and later tasks can use the response; ansible-core's uri does not support check mode and skips"
  /// By design: provision waits in --check.
  static let waitForCheck =
    "by design: wait_for only reads, so provision waits in --check too (preflight checks fail in `provision plan`); ansible-core's wait_for does not support check mode and skips"
  /// By design: provision checks a new account's groups in --check.
  static let userCheck =
    "by design: provision checks that a new account's groups exist in --check too and predicts the run's failure; ansible-core's user reports changed for any account it would create"

  static let fixtures = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("Fixtures/differential").path
  static let provisionBinary = Testbed.root + "/.build/debug/provision"
  static let inventoryPath = Testbed.root + "/inventories/testbed.ini"
  static let hosts = (1...Testbed.hostCount).map { "node\($0)" }

  // MARK: - The differential test

  @Test(arguments: cases) func sameAsAnsible(_ c: Case) async throws {
    try await Self.prerequisites()
    let roots = ["ansible": "/srv/diff/ansible/\(c.name)", "provision": "/srv/diff/provision/\(c.name)"]
    try await Self.clean(Array(roots.values))
    var observed: [String: String] = [:]

    let clock = ContinuousClock()
    var took: [String: Duration] = [:]
    func timed<T>(_ what: String, _ body: () async throws -> T) async rethrows -> T {
      let start = clock.now
      defer { took[what, default: .zero] += clock.now - start }
      return try await body()
    }
    let a1 = try await timed("ansible") { try await Self.runAnsible(c, root: roots["ansible"]!) }
    let p1 = try await timed("provision") { try await Self.runProvision(c, root: roots["provision"]!) }
    Self.compareRuns(a1, p1, case: c.name, prefix: "", into: &observed)
    let t1 = try await timed("trees") { try await Self.compareTrees(roots, case: c.name, into: &observed) }

    let a2 = try await timed("ansible") { try await Self.runAnsible(c, root: roots["ansible"]!) }
    let p2 = try await timed("provision") { try await Self.runProvision(c, root: roots["provision"]!) }
    if c.idempotent {
      for (tool, run) in [("ansible", a2), ("provision", p2)] {
        let changed = run.stats.filter { ($0.value["changed"] ?? 0) != 0 }
        if !changed.isEmpty {
          observed["\(c.name): second \(tool) run reports changes"] =
            changed.sorted { $0.key < $1.key }.map { "\($0.key) changed=\($0.value["changed"]!)" }.joined(separator: ", ")
        }
        for task in run.changedTasks.keys.sorted() {
          observed["\(c.name): second \(tool) run changed '\(task)'"] =
            "on \(run.changedTasks[task]!.sorted().joined(separator: ", "))"
        }
      }
    }
    Self.compareRuns(a2, p2, case: c.name, prefix: "second run ", into: &observed)
    let t2 = try await timed("trees") { try await Self.compareTrees(roots, case: c.name, into: &observed) }
    var checkDetails = ""
    if c.checkMode {
      var runs: [String: Run] = [:]
      for tool in ["ansible", "provision"] {
        let root = roots[tool]!
        let before = try await timed("trees") { try await Self.listing(root) }
        runs[tool] = try await timed(tool) {
          try await tool == "ansible" ? Self.runAnsible(c, root: root, check: true) : Self.runProvision(c, root: root, check: true)
        }
        let after = try await timed("trees") { try await Self.listing(root) }
        for host in Self.hosts + ["controller"] {
          let (b, a) = (before[host] ?? [:], after[host] ?? [:])
          for path in Set(b.keys).union(a.keys).sorted() where b[path] != a[path] {
            observed["\(c.name): check run by \(tool) changed \(path)"] = "\(host): \(b[path] ?? "absent") -> \(a[path] ?? "absent")"
          }
        }
      }
      let (a3, p3) = (runs["ansible"]!, runs["provision"]!)
      if a3.exitStatus != p3.exitStatus {
        observed["\(c.name): check run exit status"] = "ansible \(a3.exitStatus), provision \(p3.exitStatus)"
      }
      // By task, not by stats: check mode differs from ansible-core by design for some modules,
      // and each such task is listed on its own.
      for key in Set(a3.taskStatus.keys).union(p3.taskStatus.keys).sorted() where a3.taskStatus[key] != p3.taskStatus[key] {
        guard let at = key.range(of: " @ ", options: .backwards) else { continue }
        let task = String(key[..<at.lowerBound])
        let what = "\(key[at.upperBound...]): ansible \(a3.taskStatus[key] ?? "-"), provision \(p3.taskStatus[key] ?? "-")"
        let k = "\(c.name): check run \(a3.taskAction[task] ?? p3.taskAction[task] ?? "?") '\(task)'"
        observed[k] = observed[k].map { $0 + "; " + what } ?? what
      }
      checkDetails = """
        ansible --check run: \(a3.summary)
        provision --check run: \(p3.summary)
        task results that differ in the --check runs:
        \(Self.taskDifferences(a3, p3).joined(separator: "\n"))

        """
    }
    print(
      "differential \(c.name): " + ["ansible", "provision", "trees"].map { k in
        "\(k) \(took[k].map { String(format: "%.1f s", Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18) } ?? "-")"
      }.joined(separator: ", "))

    Self.judge(observed, case: c.name) {
      """
      ansible first run: \(a1.summary)
      provision first run: \(p1.summary)
      ansible second run: \(a2.summary)
      provision second run: \(p2.summary)
      \(checkDetails)task results that differ in the first runs:
      \(Self.taskDifferences(a1, p1).joined(separator: "\n"))
      trees after the first runs, ansible / provision:
      \(t1.details)
      trees after the second runs:
      \(t2.details)
      """
    }
  }

  // MARK: - Check mode

  /// `--check` leaves the host trees byte for byte as they were, and the changes it predicts
  /// are the changes the real run then makes: on an empty root, on the converged root, and after
  /// every file drifted. `check.yml`'s tasks each stand on their own, so check mode can predict
  /// all of them (in the other playbooks later tasks build on what earlier ones made).
  @Test func checkModePredictsTheRun() async throws {
    try await Self.prerequisites()
    let c = Case(name: "check")
    let root = "/srv/diff/check/\(c.name)"
    try await Self.clean([root])
    _ = try await Self.onAllHosts("mkdir \(ShellQuoting.quote(root))")
    var observed: [String: String] = [:]
    var details: [String] = []
    for phase in ["empty", "converged", "drifted"] {
      if phase == "drifted" {
        // Every regular file gets a line more and another mode; the real run must put them back.
        _ = try await Self.onAllHosts(
          "find \(ShellQuoting.quote(root)) -type f -exec sh -c 'printf \"drift\\n\" >> \"$1\"; chmod 0604 \"$1\"' _ {} \\;")
      }
      let before = try await Self.snapshot(root)
      let predicted = try await Self.runProvision(c, root: root, check: true)
      let after = try await Self.snapshot(root)
      for host in Self.hosts where before[host] != after[host] {
        observed["check: \(phase) tree changed by --check"] = "on \(host)"
        details.append("\(phase) \(host) before --check:\n\(before[host] ?? "")\nafter:\n\(after[host] ?? "")")
      }
      let real = try await Self.runProvision(c, root: root)
      if predicted.exitStatus != 0 || real.exitStatus != 0 {
        observed["check: \(phase) exit status"] = "--check \(predicted.exitStatus), real \(real.exitStatus)"
      }
      let changedCounts = { (run: Run) in run.stats.mapValues { $0["changed"] ?? 0 } }
      if changedCounts(predicted) != changedCounts(real) {
        observed["check: \(phase) changed counts"] =
          "--check \(changedCounts(predicted).sorted(by: <)), real \(changedCounts(real).sorted(by: <))"
      }
      if phase == "converged", changedCounts(real).values.contains(where: { $0 != 0 }) {
        observed["check: converged run changed"] = "\(real.changedTasks)"
      }
      if phase != "converged", !changedCounts(real).values.contains(where: { $0 != 0 }) {
        observed["check: \(phase) run changed nothing"] = "the phase tests nothing"
      }
      for task in Set(predicted.changedTasks.keys).union(real.changedTasks.keys).sorted()
      where predicted.changedTasks[task] != real.changedTasks[task] {
        observed["check: \(phase) task '\(task)'"] =
          "--check changed on \((predicted.changedTasks[task] ?? []).sorted()), real run on \((real.changedTasks[task] ?? []).sorted())"
      }
      details.append("\(phase): --check \(predicted.summary)\n\(phase): real \(real.summary)")
    }
    Self.judge(observed, case: "check") { details.joined(separator: "\n") }
  }

  // MARK: - Judging

  /// Fails for every observed difference that is not known, and for every known one of this
  /// case that was not observed.
  static func judge(_ observed: [String: String], case name: String, details: () -> String) {
    func covers(_ known: String, _ key: String) -> Bool {
      known.hasSuffix("*") ? key.hasPrefix(known.dropLast()) : known == key
    }
    let known = knownDifferences.keys.filter { $0.hasPrefix(name + ": ") }
    let unexpected = observed.keys.filter { key in !known.contains { covers($0, key) } }.sorted()
    let vanished = known.filter { k in !observed.keys.contains { covers(k, $0) } }.sorted()
    for key in observed.keys.sorted() where !unexpected.contains(key) {
      print("known difference: \(key) (\(observed[key]!)): \(knownDifferences.first { covers($0.key, key) }!.value)")
    }
    if !unexpected.isEmpty {
      Issue.record(
        Comment(
          rawValue: "provision differs from ansible-core:\n"
            + unexpected.map { "  \($0): \(observed[$0]!)" }.joined(separator: "\n") + "\n\n" + details()))
    }
    for key in vanished {
      Issue.record("known difference no longer shows, unlist it from knownDifferences: \(key)")
    }
  }

  static func compareRuns(_ a: Run, _ p: Run, case name: String, prefix: String, into observed: inout [String: String]) {
    if a.exitStatus != p.exitStatus {
      observed["\(name): \(prefix)exit status"] = "ansible \(a.exitStatus), provision \(p.exitStatus)"
    }
    if a.stats != p.stats {
      let hosts = Set(a.stats.keys).union(p.stats.keys).sorted().filter { a.stats[$0] != p.stats[$0] }
      observed["\(name): \(prefix)stats"] = hosts.map { h in
        let fields = Set((a.stats[h] ?? [:]).keys).union((p.stats[h] ?? [:]).keys).sorted()
          .filter { a.stats[h]?[$0] != p.stats[h]?[$0] }
          .map { "\($0) \(a.stats[h]?[$0].map(String.init) ?? "-")/\(p.stats[h]?[$0].map(String.init) ?? "-")" }
        return "\(h): " + (a.stats[h] == nil || p.stats[h] == nil ? "only one tool ran it" : fields.joined(separator: " "))
      }.joined(separator: "; ") + " (ansible/provision)"
    }
  }

  struct TreeComparison {
    var details = ""
  }

  /// Lists both roots on every host; every path whose entry differs is a difference.
  static func compareTrees(_ roots: [String: String], case name: String, into observed: inout [String: String]) async throws
    -> TreeComparison
  {
    let a = try await listing(roots["ansible"]!)
    let p = try await listing(roots["provision"]!)
    var out = TreeComparison()
    for host in hosts + ["controller"] {
      let ta = a[host] ?? [:]
      let tp = p[host] ?? [:]
      for path in Set(ta.keys).union(tp.keys).sorted() where ta[path] != tp[path] {
        let key = "\(name): tree \(path)"
        let what = "\(host): ansible \(ta[path] ?? "absent"), provision \(tp[path] ?? "absent")"
        observed[key] = observed[key].map { $0 + "; " + what } ?? what
        out.details += "  \(host) \(path)\n    ansible:   \(ta[path] ?? "absent")\n    provision: \(tp[path] ?? "absent")\n"
      }
    }
    if out.details.isEmpty { out.details = "  equal\n" }
    return out
  }

  static func taskDifferences(_ a: Run, _ p: Run) -> [String] {
    var out: [String] = []
    for key in Set(a.taskStatus.keys).union(p.taskStatus.keys).sorted() where a.taskStatus[key] != p.taskStatus[key] {
      out.append("  \(key): ansible \(a.taskStatus[key] ?? "-"), provision \(p.taskStatus[key] ?? "-")")
    }
    return out.isEmpty ? ["  none"] : out
  }

  // MARK: - Hosts

  static func prerequisites() async throws {
    _ = try Testbed.shared()
    guard FileManager.default.isExecutableFile(atPath: provisionBinary) else {
      throw Testbed.Unavailable(
        description: "\(provisionBinary) does not exist: build it first ('swift build --build-tests')")
    }
    _ = try ansibleBin.get()
  }

  /// Runs a shell script on every host and returns its output by host; fails on any error.
  static func onAllHosts(_ script: String) async throws -> [String: String] {
    let targets = try hosts.map { ($0, try Testbed.settings($0)) }
    var out: [String: String] = [:]
    for (host, outcome) in await ParallelExec.run(targets: targets, command: script, timeout: 60, forks: 10) {
      guard case .finished(let r) = outcome, r.succeeded else {
        if case .finished(let r) = outcome {
          throw Testbed.Unavailable(description: "\(host): exit \(r.exitStatus ?? -1): \(r.stderrText)\nscript: \(script)")
        }
        throw Testbed.Unavailable(description: "\(host): \(outcome)")
      }
      out[host] = r.stdoutText
    }
    return out
  }

  /// Runs a shell script on the controller, where `fetch` writes, and returns its output.
  static func onController(_ script: String) async throws -> String {
    let r = await spawn(["/bin/sh", "-c", script], environment: [:], timeout: 60)
    guard r.status == 0 else {
      throw Testbed.Unavailable(description: "controller: exit \(r.status): \(r.stderr)\nscript: \(script)")
    }
    return r.stdout
  }

  /// Removes the roots (the controller's copies too), and makes their parents plain
  /// root-owned directories again.
  static func clean(_ roots: [String]) async throws {
    let quoted = roots.map(ShellQuoting.quote).joined(separator: " ")
    _ = try await onController("rm -rf \(quoted)")
    let parents = Set(roots.map { ($0 as NSString).deletingLastPathComponent }).sorted()
      .map(ShellQuoting.quote).joined(separator: " ")
    _ = try await onAllHosts(
      "rm -rf \(quoted) && mkdir -p \(parents) && chown root:root /srv/diff \(parents) && chmod 0755 /srv/diff \(parents)")
  }

  /// Every entry below `root` on every host and on the controller (as host `controller`): path ->
  /// "type mode user group links [-> target] [sha256]", with `root` itself as `.` and written as
  /// ROOT (its parent as ROOT/..) inside paths (`fetch` puts a host's file at `dest/HOST/SRC`)
  /// and link targets.
  static func listing(_ root: String) async throws -> [String: [String: String]] {
    let script = """
      cd \(ShellQuoting.quote(root)) 2>/dev/null || exit 0
      find . -printf '%p\\t%y %m %u %g %n\\t%l\\n'
      echo '--'
      find . -type f -print0 | xargs -0 -r sha256sum
      """
    let parent = (root as NSString).deletingLastPathComponent
    func normalized(_ path: String) -> String {
      path.replacingOccurrences(of: root, with: "ROOT").replacingOccurrences(of: parent, with: "ROOT/..")
    }
    var texts = try await onAllHosts(script)
    texts["controller"] = try await onController(script)
    return texts.mapValues { text in
      var entries: [String: String] = [:]
      let parts = text.components(separatedBy: "\n--\n")
      for line in parts[0].split(separator: "\n") {
        let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        guard f.count == 3 else { continue }
        let target = f[2].replacingOccurrences(of: root, with: "ROOT")
        entries[normalized(f[0])] = f[1] + (target.isEmpty ? "" : " -> " + target)
      }
      for line in (parts.count > 1 ? parts[1] : "").split(separator: "\n") {
        guard let gap = line.range(of: "  ") else { continue }
        let path = normalized(String(line[gap.upperBound...]))
        entries[path, default: "?"] += " sha256:" + line[..<gap.lowerBound].prefix(16)
      }
      return entries
    }
  }

  /// A byte-for-byte account of `root` on every host: entries with times, sizes and content hashes.
  static func snapshot(_ root: String) async throws -> [String: String] {
    let q = ShellQuoting.quote(root)
    return try await onAllHosts(
      """
      cd \(q) 2>/dev/null || { echo '(no root)'; exit 0; }
      find . -printf '%p %y %m %u %g %n %s %T@ %l\\n' | LC_ALL=C sort
      find . -type f -print0 | LC_ALL=C sort -z | xargs -0 -r sha256sum
      """)
  }

  // MARK: - Running the tools

  struct Run {
    var exitStatus: Int32
    var stats: [String: [String: Int]] = [:]
    /// "task name [#n] @ host" -> ok, changed, failed, failed (ignored), skipped, unreachable.
    var taskStatus: [String: String] = [:]
    /// Task names (with #n for repeats) -> hosts where they changed.
    var changedTasks: [String: Set<String>] = [:]
    /// Task names (with #n for repeats) -> the module or action they ran.
    var taskAction: [String: String] = [:]
    var stderr = ""

    var summary: String {
      "exit \(exitStatus), stats "
        + stats.sorted { $0.key < $1.key }.map { h, s in
          "\(h): " + ["ok", "changed", "failures", "skipped", "rescued", "ignored", "unreachable"]
            .map { "\($0)=\(s[$0] ?? 0)" }.joined(separator: " ")
        }.joined(separator: "; ")
        + (stderr.isEmpty ? "" : "\n  stderr: " + stderr.prefix(2000))
    }

    init(exitStatus: Int32, stdout: String, stderr: String, tool: String) throws {
      self.exitStatus = exitStatus
      self.stderr = stderr.trimmingCharacters(in: .whitespacesAndNewlines)
      guard let start = stdout.firstIndex(of: "{"),
        let document = try JSONSerialization.jsonObject(with: Data(stdout[start...].utf8)) as? [String: Any],
        let stats = document["stats"] as? [String: [String: Int]]
      else {
        throw Testbed.Unavailable(
          description: "\(tool) printed no JSON document (exit \(exitStatus)):\n\(stdout.prefix(3000))\n\(stderr.prefix(3000))")
      }
      self.stats = stats
      for play in document["plays"] as? [[String: Any]] ?? [] {
        var seen: [String: Int] = [:]
        for task in play["tasks"] as? [[String: Any]] ?? [] {
          let name = (task["task"] as? [String: Any])?["name"] as? String ?? "?"
          seen[name, default: 0] += 1
          let key = seen[name]! == 1 ? name : "\(name) #\(seen[name]!)"
          for (host, value) in task["hosts"] as? [String: Any] ?? [:] {
            let r = value as? [String: Any] ?? [:]
            let flag = { (k: String) in r[k] as? Bool ?? false }
            var status =
              flag("failed") ? "failed" : flag("skipped") ? "skipped" : flag("unreachable") ? "unreachable"
              : flag("changed") ? "changed" : "ok"
            if flag("ignore_errors") && status == "failed" { status = "failed (ignored)" }
            taskStatus["\(key) @ \(host)"] = status
            if let action = r["action"] as? String { taskAction[key] = action }
            if flag("changed") && !flag("failed") { changedTasks[key, default: []].insert(host) }
          }
        }
      }
    }
  }

  static let ansibleBin: Result<String, Testbed.Unavailable> = {
    let out = Testbed.script("scripts/ansible-venv", [])
    let bin = out.output.split(separator: "\n").last.map(String.init) ?? ""
    guard out.status == 0, FileManager.default.isExecutableFile(atPath: bin + "/ansible-playbook") else {
      return .failure(Testbed.Unavailable(description: "scripts/ansible-venv failed: \(out.output)"))
    }
    return .success(bin)
  }()

  static func runAnsible(_ c: Case, root: String, check: Bool = false) async throws -> Run {
    let environment = [
      "ANSIBLE_STDOUT_CALLBACK": "differential_json",
      "ANSIBLE_CALLBACK_PLUGINS": fixtures + "/callback_plugins",
      "ANSIBLE_HOST_KEY_CHECKING": "False",
      "ANSIBLE_PIPELINING": "True",
      "ANSIBLE_NOCOLOR": "1",
      "ANSIBLE_RETRY_FILES_ENABLED": "False",
      "ANSIBLE_DEPRECATION_WARNINGS": "False",
    ]
    let argv = [
      try ansibleBin.get() + "/ansible-playbook", "-i", inventoryPath, fixtures + "/\(c.name).yml", "-e", "root=\(root)",
    ] + (check ? ["--check"] : []) + c.arguments
    let r = await spawn(argv, environment: environment, timeout: 300)
    return try Run(exitStatus: r.status, stdout: r.stdout, stderr: r.stderr, tool: "ansible-playbook")
  }

  static func runProvision(_ c: Case, root: String, check: Bool = false) async throws -> Run {
    let argv = [
      provisionBinary, "run", fixtures + "/\(c.name).yml", "-i", inventoryPath, "-e", "root=\(root)", "--output", "json",
    ] + (check ? ["--check"] : []) + c.arguments
    let r = await spawn(argv, environment: [:], timeout: 300)
    return try Run(exitStatus: r.status, stdout: r.stdout, stderr: r.stderr, tool: "provision")
  }

  /// Runs a program with posix_spawn and waits for it on a thread of its own (not Foundation's
  /// `Process`, which can stall in these test processes; see `Testbed.script`). Output goes to
  /// files; after `timeout` seconds the program is killed.
  static func spawn(_ argv: [String], environment: [String: String], timeout: Double) async
    -> (status: Int32, stdout: String, stderr: String)
  {
    await withCheckedContinuation { continuation in
      Thread.detachNewThread {
        continuation.resume(returning: spawnAndWait(argv, environment: environment, timeout: timeout))
      }
    }
  }

  static func spawnAndWait(_ argv: [String], environment: [String: String], timeout: Double)
    -> (status: Int32, stdout: String, stderr: String)
  {
    let base = "/tmp/provision-differential-\(UUID())"
    defer {
      unlink(base + ".out")
      unlink(base + ".err")
    }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, base + ".out", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_addopen(&actions, 2, base + ".err", O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    var env = ProcessInfo.processInfo.environment
    for (k, v) in environment { env[k] = v }
    var cArgs = argv.map { strdup($0) } + [nil]
    var cEnv = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
    defer {
      for p in cArgs { free(p) }
      for p in cEnv { free(p) }
    }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, argv[0], &actions, nil, &cArgs, &cEnv)
    guard rc == 0 else { return (127, "", "cannot start \(argv[0]): \(String(cString: strerror(rc)))") }
    var status: Int32 = 0
    let deadline = Date().addingTimeInterval(timeout)
    var killed = false
    while true {
      let r = waitpid(pid, &status, WNOHANG)
      if r == pid || (r < 0 && errno != EINTR) { break }
      if !killed && Date() > deadline {
        kill(pid, SIGKILL)
        killed = true
      }
      usleep(20_000)
    }
    let out = (try? String(contentsOfFile: base + ".out", encoding: .utf8)) ?? ""
    var err = (try? String(contentsOfFile: base + ".err", encoding: .utf8)) ?? ""
    if killed { err += "\n(killed after \(Int(timeout)) s)" }
    let exited = status & 0x7f == 0
    return (exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), out, err)
  }
}
