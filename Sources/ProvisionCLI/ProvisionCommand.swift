import ArgumentParser
import Provision

/// The `provision` command: subcommands for each job.
@main
struct ProvisionCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "provision",
    abstract: "Provision hosts from Ansible playbooks and inventories, over SSH, without Python on the hosts.",
    discussion: """
      Exit codes, as ansible-playbook's: 0 success; 1 error; 2 a host failed; 4 a host was unreachable, or the input has errors; 5 bad options.
      """,
    version: ProvisionVersion.string,
    subcommands: [
      InventoryCommand.self, ValidateCommand.self, EvalCommand.self, TemplateCommand.self,
      ExecCommand.self, RunCommand.self, AdhocCommand.self, ModulesCommand.self, PlanCommand.self,
      ShowCommand.self, ApplyCommand.self, DriftCommand.self, VaultCommand.self,
    ])
}
