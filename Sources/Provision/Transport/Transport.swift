import Foundation

/// The way the engine reaches one host: run commands, move files, read file state.
///
/// Implementations are `SSHTransport` (one SSH session per host for the whole run) and
/// `LocalTransport` (`connection: local`). All methods may be called concurrently; an
/// implementation limits how many run at once on its own.
public protocol Transport: Sendable {
  /// The host name used in errors and logs.
  var host: String { get }

  /// Runs `command` and waits for it to finish.
  ///
  /// A non-zero exit status is a result, not an error.
  /// - Throws: `TransportError` when the command could not be run to completion: the host is
  ///   unreachable, the connection dropped, the timeout passed, or privilege escalation failed.
  func run(_ command: RemoteCommand) async throws -> CommandResult

  /// Runs `command`, handing output to `output` as it arrives instead of keeping it, so that
  /// memory stays bounded for large outputs. The result then has empty `stdout` and `stderr`.
  func run(_ command: RemoteCommand, output: @escaping OutputSink) async throws -> CommandResult

  /// Writes `data` to `path` atomically: readers see the old file or the new one, never a mix.
  ///
  /// - Parameters:
  ///   - data: the file's new content.
  ///   - path: the absolute path on the host.
  ///   - mode: permission bits such as `0o644`; when nil an existing file keeps its mode and a
  ///     new one gets `0o644`.
  ///   - owner: user name to own the file; nil leaves the default.
  ///   - group: group name for the file; nil leaves the default.
  ///   - become: privilege escalation used to put the file in place.
  /// - Throws: `TransportError`; the old file is left untouched.
  func upload(
    _ data: Data, to path: String, mode: UInt16?, owner: String?, group: String?,
    become: Become?
  ) async throws

  /// Reads the whole file at `path`.
  func download(_ path: String, become: Become?) async throws -> Data

  /// Reads the metadata and SHA-256 of `path` in one round trip, or nil when it does not exist.
  func stat(_ path: String, become: Become?) async throws -> RemoteFileInfo?

  /// Closes connections; later calls reconnect.
  func close() async

  /// Starts connecting, if not connected yet, without waiting: for a caller that knows it will
  /// run something soon and has other work to do first. A failure is not reported here: the
  /// calls made meanwhile fail with it, later ones try again.
  func connectAhead()
}

extension Transport {
  /// Nothing to start for a transport without a connection.
  public func connectAhead() {}

  /// `stat` through `RemoteScripts.stat`, one command: what transports without a cheaper way
  /// (and the batch of read-ahead checks) do.
  func statByScript(_ path: String, become: Become?) async throws -> RemoteFileInfo? {
    let result = try await run(RemoteCommand(RemoteScripts.stat(path), become: become))
    guard result.succeeded else { throw CommandFailure.error(result, doing: "stat '\(path)'", host: host) }
    guard let info = RemoteScripts.parseStat(result.stdoutText) else {
      throw TransportError(
        .channel("unexpected output from stat of '\(path)'"), host: host, detail: String(result.stdoutText.prefix(200)))
    }
    return info
  }

  /// `upload` of a small file in one command: the content on its standard input, installed
  /// atomically by `RemoteScripts.installFromStdin`.
  func uploadThroughStdin(
    _ data: Data, to path: String, mode: UInt16?, owner: String?, group: String?, become: Become?
  ) async throws {
    let script = RemoteScripts.installFromStdin(to: path, mode: mode, owner: owner, group: group)
    let result = try await run(RemoteCommand(script, stdin: data, become: become))
    if result.exitStatus == 3 && result.stderrText.contains(RemoteScripts.missingDirectoryMarker) {
      throw TransportError(.channel("cannot upload '\(path)': no such file"), host: host)
    }
    guard result.succeeded else { throw CommandFailure.error(result, doing: "install '\(path)'", host: host) }
  }

  /// Runs `command` and hands its output to `output` at the end, for transports that cannot
  /// stream.
  public func run(_ command: RemoteCommand, output: @escaping OutputSink) async throws
    -> CommandResult
  {
    var result = try await run(command)
    if !result.stdout.isEmpty { output(.stdout, result.stdout) }
    if !result.stderr.isEmpty { output(.stderr, result.stderr) }
    result.stdout = Data()
    result.stderr = Data()
    return result
  }

  /// Writes `data` to `path` atomically as the login user.
  public func upload(_ data: Data, to path: String, mode: UInt16? = nil) async throws {
    try await upload(data, to: path, mode: mode, owner: nil, group: nil, become: nil)
  }

  /// Reads the whole file at `path` as the login user.
  public func download(_ path: String) async throws -> Data {
    try await download(path, become: nil)
  }

  /// Reads the metadata of `path` as the login user.
  public func stat(_ path: String) async throws -> RemoteFileInfo? {
    try await stat(path, become: nil)
  }

  /// Runs a shell command string with default options.
  public func run(_ shell: String) async throws -> CommandResult {
    try await run(RemoteCommand(shell))
  }
}
