import Foundation
import Inventory
import Testing

@testable import Provision

/// Tests of `file` against the local machine.
@Suite struct FileModuleTests {
  let probe = HostProbe(transport: LocalTransport(), become: nil)

  /// A recursive symbolic mode changes nothing when every entry below already has what it
  /// gives (X included, links passed by, as chmod -R does), and is applied when one has not.
  @Test func recursiveSymbolicModeIsAppliedOnlyWhenSomethingDiffers() async throws {
    let fm = FileManager.default
    let root = fm.temporaryDirectory.appendingPathComponent("provision-file-\(UUID().uuidString.prefix(8))").path
    defer { try? fm.removeItem(atPath: root) }
    try fm.createDirectory(atPath: root + "/data/sub", withIntermediateDirectories: true)
    try Data("a\n".utf8).write(to: URL(fileURLWithPath: root + "/data/plain"))
    try Data("b\n".utf8).write(to: URL(fileURLWithPath: root + "/data/sub/tool"))
    try fm.createSymbolicLink(atPath: root + "/data/link", withDestinationPath: "plain")
    for (path, mode) in [("data", 0o750), ("data/sub", 0o750), ("data/plain", 0o640), ("data/sub/tool", 0o750)] {
      #expect(chmod(root + "/" + path, mode_t(mode)) == 0)
    }
    let module = try FileModule(
      ModuleArguments(
        ["path": .string(root + "/data"), "state": "directory", "recurse": true, "mode": "u=rwX,g=rX,o="],
        spec: FileModule.arguments, module: FileModule.name))
    let converged = try await module.check(on: probe)
    #expect(converged.mismatched == 0)
    #expect(try module.plan(from: converged).steps.isEmpty)

    #expect(chmod(root + "/data/plain", 0o644) == 0)
    let drifted = try await module.check(on: probe)
    #expect(drifted.mismatched == 1)
    let plan = try module.plan(from: drifted)
    #expect(plan.steps.map(\.summary) == ["mode below \(root)/data"])
  }
}
