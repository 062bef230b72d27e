extension InventoryLoader {
  /// Reads an INI inventory file encrypted with Ansible Vault, as Ansible's `ini` plugin does.
  ///
  /// Every variable value in it is recorded as revealed. Errors leave out the source line,
  /// which is secret.
  static func loadEncryptedINI(
    _ bytes: [UInt8], file: String, into inventory: inout Inventory
  ) throws(InventoryError) {
    let keyring = VaultKeyring.shared
    let start = SourceLocation(file: file, line: 1, column: 1)
    let plaintext: [UInt8]
    do {
      plaintext = try keyring.decrypt(
        bytes, subject: "'\(file)'", at: start, sourceLine: sourceLine(1, in: bytes))
    } catch {
      throw InventoryError(
        .vault(error), at: error.location, sourceLine: error.sourceLine, hint: error.hint)
    }
    guard let text = String(validating: plaintext, as: UTF8.self) else {
      throw InventoryError(
        .unreadable("'\(file)' decrypts to something that is not UTF-8 text"), at: start,
        hint: "an inventory is a text file in INI or YAML format")
    }
    do {
      // Parsed alone first, to find the values it holds.
      var alone = Inventory()
      try INIInventoryParser.parse(text, file: file, into: &alone)
      for name in alone.hostOrder { alone.hosts[name].map { keyring.reveal(.dict($0.vars)) } }
      for name in alone.groupOrder { alone.groups[name].map { keyring.reveal(.dict($0.vars)) } }
      try INIInventoryParser.parse(text, file: file, into: &inventory)
    } catch {
      var error = error
      error.sourceLine = nil
      throw error
    }
  }
}
