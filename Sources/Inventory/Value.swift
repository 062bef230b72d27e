/// A variable's value as Ansible sees it: the JSON data model plus Python's int/float split.
///
/// Inventories, vars files, playbooks and templates all produce and consume `Value`s.
public enum Value: Sendable, Hashable {
  case null
  case bool(Bool)
  case int(Int)
  case double(Double)
  case string(String)
  case list([Value])
  case dict(OrderedDict)
  /// Python's tuple. Only templates make them (`(1, 2)`, `dictsort`, `zip`, `d.items()`, a
  /// macro's `varargs`), and they print as `(1, 2)`; everywhere else they read as a list
  /// (`listValue`), and JSON and YAML write them as lists, as Python's `json` does.
  case tuple([Value])

  /// The string inside, if this is a string.
  public var stringValue: String? {
    if case .string(let s) = self { return s }
    return nil
  }

  /// The dictionary inside, if this is a mapping.
  public var dictValue: OrderedDict? {
    if case .dict(let d) = self { return d }
    return nil
  }

  /// The items inside, if this is a list or a tuple.
  public var listValue: [Value]? {
    switch self {
    case .list(let l), .tuple(let l): return l
    default: return nil
    }
  }

  /// The same value with every tuple in it made a list, for code outside templates that
  /// only knows lists.
  public var tuplesAsLists: Value {
    guard containsTuple else { return self }
    switch self {
    case .list(let l), .tuple(let l): return .list(l.map(\.tuplesAsLists))
    case .dict(let d): return .dict(OrderedDict(d.map { ($0.key, $0.value.tuplesAsLists) }))
    default: return self
    }
  }

  private var containsTuple: Bool {
    switch self {
    case .tuple: return true
    case .list(let l): return l.contains { $0.containsTuple }
    case .dict(let d): return d.values.contains { $0.containsTuple }
    default: return false
    }
  }

  /// Python's truthiness: empty strings, lists and dicts, zero and None are false.
  public var isTruthy: Bool {
    switch self {
    case .null: return false
    case .bool(let b): return b
    case .int(let i): return i != 0
    case .double(let d): return d != 0
    case .string(let s): return !s.isEmpty
    case .list(let l), .tuple(let l): return !l.isEmpty
    case .dict(let d): return !d.isEmpty
    }
  }

  /// The Python type name, as Ansible's `type_debug` filter prints it.
  public var typeName: String {
    switch self {
    case .null: return "NoneType"
    case .bool: return "bool"
    case .int: return "int"
    case .double: return "float"
    case .string: return "str"
    case .list: return "list"
    case .dict: return "dict"
    case .tuple: return "tuple"
    }
  }

  public static func == (lhs: Value, rhs: Value) -> Bool {
    switch (lhs, rhs) {
    case (.null, .null): return true
    case (.bool(let a), .bool(let b)): return a == b
    case (.int(let a), .int(let b)): return a == b
    case (.double(let a), .double(let b)): return a == b
    // Python: 1 == 1.0 and True == 1; the engine's comparisons rely on it.
    case (.int(let a), .double(let b)), (.double(let b), .int(let a)): return Double(a) == b
    case (.bool(let a), .int(let b)), (.int(let b), .bool(let a)): return (a ? 1 : 0) == b
    case (.bool(let a), .double(let b)), (.double(let b), .bool(let a)): return (a ? 1.0 : 0.0) == b
    case (.string(let a), .string(let b)): return a == b
    case (.list(let a), .list(let b)): return a == b
    case (.dict(let a), .dict(let b)): return a == b
    // Python: (1, 2) != [1, 2].
    case (.tuple(let a), .tuple(let b)): return a == b
    default: return false
    }
  }

  public func hash(into hasher: inout Hasher) {
    switch self {
    case .null: hasher.combine(0)
    case .bool(let b): hasher.combine(Double(b ? 1 : 0))
    case .int(let i): hasher.combine(Double(i))
    case .double(let d): hasher.combine(d)
    case .string(let s): hasher.combine(s)
    case .list(let l): hasher.combine(l)
    case .dict(let d): hasher.combine(d)
    case .tuple(let l):
      hasher.combine(1)
      hasher.combine(l)
    }
  }
}

extension Value: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, ExpressibleByBooleanLiteral,
  ExpressibleByFloatLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral,
  ExpressibleByNilLiteral
{
  public init(stringLiteral value: String) { self = .string(value) }
  public init(integerLiteral value: Int) { self = .int(value) }
  public init(booleanLiteral value: Bool) { self = .bool(value) }
  public init(floatLiteral value: Double) { self = .double(value) }
  public init(arrayLiteral elements: Value...) { self = .list(elements) }
  public init(dictionaryLiteral elements: (String, Value)...) {
    self = .dict(OrderedDict(elements))
  }
  public init(nilLiteral: ()) { self = .null }
}

/// A dictionary that keeps insertion order, as Python's dict does.
///
/// Equality ignores order, as in Python.
public struct OrderedDict: Sendable, Hashable, Sequence {
  public private(set) var keys: [String] = []
  private var storage: [String: Value] = [:]

  public init() {}

  public init(minimumCapacity: Int) {
    keys.reserveCapacity(minimumCapacity)
    storage.reserveCapacity(minimumCapacity)
  }

  public init(_ pairs: some Sequence<(String, Value)>) {
    for (k, v) in pairs { self[k] = v }
  }

  public var count: Int { keys.count }
  public var isEmpty: Bool { keys.isEmpty }
  public var values: [Value] { keys.map { storage[$0] ?? .null } }

  public subscript(key: String) -> Value? {
    get { storage[key] }
    set {
      if let newValue {
        if storage.updateValue(newValue, forKey: key) == nil { keys.append(key) }
      } else if storage.removeValue(forKey: key) != nil {
        keys.removeAll { $0 == key }
      }
    }
  }

  public func contains(_ key: String) -> Bool { storage[key] != nil }

  @discardableResult
  public mutating func removeValue(forKey key: String) -> Value? {
    let old = storage[key]
    self[key] = nil
    return old
  }

  public func makeIterator() -> AnyIterator<(key: String, value: Value)> {
    var index = 0
    return AnyIterator {
      guard index < keys.count else { return nil }
      defer { index += 1 }
      let k = keys[index]
      return (k, storage[k] ?? .null)
    }
  }

  public static func == (lhs: OrderedDict, rhs: OrderedDict) -> Bool { lhs.storage == rhs.storage }
  public func hash(into hasher: inout Hasher) { hasher.combine(storage) }
}

extension OrderedDict: ExpressibleByDictionaryLiteral {
  public init(dictionaryLiteral elements: (String, Value)...) { self.init(elements) }
}
