import Foundation
import Inventory
import Testing

@testable import Provision

@Suite struct PlaybookLoaderTests {
  func fixture(_ name: String) throws -> String {
    try #require(Bundle.module.path(forResource: "Fixtures/engine/\(name)", ofType: nil))
  }

  @Test func everyArgumentMistakeIsFoundBeforeAnyHost() throws {
    let path = try fixture("errors.yml")
    let errors: [PlaybookError]
    do {
      _ = try PlaybookLoader.load(path)
      Issue.record("the playbook loaded")
      return
    } catch {
      errors = error.errors
    }
    #expect(errors.map(\.location.line) == [4, 6, 8, 10, 13, 15])
    #expect(errors[0].kind == .unknownModule("copyy"))
    #expect(errors[0].hint == "did you mean 'copy'?")
    #expect(errors[1].kind == .badArgument("unsupported parameter 'stat' for module 'file'"))
    #expect(errors[1].location.column == 29)
    #expect(errors[1].hint == "did you mean 'state'?")
    #expect(errors[2].kind == .badArgument("missing required argument 'dest' for module 'copy'"))
    #expect(errors[3].hint == nil || errors[3].message.contains("folder"))
    #expect(errors[3].message.contains("must be one of: file, directory, absent, touch, link, hard"))
    if case .badExpression = errors[4].kind {} else { Issue.record("expected a bad expression, got \(errors[4].kind)") }
    if case .badExpression = errors[5].kind {} else { Issue.record("expected a bad template, got \(errors[5].kind)") }
    #expect(errors.allSatisfy { $0.location.file == path && $0.sourceLine != nil })
  }

  static let freeForm: [(String, String, [String: String])] = [
    ("touch {{ base }}/marker creates={{ base }}/marker", "command", ["_raw_params": "touch {{ base }}/marker", "creates": "{{ base }}/marker"]),
    ("echo 'a b' \"c  d\" | wc -w chdir=/tmp", "shell", ["_raw_params": "echo 'a b' \"c  d\" | wc -w", "chdir": "/tmp"]),
    ("path=/srv/a state=directory mode=0755", "file", ["path": "/srv/a", "state": "directory", "mode": "0755"]),
    ("msg='hello world'", "debug", ["msg": "hello world"]),
    ("dest=\"/srv/with space\" content=x", "copy", ["dest": "/srv/with space", "content": "x"]),
  ]

  @Test func freeFormArguments() {
    for (text, action, expected) in Self.freeForm {
      let parsed = PlaybookLoader.freeFormArguments(text, action: action)
      #expect(parsed == OrderedDict(expected.map { ($0.key, Value.string($0.value)) }), "\(text)")
    }
  }

  @Test func tasksInheritFromBlocksAndPlays() throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("inherit-\(UUID())")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent("site.yml").path
    try """
      - hosts: all
        become: true
        tags: [play]
        vars: { a: 1 }
        tasks:
          - block:
              - name: inner
                command: /bin/true
                tags: task
                vars: { b: 2 }
            when: a == 1
            become_user: app
            vars: { a: 3 }
      """.write(toFile: path, atomically: true, encoding: .utf8)
    let playbook = try PlaybookLoader.load(path)
    guard case .block(let block)? = playbook.plays.first?.tasks.first, case .task(let task)? = block.body.first else {
      Issue.record("expected a block with a task")
      return
    }
    #expect(task.keywords.tags == ["play", "task"])
    #expect(task.keywords.become == .bool(true))
    #expect(task.keywords.becomeUser == .string("app"))
    #expect(task.keywords.when.map(\.source) == ["a == 1"])
    #expect(task.keywords.vars == ["a": 3, "b": 2])
  }
}
