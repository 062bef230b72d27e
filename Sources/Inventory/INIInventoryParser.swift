/// Reads Ansible's INI inventory format.
///
/// ```ini
/// web01 ansible_host=10.0.0.1 http_port=8080
/// [rancher_servers]
/// node[1:3] ansible_user=root
/// [cluster:children]
/// rancher_servers
/// [cluster:vars]
/// docker_version=1.10.3-0~trusty
/// ```
///
/// Values are read like Python literals, as Ansible does (`8080` is an int, `yes` a string).
enum INIInventoryParser {
  static func parse(_ text: String, file: String, into inventory: inout Inventory) throws(InventoryError) {
    let bytes = Array(text.utf8)
    var group = "ungrouped"
    var state = "hosts"
    // Groups named in [x:children] before being declared; an error if never declared.
    var pending: [String: (parents: [String], location: SourceLocation, line: String)] = [:]
    var pendingOrder: [String] = []
    var lineNumber = 0
    for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
      lineNumber += 1
      let original = String(rawLine)
      let line = original.trimmingCharacters(in: " \t\r")
      guard let first = line.first, first != "#", first != ";" else { continue }
      let indent = original.prefix { $0 == " " || $0 == "\t" }.count
      let here = SourceLocation(file: file, line: lineNumber, column: indent + 1)
      func fail(_ kind: InventoryError.Kind, hint: String? = nil) -> InventoryError {
        InventoryError(kind, at: here, sourceLine: sourceLine(lineNumber, in: bytes), hint: hint)
      }
      if first == "[" {
        guard let (name, type) = sectionHeader(line) else {
          if line.hasSuffix("]") || line.contains("]") {
            throw fail(
              .invalidSection(line),
              hint: "a section is [group], [group:vars] or [group:children], with no spaces")
          }
          // A host line that starts with '[' (an IPv6 address) falls through below.
          try parseHostLine(line, group: group, state: state, here: here, inventory: &inventory, fail: fail)
          continue
        }
        guard ["hosts", "children", "vars"].contains(type) else {
          throw fail(.unknownSectionType(type), hint: "use [\(name)], [\(name):vars] or [\(name):children]")
        }
        group = name
        state = type
        if inventory.groups[name] == nil { inventory.addGroup(name, at: here) }
        if state != "vars", let waiting = pending.removeValue(forKey: name) {
          for parent in waiting.parents {
            try inventory.addChild(name, to: parent, at: waiting.location)
          }
          pendingOrder.removeAll { $0 == name }
        }
        continue
      }
      switch state {
      case "hosts":
        try parseHostLine(line, group: group, state: state, here: here, inventory: &inventory, fail: fail)
      case "vars":
        guard let eq = line.firstIndex(of: "=") else {
          throw fail(.expectedAssignment(line), hint: "a line in [\(group):vars] is name=value")
        }
        let key = line[..<eq].trimmingCharacters(in: " \t")
        let value = line[line.index(after: eq)...].trimmingCharacters(in: " \t")
        inventory.setGroupVariable(group, key, PythonLiteral.parse(value))
      default:  // children
        guard let child = ShellWords.split(line)?.first, !child.isEmpty else { continue }
        if inventory.groups[child] == nil {
          if pending[child] == nil {
            pending[child] = ([group], here, original)
            pendingOrder.append(child)
          } else {
            pending[child]?.parents.append(group)
          }
          // A child declared later is attached when its section appears.
        } else {
          try inventory.addChild(child, to: group, at: here)
        }
      }
    }
    if let name = pendingOrder.first, let waiting = pending[name] {
      throw InventoryError(
        .undefinedChildGroup(parent: waiting.parents[0], child: name), at: waiting.location,
        sourceLine: waiting.line,
        hint: "declare the group with a [\(name)] section, or remove it from [\(waiting.parents[0]):children]")
    }
  }

  /// `[name]` or `[name:type]`, with an optional trailing comment.
  static func sectionHeader(_ line: String) -> (String, String)? {
    guard line.hasPrefix("["), let close = line.firstIndex(of: "]") else { return nil }
    let after = line[line.index(after: close)...].trimmingCharacters(in: " \t")
    guard after.isEmpty || after.hasPrefix("#") else { return nil }
    let inner = line[line.index(after: line.startIndex)..<close]
    let parts = inner.split(separator: ":", maxSplits: 1, omittingEmptySubsequences: false)
    let name = String(parts[0])
    guard !name.isEmpty, !name.contains(where: { $0 == " " || $0 == "\t" || $0 == "]" }) else {
      return nil
    }
    let type = parts.count > 1 ? String(parts[1]) : "hosts"
    guard !type.isEmpty, type.allSatisfy({ $0.isLetter || $0.isNumber || $0 == "_" }) else {
      return nil
    }
    return (name, type)
  }

  static func parseHostLine(
    _ line: String, group: String, state: String, here: SourceLocation,
    inventory: inout Inventory, fail: (InventoryError.Kind, String?) -> InventoryError
  ) throws(InventoryError) {
    guard let words = ShellWords.split(line) else {
      throw fail(.invalidStructure("unbalanced quotes in host line"), "close the quote")
    }
    guard let pattern = words.first else { return }
    if pattern == "---" {
      throw fail(
        .badHostPattern(pattern, reason: "'---' starts a YAML document"),
        "a YAML inventory needs a .yml or .yaml file name")
    }
    var vars: [(String, Value)] = []
    for word in words.dropFirst() {
      guard let eq = word.firstIndex(of: "=") else {
        throw fail(.expectedAssignment(word), "host variables are written name=value after the host")
      }
      vars.append((String(word[..<eq]), PythonLiteral.parse(String(word[word.index(after: eq)...]))))
    }
    let parsed: HostRange.Parsed
    do {
      parsed = try HostRange.parse(pattern)
    } catch {
      throw InventoryError(error.kind, at: here, sourceLine: line, hint: "ranges look like node[01:10] or db-[a:c]")
    }
    for name in parsed.names {
      inventory.addHost(name, group: group, at: here)
      if let port = parsed.port { inventory.setHostVariable(name, "ansible_port", .int(port)) }
      for (k, v) in vars { inventory.setHostVariable(name, k, v) }
    }
  }
}

extension StringProtocol {
  func trimmingCharacters(in set: String) -> String {
    let chars = Set(set)
    var s = Substring(self)
    while let f = s.first, chars.contains(f) { s.removeFirst() }
    while let l = s.last, chars.contains(l) { s.removeLast() }
    return String(s)
  }
}
