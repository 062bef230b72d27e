import CLibSSH2

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Process-wide libssh2 state.
enum LibSSH2 {
  /// `libssh2_init` is not thread-safe, so it runs exactly once, through Swift's lazy global
  /// initialisation, before any session exists.
  /// Writing to a socket the peer closed must fail with EPIPE, not kill the process.
  private static let initResult: Int32 = {
    signal(SIGPIPE, SIG_IGN)
    return libssh2_init(0)
  }()

  /// Initialises libssh2 on first use; returns false when it could not be initialised.
  static func ensureInitialized() -> Bool { initResult == 0 }

  /// libssh2 error codes that mean the session itself is unusable, not just one channel.
  static func isSessionFatal(_ code: Int32) -> Bool {
    switch code {
    case LIBSSH2_ERROR_SOCKET_SEND, LIBSSH2_ERROR_SOCKET_DISCONNECT, LIBSSH2_ERROR_SOCKET_RECV,
      LIBSSH2_ERROR_SOCKET_TIMEOUT, LIBSSH2_ERROR_TIMEOUT, LIBSSH2_ERROR_DECRYPT,
      LIBSSH2_ERROR_PROTO, LIBSSH2_ERROR_KEX_FAILURE, LIBSSH2_ERROR_BAD_SOCKET:
      return true
    default:
      return false
    }
  }
}
