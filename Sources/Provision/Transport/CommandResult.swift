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

  /// Standard output decoded as UTF-8, with invalid bytes replaced.
  public var stdoutText: String { String(decoding: stdout, as: UTF8.self) }
  /// Standard error decoded as UTF-8, with invalid bytes replaced.
  public var stderrText: String { String(decoding: stderr, as: UTF8.self) }
  /// Whether the command exited with status 0.
  public var succeeded: Bool { exitStatus == 0 && exitSignal == nil }
}
