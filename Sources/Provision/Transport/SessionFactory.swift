import CLibSSH2
import Foundation

/// Opens authenticated sessions: TCP connect, handshake, host key check, authentication.
///
/// Runs on a connection's own thread in blocking mode bounded by the target's timeouts, then
/// switches the session to non-blocking for the poll loop.
enum SessionFactory {
  /// Opens a session to `target`, retrying a few times when the server drops the handshake
  /// (sshd's `MaxStartups` does that when many connections arrive at once).
  ///
  /// - Parameters:
  ///   - target: the host and how to authenticate.
  ///   - connectSocket: opens the TCP connection, directly or through a jump host.
  /// - Returns: an authenticated, non-blocking session.
  /// - Throws: `TransportError` from connecting, the host key check or authentication.
  static func open(
    _ target: SSHTarget, connectSocket: () throws(TransportError) -> Int32
  ) throws(TransportError) -> SSHSession {
    var delay = 0.1
    var attempt = 0
    while true {
      attempt += 1
      let socket = try connectSocket()
      do throws(Failure) {
        return try openOnce(target, socket: socket)
      } catch {
        guard error.isRetryable, attempt < 4 else { throw error.error }
        Thread.sleep(forTimeInterval: delay * Double.random(in: 0.75...1.5))
        delay *= 3
      }
    }
  }

  /// A failed attempt, and whether another attempt may succeed.
  private struct Failure: Error {
    var error: TransportError
    var isRetryable = false
  }

  private static func openOnce(_ target: SSHTarget, socket: Int32) throws(Failure)
    -> SSHSession
  {
    guard let session = SSHSession(socket: socket) else {
      close(socket)
      throw Failure(
        error: TransportError(.unreachable("cannot create an SSH session"), host: target.name))
    }
    session.setBlocking(true, timeoutMilliseconds: Int(target.handshakeTimeout * 1000))
    let code = session.handshake()
    if code != 0 {
      let message = session.lastError.message
      let failed = TransportError.Kind.unreachable("SSH handshake failed: \(message)")
      switch code {
      case LIBSSH2_ERROR_TIMEOUT:
        throw Failure(
          error: TransportError(.timeout, host: target.name, detail: "SSH handshake: \(message)"))
      case LIBSSH2_ERROR_KEX_FAILURE:
        throw Failure(
          error: TransportError(
            failed, host: target.name,
            detail: "libssh2 1.10 cannot use RSA host keys with SHA-2; the host needs an"
              + " ed25519 or ECDSA host key"))
      case LIBSSH2_ERROR_SOCKET_RECV, LIBSSH2_ERROR_SOCKET_DISCONNECT,
        LIBSSH2_ERROR_BANNER_RECV, LIBSSH2_ERROR_SOCKET_SEND:
        throw Failure(error: TransportError(failed, host: target.name), isRetryable: true)
      default:
        throw Failure(error: TransportError(failed, host: target.name))
      }
    }
    do throws(TransportError) {
      try HostKeyVerifier.verify(session, target: target)
      try Authenticator.authenticate(session, target: target)
    } catch {
      throw Failure(error: error)
    }
    session.setBlocking(false)
    if target.keepaliveInterval > 0 {
      session.configureKeepalive(interval: target.keepaliveInterval)
    }
    return session
  }
}
