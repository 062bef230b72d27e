import ArgumentParser
import Foundation
import Inventory
import Provision

/// Options shared by `eval` and `template`: where variables come from.
struct VariableOptions: ParsableArguments {
  @Option(name: [.short, .customLong("inventory")], help: "An inventory file, directory or host list; repeatable.")
  var inventory: [String] = []

  @Option(help: "Use this host's variables from the inventory.")
  var host: String?

  @Option(
    name: [.customShort("e"), .customLong("extra-vars")],
    help: "Variables as key=value, a JSON/YAML mapping, or @FILE; repeatable.")
  var extraVars: [String] = []

  /// The variables an expression or template sees: the host's inventory variables with the
  /// magic ones Ansible adds, then extra vars on top.
  func context() throws -> LazyTemplateContext {
    var vars: [String: Value] = [:]
    if let host {
      let sources = inventory.isEmpty ? ["inventories/ha.ini"] : inventory
      let inv: Inventory
      do {
        inv = try InventoryLoader.load(sources: sources)
      } catch {
        throw fail(error)
      }
      guard inv.hosts[host] != nil else {
        printError("error: host '\(host)' is not in the inventory")
        throw ExitCode(ExitStatus.error)
      }
      for (k, v) in inv.variables(of: host) { vars[k] = v }
      vars["inventory_hostname"] = .string(host)
      vars["inventory_hostname_short"] = .string(String(host.split(separator: ".").first ?? ""))
      vars["group_names"] = .list(inv.allGroups(of: host).filter { $0 != "all" }.sorted().map(Value.string))
      var groups = OrderedDict()
      for g in inv.groupOrder { groups[g] = .list(inv.hosts(in: g).map(Value.string)) }
      vars["groups"] = .dict(groups)
    }
    do {
      for (k, v) in try ExtraVars.parse(extraVars) { vars[k] = v }
    } catch {
      printError("error: \(error)")
      throw ExitCode(ExitStatus.usage)
    }
    return LazyTemplateContext(vars)
  }
}

/// `provision eval`: what an expression or `when:` evaluates to, before running anything.
struct EvalCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "eval",
    abstract: "Print the value of a Jinja2 expression as JSON.",
    discussion: """
      The expression is written as in a when: condition, without braces. With --host it sees that host's inventory variables.

      Examples:
        provision eval "docker_engine_version is version('1.10.3', '>=')" -i inventories/ha.ini --host rancher-server-1
        provision eval "groups['rancher_servers'] | length" -i inventories/ha.ini --host rancher-db
        provision eval "ports | map('int') | sum" -e '{"ports": ["80", "443"]}'
      """)

  @Argument(help: "The expression.")
  var expression: String

  @OptionGroup var variables: VariableOptions

  func run() throws {
    let context = try variables.context()
    do {
      let value = try Template.evaluate(expression: expression, context: context)
      print(value.jsonString(Value.JSONStyle(indent: 2, sortKeys: false, ensureASCII: false)))
    } catch {
      printError("error: \(error)")
      throw ExitCode(ExitStatus.badInput)
    }
  }
}

/// `provision template`: a template file rendered with a host's variables.
struct TemplateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "template",
    abstract: "Render a Jinja2 template file as the template module would.",
    discussion: """
      Examples:
        provision template roles/web/templates/nginx.conf.j2 -i inventories/ha.ini --host rancher-server-1
        provision template motd.j2 -e owner=ops -e @vars.yml
      """)

  @Argument(help: "The template file.")
  var file: String

  @OptionGroup var variables: VariableOptions

  func run() throws {
    guard let data = FileManager.default.contents(atPath: file) else {
      printError("error: cannot read '\(file)'")
      throw ExitCode(ExitStatus.error)
    }
    let context = try variables.context()
    do {
      let template = try Template(String(decoding: data, as: UTF8.self), name: file)
      FileHandle.standardOutput.write(Data(try template.render(context).utf8))
    } catch {
      printError("error: \(error)")
      throw ExitCode(ExitStatus.badInput)
    }
  }
}
