import Foundation
import Inventory
import Testing

@testable import Provision

/// Helpers for the tests of the system modules (`service`, `iptables`, `docker_container`, ...):
/// building a module from arguments, reading fixtures, and the commands a plan runs.
enum SystemModuleTesting {
  static func module<M: Module>(_ type: M.Type, _ arguments: OrderedDict) throws -> M {
    try M(ModuleArguments(arguments, spec: M.arguments, module: M.name))
  }

  static func fixture(_ path: String) throws -> String {
    let found = try #require(Bundle.module.path(forResource: "Fixtures/\(path)", ofType: nil), "missing fixture \(path)")
    return String(decoding: try #require(FileManager.default.contents(atPath: found)), as: UTF8.self)
  }

  /// A captured check output, parsed.
  static func probe(_ path: String) throws -> ProbeSections { ProbeSections.parse(try fixture(path)) }

  /// The shell commands of a plan's steps (uploads as `upload PATH`).
  static func commands(_ plan: Plan) -> [String] {
    plan.steps.map { step in
      switch step.action {
      case .shell(let command, _): return command
      case .upload(_, let path, _, _, _): return "upload \(path)"
      case .writeController(_, let path, _): return "write \(path)"
      }
    }
  }

  /// The content a plan uploads to `path`.
  static func uploaded(_ plan: Plan, to path: String) -> String? {
    for step in plan.steps {
      if case .upload(let data, let p, _, _, _) = step.action, p == path { return String(decoding: data, as: UTF8.self) }
    }
    return nil
  }

  /// Writes each module's check script to `$PROVISION_DUMP_PROBES/NAME.sh` so that fixtures can
  /// be captured by running them on a test host: `sh NAME.sh > Fixtures/.../NAME.txt`.
  static func dump(_ name: String, _ script: String) {
    guard let dir = ProcessInfo.processInfo.environment["PROVISION_DUMP_PROBES"] else { return }
    try? FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    try? Data(script.utf8).write(to: URL(fileURLWithPath: dir).appendingPathComponent(name + ".sh"))
  }
}
