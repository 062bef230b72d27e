import CLibSSH2
import Foundation

/// One libssh2 channel: a command, a forwarded TCP stream or the SFTP subsystem.
///
/// Used only on its session's loop thread. Return values are libssh2 codes, EAGAIN included.
final class SSHChannel {
  private let raw: OpaquePointer
  /// Keeps the session alive while the channel exists.
  let session: SSHSession
  private var isFreed = false

  init(raw: OpaquePointer, session: SSHSession) {
    self.raw = raw
    self.session = session
  }

  deinit {
    // Best effort: in non-blocking mode this may not finish; the session frees it later.
    if !isFreed { _ = libssh2_channel_free(raw) }
  }

  /// Asks for a pseudo-terminal.
  func requestPTY(term: String = "xterm") -> Int32 { cssh_channel_request_pty(raw, term) }

  /// Starts `command`.
  func exec(_ command: String) -> Int32 { cssh_channel_exec(raw, command) }

  /// Reads into `buffer` from stdout (`stream` 0) or stderr (`stream` 1).
  func read(stream: Int32, into buffer: UnsafeMutableRawBufferPointer) -> Int {
    let base = buffer.baseAddress?.assumingMemoryBound(to: CChar.self)
    return stream == 0
      ? cssh_channel_read(raw, base, buffer.count)
      : cssh_channel_read_stderr(raw, base, buffer.count)
  }

  /// Writes from `bytes` to the channel's stdin; returns the number of bytes taken.
  func write(_ bytes: UnsafeRawBufferPointer) -> Int {
    cssh_channel_write(raw, bytes.baseAddress?.assumingMemoryBound(to: CChar.self), bytes.count)
  }

  /// Tells the remote command that stdin has ended.
  func sendEOF() -> Int32 { libssh2_channel_send_eof(raw) }

  /// Whether the remote side sent EOF and no data is left to read.
  var isAtEOF: Bool { libssh2_channel_eof(raw) == 1 }

  /// Whether data for `stream` is already queued inside libssh2.
  func hasQueuedData(stream: Int32) -> Bool { libssh2_poll_channel_read(raw, stream) != 0 }

  /// Bytes the remote window still accepts.
  var writeWindow: UInt { cssh_channel_window_write(raw) }

  /// Sends a channel close.
  func close() -> Int32 { libssh2_channel_close(raw) }

  /// Waits for the remote close.
  func waitClosed() -> Int32 { libssh2_channel_wait_closed(raw) }

  /// The exit status; 0 also when none arrived.
  var exitStatus: Int32 { libssh2_channel_get_exit_status(raw) }

  /// The name of the signal that killed the remote command, if one was reported.
  var exitSignal: String? {
    var signal: UnsafeMutablePointer<CChar>?
    var length = 0
    let code = libssh2_channel_get_exit_signal(raw, &signal, &length, nil, nil, nil, nil)
    guard code == 0, let signal else { return nil }
    defer { session.free(signal) }
    return length > 0 ? String(cString: signal) : nil
  }

  /// Frees the channel; returns EAGAIN when it must be called again.
  func free() -> Int32 {
    if isFreed { return 0 }
    let code = libssh2_channel_free(raw)
    if code != LIBSSH2_ERROR_EAGAIN { isFreed = true }
    return code
  }
}
