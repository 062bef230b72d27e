import Foundation
import Inventory

/// How to reach one host, resolved from its inventory variables, the `ssh` options written in
/// `ansible_ssh_common_args`/`ansible_ssh_extra_args`, and the SSH client config, in that order
/// of precedence (as OpenSSH would see them when Ansible runs it).
public struct ConnectionSettings: Sendable, Equatable {
  public enum Kind: String, Sendable { case ssh, local }

  /// What to do with a host key that is not in known_hosts: the transport's own policy.
  public typealias HostKeyPolicy = SSHTarget.HostKeyPolicy

  /// A bastion to go through, from `ProxyJump` or `-J`.
  public struct Jump: Sendable, Equatable {
    public var host: String
    public var port: Int?
    public var user: String?
  }

  public var kind: Kind = .ssh
  public var inventoryName: String
  /// The name or address to connect to.
  public var address: String
  public var port: Int = 22
  public var user: String
  public var identityFiles: [String] = []
  public var identitiesOnly = false
  /// `ansible_password`; never printed.
  public var password: String?
  /// The passphrase of encrypted key files; never printed.
  public var passphrase: String?
  public var hostKeyPolicy: HostKeyPolicy = .strict
  public var knownHostsFiles: [String] = []
  public var connectTimeout: Double = 10
  public var keepaliveInterval: Int?
  public var jumps: [Jump] = []
  public var become = false
  public var becomeUser = "root"
  public var becomeMethod = "sudo"
  /// `ansible_become_password`; never printed.
  public var becomePassword: String?
  /// `provision_resident_shell` (default true): the engine's commands run in one long-lived
  /// shell on the session (`SSHTarget.residentShell`); false gives each a channel of its own.
  public var residentShell = true

  /// Resolves the settings for `host` from its merged variables.
  ///
  /// - Parameters:
  ///   - variables: the host's variables (inventory and play).
  ///   - sshConfig: the client config; `nil` reads `~/.ssh/config`, or the `-F` file named in
  ///     the ssh args.
  ///   - currentUser: the user to log in as when nothing names one.
  public static func resolve(
    host: String, variables: OrderedDict, sshConfig: SSHConfig? = nil,
    home: String = NSHomeDirectory(), currentUser: String = ProcessInfo.processInfo.environment["USER"] ?? "root"
  ) -> ConnectionSettings {
    func string(_ key: String) -> String? {
      switch variables[key] {
      case .string(let s)?: return s
      case .int(let i)?: return String(i)
      case .bool(let b)?: return b ? "true" : "false"
      default: return nil
      }
    }
    func bool(_ key: String) -> Bool? {
      switch variables[key] {
      case .bool(let b)?: return b
      case .string(let s)?: return ["yes", "true", "on", "1"].contains(s.lowercased())
      case .int(let i)?: return i != 0
      default: return nil
      }
    }
    let args = SSHArguments.parse(
      [string("ansible_ssh_common_args"), string("ansible_ssh_extra_args")].compactMap { $0 }.joined(separator: " "))
    let config = sshConfig ?? SSHConfig(contentsOf: SSHConfig.expandTilde(args.configFile ?? "~/.ssh/config", home: home), home: home)
    let target = string("ansible_host") ?? string("ansible_ssh_host") ?? host
    let fromConfig = config.settings(for: target)
    var s = ConnectionSettings(
      inventoryName: host, address: args.options["hostname"] ?? fromConfig.hostName ?? target,
      user: string("ansible_user") ?? string("ansible_ssh_user") ?? args.user ?? args.options["user"]
        ?? fromConfig.user ?? currentUser)
    if string("ansible_connection") == "local" || (host == "localhost" && variables["ansible_connection"] == nil && variables["ansible_host"] == nil) {
      s.kind = .local
    }
    s.port = (string("ansible_port") ?? string("ansible_ssh_port")).flatMap { Int($0) } ?? args.port
      ?? args.options["port"].flatMap { Int($0) } ?? fromConfig.port ?? 22
    let keyFile = string("ansible_ssh_private_key_file") ?? string("ansible_private_key_file")
    s.identityFiles = ([keyFile].compactMap { $0 } + args.identityFiles + (args.options["identityfile"].map { [$0] } ?? [])
      + fromConfig.identityFiles).map { SSHConfig.expandTilde($0, home: home) }
    s.identitiesOnly = args.options["identitiesonly"].map(SSHConfig.yes) ?? fromConfig.identitiesOnly ?? false
    s.password = string("ansible_password") ?? string("ansible_ssh_pass") ?? string("ansible_ssh_password")
    let strict = args.options["stricthostkeychecking"] ?? fromConfig.strictHostKeyChecking
    switch strict?.lowercased() {
    case "no"?, "off"?: s.hostKeyPolicy = .off
    case "accept-new"?: s.hostKeyPolicy = .acceptNew
    default:
      if let checking = bool("ansible_host_key_checking"), !checking { s.hostKeyPolicy = .off }
    }
    let known = args.options["userknownhostsfile"].map { $0.split(separator: " ").map(String.init) }
      ?? (fromConfig.userKnownHostsFiles.isEmpty ? ["~/.ssh/known_hosts"] : fromConfig.userKnownHostsFiles)
    s.knownHostsFiles = known.map { SSHConfig.expandTilde($0, home: home) }
    s.connectTimeout = args.options["connecttimeout"].flatMap(Double.init) ?? (string("ansible_ssh_timeout") ?? string("ansible_timeout")).flatMap(Double.init)
      ?? fromConfig.connectTimeout ?? 10
    s.keepaliveInterval = args.options["serveraliveinterval"].flatMap { Int($0) } ?? fromConfig.serverAliveInterval
    let jump = args.jump ?? args.options["proxyjump"] ?? fromConfig.proxyJump
    if let jump, jump.lowercased() != "none" { s.jumps = ConnectionSettings.parseJumps(jump) }
    s.become = bool("ansible_become") ?? false
    s.becomeUser = string("ansible_become_user") ?? "root"
    s.becomeMethod = string("ansible_become_method") ?? "sudo"
    s.becomePassword = string("ansible_become_password") ?? string("ansible_become_pass") ?? string("ansible_sudo_pass")
    s.residentShell = bool("provision_resident_shell") ?? true
    return s
  }

  /// `[user@]host[:port]`, comma-separated, as in `ProxyJump` and `-J`.
  static func parseJumps(_ text: String) -> [Jump] {
    text.split(separator: ",").map { part in
      var rest = String(part).trimmingCharacters(in: .whitespaces)
      if rest.hasPrefix("ssh://") { rest.removeFirst(6) }
      var user: String?
      if let at = rest.lastIndex(of: "@") {
        user = String(rest[..<at])
        rest = String(rest[rest.index(after: at)...])
      }
      var port: Int?
      if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
        let after = rest[rest.index(after: close)...]
        port = after.hasPrefix(":") ? Int(after.dropFirst()) : nil
        rest = String(rest[rest.index(after: rest.startIndex)..<close])
      } else if rest.filter({ $0 == ":" }).count == 1, let colon = rest.firstIndex(of: ":") {
        port = Int(rest[rest.index(after: colon)...])
        rest = String(rest[..<colon])
      }
      return Jump(host: rest, port: port, user: user)
    }
  }
}

/// The `ssh` command-line options Ansible users put in `ansible_ssh_common_args` and
/// `ansible_ssh_extra_args`: `-o Key=Value`, `-J`, `-i`, `-F`, `-p`, `-l`.
struct SSHArguments: Equatable {
  /// `-o` options, keywords lower-cased; the first one given wins, as in ssh.
  var options: [String: String] = [:]
  var identityFiles: [String] = []
  var configFile: String?
  var jump: String?
  var port: Int?
  var user: String?

  static func parse(_ text: String) -> SSHArguments {
    var result = SSHArguments()
    let words = shellWords(text)
    var i = 0
    func next() -> String? {
      i += 1
      return i < words.count ? words[i] : nil
    }
    while i < words.count {
      let w = words[i]
      var flag = w
      var inline: String?
      if w.hasPrefix("-") && w.count > 2 && !w.hasPrefix("--") {
        flag = String(w.prefix(2))
        inline = String(w.dropFirst(2))
      }
      switch flag {
      case "-o":
        if let option = inline ?? next() {
          var key = option
          var value = ""
          if let eq = option.firstIndex(of: "=") {
            key = String(option[..<eq])
            value = String(option[option.index(after: eq)...])
          } else if let space = option.firstIndex(of: " ") {
            key = String(option[..<space])
            value = String(option[option.index(after: space)...]).trimmingCharacters(in: .whitespaces)
          }
          let k = key.trimmingCharacters(in: .whitespaces).lowercased()
          if result.options[k] == nil { result.options[k] = value.trimmingCharacters(in: .whitespaces) }
        }
      case "-i": if let v = inline ?? next() { result.identityFiles.append(v) }
      case "-F": result.configFile = inline ?? next()
      case "-J": result.jump = inline ?? next()
      case "-p": result.port = (inline ?? next()).flatMap { Int($0) }
      case "-l": result.user = inline ?? next()
      default: break
      }
      i += 1
    }
    return result
  }

  /// POSIX shell words: quotes group, a backslash escapes. Text with an unbalanced quote
  /// falls back to words between spaces rather than losing the options.
  static func shellWords(_ text: String) -> [String] {
    ShellWords.split(text, comments: false)
      ?? text.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init)
  }
}
