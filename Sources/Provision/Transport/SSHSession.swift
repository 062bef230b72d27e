import CLibSSH2
import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// One libssh2 session on a connected socket.
///
/// Not thread-safe: exactly one thread (the connection's loop thread) uses a session. It is
/// `@unchecked Sendable` only so that it can be handed to that thread.
final class SSHSession: @unchecked Sendable {
  /// The libssh2 handle; only the wrapper classes in this directory read it.
  let raw: OpaquePointer
  /// The connected socket, closed after the session is freed.
  let socket: Int32

  /// Creates a session on `socket`, which this object then owns.
  init?(socket: Int32) {
    guard LibSSH2.ensureInitialized(), let raw = cssh_session_init() else { return nil }
    self.raw = raw
    self.socket = socket
  }

  deinit {
    // Free in blocking mode with a short timeout, so a frozen peer cannot stall for long and a
    // half-sent disconnect cannot leave the handle allocated.
    libssh2_session_set_timeout(raw, 1000)
    libssh2_session_set_blocking(raw, 1)
    _ = cssh_session_disconnect(raw, "closing")
    libssh2_session_free(raw)
    close(socket)
  }

  /// Switches between blocking calls (bounded by `timeout`) and non-blocking calls.
  func setBlocking(_ blocking: Bool, timeoutMilliseconds: Int = 0) {
    libssh2_session_set_timeout(raw, timeoutMilliseconds)
    libssh2_session_set_blocking(raw, blocking ? 1 : 0)
  }

  /// Runs the SSH handshake; returns a libssh2 code.
  func handshake() -> Int32 { libssh2_session_handshake(raw, socket) }

  /// The server's host key as raw bytes, with libssh2's key type.
  func hostKey() -> (key: [UInt8], type: Int32)? {
    var length = 0
    var type: Int32 = 0
    guard let pointer = libssh2_session_hostkey(raw, &length, &type) else { return nil }
    let bytes = UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self)
    return (Array(UnsafeBufferPointer(start: bytes, count: length)), type)
  }

  /// The SHA-256 of the host key (32 bytes), as OpenSSH fingerprints it.
  func hostKeySHA256() -> [UInt8]? {
    guard let pointer = libssh2_hostkey_hash(raw, LIBSSH2_HOSTKEY_HASH_SHA256) else { return nil }
    let bytes = UnsafeRawPointer(pointer).assumingMemoryBound(to: UInt8.self)
    return Array(UnsafeBufferPointer(start: bytes, count: 32))
  }

  /// The authentication methods the server offers, or nil when it accepted `none`.
  func authMethods(user: String) -> [String]? {
    guard let list = libssh2_userauth_list(raw, user, UInt32(user.utf8.count)) else { return nil }
    return String(cString: list).split(separator: ",").map(String.init)
  }

  /// Whether authentication has succeeded.
  var isAuthenticated: Bool { libssh2_userauth_authenticated(raw) != 0 }

  /// Authenticates with a private key file; the public key is derived from it.
  func authenticate(user: String, privateKeyFile: String, passphrase: String?) -> Int32 {
    cssh_userauth_publickey_fromfile(raw, user, nil, privateKeyFile, passphrase)
  }

  /// Authenticates with a password.
  func authenticate(user: String, password: String) -> Int32 {
    cssh_userauth_password(raw, user, password)
  }

  /// The last error code.
  var lastErrno: Int32 { libssh2_session_last_errno(raw) }

  /// The last error's code and message.
  var lastError: (code: Int32, message: String) {
    (libssh2_session_last_errno(raw), String(cString: cssh_session_last_error_message(raw)))
  }

  /// A message for the failure `code` that a call just returned, naming the code.
  func describe(_ code: Int) -> String {
    let error = lastError
    let text = error.code == Int32(code) && !error.message.isEmpty ? error.message : "failed"
    return "\(text) (libssh2 error \(code))"
  }

  /// Which socket directions the last call that returned EAGAIN waited for.
  var blockDirections: (inbound: Bool, outbound: Bool) {
    let directions = libssh2_session_block_directions(raw)
    return (
      directions & LIBSSH2_SESSION_BLOCK_INBOUND != 0,
      directions & LIBSSH2_SESSION_BLOCK_OUTBOUND != 0
    )
  }

  /// Enables keepalive messages every `interval` seconds.
  ///
  /// They ask for a reply, so a live server sends something at least once per interval; see
  /// `millisecondsSinceLastReceive`.
  func configureKeepalive(interval: Int) {
    libssh2_keepalive_config(raw, 1, UInt32(interval))
  }

  /// Milliseconds since the kernel last received data on the socket; nil where unknown (not
  /// Linux, or not a TCP socket, as behind a jump host).
  var millisecondsSinceLastReceive: UInt32? {
    #if os(Linux)
      var info = tcp_info()
      var length = socklen_t(MemoryLayout<tcp_info>.size)
      guard getsockopt(socket, Int32(IPPROTO_TCP), TCP_INFO, &info, &length) == 0 else {
        return nil
      }
      return info.tcpi_last_data_recv
    #else
      return nil
    #endif
  }

  /// Sends a keepalive if one is due; returns the libssh2 code and seconds until the next.
  func sendKeepalive() -> (code: Int32, secondsToNext: Int32) {
    var next: Int32 = 0
    let code = libssh2_keepalive_send(raw, &next)
    return (code, next)
  }

  /// Opens a session channel; nil with `lastErrno` EAGAIN means "try again".
  func openChannel() -> SSHChannel? {
    guard let channel = cssh_channel_open_session(raw) else { return nil }
    return SSHChannel(raw: channel, session: self)
  }

  /// Opens a `direct-tcpip` channel to `host:port` as seen from the server.
  func openDirectTCPIP(host: String, port: Int) -> SSHChannel? {
    guard let channel = cssh_channel_direct_tcpip(raw, host, Int32(port)) else { return nil }
    return SSHChannel(raw: channel, session: self)
  }

  /// Starts the SFTP subsystem; nil with `lastErrno` EAGAIN means "try again".
  func startSFTP() -> SFTPSession? {
    guard let sftp = libssh2_sftp_init(raw) else { return nil }
    return SFTPSession(raw: sftp, session: self)
  }

  /// Frees `pointer`, allocated by libssh2 for this session.
  func free(_ pointer: UnsafeMutableRawPointer) { libssh2_free(raw, pointer) }
}
