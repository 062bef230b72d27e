/// Ansible Vault's format 1.1 and 1.2 with its AES256 cipher, as ansible-core 2.17 reads and
/// writes it.
///
/// ```
/// $ANSIBLE_VAULT;1.2;AES256;prod
/// 3635643739...   (80 columns of hex)
/// ```
///
/// The body is `hex(hex(salt) + "\n" + hex(hmac) + "\n" + hex(ciphertext))`. PBKDF2-HMAC-SHA256
/// of the password over the 32-byte salt, 10,000 iterations, gives 80 bytes: the AES-256 key,
/// the HMAC-SHA256 key and the 16-byte initial counter. The plaintext is padded with PKCS#7 to
/// 16 bytes and encrypted with AES-256-CTR; the HMAC covers the ciphertext. The label of a 1.2
/// header only picks which password to try first: it is neither encrypted nor signed.
public enum Vault {
  /// What every vault starts with.
  public static let headerPrefix = "$ANSIBLE_VAULT"
  static let iterations = 10_000
  static let saltLength = 32
  static let lineWidth = 80

  /// A parsed vault: the header's fields and the three parts of the body.
  public struct Envelope: Sendable, Equatable {
    /// `1.1` or `1.2`.
    public var version: String
    public var cipher: String
    /// The vault id of a 1.2 header; nil for 1.1.
    public var label: String?
    var salt: [UInt8]
    var hmac: [UInt8]
    var ciphertext: [UInt8]
  }

  /// Whether `bytes` are vault data: they start with `$ANSIBLE_VAULT`, as Ansible checks.
  public static func isEncrypted(_ bytes: some Collection<UInt8>) -> Bool {
    bytes.starts(with: headerPrefix.utf8)
  }

  /// Whether `text` is vault data.
  public static func isEncrypted(_ text: String) -> Bool {
    text.utf8.starts(with: headerPrefix.utf8)
  }

  /// Splits vault text into its header fields and body parts, checking the format only.
  public static func envelope(_ vaulttext: [UInt8]) throws(VaultError) -> Envelope {
    guard isEncrypted(vaulttext) else { throw VaultError(.notEncrypted) }
    let lines = vaulttext.split(omittingEmptySubsequences: true) { $0 == 0x0A || $0 == 0x0D }
    let header = String(decoding: lines.first ?? [], as: UTF8.self)
    let fields = header.split(separator: ";", omittingEmptySubsequences: false)
      .map { $0.trimmingSpaces() }
    guard fields.count >= 3, fields[0] == headerPrefix else {
      throw VaultError(
        .malformedHeader("expected '\(headerPrefix);VERSION;CIPHER', got '\(header.prefix(80))'"))
    }
    guard fields[1] == "1.1" || fields[1] == "1.2" else {
      throw VaultError(
        .malformedHeader("unknown format version '\(fields[1])'; expected 1.1 or 1.2"))
    }
    guard fields[2] == "AES256" else { throw VaultError(.unsupportedCipher(fields[2])) }
    // Ansible takes a fourth field as the label whatever the version says.
    let label = fields.count >= 4 ? fields[3] : nil

    var hex: [UInt8] = []
    for line in lines.dropFirst() {
      hex += line.filter { $0 != 0x20 && $0 != 0x09 }
    }
    guard !hex.isEmpty else {
      throw VaultError(.malformedBody("there is no data after the header"))
    }
    guard let inner = unhex(hex) else { throw VaultError(.malformedBody("it is not hex text")) }
    let parts = inner.split(separator: 0x0A, maxSplits: 2, omittingEmptySubsequences: false)
    guard parts.count == 3 else {
      throw VaultError(
        .malformedBody("expected salt, HMAC and ciphertext on three lines, found \(parts.count)"))
    }
    guard let salt = unhex(parts[0]), let hmac = unhex(parts[1]), let ciphertext = unhex(parts[2])
    else {
      throw VaultError(.malformedBody("the salt, HMAC or ciphertext is not hex text"))
    }
    return Envelope(
      version: fields[1], cipher: fields[2], label: label, salt: salt, hmac: hmac,
      ciphertext: ciphertext)
  }

  /// The vault id in a 1.2 header, or nil.
  public static func label(of vaulttext: [UInt8]) -> String? {
    (try? envelope(vaulttext))?.label
  }

  /// Decrypts vault text with the first of `secrets` that fits.
  ///
  /// Secrets whose label is the header's vault id (`default` for 1.1) are tried first, then the
  /// others in order, as Ansible tries them; the label is only a hint.
  ///
  /// - Throws: `VaultError` with kind `.noSecret` when `secrets` is empty, `.decryptionFailed`
  ///   when none of them fits, or a format error.
  public static func decrypt(_ vaulttext: [UInt8], secrets: [VaultSecret]) throws(VaultError)
    -> [UInt8]
  {
    try decryptWithSecret(vaulttext, secrets: secrets).plaintext
  }

  /// Decrypts vault text, such as the text of an inline `!vault` value.
  public static func decrypt(_ vaulttext: String, secrets: [VaultSecret]) throws(VaultError)
    -> [UInt8]
  {
    try decrypt(Array(vaulttext.utf8), secrets: secrets)
  }

  /// Decrypts vault text and says which secret did it, so that an editor can re-encrypt with it.
  public static func decryptWithSecret(
    _ vaulttext: [UInt8], secrets: [VaultSecret]
  ) throws(VaultError) -> (plaintext: [UInt8], secret: VaultSecret, envelope: Envelope) {
    let envelope = try envelope(vaulttext)
    guard !secrets.isEmpty else { throw VaultError(.noSecret) }
    let vaultID = envelope.label ?? VaultSecret.defaultLabel
    let ordered =
      secrets.filter { $0.vaultID == vaultID } + secrets.filter { $0.vaultID != vaultID }
    for secret in ordered {
      if let plaintext = try open(envelope, password: secret.password) {
        return (plaintext, secret, envelope)
      }
    }
    throw VaultError(.decryptionFailed(label: envelope.label, tried: ordered.count))
  }

  /// The plaintext, or nil when the HMAC shows that `password` is not the one.
  static func open(_ envelope: Envelope, password: [UInt8]) throws(VaultError) -> [UInt8]? {
    let keys = try VaultCrypto.pbkdf2SHA256(
      password: password, salt: envelope.salt, iterations: iterations, count: 80)
    let cipherKey = Array(keys[0..<32])
    let hmacKey = Array(keys[32..<64])
    let counter = Array(keys[64..<80])
    let hmac = try VaultCrypto.hmacSHA256(key: hmacKey, data: envelope.ciphertext)
    guard VaultCrypto.constantTimeEqual(hmac, envelope.hmac) else { return nil }
    let padded = try VaultCrypto.aes256CTR(envelope.ciphertext, key: cipherKey, counter: counter)
    guard padded.count % 16 == 0, let last = padded.last, (1...16).contains(last),
      padded.suffix(Int(last)).allSatisfy({ $0 == last })
    else {
      throw VaultError(.malformedBody("the decrypted data has invalid PKCS#7 padding"))
    }
    return Array(padded.dropLast(Int(last)))
  }

  /// Encrypts `plaintext` under `secret`, with its label: version 1.2 when it has one other
  /// than `default`, else 1.1.
  public static func encrypt(_ plaintext: [UInt8], secret: VaultSecret) throws(VaultError) -> String
  {
    try encrypt(plaintext, secret: secret, label: secret.label)
  }

  /// Encrypts `plaintext` under `secret`, writing `label` (when not nil or `default`) into a
  /// 1.2 header.
  ///
  /// - Returns: the vault text: header, 80-column lines of hex, and a final line break.
  public static func encrypt(
    _ plaintext: [UInt8], secret: VaultSecret, label: String?
  ) throws(VaultError) -> String {
    try encrypt(
      plaintext, password: secret.password, salt: try VaultCrypto.randomBytes(saltLength),
      label: label)
  }

  /// `encrypt` with a given salt, for tests that need the same output twice.
  static func encrypt(
    _ plaintext: [UInt8], password: [UInt8], salt: [UInt8], label: String?
  ) throws(VaultError) -> String {
    if let label, label.contains(where: { $0 == ";" || $0 == "@" || $0.isNewline }) {
      throw VaultError(.invalidLabel(label))
    }
    let keys = try VaultCrypto.pbkdf2SHA256(
      password: password, salt: salt, iterations: iterations, count: 80)
    let pad = 16 - plaintext.count % 16
    let padded = plaintext + [UInt8](repeating: UInt8(pad), count: pad)
    let ciphertext = try VaultCrypto.aes256CTR(
      padded, key: Array(keys[0..<32]), counter: Array(keys[64..<80]))
    let hmac = try VaultCrypto.hmacSHA256(key: Array(keys[32..<64]), data: ciphertext)
    let inner = Hex.encode(salt) + [0x0A] + Hex.encode(hmac) + [0x0A] + Hex.encode(ciphertext)
    let body = Hex.encode(inner)

    var header = "\(headerPrefix);1.1;AES256"
    if let label, !label.isEmpty, label != VaultSecret.defaultLabel {
      header = "\(headerPrefix);1.2;AES256;\(label)"
    }
    var out = header + "\n"
    out.reserveCapacity(header.count + body.count + body.count / lineWidth + 2)
    var start = 0
    while start < body.count {
      let end = min(start + lineWidth, body.count)
      out += String(decoding: body[start..<end], as: UTF8.self) + "\n"
      start = end
    }
    return out
  }

  // MARK: - Hex

  static func unhex(_ text: some Collection<UInt8>) -> [UInt8]? {
    guard text.count % 2 == 0 else { return nil }
    var out: [UInt8] = []
    out.reserveCapacity(text.count / 2)
    var high: UInt8?
    for c in text {
      let value: UInt8
      switch c {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): value = c - UInt8(ascii: "0")
      case UInt8(ascii: "a")...UInt8(ascii: "f"): value = c - UInt8(ascii: "a") + 10
      case UInt8(ascii: "A")...UInt8(ascii: "F"): value = c - UInt8(ascii: "A") + 10
      default: return nil
      }
      if let h = high {
        out.append(h << 4 | value)
        high = nil
      } else {
        high = value
      }
    }
    return out
  }
}

extension Substring {
  fileprivate func trimmingSpaces() -> String {
    let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
    guard let first = firstIndex(where: { !isSpace($0) }),
      let last = lastIndex(where: { !isSpace($0) })
    else {
      return ""
    }
    return String(self[first...last])
  }
}
