import Foundation
import Inventory
import Testing

#if canImport(Glibc)
  import Glibc
#endif

/// provision's Ansible Vault against `ansible-vault` from ansible-core (`scripts/ansible-venv`),
/// both ways, with passwords and plaintexts made up on every run: what provision encrypts,
/// ansible-vault decrypts and views, and what ansible-vault encrypts, provision decrypts. The
/// `provision vault` subcommands run through the built binary.
///
/// Fails, never skips, when ansible-core or the binary cannot be had. Needs no test hosts.
@Suite(.serialized) struct VaultIntegrationTests {
  /// A private scratch directory, removed when the test ends.
  final class Scratch {
    let path: String
    init() throws {
      path = NSTemporaryDirectory() + "provision-vault-it-\(UUID().uuidString)"
      try FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: false)
      chmod(path, 0o700)
    }
    deinit { try? FileManager.default.removeItem(atPath: path) }

    func file(_ name: String) -> String { path + "/" + name }

    @discardableResult
    func write(_ name: String, _ bytes: [UInt8], mode: mode_t = 0o600) throws -> String {
      let p = file(name)
      try Data(bytes).write(to: URL(fileURLWithPath: p))
      chmod(p, mode)
      return p
    }

    func read(_ name: String) throws -> [UInt8] {
      [UInt8](try Data(contentsOf: URL(fileURLWithPath: file(name))))
    }
  }

  static func ansibleVault() throws -> String {
    try DifferentialTests.ansibleBin.get() + "/ansible-vault"
  }

  static func provision() throws -> String {
    let binary = DifferentialTests.provisionBinary
    guard FileManager.default.isExecutableFile(atPath: binary) else {
      throw Testbed.Unavailable(
        description: "\(binary) does not exist: build it first ('swift build --build-tests')")
    }
    return binary
  }

  static func run(_ argv: [String], environment: [String: String] = [:]) async -> (
    status: Int32, stdout: String, stderr: String
  ) {
    var env = ["ANSIBLE_NOCOLOR": "1", "EDITOR": "false"]
    for (k, v) in environment { env[k] = v }
    return await DifferentialTests.spawn(argv, environment: env, timeout: 120)
  }

  /// A password of printable ASCII and some non-ASCII letters, with no space at either end
  /// (Ansible strips those from password files).
  static func randomPassword() -> String {
    let letters = Array(
      "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789!#%&()*+,-./:;<=>?@[]^_{|}~ äöüß€✓"
    )
    let inner = (0..<Int.random(in: 8...40)).map { _ in letters.randomElement() ?? "x" }
    return "p" + String(inner) + "w"
  }

  /// Text of random length with unicode, line breaks and trailing spaces.
  static func randomText() -> String {
    let pieces = [
      "alpha", "β", "秘密", " ", "\n", "\t", "x=1", "\"q\"", "'", "\\", "🔑", "   ", "end",
    ]
    return (0..<Int.random(in: 0...60)).map { _ in pieces.randomElement() ?? "" }.joined()
  }

  // MARK: - ansible-vault reads what provision writes

  @Test(arguments: [nil, "prod"] as [String?])
  func ansibleVaultDecryptsOurs(_ label: String?) async throws {
    let vault = try Self.ansibleVault()
    let scratch = try Scratch()
    let password = Self.randomPassword()
    let passwordFile = try scratch.write("password", Array((password + "\n").utf8))
    let id = (label.map { "\($0)@" } ?? "") + passwordFile
    for round in 0..<4 {
      let plaintext = round == 0 ? "" : Self.randomText()
      let text = try Vault.encrypt(
        Array(plaintext.utf8), secret: VaultSecret(label: label, password: password))
      let file = try scratch.write("ours-\(round).yml", Array(text.utf8))

      let decrypted = await Self.run([vault, "decrypt", "--vault-id", id, "--output", "-", file])
      #expect(decrypted.status == 0, "ansible-vault decrypt: \(decrypted.stderr)")
      #expect(decrypted.stdout == plaintext, "ansible-vault decrypt of \(text)")

      let viewed = await Self.run([vault, "view", "--vault-id", id, file])
      #expect(viewed.status == 0, "ansible-vault view: \(viewed.stderr)")
      // Not on a terminal, view prints through Ansible's display, which ends the text with a
      // line break when it has none.
      #expect(
        viewed.stdout == plaintext || viewed.stdout == plaintext + "\n",
        "ansible-vault view of \(text)")
    }
  }

  // MARK: - provision reads what ansible-vault writes

  @Test(arguments: [nil, "prod"] as [String?])
  func weDecryptAnsibleVaultFiles(_ label: String?) async throws {
    let vault = try Self.ansibleVault()
    let scratch = try Scratch()
    let password = Self.randomPassword()
    let passwordFile = try scratch.write("password", Array((password + "\n").utf8))
    let id = (label.map { "\($0)@" } ?? "") + passwordFile
    let secret = VaultSecret(
      label: label, password: VaultSecret.password(fromFile: try scratch.read("password")))
    #expect(secret.password == Array(password.utf8))
    for round in 0..<4 {
      let plaintext = round == 0 ? "" : Self.randomText()
      let file = try scratch.write("theirs-\(round).yml", Array(plaintext.utf8))
      let encrypted = await Self.run([vault, "encrypt", "--vault-id", id, file])
      #expect(encrypted.status == 0, "ansible-vault encrypt: \(encrypted.stderr)")
      let text = try scratch.read("theirs-\(round).yml")
      #expect(Vault.label(of: text) == label)
      #expect(
        try Vault.decrypt(text, secrets: [VaultSecret(password: "wrong"), secret])
          == Array(plaintext.utf8))
    }
  }

  @Test func weDecryptEncryptStringOutputInYAML() async throws {
    let vault = try Self.ansibleVault()
    let scratch = try Scratch()
    let password = Self.randomPassword()
    let passwordFile = try scratch.write("password", Array((password + "\n").utf8))
    var yaml = "plain: visible\n"
    var expected: [String: String] = ["plain": "visible"]
    for (index, label) in [nil, "prod", nil].enumerated() {
      var plaintext = Self.randomText()
      if plaintext.isEmpty { plaintext = "not-empty" }  // encrypt_string refuses an empty string
      let id = (label.map { "\($0)@" } ?? "") + passwordFile
      let out = await Self.run([
        vault, "encrypt_string", "--vault-id", id, "--name", "secret\(index)", "--", plaintext,
      ])
      #expect(out.status == 0, "ansible-vault encrypt_string: \(out.stderr)")
      yaml += out.stdout
      expected["secret\(index)"] = plaintext
    }
    let file = try scratch.write("vars.yml", Array(yaml.utf8))
    VaultKeyring.shared.configure(secrets: [
      VaultSecret(password: password), VaultSecret(label: "prod", password: password),
    ])
    defer { VaultKeyring.shared.configure(secrets: []) }
    let vars = try InventoryLoader.loadVarsFile(file)
    #expect(vars == OrderedDict(expected.map { ($0.key, Value.string($0.value)) }))
    for (key, value) in expected
    where key != "plain" && value.count >= VaultKeyring.minimumRevealedLength {
      #expect(VaultKeyring.shared.revealedValues.contains(value))
    }
  }

  // MARK: - provision vault, the command

  @Test func provisionVaultCommandsWorkWithAnsibleVault() async throws {
    let provision = try Self.provision()
    let vault = try Self.ansibleVault()
    let scratch = try Scratch()
    let password = Self.randomPassword()
    let passwordFile = try scratch.write("password", Array((password + "\n").utf8))
    // A password script, as Ansible runs one when the password file is executable.
    let script = try scratch.write(
      "password-script", Array("#!/bin/sh\ncat '\(passwordFile)'\n".utf8), mode: 0o700)
    let plaintext =
      "db_password: " + Self.randomText().replacingOccurrences(of: "\n", with: " ") + "\n"
    let file = try scratch.write("secrets.yml", Array(plaintext.utf8), mode: 0o640)

    // encrypt in place keeps the mode; view and ansible-vault view show the plaintext.
    let encrypted = await Self.run([
      provision, "vault", "encrypt", "--vault-id", "prod@" + passwordFile, file,
    ])
    #expect(encrypted.status == 0, "provision vault encrypt: \(encrypted.stderr)")
    let text = try scratch.read("secrets.yml")
    #expect(String(decoding: text.prefix(31), as: UTF8.self) == "$ANSIBLE_VAULT;1.2;AES256;prod\n")
    var info = stat()
    #expect(stat(file, &info) == 0 && info.st_mode & 0o777 == 0o640)
    let viewed = await Self.run([provision, "vault", "view", "--vault-password-file", script, file])
    #expect(
      viewed.status == 0 && viewed.stdout == plaintext, "provision vault view: \(viewed.stderr)")
    let theirs = await Self.run([vault, "view", "--vault-id", "prod@" + passwordFile, file])
    #expect(
      theirs.status == 0 && theirs.stdout == plaintext, "ansible-vault view: \(theirs.stderr)")
    let fromEnvironment = await Self.run(
      [provision, "vault", "view", file], environment: ["ANSIBLE_VAULT_PASSWORD_FILE": passwordFile]
    )
    #expect(
      fromEnvironment.status == 0 && fromEnvironment.stdout == plaintext,
      "\(fromEnvironment.stderr)")

    // A wrong password fails with the file's location.
    let wrongFile = try scratch.write("wrong", Array("wrong\n".utf8))
    let wrong = await Self.run([
      provision, "vault", "view", "--vault-password-file", wrongFile, file,
    ])
    #expect(wrong.status != 0)
    #expect(wrong.stderr.hasPrefix("\(file):1:1: error: decryption failed"), "\(wrong.stderr)")

    // edit re-encrypts with the same vault id only when the editor changed something.
    let editor = try scratch.write(
      "editor", Array("#!/bin/sh\nprintf 'added: yes\\n' >> \"$1\"\n".utf8), mode: 0o700)
    let edited = await Self.run(
      [provision, "vault", "edit", "--vault-id", "prod@" + passwordFile, file],
      environment: ["EDITOR": editor])
    #expect(edited.status == 0, "provision vault edit: \(edited.stderr)")
    let afterEdit = await Self.run([vault, "view", "--vault-id", "prod@" + passwordFile, file])
    #expect(afterEdit.stdout == plaintext + "added: yes\n", "\(afterEdit.stderr)")
    #expect(Vault.label(of: try scratch.read("secrets.yml")) == "prod")
    let beforeUnchanged = try scratch.read("secrets.yml")
    let unchanged = await Self.run(
      [provision, "vault", "edit", "--vault-id", "prod@" + passwordFile, file],
      environment: ["EDITOR": "true"])
    #expect(unchanged.status == 0)
    #expect(try scratch.read("secrets.yml") == beforeUnchanged)

    // decrypt to standard output, and in place.
    let toStdout = await Self.run(
      [provision, "vault", "decrypt", "--vault-password-file", passwordFile, "--output", "-", file])
    #expect(toStdout.stdout == plaintext + "added: yes\n", "\(toStdout.stderr)")
    let inPlace = await Self.run([
      provision, "vault", "decrypt", "--vault-password-file", passwordFile, file,
    ])
    #expect(inPlace.status == 0)
    #expect(try scratch.read("secrets.yml") == Array((plaintext + "added: yes\n").utf8))

    // create writes a new vault file with mode 0600, from what the editor saved.
    let created = scratch.file("new/created.yml")
    let create = await Self.run(
      [provision, "vault", "create", "--vault-password-file", passwordFile, created],
      environment: ["EDITOR": editor])
    #expect(create.status == 0, "provision vault create: \(create.stderr)")
    let createdView = await Self.run([
      vault, "view", "--vault-password-file", passwordFile, created,
    ])
    #expect(createdView.stdout == "added: yes\n", "\(createdView.stderr)")
    #expect(stat(created, &info) == 0 && info.st_mode & 0o777 == 0o600)

    // encrypt-string output is YAML that Ansible itself loads and decrypts.
    let secretValue = "s3cret " + Self.randomPassword()
    let string = await Self.run(
      [
        provision, "vault", "encrypt-string", "--vault-id", "prod@" + passwordFile, "--name",
        "api_key", secretValue,
      ])
    #expect(string.status == 0, "provision vault encrypt-string: \(string.stderr)")
    #expect(
      string.stdout.hasPrefix("api_key: !vault |\n          $ANSIBLE_VAULT;1.2;AES256;prod\n"))
    let varsFile = try scratch.write("string.yml", Array(string.stdout.utf8))
    let ansible = try DifferentialTests.ansibleBin.get() + "/ansible"
    let debug = await Self.run([
      ansible, "localhost", "-i", "localhost,", "-c", "local", "-m", "debug", "-a", "var=api_key",
      "-e", "@" + varsFile, "--vault-id", "prod@" + passwordFile,
    ])
    #expect(
      debug.status == 0 && debug.stdout.contains(secretValue),
      "ansible debug: \(debug.stdout) \(debug.stderr)")
  }
}
