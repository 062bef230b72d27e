import CLibSSH2
import Foundation

/// A connection to ssh-agent, used to authenticate one session.
///
/// Used in blocking mode during connection setup only.
final class SSHAgent {
  /// One identity the agent holds.
  struct Identity {
    /// The agent's comment, usually the key file or user@host.
    var comment: String
    /// The key type from the public key blob, such as `ssh-ed25519`.
    var keyType: String
    fileprivate var pointer: UnsafeMutablePointer<libssh2_agent_publickey>
  }

  private let raw: OpaquePointer
  private let session: SSHSession
  private var isConnected = false

  /// Creates an agent client; `socketPath` overrides `SSH_AUTH_SOCK`.
  init?(session: SSHSession, socketPath: String? = nil) {
    guard let raw = libssh2_agent_init(session.raw) else { return nil }
    self.raw = raw
    self.session = session
    if let socketPath { libssh2_agent_set_identity_path(raw, socketPath) }
  }

  deinit {
    if isConnected { _ = libssh2_agent_disconnect(raw) }
    libssh2_agent_free(raw)
  }

  /// Connects to the agent and lists its identities.
  func identities() -> [Identity] {
    guard libssh2_agent_connect(raw) == 0 else { return [] }
    isConnected = true
    guard libssh2_agent_list_identities(raw) == 0 else { return [] }
    var result: [Identity] = []
    var previous: UnsafeMutablePointer<libssh2_agent_publickey>?
    while true {
      var current: UnsafeMutablePointer<libssh2_agent_publickey>?
      guard libssh2_agent_get_identity(raw, &current, previous) == 0, let current else { break }
      let comment = current.pointee.comment.map { String(cString: $0) } ?? ""
      let blob = UnsafeBufferPointer(start: current.pointee.blob, count: current.pointee.blob_len)
      result.append(
        Identity(
          comment: comment, keyType: KeyFile.keyType(publicKeyBlob: Array(blob)) ?? "",
          pointer: current))
      previous = current
    }
    return result
  }

  /// Authenticates `user` with `identity`; returns a libssh2 code.
  func authenticate(user: String, with identity: Identity) -> Int32 {
    libssh2_agent_userauth(raw, user, identity.pointer)
  }
}
