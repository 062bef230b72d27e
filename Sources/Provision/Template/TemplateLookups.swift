import Foundation
import Inventory

/// The lookup plugins available when a context does not provide its own: `env`, `file`,
/// `pipe`, `items`, `list` and `template`. They run on the controller, as in Ansible.
public enum TemplateLookups {
  /// Runs the lookup `plugin`.
  ///
  /// - Throws: `TemplateError` with kind `.lookup` for an unknown plugin or a failure.
  public static func run(
    _ plugin: String, terms: [Value], options: OrderedDict, context: any TemplateContext
  ) throws -> [Value] {
    switch plugin {
    case "env":
      let environment = ProcessInfo.processInfo.environment
      let fallback = options["default"] ?? .string("")
      return terms.map { t in environment[t.pythonString].map { .string($0) } ?? fallback }
    case "items", "flattened":
      return terms.flatMap { t -> [Value] in t.listValue ?? [t] }
    case "list":
      return terms
    case "file":
      return try terms.map { t in
        let path = t.pythonString
        guard let data = FileManager.default.contents(atPath: path) else {
          throw TemplateError(.lookup("could not locate file in lookup: \(path)"))
        }
        var text = String(decoding: data, as: UTF8.self)
        if options["rstrip"].map({ $0.isTruthy }) ?? true {
          while let l = text.last, l.isWhitespace { text.removeLast() }
        }
        return .string(text)
      }
    case "template":
      return try terms.map { t in
        let path = t.pythonString
        guard let data = FileManager.default.contents(atPath: path) else {
          throw TemplateError(
            .lookup("the template file \(path) could not be found for the lookup"))
        }
        let template = try Template(String(decoding: data, as: UTF8.self), name: path)
        return .string(try template.render(context))
      }
    case "pipe":
      return try terms.map { t in
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.arguments = ["-c", t.pythonString]
        let pipe = Pipe()
        process.standardOutput = pipe
        do {
          try process.run()
        } catch {
          throw TemplateError(.lookup("lookup_plugin.pipe(\(t.pythonString)) could not run"))
        }
        let data = pipe.fileHandleForReading.readDataToEndOfFile()
        process.waitUntilExit()
        guard process.terminationStatus == 0 else {
          throw TemplateError(
            .lookup("lookup_plugin.pipe(\(t.pythonString)) returned \(process.terminationStatus)"))
        }
        var text = String(decoding: data, as: UTF8.self)
        while let l = text.last, l.isWhitespace { text.removeLast() }
        return .string(text)
      }
    default:
      throw TemplateError(.lookup("lookup plugin (\(plugin)) not found"))
    }
  }
}
