import Foundation
import Inventory
import Testing

@testable import Provision

/// Keeps what a run did, per host and task.
final class RunLog: RunReporter {
  var results: [(task: String, result: TaskResult)] = []
  var notices: [String] = []
  var recap: RunRecap?

  func playStarted(_ play: Play) {}
  private var title = ""
  func taskStarted(_ title: String, task: PlaybookTask?, isHandler: Bool) { self.title = title }
  func hostFinished(_ result: TaskResult, task: PlaybookTask?) {
    results.append((title, result))
  }
  func warning(_ message: String) { notices.append(message) }
  func notice(_ message: String) { notices.append(message) }
  func runFinished(_ recap: RunRecap) { self.recap = recap }

  /// The tasks that changed (or, in check mode, would change) `host`, in order. A command that
  /// check mode skips because it "would have run" counts as a predicted change.
  func changes(_ host: String) -> [String] {
    results.filter { entry in
      entry.result.host == host
        && (entry.result.status == .changed
          || (entry.result.isCheck && entry.result.status == .skipped
            && entry.result.result["msg"] == "Command would have run if not in check mode"))
    }.map(\.task)
  }

  func changed(_ host: String) -> Int { recap?.hosts.first { $0.name == host }?.stats.changed ?? -1 }

  func failures(_ host: String) -> [String] {
    results.filter { $0.result.host == host && $0.result.status == .failed && !$0.result.isIgnored }
      .map { "\($0.task): \($0.result.message ?? "")" }
  }
}

/// The Rancher HA playbook end to end on the test hosts: converge, re-run, check mode, drift
/// and faults, as issue 6 describes.
@Suite(.serialized) struct RancherHATests {
  static let playbook = Testbed.root + "/playbooks/rancher-ha.yml"
  static let nodes = ["node1", "node2", "node3", "node4", "node5", "node6"]
  static let servers = ["node1", "node2", "node3"]
  static let agents = ["node4", "node5"]

  func run(
    check: Bool = false, extra: OrderedDict = [:], inventory: Inventory? = nil
  ) async throws -> RunLog {
    var options = RunOptions()
    options.check = check
    options.forks = 10
    options.extraVars = extra
    let log = RunLog()
    let runner = PlaybookRunner(inventory: try inventory ?? Testbed.shared(), options: options, reporter: log)
    _ = await runner.run([try PlaybookLoader.load(Self.playbook)])
    return log
  }

  func sh(_ host: String, _ command: String) async throws -> CommandResult {
    let transport = try Testbed.settings(host).makeTransport()
    defer { Task { await transport.close() } }
    return try await transport.run(RemoteCommand(command, timeout: 60))
  }

  /// Every file of every host's own layer, with type, mode, owner, size and content hash:
  /// what "not a byte changed" is measured with. Logs, runtime and the stand-ins' process
  /// bookkeeping are left out: sshd and the stand-in daemons write them on their own.
  func snapshot() -> String {
    let out = Testbed.script(
      "scripts/testbed-snapshot", Self.nodes.map { "/var/lib/provision-testbed/nodes/\($0)/upper" })
    return out.output
  }

  @Test func convergesRepairsDriftAndStopsEarlyOnPreflightFailures() async throws {
    _ = try Testbed.shared()

    // --check on fresh hosts predicts every change and changes nothing.
    let pristine = snapshot()
    let predicted = try await run(check: true)
    #expect(predicted.recap?.exitStatus == 0, "\(Self.nodes.map { predicted.failures($0) })")
    #expect(snapshot() == pristine, "check mode changed files on a host")

    // The real run converges, making exactly the predicted changes.
    let first = try await run()
    #expect(first.recap?.exitStatus == 0, "\(Self.nodes.map { first.failures($0) })")
    for host in Self.nodes {
      #expect(first.changes(host) == predicted.changes(host), "\(host): predicted vs made")
    }
    for host in Self.servers + Self.agents {
      let pkg = try await sh(host, "dpkg-query -W -f='${Version}' docker-engine; echo; apt-mark showhold")
      #expect(pkg.stdoutText == "1.10.3-0~trusty\ndocker-engine\n", "\(host)")
      let rules = try await sh(host, "iptables -S INPUT")
      #expect(rules.stdoutText.contains("--dports 500,4500"), "\(host): \(rules.stdoutText)")
    }
    for host in Self.servers {
      #expect(try await sh(host, "curl -fsS http://127.0.0.1:18080/ping").stdoutText == "pong", "\(host)")
      let rules = try await sh(host, "iptables -S INPUT").stdoutText
      #expect(rules.contains("--dports 2181,2888,3888,6379,2376"), "\(host)")
    }
    for host in Self.agents {
      let agent = try await sh(host, "sleep 1; docker inspect -f '{{.State.Running}} {{.Config.Image}}' rancher-agent")
      #expect(agent.stdoutText == "true rancher/agent:v1.0.2\n", "\(host)")
    }

    // A second run changes nothing; --check now predicts nothing and changes nothing.
    let second = try await run()
    for host in Self.servers + Self.agents { #expect(second.changed(host) == 0, "\(host): \(second.changes(host))") }
    let converged = snapshot()
    let quiet = try await run(check: true)
    for host in Self.nodes { #expect(quiet.changes(host) == [], "\(host)") }
    #expect(snapshot() == converged, "check mode changed files on a host")

    // Drift, each repaired by one re-run that changes only what drifted.
    _ = try await sh("node4", "docker stop rancher-agent")
    _ = try await sh("node2", "docker rm -f rancher-ha && mkdir -p /var/lib/rancher/state/stray")
    _ = try await sh(
      "node5",
      "apt-mark unhold docker-engine && DEBIAN_FRONTEND=noninteractive apt-get install -y --allow-downgrades docker-engine=1.11.2-0~trusty")
    _ = try await sh("node1", "iptables -D INPUT -p udp -m multiport --dports 500,4500 -m comment --comment 'rancher ipsec' -j ACCEPT")
    let repair = try await run()
    #expect(repair.recap?.exitStatus == 0, "\(Self.nodes.map { repair.failures($0) })")
    #expect(repair.changes("node4") == ["rancher_agent : register the agent with its own address"])
    #expect(
      repair.changes("node2") == [
        "rancher_server : no stale agent state on a node not yet installed",
        "rancher_server : run the HA installer with the pinned image",
      ])
    #expect(repair.changes("node5") == ["docker_engine : docker-engine 1.10.3-0~trusty, held"])
    #expect(repair.changes("node1") == ["rancher_firewall : IPsec between Rancher hosts"])
    #expect(repair.changes("node3") == [] && repair.changes("node6") == [])
    #expect(try await sh("node2", "test -e /var/lib/rancher/state/stray || echo gone").stdoutText == "gone\n")

    // Preflight failures stop the play with the fix named, before any change. The agent's
    // bootstrap container finishes registering in the background first, as the real one does.
    try await Task.sleep(for: .seconds(3))
    let before = snapshot()
    let latest = try await run(extra: ["rancher_server_image": "rancher/server:latest"])
    #expect(latest.recap?.exitStatus == 2)
    #expect(latest.failures("node1").first?.contains("pin a release tag") == true, "\(latest.failures("node1"))")
    let small = try await run(extra: ["ansible_memtotal_mb": 1024])
    #expect(small.recap?.exitStatus == 2)
    #expect(small.failures("node2").first?.contains("give the machine more memory") == true, "\(small.failures("node2"))")
    var twoServers = try Testbed.shared()
    let text = try String(contentsOfFile: Testbed.root + "/inventories/testbed.ini", encoding: .utf8)
      .replacingOccurrences(of: "[rancher_servers]\nnode1\nnode2\nnode3\n", with: "[rancher_servers]\nnode1\nnode2\n")
    twoServers = try InventoryLoader.load(iniText: text, file: Testbed.root + "/inventories/testbed.ini")
    let two = try await run(inventory: twoServers)
    #expect(two.recap?.exitStatus == 2)
    #expect(two.failures("node1").first?.contains("1, 3 or 5") == true, "\(two.failures("node1"))")
    for log in [latest, small, two] {
      #expect(log.recap?.hosts.allSatisfy { $0.stats.changed == 0 } == true)
    }
    #expect(snapshot() == before, "a failed preflight changed files on a host")

    // A server host's sshd down: UNREACHABLE, exit 4, the others converge.
    Testbed.fault("sshd-stop", "node3")
    let down = try await run()
    Testbed.fault("sshd-start", "node3")
    #expect(down.recap?.exitStatus == 4)
    #expect(down.recap?.hosts.first { $0.name == "node3" }?.stats.unreachable == 1)
    for host in ["node1", "node2", "node4", "node5"] { #expect(down.failures(host) == [], "\(host)") }

    // The link between a server and an agent cut: that pair fails clearly, the rest converge;
    // a re-run after restoring it finishes the job.
    _ = try await sh("node4", "docker rm -f rancher-agent")
    Testbed.fault("cut", "node1", "node4")
    let cut = try await run()
    Testbed.fault("restore", "node1", "node4")
    #expect(cut.recap?.exitStatus == 2)
    #expect(cut.failures("node4").first?.contains("cannot reach the Rancher server node1") == true, "\(cut.failures("node4"))")
    for host in ["node1", "node2", "node3", "node5", "node6"] { #expect(cut.failures(host) == [], "\(host)") }
    let healed = try await run()
    #expect(healed.recap?.exitStatus == 0, "\(Self.nodes.map { healed.failures($0) })")
    #expect(healed.changes("node4") == ["rancher_agent : register the agent with its own address"])
  }
}
