import Foundation
import Inventory
import Provision

extension Redactor {
  /// Hides every vault value decrypted, before or after it is made.
  static func forOutput() -> Redactor {
    Redactor(secrets: [], keyring: VaultKeyring.shared)
  }
}
