import CLibSSH2
import Foundation

/// The SFTP subsystem on one session.
///
/// Used only on its session's loop thread. Return values are libssh2 codes, EAGAIN included.
final class SFTPSession {
  private let raw: OpaquePointer
  /// Keeps the session alive while SFTP is in use.
  let session: SSHSession

  init(raw: OpaquePointer, session: SSHSession) {
    self.raw = raw
    self.session = session
  }

  deinit { _ = libssh2_sftp_shutdown(raw) }

  /// Opens `path`; nil with the session's `lastErrno` EAGAIN means "try again".
  func open(_ path: String, forWriting: Bool, mode: UInt16 = 0o600) -> SFTPFile? {
    let flags =
      forWriting
      ? UInt(LIBSSH2_FXF_WRITE | LIBSSH2_FXF_CREAT | LIBSSH2_FXF_TRUNC) : UInt(LIBSSH2_FXF_READ)
    guard let handle = cssh_sftp_open(raw, path, flags, Int(mode)) else { return nil }
    return SFTPFile(raw: handle, sftp: self)
  }

  /// The SFTP status code of the last failure, such as `LIBSSH2_FX_NO_SUCH_FILE`.
  var lastError: UInt { libssh2_sftp_last_error(raw) }

  /// Whether responses are already queued inside libssh2.
  var hasQueuedData: Bool {
    guard let channel = libssh2_sftp_get_channel(raw) else { return false }
    return libssh2_poll_channel_read(channel, 0) != 0
  }

  /// Removes `path`.
  func unlink(_ path: String) -> Int32 { cssh_sftp_unlink(raw, path) }

  /// A message for an SFTP status code.
  static func describe(status: UInt) -> String {
    switch status {
    case UInt(LIBSSH2_FX_NO_SUCH_FILE), UInt(LIBSSH2_FX_NO_SUCH_PATH): return "no such file"
    case UInt(LIBSSH2_FX_PERMISSION_DENIED): return "permission denied"
    case UInt(LIBSSH2_FX_NO_SPACE_ON_FILESYSTEM): return "no space left"
    case UInt(LIBSSH2_FX_QUOTA_EXCEEDED): return "quota exceeded"
    case UInt(LIBSSH2_FX_FILE_ALREADY_EXISTS): return "file exists"
    case UInt(LIBSSH2_FX_WRITE_PROTECT): return "read-only file system"
    case UInt(LIBSSH2_FX_NOT_A_DIRECTORY): return "not a directory"
    default: return "SFTP status \(status)"
    }
  }
}
