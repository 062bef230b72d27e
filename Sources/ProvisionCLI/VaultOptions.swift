import ArgumentParser
import Foundation
import Inventory

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Where vault passwords come from, as ansible-playbook and ansible-vault take them.
///
/// Sources are read in Ansible's order: each `--vault-id`, each `--vault-password-file`, then
/// `ANSIBLE_VAULT_PASSWORD_FILE`, then the `--ask-vault-pass` prompt. A source that fails is a
/// warning when another one gave a password, and an error when none did.
struct VaultOptions: ParsableArguments {
  @Option(
    name: [.customLong("vault-password-file"), .customLong("vault-pass-file")],
    help: ArgumentHelp(
      "A file holding a vault password, or a script that prints one; repeatable.", valueName: "file"
    ))
  var vaultPasswordFiles: [String] = []

  @Option(
    name: .customLong("vault-id"),
    help: ArgumentHelp(
      "A vault password for vault id LABEL from a file, a script or 'prompt'; repeatable.",
      valueName: "[label@]source"))
  var vaultIDs: [String] = []

  @Flag(
    name: [.customShort("J"), .customLong("ask-vault-pass"), .customLong("ask-vault-password")],
    help: "Ask for the vault password.")
  var askVaultPass = false

  /// Configures `VaultKeyring.shared` with the passwords given; call it before loading anything.
  func install() throws {
    VaultKeyring.shared.configure(secrets: try secrets())
  }

  /// One place a password comes from.
  enum Source: Equatable {
    case file(String)
    /// A prompt; `ask` is `--ask-vault-pass`, which keeps Ansible's older prompt text.
    case prompt(ask: Bool)
  }

  /// The sources in the order they are read, each with its label (nil for the default one).
  ///
  /// - Parameter promptIfNone: prompt when no source is given, as ansible-vault does.
  func sources(promptIfNone: Bool = false) -> [(label: String?, source: Source)] {
    var out: [(label: String?, source: Source)] = []
    for id in vaultIDs {
      let (label, value) = Self.split(id)
      out.append((label, value == "prompt" ? .prompt(ask: false) : .file(value)))
    }
    var files = vaultPasswordFiles
    if let env = ProcessInfo.processInfo.environment["ANSIBLE_VAULT_PASSWORD_FILE"], !env.isEmpty {
      files.append(env)
    }
    out += files.map { (nil, .file($0)) }
    if askVaultPass || (out.isEmpty && promptIfNone) { out.append((nil, .prompt(ask: true))) }
    return out
  }

  /// The passwords from every source.
  ///
  /// - Parameters:
  ///   - promptIfNone: prompt when no source is given, as ansible-vault does.
  ///   - newPassword: prompts ask twice for a new password, for encrypting.
  /// - Throws: `ExitCode` after printing why, when no source gives a password.
  func secrets(promptIfNone: Bool = false, newPassword: Bool = false) throws -> [VaultSecret] {
    var secrets: [VaultSecret] = []
    var lastError: VaultError?
    for (label, source) in sources(promptIfNone: promptIfNone) {
      do {
        switch source {
        case .prompt(let ask):
          // A failed prompt stops everything, as in Ansible: the user is there to retry.
          let password = try Self.prompt(label: label, ask: ask, newPassword: newPassword)
          secrets.append(VaultSecret(label: label, password: password))
        case .file(let path):
          let password = try Self.password(fromFile: path, label: label, known: secrets)
          secrets.append(VaultSecret(label: label, password: password))
        }
      } catch {
        if case .file = source {
          printError("warning: \(error.message)")
          lastError = error
          continue
        }
        throw Self.fail(error)
      }
    }
    if secrets.isEmpty, let lastError { throw Self.fail(lastError) }
    return secrets
  }

  /// Prints a vault error and exits 1, as Ansible does for errors that are not about the input.
  static func fail(_ error: VaultError) -> ExitCode {
    printError(error.diagnostic.description)
    return ExitCode(ExitStatus.error)
  }

  /// `LABEL@SOURCE` split at the first `@`; no `@` means no label.
  static func split(_ id: String) -> (label: String?, source: String) {
    guard let at = id.firstIndex(of: "@") else { return (nil, id) }
    return (String(id[..<at]), String(id[id.index(after: at)...]))
  }

  static func prompt(label: String?, ask: Bool, newPassword: Bool) throws(VaultError) -> [UInt8] {
    let id = label ?? VaultSecret.defaultLabel
    let prompts =
      switch (ask, newPassword) {
      case (true, false): ["Vault password: "]
      case (true, true): ["New Vault password: ", "Confirm New Vault password: "]
      case (false, false): ["Vault password (\(id)): "]
      case (false, true): ["New vault password (\(id)): ", "Confirm new vault password (\(id)): "]
      }
    var typed: [[UInt8]] = []
    for text in prompts {
      guard let answer = Secrets.prompt(text) else {
        throw VaultError(.password("cannot ask for the vault password: there is no terminal"))
      }
      let password = VaultSecret.password(fromPrompt: answer)
      guard !password.isEmpty else { throw VaultError(.password("the vault password is empty")) }
      typed.append(password)
    }
    guard typed.allSatisfy({ $0 == typed[0] }) else {
      throw VaultError(.password("the vault passwords do not match"))
    }
    return typed[0]
  }

  /// The password in a file, or printed by it when it is executable. A `NAME-client` script
  /// is asked for a label with `--vault-id LABEL`, as Ansible asks it.
  ///
  /// - Parameter known: passwords read so far, which may decrypt a vault-encrypted password file.
  static func password(fromFile path: String, label: String?, known: [VaultSecret])
    throws(VaultError) -> [UInt8]
  {
    let expanded = (path as NSString).expandingTildeInPath
    var isDirectory: ObjCBool = false
    guard FileManager.default.fileExists(atPath: expanded, isDirectory: &isDirectory),
      !isDirectory.boolValue
    else {
      throw VaultError(.password("the vault password file '\(path)' was not found"))
    }
    let password: [UInt8]
    if access(expanded, X_OK) == 0 {
      password = VaultSecret.password(fromScriptOutput: try run(script: expanded, label: label))
    } else {
      guard let data = FileManager.default.contents(atPath: expanded) else {
        throw VaultError(.password("cannot read the vault password file '\(path)'"))
      }
      var bytes = VaultSecret.password(fromFile: [UInt8](data))
      if Vault.isEncrypted(bytes) {
        bytes = try VaultKeyring(secrets: known).decrypt(
          bytes, subject: "the vault password file '\(path)'", at: nil)
        bytes = VaultSecret.password(fromScriptOutput: bytes)
      }
      password = bytes
    }
    guard !password.isEmpty else {
      throw VaultError(.password("invalid vault password: '\(path)' gives an empty one"))
    }
    return password
  }

  /// Runs a password script with the terminal as its stdin and stderr, so that it can prompt.
  static func run(script path: String, label: String?) throws(VaultError) -> [UInt8] {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: path)
    let name = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
    let isClient = name.hasSuffix("-client")
    if isClient, let label { process.arguments = ["--vault-id", label] }
    let out = Pipe()
    process.standardOutput = out
    do {
      try process.run()
    } catch {
      throw VaultError(
        .password("cannot run the vault password script '\(path)': \(error.localizedDescription)"),
        hint: "if it is not a script, remove its executable bit: chmod -x \(path)")
    }
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    let status = process.terminationStatus
    if isClient && status == 2 {
      throw VaultError(
        .password(
          "vault password client script '\(path)' has no password for vault id '\(label ?? VaultSecret.defaultLabel)'"
        ))
    }
    guard status == 0 else {
      throw VaultError(.password("vault password script '\(path)' exited with status \(status)"))
    }
    return [UInt8](data)
  }
}
