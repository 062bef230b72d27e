import ArgumentParser
import Foundation
import Inventory
import Provision

/// `provision validate`: every error in a playbook and inventory, before any host is touched.
struct ValidateCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "validate",
    abstract: "Check playbooks (and an inventory) for errors without connecting to any host.",
    discussion: """
      Exits 0 when everything is valid and 4 when an error was found.

      Examples:
        provision validate playbooks/rancher-ha.yml -i inventories/ha.ini
        provision validate playbooks/*.yml
      """)

  @Argument(help: "Playbook files.")
  var playbooks: [String]

  @Option(name: [.short, .customLong("inventory")], help: "An inventory file, directory or host list; repeatable.")
  var inventory: [String] = []

  @OptionGroup var vault: VaultOptions

  func run() throws {
    try vault.install()
    var errors = 0
    if !inventory.isEmpty {
      do {
        let inv = try InventoryLoader.load(sources: inventory)
        for warning in inv.warnings { printError(warning.description) }
      } catch {
        printError(error.diagnostic.description)
        errors += 1
      }
    }
    for path in playbooks {
      let problems = PlaybookValidator.validate(contentsOf: path)
      for problem in problems { printError(problem.diagnostic.description) }
      errors += problems.count
    }
    if errors > 0 {
      printError("\(errors) error\(errors == 1 ? "" : "s") found")
      throw ExitCode(ExitStatus.badInput)
    }
    print("ok: \(playbooks.count) playbook\(playbooks.count == 1 ? "" : "s") valid")
  }
}
