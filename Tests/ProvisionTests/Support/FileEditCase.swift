import Foundation
import Inventory
import Testing

@testable import Provision

/// One row of the `lineinfile`, `blockinfile` and `replace` tables: a file's content (nil:
/// missing) and the task's arguments, with what the module must make of them.
struct FileEditCase: CustomTestStringConvertible, Sendable {
  var name: String
  var content: String?
  var arguments: OrderedDict
  /// The new content; nil when the file must stay as it is.
  var expected: String?
  var message: String
  var failure: String?
  /// Whether planning again on the new content changes nothing (false where Ansible also edits again).
  var idempotent: Bool

  init(_ name: String, _ content: String?, _ arguments: OrderedDict, _ expected: String?, _ message: String, idempotent: Bool = true) {
    self.name = name
    self.content = content
    self.arguments = arguments
    self.expected = expected
    self.message = message
    self.idempotent = idempotent
  }

  init(_ name: String, _ content: String?, _ arguments: OrderedDict, fails failure: String) {
    self.init(name, content, arguments, nil, "")
    self.failure = failure
  }

  var testDescription: String { name }
}

enum FileEditTesting {
  static let path = "/f.txt"

  static func state(_ content: String?, mode: UInt16 = 0o644, owner: String = "root") -> FileState? {
    content.map {
      FileState(
        type: .regular, mode: mode, uid: 0, gid: 0, size: UInt64($0.utf8.count), owner: owner, group: owner,
        linkTarget: nil, sha256: Digest.hex("sha256", Array($0.utf8)), content: Data($0.utf8))
    }
  }

  static func module<M: Module>(_ type: M.Type, _ arguments: OrderedDict) throws -> M {
    var arguments = arguments
    if arguments["path"] == nil && arguments["dest"] == nil { arguments["path"] = .string(path) }
    return try M(ModuleArguments(arguments, spec: M.arguments, module: M.name))
  }

  static func plan<M: Module>(_ type: M.Type, _ arguments: OrderedDict, _ current: FileState?) throws -> Plan
  where M.Current == FileState? {
    try module(type, arguments).plan(from: current)
  }

  /// The content a plan writes, by upload or validated install.
  static func written(_ plan: Plan) -> String? {
    for step in plan.steps {
      switch step.action {
      case .upload(let data, _, _, _, _): return String(decoding: data, as: UTF8.self)
      case .shell(let script, let stdin) where script.contains("failed to validate"):
        return String(decoding: stdin, as: UTF8.self)
      default: continue
      }
    }
    return nil
  }

  /// Checks one table row: failure or message, new content, and that applying it converges.
  static func verify<M: Module>(_ type: M.Type, _ c: FileEditCase) throws where M.Current == FileState? {
    let plan = try plan(type, c.arguments, state(c.content))
    if let failure = c.failure {
      #expect(plan.failure == failure)
      #expect(plan.steps.isEmpty)
      return
    }
    #expect(plan.failure == nil)
    #expect(plan.result["msg"] == .string(c.message))
    #expect(written(plan) == c.expected)
    #expect(plan.steps.isEmpty == (c.expected == nil))
    if let after = c.expected {
      #expect(plan.diffs.first?.before == (c.content ?? ""))
      #expect(plan.diffs.first?.after == after)
      let again = try self.plan(type, c.arguments, state(after))
      #expect(again.steps.isEmpty == c.idempotent, "planning again on the new content")
    }
  }
}
