/// Reads Ansible's YAML inventory format: top-level keys are groups, each with optional
/// `hosts:`, `children:` and `vars:`, nested to any depth.
///
/// ```yaml
/// all:
///   children:
///     rancher_servers:
///       hosts:
///         node[1:3]:
///       vars: { rancher_role: server }
/// ```
enum YAMLInventoryParser {
  static func parse(_ root: YAMLNode?, file: String, bytes: [UInt8], into inventory: inout Inventory) throws(InventoryError) {
    func fail(_ node: YAMLNode, _ why: String, hint: String? = nil) -> InventoryError {
      InventoryError(
        .invalidStructure(why), at: node.location,
        sourceLine: sourceLine(node.location.line, in: bytes), hint: hint)
    }
    guard let root, root.value != .null else {
      throw InventoryError(
        .invalidStructure("the YAML inventory is empty"), at: SourceLocation(file: file, line: 1, column: 1),
        hint: "start it with 'all:' and list hosts under 'hosts:'")
    }
    guard let pairs = root.pairs else {
      throw fail(root, "a YAML inventory must be a mapping of group names, got \(root.kindDescription)")
    }
    if root["plugin"] != nil {
      throw fail(root, "this is an inventory plugin configuration, which provision does not run")
    }
    for pair in pairs {
      try parseGroup(pair.key.keyString, pair.value, keyNode: pair.key)
    }

    func parseGroup(_ name: String, _ node: YAMLNode, keyNode: YAMLNode) throws(InventoryError) {
      guard node.pairs != nil || node.value == .null else {
        inventory.warnings.append(
          Diagnostic(
            .warning, at: node.location, "skipping '\(name)': a group must be a mapping",
            sourceLine: sourceLine(node.location.line, in: bytes)))
        return
      }
      inventory.addGroup(name, at: keyNode.location)
      for section in node.pairs ?? [] {
        let key = section.key.keyString
        var body = section.value
        // `hosts: web01` is allowed as a short form of `hosts: {web01: }`.
        if case .scalar = body.content, body.value != .null, ["vars", "children", "hosts"].contains(key) {
          body = YAMLNode(
            .mapping([YAMLPair(key: body, value: YAMLNode(.scalar("", .plain), at: body.location))]),
            at: body.location)
        }
        if body.value == .null { continue }
        guard let entries = body.pairs else {
          if ["vars", "children", "hosts"].contains(key) {
            throw fail(
              body, "'\(key)' of group '\(name)' must be a mapping, got \(body.kindDescription)",
              hint: key == "hosts" ? "write hosts as 'hosts: {web01: , web02: }' or one per line ending in ':'" : nil)
          }
          inventory.warnings.append(
            Diagnostic(
              .warning, at: section.key.location,
              "skipping key '\(key)' in group '\(name)': it is not a mapping",
              sourceLine: sourceLine(section.key.location.line, in: bytes)))
          continue
        }
        switch key {
        case "vars":
          for v in entries { inventory.setGroupVariable(name, v.key.keyString, v.value.value) }
        case "children":
          for child in entries {
            let childName = child.key.keyString
            try parseGroup(childName, child.value, keyNode: child.key)
            try inventory.addChild(childName, to: name, at: child.key.location)
          }
        case "hosts":
          for host in entries {
            let parsed: HostRange.Parsed
            do {
              parsed = try HostRange.parse(host.key.keyString)
            } catch {
              throw InventoryError(
                error.kind, at: host.key.location,
                sourceLine: sourceLine(host.key.location.line, in: bytes),
                hint: "ranges look like node[01:10] or db-[a:c]")
            }
            let vars = host.value.value
            if vars != .null && vars.dictValue == nil {
              throw fail(
                host.value, "variables of host '\(host.key.keyString)' must be a mapping, got \(host.value.kindDescription)")
            }
            for hostName in parsed.names {
              inventory.addHost(hostName, group: name, at: host.key.location)
              if let port = parsed.port { inventory.setHostVariable(hostName, "ansible_port", .int(port)) }
              for (k, v) in vars.dictValue ?? OrderedDict() { inventory.setHostVariable(hostName, k, v) }
            }
          }
        default:
          inventory.warnings.append(
            Diagnostic(
              .warning, at: section.key.location,
              "skipping unexpected key '\(key)' in group '\(name)'; only 'vars', 'children' and 'hosts' are valid",
              sourceLine: sourceLine(section.key.location.line, in: bytes)))
        }
      }
    }
  }
}
