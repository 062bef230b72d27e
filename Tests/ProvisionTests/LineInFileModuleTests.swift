import Foundation
import Inventory
import Testing

@testable import Provision

@Suite struct LineInFileModuleTests {
  /// Expected contents and messages were produced by ansible-core 2.17.14's own lineinfile
  /// (its `main()` run on a temporary file with a stub AnsibleModule).
  static let cases: [FileEditCase] = [
    .init("regexp replaces the matching line", "a\nfoo=1\nb\n", ["regexp": "^foo=", "line": "foo=2"], "a\nfoo=2\nb\n", "line replaced"),
    .init("regexp with no match appends at EOF", "a\nfoo=1\nb\n", ["regexp": "^bar=", "line": "bar=2"], "a\nfoo=1\nb\nbar=2\n", "line added"),
    .init("regexp replaces the last match", "x=1\ny\nx=2\n", ["regexp": "^x=", "line": "x=3"], "x=1\ny\nx=3\n", "line replaced"),
    .init("firstmatch replaces the first match", "x=1\ny\nx=2\n", ["regexp": "^x=", "line": "x=3", "firstmatch": true], "x=3\ny\nx=2\n", "line replaced"),
    .init("regexp already right is unchanged", "a\nfoo=1\nb\n", ["regexp": "^foo=", "line": "foo=1"], nil, ""),
    .init("regexp on a last line without newline", "a\nfoo=1", ["regexp": "^foo", "line": "foo=2"], "a\nfoo=2\n", "line replaced"),
    .init("regexp that matches the line itself adds its newline", "a\nfoo=1", ["regexp": "^foo", "line": "foo=1"], "a\nfoo=1\n", "line replaced"),
    .init("insertafter regex", "[main]\nx=1\n[other]\nz=1\n", ["line": "y=2", "insertafter": "^\\[main\\]"], "[main]\ny=2\nx=1\n[other]\nz=1\n", "line added"),
    .init("insertafter regex takes the last match", "[s]\na\n[s]\nb\n", ["line": "y=2", "insertafter": "^\\[s\\]"], "[s]\na\n[s]\ny=2\nb\n", "line added"),
    .init("insertafter regex with firstmatch", "[s]\na\n[s]\nb\n", ["line": "y=2", "insertafter": "^\\[s\\]", "firstmatch": true], "[s]\ny=2\na\n[s]\nb\n", "line added"),
    .init("insertafter matching the last line", "a\n[s]", ["line": "y=2", "insertafter": "^\\[s\\]"], "a\n[s]y=2\n", "line added", idempotent: false),
    .init("insertafter with no match appends", "a\nb\n", ["line": "y=2", "insertafter": "^nomatch"], "a\nb\ny=2\n", "line added"),
    .init("insertafter is ignored when regexp matches", "k=1\n[s]\n", ["regexp": "^k=", "line": "k=2", "insertafter": "^\\[s\\]"], "k=2\n[s]\n", "line replaced"),
    .init("insertafter used when regexp does not match", "k=1\n[s]\nz\n", ["regexp": "^q=", "line": "q=2", "insertafter": "^\\[s\\]"], "k=1\n[s]\nq=2\nz\n", "line added"),
    .init("insertafter firstmatch with the line already next", "[s]\ny=2\n[s]\n", ["line": "y=2", "insertafter": "^\\[s\\]", "firstmatch": true], nil, ""),
    .init("insertbefore regex", "a\n# end\nb\n", ["line": "y=2", "insertbefore": "^# end"], "a\ny=2\n# end\nb\n", "line added"),
    .init("insertbefore takes the last match", "# m\na\n# m\n", ["line": "y=2", "insertbefore": "^# m"], "# m\na\ny=2\n# m\n", "line added"),
    .init("insertbefore firstmatch", "# m\na\n# m\n", ["line": "y=2", "insertbefore": "^# m", "firstmatch": true], "y=2\n# m\na\n# m\n", "line added"),
    .init("insertbefore with no match appends", "a\nb", ["line": "y=2", "insertbefore": "^zzz"], "a\nb\ny=2\n", "line added"),
    .init("insertbefore BOF", "a\nb\n", ["line": "#!/bin/sh", "insertbefore": "BOF"], "#!/bin/sh\na\nb\n", "line added"),
    .init("insertafter BOF", "a\nb\n", ["line": "first", "insertafter": "BOF"], "first\na\nb\n", "line added"),
    .init("insertafter EOF on a file without final newline", "a\nb", ["line": "c", "insertafter": "EOF"], "a\nb\nc\n", "line added"),
    .init("exact line present is unchanged", "a\nline\nb\n", ["line": "line", "insertbefore": "BOF"], nil, ""),
    .init("exact line in a CRLF file is rewritten with LF", "a\r\nline\r\nb\r\n", ["line": "line"], "a\r\nline\nb\r\n", "line replaced"),
    .init("CRLF file gets an LF line appended", "a\r\nb\r\n", ["line": "c"], "a\r\nb\r\nc\n", "line added"),
    .init("backrefs with a match", "key = value\nother\n", ["regexp": "^(\\w+) = (.*)$", "line": "\\2 := \\1", "backrefs": true], "value := key\nother\n", "line replaced"),
    .init("backrefs with named groups", "port=22\n", ["regexp": "^port=(?P<num>\\d+)$", "line": "Port \\g<num> # \\g<0>", "backrefs": true], "Port 22 # port=22\n", "line replaced"),
    .init("backrefs without a match changes nothing", "a\nb\n", ["regexp": "^zzz(.*)", "line": "x\\1", "backrefs": true], nil, ""),
    .init("backrefs with an unmatched optional group", "ab\n", ["regexp": "^(a)(x)?b", "line": "[\\1|\\2]", "backrefs": true], "[a|]\n", "line replaced"),
    .init("search_string replaces the line", "a\nListen 80\nb\n", ["search_string": "Listen 80", "line": "Listen 8080"], "a\nListen 8080\nb\n", "line replaced"),
    .init("search_string with regex characters is literal", "x.*y\nxaay\n", ["search_string": ".*", "line": "found"], "found\nxaay\n", "line replaced"),
    .init("search_string with no match appends", "a\n", ["search_string": "zzz", "line": "new"], "a\nnew\n", "line added"),
    .init("search_string firstmatch", "s1\ns2\n", ["search_string": "s", "line": "S", "firstmatch": true], "S\ns2\n", "line replaced", idempotent: false),
    .init("absent by regexp", "a\nfoo=1\nb\nfoo=2\n", ["regexp": "^foo", "state": "absent"], "a\nb\n", "2 line(s) removed"),
    .init("absent by line", "a\nline\r\nb\nline", ["line": "line", "state": "absent"], "a\nb\n", "2 line(s) removed"),
    .init("absent by search_string", "alpha\nbeta\ngamma\n", ["search_string": "ta", "state": "absent"], "alpha\ngamma\n", "1 line(s) removed"),
    .init("absent with no match is unchanged", "a\nb\n", ["regexp": "^zzz", "state": "absent"], nil, ""),
    .init("absent on a missing file is ok", nil, ["line": "x", "state": "absent"], nil, "file not present"),
    .init("missing file without create fails", nil, ["line": "x"], fails: "Destination /f.txt does not exist !"),
    .init("missing file with create", nil, ["line": "x", "create": true], "x\n", "line added"),
    .init("missing file with create and insertbefore BOF", nil, ["line": "x", "create": true, "insertbefore": "BOF"], "x\n", "line added"),
    .init("bytes regexp: dot takes one byte", "café=1\n", ["regexp": "^caf.=", "line": "cafe=2"], "café=1\ncafe=2\n", "line added"),
    .init("bytes regexp: non-ASCII literal", "café=1\n", ["regexp": "^café=", "line": "café=2"], "café=2\n", "line replaced"),
    .init("bytes regexp: \\w is ASCII", "été\n", ["regexp": "^\\w", "line": "x"], "été\nx\n", "line added"),
    .init("empty file", "", ["line": "x"], "x\n", "line added"),
    .init("ignore case flag", "FOO=1\n", ["regexp": "(?i)^foo=", "line": "foo=2"], "foo=2\n", "line replaced"),
    .init("literal braces in regexp", "{mark}\n", ["regexp": "^{mark}$", "line": "marked"], "marked\n", "line replaced"),
    .init("dollar before newline only", "a=1\r\n", ["regexp": "^a=1$", "line": "a=2"], "a=1\r\na=2\n", "line added"),
  ]

  @Test(arguments: cases) func plansLikeAnsible(_ c: FileEditCase) throws {
    try FileEditTesting.verify(LineInFileModule.self, c)
  }

  @Test func missingFileFailsWithRC257() throws {
    let plan = try FileEditTesting.plan(LineInFileModule.self, ["line": "x"], nil)
    #expect(plan.failure == "Destination /f.txt does not exist !")
    #expect(plan.result["rc"] == 257)
  }

  @Test func modeChangeWithoutContentChange() throws {
    let plan = try FileEditTesting.plan(
      LineInFileModule.self, ["line": "x", "mode": "0600"], FileEditTesting.state("x\n"))
    #expect(FileEditTesting.written(plan) == nil)
    #expect(plan.steps.map(\.summary) == ["mode of /f.txt"])
    #expect(plan.result["msg"] == "ownership, perms or SE linux context changed")
  }

  @Test func contentAndOwnerChange() throws {
    let plan = try FileEditTesting.plan(
      LineInFileModule.self, ["line": "y", "owner": "www", "mode": "0600"], FileEditTesting.state("x\n"))
    guard case .upload(let data, _, let mode, let owner, _)? = plan.steps.first?.action else {
      Issue.record("expected an upload, got \(plan.steps.map(\.summary))")
      return
    }
    #expect(String(decoding: data, as: UTF8.self) == "x\ny\n")
    #expect(mode == 0o600)
    #expect(owner == "www")
    #expect(plan.result["msg"] == "line added and ownership, perms or SE linux context changed")
  }

  @Test func diffHasContentHeaders() throws {
    let plan = try FileEditTesting.plan(LineInFileModule.self, ["line": "y"], FileEditTesting.state("x\n"))
    #expect(plan.diffs.first == FileDiff(beforeHeader: "/f.txt (content)", afterHeader: "/f.txt (content)", before: "x\n", after: "x\ny\n"))
  }

  @Test func directoryFails() throws {
    var state = FileEditTesting.state("")!
    state.type = .directory
    state.content = nil
    let plan = try FileEditTesting.plan(LineInFileModule.self, ["line": "y"], state)
    #expect(plan.failure == "Path /f.txt is a directory !")
    #expect(plan.result["rc"] == 256)
  }

  @Test func createMakesTheParentDirectory() throws {
    let plan = try FileEditTesting.plan(
      LineInFileModule.self, ["path": "/etc/app/conf.d/x.conf", "line": "y", "create": true], nil)
    #expect(plan.steps.map(\.summary) == ["directory /etc/app/conf.d", "content of /etc/app/conf.d/x.conf"])
  }

  @Test func backupAndValidate() throws {
    let plan = try FileEditTesting.plan(
      LineInFileModule.self, ["line": "y", "backup": true, "validate": "visudo -cf %s"], FileEditTesting.state("x\n"))
    #expect(plan.steps.count == 2)
    #expect(plan.steps.first?.summary == "backup of /f.txt")
    #expect(FileEditTesting.written(plan) == "x\ny\n")
    #expect(plan.result["backup"] == nil)
    let bad = try FileEditTesting.plan(LineInFileModule.self, ["line": "y", "validate": "visudo -c"], FileEditTesting.state("x\n"))
    #expect(bad.failure == "validate must contain %s: visudo -c")
  }

  @Test func absentReportsFound() throws {
    let plan = try FileEditTesting.plan(
      LineInFileModule.self, ["regexp": "^a", "state": "absent"], FileEditTesting.state("a1\nb\na2\n"))
    #expect(plan.result["found"] == 2)
  }

  @Test func badArguments() throws {
    #expect(throws: ModuleError("regexp is required with backrefs=true")) {
      try FileEditTesting.module(LineInFileModule.self, ["line": "x", "backrefs": true])
    }
    #expect(throws: ModuleError("line is required with state=present")) {
      try FileEditTesting.module(LineInFileModule.self, ["regexp": "x"])
    }
    #expect(throws: ModuleError("one of line, search_string, or regexp is required with state=absent")) {
      try FileEditTesting.module(LineInFileModule.self, ["state": "absent"])
    }
    #expect(throws: ModuleError.self) { try FileEditTesting.module(LineInFileModule.self, ["line": "x", "regexp": "("]) }
    #expect(throws: ModuleError.self) {
      try FileEditTesting.module(LineInFileModule.self, ["line": "x", "regexp": "a", "search_string": "b"])
    }
  }

  @Test func aliasesAndRegistry() throws {
    let plan = try FileEditTesting.plan(
      LineInFileModule.self, ["dest": "/f.txt", "regex": "^a", "value": "b"], FileEditTesting.state("a\n"))
    #expect(FileEditTesting.written(plan) == "b\n")
    #expect(ModuleRegistry.modules["lineinfile"] != nil)
    #expect(ModuleRegistry.modules["blockinfile"] != nil)
    #expect(ModuleRegistry.modules["replace"] != nil)
  }

  @Test func badBackrefTemplateFailsThePlan() throws {
    let plan = try FileEditTesting.plan(
      LineInFileModule.self, ["regexp": "^(a)", "line": "\\2", "backrefs": true], FileEditTesting.state("a\n"))
    #expect(plan.failure == "invalid group reference 2 at position 1")
  }
}
