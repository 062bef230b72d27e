import Inventory

/// Where a template's variables and lookups come from.
///
/// The playbook engine provides one per host and task; it may template variables lazily as
/// they are read, as `LazyTemplateContext` does.
public protocol TemplateContext: AnyObject {
  /// The value of a variable, or `nil` when it is not defined.
  func variable(named name: String) throws -> Value?

  /// The value as stored, before any templating; Ansible's `{{ name }}` shortcut uses it.
  func rawVariable(named name: String) throws -> Value?

  /// Runs a lookup plugin, as `lookup('env', 'HOME')` and `query('file', path)` do.
  ///
  /// - Returns: the plugin's list of results; `lookup` joins strings with commas.
  func lookup(_ plugin: String, terms: [Value], options: OrderedDict) throws -> [Value]

  /// The text of another template, for `{% include %}` and `{% import %}`; the engine
  /// resolves `name` against the role's `templates/` directories.
  ///
  /// - Returns: the source, or `nil` when there is no such template.
  func templateSource(named name: String) throws -> String?
}

extension TemplateContext {
  /// Contexts that do not template their values return them as they are.
  public func rawVariable(named name: String) throws -> Value? { try variable(named: name) }

  /// No other templates can be loaded unless the context says where they are.
  public func templateSource(named name: String) throws -> String? { nil }

  /// The built-in lookups of `TemplateLookups`.
  public func lookup(_ plugin: String, terms: [Value], options: OrderedDict) throws -> [Value] {
    try TemplateLookups.run(plugin, terms: terms, options: options, context: self)
  }
}

/// A context over fixed values: strings are not templated again when read.
public final class DictionaryTemplateContext: TemplateContext {
  /// The variables by name.
  public var variables: [String: Value]

  /// A context over `variables`.
  public init(_ variables: [String: Value] = [:]) { self.variables = variables }

  /// The stored value.
  public func variable(named name: String) throws -> Value? { variables[name] }
}

/// A context that templates a variable's value when it is read, as Ansible does: a variable
/// whose value is `"{{ other }}"` yields the value of `other`, at any depth inside lists and
/// dicts.
///
/// A variable that leads back to itself fails with a `.recursion` error naming the chain,
/// and so does a chain deeper than `maximumDepth`.
public final class LazyTemplateContext: TemplateContext {
  /// The variables by name, as written: strings may contain templates.
  public var variables: [String: Value]
  /// How many variables may be templated inside one another before it counts as a loop.
  public var maximumDepth: Int
  private var resolving: [String] = []
  private var cache: [String: Value] = [:]
  private let templates = TemplateCache()

  /// A context over `variables`, templated as they are read.
  public init(_ variables: [String: Value] = [:], maximumDepth: Int = 64) {
    self.variables = variables
    self.maximumDepth = maximumDepth
  }

  /// The templated value of `name`, cached until `invalidate()`.
  ///
  /// - Throws: `TemplateError` from templating the value, `.recursion` for a loop.
  public func variable(named name: String) throws -> Value? {
    if let cached = cache[name] { return cached }
    guard let raw = variables[name] else { return nil }
    guard Template.containsTemplate(raw) else { return raw }
    if resolving.contains(name) || resolving.count >= maximumDepth {
      let chain = (resolving + [name]).joined(separator: " -> ")
      throw TemplateError(.recursion(chain), templateName: name)
    }
    resolving.append(name)
    defer { resolving.removeLast() }
    let value = try templateValue(raw, name: name)
    cache[name] = value
    return value
  }

  /// The value as written, not templated.
  public func rawVariable(named name: String) throws -> Value? { variables[name] }

  /// Forgets templated results, after `variables` changed.
  public func invalidate() { cache.removeAll() }

  private func templateValue(_ value: Value, name: String) throws -> Value {
    try Template.renderNested(value, name: name, cache: templates, context: self)
  }

}

/// Compiled templates by their source text, shared by the renders of one context, so that a
/// variable used on every loop item is parsed once. A class, so that a render that resolves
/// another variable (and compiles another template) can use it while it is in use.
final class TemplateCache {
  private var compiled: [String: Template] = [:]

  func template(_ source: String, name: String) throws -> Template {
    if let t = compiled[source] { return t }
    let t = try Template(source, name: name, escapeBackslashes: true)
    compiled[source] = t
    return t
  }
}

extension Template {
  /// Renders every template inside `value` (strings in lists and mappings too) with `context`.
  static func renderNested(
    _ value: Value, name: String, cache: TemplateCache, context: any TemplateContext
  ) throws -> Value {
    switch value {
    case .string(let s):
      guard isPossiblyTemplate(s) else { return value }
      return try cache.template(s, name: name).renderValue(context)
    case .list(let items):
      return .list(try items.map { try renderNested($0, name: name, cache: cache, context: context) })
    case .dict(let d):
      var out = OrderedDict(minimumCapacity: d.count)
      for (k, v) in d { out[k] = try renderNested(v, name: name, cache: cache, context: context) }
      return .dict(out)
    default:
      return value
    }
  }
}
