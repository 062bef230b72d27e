import Foundation
import Inventory

/// Extra variables as `ansible-playbook -e` takes them: `k=v k2='two words'`, a JSON or YAML
/// mapping, or `@file.yml` to read one from a file.
public enum ExtraVars {
  public struct Invalid: Error, Sendable, CustomStringConvertible {
    public var argument: String
    public var reason: String
    public var description: String { "invalid extra vars '\(argument)': \(reason)" }
  }

  /// Merges every `-e` argument in order; later ones win, as in Ansible.
  public static func parse(_ arguments: [String]) throws -> OrderedDict {
    var result = OrderedDict()
    for argument in arguments {
      for (k, v) in try parse(argument) { result[k] = v }
    }
    return result
  }

  public static func parse(_ argument: String) throws -> OrderedDict {
    let trimmed = argument.trimmingCharacters(in: .whitespaces)
    if trimmed.hasPrefix("@") {
      let path = String(trimmed.dropFirst())
      guard let data = FileManager.default.contents(atPath: path) else {
        throw Invalid(argument: argument, reason: "cannot read '\(path)'")
      }
      return try mapping(from: [UInt8](data), file: path, argument: argument)
    }
    if trimmed.hasPrefix("{") || trimmed.hasPrefix("---") {
      return try mapping(from: Array(trimmed.utf8), file: "<extra vars>", argument: argument)
    }
    // key=value pairs; values stay strings, as Ansible's parse_kv leaves them.
    var result = OrderedDict()
    for word in SSHArguments.shellWords(trimmed) {
      guard let eq = word.firstIndex(of: "="), eq != word.startIndex else {
        throw Invalid(argument: argument, reason: "expected key=value, a JSON/YAML mapping or @FILE, got '\(word)'")
      }
      result[String(word[..<eq])] = .string(String(word[word.index(after: eq)...]))
    }
    return result
  }

  static func mapping(from bytes: [UInt8], file: String, argument: String) throws -> OrderedDict {
    let root: YAMLNode?
    do {
      root = try YAMLLoader.loadSingle(bytes, file: file)
    } catch {
      throw Invalid(argument: argument, reason: error.diagnostic.description)
    }
    guard let root else { return OrderedDict() }
    guard case .dict(let vars) = root.value else {
      throw Invalid(argument: argument, reason: "expected a mapping of names to values")
    }
    return vars
  }
}
