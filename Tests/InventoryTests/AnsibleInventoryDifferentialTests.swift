import Foundation
import Testing

@testable import Inventory

/// Compares `provision inventory` with `ansible-inventory` and `ansible --list-hosts` from
/// ansible-core itself, installed from PyPI into a virtualenv by `scripts/ansible-venv`.
///
/// When the virtualenv cannot be made (no network, no python3) these tests fail: they never
/// skip, because passing without the reference would prove nothing.
@Suite struct AnsibleInventoryDifferentialTests {
  /// The virtualenv's bin directory, made once per test run.
  static let ansibleBin: Result<String, VenvError> = {
    do {
      let out = try runProgram(Repository.path("scripts/ansible-venv"), [])
      guard out.status == 0 else { return .failure(VenvError(output: out.stderr)) }
      return .success(out.stdout.trimmingCharacters(in: .whitespacesAndNewlines))
    } catch {
      return .failure(VenvError(output: "\(error)"))
    }
  }()

  struct VenvError: Error, CustomStringConvertible {
    var output: String
    var description: String { "cannot make the ansible-core virtualenv: \(output)" }
  }

  /// Inventory source sets, relative to the repository.
  static let cases: [[String]] = [
    ["inventories/ha.ini"],
    ["inventories/ha.yml"],
    ["Tests/InventoryTests/Fixtures/inventories/mixed/hosts", "Tests/InventoryTests/Fixtures/inventories/mixed/more.yml"],
    ["Tests/InventoryTests/Fixtures/inventories/nested/inventory.yaml"],
    ["Tests/InventoryTests/Fixtures/inventories/dir"],
  ]

  static let patterns = [
    "all", "*", "web", "web:&prod", "prod:!db-b", "~db-[ab]", "web[0]", "web[1:2]", "web[-1]",
    "*.example.com", "all:!web", "nothere", "web,solo", "web[1:]", "!web", "&db", "w*:db",
    "rancher_servers", "cluster:!rancher_agents", "rancher_servers[0:1]", "dc1_web:&dc2",
    "edge", "~^(app|mon)", "2001:db8::1", "web-a.dc1", "cluster[-1]",
  ]

  func ansible(_ tool: String, _ arguments: [String]) throws -> ProgramOutput {
    let bin = try Self.ansibleBin.get()
    return try runProgram(bin + "/" + tool, arguments, cwd: Repository.root)
  }

  func load(_ sources: [String]) throws -> Inventory {
    try InventoryLoader.load(sources: sources.map { Repository.path($0) })
  }

  @Test(arguments: cases)
  func listMatches(_ sources: [String]) throws {
    let theirs = try ansible("ansible-inventory", sources.flatMap { ["-i", $0] } + ["--list"])
    #expect(theirs.status == 0, "\(theirs.stderr)")
    let ours = try load(sources).listing().jsonString(.ansibleInventory)
    #expect(ours + "\n" == theirs.stdout)
  }

  @Test(arguments: cases)
  func graphMatches(_ sources: [String]) throws {
    let theirs = try ansible("ansible-inventory", sources.flatMap { ["-i", $0] } + ["--graph"])
    #expect(try load(sources).graph() + "\n" == theirs.stdout)
  }

  @Test(arguments: cases)
  func hostViewMatches(_ sources: [String]) throws {
    // `--host` prints the same variables as `--list` does under _meta; one host per source
    // set checks the command itself, the listing test covers every host.
    let inventory = try load(sources)
    let host = try #require(inventory.hostOrder.last)
    let theirs = try ansible("ansible-inventory", sources.flatMap { ["-i", $0] } + ["--host", host])
    let ours = Value.dict(inventory.listedVariables(of: host)).jsonString(.ansibleInventory)
    #expect(ours + "\n" == theirs.stdout, "host \(host)")
  }

  @Test(arguments: cases)
  func patternsSelectTheSameHosts(_ sources: [String]) throws {
    let inventory = try load(sources)
    let out = try ansible(
      "python", [Repository.path("scripts/ansible-patterns.py")] + sources + ["--"]
        + Self.patterns)
    #expect(out.status == 0, "\(out.stderr)")
    let theirs = try #require(try Value.parseJSON(out.stdout).dictValue)
    for pattern in Self.patterns {
      let expected = try #require(theirs[pattern], "pattern \(pattern)")
      guard case .list(let names) = expected else {
        // Ansible refused the pattern (a subscript past the end): so must we.
        #expect(throws: InventoryError.self, "pattern \(pattern)") { try inventory.select(pattern) }
        continue
      }
      let hosts = names.compactMap(\.stringValue)
      let ours = try inventory.select(pattern).hosts
      if sources == Self.cases[3] {
        // Below the second level Ansible walks child groups through a Python set, so its host
        // order there follows object addresses; compare which hosts, not their order.
        #expect(ours.sorted() == hosts.sorted(), "pattern \(pattern)")
      } else {
        #expect(ours == hosts, "pattern \(pattern)")
      }
    }
  }

  @Test func limitNarrowsTheListing() throws {
    let sources = Self.cases[2]
    for limit in ["db", "web[1:]", "all:!prod"] {
      let theirs = try ansible(
        "ansible-inventory", sources.flatMap { ["-i", $0] } + ["--list", "--limit", limit])
      let inventory = try load(sources)
      let ours = inventory.restricted(to: try inventory.select("all", limit: limit).hosts)
      #expect(ours.listing().jsonString(.ansibleInventory) + "\n" == theirs.stdout, "limit \(limit)")
    }
  }
}
