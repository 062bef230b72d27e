import Foundation

/// Reads inventory sources (`-i`): INI and YAML files, directories of them, and the
/// `group_vars/` and `host_vars/` next to each source.
public enum InventoryLoader {
  /// File name endings Ansible skips when a directory is an inventory source (its
  /// INVENTORY_IGNORE_EXTS; `.ini` among them, surprisingly, so name INI files without it).
  static let ignoredExtensions = [
    ".pyc", ".pyo", ".swp", ".bak", "~", ".rpm", ".md", ".txt", ".rst", ".orig", ".ini", ".cfg",
    ".retry",
  ]

  /// Reads every source in order into one inventory, then reconciles it as Ansible does.
  ///
  /// - Parameter extraVarsDirectories: more directories whose `group_vars/` and `host_vars/`
  ///   apply, such as the playbook's directory.
  public static func load(sources: [String], extraVarsDirectories: [String] = []) throws(InventoryError)
    -> Inventory
  {
    var inventory = Inventory()
    var varsDirectories: [String] = []
    for source in sources {
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: source, isDirectory: &isDirectory) else {
        if source.contains(",") {
          // `-i host1,host2,`: a comma-separated host list, as Ansible accepts.
          for name in source.split(separator: ",").map({ $0.trimmingCharacters(in: " ") }) where !name.isEmpty {
            let parsed = try HostRange.parse(name)
            for h in parsed.names {
              inventory.addHost(h, group: "ungrouped")
              if let port = parsed.port { inventory.setHostVariable(h, "ansible_port", .int(port)) }
            }
          }
          continue
        }
        throw InventoryError(
          .unreadable("inventory source '\(source)' does not exist"), at: nil,
          hint: "pass a file, a directory, or a comma-separated host list such as 'web1,web2,'")
      }
      if isDirectory.boolValue {
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: source)) ?? []
        for entry in entries.sorted() {
          guard !entry.hasPrefix("."), entry != "group_vars", entry != "host_vars",
            !ignoredExtensions.contains(where: { entry.hasSuffix($0) })
          else { continue }
          let path = (source as NSString).appendingPathComponent(entry)
          var sub: ObjCBool = false
          _ = FileManager.default.fileExists(atPath: path, isDirectory: &sub)
          if sub.boolValue { continue }
          try loadFile(path, into: &inventory)
        }
        varsDirectories.append(source)
      } else {
        try loadFile(source, into: &inventory)
        varsDirectories.append((source as NSString).deletingLastPathComponent)
      }
    }
    inventory.reconcile()
    for dir in varsDirectories + extraVarsDirectories {
      try loadVarsDirectory(dir.isEmpty ? "." : dir, into: &inventory)
    }
    return inventory
  }

  /// Reads one inventory file, choosing YAML by extension (`.yml`, `.yaml`, `.json`) and INI
  /// otherwise, as Ansible's plugins do.
  public static func loadFile(_ path: String, into inventory: inout Inventory) throws(InventoryError) {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw InventoryError(.unreadable("cannot read inventory file '\(path)'"), at: nil)
    }
    let bytes = [UInt8](data)
    let lower = path.lowercased()
    if lower.hasSuffix(".yml") || lower.hasSuffix(".yaml") || lower.hasSuffix(".json") {
      let root: YAMLNode?
      do {
        root = try YAMLLoader.loadSingle(bytes, file: path)
      } catch {
        throw InventoryError(.yaml(error), at: error.location)
      }
      // A decrypted inventory's lines are secret: its errors do not quote them.
      let source = Vault.isEncrypted(bytes) ? [] : bytes
      try YAMLInventoryParser.parse(root, file: path, bytes: source, into: &inventory)
    } else if Vault.isEncrypted(bytes) {
      try loadEncryptedINI(bytes, file: path, into: &inventory)
    } else {
      guard let text = String(validating: bytes, as: UTF8.self) else {
        throw InventoryError(
          .unreadable("'\(path)' is not UTF-8 text"), at: SourceLocation(file: path, line: 1, column: 1),
          hint: "an inventory is a text file in INI or YAML format")
      }
      try INIInventoryParser.parse(text, file: path, into: &inventory)
    }
  }

  /// Reads INI inventory text, as from a file named `file`.
  public static func load(iniText text: String, file: String) throws(InventoryError) -> Inventory {
    var inventory = Inventory()
    try INIInventoryParser.parse(text, file: file, into: &inventory)
    inventory.reconcile()
    return inventory
  }

  /// Reads YAML inventory text, as from a file named `file`.
  public static func load(yamlText text: String, file: String) throws(InventoryError) -> Inventory {
    var inventory = Inventory()
    let bytes = Array(text.utf8)
    let root: YAMLNode?
    do {
      root = try YAMLLoader.loadSingle(bytes, file: file)
    } catch {
      throw InventoryError(.yaml(error), at: error.location)
    }
    try YAMLInventoryParser.parse(root, file: file, bytes: bytes, into: &inventory)
    inventory.reconcile()
    return inventory
  }

  /// Loads `group_vars/NAME*` and `host_vars/NAME*` under `directory` for every known group
  /// and host.
  static func loadVarsDirectory(_ directory: String, into inventory: inout Inventory) throws(InventoryError) {
    for (kind, names) in [("group_vars", inventory.groupOrder), ("host_vars", inventory.hostOrder)] {
      let base = (directory as NSString).appendingPathComponent(kind)
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: base, isDirectory: &isDirectory), isDirectory.boolValue
      else { continue }
      for name in names {
        let files = varsFiles(named: name, in: base)
        for file in files {
          let vars = try loadVarsFile(file)
          if kind == "group_vars" {
            inventory.groupVarsFiles[name, default: []].append(vars)
          } else {
            inventory.hostVarsFiles[name, default: []].append(vars)
          }
        }
      }
    }
  }

  /// `NAME`, `NAME.yml`, `NAME.yaml`, `NAME.json`, and every such file under a directory `NAME/`
  /// (sorted, recursively).
  static func varsFiles(named name: String, in base: String) -> [String] {
    let fm = FileManager.default
    var result: [String] = []
    for suffix in ["", ".yml", ".yaml", ".json"] {
      let path = (base as NSString).appendingPathComponent(name + suffix)
      var isDirectory: ObjCBool = false
      guard fm.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
      if isDirectory.boolValue {
        let all = (fm.subpaths(atPath: path) ?? []).sorted()
        for sub in all {
          let full = (path as NSString).appendingPathComponent(sub)
          var subIsDir: ObjCBool = false
          _ = fm.fileExists(atPath: full, isDirectory: &subIsDir)
          let ext = (sub as NSString).pathExtension
          if !subIsDir.boolValue, ["", "yml", "yaml", "json"].contains(ext),
            !(sub as NSString).lastPathComponent.hasPrefix(".")
          {
            result.append(full)
          }
        }
      } else {
        result.append(path)
      }
    }
    return result
  }

  /// A vars file: one YAML (or JSON) mapping; an empty file has no variables.
  public static func loadVarsFile(_ path: String) throws(InventoryError) -> OrderedDict {
    let root: YAMLNode?
    do {
      guard let data = FileManager.default.contents(atPath: path) else {
        throw InventoryError(.unreadable("cannot read vars file '\(path)'"), at: nil)
      }
      root = try YAMLLoader.loadSingle([UInt8](data), file: path)
    } catch let error as YAMLError {
      throw InventoryError(.yaml(error), at: error.location)
    } catch let error as InventoryError {
      throw error
    } catch {
      throw InventoryError(.unreadable("cannot read vars file '\(path)'"), at: nil)
    }
    guard let root, root.value != .null else { return OrderedDict() }
    guard case .dict(let vars) = root.value else {
      throw InventoryError(
        .invalidStructure("a vars file must be a mapping of names to values, got \(root.kindDescription)"),
        at: root.location)
    }
    return vars
  }
}
