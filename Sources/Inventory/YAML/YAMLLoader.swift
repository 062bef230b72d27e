import CLibYAML
import Foundation

/// Reads YAML text into `YAMLNode` trees with libyaml, keeping every node's location.
///
/// libyaml does the scanning; this type adds what it leaves out: aliases resolved against
/// anchors, merge keys, duplicate-key errors, a bound on alias expansion, and messages with
/// hints for the mistakes people make in playbooks.
public enum YAMLLoader {
  /// The most nodes that aliases may add to one document; "billion laughs" stops here.
  public static let aliasExpansionLimit = 1_000_000

  /// Every document in the stream, in order. An empty stream has none.
  ///
  /// A whole file encrypted with Ansible Vault is decrypted with `VaultKeyring.shared` first,
  /// and so is every `!vault` value; both record what they reveal in the keyring.
  public static func load(_ bytes: [UInt8], file: String) throws(YAMLError) -> [YAMLNode] {
    guard Vault.isEncrypted(bytes) else {
      var builder = TreeBuilder(file: file, bytes: bytes)
      return try builder.run()
    }
    let keyring = VaultKeyring.shared
    let plaintext: [UInt8]
    do {
      plaintext = try keyring.decrypt(
        bytes, subject: "'\(file)'", at: SourceLocation(file: file, line: 1, column: 1),
        sourceLine: sourceLine(1, in: bytes))
    } catch {
      throw YAMLError(vault: error)
    }
    // Errors point into the plaintext, but never quote it: it is secret.
    var builder = TreeBuilder(file: file, bytes: plaintext, showsSource: false)
    let documents = try builder.run()
    documents.forEach(keyring.reveal(leavesOf:))
    return documents
  }

  /// Every document in the text.
  public static func load(_ text: String, file: String) throws(YAMLError) -> [YAMLNode] {
    try load(Array(text.utf8), file: file)
  }

  /// Every document in a file.
  public static func load(contentsOf path: String) throws(YAMLError) -> [YAMLNode] {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw YAMLError(
        kind: .unreadable("cannot read '\(path)'"), location: SourceLocation(file: path, line: 0, column: 0))
    }
    return try load([UInt8](data), file: path)
  }

  /// The only document of a file, or `nil` for an empty one; more than one is an error.
  public static func loadSingle(_ bytes: [UInt8], file: String) throws(YAMLError) -> YAMLNode? {
    let docs = try load(bytes, file: file)
    if docs.count > 1 {
      throw YAMLError(
        kind: .syntax("expected one YAML document, found \(docs.count)"),
        location: docs[1].location,
        sourceLine: Vault.isEncrypted(bytes) ? nil : sourceLine(docs[1].location.line, in: bytes),
        hint: "remove the extra '---' line or split the file")
    }
    return docs.first
  }
}

/// The event loop that turns libyaml events into nodes.
private struct TreeBuilder {
  /// A sequence or mapping being built. A class, so that appending to a large container
  /// changes it in place instead of copying it each time.
  final class Frame {
    let isMapping: Bool
    let location: SourceLocation
    let tag: String?
    let anchor: String?
    var items: [YAMLNode] = []
    var pairs: [YAMLPair] = []
    var pendingKey: YAMLNode?
    var pendingKeyText = ""
    /// Keys seen so far, for duplicate checks: a list while the mapping is small (most are),
    /// a set once it grows, so neither case pays for the other. Locations are looked up in
    /// `pairs` only when a duplicate is found.
    var keys: [String] = []
    var keySet: Set<String>?
    var hasMergeKey = false
    /// Nodes in this subtree, aliases expanded; bounds "billion laughs" without walking trees.
    var weight = 1

    func contains(_ key: String) -> Bool {
      if let keySet { return keySet.contains(key) }
      return keys.contains(key)
    }

    func firstLocation(of key: String) -> SourceLocation? {
      pairs.first { $0.keyText == key }?.key.location
    }

    func remember(_ key: String) {
      if keySet != nil {
        keySet?.insert(key)
      } else if keys.count < 16 {
        keys.append(key)
      } else {
        keySet = Set(keys + [key])
        keys = []
      }
    }

    init(isMapping: Bool, location: SourceLocation, tag: String?, anchor: String?) {
      self.isMapping = isMapping
      self.location = location
      self.tag = tag
      self.anchor = anchor
    }
  }

  let file: String
  let bytes: [UInt8]
  /// False for decrypted vault files: errors then leave out the source line.
  let showsSource: Bool
  var stack: [Frame] = []
  var anchors: [String: (node: YAMLNode, weight: Int)] = [:]
  var openAnchors: Set<String> = []
  var documents: [YAMLNode] = []
  var root: YAMLNode?
  var expanded = 0

  init(file: String, bytes: [UInt8], showsSource: Bool = true) {
    self.file = file
    self.bytes = bytes
    self.showsSource = showsSource
  }

  mutating func run() throws(YAMLError) -> [YAMLNode] {
    let parser = UnsafeMutablePointer<yaml_parser_t>.allocate(capacity: 1)
    guard yaml_parser_initialize(parser) == 1 else {
      parser.deallocate()
      throw YAMLError(kind: .unreadable("out of memory"), location: location(line: 1, column: 1))
    }
    let input = UnsafeMutableBufferPointer<UInt8>.allocate(capacity: max(bytes.count, 1))
    _ = input.initialize(from: bytes)
    defer {
      yaml_parser_delete(parser)
      parser.deallocate()
      input.deallocate()
    }
    yaml_parser_set_input_string(parser, input.baseAddress, bytes.count)
    var event = yaml_event_t()
    while true {
      guard yaml_parser_parse(parser, &event) == 1 else { throw syntaxError(parser.pointee) }
      defer { yaml_event_delete(&event) }
      let type = event.type
      let mark = event.start_mark
      let here = location(line: Int(mark.line) + 1, column: Int(mark.column) + 1)
      switch type {
      case YAML_STREAM_END_EVENT:
        return documents
      case YAML_DOCUMENT_START_EVENT:
        anchors = [:]
        expanded = 0
        root = nil
      case YAML_DOCUMENT_END_EVENT:
        documents.append(root ?? YAMLNode(.scalar("", .plain), at: here))
      case YAML_SCALAR_EVENT:
        let s = event.data.scalar
        let text = string(s.value, Int(s.length))
        let style: YAMLNode.ScalarStyle
        switch s.style {
        case YAML_SINGLE_QUOTED_SCALAR_STYLE: style = .singleQuoted
        case YAML_DOUBLE_QUOTED_SCALAR_STYLE: style = .doubleQuoted
        case YAML_LITERAL_SCALAR_STYLE: style = .literal
        case YAML_FOLDED_SCALAR_STYLE: style = .folded
        default: style = .plain
        }
        var node = YAMLNode(.scalar(text, style), at: here, tag: optionalString(s.tag))
        if node.tag == "!vault" { node = try decryptVaultScalar(node) }
        try add(node, weight: 1, anchor: optionalString(s.anchor))
      case YAML_SEQUENCE_START_EVENT:
        let s = event.data.sequence_start
        let anchor = optionalString(s.anchor)
        if let anchor { openAnchors.insert(anchor) }
        stack.append(Frame(isMapping: false, location: here, tag: optionalString(s.tag), anchor: anchor))
      case YAML_MAPPING_START_EVENT:
        let m = event.data.mapping_start
        let anchor = optionalString(m.anchor)
        if let anchor { openAnchors.insert(anchor) }
        stack.append(Frame(isMapping: true, location: here, tag: optionalString(m.tag), anchor: anchor))
      case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
        guard let frame = stack.popLast() else { continue }
        if let anchor = frame.anchor { openAnchors.remove(anchor) }
        let content: YAMLNode.Content =
          !frame.isMapping
          ? .sequence(frame.items)
          : .mapping(frame.hasMergeKey ? try applyMergeKeys(frame.pairs) : frame.pairs)
        try add(YAMLNode(content, at: frame.location, tag: frame.tag), weight: frame.weight, anchor: frame.anchor)
      case YAML_ALIAS_EVENT:
        let name = string(event.data.alias.anchor, strlen(event.data.alias.anchor))
        guard let target = anchors[name] else {
          let kind: YAMLError.Kind =
            openAnchors.contains(name) ? .aliasCycle(name) : .unknownAlias(name)
          throw YAMLError(kind: kind, location: here, sourceLine: line(here.line))
        }
        expanded += target.weight
        if expanded > YAMLLoader.aliasExpansionLimit {
          throw YAMLError(
            kind: .expansionLimit(YAMLLoader.aliasExpansionLimit), location: here,
            sourceLine: line(here.line),
            hint: "anchors that refer to anchors many levels deep multiply; flatten the data")
        }
        var node = target.node
        node.location = here
        try add(node, weight: target.weight, anchor: nil)
      default:
        break
      }
    }
  }

  /// Adds a finished node to the container being built, or makes it the document root.
  mutating func add(_ node: YAMLNode, weight: Int, anchor: String?) throws(YAMLError) {
    if let anchor { anchors[anchor] = (node, weight) }
    guard let top = stack.last else {
      root = node
      return
    }
    top.weight += weight
    guard top.isMapping else {
      top.items.append(node)
      return
    }
    if let key = top.pendingKey {
      top.pairs.append(YAMLPair(key: key, value: node, keyText: top.pendingKeyText))
      top.pendingKey = nil
      return
    }
    guard case .scalar(let text, let style) = node.content else {
      if let hint = braceHint(node.location) {
        // Point at the outer brace, where the value starts.
        var at = top.location
        if at.line != node.location.line { at = node.location }
        throw YAMLError(kind: .unquotedTemplate, location: at, sourceLine: line(at.line), hint: hint)
      }
      throw YAMLError(
        kind: .complexKey, location: node.location, sourceLine: line(node.location.line),
        hint: "quote the key, or use a plain word")
    }
    let keyText = node.keyString
    if text == "<<" && style == .plain {
      top.hasMergeKey = true
    } else {
      if top.contains(keyText) {
        let first = top.firstLocation(of: keyText) ?? node.location
        throw YAMLError(
          kind: .duplicateKey(keyText, first: first), location: node.location,
          sourceLine: line(node.location.line),
          hint: "a mapping can have each key once; remove or rename one of them")
      }
      top.remember(keyText)
    }
    top.pendingKey = node
    top.pendingKeyText = keyText
  }

  /// Applies `<<: *anchor` and `<<: [*a, *b]` the way PyYAML does: merged keys first, keys
  /// written in the mapping win, and earlier merge sources win over later ones.
  func applyMergeKeys(_ pairs: [YAMLPair]) throws(YAMLError) -> [YAMLPair] {
    guard pairs.contains(where: isMergeKey) else { return pairs }
    var merged: [YAMLPair] = []
    var own: [YAMLPair] = []
    for pair in pairs {
      guard isMergeKey(pair) else {
        own.append(pair)
        continue
      }
      var sources: [YAMLNode] = []
      switch pair.value.content {
      case .mapping: sources = [pair.value]
      case .sequence(let items): sources = items.reversed()
      case .scalar:
        throw YAMLError(
          kind: .syntax("a merge key '<<' needs a mapping or a list of mappings"),
          location: pair.value.location, sourceLine: line(pair.value.location.line),
          hint: "write '<<: *anchor' where '&anchor' names a mapping")
      }
      for source in sources {
        guard let sourcePairs = source.pairs else {
          throw YAMLError(
            kind: .syntax("a merge key '<<' list may hold only mappings"),
            location: source.location, sourceLine: line(source.location.line), hint: nil)
        }
        merged.append(contentsOf: sourcePairs)
      }
    }
    // Python dict semantics: the first occurrence fixes the position, the last one the value.
    var order: [String] = []
    var values: [String: YAMLPair] = [:]
    for pair in merged + own {
      let key = pair.keyText
      if values[key] == nil { order.append(key) }
      values[key] = pair
    }
    return order.compactMap { values[$0] }
  }

  func isMergeKey(_ pair: YAMLPair) -> Bool {
    if case .scalar("<<", .plain) = pair.key.content { return true }
    return false
  }

  func syntaxError(_ parser: yaml_parser_t) -> YAMLError {
    let problem = parser.problem.map { String(cString: $0) } ?? "invalid YAML"
    let mark = parser.problem_mark
    var message = problem
    if let context = parser.context.map({ String(cString: $0) }) {
      let c = parser.context_mark
      message += " (\(context) at line \(c.line + 1), column \(c.column + 1))"
    }
    let loc = location(line: Int(mark.line) + 1, column: Int(mark.column) + 1)
    let text = line(loc.line)
    return YAMLError(
      kind: .syntax(message), location: loc, sourceLine: text,
      hint: hint(problem: problem, at: loc, line: text))
  }

  /// A hint for the mistakes people make most in playbooks.
  func hint(problem: String, at loc: SourceLocation, line text: String?) -> String? {
    if let text, text.prefix(while: { $0 == " " || $0 == "\t" }).contains("\t") {
      return "tabs cannot indent YAML; indent with spaces"
    }
    if let brace = braceHint(loc) { return brace }
    if let text, text.contains("{{") {
      return "a value that starts with '{{' must be quoted: key: \"{{ var }}\""
    }
    if problem.contains("mapping values are not allowed") {
      return "check the indentation of this line, or quote a value that contains ': '"
    }
    if problem.contains("control characters") || problem.contains("UTF-8") {
      return "the file is not UTF-8 text"
    }
    if problem.contains("found unexpected end of stream") {
      return "a quote or bracket opened earlier is never closed"
    }
    return nil
  }

  /// When the node at `loc` is an unquoted `{{ ... }}`, explains that it must be quoted.
  func braceHint(_ loc: SourceLocation) -> String? {
    guard let text = line(loc.line) else { return nil }
    let rest = text.dropFirst(max(0, loc.column - 1))
    if rest.hasPrefix("{{") || text.contains(": {{") || text.contains("- {{") {
      return "a value that starts with '{{' must be quoted: key: \"{{ var }}\""
    }
    return nil
  }

  func location(line: Int, column: Int) -> SourceLocation {
    SourceLocation(file: file, line: line, column: column)
  }

  func line(_ number: Int) -> String? { showsSource ? sourceLine(number, in: bytes) : nil }

  /// An inline `!vault` value with its text decrypted; it keeps its tag, which makes it a string.
  func decryptVaultScalar(_ node: YAMLNode) throws(YAMLError) -> YAMLNode {
    guard case .scalar(let text, let style) = node.content else { return node }
    let keyring = VaultKeyring.shared
    let plaintext: String
    do {
      let bytes = try keyring.decrypt(
        Array(text.utf8), subject: "this '!vault' value", at: node.location,
        sourceLine: line(node.location.line))
      plaintext = String(decoding: bytes, as: UTF8.self)
    } catch {
      throw YAMLError(vault: error)
    }
    keyring.reveal(plaintext)
    return YAMLNode(.scalar(plaintext, style), at: node.location, tag: node.tag)
  }

  func string(_ p: UnsafeMutablePointer<yaml_char_t>?, _ length: Int) -> String {
    guard let p else { return "" }
    return String(decoding: UnsafeBufferPointer(start: p, count: length), as: UTF8.self)
  }

  func optionalString(_ p: UnsafeMutablePointer<yaml_char_t>?) -> String? {
    guard let p else { return nil }
    return String(cString: p)
  }
}
