import CLibSSH2
import Foundation

/// Reads a whole remote file over SFTP.
final class SFTPReadOperation: SFTPOperation<Data>, @unchecked Sendable {
  private enum Stage {
    case start, open, read, close
  }

  private let path: String
  private var stage = Stage.start
  private var data = Data()
  private var failure: TransportError.Kind?

  init(host: String, path: String, continuation: CheckedContinuation<Data, any Error>) {
    self.path = path
    super.init(host: host, continuation: continuation)
  }

  override func advance(_ context: LoopContext) -> LoopStep {
    var moved = false
    while true {
      switch stage {
      case .start:
        if let step = startSession(context, moved: moved) { return step }
        stage = .open
        moved = true
      case .open:
        guard let sftp else { return .finished }
        guard let opened = sftp.open(path, forWriting: false) else {
          let error = context.session.lastError
          if error.code == LIBSSH2_ERROR_EAGAIN {
            _ = context.blocked(self)
            return moved ? .progressed : .blocked
          }
          if LibSSH2.isSessionFatal(error.code) { return .sessionBroken(error.message) }
          return fail(
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
        return failure.map(fail) ?? succeed(data)
      }
    }
  }

  override func resetForRetry() {
    data = Data()
    stage = .start
    super.resetForRetry()
  }
}
