import Foundation

/// A `RemoteCommand` as the single shell line sent to the host, with its sudo markers.
///
/// The line has the shape
/// `LANG=C.UTF-8 LC_ALL=C.UTF-8 NAME=value… [timeout -k 2 N] /bin/sh -c 'script'`, or with
/// privilege escalation `sudo … env LANG=C.UTF-8 … /bin/sh -c 'script'`: sudo resets the
/// environment, so `env` sets it inside, and sshd drops `setenv` requests for names not in
/// `AcceptEnv`. Without sudo the shell's own assignments do it, which saves starting `env` for
/// every command (a name that is no shell identifier still goes through `env`). The remote
/// `timeout` kills a command that outlives its time even if the connection is gone; it is one
/// second longer than the local deadline, so the local side decides and reports `.timeout`.
struct RenderedCommand: Sendable, Equatable {
  /// The line for `exec`: the shell assignments, if any, then the program.
  var line: String { assignments.isEmpty ? program : assignments + " " + program }

  /// The same command for a running shell to start without a new `/bin/sh`: a subshell that
  /// exports the variables and `eval`s the script, so nothing it does (`cd`, `exit`, a syntax
  /// error) reaches the shell. Its `$$` is the running shell's PID, as in any subshell. `line`
  /// when the command needs a program first (`sudo`, `su`, `env`, `timeout`).
  var subshellLine: String { subshell ?? line }
  private var subshell: String?
  /// The prompt sudo prints when it wants the password; nil when no password is sent.
  var becomePrompt: String?
  /// The line the command prints once sudo let it through; nil when no password is sent.
  var becomeSuccess: String?
  /// How the command becomes another user, for messages.
  var becomeMethod: Become.Method = .sudo
  /// The sudo password, written to stdin only after `becomePrompt` appears.
  var becomePassword: String?
  /// The start of the first stderr line of `trackedLine`, which carries the remote PID.
  var pidMarker: String
  /// The shell assignments that start `line` (empty when it starts with `env` or `sudo`).
  private var assignments = ""
  /// What `line` runs after the assignments.
  private var program: String

  /// `line` for an SSH login shell, first reporting the shell's PID on stderr.
  ///
  /// sshd starts each command in a new session, and `exec` keeps the PID, so the PID is also
  /// the command's process group: a local timeout or cancellation kills that group over a
  /// second channel. Closing the channel alone leaves a quiet command such as `sleep` running.
  var trackedLine: String { "echo \(pidMarker)$$ >&2; \(execLine)" }

  /// `line` for a shell to replace itself with: `exec` goes after the assignments.
  var execLine: String { assignments.isEmpty ? "exec \(program)" : "\(assignments) exec \(program)" }

  /// Renders `command`; `token` makes the sudo markers unique.
  init(_ command: RemoteCommand, token: String = RenderedCommand.randomToken()) {
    pidMarker = "PROVISION-PID-\(token)="
    var script = command.shell
    if let directory = command.workingDirectory {
      script = "cd \(ShellQuoting.quote(directory)) || exit 1\n" + script
    }
    let quotedScript = ShellQuoting.quote(script)
    let environment = command.environment.sorted(by: { $0.key < $1.key })
    var words = ["env", "LANG=C.UTF-8", "LC_ALL=C.UTF-8"]
    if command.become == nil && environment.allSatisfy({ Self.isIdentifier($0.key) }) {
      words.removeFirst()
      for (name, value) in environment { words.append(name + "=" + ShellQuoting.quote(value)) }
      assignments = words.joined(separator: " ")
      if command.timeout == nil {
        subshell = "(export \(assignments); eval \(quotedScript))"
      }
      words = []
    } else {
      for (name, value) in environment { words.append(ShellQuoting.quote("\(name)=\(value)")) }
    }
    if let timeout = command.timeout {
      words += ["timeout", "-k", "2", Self.seconds(timeout + 1)]
    }
    words += ["/bin/sh", "-c", quotedScript]
    var line = words.joined(separator: " ")
    if let become = command.become, become.method == .su {
      // su has no prompt option and no -n: wait for its "Password:" and answer it when there
      // is a password (a missing one fails instead of reading the caller's stdin); the
      // success marker opens the gate either way. -s keeps users with a nologin shell usable.
      let success = "PROVISION-BECOME-OK-\(token)"
      line =
        "su -s /bin/sh \(ShellQuoting.quote(become.user)) -c "
        + ShellQuoting.quote("echo \(success); exec \(line)")
      becomePrompt = "Password: "
      becomeSuccess = success
      becomePassword = become.password
      becomeMethod = .su
    } else if let become = command.become {
      let user = ShellQuoting.quote(become.user)
      if let password = become.password {
        let prompt = "[sudo via provision, \(token)] password:"
        let success = "PROVISION-BECOME-OK-\(token)"
        line =
          "sudo -S -p \(ShellQuoting.quote(prompt)) -u \(user) -- /bin/sh -c "
          + ShellQuoting.quote("echo \(success); exec \(line)")
        becomePrompt = prompt
        becomeSuccess = success
        becomePassword = password
      } else {
        line = "sudo -n -u \(user) -- \(line)"
      }
    }
    program = line
  }

  /// Whether `name` can be assigned by the shell: letters, digits and `_`, not first a digit.
  static func isIdentifier(_ name: String) -> Bool {
    guard let first = name.utf8.first, !(48...57).contains(first) else { return false }
    return name.utf8.allSatisfy { $0 == 95 || (48...57).contains($0) || (65...90).contains($0) || (97...122).contains($0) }
  }

  /// A random hex token.
  static func randomToken() -> String {
    (0..<8).map { _ in String(UInt8.random(in: 0...255), radix: 16) }.joined()
  }

  private static func seconds(_ value: Double) -> String {
    value == value.rounded() ? String(Int(value)) : String(format: "%.3f", value)
  }
}
