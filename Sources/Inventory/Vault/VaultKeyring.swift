import Foundation

/// The vault passwords of this run, and every secret they revealed.
///
/// The CLI configures `shared` once, before anything is loaded; `YAMLLoader` and
/// `InventoryLoader` then decrypt vault files and inline `!vault` values with it. Each plaintext
/// they reveal is recorded, so that output can hide it:
///
/// ```swift
/// let line = VaultKeyring.shared.redact(text)  // every revealed value becomes "********"
/// ```
public final class VaultKeyring: @unchecked Sendable {
  /// The keyring the loaders use.
  public static let shared = VaultKeyring()

  /// Revealed values shorter than this are not recorded: hiding every `on` or `80` in the
  /// output would garble it and protect nothing.
  public static let minimumRevealedLength = 3

  /// What `redact` puts in place of a secret, as Ansible's `no_log` does.
  public static let mask = "********"

  private let lock = NSLock()
  private var configuredSecrets: [VaultSecret]
  private var revealed: Set<String> = []
  /// `revealed` sorted longest first; nil when it must be sorted again.
  private var sortedRevealed: [String]? = []

  public init(secrets: [VaultSecret] = []) {
    configuredSecrets = secrets
  }

  /// Replaces the passwords. Values revealed so far stay recorded.
  public func configure(secrets: [VaultSecret]) {
    lock.withLock { configuredSecrets = secrets }
  }

  /// The configured passwords, in the order they are tried.
  public var secrets: [VaultSecret] {
    lock.withLock { configuredSecrets }
  }

  /// Decrypts vault data with the configured passwords.
  ///
  /// - Parameters:
  ///   - subject: what the data is, for messages: `'group_vars/all.yml'`.
  ///   - location: where the data starts, given to errors.
  /// - Throws: `VaultError` carrying `subject`, `location` and `sourceLine`.
  public func decrypt(
    _ vaulttext: [UInt8], subject: String, at location: SourceLocation?, sourceLine: String? = nil
  ) throws(VaultError) -> [UInt8] {
    do {
      return try Vault.decrypt(vaulttext, secrets: secrets)
    } catch {
      var error = error
      error.subject = subject
      if error.location == nil { error.location = location }
      if error.sourceLine == nil { error.sourceLine = sourceLine }
      throw error
    }
  }

  // MARK: - Revealed values

  /// Every revealed value of at least `minimumRevealedLength` characters, longest first, so that
  /// replacing them in order never leaves part of a longer one behind.
  ///
  /// Cheap to read: the sorted list is kept until a new value is revealed.
  public var revealedValues: [String] {
    lock.withLock {
      if let sortedRevealed { return sortedRevealed }
      let sorted = revealed.sorted { $0.count != $1.count ? $0.count > $1.count : $0 < $1 }
      sortedRevealed = sorted
      return sorted
    }
  }

  /// Records a decrypted value. A value of several lines is recorded whole and line by line
  /// (trimmed), since output such as a diff shows it a line at a time.
  public func reveal(_ plaintext: String) {
    var values: [String] = [plaintext]
    if plaintext.contains(where: \.isNewline) {
      values += plaintext.split(whereSeparator: \.isNewline).map {
        $0.trimmingCharacters(in: .whitespaces)
      }
    }
    values = values.filter { $0.count >= Self.minimumRevealedLength }
    guard !values.isEmpty else { return }
    lock.withLock {
      for value in values where revealed.insert(value).inserted {
        sortedRevealed = nil
      }
    }
  }

  /// Records every string in a decrypted value: strings inside lists and dicts, not keys.
  public func reveal(_ value: Value) {
    switch value {
    case .string(let s): reveal(s)
    case .list(let items), .tuple(let items): items.forEach(reveal)
    case .dict(let dict): dict.values.forEach(reveal)
    case .null, .bool, .int, .double: break
    }
  }

  /// Records every string value of a decrypted YAML document; mapping keys are not secrets.
  public func reveal(leavesOf node: YAMLNode) {
    switch node.content {
    case .scalar:
      if case .string(let s) = node.value { reveal(s) }
    case .sequence(let items): items.forEach(reveal(leavesOf:))
    case .mapping(let pairs): for pair in pairs { reveal(leavesOf: pair.value) }
    }
  }

  /// `text` with every revealed value replaced by `mask`.
  public func redact(_ text: String) -> String {
    let values = revealedValues
    guard !values.isEmpty else { return text }
    var out = text
    for value in values where out.contains(value) {
      out = out.replacingOccurrences(of: value, with: Self.mask)
    }
    return out
  }

  /// Forgets every revealed value; for tests.
  public func forgetRevealedValues() {
    lock.withLock {
      revealed = []
      sortedRevealed = []
    }
  }
}
