import CLibSSH2
import Foundation

/// One open SFTP file handle.
///
/// Used only on its session's loop thread. Return values are libssh2 codes, EAGAIN included.
final class SFTPFile {
  private let raw: OpaquePointer
  /// Keeps the SFTP session alive while the handle is open.
  let sftp: SFTPSession
  private var isClosed = false

  init(raw: OpaquePointer, sftp: SFTPSession) {
    self.raw = raw
    self.sftp = sftp
  }

  deinit { if !isClosed { _ = cssh_sftp_close(raw) } }

  /// Writes `bytes`; returns how many the server acknowledged. Call again with the same
  /// start after EAGAIN, as libssh2 pipelines writes.
  func write(_ bytes: UnsafeRawBufferPointer) -> Int {
    libssh2_sftp_write(raw, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count)
  }

  /// Reads into `buffer`; 0 means end of file.
  func read(into buffer: UnsafeMutableRawBufferPointer) -> Int {
    libssh2_sftp_read(raw, buffer.baseAddress?.assumingMemoryBound(to: CChar.self), buffer.count)
  }

  /// Closes the handle; returns EAGAIN when it must be called again.
  func close() -> Int32 {
    if isClosed { return 0 }
    let code = cssh_sftp_close(raw)
    if code != LIBSSH2_ERROR_EAGAIN { isClosed = true }
    return code
  }
}
