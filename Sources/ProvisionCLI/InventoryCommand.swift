import ArgumentParser
import Foundation
import Inventory

/// `provision inventory`: what `ansible-inventory` shows, from the same sources.
struct InventoryCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "inventory",
    abstract: "Show an inventory as ansible-inventory does.",
    discussion: """
      Examples:
        provision inventory -i inventories/ha.ini --graph
        provision inventory -i inventories/ha.yml --list
        provision inventory -i inventories/ha.ini --host node1
        provision inventory -i inventories/ -i extra.ini --list --limit 'rancher_servers:!node2'
        provision inventory -i inventories/ha.ini --list-hosts 'cluster:&rancher_servers[0:1]'
      """)

  @Option(name: [.short, .customLong("inventory")], help: "An inventory file, directory or host list; repeatable.")
  var inventory: [String] = []

  @Flag(help: "Print every group and host variable as JSON (ansible-inventory --list).")
  var list = false

  @Flag(help: "Print the group tree.")
  var graph = false

  @Option(help: "Print one host's variables as JSON.")
  var host: String?

  @Option(name: [.short, .customLong("limit")], help: "Restrict to hosts matching a pattern.")
  var limit: String?

  @Option(
    name: .customLong("list-hosts"),
    help: "Print the hosts a pattern selects, as 'ansible PATTERN --list-hosts' does.")
  var listHosts: String?

  @Option(help: "With --graph: the group to start from.")
  var group: String = "all"

  @OptionGroup var vault: VaultOptions

  func run() throws {
    try vault.install()
    let sources = inventory.isEmpty ? ["inventories/ha.ini"] : inventory
    var inv: Inventory
    do {
      inv = try InventoryLoader.load(sources: sources)
    } catch {
      throw fail(error)
    }
    for warning in inv.warnings { printError(warning.description) }
    if let pattern = listHosts {
      do {
        let selection = try inv.select(pattern, limit: limit)
        for w in selection.warnings { printError("warning: \(w)") }
        print("  hosts (\(selection.hosts.count)):")
        for h in selection.hosts { print("    \(h)") }
      } catch {
        throw fail(error)
      }
      return
    }
    // As with ansible-inventory, --limit narrows --list and --host but not --graph.
    if let limit, !graph {
      do {
        let selection = try inv.select("all", limit: limit)
        for w in selection.warnings { printError("warning: \(w)") }
        inv = inv.restricted(to: selection.hosts)
      } catch {
        throw fail(error)
      }
    }
    if let host {
      guard inv.hosts[host] != nil else {
        printError("error: host '\(host)' is not in the inventory")
        throw ExitCode(ExitStatus.error)
      }
      print(Value.dict(inv.listedVariables(of: host)).jsonString(.ansibleInventory))
    } else if graph {
      guard inv.groups[group] != nil else {
        printError("error: group '\(group)' is not in the inventory")
        throw ExitCode(ExitStatus.error)
      }
      print(inv.graph(from: group))
    } else if list {
      print(inv.listing().jsonString(.ansibleInventory))
    } else {
      printError("error: choose one of --list, --graph or --host NAME")
      throw ExitCode(ExitStatus.usage)
    }
  }
}
