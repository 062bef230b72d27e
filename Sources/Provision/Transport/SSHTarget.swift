/// Everything needed to open an SSH session to one host.
///
/// Inventory and ssh config are mapped to this struct elsewhere; the transport only reads it.
public struct SSHTarget: Sendable, Equatable {
  /// What to do with a host key that is not in any known_hosts file.
  public enum HostKeyPolicy: String, Sendable, Equatable {
    /// Refuse unknown hosts (OpenSSH `StrictHostKeyChecking yes`).
    case strict
    /// Add unknown hosts to the first known_hosts file; refuse changed keys.
    case acceptNew
    /// Check nothing. Only for throwaway test hosts.
    case off
  }

  /// The name used in messages: the inventory name of the host.
  public var name: String
  /// Host name or address to connect to (IPv4, IPv6 or DNS name); defaults to `name`.
  public var address: String
  /// TCP port.
  public var port: Int
  /// The login user.
  public var user: String
  /// Private key files to try, in order. Empty means `~/.ssh/id_ed25519`, `id_ecdsa`, `id_rsa`.
  public var identityFiles: [String]
  /// Passphrase for encrypted key files.
  public var passphrase: String?
  /// Password for password authentication, tried after keys.
  public var password: String?
  /// Whether to ask ssh-agent for identities.
  public var useAgent: Bool
  /// The agent's socket; nil means `SSH_AUTH_SOCK`.
  public var agentSocket: String?
  /// known_hosts files to check, in order; the first receives new keys under `acceptNew`.
  /// Empty means `~/.ssh/known_hosts`.
  public var knownHostsFiles: [String]
  /// What to do with unknown host keys.
  public var hostKeyPolicy: HostKeyPolicy
  /// Seconds allowed for the TCP connect.
  public var connectTimeout: Double
  /// Seconds allowed for the SSH handshake and authentication.
  public var handshakeTimeout: Double
  /// Seconds between keepalive messages; 0 disables them.
  public var keepaliveInterval: Int
  /// Most channels open at once on the session; sshd's default `MaxSessions` is 10.
  public var maxChannels: Int
  /// A bastion to reach this host through, with a `direct-tcpip` channel.
  public var proxyJump: ProxyJump?
  /// Commands run in one long-lived `/bin/sh` on the session where they can (`ShellFrame`),
  /// instead of each starting a channel, sshd's child and the login shell of its own.
  public var residentShell = true

  /// A bastion host; boxed so that `SSHTarget` can nest.
  public final class ProxyJump: Sendable, Equatable {
    /// The bastion's own target.
    public let target: SSHTarget
    /// Creates a jump through `target`.
    public init(_ target: SSHTarget) { self.target = target }
    public static func == (lhs: ProxyJump, rhs: ProxyJump) -> Bool { lhs.target == rhs.target }
  }

  /// Creates a target with OpenSSH-like defaults.
  public init(
    name: String, address: String? = nil, port: Int = 22, user: String,
    identityFiles: [String] = [], passphrase: String? = nil, password: String? = nil,
    useAgent: Bool = true, agentSocket: String? = nil, knownHostsFiles: [String] = [],
    hostKeyPolicy: HostKeyPolicy = .strict,
    connectTimeout: Double = 10, handshakeTimeout: Double = 30, keepaliveInterval: Int = 30,
    maxChannels: Int = 8, proxyJump: ProxyJump? = nil
  ) {
    self.name = name
    self.address = address ?? name
    self.port = port
    self.user = user
    self.identityFiles = identityFiles
    self.passphrase = passphrase
    self.password = password
    self.useAgent = useAgent
    self.agentSocket = agentSocket
    self.knownHostsFiles = knownHostsFiles
    self.hostKeyPolicy = hostKeyPolicy
    self.connectTimeout = connectTimeout
    self.handshakeTimeout = handshakeTimeout
    self.keepaliveInterval = keepaliveInterval
    self.maxChannels = maxChannels
    self.proxyJump = proxyJump
  }
}
