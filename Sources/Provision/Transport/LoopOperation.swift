import CLibSSH2
import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// What one call to `LoopOperation.advance` achieved.
enum LoopStep {
  /// Something moved; call again soon.
  case progressed
  /// Waiting for the socket.
  case blocked
  /// Done; the caller was answered and the channel released.
  case finished
  /// The session is unusable: a socket or protocol error.
  case sessionBroken(String)
}

/// State the loop thread shares with the operations it drives.
final class LoopContext {
  /// The connected, authenticated, non-blocking session.
  let session: SSHSession
  /// A scratch buffer for reads, reused by every operation.
  let buffer: UnsafeMutableRawBufferPointer
  /// Whether an operation waited for the socket to become writable in this round.
  var wantsWrite = false
  private var sftp: SFTPSession?
  /// Operations that other operations started, such as killing a timed-out command.
  var followUps: [LoopOperation] = []
  /// The resident shell's channel while no command runs in it (see `ShellFrame`).
  var idleShell: SSHChannel?

  /// Takes the idle shell for a command; a shell that ended meanwhile is dropped.
  func takeIdleShell() -> SSHChannel? {
    defer { idleShell = nil }
    guard let idleShell, !idleShell.isAtEOF else { return nil }
    return idleShell
  }

  init(session: SSHSession) {
    self.session = session
    buffer = UnsafeMutableRawBufferPointer.allocate(byteCount: 65536, alignment: 16)
  }

  deinit { buffer.deallocate() }

  /// The operation whose last call stopped halfway through sending a packet.
  ///
  /// libssh2 keeps one partly sent packet per session and fails any *other* send until the
  /// same call is repeated (`LIBSSH2_ERROR_BAD_USE`, often reported as "Unable to send
  /// transfer-window adjustment packet"). So while an owner exists, only it may advance, and
  /// it must first repeat the call that blocked.
  private(set) var sendOwner: LoopOperation?

  /// Records that a call by `operation` returned EAGAIN.
  ///
  /// - Returns: true when it blocked while sending: the operation must return at once and
  ///   repeat the same call, with the same arguments, when it advances next.
  func blocked(_ operation: LoopOperation) -> Bool {
    guard session.blockDirections.outbound else { return false }
    wantsWrite = true
    sendOwner = operation
    return true
  }

  /// Hands the send owner back for its turn, clearing it.
  func takeSendOwner() -> LoopOperation? {
    defer { sendOwner = nil }
    return sendOwner
  }

  /// What starting SFTP gave.
  enum SFTPStart {
    case ready(SFTPSession)
    case again
    case failed(code: Int32, message: String)
  }

  /// The session's SFTP subsystem, started on first use and kept.
  func sftpSession(for operation: LoopOperation) -> SFTPStart {
    if let sftp { return .ready(sftp) }
    if let started = session.startSFTP() {
      sftp = started
      return .ready(started)
    }
    let error = session.lastError
    if error.code == LIBSSH2_ERROR_EAGAIN {
      _ = blocked(operation)
      return .again
    }
    return .failed(code: error.code, message: error.message)
  }

  /// Whether SFTP responses are waiting inside libssh2.
  var sftpHasQueuedData: Bool { sftp?.hasQueuedData ?? false }

  /// Releases SFTP before the session goes away.
  func releaseSFTP() { sftp = nil }
}

/// One piece of work driven by a connection's loop thread: a command or an SFTP transfer.
///
/// Created by a caller's task, then touched only by the loop thread. Subclasses answer their
/// caller exactly once, through a continuation.
class LoopOperation: @unchecked Sendable {
  /// When the operation expires; set when it starts.
  var deadline: ContinuousClock.Instant?
  /// Whether the remote side may already have acted (the command was sent).
  var hasStarted = false
  /// Whether the operation was already retried after a reconnect.
  var wasRetried = false
  /// Whether the operation holds one of the session's channel slots.
  var usesChannelSlot: Bool { true }
  /// Whether the operation needs the SFTP subsystem (one SFTP operation runs at a time).
  var usesSFTP: Bool { false }

  /// Moves as far as possible without blocking.
  func advance(_ context: LoopContext) -> LoopStep { .finished }

  /// A descriptor besides the session's socket that the loop should wait for.
  func pollDescriptor() -> pollfd? { nil }

  /// Whether libssh2 holds data for this operation that the socket will not signal again.
  func hasQueuedInput(_ context: LoopContext) -> Bool { false }

  /// Whether the operation already reacted to its task's cancellation.
  var didHandleCancellation = false
  private let cancellationLock = NSLock()
  private var cancellationRequested = false

  /// Marks the operation cancelled; any thread may call this.
  func requestCancellation() { cancellationLock.withLock { cancellationRequested = true } }

  /// Whether the caller's task was cancelled.
  var isCancellationRequested: Bool { cancellationLock.withLock { cancellationRequested } }

  /// Answers the caller with `error` because time ran out or the task was cancelled, and
  /// starts closing the channel; returns true when the operation is finished.
  func expire(_ error: any Error, _ context: LoopContext) -> Bool { true }

  /// Answers the caller with `error` and drops every libssh2 handle without further calls.
  func abandon(_ error: any Error) {}

  /// Forgets per-session state so that the operation can run again on a new session.
  func resetForRetry() {}
}
