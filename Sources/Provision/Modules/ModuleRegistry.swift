import Foundation
import Inventory

/// The modules and actions provision knows, by name.
public enum ModuleRegistry {
  /// Modules that run on hosts through check, plan and apply.
  static let modules: [String: any Module.Type] = {
    var table: [String: any Module.Type] = [:]
    let all: [any Module.Type] = [
      CommandModule.self, ShellModule.self, RawModule.self, FileModule.self, CopyModule.self,
      TemplateModule.self, StatModule.self, PingModule.self, LineInFileModule.self, BlockInFileModule.self,
      ReplaceModule.self, ScriptModule.self, SlurpModule.self, FetchModule.self, GetURLModule.self,
      WaitForModule.self, URIModule.self, UserModule.self, GroupModule.self,
      ServiceModule.self, SystemdModule.self, SystemdServiceModule.self, SysvinitModule.self, IptablesModule.self,
      UfwModule.self, DockerContainerModule.self, DockerImageModule.self, SysctlModule.self, ModprobeModule.self,
      HostnameModule.self,
      AptModule.self, DpkgSelectionsModule.self, AptKeyModule.self, AptRepositoryModule.self,
    ]
    for m in all { table[m.name] = m }
    return table
  }()

  /// Actions the engine carries out itself, on the controller, with their arguments.
  static let actions: [String: ArgumentSpec] = [
    "debug": ArgumentSpec([.init("msg", .raw), .init("var", .raw), .init("verbosity", .int)], mutuallyExclusive: [["msg", "var"]]),
    "set_fact": ArgumentSpec([.init("cacheable", .bool)], acceptsAnyName: true),
    "assert": ArgumentSpec(
      [.init("that", .raw, required: true), .init("msg", .raw, aliases: ["fail_msg"]), .init("success_msg", .raw), .init("quiet", .bool)]),
    "fail": ArgumentSpec([.init("msg", .raw)]),
    "pause": ArgumentSpec([.init("seconds", .float), .init("minutes", .float), .init("prompt"), .init("echo", .bool)]),
    "meta": ArgumentSpec([.init("_raw_params")], freeForm: "_raw_params"),
    "include_tasks": ArgumentSpec([.init("file"), .init("_raw_params"), .init("apply", .dict)], acceptsAnyName: true),
    "import_tasks": ArgumentSpec([.init("file"), .init("_raw_params")], acceptsAnyName: true),
    "include_vars": ArgumentSpec([.init("file"), .init("_raw_params"), .init("name"), .init("dir")]),
    "include_role": ArgumentSpec([.init("name", required: true), .init("tasks_from"), .init("public", .bool), .init("apply", .dict)]),
    "import_role": ArgumentSpec([.init("name", required: true), .init("tasks_from")]),
    "setup": ArgumentSpec([.init("gather_subset", .list), .init("filter", .raw), .init("gather_timeout", .int)]),
    "gather_facts": ArgumentSpec([.init("parallel", .bool)]),
    "add_host": ArgumentSpec([.init("name", required: true, aliases: ["host", "hostname"]), .init("groups", .list, aliases: ["group", "groupname"])], acceptsAnyName: true),
    "group_by": ArgumentSpec([.init("key", required: true), .init("parents", .list)]),
  ]

  /// Actions whose bare string argument is text rather than `k=v` pairs.
  static let freeFormActions: Set<String> = [
    "command", "shell", "raw", "script", "meta", "include_tasks", "import_tasks", "include_vars",
  ]

  /// The `with_X` loops provision supports.
  static let loopLookups: Set<String> = [
    "items", "list", "dict", "fileglob", "sequence", "nested", "indexed_items", "together", "flattened",
    "subelements", "lines", "file", "first_found", "random_choice", "inventory_hostnames",
  ]

  /// `ansible.builtin.copy` and `ansible.legacy.copy` are `copy`.
  public static func shortName(_ name: String) -> String {
    for prefix in ["ansible.builtin.", "ansible.legacy.", "ansible.posix.", "community.docker.", "community.general."] where name.hasPrefix(prefix) {
      return String(name.dropFirst(prefix.count))
    }
    return name
  }

  /// The argument spec of a module or action, or nil when provision knows no such name.
  public static func spec(for action: String) -> ArgumentSpec? {
    modules[action]?.arguments ?? actions[action]
  }

  /// Every name a task may use.
  public static var allNames: Set<String> { Set(modules.keys).union(actions.keys) }
}

extension Module {
  /// Builds the module from `arguments`, reads the host and plans: the whole of check mode.
  static func planTask(_ arguments: ModuleArguments, on probe: HostProbe) async throws -> Plan {
    let module = try Self(arguments)
    let current = try await module.check(on: probe)
    return try module.plan(from: current)
  }
}
