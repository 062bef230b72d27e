/// Ansible Vault data that could not be decrypted or encrypted, or a vault password that could
/// not be had.
public struct VaultError: DiagnosticError, Equatable {
  public enum Kind: Sendable, Equatable {
    /// Encrypted data, and no vault password configured.
    case noSecret
    /// No configured password decrypts the data (its HMAC does not match under any of them).
    /// `label` is the vault id in a 1.2 header; `tried` how many passwords were tried.
    case decryptionFailed(label: String?, tried: Int)
    case malformedHeader(String)
    case malformedBody(String)
    case unsupportedCipher(String)
    case notEncrypted
    case alreadyEncrypted
    /// A vault id label that cannot go into a header, such as one with ';'.
    case invalidLabel(String)
    /// A password source that failed: a missing file, a failing script, an empty password.
    case password(String)
    /// OpenSSL failed; should not happen.
    case crypto(String)
  }

  public var kind: Kind
  /// What was being decrypted, for the message: `'group_vars/all.yml'`, `this '!vault' value`.
  public var subject: String
  public var location: SourceLocation?
  public var sourceLine: String?
  public var hint: String?

  public init(
    _ kind: Kind, subject: String = "the data", at location: SourceLocation? = nil,
    sourceLine: String? = nil, hint: String? = nil
  ) {
    self.kind = kind
    self.subject = subject
    self.location = location
    self.sourceLine = sourceLine
    self.hint = hint ?? Self.defaultHint(kind)
  }

  public var message: String {
    switch kind {
    case .noSecret:
      return
        "\(subject) is encrypted with Ansible Vault; give --vault-password-file FILE or --ask-vault-pass"
    case .decryptionFailed:
      return "decryption failed (no vault secrets would decrypt \(subject))"
    case .malformedHeader(let why): return "\(subject) has a malformed Ansible Vault header: \(why)"
    case .malformedBody(let why): return "\(subject) has a malformed Ansible Vault body: \(why)"
    case .unsupportedCipher(let name):
      return "\(subject) is encrypted with cipher '\(name)'; only 'AES256' is supported"
    case .notEncrypted: return "\(subject) is not encrypted with Ansible Vault"
    case .alreadyEncrypted: return "\(subject) is already encrypted with Ansible Vault"
    case .invalidLabel(let label):
      return "invalid vault id '\(label)': a label cannot contain ';', '@' or a line break"
    case .password(let why): return why
    case .crypto(let why): return "OpenSSL failed: \(why)"
    }
  }

  public var diagnostic: Diagnostic {
    Diagnostic(.error, at: location, message, sourceLine: sourceLine, hint: hint)
  }

  static func defaultHint(_ kind: Kind) -> String? {
    switch kind {
    case .noSecret:
      return "or --vault-id [LABEL@]FILE, or set ANSIBLE_VAULT_PASSWORD_FILE"
    case .decryptionFailed(let label?, _) where label != VaultSecret.defaultLabel:
      return
        "it is encrypted for vault id '\(label)'; check the password given with --vault-id \(label)@FILE"
    case .decryptionFailed(_, let tried):
      return "check the vault password (\(tried) tried)"
    case .malformedHeader:
      return
        "the first line must be '$ANSIBLE_VAULT;1.1;AES256' or '$ANSIBLE_VAULT;1.2;AES256;LABEL'"
    case .malformedBody:
      return
        "the lines after the header must be the hex text ansible-vault wrote; was it edited or cut short?"
    case .unsupportedCipher:
      return "re-encrypt it with a current ansible-vault or 'provision vault encrypt'"
    default:
      return nil
    }
  }
}

extension YAMLError {
  /// A vault error met while loading YAML, at its location (the file's start when it has none).
  init(vault error: VaultError) {
    self.init(
      kind: .vault(error), location: error.location ?? SourceLocation(file: "", line: 0, column: 0),
      sourceLine: error.sourceLine, hint: error.hint)
  }
}
