import Foundation
import Inventory
import Testing

@testable import Provision

@Suite struct ReplaceModuleTests {
  /// Expected contents and messages were produced by ansible-core 2.17.14's own replace
  /// (its `main()` run on a temporary file with a stub AnsibleModule).
  static let cases: [FileEditCase] = [
    .init("replaces with group references", "GRUB_CMDLINE_LINUX=\"quiet\"\n", ["regexp": "^(GRUB_CMDLINE_LINUX=\")(.*)\"$", "replace": "\\1\\2 cgroup_enable=memory\""], "GRUB_CMDLINE_LINUX=\"quiet cgroup_enable=memory\"\n", "1 replacements made", idempotent: false),
    .init("every match, multiline anchors", "a=1\nb=2\na=3\n", ["regexp": "^a=(\\d)$", "replace": "A=\\1"], "A=1\nb=2\nA=3\n", "2 replacements made"),
    .init("no match is unchanged", "abc\n", ["regexp": "zzz", "replace": "y"], nil, ""),
    .init("replacement equal to the match is unchanged", "abc\n", ["regexp": "b", "replace": "b"], nil, ""),
    .init("default replace deletes", "a # comment\nb\n", ["regexp": " ?#.*$"], "a\nb\n", "1 replacements made"),
    .init("named groups", "host=web1\n", ["regexp": "(?P<key>\\w+)=(?P<value>\\w+)", "replace": "\\g<value>:\\g<key>"], "web1:host\n", "1 replacements made"),
    .init("after bounds the section", "x\n[s]\nx\n", ["regexp": "x", "replace": "y", "after": "\\[s\\]"], "x\n[s]\ny\n", "1 replacements made"),
    .init("before bounds the section", "x\n[s]\nx\n", ["regexp": "x", "replace": "y", "before": "\\[s\\]"], "y\n[s]\nx\n", "1 replacements made"),
    .init("after and before", "x\nBEGIN\nx\nx\nEND\nx\n", ["regexp": "^x$", "replace": "y", "after": "BEGIN", "before": "END"], "x\nBEGIN\ny\ny\nEND\nx\n", "2 replacements made"),
    .init("section anchors: caret at the section start", "ab\nab\n", ["regexp": "^b", "replace": "B", "after": "a"], "aB\nab\n", "1 replacements made"),
    .init("after that does not match", "abc\n", ["regexp": "b", "replace": "y", "after": "zzz"], nil, "Pattern for before/after params did not match the given file: zzz(?P<subsection>.*)"),
    .init("empty matches", "abxd", ["regexp": "x*", "replace": "-"], "-a-b--d-", "5 replacements made", idempotent: false),
    .init("caret after the final newline", "a\nb\n", ["regexp": "^", "replace": "# "], "# a\n# b\n# ", "3 replacements made", idempotent: false),
    .init("dollar in multiline", "a\nb", ["regexp": "$", "replace": ";"], "a;\nb;", "2 replacements made", idempotent: false),
    .init("unicode text", "café crème\n", ["regexp": "\\w+", "replace": "<\\g<0>>"], "<café> <crème>\n", "2 replacements made", idempotent: false),
    .init("escapes in the replacement", "a b\n", ["regexp": " ", "replace": "\\t\\n"], "a\t\nb\n", "1 replacements made"),
    .init("missing file fails", nil, ["regexp": "x"], fails: "Path /f.txt does not exist !"),
    .init("dotall is off for regexp", "a\nb\n", ["regexp": "a.b", "replace": "X"], nil, ""),
    .init("inline dotall", "a\nb\n", ["regexp": "(?s)a.b", "replace": "X"], "X\n", "1 replacements made"),
  ]

  @Test(arguments: cases) func plansLikeAnsible(_ c: FileEditCase) throws {
    try FileEditTesting.verify(ReplaceModule.self, c)
  }

  @Test func resultCarriesRC() throws {
    let plan = try FileEditTesting.plan(ReplaceModule.self, ["regexp": "a", "replace": "b"], FileEditTesting.state("aa\n"))
    #expect(plan.result["rc"] == 0)
    #expect(plan.result["msg"] == "2 replacements made")
    #expect(plan.diffs.first?.beforeHeader == "/f.txt")
  }

  @Test func modeChangeWithoutMatch() throws {
    let plan = try FileEditTesting.plan(
      ReplaceModule.self, ["regexp": "zzz", "owner": "www"], FileEditTesting.state("a\n"))
    #expect(plan.steps.map(\.summary) == ["owner of /f.txt"])
    #expect(plan.result["msg"] == "ownership, perms or SE linux context changed")
  }

  @Test func badTemplateFails() throws {
    let plan = try FileEditTesting.plan(ReplaceModule.self, ["regexp": "a", "replace": "\\q"], FileEditTesting.state("a\n"))
    #expect(plan.failure == "Unable to process replace due to error: bad escape \\q at position 0")
  }

  @Test func latin1Encoding() throws {
    let state = FileState(
      type: .regular, mode: 0o644, uid: 0, gid: 0, size: 4, owner: "root", group: "root", linkTarget: nil,
      sha256: nil, content: Data([0x63, 0x61, 0x66, 0xE9]))
    let plan = try FileEditTesting.plan(ReplaceModule.self, ["regexp": "\u{e9}", "replace": "e", "encoding": "latin-1"], state)
    guard case .upload(let data, _, _, _, _)? = plan.steps.first?.action else {
      Issue.record("expected an upload")
      return
    }
    #expect([UInt8](data) == [0x63, 0x61, 0x66, 0x65])
  }
}
