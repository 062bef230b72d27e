import Foundation

/// One command to run on a host, with everything that shapes how it runs.
public struct RemoteCommand: Sendable, Equatable {
  /// The command as a POSIX shell string, run by `/bin/sh -c`, or in the session's resident
  /// shell by `eval` in a subshell (`RenderedCommand.subshellLine`).
  public var shell: String
  /// Bytes written to the command's standard input, followed by end of file.
  public var stdin: Data
  /// Variables set for the command, in addition to `LANG=C.UTF-8` and `LC_ALL=C.UTF-8`.
  ///
  /// They go into the command string (`env NAME=value`), because sshd accepts `setenv` only
  /// for names in its `AcceptEnv`.
  public var environment: [String: String]
  /// The directory to run in; nil runs in the login user's home.
  public var workingDirectory: String?
  /// Seconds after which the command is killed and `TransportError.Kind.timeout` is thrown.
  public var timeout: Double?
  /// Privilege escalation, or nil to run as the login user.
  public var become: Become?
  /// Whether to allocate a pseudo-terminal; it merges stderr into stdout and adds `\r`.
  public var wantsPTY: Bool
  /// Whether the command needs a channel of its own rather than the session's resident shell
  /// (`ShellFrame`): a user's command (`command`, `shell`) may leave a process behind that
  /// keeps its output open, and then its task waits for that process, as with
  /// ansible-playbook, instead of the process writing into later commands' output.
  public var ownChannel = false
  /// What the command reads, when it is one of the well-known reads that a batch of checks may
  /// serve together with others of its kind; transports run `shell` as usual.
  var reads: Reads?

  /// A read whose output a batch can produce for many paths at once.
  enum Reads: Sendable, Equatable {
    /// `FileState.script(path, content:, follow:)`.
    case fileState(path: String, follow: Bool, content: Bool)
  }

  /// Creates a command from a shell string.
  public init(
    _ shell: String, stdin: Data = Data(), environment: [String: String] = [:],
    workingDirectory: String? = nil, timeout: Double? = nil, become: Become? = nil,
    wantsPTY: Bool = false
  ) {
    self.shell = shell
    self.stdin = stdin
    self.environment = environment
    self.workingDirectory = workingDirectory
    self.timeout = timeout
    self.become = become
    self.wantsPTY = wantsPTY
    reads = nil
  }

  /// Creates a command from an argument vector; each argument is quoted for the shell.
  public init(argv: [String], stdin: Data = Data(), become: Become? = nil) {
    self.init(argv.map(ShellQuoting.quote).joined(separator: " "), stdin: stdin, become: become)
  }
}

/// Privilege escalation through `sudo`.
public struct Become: Sendable, Equatable {
  /// How to become the other user.
  public enum Method: String, Sendable, Equatable {
    /// `sudo -n`, or `sudo -S` with the password after sudo's own prompt.
    case sudo
    /// `su USER -c`, with the password after su's `Password:` prompt; the target user's
    /// password, as su asks for it.
    case su
  }

  /// The user to become; `root` by default.
  public var user: String
  /// The password sudo or su asks for, or nil when none is needed (`sudo -n`). Never logged.
  public var password: String?
  /// sudo (the default) or su.
  public var method: Method

  /// Creates a become setting.
  public init(user: String = "root", password: String? = nil, method: Method = .sudo) {
    self.user = user
    self.password = password
    self.method = method
  }
}

extension Become: CustomStringConvertible {
  /// Names the user only, so a password never reaches a log.
  public var description: String {
    "Become(\(method.rawValue), user: \(user), password: \(password == nil ? "none" : "set"))"
  }
}
