import Foundation
import Inventory
import Testing

@testable import Provision

/// Saved plans over the local transport: plan, apply exactly, refuse stale hosts, drift.
@Suite(.serialized) struct PlanTests {
  let root: URL

  init() throws {
    root = FileManager.default.temporaryDirectory.appendingPathComponent("plan-\(UUID())")
    try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
  }

  func write(_ name: String, _ text: String) throws -> String {
    let url = root.appendingPathComponent(name)
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try text.write(to: url, atomically: true, encoding: .utf8)
    return url.path
  }

  var inventory: Inventory {
    get throws { try InventoryLoader.load(iniText: "h1 ansible_connection=local\nh2 ansible_connection=local\n", file: "hosts") }
  }

  func options(limit: String? = nil) -> RunOptions {
    var o = RunOptions()
    o.extraVars["root"] = .string(root.path + "/hosts")
    o.limit = limit
    return o
  }

  func plan(_ playbook: String, redactor: Redactor = Redactor(secrets: [])) async throws -> SavedPlan {
    let o = options()
    let inputs = PlanInputs.compute(
      playbooks: [playbook], inventory: [], limit: nil, tags: [], skipTags: [], extraVars: o.extraVars, rolesPath: [],
      redactor: redactor)
    return await PlanRun.check([try PlaybookLoader.load(playbook)], inventory: try inventory, options: o, inputs: inputs, redactor: redactor).plan
  }

  func apply(_ playbook: String, _ plan: SavedPlan, limit: String? = nil) async throws -> RecordingReporter {
    var o = options(limit: limit)
    o.applyGuard = PlanApplyGuard(plan)
    let reporter = RecordingReporter()
    _ = await PlaybookRunner(inventory: try inventory, options: o, reporter: reporter).run([try PlaybookLoader.load(playbook)])
    return reporter
  }

  /// Every file below the hosts' directory with its mode and content.
  func tree(_ host: String) throws -> [String: String] {
    var out: [String: String] = [:]
    let base = root.appendingPathComponent("hosts/\(host)").path
    guard let e = FileManager.default.enumerator(atPath: base) else { return [:] }
    for case let rel as String in e {
      let path = base + "/" + rel
      let attrs = try FileManager.default.attributesOfItem(atPath: path)
      let mode = String((attrs[.posixPermissions] as? Int) ?? 0, radix: 8)
      out[rel] = mode + " " + ((try? String(contentsOfFile: path, encoding: .utf8)) ?? "<dir>")
    }
    return out
  }

  /// The titles of the tasks a plan changes (or runs) on `host`.
  func plannedTasks(_ plan: SavedPlan, _ host: String) -> [String] {
    plan.results(of: host).filter { PlanRenderer.shows($0.result) && $0.result.status != PlanStatus.knownAfterApply }.map(\.task.title)
  }

  @Test func planIsDeterministicAndApplyMakesExactlyIt() async throws {
    let playbook = try write("site.yml", EngineLocalTests.site)
    let first = try await plan(playbook)
    let second = try await plan(playbook)
    #expect(try first.encoded() == second.encoded())
    #expect(try tree("h1").isEmpty)
    #expect(first.hosts.map(\.name) == ["h1", "h2"])
    #expect(first.hosts[0].status == "changes")
    // + directory ~ its mode, + config, + link, + 3 loop directories; ! "once" and the handler.
    #expect((first.hosts[0].add, first.hosts[0].change, first.hosts[0].remove, first.hosts[0].run) == (6, 1, 0, 2))
    // `changed_when: false` marks a read; the assert that reads its output waits for a real run.
    #expect(first.results(of: "h1").first { $0.task.title == "check it" }?.result.status == PlanStatus.knownAfterApply)

    let applied = try await apply(playbook, first)
    #expect(applied.recap?.exitStatus == 0)
    for host in ["h1", "h2"] {
      #expect(applied.changedTasks(host) == plannedTasks(first, host))
    }
    let after = try await plan(playbook)
    #expect(after.hosts.allSatisfy { $0.status == "no changes" }, "\(PlanRenderer.markdown(after))")
    #expect(DriftReport(after).exitStatus == 0)
  }

  @Test func staleHostIsRefusedAndLeftUntouched() async throws {
    let playbook = try write("site.yml", EngineLocalTests.site)
    let saved = try await plan(playbook)
    // h1 changes after the plan: its directory appears with another mode.
    try FileManager.default.createDirectory(atPath: root.path + "/hosts/h1/conf.d", withIntermediateDirectories: true)
    try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: root.path + "/hosts/h1/conf.d")
    let before = try tree("h1")
    let now = try await plan(playbook)
    let verification = PlanVerification.compare(saved: saved, now: now)
    #expect(verification.current == ["h2"])
    #expect(verification.stale.map(\.host) == ["h1"])
    let changes = verification.stale.first?.changes ?? []
    #expect(changes.first?.hasPrefix("TASK [directory]: planned changed (+ directory ") == true)
    #expect(changes.first?.contains("now changed (~ mode") == true)
    let applied = try await apply(playbook, saved, limit: verification.current.joined(separator: ","))
    #expect(applied.recap?.exitStatus == 0)
    #expect(try tree("h1") == before)
    #expect(applied.changedTasks("h2") == plannedTasks(saved, "h2"))
  }

  @Test func applyRefusesChangesThePlanDoesNotHold() async throws {
    let playbook = try write("site.yml", EngineLocalTests.site)
    _ = try await apply(playbook, try await plan(playbook))
    let converged = try await plan(playbook)
    #expect(converged.hosts.allSatisfy { !$0.hasChanges })
    // A change slips in after the re-check: the guard stops h1 at the first unplanned change.
    try "edited\n".write(toFile: root.path + "/hosts/h1/conf.d/app.conf", atomically: true, encoding: .utf8)
    let applied = try await apply(playbook, converged)
    let refused = applied.results.first { $0.result.host == "h1" && $0.result.status == .failed }
    #expect(refused?.task == "config")
    #expect(refused?.result.message?.hasPrefix("stale plan: this task would now ~ content of ") == true)
    #expect(try String(contentsOfFile: root.path + "/hosts/h1/conf.d/app.conf", encoding: .utf8) == "edited\n")
    #expect(applied.stats("h1")?.failures == 1)
    #expect(applied.stats("h2")?.changed == 0)
    #expect(applied.stats("h2")?.failures == 0)
  }

  @Test func driftReportsDriftedHostsAndTheirTasks() async throws {
    let playbook = try write("site.yml", EngineLocalTests.site)
    _ = try await apply(playbook, try await plan(playbook))
    try FileManager.default.removeItem(atPath: root.path + "/hosts/h2/b c")
    let report = DriftReport(try await plan(playbook))
    #expect(report.exitStatus == 2)
    #expect(report.hosts.map(\.status) == ["converged", "drifted"])
    #expect(report.hosts[1].drifted.map(\.task) == ["looped"])
    #expect(report.hosts[1].drifted.first?.steps.map(\.op) == ["+"])
    #expect(report.text.contains("h2: drifted (1 task would change)\n  TASK [looped] "))
  }

  @Test func unreachableHostsAreReportedAsSuch() async throws {
    let playbook = try write("site.yml", EngineLocalTests.site)
    let inv = try InventoryLoader.load(
      iniText: "h1 ansible_connection=local\nh2 ansible_host=127.0.0.1 ansible_port=1 ansible_connection=ssh\n", file: "hosts")
    let o = options()
    let inputs = PlanInputs.compute(
      playbooks: [playbook], inventory: [], limit: nil, tags: [], skipTags: [], extraVars: [:], rolesPath: [],
      redactor: Redactor(secrets: []))
    let plan = await PlanRun.check([try PlaybookLoader.load(playbook)], inventory: inv, options: o, inputs: inputs, redactor: Redactor(secrets: [])).plan
    #expect(plan.hosts.map(\.status) == ["changes", "unreachable"])
    #expect(DriftReport(plan).exitStatus == 4)
  }

  @Test func secretsStayOutOfPlans() async throws {
    let playbook = try write(
      "secret.yml",
      """
      - hosts: all
        gather_facts: false
        vars:
          dir: "{{ root }}/{{ inventory_hostname }}"
        tasks:
          - file: { path: "{{ dir }}", state: directory }
          - name: config with a vaulted value
            copy: { dest: "{{ dir }}/app.conf", content: "user=app\\nsecret_word={{ word }}\\nmotd=the word is {{ word }}\\n" }
          - name: hidden
            copy: { dest: "{{ dir }}/hidden", content: "{{ word }}-{{ word }}\\n" }
            no_log: true
          - name: loop over secrets
            file: { path: "{{ dir }}/{{ item }}", state: directory }
            loop: ["{{ word }}"]
            no_log: true
      """)
    var o = options()
    o.extraVars["word"] = "swordfish-42"
    let redactor = Redactor(secrets: ["swordfish-42"])
    let inputs = PlanInputs.compute(
      playbooks: [playbook], inventory: [], limit: nil, tags: [], skipTags: [], extraVars: o.extraVars, rolesPath: [],
      redactor: redactor)
    let plan = await PlanRun.check([try PlaybookLoader.load(playbook)], inventory: try inventory, options: o, inputs: inputs, redactor: redactor).plan
    var human = ""
    PlanRenderer.human(plan) { human += $0 }
    for text in [String(decoding: try plan.encoded(), as: UTF8.self), PlanRenderer.markdown(plan), human] {
      #expect(!text.contains("swordfish"))
      #expect(text.contains("(sensitive)"))
    }
    #expect(PlanRenderer.markdown(plan).contains("+motd=the word is (sensitive)"))
  }

  @Test func redactorMasksSensitiveSettings() {
    let r = Redactor(secrets: ["hunter2", "hunter22"])
    #expect(r.redact("db_password=abc def") == "db_password=(sensitive) def")
    #expect(r.redact("  \"api_token\": \"xyz\",") == "  \"api_token\": (sensitive),")
    #expect(r.redact("SECRET_KEY: 'a b c'") == "SECRET_KEY: (sensitive)")
    #expect(r.redact("--password 'p w'") == "--password (sensitive)")
    #expect(r.redact("login with hunter22 or hunter2") == "login with (sensitive) or (sensitive)")
    #expect(r.redact("port=80 name=web") == "port=80 name=web")
    #expect(r.redact("db_password=hunter2)") == "db_password=(sensitive))")
    #expect(r.redact("db_password=hunter2") == "db_password=(sensitive)")
    let vars: OrderedDict = ["port": 80, "name": "web", "ports": [80, "443"], "on": true]
    let kept = PlanInputs.recorded(vars, redactor: r)
    #expect(kept["port"] == "80" && kept["name"] == "\"web\"")
    func inputs(_ extraVars: [String: String]) -> PlanInputs {
      PlanInputs(playbooks: [], inventory: [], limit: nil, tags: [], skipTags: [], extraVars: extraVars, extraVarsDigest: "", files: [:], digest: "")
    }
    #expect(inputs(kept).replayableExtraVars == vars)
    let secret = PlanInputs.recorded(["db_password": "x", "note": "uses hunter2", "port": 80], redactor: r)
    #expect(secret == ["db_password": "(sensitive)", "note": "(sensitive)", "port": "80"])
    #expect(inputs(secret).replayableExtraVars == nil)
  }

  /// The renderings of a fixed plan, as whole text. `PROVISION_UPDATE_GOLDEN=1` rewrites them.
  @Test(arguments: ["markdown", "human"]) func renderingsMatchGoldenFiles(format: String) throws {
    let fixtures = try #require(Bundle.module.url(forResource: "Fixtures/plans", withExtension: nil))
    let plan = try SavedPlan.load(fixtures.appendingPathComponent("sample.plan.json").path)
    var text = ""
    if format == "markdown" { text = PlanRenderer.markdown(plan) } else { PlanRenderer.human(plan) { text += $0 } }
    let name = format == "markdown" ? "sample.md" : "sample.human.txt"
    let golden = fixtures.appendingPathComponent(name).path
    if ProcessInfo.processInfo.environment["PROVISION_UPDATE_GOLDEN"] == "1" {
      let source = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("Fixtures/plans/" + name)
      try text.write(to: source, atomically: true, encoding: .utf8)
    }
    #expect(text == (try String(contentsOfFile: golden, encoding: .utf8)))
  }
}
