import Foundation

/// Reaches one host over SSH (libssh2), with one session for the whole run.
///
/// Commands, uploads and downloads may be issued concurrently; they share the session, at most
/// `SSHTarget.maxChannels` commands at a time. Each transport drives its session from one
/// dedicated OS thread (not a cooperative-pool thread), so 500 hosts use 500 mostly idle
/// threads and no pool thread ever blocks. See `SSHConnection` for the loop, keepalives and
/// reconnects. The engine's own commands run in one long-lived shell on the session
/// (`ShellFrame`); others get a channel each. A command that times out or whose task is
/// cancelled is killed on the host: its process group gets SIGTERM, then SIGKILL, over a second
/// channel (for a command in the resident shell, the shell goes with it).
public final class SSHTransport: Transport {
  /// Where and how to connect.
  public let target: SSHTarget
  private let connection: SSHConnection

  /// Creates a transport; nothing connects until the first call.
  public init(target: SSHTarget) {
    self.target = target
    connection = SSHConnection(target: target)
  }

  deinit {
    let connection = connection
    Task { await connection.shutdown() }
  }

  public var host: String { target.name }

  /// Starts the SSH library's one-time set-up in the background (`LibSSH2.warmUp`), for a
  /// command that is about to connect to hosts.
  public static func warmUp() { LibSSH2.warmUp() }

  public func connectAhead() {
    connection.connectAhead()
  }

  public func run(_ command: RemoteCommand) async throws -> CommandResult {
    try await execute(command, sink: nil)
  }

  public func run(_ command: RemoteCommand, output: @escaping OutputSink) async throws
    -> CommandResult
  {
    try await execute(command, sink: output)
  }

  private func execute(_ command: RemoteCommand, sink: OutputSink?) async throws -> CommandResult {
    let started = TransportTrace.isEnabled ? TransportTrace.now() : 0
    var sentToShell = false
    let result = try await submit { continuation in
      let operation = ExecOperation(
        host: host, command: command, sink: sink, continuation: continuation,
        residentShell: target.residentShell)
      sentToShell = operation.isForResidentShell
      return operation
    }
    // "shell" for a command sent to the resident shell, "exec" for one on a channel of its own.
    TransportTrace.record(
      host,
      "\(sentToShell ? "shell" : "exec") \(command.shell.utf8.count)B in, \(result.stdout.count)B out, status "
        + "\(result.exitStatus.map(String.init) ?? "none")"
        + (TransportTrace.includesCommands ? ": \(command.shell)" : ""),
      since: started)
    return result
  }

  /// Runs the operation `make` builds on the connection's thread; cancelling the task closes
  /// its channel and throws `CancellationError`.
  private func submit<T: Sendable>(
    _ make: (CheckedContinuation<T, any Error>) -> LoopOperation
  ) async throws -> T {
    let box = OperationBox()
    return try await withTaskCancellationHandler {
      try await withCheckedThrowingContinuation { continuation in
        let operation = make(continuation)
        if box.set(operation) { operation.requestCancellation() }
        connection.submit(operation)
      }
    } onCancel: { [connection] in
      if let operation = box.cancel() { connection.cancel(operation) }
    }
  }

  public func upload(
    _ data: Data, to path: String, mode: UInt16?, owner: String?, group: String?,
    become: Become?
  ) async throws {
    if data.count <= Self.streamedUploadLimit {
      // Small files go through the command's stdin: one round trip instead of an SFTP
      // open/write/close and a separate install command.
      return try await uploadThroughStdin(data, to: path, mode: mode, owner: owner, group: group, become: become)
    }
    if let become {
      // SFTP runs as the login user, so the file goes to a private staging name first and the
      // become user copies it next to the target and renames it there.
      let staged = "/tmp/.provision-" + RenderedCommand.randomToken()
      try await write(
        data, to: staged, destination: path, mode: become.user == "root" ? 0o600 : 0o644)
      let script = RemoteScripts.installStaged(
        staged: staged, to: path, mode: mode, owner: owner, group: group)
      try await check(RemoteCommand(script, become: become), doing: "install '\(path)'")
    } else {
      let temporary = RemoteScripts.temporaryPath(for: path)
      do {
        try await write(data, to: temporary, destination: path, mode: 0o600)
      } catch let error as TransportError where error.kind != .connectionDropped {
        // A transfer that failed halfway leaves a partial temporary file behind.
        _ = try? await run(RemoteCommand(argv: ["rm", "-f", "--", temporary]))
        throw error
      }
      let script = RemoteScripts.install(
        temporary: temporary, to: path, mode: mode, owner: owner, group: group)
      try await check(RemoteCommand(script), doing: "install '\(path)'")
    }
  }

  /// Files up to this size are uploaded through a command's stdin rather than SFTP.
  static let streamedUploadLimit = 1 << 20

  public func download(_ path: String, become: Become?) async throws -> Data {
    if let become {
      let result = try await check(
        RemoteCommand(argv: ["cat", "--", path], become: become), doing: "read '\(path)'")
      return result.stdout
    }
    return try await submit { continuation in
      SFTPReadOperation(host: host, path: path, continuation: continuation)
    }
  }

  public func stat(_ path: String, become: Become?) async throws -> RemoteFileInfo? {
    try await statByScript(path, become: become)
  }

  public func close() async { await connection.shutdown() }

  private func write(_ data: Data, to path: String, destination: String, mode: UInt16)
    async throws
  {
    try await submit { (continuation: CheckedContinuation<Void, any Error>) in
      SFTPWriteOperation(
        host: host, path: path, destination: destination, data: data, mode: mode,
        continuation: continuation)
    }
  }

  /// Runs `command` and turns a failure into an error naming what was being done.
  @discardableResult
  private func check(_ command: RemoteCommand, doing what: String) async throws -> CommandResult {
    let result = try await run(command)
    guard result.succeeded else { throw CommandFailure.error(result, doing: what, host: host) }
    return result
  }
}

/// Hands an operation from the submitting task to its cancellation handler, which may run
/// before the operation exists.
private final class OperationBox: @unchecked Sendable {
  private let lock = NSLock()
  private var operation: LoopOperation?
  private var isCancelled = false

  /// Stores the operation; returns true when the task was already cancelled.
  func set(_ operation: LoopOperation) -> Bool {
    lock.withLock {
      self.operation = operation
      return isCancelled
    }
  }

  /// Marks the task cancelled; returns the operation if it exists yet.
  func cancel() -> LoopOperation? {
    lock.withLock {
      isCancelled = true
      return operation
    }
  }
}
