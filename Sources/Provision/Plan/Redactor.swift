import Foundation
import Inventory

/// Hides secrets in text meant for people, logs and plan files: known secret values (from
/// vault) anywhere, and the values of settings named like a password, secret, token or key.
public struct Redactor: Sendable {
  public static let mask = "(sensitive)"

  /// Secret values, longest first so that a secret containing another is hidden whole.
  let secrets: [String]
  /// Where vault values are recorded as they are decrypted, during the run too (`vars_files`).
  let keyring: VaultKeyring?

  public init(secrets: [String], keyring: VaultKeyring? = nil) {
    self.secrets = Array(Set(secrets.filter { !$0.isEmpty })).sorted { $0.count != $1.count ? $0.count > $1.count : $0 < $1 }
    self.keyring = keyring
  }

  /// True for names like `db_password`, `API_TOKEN`, `secret`, `ssh_key`.
  public static func isSensitiveName(_ name: String) -> Bool {
    let lower = name.lowercased()
    return ["password", "passwd", "secret", "token", "key", "credential", "private"].contains { lower.contains($0) }
  }

  /// `text` with every known secret replaced by the mask.
  public func hidingSecrets(_ text: String) -> String {
    var out = text
    for secret in secrets where out.contains(secret) {
      out = out.replacingOccurrences(of: secret, with: Self.mask)
    }
    for secret in keyring?.revealedValues ?? [] where out.contains(secret) {
      out = out.replacingOccurrences(of: secret, with: Self.mask)
    }
    return out
  }

  // `name: value`, `name = value`, `name="value"`, `--name value` with a sensitive name.
  private static let assignment = try! NSRegularExpression(
    pattern: #"((?:^|[\s,{;(-])["']?[A-Za-z0-9_.-]*(?:password|passwd|secret|token|key|credential)[A-Za-z0-9_.-]*["']?(?:\s*[:=]\s*|\s+(?=["'])))(?!\(sensitive\))("[^"\n]*"|'[^'\n]*'|[^\s,;})]+)"#,
    options: [.caseInsensitive])

  /// `text` with known secrets hidden and the values of sensitively named settings masked.
  public func redact(_ text: String) -> String {
    let hidden = hidingSecrets(text)
    let range = NSRange(hidden.startIndex..., in: hidden)
    guard Self.assignment.firstMatch(in: hidden, range: range) != nil else { return hidden }
    return Self.assignment.stringByReplacingMatches(in: hidden, range: range, withTemplate: "$1" + Self.mask)
  }
}
