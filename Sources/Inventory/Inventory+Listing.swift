/// The views `ansible-inventory` prints: `--list`, `--graph` and `--host`, built the same way so
/// that ours and Ansible's can be compared.
extension Inventory {
  /// Variables Ansible keeps to itself and never lists (`ansible-inventory`'s INTERNAL_VARS).
  static let internalVariables: Set<String> = [
    "ansible_diff_mode", "ansible_config_file", "ansible_facts", "ansible_forks",
    "ansible_inventory_sources", "ansible_limit", "ansible_playbook_python", "ansible_run_tags",
    "ansible_skip_tags", "ansible_verbosity", "ansible_version", "inventory_dir", "inventory_file",
    "inventory_hostname", "inventory_hostname_short", "groups", "group_names", "omit",
    "playbook_dir",
  ]

  /// A host's variables as `ansible-inventory --host` shows them.
  public func listedVariables(of host: String) -> OrderedDict {
    var memo: [String: Int] = [:]
    return listedVariables(of: host, depths: &memo)
  }

  func listedVariables(of host: String, depths memo: inout [String: Int]) -> OrderedDict {
    var vars = variables(of: host, depths: &memo)
    for key in vars.keys where Inventory.internalVariables.contains(key) { vars[key] = nil }
    return vars
  }

  /// The `--list` document: groups with their hosts and children, host variables under `_meta`.
  public func listing() -> Value {
    var result = OrderedDict()
    var seen: Set<String> = []
    func format(_ name: String) {
      guard let group = groups[name] else { return }
      var entry = OrderedDict()
      if name != "all", !group.hosts.isEmpty {
        entry["hosts"] = .list(group.hosts.map(Value.string))
      }
      if !group.children.isEmpty {
        entry["children"] = .list(group.children.map(Value.string))
      }
      if !entry.isEmpty { result[name] = .dict(entry) }
      for child in group.children where seen.insert(child).inserted {
        format(child)
      }
    }
    format("all")
    var hostvars = OrderedDict()
    var depths: [String: Int] = [:]
    for host in hosts(in: "all") {
      let vars = listedVariables(of: host, depths: &depths)
      if !vars.isEmpty { hostvars[host] = .dict(vars) }
    }
    result["_meta"] = .dict(["hostvars": .dict(hostvars)])
    return .dict(result)
  }

  /// The `--graph` tree, one line per group and host.
  public func graph(from group: String = "all") -> String {
    var lines: [String] = []
    func name(_ text: String, _ depth: Int) -> String {
      depth == 0 ? text : String(repeating: "  |", count: depth) + "--" + text
    }
    func walk(_ g: String, _ depth: Int) {
      lines.append(name("@\(g):", depth))
      for child in groups[g]?.children ?? [] {
        walk(child, depth + 1)
      }
      if g != "all" {
        for host in groups[g]?.hosts ?? [] {
          lines.append(name(host, depth + 1))
        }
      }
    }
    walk(group, 0)
    return lines.joined(separator: "\n")
  }
}
