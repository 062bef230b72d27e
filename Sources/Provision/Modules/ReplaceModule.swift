import Foundation
import Inventory

/// Replaces every match of a pattern in a file: `replace`.
///
/// Keys: `path` (`dest`, `destfile`, `name`), `regexp`, `replace` (a Python template: `\1`,
/// `\g<name>`; default empty), `after` and `before` (patterns that bound the section edited),
/// `backup`, `validate`, `encoding` (utf-8), `mode`, `owner`, `group`. A port of ansible-core
/// 2.17's `replace`: Python's `re.subn` with MULTILINE on the decoded text (see
/// `PythonRegex`); the section is `after(?P<subsection>.*?)before` with DOTALL.
///
/// ```yaml
/// - replace: { path: /etc/default/grub, regexp: '^(GRUB_CMDLINE_LINUX=")(.*)"$', replace: '\1\2 cgroup_enable=memory"' }
/// ```
public struct ReplaceModule: Module {
  public static let name = "replace"
  public static let arguments = ArgumentSpec([
    .init("path", .path, required: true, aliases: ["dest", "destfile", "name"]),
    .init("regexp", required: true), .init("replace", default: ""), .init("after"), .init("before"),
    .init("backup", .bool, default: false), .init("validate"), .init("encoding", default: "utf-8"),
    .init("mode", .mode), .init("owner"), .init("group"), .init("unsafe_writes", .bool), .init("_diff", .bool),
  ])

  let file: FileEdit
  let regexp: String
  let replace: String
  let after: String?
  let before: String?
  let encoding: String.Encoding

  public init(_ arguments: ModuleArguments) throws {
    file = try FileEdit(arguments)
    guard let regexp = arguments.string("regexp") else { throw ModuleError("missing required argument 'regexp'") }
    self.regexp = regexp
    replace = arguments.string("replace") ?? ""
    after = arguments.string("after").flatMap { $0.isEmpty ? nil : $0 }
    before = arguments.string("before").flatMap { $0.isEmpty ? nil : $0 }
    let name = arguments.string("encoding") ?? "utf-8"
    guard let encoding = Self.encoding(name) else { throw ModuleError("unknown encoding: \(name)") }
    self.encoding = encoding
    do {
      _ = try PythonRegex(regexp, bytes: false, multiline: true)
      if let section = sectionPattern { _ = try PythonRegex(section, bytes: false, dotAll: true) }
    } catch {
      throw ModuleError("\(error)")
    }
  }

  static func encoding(_ name: String) -> String.Encoding? {
    switch name.lowercased().replacingOccurrences(of: "_", with: "-") {
    case "utf-8", "utf8", "u8": return .utf8
    case "latin-1", "latin1", "iso-8859-1", "iso8859-1", "l1", "8859", "cp819": return .isoLatin1
    case "ascii", "us-ascii": return .ascii
    case "utf-16": return .utf16
    case "utf-16-le", "utf-16le": return .utf16LittleEndian
    case "utf-16-be", "utf-16be": return .utf16BigEndian
    case "cp1252", "windows-1252": return .windowsCP1252
    default: return nil
    }
  }

  /// `after(?P<subsection>.*?)before`, `after(?P<subsection>.*)` or `(?P<subsection>.*)before`.
  var sectionPattern: String? {
    switch (after, before) {
    case let (a?, b?): return "\(a)(?P<subsection>.*?)\(b)"
    case let (a?, nil): return "\(a)(?P<subsection>.*)"
    case let (nil, b?): return "(?P<subsection>.*)\(b)"
    case (nil, nil): return nil
    }
  }

  public func check(on host: HostProbe) async throws -> FileState? {
    try await FileState.read(file.path, on: host, content: true, follow: true)
  }

  public func plan(from now: FileState?) throws -> Plan {
    let path = file.path
    if now?.type == .directory { return file.directoryFailure() }
    guard let now else { return .failed("Path \(path) does not exist !", result: ["rc": 257]) }
    let data = now.content ?? Data()
    guard let text = String(data: data, encoding: encoding) else {
      return .failed("Unable to read the contents of \(path): it is not valid \(encoding)", result: ["rc": 0])
    }
    let contents = Array(text.utf16)
    var section = contents[...]
    if let pattern = sectionPattern {
      let sectionRE: PythonRegex
      do { sectionRE = try PythonRegex(pattern, bytes: false, dotAll: true) } catch { return .failed("\(error)") }
      guard let m = sectionRE.search(contents), let subsection = m.groups[sectionRE.groupIndex["subsection"] ?? 0] else {
        return Plan(result: [
          "rc": 0, "msg": .string("Pattern for before/after params did not match the given file: \(pattern)"),
        ])
      }
      section = contents[subsection]
    }
    let replaced: (result: [UInt16], count: Int)
    do {
      let mre = try PythonRegex(regexp, bytes: false, multiline: true)
      replaced = try mre.subn(Array(replace.utf16), in: Array(section))
    } catch {
      return .failed("Unable to process replace due to error: \(error)", result: ["rc": 0])
    }
    var content: [UInt8]?
    var message = ""
    if replaced.count > 0 && !replaced.result.elementsEqual(section) {
      let whole = contents[..<section.startIndex] + replaced.result + contents[section.endIndex...]
      let text = String(decoding: whole, as: UTF16.self)
      guard let encoded = text.data(using: encoding) else {
        return .failed("cannot encode the result in \(encoding)", result: ["rc": 0])
      }
      content = [UInt8](encoded)
      message = "\(replaced.count) replacements made"
    }
    return file.plan(current: now, content: content, message: message, result: ["rc": 0, "msg": ""], contentHeader: path)
  }
}
