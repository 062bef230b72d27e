import Foundation
import Inventory
import Testing

@testable import Provision

@Suite struct BlockInFileModuleTests {
  /// Expected contents and messages were produced by ansible-core 2.17.14's own blockinfile
  /// (its `main()` run on a temporary file with a stub AnsibleModule).
  static let cases: [FileEditCase] = [
    .init("inserts at EOF by default", "a\nb\n", ["block": "x\ny"], "a\nb\n# BEGIN ANSIBLE MANAGED BLOCK\nx\ny\n# END ANSIBLE MANAGED BLOCK\n", "Block inserted"),
    .init("inserts after a file without final newline", "a\nb", ["block": "x\ny\n"], "a\nb\n# BEGIN ANSIBLE MANAGED BLOCK\nx\ny\n# END ANSIBLE MANAGED BLOCK\n", "Block inserted"),
    .init("same block is unchanged", "a\n# BEGIN ANSIBLE MANAGED BLOCK\nx\ny\n# END ANSIBLE MANAGED BLOCK\nb\n", ["block": "x\ny"], nil, ""),
    .init("replaces the block where it stands", "a\n# BEGIN ANSIBLE MANAGED BLOCK\nx\ny\n# END ANSIBLE MANAGED BLOCK\nb\n", ["block": "z"], "a\n# BEGIN ANSIBLE MANAGED BLOCK\nz\n# END ANSIBLE MANAGED BLOCK\nb\n", "Block inserted"),
    .init("markers in reverse order", "a\n# END ANSIBLE MANAGED BLOCK\nold\n# BEGIN ANSIBLE MANAGED BLOCK\nb\n", ["block": "z"], "a\n# BEGIN ANSIBLE MANAGED BLOCK\nz\n# END ANSIBLE MANAGED BLOCK\nb\n", "Block inserted"),
    .init("only one marker inserts a new block", "a\n# BEGIN ANSIBLE MANAGED BLOCK\nb\n", ["block": "z"], "a\n# BEGIN ANSIBLE MANAGED BLOCK\nb\n# BEGIN ANSIBLE MANAGED BLOCK\nz\n# END ANSIBLE MANAGED BLOCK\n", "Block inserted"),
    .init("absent removes the block", "a\n# BEGIN ANSIBLE MANAGED BLOCK\nx\ny\n# END ANSIBLE MANAGED BLOCK\nb\n", ["state": "absent"], "a\nb\n", "Block removed"),
    .init("absent without a block is unchanged", "a\nb\n", ["state": "absent"], nil, ""),
    .init("empty block removes the block", "a\n# BEGIN ANSIBLE MANAGED BLOCK\nx\ny\n# END ANSIBLE MANAGED BLOCK\nb\n", ["block": ""], "a\nb\n", "Block removed"),
    .init("insertbefore BOF", "a\nb\n", ["block": "x", "insertbefore": "BOF"], "# BEGIN ANSIBLE MANAGED BLOCK\nx\n# END ANSIBLE MANAGED BLOCK\na\nb\n", "Block inserted"),
    .init("insertafter regex takes the last match", "s\na\ns\nb\n", ["block": "x", "insertafter": "^s$"], "s\na\ns\n# BEGIN ANSIBLE MANAGED BLOCK\nx\n# END ANSIBLE MANAGED BLOCK\nb\n", "Block inserted"),
    .init("insertbefore regex", "a\n# tail\nb\n", ["block": "x", "insertbefore": "^# tail"], "a\n# BEGIN ANSIBLE MANAGED BLOCK\nx\n# END ANSIBLE MANAGED BLOCK\n# tail\nb\n", "Block inserted"),
    .init("insertafter with no match goes to EOF", "a\n", ["block": "x", "insertafter": "^nomatch"], "a\n# BEGIN ANSIBLE MANAGED BLOCK\nx\n# END ANSIBLE MANAGED BLOCK\n", "Block inserted"),
    .init("insertbefore with no match goes to EOF", "a\n", ["block": "x", "insertbefore": "^nomatch"], "a\n# BEGIN ANSIBLE MANAGED BLOCK\nx\n# END ANSIBLE MANAGED BLOCK\n", "Block inserted"),
    .init("multiline insertafter", "a\nb\nc\n", ["block": "x", "insertafter": "(?m)^b$"], "a\nb\n# BEGIN ANSIBLE MANAGED BLOCK\nx\n# END ANSIBLE MANAGED BLOCK\nc\n", "Block inserted"),
    .init("multiline insertbefore", "a\nb\nc\n", ["block": "x", "insertbefore": "(?m)^b$"], "a\n# BEGIN ANSIBLE MANAGED BLOCK\nx\n# END ANSIBLE MANAGED BLOCK\nb\nc\n", "Block inserted"),
    .init("custom marker", "a\n", ["block": "x", "marker": "<!-- {mark} -->", "marker_begin": "start", "marker_end": "stop"], "a\n<!-- start -->\nx\n<!-- stop -->\n", "Block inserted"),
    .init("prepend and append newline", "a\nb\n", ["block": "x", "insertafter": "^a$", "prepend_newline": true, "append_newline": true], "a\n\n# BEGIN ANSIBLE MANAGED BLOCK\nx\n# END ANSIBLE MANAGED BLOCK\n\nb\n", "Block inserted"),
    .init("prepend newline at BOF does nothing", "a\n", ["block": "x", "insertbefore": "BOF", "prepend_newline": true, "append_newline": true], "# BEGIN ANSIBLE MANAGED BLOCK\nx\n# END ANSIBLE MANAGED BLOCK\n\na\n", "Block inserted"),
    .init("missing file fails without create", nil, ["block": "x"], fails: "Path /f.txt does not exist !"),
    .init("missing file with create", nil, ["block": "x", "create": true], "# BEGIN ANSIBLE MANAGED BLOCK\nx\n# END ANSIBLE MANAGED BLOCK\n", "File created"),
    .init("absent on a missing file with create", nil, ["state": "absent", "create": true], nil, "File /f.txt not present"),
    .init("absent on a missing file fails without create", nil, ["state": "absent"], fails: "Path /f.txt does not exist !"),
    .init("CRLF block lines", "a\n", ["block": "x\r\ny"], "a\n# BEGIN ANSIBLE MANAGED BLOCK\nx\r\ny\n# END ANSIBLE MANAGED BLOCK\n", "Block inserted"),
    .init("removing a block after a line without newline", "a\n# BEGIN ANSIBLE MANAGED BLOCK\nx\ny\n# END ANSIBLE MANAGED BLOCK\n", ["state": "absent"], "a\n", "Block removed"),
  ]

  @Test(arguments: cases) func plansLikeAnsible(_ c: FileEditCase) throws {
    try FileEditTesting.verify(BlockInFileModule.self, c)
  }

  @Test func modeChangeWithoutContentChange() throws {
    let content = "# BEGIN ANSIBLE MANAGED BLOCK\nx\n# END ANSIBLE MANAGED BLOCK\n"
    let plan = try FileEditTesting.plan(
      BlockInFileModule.self, ["block": "x", "mode": "0640"], FileEditTesting.state(content))
    #expect(FileEditTesting.written(plan) == nil)
    #expect(plan.steps.map(\.summary) == ["mode of /f.txt"])
    #expect(plan.result["msg"] == "ownership, perms or SE linux context changed")
  }

  @Test func contentAlias() throws {
    let plan = try FileEditTesting.plan(BlockInFileModule.self, ["content": "x"], FileEditTesting.state(""))
    #expect(FileEditTesting.written(plan) == "# BEGIN ANSIBLE MANAGED BLOCK\nx\n# END ANSIBLE MANAGED BLOCK\n")
    #expect(plan.diffs.first?.beforeHeader == "/f.txt (content)")
  }
}
