import Foundation

extension ConnectionSettings {
  /// The SSH target these settings describe, jump hosts included.
  public var sshTarget: SSHTarget {
    var proxy: SSHTarget.ProxyJump?
    // ProxyJump a,b: connect to a first, then through a to b, then through b to the host.
    for jump in jumps {
      var hop = SSHTarget(
        name: jump.host, port: jump.port ?? 22, user: jump.user ?? user, identityFiles: identityFiles,
        knownHostsFiles: knownHostsFiles, hostKeyPolicy: hostKeyPolicy, connectTimeout: connectTimeout)
      hop.proxyJump = proxy
      proxy = SSHTarget.ProxyJump(hop)
    }
    var target = SSHTarget(
      name: inventoryName, address: address, port: port, user: user, identityFiles: identityFiles,
      passphrase: passphrase, password: password, useAgent: !identitiesOnly || identityFiles.isEmpty,
      knownHostsFiles: knownHostsFiles, hostKeyPolicy: hostKeyPolicy, connectTimeout: connectTimeout,
      keepaliveInterval: keepaliveInterval ?? 30, proxyJump: proxy)
    target.residentShell = residentShell
    return target
  }

  /// Privilege escalation as the inventory asks for it, or nil when it does not.
  public var becomeSetting: Become? {
    become
      ? Become(user: becomeUser, password: becomePassword, method: becomeMethod == "su" ? .su : .sudo)
      : nil
  }

  /// A transport for this host: SSH, or the controller itself for `connection: local`.
  public func makeTransport() -> any Transport {
    switch kind {
    case .local: return LocalTransport(host: inventoryName)
    case .ssh: return SSHTransport(target: sshTarget)
    }
  }
}
