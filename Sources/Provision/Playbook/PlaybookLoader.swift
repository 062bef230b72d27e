import Foundation
import Inventory

/// Every problem found while loading a playbook, reported together before any host is touched.
public struct PlaybookErrors: Error, Sendable {
  public var errors: [PlaybookError]
}

/// Reads playbooks, task files and roles into `Playbook`, resolving static imports and checking
/// every module's arguments.
public struct PlaybookLoader {
  /// Directories searched for roles after `roles/` beside the playbook.
  public var rolesPath: [String]
  private var errors: [PlaybookError] = []
  private var sources: [String: [UInt8]] = [:]
  private var importDepth = 0

  public init(rolesPath: [String] = []) {
    self.rolesPath = rolesPath
  }

  /// Loads the playbook at `path`.
  ///
  /// - Throws: `PlaybookErrors` with every problem found, each with file, line and column.
  public static func load(_ path: String, rolesPath: [String] = []) throws(PlaybookErrors) -> Playbook {
    var loader = PlaybookLoader(rolesPath: rolesPath)
    let plays = loader.loadPlays(path)
    if !loader.errors.isEmpty { throw PlaybookErrors(errors: loader.errors) }
    return Playbook(path: path, plays: plays)
  }

  /// Loads a task file for `include_tasks` at run time.
  static func loadTasks(
    _ path: String, inherited: TaskKeywords, role: Role?
  ) throws(PlaybookErrors) -> [TaskNode] {
    var loader = PlaybookLoader()
    guard let root = loader.document(path) else { throw PlaybookErrors(errors: loader.errors) }
    let tasks = loader.tasks(root, key: "tasks", inherited: inherited, role: role, isHandler: false)
    if !loader.errors.isEmpty { throw PlaybookErrors(errors: loader.errors) }
    return tasks
  }

  // MARK: - Files

  private mutating func document(_ path: String) -> YAMLNode? {
    guard let data = FileManager.default.contents(atPath: path) else {
      errors.append(
        PlaybookError(
          kind: .missingFile(path), location: SourceLocation(file: path, line: 1, column: 1),
          hint: "check the path; relative paths start at the playbook's directory"))
      return nil
    }
    let bytes = [UInt8](data)
    sources[path] = bytes
    do {
      return try YAMLLoader.loadSingle(bytes, file: path) ?? YAMLNode(.sequence([]), at: SourceLocation(file: path, line: 1, column: 1))
    } catch {
      errors.append(PlaybookError(kind: .yaml(error), location: error.location))
      return nil
    }
  }

  private mutating func problem(_ kind: PlaybookError.Kind, at location: SourceLocation, hint: String? = nil) {
    let line = sources[location.file].flatMap { sourceLine(location.line, in: $0) }
    errors.append(PlaybookError(kind: kind, location: location, sourceLine: line, hint: hint))
  }

  // MARK: - Plays

  private mutating func loadPlays(_ path: String) -> [Play] {
    guard let root = document(path) else { return [] }
    for problem in PlaybookValidator.validate(root: root, bytes: sources[path] ?? []) {
      errors.append(problem)
    }
    guard let items = root.items else { return [] }
    let directory = (path as NSString).deletingLastPathComponent
    var plays: [Play] = []
    for node in items where node.pairs != nil {
      if let imported = node["import_playbook"] {
        guard let file = imported.scalarText else { continue }
        importDepth += 1
        defer { importDepth -= 1 }
        guard importDepth < 32 else {
          problem(.badArgument("import_playbook nests too deeply (a playbook imports itself?)"), at: imported.location)
          continue
        }
        plays += loadPlays(resolve(file, from: directory))
        continue
      }
      if let play = play(node, directory: directory) { plays.append(play) }
    }
    return plays
  }

  private mutating func play(_ node: YAMLNode, directory: String) -> Play? {
    var play = Play(location: node.location, directory: directory)
    play.keywords = keywords(node)
    if let hosts = node["hosts"] {
      switch hosts.value {
      case .list(let items): play.hosts = items.compactMap(ModuleArguments.text).joined(separator: ",")
      case let v: play.hosts = ModuleArguments.text(v) ?? ""
      }
    }
    play.name = node["name"].flatMap { ModuleArguments.text($0.value) } ?? play.hosts
    if let f = node["vars_files"] {
      switch f.value {
      case .list(let l): play.varsFiles = l
      case let v: play.varsFiles = [v]
      }
    }
    if let p = node["vars_prompt"]?.value.listValue { play.varsPrompt = p.compactMap(\.dictValue) }
    play.gatherFacts = node["gather_facts"]?.value
    play.serial = node["serial"]?.value
    play.maxFailPercentage = node["max_fail_percentage"]?.value
    play.ignoreUnreachable = node["ignore_unreachable"]?.value
    play.strategy = node["strategy"]?.scalarText ?? "linear"
    play.order = node["order"]?.scalarText ?? "inventory"
    play.forceHandlers = node["force_handlers"]?.value
    if let strategy = node["strategy"], !["linear", "free", "host_pinned"].contains(play.strategy) {
      problem(.badArgument("unknown strategy '\(play.strategy)'"), at: strategy.location, hint: "use 'linear' or 'free'")
    }
    let inherited = play.keywords
    play.preTasks = tasks(node["pre_tasks"], key: "pre_tasks", inherited: inherited, role: nil, isHandler: false)
    if let roles = node["roles"]?.items {
      for entry in roles {
        guard let role = role(entry, directory: directory, inherited: inherited) else { continue }
        play.roles.append(role)
      }
    }
    play.tasks = tasks(node["tasks"], key: "tasks", inherited: inherited, role: nil, isHandler: false)
    play.postTasks = tasks(node["post_tasks"], key: "post_tasks", inherited: inherited, role: nil, isHandler: false)
    play.handlers = tasks(node["handlers"], key: "handlers", inherited: inherited, role: nil, isHandler: true)
    return play
  }

  private func resolve(_ file: String, from directory: String) -> String {
    file.hasPrefix("/") ? file : (directory as NSString).appendingPathComponent(file)
  }

  // MARK: - Keywords

  private mutating func keywords(_ node: YAMLNode) -> TaskKeywords {
    var k = TaskKeywords()
    k.become = node["become"]?.value
    k.becomeUser = node["become_user"]?.value
    k.becomeMethod = node["become_method"]?.value
    k.remoteUser = node["remote_user"]?.value
    if let env = node["environment"]?.value, env != .null { k.environment = [env] }
    if let tags = node["tags"] {
      switch tags.value {
      case .list(let items): k.tags = items.compactMap(ModuleArguments.text)
      case .string(let s): k.tags = s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
      case let v: k.tags = ModuleArguments.text(v).map { [$0] } ?? []
      }
    }
    if let when = node["when"] { k.when = conditions(when) }
    k.checkMode = node["check_mode"]?.value
    k.diff = node["diff"]?.value
    k.ignoreErrors = node["ignore_errors"]?.value
    k.ignoreUnreachable = node["ignore_unreachable"]?.value
    k.noLog = node["no_log"]?.value
    k.anyErrorsFatal = node["any_errors_fatal"]?.value
    if let vars = node["vars"] {
      switch vars.value {
      case .dict(let d): k.vars = d
      case .null: break
      default: problem(.wrongType(key: "vars", expected: "a mapping", found: vars.kindDescription), at: vars.location)
      }
    }
    k.delegateTo = node["delegate_to"]?.value
    k.runOnce = node["run_once"]?.value
    k.timeout = node["timeout"]?.value
    if let d = node["module_defaults"]?.value.dictValue {
      for (key, value) in d { k.moduleDefaults[ModuleRegistry.shortName(key)] = value }
    }
    return k
  }

  private mutating func conditions(_ node: YAMLNode) -> [Condition] {
    let nodes = node.items ?? [node]
    var out: [Condition] = []
    for n in nodes where n.value != .null {
      do {
        out.append(try Condition(n.value, location: n.location))
      } catch {
        problem(error.kind, at: n.location, hint: "conditions are Jinja2 expressions without '{{ }}', such as: x is defined and x > 1")
      }
    }
    return out
  }

  // MARK: - Tasks

  mutating func tasks(
    _ node: YAMLNode?, key: String, inherited: TaskKeywords, role: Role?, isHandler: Bool
  ) -> [TaskNode] {
    guard let node, node.value != .null, let items = node.items else { return [] }
    var out: [TaskNode] = []
    for item in items {
      guard item.pairs != nil else { continue }
      if item["block"] != nil {
        var own = keywords(item)
        let blockWhen = own.when
        own.when = []
        let merged = own.inheriting(from: inherited)
        var block = Block(
          name: item["name"].flatMap { ModuleArguments.text($0.value) }, body: [], rescue: [], always: [],
          location: item.location, keywords: merged)
        block.keywords.when = blockWhen
        // The block's `when` is inherited by its tasks, as in Ansible.
        var inner = merged
        inner.when = merged.when + blockWhen
        block.body = tasks(item["block"], key: "block", inherited: inner, role: role, isHandler: isHandler)
        block.rescue = tasks(item["rescue"], key: "rescue", inherited: inner, role: role, isHandler: isHandler)
        block.always = tasks(item["always"], key: "always", inherited: inner, role: role, isHandler: isHandler)
        block.keywords.when = []
        out.append(.block(block))
        continue
      }
      guard let task = task(item, inherited: inherited, role: role, isHandler: isHandler) else { continue }
      switch task.action {
      case "import_tasks":
        let file = task.args["_raw_params"].flatMap(ModuleArguments.text) ?? task.args["file"].flatMap(ModuleArguments.text) ?? ""
        if Template.isPossiblyTemplate(file) {
          problem(.badArgument("import_tasks needs a static file name"), at: task.argsLocation, hint: "use include_tasks for a file name with variables")
          continue
        }
        let base = role.map { ($0.path as NSString).appendingPathComponent("tasks") } ?? (task.location.file as NSString).deletingLastPathComponent
        importDepth += 1
        defer { importDepth -= 1 }
        guard importDepth < 32 else {
          problem(.badArgument("import_tasks nests too deeply (a file imports itself?)"), at: task.argsLocation)
          continue
        }
        var keywords = task.keywords
        for (k, v) in task.args where k != "_raw_params" && k != "file" { keywords.vars[k] = v }
        guard let root = document(resolve(file, from: base)) else { continue }
        out += tasks(root, key: "tasks", inherited: keywords, role: role, isHandler: isHandler)
      case "import_role":
        let name = task.args["name"].flatMap(ModuleArguments.text) ?? ""
        let directory = (task.location.file as NSString).deletingLastPathComponent
        guard let r = loadRole(name: name, params: [:], location: task.argsLocation, directory: directory) else { continue }
        out += r.tasks.map { node in Self.inherit(node, task.keywords) }
      default:
        out.append(.task(task))
      }
    }
    return out
  }

  static func inherit(_ node: TaskNode, _ parent: TaskKeywords) -> TaskNode {
    switch node {
    case .task(var t):
      t.keywords = t.keywords.inheriting(from: parent)
      return .task(t)
    case .block(var b):
      b.keywords = b.keywords.inheriting(from: parent)
      b.body = b.body.map { inherit($0, parent) }
      b.rescue = b.rescue.map { inherit($0, parent) }
      b.always = b.always.map { inherit($0, parent) }
      return .block(b)
    }
  }

  private mutating func task(_ node: YAMLNode, inherited: TaskKeywords, role: Role?, isHandler: Bool) -> PlaybookTask? {
    guard let pairs = node.pairs else { return nil }
    var actionPair: YAMLPair?
    for pair in pairs where !PlaybookValidator.taskKeywords.contains(pair.keyText) || pair.keyText == "action" || pair.keyText == "local_action" {
      if actionPair == nil { actionPair = pair }
    }
    guard let actionPair else { return nil }  // reported by the validator
    var written = actionPair.keyText
    var argsValue = actionPair.value.value
    var delegate: Value?
    if written == "action" || written == "local_action" {
      if written == "local_action" { delegate = .string("localhost") }
      switch argsValue {
      case .string(let s):
        let trimmed = s.trimmingCharacters(in: .whitespaces)
        let name = trimmed.prefix { !$0.isWhitespace }
        written = String(name)
        argsValue = .string(String(trimmed.dropFirst(name.count)).trimmingCharacters(in: .whitespaces))
      case .dict(var d):
        written = d.removeValue(forKey: "module").flatMap(ModuleArguments.text) ?? ""
        argsValue = .dict(d)
      default:
        break
      }
    }
    let action = ModuleRegistry.shortName(written)
    var args = OrderedDict()
    switch argsValue {
    case .dict(let d): args = d
    case .string(let s): args = Self.freeFormArguments(s, action: action)
    case .null: break
    case let v:
      if ModuleRegistry.freeFormActions.contains(action), let text = ModuleArguments.text(v) {
        args["_raw_params"] = .string(text)
      } else {
        problem(.wrongType(key: written, expected: "a mapping of arguments", found: v.typeName), at: actionPair.value.location)
      }
    }
    if let extra = node["args"]?.value.dictValue {
      for (k, v) in extra where args[k] == nil { args[k] = v }
    }
    var own = keywords(node)
    if own.delegateTo == nil { own.delegateTo = delegate }
    var k = own.inheriting(from: inherited)
    // `when` of an include applies to the include itself, and of a task to the task.
    k.when = inherited.when + own.when
    var loop: Value?
    var lookup: String?
    if let l = node["loop"] { loop = l.value }
    for pair in pairs where pair.keyText.hasPrefix("with_") {
      loop = pair.value.value
      lookup = String(pair.keyText.dropFirst(5))
      if !ModuleRegistry.loopLookups.contains(lookup ?? "") {
        problem(.badArgument("'\(pair.keyText)' is not supported"), at: pair.key.location, hint: "use 'loop:' with a filter, or one of: " + ModuleRegistry.loopLookups.sorted().map { "with_" + $0 }.joined(separator: ", "))
      }
    }
    var notify: [String] = []
    if let n = node["notify"] {
      switch n.value {
      case .list(let l): notify = l.compactMap(ModuleArguments.text)
      case let v: notify = ModuleArguments.text(v).map { [$0] } ?? []
      }
    }
    var listen: [String] = []
    if let n = node["listen"] {
      switch n.value {
      case .list(let l): listen = l.compactMap(ModuleArguments.text)
      case let v: listen = ModuleArguments.text(v).map { [$0] } ?? []
      }
    }
    let task = PlaybookTask(
      name: node["name"].flatMap { ModuleArguments.text($0.value) }, action: action, actionAsWritten: written,
      args: args, keywords: k, location: node.location, argsLocation: actionPair.key.location,
      register: node["register"]?.scalarText, loop: loop, loopLookup: lookup,
      loopControl: node["loop_control"]?.value.dictValue ?? [:],
      changedWhen: node["changed_when"].map { conditions($0) },
      failedWhen: node["failed_when"].map { conditions($0) },
      until: node["until"].flatMap { conditions($0).first }, retries: node["retries"]?.value,
      delay: node["delay"]?.value, notify: notify, listen: listen, role: role, isHandler: isHandler)
    validateArguments(task, node: actionPair)
    return task
  }

  /// Checks the module exists and its arguments are ones it accepts, before any host is touched.
  private mutating func validateArguments(_ task: PlaybookTask, node: YAMLPair) {
    guard let spec = ModuleRegistry.spec(for: task.action) else {
      problem(
        .unknownModule(task.actionAsWritten), at: node.key.location,
        hint: PlaybookValidator.suggestion(for: task.action, among: ModuleRegistry.allNames)
          ?? "'provision modules' lists the modules and actions provision knows")
      return
    }
    var given = task.args
    if given["_raw_params"] != nil && spec.freeForm == nil && !ModuleRegistry.freeFormActions.contains(task.action) {
      problem(.badArgument("'\(task.action)' takes key=value arguments, not free-form text"), at: node.value.location)
      return
    }
    if let free = spec.freeForm, let raw = given.removeValue(forKey: "_raw_params") { given[free] = raw }
    for p in spec.problems(in: given, module: task.action, templated: true) {
      let location = p.argument.flatMap { name in node.value.pairs?.first { $0.keyText == name }?.key.location } ?? node.key.location
      problem(.badArgument(p.message), at: location, hint: p.hint)
    }
    // Template syntax errors in arguments are found now rather than on the first host.
    func checkTemplates(_ v: Value) {
      switch v {
      case .string(let s) where Template.isPossiblyTemplate(s):
        do { _ = try Template(s, name: task.location.description) } catch {
          problem(.badExpression("\(error)"), at: node.value.location)
        }
      case .list(let l): l.forEach(checkTemplates)
      case .dict(let d): d.values.forEach(checkTemplates)
      default: break
      }
    }
    checkTemplates(.dict(task.args))
  }

  /// `k=v` arguments; for command-like modules the rest of the text is the command.
  static func freeFormArguments(_ text: String, action: String) -> OrderedDict {
    var args = OrderedDict()
    let tokens = splitPreservingQuotes(text)
    let commandKeys: Set<String> = [
      "creates", "removes", "chdir", "executable", "warn", "stdin", "stdin_add_newline", "strip_empty_ends",
    ]
    let isFreeForm = ModuleRegistry.freeFormActions.contains(action)
    var rest: [String] = []
    var extracted: [String] = []
    for token in tokens {
      if let eq = token.firstIndex(of: "="), eq != token.startIndex {
        let key = String(token[..<eq])
        let isKey = key.allSatisfy { $0.isLetter || $0.isNumber || $0 == "_" }
        if isKey && (!isFreeForm || commandKeys.contains(key)) {
          args[key] = .string(unquote(String(token[token.index(after: eq)...])))
          extracted.append(token)
          continue
        }
      }
      rest.append(token)
    }
    guard !rest.isEmpty else { return args }
    if isFreeForm {
      // The command keeps its own text, newlines and spacing included (a `shell: |` script);
      // only the k=v options are taken out of it, as Ansible's split_args/join_args do.
      var text = text
      for token in extracted {
        if let range = text.range(of: token, options: .backwards) { text.removeSubrange(range) }
      }
      args["_raw_params"] = .string(text.trimmingCharacters(in: .whitespaces))
    } else {
      args["_raw_params"] = .string(rest.joined(separator: " "))
    }
    return args
  }

  static func unquote(_ s: String) -> String {
    if s.count >= 2, let f = s.first, f == s.last, f == "'" || f == "\"" { return String(s.dropFirst().dropLast()) }
    return s
  }

  /// Splits on unquoted whitespace, keeping quotes inside tokens as written.
  static func splitPreservingQuotes(_ text: String) -> [String] {
    var tokens: [String] = []
    var current = ""
    var quote: Character?
    var escaped = false
    var inToken = false
    var jinjaDepth = 0
    var previous: Character?
    for c in text {
      defer { previous = c }
      if quote == nil {
        // Jinja2 blocks stay whole: `{{ base }}/x` is one word, as Ansible's split_args keeps it.
        if previous == "{" && (c == "{" || c == "%" || c == "#") { jinjaDepth += 1 }
        if (previous == "}" || previous == "%" || previous == "#") && c == "}" && jinjaDepth > 0 { jinjaDepth -= 1 }
      }
      if jinjaDepth > 0 || (c == "}" && previous == "}") {
        current.append(c)
        inToken = true
        continue
      }
      if escaped {
        current.append(c)
        escaped = false
        continue
      }
      if c == "\\" && quote != "'" {
        current.append(c)
        escaped = true
        inToken = true
        continue
      }
      if let q = quote {
        current.append(c)
        if c == q { quote = nil }
        continue
      }
      if c == "'" || c == "\"" {
        quote = c
        current.append(c)
        inToken = true
      } else if c.isWhitespace {
        if inToken {
          tokens.append(current)
          current = ""
          inToken = false
        }
      } else {
        current.append(c)
        inToken = true
      }
    }
    if inToken { tokens.append(current) }
    return tokens
  }

  // MARK: - Roles

  private mutating func role(_ entry: YAMLNode, directory: String, inherited: TaskKeywords) -> Role? {
    var name: String?
    var params = OrderedDict()
    var k = TaskKeywords()
    switch entry.value {
    case .string(let s): name = s
    case .dict(let d):
      name = (d["role"] ?? d["name"]).flatMap(ModuleArguments.text)
      k = keywords(entry)
      let roleKeys: Set<String> = ["role", "name", "tags", "when", "become", "become_user", "vars", "become_method", "environment", "no_log", "ignore_errors"]
      for (key, value) in d where !roleKeys.contains(key) { params[key] = value }
      for (key, value) in k.vars { params[key] = value }
    default: break
    }
    guard let name else {
      problem(.badArgument("a role entry needs a name"), at: entry.location, hint: "write '- role: NAME' or '- NAME'")
      return nil
    }
    guard let role = loadRole(name: name, params: params, location: entry.location, directory: directory) else { return nil }
    var keywords = k.inheriting(from: inherited)
    for (key, value) in params { keywords.vars[key] = value }
    return Role(
      name: role.name, path: role.path, defaults: role.defaults, vars: role.vars, params: params,
      tasks: role.tasks.map { Self.inherit($0, keywords) }, handlers: role.handlers.map { Self.inherit($0, keywords) })
  }

  private var loadedRoles: [String: Role] = [:]
  private var loadingRoles: [String] = []

  mutating func loadRole(name: String, params: OrderedDict, location: SourceLocation, directory: String) -> Role? {
    let candidates = [(directory as NSString).appendingPathComponent("roles/" + name)]
      + rolesPath.map { ($0 as NSString).appendingPathComponent(name) }
      + [(directory as NSString).appendingPathComponent(name)]
      + (name.hasPrefix("/") ? [name] : [])
    var isDirectory: ObjCBool = false
    guard let path = candidates.first(where: { FileManager.default.fileExists(atPath: $0, isDirectory: &isDirectory) && isDirectory.boolValue }) else {
      problem(.missingRole(name), at: location, hint: "looked in: " + candidates.joined(separator: ", "))
      return nil
    }
    if let loaded = loadedRoles[path] { return loaded }
    guard !loadingRoles.contains(path) else {
      problem(.badArgument("role '\(name)' depends on itself"), at: location)
      return nil
    }
    loadingRoles.append(path)
    defer { loadingRoles.removeLast() }
    func mainFile(_ dir: String) -> String? {
      for file in ["main.yml", "main.yaml", "main"] {
        let p = (path as NSString).appendingPathComponent(dir + "/" + file)
        if FileManager.default.fileExists(atPath: p) { return p }
      }
      return nil
    }
    func mapping(_ dir: String) -> OrderedDict {
      guard let file = mainFile(dir), let root = document(file) else { return [:] }
      return root.value.dictValue ?? [:]
    }
    let defaults = mapping("defaults")
    let vars = mapping("vars")
    var dependencies: [Role] = []
    if let meta = mainFile("meta"), let root = document(meta), let deps = root["dependencies"]?.items {
      for dep in deps {
        if let r = role(dep, directory: path + "/..", inherited: TaskKeywords()) { dependencies.append(r) }
      }
    }
    let shell = Role(name: name, path: path, defaults: defaults, vars: vars, params: params, tasks: [], handlers: [])
    var taskNodes: [TaskNode] = dependencies.flatMap(\.tasks)
    if let file = mainFile("tasks"), let root = document(file) {
      taskNodes += tasks(root, key: "tasks", inherited: TaskKeywords(), role: shell, isHandler: false)
    }
    var handlerNodes: [TaskNode] = dependencies.flatMap(\.handlers)
    if let file = mainFile("handlers"), let root = document(file) {
      handlerNodes += tasks(root, key: "handlers", inherited: TaskKeywords(), role: shell, isHandler: true)
    }
    let role = Role(name: name, path: path, defaults: defaults, vars: vars, params: params, tasks: taskNodes, handlers: handlerNodes)
    loadedRoles[path] = role
    return role
  }
}
