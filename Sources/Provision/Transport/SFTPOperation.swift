import CLibSSH2
import Foundation

/// What SFTP reads and writes share: the session and open file they use, how the SFTP session
/// is obtained, and how the caller is answered, once, whatever happens.
class SFTPOperation<Result: Sendable>: LoopOperation, @unchecked Sendable {
  let host: String
  private var continuation: CheckedContinuation<Result, any Error>?
  var sftp: SFTPSession?
  var file: SFTPFile?

  init(host: String, continuation: CheckedContinuation<Result, any Error>) {
    self.host = host
    self.continuation = continuation
  }

  override var usesSFTP: Bool { true }
  override var usesChannelSlot: Bool { false }

  /// Obtains the connection's SFTP session: nil once `sftp` is set, otherwise the step to
  /// return from `advance`.
  func startSession(_ context: LoopContext, moved: Bool) -> LoopStep? {
    switch context.sftpSession(for: self) {
    case .again: return moved ? .progressed : .blocked
    case .failed(let code, let message):
      if LibSSH2.isSessionFatal(code) { return .sessionBroken(message) }
      return fail(.channel("cannot start SFTP: \(message)"))
    case .ready(let session):
      sftp = session
      return nil
    }
  }

  /// Answers the caller with `result` and lets go of the file and session.
  func succeed(_ result: Result) -> LoopStep {
    continuation?.resume(returning: result)
    return release()
  }

  /// Answers the caller with a transport error and lets go of the file and session.
  func fail(_ kind: TransportError.Kind) -> LoopStep {
    continuation?.resume(throwing: TransportError(kind, host: host))
    return release()
  }

  private func release() -> LoopStep {
    continuation = nil
    file = nil
    sftp = nil
    return .finished
  }

  override func hasQueuedInput(_ context: LoopContext) -> Bool { context.sftpHasQueuedData }

  override func expire(_ error: any Error, _ context: LoopContext) -> Bool {
    // A half-sent packet must be finished first, or the session becomes unusable.
    if context.sendOwner === self {
      didHandleCancellation = false
      return false
    }
    abandon(error)
    return true
  }

  override func abandon(_ error: any Error) {
    continuation?.resume(throwing: error)
    _ = release()
  }

  /// Subclasses reset their own progress too, then call this.
  override func resetForRetry() {
    file = nil
    sftp = nil
    wasRetried = true
  }
}
