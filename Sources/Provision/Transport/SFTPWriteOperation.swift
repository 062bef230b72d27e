import CLibSSH2
import Foundation

/// Writes bytes to a new remote file over SFTP.
final class SFTPWriteOperation: LoopOperation, @unchecked Sendable {
  private enum Stage {
    case start, open, write, close
  }

  private let host: String
  private let path: String
  /// The file the caller asked for, named in errors instead of the temporary path.
  private let destination: String
  private let data: Data
  private let mode: UInt16
  private var continuation: CheckedContinuation<Void, any Error>?
  private var stage = Stage.start
  private var sftp: SFTPSession?
  private var file: SFTPFile?
  private var offset = 0

  init(
    host: String, path: String, destination: String, data: Data, mode: UInt16,
    continuation: CheckedContinuation<Void, any Error>
  ) {
    self.host = host
    self.mode = mode
    self.destination = destination
    self.path = path
    self.data = data
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
        guard let opened = sftp.open(path, forWriting: true, mode: mode) else {
          let error = context.session.lastError
          if error.code == LIBSSH2_ERROR_EAGAIN {
            _ = context.blocked(self)
            return moved ? .progressed : .blocked
          }
          if LibSSH2.isSessionFatal(error.code) { return .sessionBroken(error.message) }
          return finish(
            .channel(
              "cannot upload '\(destination)': \(SFTPSession.describe(status: sftp.lastError))"))
        }
        hasStarted = true
        file = opened
        stage = .write
        moved = true
      case .write:
        guard let file else { return .finished }
        if offset >= data.count {
          stage = .close
          continue
        }
        let end = min(data.count, offset + (256 << 10))
        let written = data.withUnsafeBytes {
          file.write(UnsafeRawBufferPointer(rebasing: $0[offset..<end]))
        }
        if written == Int(LIBSSH2_ERROR_EAGAIN) {
          _ = context.blocked(self)
          return moved ? .progressed : .blocked
        }
        if written < 0 {
          if LibSSH2.isSessionFatal(Int32(written)) {
            return .sessionBroken(context.session.describe(Int(written)))
          }
          return finish(
            .channel(
              "cannot upload '\(destination)': \(SFTPSession.describe(status: file.sftp.lastError))"
            )
          )
        }
        offset += written
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
        if code != 0 { return finish(.channel("cannot upload '\(destination)': close failed")) }
        return finish(nil)
      }
    }
  }

  private func finish(_ kind: TransportError.Kind?) -> LoopStep {
    if let kind {
      continuation?.resume(throwing: TransportError(kind, host: host))
    } else {
      continuation?.resume()
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
    offset = 0
    stage = .start
    wasRetried = true
  }
}
