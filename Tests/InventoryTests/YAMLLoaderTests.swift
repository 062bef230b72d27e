import Testing

@testable import Inventory

@Suite struct YAMLLoaderTests {
  func value(_ yaml: String) throws -> Value {
    try #require(try YAMLLoader.load(yaml, file: "t.yml").first).value
  }

  @Test(arguments: [
    ("a: yes", Value.bool(true)), ("a: No", .bool(false)), ("a: ON", .bool(true)),
    ("a: off", .bool(false)), ("a: True", .bool(true)), ("a: 'yes'", .string("yes")),
    ("a: \"true\"", .string("true")), ("a: yEs", .string("yEs")), ("a: ~", .null),
    ("a: null", .null), ("a:", .null), ("a: 8080", .int(8080)), ("a: 0644", .int(420)),
    ("a: 0x1F", .int(31)), ("a: 0b101", .int(5)), ("a: 1_000", .int(1000)), ("a: -7", .int(-7)),
    ("a: 1:30", .int(90)), ("a: 1.5", .double(1.5)), ("a: 1.0e+3", .double(1000)),
    ("a: 1e3", .string("1e3")), ("a: .5", .double(0.5)), ("a: .inf", .double(.infinity)),
    ("a: 09", .string("09")), ("a: 1.10.3", .string("1.10.3")),
    ("a: 1.10.3-0~trusty", .string("1.10.3-0~trusty")), ("a: !!str 123", .string("123")),
    ("a: !!int '42'", .int(42)), ("a: '0644'", .string("0644")),
  ])
  func scalarsResolveAsAnsibleSeesThem(_ yaml: String, _ expected: Value) throws {
    #expect(try value(yaml) == .dict(["a": expected]))
    // Python's True == 1, so also check the types are the same.
    #expect(try value(yaml).dictValue?["a"]?.typeName == expected.typeName)
  }

  @Test func blockScalarsKeepOrChompNewlines() throws {
    let yaml = "keep: |+\n  a\n  b\n\nclip: |\n  a\n  b\n\nstrip: >-\n  a\n  b\n"
    let v = try value(yaml)
    #expect(v.dictValue?["keep"] == "a\nb\n\n")
    #expect(v.dictValue?["clip"] == "a\nb\n")
    #expect(v.dictValue?["strip"] == "a b")
  }

  @Test func locationsAreOneBasedAndCountCharacters() throws {
    let root = try #require(try YAMLLoader.load("- x\n- ééé: y\n", file: "f.yml").first)
    let second = try #require(root.items?[1])
    #expect(second.location == SourceLocation(file: "f.yml", line: 2, column: 3))
    let value = try #require(second.pairs?.first?.value)
    #expect(value.location.column == 8)
  }

  @Test func mappingsKeepKeyOrder() throws {
    #expect(try value("z: 1\na: 2\nm: 3").dictValue?.keys == ["z", "a", "m"])
  }

  @Test func anchorsAliasesAndMergeKeys() throws {
    let yaml = """
      base: &base { a: 1, b: 2 }
      extra: &extra { c: 3, b: 20 }
      one:
        <<: *base
        b: 5
      two:
        <<: [*extra, *base]
      list: [*base]
      """
    let v = try value(yaml)
    #expect(v.dictValue?["one"] == ["a": 1, "b": 5])
    #expect(v.dictValue?["two"] == ["c": 3, "b": 20, "a": 1])
    #expect(v.dictValue?["list"] == [["a": 1, "b": 2]])
  }

  @Test func aliasKeepsItsOwnLocation() throws {
    let root = try #require(try YAMLLoader.load("a: &x 1\nb: *x\n", file: "f.yml").first)
    #expect(root["b"]?.location.line == 2)
  }

  @Test func multiDocumentStreams() throws {
    let docs = try YAMLLoader.load("---\na: 1\n---\n- 2\n...\n---\nplain\n", file: "f.yml")
    #expect(docs.map(\.value) == [["a": 1], [2], "plain"])
    #expect(try YAMLLoader.load("", file: "f.yml").isEmpty)
  }

  @Test func duplicateKeysAreErrors() throws {
    let error = try #require(throws: YAMLError.self) { try YAMLLoader.load("a: 1\nb: 2\na: 3\n", file: "f.yml") }
    #expect(error.kind == .duplicateKey("a", first: SourceLocation(file: "f.yml", line: 1, column: 1)))
    #expect(error.location.line == 3)
  }

  @Test func unknownAliasAndCycles() throws {
    let unknown = try #require(throws: YAMLError.self) { try YAMLLoader.load("a: *nope\n", file: "f.yml") }
    #expect(unknown.kind == .unknownAlias("nope"))
    #expect(unknown.location == SourceLocation(file: "f.yml", line: 1, column: 4))
    let cycle = try #require(throws: YAMLError.self) { try YAMLLoader.load("a: &a [1, *a]\n", file: "f.yml") }
    #expect(cycle.kind == .aliasCycle("a"))
  }

  @Test func billionLaughsIsRefused() throws {
    var yaml = "a0: &a0 [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]\n"
    for i in 1...9 {
      let refs = Array(repeating: "*a\(i - 1)", count: 10).joined(separator: ", ")
      yaml += "a\(i): &a\(i) [\(refs)]\n"
    }
    let error = try #require(throws: YAMLError.self) { try YAMLLoader.load(yaml, file: "f.yml") }
    #expect(error.kind == .expansionLimit(YAMLLoader.aliasExpansionLimit))
  }

  @Test func tabIndentationGetsAHint() throws {
    let error = try #require(throws: YAMLError.self) {
      try YAMLLoader.load("tasks:\n\t- name: x\n", file: "play.yml")
    }
    #expect(error.location.line == 2)
    #expect(error.hint?.contains("tabs") == true)
    let text = error.diagnostic.description
    #expect(text.hasPrefix("play.yml:2:1: error: "))
    #expect(text.contains("\n 2 | \t- name: x\n   | ^"))
  }

  @Test func unquotedBracesGetAHint() throws {
    let error = try #require(throws: YAMLError.self) {
      try YAMLLoader.load("- debug:\n    msg: {{ greeting }}\n", file: "play.yml")
    }
    #expect(error.kind == .unquotedTemplate)
    #expect(error.location == SourceLocation(file: "play.yml", line: 2, column: 10))
    #expect(error.hint?.contains("must be quoted") == true)
    let trailing = try #require(throws: YAMLError.self) {
      try YAMLLoader.load("- debug:\n    msg: {{ greeting }} world\n", file: "play.yml")
    }
    #expect(trailing.hint?.contains("must be quoted") == true)
  }

  @Test func unclosedQuoteAndBracket() throws {
    let quote = try #require(throws: YAMLError.self) { try YAMLLoader.load("a: 'open\nb: 1\n", file: "f.yml") }
    #expect(quote.location.line == 3)
    let bracket = try #require(throws: YAMLError.self) { try YAMLLoader.load("a: [1, 2\nb: 3\n", file: "f.yml") }
    #expect(bracket.location.line >= 2)
  }

  @Test func hostileBytesNeverCrash() throws {
    let inputs: [[UInt8]] = [
      [], [0], [0xFF, 0xFE, 0x00], Array("a: \u{7}".utf8), [0xC3, 0x28], Array(repeating: 0x41, count: 4_000_000),
      Array(("k: " + String(repeating: "x", count: 4_000_000)).utf8), Array(repeating: UInt8(ascii: "["), count: 100_000),
    ]
    for input in inputs {
      _ = try? YAMLLoader.load(input, file: "f.yml")
    }
    #expect(try YAMLLoader.load([UInt8]("k: v".utf8), file: "f.yml").first?.value == ["k": "v"])
  }
}
