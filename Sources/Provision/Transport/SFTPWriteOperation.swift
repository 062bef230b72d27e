import CLibSSH2
import Foundation

/// Writes bytes to a new remote file over SFTP.
final class SFTPWriteOperation: SFTPOperation<Void>, @unchecked Sendable {
  private enum Stage {
    case start, open, write, close
  }

  private let path: String
  /// The file the caller asked for, named in errors instead of the temporary path.
  private let destination: String
  private let data: Data
  private let mode: UInt16
  private var stage = Stage.start
  private var offset = 0

  init(
    host: String, path: String, destination: String, data: Data, mode: UInt16,
    continuation: CheckedContinuation<Void, any Error>
  ) {
    self.mode = mode
    self.destination = destination
    self.path = path
    self.data = data
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
        guard let opened = sftp.open(path, forWriting: true, mode: mode) else {
          let error = context.session.lastError
          if error.code == LIBSSH2_ERROR_EAGAIN {
            _ = context.blocked(self)
            return moved ? .progressed : .blocked
          }
          if LibSSH2.isSessionFatal(error.code) { return .sessionBroken(error.message) }
          return fail(
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
          return fail(
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
        if code != 0 { return fail(.channel("cannot upload '\(destination)': close failed")) }
        return succeed(())
      }
    }
  }

  override func resetForRetry() {
    offset = 0
    stage = .start
    super.resetForRetry()
  }
}
