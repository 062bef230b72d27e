import Foundation
import Inventory

/// Ensures one line is in a file, or that matching lines are not: `lineinfile`.
///
/// Keys: `path` (`dest`, `destfile`, `name`), `line` (`value`), `regexp` (`regex`) or
/// `search_string`, `state` (present, absent), `insertafter` (a regexp or `EOF`),
/// `insertbefore` (a regexp or `BOF`), `firstmatch`, `backrefs`, `create`, `backup`,
/// `validate`, `mode`, `owner`, `group`. A port of ansible-core 2.17's `present()` and
/// `absent()`: the file is read as bytes, split after each `\n`, each line keeps its own line
/// ending, and the patterns are Python bytes patterns (see `PythonRegex`). `check` reads the
/// file and its content in one command; `plan` edits the lines and uploads the result if it
/// differs.
///
/// ```yaml
/// - lineinfile: { path: /etc/ssh/sshd_config, regexp: '^#?PermitRootLogin', line: PermitRootLogin no }
/// ```
public struct LineInFileModule: Module {
  public static let name = "lineinfile"
  public static let arguments = ArgumentSpec(
    [
      .init("path", .path, required: true, aliases: ["dest", "destfile", "name"]),
      .init("state", choices: ["absent", "present"], default: "present"),
      .init("regexp", aliases: ["regex"]), .init("search_string"), .init("line", aliases: ["value"]),
      .init("insertafter"), .init("insertbefore"), .init("backrefs", .bool, default: false),
      .init("create", .bool, default: false), .init("backup", .bool, default: false),
      .init("firstmatch", .bool, default: false), .init("validate"), .init("mode", .mode), .init("owner"),
      .init("group"), .init("unsafe_writes", .bool), .init("others_ok", .raw), .init("_diff", .bool),
    ],
    mutuallyExclusive: [["insertbefore", "insertafter"], ["regexp", "search_string"], ["backrefs", "search_string"]])

  let file: FileEdit
  let present: Bool
  let regexp: String?
  let searchString: String?
  let line: String?
  let insertAfter: String?
  let insertBefore: String?
  let backrefs: Bool
  let create: Bool
  let firstMatch: Bool

  public init(_ arguments: ModuleArguments) throws {
    file = try FileEdit(arguments)
    present = (arguments.string("state") ?? "present") == "present"
    regexp = arguments.string("regexp")
    searchString = arguments.string("search_string")
    line = arguments.string("line")
    backrefs = arguments.bool("backrefs")
    create = arguments.bool("create")
    firstMatch = arguments.bool("firstmatch")
    var after = arguments.string("insertafter")
    let before = arguments.string("insertbefore")
    if present {
      if backrefs && regexp == nil { throw ModuleError("regexp is required with backrefs=true") }
      if line == nil { throw ModuleError("line is required with state=present") }
      if before == nil && after == nil { after = "EOF" }
    } else if regexp == nil && searchString == nil && line == nil {
      throw ModuleError("one of line, search_string, or regexp is required with state=absent")
    }
    insertAfter = after
    insertBefore = before
    // Bad patterns fail before any host is read.
    for pattern in [regexp, insertAfter, insertBefore].compactMap({ $0 }) {
      do { _ = try PythonRegex(pattern, bytes: true) } catch { throw ModuleError("\(error)") }
    }
  }

  public func check(on host: HostProbe) async throws -> FileState? {
    try await FileState.read(file.path, on: host, content: true, follow: true)
  }

  public func plan(from current: FileState?) throws -> Plan {
    if current?.type == .directory { return file.directoryFailure() }
    do {
      return present ? try planPresent(current) : try planAbsent(current)
    } catch let error as PythonRegex.Failure {
      return .failed(error.message)
    }
  }

  /// ansible-core 2.17 `lineinfile.present()`.
  func planPresent(_ now: FileState?) throws -> Plan {
    let dest = file.path
    var lines: [[UInt8]]
    if let now {
      lines = ByteLines.readlines([UInt8](now.content ?? Data()))
    } else {
      if !create { return .failed("Destination \(dest) does not exist !", result: ["rc": 257]) }
      lines = []
    }
    let bre = try regexp.map { try PythonRegex($0, bytes: true) }
    let breIns: PythonRegex?
    if let after = insertAfter, after != "BOF", after != "EOF" {
      breIns = try PythonRegex(after, bytes: true)
    } else if let before = insertBefore, before != "BOF" {
      breIns = try PythonRegex(before, bytes: true)
    } else {
      breIns = nil
    }
    let insertsAfter = !(insertAfter ?? "").isEmpty
    let insertsBefore = !(insertBefore ?? "").isEmpty

    // index0: the line that regexp, search_string or the exact line matched;
    // index1: where insertafter/insertbefore puts the line.
    var index0 = -1
    var index1 = -1
    var match: (PythonRegex.Match, [UInt8])?
    var matched = false
    let bLine = Array((line ?? "").utf8)

    // 1. A line that regexp matches; with it, insertafter and insertbefore are ignored.
    if let bre {
      for (n, current) in lines.enumerated() {
        if let m = bre.search(bytes: current) {
          index0 = n
          match = (m, current)
          matched = true
          if firstMatch { break }
        }
      }
    }
    // 2. A line that holds search_string.
    if let searchString {
      let needle = Array(searchString.utf8)
      for (n, current) in lines.enumerated() where ByteLines.contains(current, needle) {
        index0 = n
        matched = true
        if firstMatch { break }
      }
    }
    // 3. Without a match: the line itself, or where insertafter/insertbefore matches.
    if !matched {
      for (n, current) in lines.enumerated() {
        if ByteLines.stripEnd(current).elementsEqual(bLine) {
          index0 = n
        } else if let breIns, breIns.search(bytes: current) != nil {
          if insertsAfter {
            index1 = n + 1
            if firstMatch { break }
          }
          if insertsBefore {
            index1 = n
            if firstMatch { break }
          }
        }
      }
    }

    let newline: UInt8 = 0x0A
    var message = ""
    var changed = false
    func add(_ at: Int? = nil) {
      if let at { lines.insert(bLine + [newline], at: at) } else { lines.append(bLine + [newline]) }
      message = "line added"
      changed = true
    }
    if index0 != -1 {
      // (Ansible's branch for "no regexp, no search_string, no exact line" cannot be reached here.)
      var newLine = bLine
      if backrefs, let (m, subject) = match {
        newLine = PythonRegex.bytes(
          units: try bre!.expand(PythonRegex.units(bytes: bLine), m, in: PythonRegex.units(bytes: subject)))
      }
      if newLine.last != newline { newLine.append(newline) }
      if lines[index0] != newLine {
        lines[index0] = newLine
        message = "line replaced"
        changed = true
      }
    } else if backrefs {
      // Without a match there is nothing to fill the back references with: do nothing.
    } else if insertBefore == "BOF" || insertAfter == "BOF" {
      add(0)
    } else if insertAfter == "EOF" || index1 == -1 {
      if let last = lines.last, last.last != 0x0A && last.last != 0x0D { lines.append([newline]) }
      add()
    } else if insertsAfter && index1 != -1 {
      // Not when the line is already there.
      if lines.count == index1 {
        if !ByteLines.stripEnd(lines[index1 - 1]).elementsEqual(bLine) { add() }
      } else if !ByteLines.stripEnd(lines[index1]).elementsEqual(bLine) {
        add(index1)
      }
    } else {
      // insertbefore matched.
      add(index1)
    }

    var result: OrderedDict = ["msg": "", "backup": ""]
    if changed && file.backup && now != nil { result.removeValue(forKey: "backup") }
    return file.plan(
      current: now, content: changed ? Array(lines.joined()) : nil, message: message, result: result,
      contentHeader: "\(dest) (content)")
  }

  /// ansible-core 2.17 `lineinfile.absent()`.
  func planAbsent(_ now: FileState?) throws -> Plan {
    guard let now else { return Plan(result: ["msg": "file not present"]) }
    let lines = ByteLines.readlines([UInt8](now.content ?? Data()))
    let bre = try regexp.map { try PythonRegex($0, bytes: true) }
    let needle = searchString.map { Array($0.utf8) }
    let bLine = Array((line ?? "None").utf8)
    var found = 0
    let kept = lines.filter { current in
      let matches: Bool
      if let bre {
        matches = bre.search(bytes: current) != nil
      } else if let needle {
        matches = ByteLines.contains(current, needle)
      } else {
        matches = ByteLines.stripEnd(current).elementsEqual(bLine)
      }
      if matches { found += 1 }
      return !matches
    }
    let changed = found > 0
    var result: OrderedDict = ["msg": "", "found": .int(found), "backup": ""]
    if changed && file.backup { result.removeValue(forKey: "backup") }
    return file.plan(
      current: now, content: changed ? Array(kept.joined()) : nil, message: changed ? "\(found) line(s) removed" : "",
      result: result, contentHeader: "\(file.path) (content)")
  }
}
