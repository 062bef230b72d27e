import Foundation
import Inventory

/// Ensures a block of lines between two marker lines is in a file, or is not: `blockinfile`.
///
/// Keys: `path` (`dest`, `destfile`, `name`), `block` (`content`; empty removes the block),
/// `marker` (`# {mark} ANSIBLE MANAGED BLOCK`), `marker_begin` (`BEGIN`), `marker_end` (`END`),
/// `state` (present, absent), `insertafter` (a regexp or `EOF`), `insertbefore` (a regexp or
/// `BOF`), `create`, `backup`, `validate`, `append_newline`, `prepend_newline`, `mode`,
/// `owner`, `group`. A port of ansible-core 2.17's `blockinfile`: the markers are whole lines,
/// an existing block is replaced where it stands, a new one goes after the last line that
/// `insertafter` matches (before it for `insertbefore`; a `(?m)` pattern is searched in the
/// whole file). As in Ansible, a missing file fails unless `create` is set, even for
/// `state: absent`.
///
/// ```yaml
/// - blockinfile:
///     path: /etc/hosts
///     block: |
///       10.0.0.10 rancher-1
///       10.0.0.11 rancher-2
/// ```
public struct BlockInFileModule: Module {
  public static let name = "blockinfile"
  public static let arguments = ArgumentSpec(
    [
      .init("path", .path, required: true, aliases: ["dest", "destfile", "name"]),
      .init("state", choices: ["absent", "present"], default: "present"),
      .init("marker", default: "# {mark} ANSIBLE MANAGED BLOCK"), .init("block", aliases: ["content"], default: ""),
      .init("insertafter"), .init("insertbefore"), .init("create", .bool, default: false),
      .init("backup", .bool, default: false), .init("validate"), .init("marker_begin", default: "BEGIN"),
      .init("marker_end", default: "END"), .init("append_newline", .bool, default: false),
      .init("prepend_newline", .bool, default: false), .init("mode", .mode), .init("owner"), .init("group"),
      .init("unsafe_writes", .bool), .init("_diff", .bool),
    ],
    mutuallyExclusive: [["insertbefore", "insertafter"]])

  let file: FileEdit
  let present: Bool
  let block: String
  let marker: String
  let markerBegin: String
  let markerEnd: String
  let insertAfter: String?
  let insertBefore: String?
  let create: Bool
  let appendNewline: Bool
  let prependNewline: Bool

  public init(_ arguments: ModuleArguments) throws {
    file = try FileEdit(arguments)
    present = (arguments.string("state") ?? "present") == "present"
    block = arguments.string("block") ?? ""
    marker = arguments.string("marker") ?? "# {mark} ANSIBLE MANAGED BLOCK"
    markerBegin = arguments.string("marker_begin") ?? "BEGIN"
    markerEnd = arguments.string("marker_end") ?? "END"
    let before = arguments.string("insertbefore")
    let after = arguments.string("insertafter")
    insertBefore = before
    insertAfter = before == nil && after == nil ? "EOF" : after
    create = arguments.bool("create")
    appendNewline = arguments.bool("append_newline")
    prependNewline = arguments.bool("prepend_newline")
    if let pattern = insertPattern {
      do { _ = try PythonRegex(pattern, bytes: true) } catch { throw ModuleError("\(error)") }
    }
  }

  /// The pattern that places a new block: `insertafter` unless `EOF`, or `insertbefore` unless `BOF`.
  var insertPattern: String? {
    if let after = insertAfter, after != "EOF" { return after }
    if let before = insertBefore, before != "BOF" { return before }
    return nil
  }

  public func check(on host: HostProbe) async throws -> FileState? {
    try await FileState.read(file.path, on: host, content: true, follow: true)
  }

  public func plan(from now: FileState?) throws -> Plan {
    do {
      return try planBlock(now)
    } catch let error as PythonRegex.Failure {
      return .failed(error.message)
    }
  }

  func planBlock(_ now: FileState?) throws -> Plan {
    let path = file.path
    if now?.type == .directory { return file.directoryFailure() }
    if now == nil && !create { return .failed("Path \(path) does not exist !", result: ["rc": 257]) }
    let original: [UInt8]? = now.map { [UInt8]($0.content ?? Data()) }
    var lines = original.map(ByteLines.splitlines) ?? []
    if !present && now == nil { return Plan(result: ["msg": .string("File \(path) not present")]) }

    let newline: [UInt8] = [0x0A]
    let insertRE = try insertPattern.map { try PythonRegex($0, bytes: true) }
    let mark = try PythonRegex("{mark}", bytes: true)
    func markerLine(_ text: String) throws -> [UInt8] {
      let units = try mark.subn(PythonRegex.units(bytes: Array(text.utf8)), in: PythonRegex.units(bytes: Array(marker.utf8)))
      return PythonRegex.bytes(units: units.result) + newline
    }
    let marker0 = try markerLine(markerBegin)
    let marker1 = try markerLine(markerEnd)
    var blockLines: [[UInt8]] = []
    if present && !block.isEmpty {
      var bytes = Array(block.utf8)
      if bytes.last != 0x0A { bytes += newline }
      blockLines = [marker0] + ByteLines.splitlines(bytes) + [marker1]
    }

    // The last line that is each marker.
    var n0: Int?
    var n1: Int?
    for (i, line) in lines.enumerated() {
      if line == marker0 { n0 = i }
      if line == marker1 { n1 = i }
    }
    var at: Int
    if let begin = n0, let end = n1 {
      if begin < end {
        lines.removeSubrange(begin...end)
        at = begin
      } else {
        lines.removeSubrange(end...begin)
        at = end
      }
    } else if let insertRE {
      var found: Int?
      if insertRE.isMultiline {
        // Searched in the whole file; the line is the number of newlines before the match.
        if let original, let m = insertRE.search(bytes: original) {
          if !(insertAfter ?? "").isEmpty {
            found = Self.newlines(in: original, beforeCharacter: m.range.upperBound)
          } else if !(insertBefore ?? "").isEmpty {
            found = Self.newlines(in: original, beforeCharacter: m.range.lowerBound)
          }
        }
      } else {
        for (i, line) in lines.enumerated() where insertRE.search(bytes: line) != nil { found = i }
      }
      if let f = found {
        at = insertAfter != nil ? f + 1 : f
      } else {
        at = lines.count
      }
    } else if insertBefore != nil {
      at = 0  // insertbefore=BOF
    } else {
      at = lines.count  // insertafter=EOF
    }
    // Ansible fails with an IndexError past the end; put the block at the end instead.
    at = min(at, lines.count)

    // A line separator before the block.
    if at > 0, lines[at - 1].last != 0x0A { lines[at - 1] += newline }
    if prependNewline && present, at != 0, lines[at - 1] != newline {
      lines.insert(newline, at: at)
      at += 1
    }
    lines.insert(contentsOf: blockLines, at: at)
    if appendNewline && present {
      let after = at + blockLines.count
      if after < lines.count, lines[after] != newline { lines.insert(newline, at: after) }
    }
    let result = Array(lines.joined())

    let message: String
    var changed = true
    if let original, original == result {
      message = ""
      changed = false
    } else if original == nil {
      message = "File created"
    } else if blockLines.isEmpty {
      message = "Block removed"
    } else {
      message = "Block inserted"
    }
    return file.plan(
      current: now, content: changed ? result : nil, message: message, result: ["msg": ""],
      contentHeader: "\(path) (content)")
  }

  /// `to_native(original).count('\n', 0, end)`: Ansible counts in characters of the decoded
  /// text up to a byte offset, so the two differ on non-ASCII text; this does the same.
  static func newlines(in bytes: [UInt8], beforeCharacter end: Int) -> Int {
    var characters = 0
    var count = 0
    for b in bytes {
      if b & 0xC0 == 0x80 { continue }  // a UTF-8 continuation byte is part of the last character
      if characters >= end { break }
      characters += 1
      if b == 0x0A { count += 1 }
    }
    return count
  }
}
