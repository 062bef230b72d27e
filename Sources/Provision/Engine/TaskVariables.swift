import Foundation
import Inventory

/// The variables one task sees on one host, in Ansible's precedence order, resolved lazily:
/// a variable that holds a template is rendered when first used.
final class TaskVariables: TemplateContext {
  private var variables: OrderedDict
  private var computed: [String: () -> Value]
  private var cache: [String: Value] = [:]
  private var resolving: [String] = []
  private let templates = TemplateCache()
  /// Directories `lookup('file')` and `lookup('template')` search.
  var searchPaths: [String] = []
  /// Variables whose text is never templated again: registered results and gathered facts,
  /// which Ansible marks unsafe (a command line containing `{{` stays as it is).
  var literalNames: Set<String> = []

  init(_ variables: OrderedDict, computed: [String: () -> Value] = [:]) {
    self.variables = variables
    self.computed = computed
  }

  func set(_ name: String, _ value: Value) {
    variables[name] = value
    cache.removeAll()
  }

  func remove(_ name: String) {
    _ = variables.removeValue(forKey: name)
    cache.removeAll()
  }

  func variable(named name: String) throws -> Value? {
    if let cached = cache[name] { return cached }
    guard let raw = variables[name] else {
      if let make = computed[name] {
        let value = make()
        cache[name] = value
        return value
      }
      return nil
    }
    guard !literalNames.contains(name), Template.containsTemplate(raw) else { return raw }
    if resolving.contains(name) || resolving.count >= 64 {
      throw TemplateError(.recursion((resolving + [name]).joined(separator: " -> ")), templateName: name)
    }
    resolving.append(name)
    defer { resolving.removeLast() }
    let value = try render(raw, name: name)
    cache[name] = value
    return value
  }

  func rawVariable(named name: String) throws -> Value? { variables[name] ?? computed[name]?() }

  func templateSource(named name: String) throws -> String? {
    for dir in searchPaths {
      for sub in ["templates/", ""] {
        let path = name.hasPrefix("/") ? name : (dir as NSString).appendingPathComponent(sub + name)
        if let data = FileManager.default.contents(atPath: path) { return String(decoding: data, as: UTF8.self) }
      }
    }
    return nil
  }

  /// Renders every template inside `value` with these variables.
  func render(_ value: Value, name: String = "<task>") throws -> Value {
    try Template.renderNested(value, name: name, cache: templates, context: self)
  }

}
