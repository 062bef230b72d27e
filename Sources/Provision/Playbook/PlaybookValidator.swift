import Foundation
import Inventory

/// Checks a playbook's structure and reports every problem it can find, each with its location.
///
/// Plays must be mappings with `hosts` (or `import_playbook`), play and task keywords must be
/// ones Ansible knows, and each task must name exactly one module or action.
public enum PlaybookValidator {
  static let playKeywords: Set<String> = [
    "hosts", "name", "tasks", "pre_tasks", "post_tasks", "handlers", "roles", "vars", "vars_files",
    "vars_prompt", "gather_facts", "gather_subset", "gather_timeout", "fact_path", "become",
    "become_user", "become_method", "become_flags", "become_exe", "remote_user", "serial",
    "max_fail_percentage", "any_errors_fatal", "ignore_unreachable", "ignore_errors", "tags",
    "environment", "module_defaults", "strategy", "order", "force_handlers", "check_mode", "diff",
    "connection", "port", "no_log", "collections", "debugger", "run_once", "throttle", "timeout",
    "import_playbook", "when", "vars_prompt",
  ]

  static let taskKeywords: Set<String> = [
    "name", "when", "loop", "loop_control", "register", "changed_when", "failed_when",
    "ignore_errors", "ignore_unreachable", "notify", "listen", "tags", "become", "become_user",
    "become_method", "become_flags", "become_exe", "delegate_to", "delegate_facts", "run_once",
    "check_mode", "diff", "environment", "vars", "retries", "until", "delay", "no_log", "timeout",
    "args", "block", "rescue", "always", "any_errors_fatal", "remote_user", "connection", "port",
    "throttle", "module_defaults", "collections", "debugger", "async", "poll", "local_action",
    "action", "with_items", "with_list", "with_dict", "with_fileglob", "with_sequence",
    "with_nested", "with_together", "with_subelements", "with_first_found", "with_random_choice",
    "with_lines", "with_indexed_items", "with_flattened", "with_inventory_hostnames", "with_file",
    "with_template", "with_env", "with_password", "with_url",
  ]

  /// Every problem in the playbook file at `path`; empty when it is valid.
  public static func validate(contentsOf path: String) -> [PlaybookError] {
    let documents: [YAMLNode]
    do {
      documents = try YAMLLoader.load(contentsOf: path)
    } catch {
      return [PlaybookError(kind: .yaml(error), location: error.location)]
    }
    let bytes = [UInt8](FileManager.default.contents(atPath: path) ?? Data())
    guard let root = documents.first, root.value != .null else {
      return [
        PlaybookError(
          kind: .notAList(found: "an empty file"), location: SourceLocation(file: path, line: 1, column: 1),
          hint: "a playbook is a list of plays, each with 'hosts:' and 'tasks:'")
      ]
    }
    let structure = validate(root: root, bytes: bytes)
    if !structure.isEmpty { return structure }
    do {
      _ = try PlaybookLoader.load(path)
      return []
    } catch {
      return error.errors
    }
  }

  /// Every structural problem in a loaded playbook document.
  static func validate(root: YAMLNode, bytes: [UInt8]) -> [PlaybookError] {
    var problems: [PlaybookError] = []
    func problem(_ kind: PlaybookError.Kind, _ node: YAMLNode, hint: String? = nil) {
      problems.append(
        PlaybookError(
          kind: kind, location: node.location, sourceLine: sourceLine(node.location.line, in: bytes), hint: hint))
    }
    guard let plays = root.items else {
      problem(
        .notAList(found: root.kindDescription), root,
        hint: "start each play with '- hosts: ...'; a file of tasks alone is included from a play")
      return problems
    }
    for play in plays {
      guard let pairs = play.pairs else {
        problem(.playNotAMapping(found: play.kindDescription), play)
        continue
      }
      if play["hosts"] == nil && play["import_playbook"] == nil {
        problem(.missingKey("hosts", in: "the play"), play, hint: "add 'hosts: all' or a group name")
      }
      for pair in pairs {
        let key = pair.key.keyString
        if !playKeywords.contains(key) {
          problem(.unknownPlayKey(key), pair.key, hint: suggestion(for: key, among: playKeywords))
        }
        if ["tasks", "pre_tasks", "post_tasks", "handlers"].contains(key) {
          validateTasks(pair.value, key: key, problem: problem)
        }
      }
    }
    return problems
  }

  static func validateTasks(
    _ node: YAMLNode, key: String, problem: (PlaybookError.Kind, YAMLNode, String?) -> Void
  ) {
    if node.value == .null { return }
    guard let tasks = node.items else {
      problem(.wrongType(key: key, expected: "a list of tasks", found: node.kindDescription), node, nil)
      return
    }
    for task in tasks {
      guard let pairs = task.pairs else {
        problem(.wrongType(key: "task", expected: "a mapping", found: task.kindDescription), task, nil)
        continue
      }
      let actions = pairs.filter { !taskKeywords.contains($0.key.keyString) || ["action", "local_action"].contains($0.key.keyString) }
      for blockKey in ["block", "rescue", "always"] {
        if let inner = task[blockKey] { validateTasks(inner, key: blockKey, problem: problem) }
      }
      let isBlock = task["block"] != nil
      if isBlock { continue }
      if actions.isEmpty {
        problem(.noAction, task, "add a module, such as 'command: ...' or 'ansible.builtin.copy: ...'")
      } else if actions.count > 1 {
        let names = actions.map { $0.key.keyString }
        let misspelt = names.compactMap { suggestion(for: $0, among: taskKeywords) }.first
        problem(
          .conflictingActions(names), actions[1].key,
          misspelt ?? "a task runs one module; split it into two tasks")
      }
    }
  }

  /// "did you mean 'X'?" for the closest known word, when one is close enough.
  static func suggestion(for word: String, among words: Set<String>) -> String? {
    // Closest first; among equals, a word that only lacks letters ('taks' -> 'tasks') before
    // one with different letters ('tags'), then alphabetical so the hint is stable.
    let ranked = words.map { (word: $0, distance: editDistance(word, $0)) }
      .filter { $0.distance <= max(1, word.count / 3) }
      .sorted {
        ($0.distance, isSubsequence(word, of: $0.word) ? 0 : 1, $0.word)
          < ($1.distance, isSubsequence(word, of: $1.word) ? 0 : 1, $1.word)
      }
    return ranked.first.map { "did you mean '\($0.word)'?" }
  }

  static func isSubsequence(_ a: String, of b: String) -> Bool {
    var rest = Substring(b)
    for c in a {
      guard let i = rest.firstIndex(of: c) else { return false }
      rest = rest[rest.index(after: i)...]
    }
    return true
  }

  static func editDistance(_ a: String, _ b: String) -> Int {
    let a = Array(a)
    let b = Array(b)
    if a.isEmpty { return b.count }
    if b.isEmpty { return a.count }
    var previous = Array(0...b.count)
    for i in 1...a.count {
      var current = [i] + Array(repeating: 0, count: b.count)
      for j in 1...b.count {
        current[j] = min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] == b[j - 1] ? 0 : 1))
      }
      previous = current
    }
    return previous[b.count]
  }
}
