import ArgumentParser
import Foundation
import Inventory
import Provision

/// `provision exec`: one shell command on every matching host, in parallel, like
/// `ansible PATTERN -m shell -a COMMAND`.
struct ExecCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "exec",
    abstract: "Run one command on every host a pattern selects, in parallel.",
    discussion: """
      Prints each host's output grouped per host, then a summary. Exits 0 when the command
      succeeded everywhere, 2 when it failed on some host, 4 when a host was unreachable.

      Examples:
        provision exec all -i inventories/testbed.ini -- uname -a
        provision exec rancher_servers -i inventories/ha.ini -b -- apt-mark showhold
        provision exec 'cluster:!node4' -i inventories/testbed.ini --forks 50 --timeout 30 -- 'df -h /'
      """)

  @Argument(help: "The host pattern, as for ansible: a group, a host, 'a:&b', 'a:!b', '~regex'.")
  var pattern: String

  @Option(name: [.short, .customLong("inventory")], help: "An inventory file, directory or host list; repeatable.")
  var inventory: [String] = []

  @Option(name: .shortAndLong, help: "How many hosts to run on at once.")
  var forks: Int = 50

  @Flag(name: [.customShort("b"), .customLong("become")], help: "Run the command with sudo.")
  var become = false

  @Option(name: .customLong("become-user"), help: "The user to become.")
  var becomeUser: String?

  @Flag(
    name: [.customShort("K"), .customLong("ask-become-pass")],
    help: "Ask for the sudo password (or set PROVISION_BECOME_PASSWORD).")
  var askBecomePass = false

  @Flag(
    name: [.customShort("k"), .customLong("ask-pass")],
    help: "Ask for the SSH password (or set PROVISION_SSH_PASSWORD).")
  var askPass = false

  @Option(name: [.customShort("F"), .customLong("ssh-config")], help: "Read this SSH client config instead of ~/.ssh/config.")
  var sshConfig: String?

  @Option(help: "Seconds after which the command is killed on each host.")
  var timeout: Double?

  @Option(name: [.short, .customLong("user")], help: "Log in as this user.")
  var user: String?

  @Option(name: .customLong("private-key"), help: "The private key file to authenticate with.")
  var privateKey: String?

  @Option(name: [.short, .customLong("limit")], help: "Further limit the hosts with a pattern.")
  var limit: String?

  @Argument(parsing: .postTerminator, help: "The command, after '--'.")
  var command: [String] = []

  func run() async throws {
    SSHTransport.warmUp()
    guard !command.isEmpty else {
      printError("error: give the command after '--', as in: provision exec all -i hosts -- uptime")
      throw ExitCode(ExitStatus.usage)
    }
    let sources = inventory.isEmpty ? ["inventories/testbed.ini"] : inventory
    let inv: Inventory
    let hosts: [String]
    do {
      inv = try InventoryLoader.load(sources: sources)
      let selection = try inv.select(pattern, limit: limit)
      for w in selection.warnings { printError("[WARNING]: \(w)") }
      hosts = selection.hosts
    } catch {
      throw fail(error)
    }
    guard !hosts.isEmpty else {
      printError("[WARNING]: no hosts matched, nothing to do")
      return
    }
    let shell = command.count == 1 ? command[0] : command.map(shellQuote).joined(separator: " ")
    let becomePassword = Secrets.password(
      ask: askBecomePass, prompt: "BECOME password: ", environment: "PROVISION_BECOME_PASSWORD")
    let sshPassword = Secrets.password(
      ask: askPass, prompt: "SSH password: ", environment: "PROVISION_SSH_PASSWORD")
    // Encrypted key files: the passphrase comes from the environment, never from a flag.
    let passphrase = ProcessInfo.processInfo.environment["PROVISION_SSH_PASSPHRASE"]
    let config = sshConfig.map { SSHConfig(contentsOf: $0) }
    var targets: [(String, ConnectionSettings)] = []
    for host in hosts {
      var vars = inv.variables(of: host)
      if let user { vars["ansible_user"] = .string(user) }
      if let privateKey { vars["ansible_ssh_private_key_file"] = .string(privateKey) }
      if become { vars["ansible_become"] = .bool(true) }
      if let becomeUser { vars["ansible_become_user"] = .string(becomeUser) }
      if let becomePassword { vars["ansible_become_password"] = .string(becomePassword) }
      if let sshPassword { vars["ansible_password"] = .string(sshPassword) }
      var settings = ConnectionSettings.resolve(host: host, variables: vars, sshConfig: config)
      settings.passphrase = passphrase
      targets.append((host, settings))
    }
    let started = Date()
    let results = await ParallelExec.run(
      targets: targets, command: shell, timeout: timeout, forks: max(1, forks))
    var failed = 0
    var unreachable = 0
    for (host, outcome) in results {
      switch outcome {
      case .finished(let result):
        let ok = result.succeeded
        if !ok { failed += 1 }
        let status = result.exitSignal.map { "signal=\($0)" } ?? "rc=\(result.exitStatus.map(String.init) ?? "?")"
        print("\(host) | \(ok ? "CHANGED" : "FAILED") | \(status) >>")
        let out = result.stdoutText + (result.stderr.isEmpty ? "" : result.stderrText)
        if !out.isEmpty { print(out.hasSuffix("\n") ? String(out.dropLast()) : out) }
      case .unreachable(let error):
        unreachable += 1
        print("\(host) | UNREACHABLE! => \(error)")
      case .failed(let error):
        failed += 1
        print("\(host) | FAILED! => \(error)")
      }
    }
    let seconds = String(format: "%.2f", Date().timeIntervalSince(started))
    let ok = results.count - failed - unreachable
    print("\(results.count) host\(results.count == 1 ? "" : "s"): \(ok) ok, \(failed) failed, \(unreachable) unreachable in \(seconds) s")
    if unreachable > 0 { throw ExitCode(ExitStatus.hostUnreachable) }
    if failed > 0 { throw ExitCode(ExitStatus.hostFailed) }
  }

  func shellQuote(_ word: String) -> String {
    word.allSatisfy({ $0.isLetter || $0.isNumber || "-_./=:,+@%".contains($0) }) && !word.isEmpty
      ? word : "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'"
  }
}
