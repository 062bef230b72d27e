/// One node of a YAML document, with the place it came from.
///
/// Aliases are already resolved (an alias is a copy of its anchor's node, carrying the alias's
/// own location) and merge keys (`<<`) already applied, so consumers see plain trees.
public struct YAMLNode: Sendable, Equatable {
  public enum ScalarStyle: Sendable, Equatable {
    case plain, singleQuoted, doubleQuoted, literal, folded
  }

  public enum Content: Sendable, Equatable {
    case scalar(String, ScalarStyle)
    case sequence([YAMLNode])
    case mapping([YAMLPair])
  }

  public var content: Content
  public var location: SourceLocation
  /// The tag as written after resolution of `!!` shorthands, such as `tag:yaml.org,2002:str`
  /// or `!vault`; `nil` when none was written.
  public var tag: String?

  public init(_ content: Content, at location: SourceLocation, tag: String? = nil) {
    self.content = content
    self.location = location
    self.tag = tag
  }

  /// The scalar text, if this node is a scalar.
  public var scalarText: String? {
    if case .scalar(let text, _) = content { return text }
    return nil
  }

  /// The pairs, if this node is a mapping.
  public var pairs: [YAMLPair]? {
    if case .mapping(let pairs) = content { return pairs }
    return nil
  }

  /// The items, if this node is a sequence.
  public var items: [YAMLNode]? {
    if case .sequence(let items) = content { return items }
    return nil
  }

  /// The value for a scalar key in a mapping node.
  public subscript(key: String) -> YAMLNode? {
    pairs?.first { $0.keyText == key }?.value
  }

  /// A short name of the node's kind for messages: "a mapping", "a list", "a string".
  public var kindDescription: String {
    switch content {
    case .scalar:
      switch value {
      case .null: return "null"
      case .bool: return "a boolean"
      case .int, .double: return "a number"
      default: return "a string"
      }
    case .sequence: return "a list"
    case .mapping: return "a mapping"
    }
  }
}

/// A key and its value in a YAML mapping.
public struct YAMLPair: Sendable, Equatable {
  public let key: YAMLNode
  public var value: YAMLNode
  /// `key.keyString`, worked out once: lookups, merge keys and values all need it.
  public let keyText: String

  public init(key: YAMLNode, value: YAMLNode) {
    self.init(key: key, value: value, keyText: key.keyString)
  }

  init(key: YAMLNode, value: YAMLNode, keyText: String) {
    self.key = key
    self.value = value
    self.keyText = keyText
  }
}

extension YAMLNode {
  /// The node as a variable value, with scalars typed the way Ansible's YAML loader types them.
  public var value: Value {
    switch content {
    case .scalar(let text, let style):
      return YAMLScalarResolver.resolve(text, style: style, tag: tag)
    case .sequence(let items):
      return .list(items.map(\.value))
    case .mapping(let pairs):
      var dict = OrderedDict(minimumCapacity: pairs.count)
      for pair in pairs {
        dict[pair.keyText] = pair.value.value
      }
      return .dict(dict)
    }
  }

  /// The text used when this node is a mapping key: keys that are numbers or booleans become
  /// the text Python would print for them, as they do in Ansible's JSON output.
  public var keyString: String {
    switch value {
    case .string(let s): return s
    case .int(let i): return String(i)
    case .double(let d): return Value.pythonFloatRepr(d)
    case .bool(let b): return b ? "True" : "False"
    case .null: return "None"
    default: return scalarText ?? ""
    }
  }
}
