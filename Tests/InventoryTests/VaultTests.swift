import Foundation
import Testing

@testable import Inventory

/// Ansible Vault against files `ansible-vault` made (`Fixtures/vault`, see its README.md), and
/// the loaders that decrypt vault data on the way in.
///
/// Serialized: several tests configure the process-wide `VaultKeyring.shared`.
@Suite(.serialized) struct VaultTests {
  static let fixtures = Repository.fixtures + "/vault"
  static let defaultSecret = VaultSecret(password: "vault-test-password")
  static let prodSecret = VaultSecret(label: "prod", password: "prød sécret ✓")
  static let wrongSecret = VaultSecret(password: "not-the-password")

  func bytes(_ relative: String) throws -> [UInt8] {
    [UInt8](try Data(contentsOf: URL(fileURLWithPath: Self.fixtures + "/" + relative)))
  }

  /// Runs `body` with `secrets` in the shared keyring, then empties it again.
  func withKeyring<T>(_ secrets: [VaultSecret], _ body: () throws -> T) rethrows -> T {
    VaultKeyring.shared.configure(secrets: secrets)
    VaultKeyring.shared.forgetRevealedValues()
    defer {
      VaultKeyring.shared.configure(secrets: [])
      VaultKeyring.shared.forgetRevealedValues()
    }
    return try body()
  }

  // MARK: - Passwords

  @Test func passwordFilesAreStrippedAsAnsibleStripsThem() throws {
    #expect(
      VaultSecret.password(fromFile: try bytes("password")) == Array("vault-test-password".utf8))
    #expect(
      VaultSecret.password(fromFile: try bytes("prod-password")) == Array("prød sécret ✓".utf8))
    #expect(VaultSecret.password(fromFile: Array(" \t pw \n\r\n".utf8)) == Array("pw".utf8))
    #expect(VaultSecret.password(fromScriptOutput: Array(" pw \r\n".utf8)) == Array(" pw ".utf8))
    #expect(VaultSecret.password(fromPrompt: " pw\n") == Array("pw".utf8))
    #expect(VaultSecret.password(fromFile: Array("\n\n".utf8)).isEmpty)
  }

  // MARK: - Decrypting what ansible-vault wrote

  @Test(arguments: [
    ("vars-1.1.yml", "plain/vars.yml"), ("vars-1.2-prod.yml", "plain/vars.yml"),
    ("empty-1.1.vault", "plain/empty"), ("inventory/group_vars/web/vault.yml", "plain/web.yml"),
    ("inventory/host_vars/db1.yml", "plain/db1.yml"), ("encrypted-ini/hosts", "plain/hosts.ini"),
    ("encrypted-yaml/hosts.yml", "plain/hosts.yml"),
  ])
  func decryptsWholeFiles(_ vault: String, _ plain: String) throws {
    let data = try bytes(vault)
    #expect(Vault.isEncrypted(data))
    let plaintext = try Vault.decrypt(
      data, secrets: [Self.wrongSecret, Self.defaultSecret, Self.prodSecret])
    #expect(plaintext == (try bytes(plain)))
  }

  @Test func headersGiveVersionAndLabel() throws {
    let v11 = try Vault.envelope(try bytes("vars-1.1.yml"))
    #expect(v11.version == "1.1" && v11.cipher == "AES256" && v11.label == nil)
    let v12 = try Vault.envelope(try bytes("vars-1.2-prod.yml"))
    #expect(v12.version == "1.2" && v12.cipher == "AES256" && v12.label == "prod")
    #expect(Vault.label(of: try bytes("vars-1.2-prod.yml")) == "prod")
    #expect(!Vault.isEncrypted(try bytes("plain/vars.yml")))
  }

  @Test func inlineValuesDecryptNextToPlainOnes() throws {
    let root = try withKeyring([Self.defaultSecret, Self.prodSecret]) {
      try #require(try YAMLLoader.loadSingle(try bytes("strings.yml"), file: "strings.yml"))
    }
    let expected: Value = [
      "plain_value": "visible", "unicode_secret": "pässwörd ✓ 秘密",
      "multi_line": "line one\nline two\n",
      "prod_secret": "prod-only-secret",
    ]
    #expect(root.value == expected)
    #expect(root["unicode_secret"]?.tag == "!vault")
    #expect(root["unicode_secret"]?.scalarText == "pässwörd ✓ 秘密")
  }

  // MARK: - Secrets and labels

  @Test func wrongPasswordFails() throws {
    let error = try #require(throws: VaultError.self) {
      try Vault.decrypt(try bytes("vars-1.1.yml"), secrets: [Self.wrongSecret])
    }
    #expect(error.kind == .decryptionFailed(label: nil, tried: 1))
    #expect(error.message.hasPrefix("decryption failed (no vault secrets would decrypt"))
    let prod = try #require(throws: VaultError.self) {
      try Vault.decrypt(
        try bytes("vars-1.2-prod.yml"), secrets: [Self.defaultSecret, Self.wrongSecret])
    }
    #expect(prod.kind == .decryptionFailed(label: "prod", tried: 2))
    #expect(prod.hint?.contains("--vault-id prod@FILE") == true)
  }

  @Test func noSecretSaysHowToGiveOne() throws {
    let error = try #require(throws: VaultError.self) {
      try Vault.decrypt(try bytes("vars-1.1.yml"), secrets: [])
    }
    #expect(error.kind == .noSecret)
    #expect(
      error.message.contains(
        "is encrypted with Ansible Vault; give --vault-password-file FILE or --ask-vault-pass"))
  }

  @Test func theLabelledSecretIsTriedFirst() throws {
    // The same password under two labels: whichever is tried first wins, so the label decides.
    let plain = VaultSecret(password: "same")
    let labelled = VaultSecret(label: "prod", password: "same")
    let v12 = try Vault.encrypt(Array("x".utf8), secret: labelled)
    #expect(
      try Vault.decryptWithSecret(Array(v12.utf8), secrets: [plain, labelled]).secret == labelled)
    let v11 = try Vault.encrypt(Array("x".utf8), secret: plain)
    #expect(
      try Vault.decryptWithSecret(Array(v11.utf8), secrets: [labelled, plain]).secret == plain)
    // The label is a hint only: a secret under another label still decrypts.
    let other = VaultSecret(label: "dev", password: "same")
    #expect(try Vault.decrypt(v12, secrets: [other]) == Array("x".utf8))
  }

  // MARK: - Encrypting

  @Test(arguments: [nil, "prod"] as [String?])
  func roundTripsEveryLength(_ label: String?) throws {
    let secret = VaultSecret(label: label, password: "round-trip")
    var generator = SystemRandomNumberGenerator()
    for length in 0...100 {
      let plaintext = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
      let text = try Vault.encrypt(plaintext, secret: secret)
      let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
      #expect(
        lines[0] == (label.map { "$ANSIBLE_VAULT;1.2;AES256;\($0)" } ?? "$ANSIBLE_VAULT;1.1;AES256")
      )
      #expect(lines.dropFirst().dropLast().allSatisfy { !$0.isEmpty && $0.count <= 80 })
      #expect(lines.last == "", "vault text ends with a line break")
      #expect(try Vault.decrypt(text, secrets: [secret]) == plaintext, "length \(length)")
    }
  }

  @Test func aGivenSaltGivesTheSameText() throws {
    let salt = [UInt8](repeating: 7, count: 32)
    let a = try Vault.encrypt(Array("abc".utf8), password: Array("pw".utf8), salt: salt, label: nil)
    let b = try Vault.encrypt(Array("abc".utf8), password: Array("pw".utf8), salt: salt, label: nil)
    #expect(a == b)
    #expect(try Vault.decrypt(a, secrets: [VaultSecret(password: "pw")]) == Array("abc".utf8))
    #expect(throws: VaultError(.invalidLabel("a;b"))) {
      try Vault.encrypt([], secret: VaultSecret(password: "pw"), label: "a;b")
    }
  }

  // MARK: - Tampering and malformed input

  /// Vault text with the same header and the given body parts.
  func rebuild(
    _ envelope: Vault.Envelope, salt: [UInt8]? = nil, hmac: [UInt8]? = nil,
    ciphertext: [UInt8]? = nil
  )
    -> [UInt8]
  {
    let inner =
      Hex.encode(salt ?? envelope.salt) + [0x0A] + Hex.encode(hmac ?? envelope.hmac) + [0x0A]
      + Hex.encode(ciphertext ?? envelope.ciphertext)
    return Array("$ANSIBLE_VAULT;1.1;AES256\n".utf8) + Hex.encode(inner) + [0x0A]
  }

  @Test func tamperedDataFailsTheHMAC() throws {
    let envelope = try Vault.envelope(try bytes("vars-1.1.yml"))
    #expect(
      try Vault.decrypt(rebuild(envelope), secrets: [Self.defaultSecret])
        == (try bytes("plain/vars.yml")))
    var ciphertext = envelope.ciphertext
    ciphertext[5] ^= 0x01
    var hmac = envelope.hmac
    hmac[0] ^= 0x80
    var salt = envelope.salt
    salt[31] ^= 0x01
    for tampered in [
      rebuild(envelope, ciphertext: ciphertext), rebuild(envelope, hmac: hmac),
      rebuild(envelope, salt: salt),
      rebuild(envelope, ciphertext: Array(envelope.ciphertext.dropLast())),
    ] {
      #expect(throws: VaultError(.decryptionFailed(label: nil, tried: 1))) {
        try Vault.decrypt(tampered, secrets: [Self.defaultSecret])
      }
    }
  }

  @Test(arguments: [
    ("$ANSIBLE_VAULT\nabcd\n", "header"), ("$ANSIBLE_VAULT;1.1\n6162\n", "header"),
    ("$ANSIBLE_VAULT;9.9;AES256\n6162\n", "header"),
    ("$ANSIBLE_VAULT;1.1;AES128\n6162\n", "cipher"),
    ("$ANSIBLE_VAULT;1.1;AES256\n", "body"), ("$ANSIBLE_VAULT;1.1;AES256\nxyz0\n", "body"),
    ("$ANSIBLE_VAULT;1.1;AES256\n616263\n", "body"),
    ("$ANSIBLE_VAULT;1.1;AES256\n610a620a7a7a\n", "body"),
  ])
  func malformedVaultsSayWhat(_ text: String, _ part: String) throws {
    let error = try #require(throws: VaultError.self) {
      try Vault.decrypt(text, secrets: [Self.defaultSecret])
    }
    switch (part, error.kind) {
    case ("header", .malformedHeader), ("cipher", .unsupportedCipher), ("body", .malformedBody):
      break
    default: Issue.record("expected a \(part) error, got \(error.kind)")
    }
    #expect(error.hint != nil)
  }

  // MARK: - Loading

  @Test func inventoryVarsDecryptInlineAndWholeFile() throws {
    let (inventory, revealed) = try withKeyring([Self.defaultSecret, Self.prodSecret]) {
      (
        try InventoryLoader.load(sources: [Self.fixtures + "/inventory/hosts"]),
        VaultKeyring.shared.revealedValues
      )
    }
    let web1 = inventory.variables(of: "web1")
    #expect(web1["plain_setting"] == "shown")
    #expect(web1["db_password"] == "inline-db-password")
    #expect(web1["web_secret_key"] == "w3b-s3cr3t-k3y")
    #expect(inventory.variables(of: "db1")["db_root_password"] == "r00t-pr0d-pw")
    #expect(inventory.variables(of: "db1")["web_secret_key"] == nil)
    #expect(Set(revealed) == ["inline-db-password", "w3b-s3cr3t-k3y", "r00t-pr0d-pw"])
  }

  @Test func encryptedInventoriesLoad() throws {
    let (inventory, revealed) = try withKeyring([Self.defaultSecret]) {
      (
        try InventoryLoader.load(sources: [
          Self.fixtures + "/encrypted-ini/hosts", Self.fixtures + "/encrypted-yaml/hosts.yml",
        ]),
        VaultKeyring.shared.revealedValues
      )
    }
    #expect(inventory.hosts(in: "web") == ["web1", "web2"])
    #expect(inventory.hosts(in: "db") == ["db1"])
    #expect(inventory.variables(of: "web1")["web_token"] == "ini-hidden-token")
    #expect(inventory.variables(of: "web2")["http_port"] == 8080)
    #expect(inventory.variables(of: "db1")["db_token"] == "yaml-hidden-token")
    #expect(revealed.contains("ini-hidden-token") && revealed.contains("yaml-hidden-token"))
    #expect(revealed.contains("10.0.0.1") && !revealed.contains("web1"), "values, not host names")
  }

  @Test func wholeVarsFilesRevealTheirStringLeaves() throws {
    let (vars, revealed) = try withKeyring([Self.prodSecret]) {
      (
        try InventoryLoader.loadVarsFile(Self.fixtures + "/vars-1.2-prod.yml"),
        VaultKeyring.shared.revealedValues
      )
    }
    #expect(vars["db_password"] == "correct horse battery staple")
    #expect(vars["api_tokens"] == ["tok-0123456789", "tok-abcdef"])
    #expect(
      revealed == [
        "correct horse battery staple", "unicode: grüße, 秘密\n", "unicode: grüße, 秘密",
        "tok-0123456789",
        "tok-abcdef", "app",
      ])
  }

  @Test func inlineErrorsPointAtTheValue() throws {
    let path = Self.fixtures + "/inventory/group_vars/all.yml"
    let error = try withKeyring([]) {
      try #require(throws: InventoryError.self) { try InventoryLoader.loadVarsFile(path) }
    }
    guard case .yaml(let yaml) = error.kind, case .vault(let vault) = yaml.kind else {
      Issue.record("expected a vault error, got \(error.kind)")
      return
    }
    #expect(vault.kind == .noSecret)
    #expect(yaml.location == SourceLocation(file: path, line: 2, column: 14))
    #expect(
      error.diagnostic.description == """
        \(path):2:14: error: this '!vault' value is encrypted with Ansible Vault; give --vault-password-file FILE or --ask-vault-pass
         2 | db_password: !vault |
           |              ^
          hint: or --vault-id [LABEL@]FILE, or set ANSIBLE_VAULT_PASSWORD_FILE
        """)
  }

  @Test func wholeFileErrorsPointAtTheHeader() throws {
    let path = Self.fixtures + "/vars-1.1.yml"
    let error = try withKeyring([Self.wrongSecret]) {
      try #require(throws: InventoryError.self) { try InventoryLoader.loadVarsFile(path) }
    }
    #expect(
      error.diagnostic.description == """
        \(path):1:1: error: decryption failed (no vault secrets would decrypt '\(path)')
         1 | $ANSIBLE_VAULT;1.1;AES256
           | ^
          hint: check the vault password (1 tried)
        """)
  }

  @Test func errorsInsideADecryptedFileDoNotQuoteIt() throws {
    let secret = VaultSecret(password: "pw")
    let text = try Vault.encrypt(Array("a: 1\na: hidden-value\n".utf8), secret: secret)
    let error = try withKeyring([secret]) {
      try #require(throws: YAMLError.self) { try YAMLLoader.load(text, file: "broken.yml") }
    }
    #expect(error.location == SourceLocation(file: "broken.yml", line: 2, column: 1))
    #expect(error.sourceLine == nil)
    #expect(!error.diagnostic.description.contains("hidden-value"))
  }

  // MARK: - Keyring

  @Test func revealedValuesAreLongestFirstAndRedact() {
    let keyring = VaultKeyring()
    keyring.reveal("ab")
    keyring.reveal("secret")
    keyring.reveal("top-secret")
    keyring.reveal(.dict(["k": .list(["listed", .int(12345)]), "n": .null]))
    keyring.reveal("-----BEGIN KEY-----\n  line-two-of-key\n-----END KEY-----")
    #expect(
      keyring.revealedValues == [
        "-----BEGIN KEY-----\n  line-two-of-key\n-----END KEY-----", "-----BEGIN KEY-----",
        "-----END KEY-----", "line-two-of-key", "top-secret", "listed", "secret",
      ])
    #expect(keyring.redact("pw=top-secret, ab, 12345") == "pw=********, ab, 12345")
    #expect(keyring.redact("+  line-two-of-key") == "+  ********")
    keyring.forgetRevealedValues()
    #expect(keyring.revealedValues.isEmpty)
  }
}
