import Foundation
import Inventory

/// Sets a package's dpkg selection (`hold` keeps apt from changing it): `dpkg_selections`.
///
/// Keys: `name`, `selection` (install, hold, deinstall, purge). `check` runs
/// `dpkg --get-selections NAME` (no privilege needed); the step pipes `NAME SELECTION` into
/// `dpkg --set-selections`, which needs root. Returns `before` and `after`, as Ansible does.
/// Nothing is installed or removed: use `apt` for that.
///
/// ```yaml
/// - dpkg_selections: { name: docker-engine, selection: hold }
/// ```
public struct DpkgSelectionsModule: Module {
  public static let name = "dpkg_selections"
  public static let arguments = ArgumentSpec([
    .init("name", required: true),
    .init("selection", required: true, choices: ["install", "hold", "deinstall", "purge"]),
  ])

  public struct Current: Sendable, Equatable {
    /// The selection, or `not present` when dpkg knows the name but lists no selection.
    var selection: String?
    /// dpkg does not know the package at all.
    var unknown: Bool
  }

  let package: String
  let selection: String

  public init(_ arguments: ModuleArguments) throws {
    guard let name = arguments.string("name"), !name.isEmpty else { throw ModuleError("missing required argument 'name'") }
    guard !name.contains(where: { $0.isWhitespace }) else { throw ModuleError("invalid package name '\(name)'") }
    package = name
    selection = arguments.string("selection") ?? "install"
  }

  public func check(on host: HostProbe) async throws -> Current {
    let result = try await host.run("LANG=C LC_ALL=C dpkg --get-selections \(ShellQuoting.quote(package))")
    if !result.succeeded {
      throw ModuleError("dpkg --get-selections failed: " + result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))
    }
    return Self.parse(stdout: result.stdoutText, stderr: result.stderrText)
  }

  static func parse(stdout: String, stderr: String) -> Current {
    if stderr.contains("no packages found matching") { return Current(selection: nil, unknown: true) }
    let words = stdout.split(whereSeparator: { $0 == " " || $0 == "\t" || $0 == "\n" })
    return Current(selection: words.count >= 2 ? String(words[1]) : "not present", unknown: false)
  }

  public func plan(from current: Current) throws -> Plan {
    if current.unknown {
      return .failed("Failed to find package '\(package)' to perform selection '\(selection)'.")
    }
    let before = current.selection ?? "not present"
    let result: OrderedDict = ["before": .string(before), "after": .string(selection)]
    guard before != selection else { return Plan(result: result) }
    let step = Step(
      .update, "selection of \(package): \(before) -> \(selection)",
      .shell("dpkg --set-selections", stdin: Data("\(package) \(selection)\n".utf8)))
    return Plan(
      steps: [step], diffs: [.attribute(package, before: "selection: \(before)\n", after: "selection: \(selection)\n")],
      result: result)
  }
}
