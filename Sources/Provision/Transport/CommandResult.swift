import Foundation

/// What a finished command left behind.
public struct CommandResult: Sendable, Equatable {
  /// Everything the command wrote to standard output (empty when a sink took it).
  public var stdout: Data
  /// Everything the command wrote to standard error (empty when a sink took it).
  public var stderr: Data
  /// The exit status, or nil when the command was killed by a signal or none arrived.
  public var exitStatus: Int32?
  /// The name of the signal that killed the command, without `SIG`, such as `TERM`.
  public var exitSignal: String?

  /// Creates a result.
  public init(stdout: Data, stderr: Data, exitStatus: Int32?, exitSignal: String?) {
    self.stdout = stdout
    self.stderr = stderr
    self.exitStatus = exitStatus
    self.exitSignal = exitSignal
  }

  /// The result of a command whose status a shell reported (`$?`): death by signal N shows
  /// as 128 + N, so those statuses of the usual signals become the signal.
  init(stdout: Data, stderr: Data, shellStatus status: Int32) {
    let names: [Int32: String] = [1: "HUP", 2: "INT", 3: "QUIT", 6: "ABRT", 9: "KILL", 13: "PIPE", 14: "ALRM", 15: "TERM"]
    let signal = status > 128 && status < 160 ? names[status - 128] : nil
    self.init(stdout: stdout, stderr: stderr, exitStatus: signal == nil ? status : nil, exitSignal: signal)
  }

  /// Standard output decoded as UTF-8, with invalid bytes replaced.
  public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
  /// Standard error decoded as UTF-8, with invalid bytes replaced.
  public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
  /// Whether the command exited with status 0.
  public var succeeded: Bool { exitStatus == 0 && exitSignal == nil }
}
