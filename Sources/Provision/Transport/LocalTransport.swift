import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Runs on the machine provision runs on (`connection: local`), through `/bin/sh -c`.
///
/// Commands are rendered exactly as for SSH, so environment, working directory, timeout and
/// `sudo -n` behave the same. Blocking pipe I/O runs on dispatch queues, never on the
/// cooperative pool. A pseudo-terminal and a sudo password are not supported here.
public struct LocalTransport: Transport {
  public let host: String

  /// Creates a local transport; `host` names it in errors.
  public init(host: String = "localhost") { self.host = host }

  public func run(_ command: RemoteCommand) async throws -> CommandResult {
    try await execute(command, sink: nil)
  }

  public func run(_ command: RemoteCommand, output: @escaping OutputSink) async throws
    -> CommandResult
  {
    try await execute(command, sink: output)
  }

  private func execute(_ command: RemoteCommand, sink: OutputSink?) async throws -> CommandResult {
    if command.become?.method == .su {
      throw TransportError(
        .becomeFailed("su is not supported for local connections"), host: host,
        detail: "use sudo for connection: local, or connect over SSH")
    }
    if command.become?.password != nil {
      throw TransportError(
        .becomeFailed("a sudo password is not supported for local connections"), host: host,
        detail: "allow passwordless sudo for this user, or connect over SSH")
    }
    let line = RenderedCommand(command).execLine
    let host = host
    return try await withCheckedThrowingContinuation { continuation in
      LocalProcessRun(
        line: line, stdin: command.stdin, timeout: command.timeout, sink: sink, host: host,
        continuation: continuation
      ).start()
    }
  }

  public func upload(
    _ data: Data, to path: String, mode: UInt16?, owner: String?, group: String?,
    become: Become?
  ) async throws {
    if become != nil {
      let staged = NSTemporaryDirectory() + "/.provision-" + RenderedCommand.randomToken()
      try write(data, to: staged)
      let script = RemoteScripts.installStaged(
        staged: staged, to: path, mode: mode, owner: owner, group: group)
      try await check(RemoteCommand(script, become: become), doing: "install '\(path)'")
      return
    }
    let temporary = RemoteScripts.temporaryPath(for: path)
    try write(data, to: temporary)
    let script = RemoteScripts.install(
      temporary: temporary, to: path, mode: mode, owner: owner, group: group)
    try await check(RemoteCommand(script), doing: "install '\(path)'")
  }

  public func download(_ path: String, become: Become?) async throws -> Data {
    if become != nil {
      return try await check(
        RemoteCommand(argv: ["cat", "--", path], become: become), doing: "read '\(path)'"
      ).stdout
    }
    do {
      return try Data(contentsOf: URL(fileURLWithPath: path))
    } catch {
      throw TransportError(
        .channel("cannot read '\(path)'"), host: host, detail: error.localizedDescription)
    }
  }

  public func stat(_ path: String, become: Become?) async throws -> RemoteFileInfo? {
    try await statByScript(path, become: become)
  }

  public func close() async {}

  private func write(_ data: Data, to path: String) throws {
    let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0o600)
    guard fd >= 0 else {
      throw TransportError(
        .channel("cannot create '\(path)'"), host: host, detail: String(cString: strerror(errno)))
    }
    let handle = FileHandle(fileDescriptor: fd, closeOnDealloc: true)
    do {
      try handle.write(contentsOf: data)
      try handle.close()
    } catch {
      unlink(path)
      throw TransportError(
        .channel("cannot write '\(path)'"), host: host, detail: error.localizedDescription)
    }
  }

  @discardableResult
  private func check(_ command: RemoteCommand, doing what: String) async throws -> CommandResult {
    let result = try await run(command)
    guard result.succeeded else { throw CommandFailure.error(result, doing: what, host: host) }
    return result
  }
}
