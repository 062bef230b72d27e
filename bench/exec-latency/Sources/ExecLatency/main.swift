import Foundation
import Inventory
import Provision

#if canImport(Glibc)
  import Glibc
#endif

// Runs from the repository root, after `scripts/testbed up 25`.
let commands = CommandLine.arguments.count > 1 ? Int(CommandLine.arguments[1]) ?? 200 : 200
let inventory = try InventoryLoader.load(sources: ["inventories/testbed.ini"])
let hosts = inventory.hosts(in: "all")

func settings(_ host: String) -> ConnectionSettings {
  ConnectionSettings.resolve(host: host, variables: inventory.variables(of: host))
}

func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

func median(_ xs: [Double]) -> Double {
  let s = xs.sorted()
  return s.isEmpty ? 0 : s[s.count / 2]
}

/// Starts a program and waits for it, as a user's script would; stdout and stderr discarded.
func spawn(_ argv: [String]) -> Int32 {
  var actions = posix_spawn_file_actions_t()
  posix_spawn_file_actions_init(&actions)
  defer { posix_spawn_file_actions_destroy(&actions) }
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
  var cArgs = argv.map { strdup($0) } + [nil]
  defer { for p in cArgs { free(p) } }
  var pid: pid_t = 0
  guard posix_spawnp(&pid, argv[0], &actions, nil, &cArgs, environ) == 0 else { return 127 }
  var status: Int32 = 0
  while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
  return status
}

// 1. Sequential `true` over one libssh2 session: each on a channel of its own (the raw exec
//    round trip), then in the session's resident shell (what provision's own commands use).
let transport = settings("node1").makeTransport()
_ = try await transport.run("true")  // connect first; the loop measures round trips only
func sequential(ownChannel: Bool) async throws -> [Double] {
  var command = RemoteCommand("true")
  command.ownChannel = ownChannel
  var times: [Double] = []
  for _ in 0..<commands {
    let t = now()
    let r = try await transport.run(command)
    precondition(r.succeeded)
    times.append(now() - t)
  }
  return times
}
let ours = try await sequential(ownChannel: true)
let resident = try await sequential(ownChannel: false)
await transport.close()

// 2. The same through OpenSSH's client over a ControlMaster socket.
let control = "/tmp/provision-bench-cm-\(getpid())"
let ssh = ["ssh", "-F", "inventories/testbed/ssh_config", "-o", "ControlPath=\(control)"]
precondition(spawn(ssh + ["-o", "ControlMaster=yes", "-o", "ControlPersist=120", "-f", "-N", "node1"]) == 0)
var openssh: [Double] = []
for _ in 0..<commands {
  let t = now()
  precondition(spawn(ssh + ["node1", "true"]) == 0)
  openssh.append(now() - t)
}
_ = spawn(ssh + ["-O", "exit", "node1"])

// 3. Connect + authenticate: one host, then 100 connections spread over the hosts at once.
var single: [Double] = []
for _ in 0..<10 {
  let t = now()
  let one = settings("node2").makeTransport()
  _ = try await one.run("true")
  single.append(now() - t)
  await one.close()
}
let hundred = (0..<100).map { hosts[$0 % hosts.count] }
let t100 = now()
try await withThrowingTaskGroup(of: Void.self) { group in
  for host in hundred {
    group.addTask {
      let t = settings(host).makeTransport()
      let r = try await t.run("true")
      precondition(r.succeeded)
      await t.close()
    }
  }
  try await group.waitForAll()
}
let all100 = now() - t100

var load = [Double](repeating: 0, count: 3)
_ = getloadavg(&load, 3)
print(String(format: "exec: %d sequential commands, median %.2f ms over one libssh2 session, %.2f ms with OpenSSH ControlMaster (%.1fx)",
  commands, median(ours) * 1e3, median(openssh) * 1e3, median(openssh) / median(ours)))
print(String(format: "resident shell: %d sequential commands, median %.2f ms", commands, median(resident) * 1e3))
print(String(format: "connect+auth+first command: 1 host median %.1f ms; 100 connections to %d hosts at once %.2f s",
  median(single) * 1e3, hosts.count, all100))
print(String(format: "load average %.2f", load[0]))
