import Foundation
import Inventory
import Testing

@testable import Provision

/// `provision plan`, `show`, `apply` and `drift` through the built binary on the test hosts,
/// with secrets from files that ansible-vault encrypts when the test runs.
@Suite(.serialized) struct PlanIntegrationTests {
  static let fixtures = Testbed.root + "/Tests/IntegrationTests/Fixtures/plans"
  static let work = "/tmp/provision-plan-it"
  static let hosts = ["node1", "node2", "node3"]
  static let binary = DifferentialTests.provisionBinary

  /// Every command's output and every file written, to look for the secrets in.
  final class Outputs: @unchecked Sendable {
    var texts: [(what: String, text: String)] = []
  }

  struct Result {
    var status: Int32
    var stdout: String
    var stderr: String
  }

  let outputs = Outputs()
  let dbPassword = "db-" + UUID().uuidString.prefix(13).lowercased()
  let apiToken = "tok-" + UUID().uuidString.suffix(12).lowercased()

  func provision(_ args: [String]) async -> Result {
    let r = await DifferentialTests.spawn(
      [Self.binary] + args + ["--vault-password-file", Self.work + "/vault-pass"], environment: ["NO_COLOR": "1"], timeout: 300)
    outputs.texts.append(("provision \(args.joined(separator: " "))", r.stdout + r.stderr))
    return Result(status: r.status, stdout: r.stdout, stderr: r.stderr)
  }

  func show(_ format: String) async -> Result {
    let r = await DifferentialTests.spawn([Self.binary, "show", Self.work + "/plan.json", "--format", format], environment: [:], timeout: 60)
    outputs.texts.append(("show \(format)", r.stdout + r.stderr))
    return Result(status: r.status, stdout: r.stdout, stderr: r.stderr)
  }

  func plan(_ extra: [String] = []) async -> Result {
    await provision(
      ["plan", Self.work + "/site.yml", "-i", Testbed.root + "/inventories/testbed.ini", "-l", Self.hosts.joined(separator: ","), "--out", Self.work + "/plan.json"]
        + extra)
  }

  func sh(_ host: String, _ command: String) async throws -> CommandResult {
    let transport = try Testbed.settings(host).makeTransport()
    defer { Task { await transport.close() } }
    return try await transport.run(RemoteCommand(command, timeout: 60))
  }

  func snapshot(_ hosts: [String]) -> String {
    Testbed.script("scripts/testbed-snapshot", hosts.map { "/var/lib/provision-testbed/nodes/\($0)/upper" }).output
  }

  /// The working directory: the playbook, and vars files that ansible-vault encrypts.
  func prepare() async throws {
    try await DifferentialTests.prerequisites()
    let ansible = try DifferentialTests.ansibleBin.get()
    let fm = FileManager.default
    try? fm.removeItem(atPath: Self.work)
    try fm.createDirectory(atPath: Self.work, withIntermediateDirectories: true)
    try fm.copyItem(atPath: Self.fixtures + "/site.yml", toPath: Self.work + "/site.yml")
    try "correct horse battery\n".write(toFile: Self.work + "/vault-pass", atomically: true, encoding: .utf8)
    try "db_password: \(dbPassword)\n".write(toFile: Self.work + "/secrets.yml", atomically: true, encoding: .utf8)
    let encrypt = await DifferentialTests.spawn(
      [ansible + "/ansible-vault", "encrypt", "--vault-password-file", Self.work + "/vault-pass", Self.work + "/secrets.yml"],
      environment: [:], timeout: 120)
    #expect(encrypt.status == 0, "\(encrypt.stderr)")
    let inline = await DifferentialTests.spawn(
      [ansible + "/ansible-vault", "encrypt_string", "--vault-password-file", Self.work + "/vault-pass", "--name", "api_token", apiToken],
      environment: [:], timeout: 120)
    #expect(inline.status == 0, "\(inline.stderr)")
    try inline.stdout.write(toFile: Self.work + "/token.yml", atomically: true, encoding: .utf8)
    #expect(try String(contentsOfFile: Self.work + "/secrets.yml", encoding: .utf8).hasPrefix("$ANSIBLE_VAULT;1.1;AES256\n"))
    #expect(inline.stdout.contains("!vault |"))
    for host in Self.hosts { _ = try await sh(host, "rm -rf /srv/plan-it") }
  }

  @Test func planShowApplyAndDrift() async throws {
    try await prepare()
    let pristine = snapshot(Self.hosts)

    // plan: exit 0, nothing on the hosts changes, and the same inputs give the same bytes.
    let first = await plan()
    #expect(first.status == 0, "\(first.stdout)\(first.stderr)")
    #expect(first.stdout.contains("Plan: 12 to add, 3 to change, 0 to remove, 3 to run on 3 of 3 hosts."), "\(first.stdout)")
    let planned = try Data(contentsOf: URL(fileURLWithPath: Self.work + "/plan.json"))
    #expect(snapshot(Self.hosts) == pristine, "plan changed a host")
    _ = await plan()
    #expect(try Data(contentsOf: URL(fileURLWithPath: Self.work + "/plan.json")) == planned, "two plans of the same state differ")
    outputs.texts.append(("plan.json", String(decoding: planned, as: UTF8.self)))

    // show: markdown as whole text against the golden file; human and JSON renderings.
    let markdown = await show("markdown")
    #expect(markdown.status == 0)
    try expectGolden(Self.normalize(markdown.stdout), "site.md")
    let human = await show("human")
    #expect(human.stdout.contains("TASK [the service configuration] ***"))
    #expect(human.stdout.contains("+db_password=(sensitive)"))
    let json = await show("json")
    #expect(json.stdout.utf8.elementsEqual(planned))

    // A host changed between plan and apply: --all-or-nothing applies nothing anywhere.
    _ = try await sh("node2", "mkdir -p /srv/plan-it/conf.d && chmod 700 /srv/plan-it/conf.d")
    let drifted = snapshot(Self.hosts)
    let none = await provision(["apply", Self.work + "/plan.json", "--all-or-nothing"])
    #expect(none.status == 2, "\(none.stdout)\(none.stderr)")
    #expect(none.stdout.contains("stale plan: node2 changed since the plan was made; it is left untouched:"))
    #expect(none.stdout.contains("TASK [the service directory]: planned changed (+ directory /srv/plan-it/conf.d; ~ mode of /srv/plan-it/conf.d"))
    #expect(snapshot(Self.hosts) == drifted, "--all-or-nothing changed a host")

    // Without it the stale host is refused and untouched, and the others apply exactly the plan.
    let node2 = snapshot(["node2"])
    let applied = await provision(["apply", Self.work + "/plan.json"])
    #expect(applied.status == 2, "\(applied.stdout)\(applied.stderr)")
    #expect(snapshot(["node2"]) == node2, "apply touched the stale host")
    #expect(!applied.stdout.contains("[node2]"))
    #expect(applied.stdout.contains("changed: [node1]") && applied.stdout.contains("changed: [node3]"))
    for host in ["node1", "node3"] {
      let conf = try await sh(host, "stat -c %a /srv/plan-it/conf.d/app.conf && cat /srv/plan-it/conf.d/app.conf && ls /srv/plan-it")
      #expect(conf.stdoutText == "640\nlisten=\(host):8080\ndb_password=\(dbPassword)\nmotd=welcome \(apiToken)\ncache\nconf.d\nreloaded\n")
    }

    // A plan applied is spent: the hosts it changed no longer match it.
    let again = await provision(["apply", Self.work + "/plan.json"])
    #expect(again.status == 2)
    #expect(again.stdout.contains("stale plan: node1"))

    // Changed inputs refuse the whole plan.
    _ = await plan()
    let site = try String(contentsOfFile: Self.work + "/site.yml", encoding: .utf8)
    try site.replacingOccurrences(of: "8080", with: "8081").write(toFile: Self.work + "/site.yml", atomically: true, encoding: .utf8)
    let before = snapshot(Self.hosts)
    let edited = await provision(["apply", Self.work + "/plan.json"])
    #expect(edited.status == 1, "\(edited.stdout)\(edited.stderr)")
    #expect(edited.stderr.contains("the inputs changed since the plan was made; nothing was applied:\n  changed: \(Self.work)/site.yml"))
    #expect(snapshot(Self.hosts) == before)
    try site.write(toFile: Self.work + "/site.yml", atomically: true, encoding: .utf8)

    // drift: node2 drifted (2), all converged (0), one unreachable (4).
    let drift = await provision(["drift", Self.work + "/site.yml", "-i", Testbed.root + "/inventories/testbed.ini", "-l", "node1,node2,node3"])
    #expect(drift.status == 2, "\(drift.stdout)\(drift.stderr)")
    #expect(drift.stdout.hasPrefix("node1: converged\nnode2: drifted (3 tasks would change)\n  TASK [the service directory] "), "\(drift.stdout)")
    #expect(drift.stdout.hasSuffix("2 converged, 1 drifted, 0 failed, 0 unreachable\n"))
    let run = await provision(["run", Self.work + "/site.yml", "-i", Testbed.root + "/inventories/testbed.ini", "-l", "node2"])
    #expect(run.status == 0, "\(run.stdout)")
    let clean = await provision(["drift", Self.work + "/site.yml", "-i", Testbed.root + "/inventories/testbed.ini", "-l", "node1,node2,node3", "--output", "json"])
    #expect(clean.status == 0, "\(clean.stdout)\(clean.stderr)")
    let report = try JSONDecoder().decode(DriftReport.self, from: Data(clean.stdout.utf8))
    #expect(report.hosts.map(\.status) == ["converged", "converged", "converged"])
    Testbed.fault("sshd-stop", "node3")
    let down = await provision(["drift", Self.work + "/site.yml", "-i", Testbed.root + "/inventories/testbed.ini", "-l", "node1,node2,node3", "-T", "5"])
    Testbed.fault("sshd-start", "node3")
    #expect(down.status == 4, "\(down.stdout)\(down.stderr)")
    #expect(down.stdout.contains("node3: unreachable: "))

    // No output and no file anywhere holds a secret; the hosts got them.
    for (what, text) in outputs.texts {
      #expect(!text.contains(dbPassword), "\(what) shows the database password")
      #expect(!text.contains(apiToken), "\(what) shows the API token")
    }
  }

  @Test func planFollowsARepositoryAnEarlierTaskAdds() async throws {
    try await prepare()
    let playbook = Self.fixtures + "/repository.yml"
    let inventory = Testbed.root + "/inventories/testbed.ini"
    // node6 without any package source: the install can only come from the added repository.
    _ = try await sh("node6", "mv /etc/apt/sources.list /etc/apt/sources.list.off && rm -rf /var/lib/apt/lists/* && apt-get update -q >/dev/null 2>&1")
    let before = snapshot(["node6"])
    let planned = await provision(["plan", playbook, "-i", inventory, "--out", Self.work + "/repository.json"])
    #expect(planned.status == 0, "\(planned.stdout)\(planned.stderr)")
    #expect(snapshot(["node6"]) == before, "planning changed node6")
    let plan = try SavedPlan.load(Self.work + "/repository.json")
    let steps = plan.results(of: "node6").flatMap { $0.result.steps.map { "\($0.op) \($0.summary)" } }
    #expect(
      steps == [
        "+ apt source deb [trusted=yes] file:/srv/repo ./ in /etc/apt/sources.list.d/local.list", "! apt-get update",
        "! install docker-engine: (none) -> 1.10.3-0~trusty from file:/srv/repo ./ Packages, which an earlier task adds",
      ])
    let applied = await provision(["apply", Self.work + "/repository.json"])
    #expect(applied.status == 0, "\(applied.stdout)\(applied.stderr)")
    #expect(try await sh("node6", "dpkg-query -W -f='${Version}' docker-engine").stdoutText == "1.10.3-0~trusty")
    let drift = await provision(["drift", playbook, "-i", inventory])
    #expect(drift.status == 0, "\(drift.stdout)")
    _ = try await sh(
      "node6",
      "apt-get purge -y -q docker-engine >/dev/null 2>&1; rm -f /etc/apt/sources.list.d/local.list; mv /etc/apt/sources.list.off /etc/apt/sources.list; apt-get update -q >/dev/null 2>&1")
  }

  /// The footer names the input digest and version, which change with every vault encryption,
  /// and the inventory's path names the checkout.
  static func normalize(_ markdown: String) -> String {
    markdown.replacingOccurrences(of: Testbed.root + "/", with: "CHECKOUT/").replacingOccurrences(of: #"<sub>Plan sha256:[0-9a-f]+ · schema ([^ ]+) · provision [^<]+</sub>"#, with: "<sub>Plan sha256:… · schema $1 · provision …</sub>", options: .regularExpression)
  }

  /// Compares with `Fixtures/plans/NAME`; `PROVISION_UPDATE_GOLDEN=1` rewrites it.
  func expectGolden(_ text: String, _ name: String) throws {
    let path = Self.fixtures + "/" + name
    if ProcessInfo.processInfo.environment["PROVISION_UPDATE_GOLDEN"] == "1" {
      try text.write(toFile: path, atomically: true, encoding: .utf8)
    }
    #expect(text == (try String(contentsOfFile: path, encoding: .utf8)), "markdown differs from \(name)")
  }
}
