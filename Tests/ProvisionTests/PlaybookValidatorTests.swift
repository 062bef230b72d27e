import Foundation
import Testing

@testable import Provision

@Suite struct PlaybookValidatorTests {
  func fixture(_ name: String) throws -> String {
    try #require(Bundle.module.path(forResource: "Fixtures/playbooks/\(name)", ofType: nil))
  }

  @Test func validPlaybookHasNoProblems() throws {
    #expect(PlaybookValidator.validate(contentsOf: try fixture("valid.yml")).isEmpty)
  }

  @Test func everyMistakeIsReportedWithItsLocation() throws {
    let problems = PlaybookValidator.validate(contentsOf: try fixture("mistakes.yml"))
    #expect(problems.map(\.kind) == [
      .unknownPlayKey("taks"), .missingKey("hosts", in: "the play"),
      .conflictingActions(["copy", "shell"]), .conflictingActions(["apt", "whn"]), .noAction,
    ])
    #expect(problems.map(\.location.line) == [2, 4, 8, 11, 12])
    #expect(problems[0].hint == "did you mean 'tasks'?")
    #expect(problems[3].hint == "did you mean 'when'?")
  }

  @Test func yamlErrorsComeThrough() throws {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("tabs-\(UUID()).yml")
    try Data("- hosts: all\n  tasks:\n\t- ping:\n".utf8).write(to: url)
    defer { try? FileManager.default.removeItem(at: url) }
    let problems = PlaybookValidator.validate(contentsOf: url.path)
    #expect(problems.count == 1)
    #expect(problems.first?.location.line == 3)
    #expect(problems.first?.diagnostic.hint?.contains("tabs") == true)
  }

  @Test func aTaskFileIsNotAPlaybook() throws {
    let url = FileManager.default.temporaryDirectory.appendingPathComponent("tasks-\(UUID()).yml")
    try Data("ping:\n".utf8).write(to: url)
    defer { try? FileManager.default.removeItem(at: url) }
    #expect(PlaybookValidator.validate(contentsOf: url.path).map(\.kind) == [.notAList(found: "a mapping")])
  }
}
