import CLibSSH2
import Foundation

/// Authenticates a session with the methods a target allows, in OpenSSH's order.
///
/// Runs in blocking mode during connection setup, after the host key was verified.
enum Authenticator {
  /// Tries ssh-agent identities, then key files, then the password if the server takes one.
  ///
  /// - Throws: `TransportError` with `.authFailed` listing what was tried, and a hint when an RSA
  ///   key was among them.
  static func authenticate(_ session: SSHSession, target: SSHTarget) throws(TransportError) {
    let user = target.user
    var tried: [String] = []
    var notes: [String] = []
    var triedRSA = false

    func check(_ code: Int32) throws(TransportError) -> Bool {
      if code == 0 { return true }
      if LibSSH2.isSessionFatal(code) {
        throw TransportError(.unreachable(session.lastError.message), host: target.name)
      }
      return false
    }

    /// The methods the server takes; nil once authenticated (a server may take "none").
    func serverMethods() throws(TransportError) -> [String]? {
      if let methods = session.authMethods(user: user) { return methods }
      if session.isAuthenticated { return nil }
      let error = session.lastError
      if LibSSH2.isSessionFatal(error.code) {
        throw TransportError(.unreachable(error.message), host: target.name)
      }
      throw TransportError(.authFailed(tried), host: target.name, detail: error.message)
    }

    // Without a password, keys are all there is to try: they go first, without asking the
    // server which methods it takes, since OpenSSH 8.x to 9.4 answer that question ("none")
    // only after the 5-9 ms that delay a failed attempt. With a password, ask first, as
    // OpenSSH's client does, so that keys a server refuses do not use up its MaxAuthTries.
    var offered: [String]?
    if target.password != nil {
      guard let methods = try serverMethods() else { return }
      offered = methods
    }
    if offered?.contains("publickey") ?? true {
      let socket = target.agentSocket ?? ProcessInfo.processInfo.environment["SSH_AUTH_SOCK"]
      if target.useAgent, let socket, !socket.isEmpty, let agent = SSHAgent(session: session, socketPath: socket) {
        for identity in agent.identities() {
          tried.append("publickey (agent: \(identity.comment))")
          if identity.keyType == "ssh-rsa" { triedRSA = true }
          if try check(agent.authenticate(user: user, with: identity)) { return }
        }
      }
      for file in identityFiles(for: target) {
        guard FileManager.default.fileExists(atPath: file) else {
          if !target.identityFiles.isEmpty { notes.append("identity file '\(file)' not found") }
          continue
        }
        tried.append("publickey (\(file))")
        if KeyFile.keyType(privateKeyAt: file) == "ssh-rsa" { triedRSA = true }
        let code = session.authenticate(user: user, privateKeyFile: file, passphrase: target.passphrase)
        if try check(code) { return }
        if code == LIBSSH2_ERROR_FILE {
          notes.append(
            target.passphrase == nil
              ? "cannot read '\(file)': it may need a passphrase"
              : "cannot read '\(file)': wrong passphrase or unsupported key format")
        }
      }
    }
    let methods: [String]
    if let offered {
      methods = offered
    } else {
      guard let asked = try serverMethods() else { return }
      methods = asked
    }
    if methods.contains("password"), let password = target.password {
      tried.append("password")
      if try check(session.authenticate(user: user, password: password)) { return }
    }
    if triedRSA {
      notes.append(
        "libssh2 1.10 signs RSA keys only with SHA-1 (ssh-rsa), which OpenSSH 8.8 and later"
          + " refuse; use an ed25519 key (ssh-keygen -t ed25519)")
    }
    if tried.isEmpty || !methods.contains("publickey") {
      notes.append("the server offers \(methods.joined(separator: ", "))")
    }
    throw TransportError(
      .authFailed(tried), host: target.name,
      detail: notes.isEmpty ? nil : notes.joined(separator: "; "))
  }

  /// The key files to try: the target's, or the OpenSSH defaults that libssh2 can use.
  static func identityFiles(for target: SSHTarget) -> [String] {
    if !target.identityFiles.isEmpty {
      return target.identityFiles.map { ($0 as NSString).expandingTildeInPath }
    }
    let home = NSHomeDirectory()
    return ["id_ed25519", "id_ecdsa", "id_rsa"].map { "\(home)/.ssh/\($0)" }
  }
}
