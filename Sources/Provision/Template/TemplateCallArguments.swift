import Inventory

/// Evaluated arguments of a filter, test, method or function, bound to parameter names the
/// way Python binds them.
struct TemplateCallArguments {
  var positional: [TemplateObject]
  var keywords: [(String, TemplateObject)]
  let offset: Int
  let renderer: TemplateRenderer

  var count: Int { positional.count + keywords.count }

  /// Binds arguments to `parameters`; the result has one slot per parameter.
  ///
  /// - Throws: `.wrongArguments` for too many, unknown or missing (`required`) arguments.
  func bind(_ function: String, _ parameters: [String], required: Int = 0) throws
    -> [TemplateObject?]
  {
    var slots = [TemplateObject?](repeating: nil, count: parameters.count)
    guard positional.count <= parameters.count else {
      throw renderer.error(
        .wrongArguments(
          function,
          "takes \(parameters.count) positional arguments but \(positional.count) were given"),
        at: offset)
    }
    for (i, p) in positional.enumerated() { slots[i] = p }
    for (k, v) in keywords {
      guard let i = parameters.firstIndex(of: k) else {
        throw renderer.error(
          .wrongArguments(function, "got an unexpected keyword argument '\(k)'"), at: offset)
      }
      guard slots[i] == nil else {
        throw renderer.error(
          .wrongArguments(function, "got multiple values for argument '\(k)'"), at: offset)
      }
      slots[i] = v
    }
    for i in 0..<required where slots[i] == nil {
      throw renderer.error(
        .wrongArguments(function, "missing required argument '\(parameters[i])'"), at: offset)
    }
    return slots
  }

  /// The data in a bound slot, or `fallback` when the argument was not given.
  func value(_ slot: TemplateObject?, _ fallback: Value) throws -> Value {
    guard let slot else { return fallback }
    return try renderer.value(slot, at: offset)
  }

  func string(_ slot: TemplateObject?, _ fallback: String, _ function: String) throws -> String {
    guard let slot else { return fallback }
    let v = try renderer.value(slot, at: offset)
    guard case .string(let s) = v else {
      throw renderer.error(
        .type("\(function)() expected a string argument, got '\(v.typeName)'"), at: offset)
    }
    return s
  }

  func int(_ slot: TemplateObject?, _ fallback: Int, _ function: String) throws -> Int {
    guard let slot else { return fallback }
    let v = try renderer.value(slot, at: offset)
    switch v {
    case .int(let i): return i
    case .bool(let b): return b ? 1 : 0
    case .double(let d) where d.isFinite && d == d.rounded(): return Int(d)
    default:
      throw renderer.error(
        .type("\(function)() expected an integer argument, got '\(v.typeName)'"), at: offset)
    }
  }

  func bool(_ slot: TemplateObject?, _ fallback: Bool) throws -> Bool {
    guard let slot else { return fallback }
    return try renderer.value(slot, at: offset).isTruthy
  }
}
