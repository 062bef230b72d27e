import CLibSSH2
import Foundation

/// Reads a whole remote file over SFTP.
final class SFTPReadOperation: LoopOperation, @unchecked Sendable {
  private enum Stage {
    case start, open, read, close
  }

  private let host: String
  private let path: String
  private var continuation: CheckedContinuation<Data, any Error>?
  private var stage = Stage.start
  private var sftp: SFTPSession?
  private var file: SFTPFile?
  private var data = Data()
  private var failure: TransportError.Kind?

  init(host: String, path: String, continuation: CheckedContinuation<Data, any Error>) {
    self.host = host
    self.path = path
    self.continuation = continuation
  }

  override var usesSFTP: Bool { true }
  override var usesChannelSlot: Bool { false }

  override func advance(_ context: LoopContext) -> LoopStep {
    var moved = false
    while true {
      switch stage {
      case .start:
        switch context.sftpSession(for: self) {
        case .again: return moved ? .progressed : .blocked
        case .failed(let code, let message):
          if LibSSH2.isSessionFatal(code) { return .sessionBroken(message) }
          return finish(.channel("cannot start SFTP: \(message)"))
        case .ready(let session):
          sftp = session
          stage = .open
          moved = true
        }
      case .open:
        guard let sftp else { return .finished }
        guard let opened = sftp.open(path, forWriting: false) else {
          let error = context.session.lastError
          if error.code == LIBSSH2_ERROR_EAGAIN {
            _ = context.blocked(self)
            return moved ? .progressed : .blocked
          }
          if LibSSH2.isSessionFatal(error.code) { return .sessionBroken(error.message) }
          return finish(
            .channel("cannot open '\(path)': \(SFTPSession.describe(status: sftp.lastError))"))
        }
        file = opened
        stage = .read
        moved = true
      case .read:
        guard let file else { return .finished }
        let count = file.read(into: context.buffer)
        if count == Int(LIBSSH2_ERROR_EAGAIN) {
          _ = context.blocked(self)
          return moved ? .progressed : .blocked
        }
        if count < 0 {
          if LibSSH2.isSessionFatal(Int32(count)) {
            return .sessionBroken(context.session.describe(Int(count)))
          }
          failure = .channel(
            "cannot read '\(path)': \(SFTPSession.describe(status: file.sftp.lastError))")
          stage = .close
        } else if count == 0 {
          stage = .close
        } else {
          data.append(contentsOf: UnsafeRawBufferPointer(rebasing: context.buffer[0..<count]))
        }
        moved = true
      case .close:
        guard let file else { return .finished }
        let code = file.close()
        if code == LIBSSH2_ERROR_EAGAIN {
          _ = context.blocked(self)
          return moved ? .progressed : .blocked
        }
        if LibSSH2.isSessionFatal(code) {
          return .sessionBroken(context.session.describe(Int(code)))
        }
        return finish(failure)
      }
    }
  }

  private func finish(_ kind: TransportError.Kind?) -> LoopStep {
    if let kind {
      continuation?.resume(throwing: TransportError(kind, host: host))
    } else {
      continuation?.resume(returning: data)
    }
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
    continuation = nil
    file = nil
    sftp = nil
  }

  override func resetForRetry() {
    file = nil
    sftp = nil
    data = Data()
    stage = .start
    wasRetried = true
  }
}
