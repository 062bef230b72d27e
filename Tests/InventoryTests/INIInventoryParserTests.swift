import Testing

@testable import Inventory

@Suite struct INIInventoryParserTests {
  func load(_ text: String) throws -> Inventory { try InventoryLoader.load(iniText: text, file: "hosts") }

  func error(_ text: String) throws -> InventoryError {
    try #require(throws: InventoryError.self) { try load(text) }
  }

  @Test func hostsGroupsChildrenAndVars() throws {
    let inv = try load(
      """
      solo ansible_port=2200
      [web]
      web[01:03] role=web
      [app:children]
      web
      [app:vars]
      tier=front
      """)
    #expect(inv.hosts(in: "web") == ["web01", "web02", "web03"])
    #expect(inv.hosts(in: "app") == ["web01", "web02", "web03"])
    #expect(inv.hosts(in: "ungrouped") == ["solo"])
    #expect(inv.variables(of: "web02") == ["tier": "front", "role": "web"])
    #expect(inv.variables(of: "solo")["ansible_port"] == .int(2200))
  }

  @Test(arguments: [
    ("x=8080", Value.int(8080)), ("x=yes", .string("yes")), ("x=True", .bool(true)),
    ("x=None", .null), ("x=1.5", .double(1.5)), ("x=0644", .string("0644")),
    ("x=\"[1, 'a']\"", .list([1, "a"])), ("x='two words'", .string("two words")),
    ("x=\"{'k': 1}\"", .dict(["k": 1])), ("x=-3", .int(-3)), ("x=1.10.3", .string("1.10.3")),
  ])
  func inlineValuesAreReadAsPythonLiterals(_ assignment: String, _ expected: Value) throws {
    let inv = try load("h \(assignment)")
    #expect(inv.hosts["h"]?.vars["x"] == expected)
    #expect(inv.hosts["h"]?.vars["x"]?.typeName == expected.typeName)
  }

  @Test(arguments: [
    ("db-[a:c]", ["db-a", "db-b", "db-c"]), ("n[1:10:4]", ["n1", "n5", "n9"]),
    ("n[08:10]", ["n08", "n09", "n10"]), ("r[1:2]-[a:b]", ["r1-a", "r1-b", "r2-a", "r2-b"]),
  ])
  func rangesExpand(_ pattern: String, _ names: [String]) throws {
    #expect(try load("[g]\n\(pattern)").hosts(in: "g") == names)
  }

  @Test func unknownSectionTypeNamesTheLine() throws {
    let e = try error("[web]\nw1\n[web:hosts2]\n")
    #expect(e.kind == .unknownSectionType("hosts2"))
    #expect(e.location == SourceLocation(file: "hosts", line: 3, column: 1))
    #expect(e.diagnostic.description.contains("hosts:3:1: error: unknown section type ':hosts2'"))
    #expect(e.hint != nil)
  }

  @Test func childGroupThatDoesNotExist() throws {
    let e = try error("[web]\nw1\n[app:children]\nweb\nmissing\n")
    #expect(e.kind == .undefinedChildGroup(parent: "app", child: "missing"))
    #expect(e.location?.line == 5)
  }

  @Test func childDeclaredLaterIsFine() throws {
    let inv = try load("[app:children]\nweb\n[web]\nw1\n")
    #expect(inv.hosts(in: "app") == ["w1"])
  }

  @Test func brokenRanges() throws {
    #expect(try error("[g]\nn[3:1]\n").kind == .badHostRange("n[3:1]", reason: "the range starts after it ends"))
    #expect(try error("[g]\nn[1:]\n").location?.line == 2)
    #expect(try error("[g]\nn[a:10]\n").hint?.contains("node[01:10]") == true)
  }

  @Test func varLineWithoutEquals() throws {
    let e = try error("[g:vars]\njust_a_word\n")
    #expect(e.kind == .expectedAssignment("just_a_word"))
    #expect(e.location?.line == 2)
    let host = try error("[g]\nh1 notanassignment\n")
    #expect(host.kind == .expectedAssignment("notanassignment"))
  }

  @Test func sectionWithSpacesIsInvalid() throws {
    #expect(try error("[my group]\nh\n").kind == .invalidSection("[my group]"))
  }

  @Test func groupLoopsAreRefused() throws {
    let e = try error("[a:children]\nb\n[b:children]\na\n")
    #expect(e.kind == .recursiveGroup(parent: "b", child: "a"))
  }

  @Test func commentsAndBlankLines() throws {
    let inv = try load("# top\n; semicolon\n\n[g]  # trailing\nh1 x=1 # note\n")
    #expect(inv.hosts(in: "g") == ["h1"])
    #expect(inv.hosts["h1"]?.vars["x"] == 1)
  }

  @Test func groupPrecedenceFollowsDepthPriorityAndName() throws {
    let inv = try load(
      """
      [b]
      h
      [a]
      h
      [parent:children]
      a
      [all:vars]
      x=all
      [parent:vars]
      x=parent
      [a:vars]
      x=a
      [b:vars]
      x=b
      """)
    // a sits under parent (depth 2) and b under all (depth 1): the deeper group wins.
    #expect(inv.variables(of: "h")["x"] == "a")
    let prio = try load("[b]\nh\n[a]\nh\n[a:vars]\nx=a\nansible_group_priority=10\n[b:vars]\nx=b\n")
    #expect(prio.variables(of: "h")["x"] == "a")
    let names = try load("[b]\nh\n[a]\nh\n[a:vars]\nx=a\n[b:vars]\nx=b\n")
    #expect(names.variables(of: "h")["x"] == "b")
  }
}

/// Inputs the fuzzer found (kept in Fuzz/Crashes/ until fixed): each must fail cleanly or work.
@Suite struct FuzzFindingTests {
  @Test(arguments: [
    ("h[9223372036854775806:9223372036854775807]", ["h9223372036854775806", "h9223372036854775807"]),
    ("h[a:b:4294967296]", ["ha"]), ("h[a:b:4294967295]", ["ha"]),
  ])
  func rangesNearTheLimitsOfIntegersExpand(_ pattern: String, _ names: [String]) throws {
    #expect(try InventoryLoader.load(iniText: "[g]\n\(pattern)\n", file: "hosts").hosts(in: "g") == names)
  }

  @Test(arguments: ["h[-9:9223372036854775807]", "h[0:99999]x[0:99999]", "h[a:\u{30000}]"])
  func hugeOrNegativeRangesAreRefused(_ pattern: String) throws {
    let error = try #require(throws: InventoryError.self) {
      try InventoryLoader.load(iniText: "[g]\n\(pattern)\n", file: "hosts")
    }
    if case .badHostRange = error.kind {} else { Issue.record("\(error.kind)") }
    #expect(error.location?.line == 2)
  }

  @Test func letterStepsStayInRange() throws {
    #expect(try InventoryLoader.load(iniText: "[g]\nh[a:e:2]\n", file: "hosts").hosts(in: "g") == ["ha", "hc", "he"])
  }

  @Test func tenThousandHostsLoadAndRestrict() throws {
    let inv = try InventoryLoader.load(iniText: "[g]\nh[0:9999]\n[o]\nh[0:3]x-[a:z]\n", file: "hosts")
    #expect(inv.hosts(in: "g").count == 10_000)
    let some = inv.restricted(to: ["h5", "h0x-b"])
    #expect(some.hostOrder == ["h5", "h0x-b"])
    #expect(some.hosts(in: "g") == ["h5"])
    #expect(some.hosts(in: "o") == ["h0x-b"])
  }

  @Test func globsWithManyStarsMatchQuickly() throws {
    let inv = try InventoryLoader.load(
      iniText: "[g]\n" + (0..<200).map { "web-\($0).example.com" }.joined(separator: "\n") + "\n", file: "hosts")
    let stars = String(repeating: "*", count: 25)
    #expect(try inv.select("\(stars)!.a").hosts.isEmpty)
    #expect(try inv.select("w*b-1?.*.c*m").hosts.count == 10)
    #expect(try inv.select("web-[!0-8].example.com").hosts == ["web-9.example.com"])
    #expect(try inv.select("web-1[0-2]*").hosts.count == 33)
  }
}
