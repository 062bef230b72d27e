/// Why a transport could not do what was asked of one host.
public struct TransportError: Error, Sendable, Equatable {
  /// What went wrong; tests compare kinds.
  public enum Kind: Sendable, Equatable {
    /// The host could not be reached: name lookup, TCP connect or the SSH handshake failed.
    case unreachable(String)
    /// No authentication method worked; lists the methods tried, such as `publickey`.
    case authFailed([String])
    /// The host presented a key that differs from the known one: key type and fingerprint.
    case hostKeyMismatch(keyType: String, fingerprint: String)
    /// The host is not in any known_hosts file and the policy is strict.
    case hostKeyUnknown(keyType: String, fingerprint: String)
    /// The connection broke while a command or transfer was in progress.
    case connectionDropped
    /// The command or operation did not finish in time.
    case timeout
    /// The SSH server refused or broke a channel, SFTP failed, or a file operation failed.
    case channel(String)
    /// `sudo` refused the password or asked again.
    case becomeFailed(String)
  }

  /// What went wrong.
  public var kind: Kind
  /// The host as the user named it.
  public var host: String
  /// Extra words for the user: the library's own message, or what to change.
  public var detail: String?

  /// Creates an error.
  public init(_ kind: Kind, host: String, detail: String? = nil) {
    self.kind = kind
    self.host = host
    self.detail = detail
  }
}

extension TransportError: CustomStringConvertible {
  /// A one-line message that names the host.
  /// The host could not be reached or logged into, as opposed to a command that failed on it:
  /// what playbooks report as UNREACHABLE.
  public var isUnreachable: Bool {
    switch kind {
    case .unreachable, .authFailed, .hostKeyMismatch, .hostKeyUnknown, .connectionDropped: return true
    default: return false
    }
  }

  public var description: String {
    var text: String
    switch kind {
    case .unreachable(let reason): text = "host '\(host)' is unreachable: \(reason)"
    case .authFailed(let methods):
      let tried = methods.isEmpty ? "no usable method" : methods.joined(separator: ", ")
      text = "authentication to '\(host)' failed (tried: \(tried))"
    case .hostKeyMismatch(let type, let fingerprint):
      text =
        "host key for '\(host)' does not match known_hosts: the host sent \(type) \(fingerprint);"
        + " refusing to connect (possible man-in-the-middle, or the host was reinstalled)"
    case .hostKeyUnknown(let type, let fingerprint):
      text =
        "host key for '\(host)' is not in known_hosts (\(type) \(fingerprint)); add it with"
        + " ssh-keyscan after checking the fingerprint, or use the accept-new policy"
    case .connectionDropped: text = "connection to '\(host)' dropped"
    case .timeout: text = "timed out on '\(host)'"
    case .channel(let reason): text = "on '\(host)': \(reason)"
    case .becomeFailed(let reason): text = "privilege escalation on '\(host)' failed: \(reason)"
    }
    if let detail { text += " (\(detail))" }
    return text
  }
}
