import CLibCrypto
import CLibSSH2
import Foundation

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

  /// Does libssh2's and OpenSSL's one-time work on a thread of its own, for a command that is
  /// about to connect. OpenSSL reads its configuration and seeds its random generator on first
  /// use (about 2 ms), and looks up each algorithm's implementation the first time it is used;
  /// otherwise every host's key exchange waits for that, after its server's greeting. Done here,
  /// it overlaps the reading of the command line, inventory and playbooks.
  static func warmUp() {
    Thread.detachNewThread {
      guard ensureInitialized() else { return }
      var bytes = [UInt8](repeating: 0, count: 64)
      _ = RAND_bytes(&bytes, Int32(bytes.count))
      var digest = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
      var length: UInt32 = 0
      // The key exchange's hash and the packets' MAC.
      _ = EVP_Digest(bytes, bytes.count, &digest, &length, EVP_sha256(), nil)
      _ = HMAC(EVP_sha256(), bytes, 32, bytes, bytes.count, &digest, &length)
      // The packets' cipher.
      if let cipher = EVP_CIPHER_CTX_new() {
        _ = EVP_EncryptInit_ex(cipher, EVP_aes_128_ctr(), nil, bytes, bytes)
        EVP_CIPHER_CTX_free(cipher)
      }
      // curve25519-sha256's key pair, and ed25519's, signing as user authentication does.
      for type in [NID_X25519, NID_ED25519] {
        guard let context = EVP_PKEY_CTX_new_id(type, nil) else { continue }
        var key: OpaquePointer?
        if EVP_PKEY_keygen_init(context) == 1, EVP_PKEY_keygen(context, &key) == 1, let key, type == NID_ED25519,
          let sign = EVP_MD_CTX_new()
        {
          var signature = [UInt8](repeating: 0, count: 64)
          var size = signature.count
          if EVP_DigestSignInit(sign, nil, nil, nil, key) == 1 {
            _ = EVP_DigestSign(sign, &signature, &size, bytes, bytes.count)
          }
          EVP_MD_CTX_free(sign)
        }
        EVP_PKEY_free(key)
        EVP_PKEY_CTX_free(context)
      }
    }
  }

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
