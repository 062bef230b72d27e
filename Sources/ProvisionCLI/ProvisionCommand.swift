import ArgumentParser

/// The `provision` command: subcommands for each job.
@main
struct ProvisionCommand: AsyncParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "provision",
    abstract: "Provision hosts from Ansible playbooks and inventories, over SSH, without Python on the hosts.",
    discussion: """
      Exit codes: 0 success; 1 error; 2 a host failed; 3 a host was unreachable (exec);
      4 bad input (parse or validation errors), as with ansible-playbook; 5 bad options.
      """,
    version: "0.1.0",
    subcommands: [
      InventoryCommand.self, ValidateCommand.self, EvalCommand.self, TemplateCommand.self,
      ExecCommand.self,
    ])
}
