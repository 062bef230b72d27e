import ArgumentParser
import Provision

/// `provision modules`: the modules and actions a task may use, and their arguments.
struct ModulesCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "modules",
    abstract: "List the modules and actions provision knows, or one module's arguments.")

  @Argument(help: "A module name, to list its arguments.")
  var module: String?

  func run() throws {
    guard let module else {
      for name in ModuleRegistry.allNames.sorted() { print(name) }
      return
    }
    let name = ModuleRegistry.shortName(module)
    guard let spec = ModuleRegistry.spec(for: name) else {
      printError("error: no module or action named '\(module)'")
      throw ExitCode(ExitStatus.usage)
    }
    for argument in spec.arguments where !argument.name.hasPrefix("_") {
      var line = "  \(argument.name)"
      if !argument.aliases.isEmpty { line += " (\(argument.aliases.joined(separator: ", ")))" }
      if argument.isRequired { line += "  required" }
      if !argument.choices.isEmpty { line += "  one of: \(argument.choices.joined(separator: ", "))" }
      if let d = argument.defaultValue { line += "  default: \(d.jsonString())" }
      print(line)
    }
    if let free = spec.freeForm, !free.hasPrefix("_") { print("  free form: the text after '\(name):' is '\(free)'") }
  }
}
