/// One vault password, with the vault id label it was given for.
public struct VaultSecret: Sendable, Equatable {
  /// The label of a password given without one (`--vault-password-file`, `--ask-vault-pass`),
  /// and the vault id of every 1.1 vault: Ansible's `DEFAULT_VAULT_IDENTITY`.
  public static let defaultLabel = "default"

  /// The vault id from `--vault-id LABEL@SOURCE`; nil for the default one.
  public var label: String?
  public var password: [UInt8]

  public init(label: String? = nil, password: [UInt8]) {
    self.label = label
    self.password = password
  }

  public init(label: String? = nil, password: String) {
    self.init(label: label, password: Array(password.utf8))
  }

  /// `label`, or `default` when there is none.
  public var vaultID: String { label ?? Self.defaultLabel }

  /// The password in a password file, stripped as Ansible strips it: whitespace at both ends,
  /// then any further CR and LF.
  public static func password(fromFile bytes: [UInt8]) -> [UInt8] {
    strip(strip(bytes, isWhitespace), { $0 == 0x0A || $0 == 0x0D })
  }

  /// The password a password script printed: CR and LF stripped at both ends, as Ansible does.
  public static func password(fromScriptOutput bytes: [UInt8]) -> [UInt8] {
    strip(bytes) { $0 == 0x0A || $0 == 0x0D }
  }

  /// A typed password: whitespace stripped at both ends, as Ansible's prompt does.
  public static func password(fromPrompt text: String) -> [UInt8] {
    strip(Array(text.utf8), isWhitespace)
  }

  /// Python's `bytes.strip()` set: space, tab, LF, VT, FF, CR.
  private static func isWhitespace(_ b: UInt8) -> Bool {
    b == 0x20 || (0x09...0x0D).contains(b)
  }

  private static func strip(_ bytes: [UInt8], _ drop: (UInt8) -> Bool) -> [UInt8] {
    guard let first = bytes.firstIndex(where: { !drop($0) }),
      let last = bytes.lastIndex(where: { !drop($0) })
    else { return [] }
    return Array(bytes[first...last])
  }
}
