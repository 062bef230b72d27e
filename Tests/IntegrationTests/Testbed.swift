import Foundation

#if canImport(Glibc)
  import Glibc
#endif
import Inventory
import Provision

/// The project's test hosts (`scripts/testbed`), brought up once per test run.
///
/// Tests that need them call `Testbed.shared()`, which throws with the reason when the hosts
/// cannot be had (not root, no debootstrap): the test then fails, it is never skipped.
enum Testbed {
  struct Unavailable: Error, CustomStringConvertible {
    var description: String
  }

  static let root: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<3 { url.deleteLastPathComponent() }
    return url.path
  }()

  static let hostCount = 6

  /// Brings the hosts up (idempotent) and loads their inventory.
  static let inventory: Result<Inventory, Unavailable> = {
    guard getuid() == 0 else {
      return .failure(Unavailable(description: "the test hosts need root: run 'sudo scripts/test'"))
    }
    // Fresh hosts for every run: fault tests change host keys and kill hosts.
    _ = script("scripts/testbed", ["down"])
    let out = script("scripts/testbed", ["up", String(hostCount)])
    guard out.status == 0 else {
      return .failure(Unavailable(description: "scripts/testbed up failed: \(out.output)"))
    }
    do {
      return .success(try InventoryLoader.load(sources: [root + "/inventories/testbed.ini"]))
    } catch {
      return .failure(Unavailable(description: "cannot read the test hosts' inventory: \(error)"))
    }
  }()

  static func shared() throws -> Inventory { try inventory.get() }

  /// Connection settings for `host`, optionally as another user.
  static func settings(_ host: String, user: String? = nil, become: Bool = false, becomePassword: String? = nil)
    throws -> ConnectionSettings
  {
    var vars = try shared().variables(of: host)
    if let user { vars["ansible_user"] = .string(user) }
    if become { vars["ansible_become"] = .bool(true) }
    if let becomePassword { vars["ansible_become_password"] = .string(becomePassword) }
    return ConnectionSettings.resolve(host: host, variables: vars)
  }

  static var opsPassword: String {
    (try? String(contentsOfFile: root + "/inventories/testbed/ops_password", encoding: .utf8))?
      .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
  }

  /// Runs `scripts/testbed fault ARGS...`.
  @discardableResult
  static func fault(_ args: String...) -> (status: Int32, output: String) {
    script("scripts/testbed", ["fault"] + args)
  }

  /// Runs a script to completion with posix_spawn and waitpid.
  ///
  /// Not Foundation's `Process`: on Linux its child reaping stalled here once SSH connection
  /// threads were running, leaving the script a zombie and the test waiting forever. Output
  /// goes to a file, not a pipe, because hosts started in the background inherit it.
  static func script(_ path: String, _ args: [String]) -> (status: Int32, output: String) {
    let log = "/tmp/provision-testbed-\(UUID()).log"
    defer { unlink(log) }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 1, log, O_WRONLY | O_CREAT | O_TRUNC, 0o600)
    posix_spawn_file_actions_adddup2(&actions, 1, 2)
    let argv = [root + "/" + path] + args
    var cArgs = argv.map { strdup($0) } + [nil]
    defer { for p in cArgs { free(p) } }
    var pid: pid_t = 0
    let rc = posix_spawn(&pid, argv[0], &actions, nil, &cArgs, environ)
    guard rc == 0 else { return (127, "cannot start \(argv[0]): \(String(cString: strerror(rc)))") }
    var status: Int32 = 0
    while waitpid(pid, &status, 0) < 0 && errno == EINTR {}
    let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
    let exited = status & 0x7f == 0
    return (exited ? (status >> 8) & 0xff : 128 + (status & 0x7f), output)
  }
}
