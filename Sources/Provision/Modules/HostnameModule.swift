import Foundation
import Inventory

/// Sets the host's name, now and across reboots: `hostname`.
///
/// Keys: `name`, `use` (systemd or debian: `hostnamectl`, as Ansible; generic, alpine, file: the
/// `hostname` command and `/etc/hostname`; default: `hostnamectl` when systemd runs, else the
/// command and the file). `check` reads the running name, `/etc/hostname` and whether systemd
/// runs, in one command. Unlike Ansible's Debian strategy on hosts without systemd (which only
/// writes `/etc/hostname`), the running name is set too. Needs root.
///
/// ```yaml
/// - hostname: { name: rancher1 }
/// ```
public struct HostnameModule: Module {
  public static let name = "hostname"
  public static let arguments = ArgumentSpec([
    .init("name", required: true),
    .init(
      "use",
      choices: ["alpine", "debian", "freebsd", "generic", "macos", "macosx", "darwin", "openbsd", "openrc", "redhat", "sles", "solaris", "systemd", "file"]),
  ])

  public struct Current: Sendable, Equatable {
    var systemd: Bool
    /// `hostname` (or `hostnamectl --transient status`).
    var current: String
    /// `/etc/hostname` stripped (or `hostnamectl --static status`); empty when missing.
    var permanent: String
  }

  let hostname: String
  let use: String?

  public init(_ arguments: ModuleArguments) throws {
    guard let name = arguments.string("name"), !name.isEmpty else { throw ModuleError("missing required argument 'name'") }
    hostname = name
    use = arguments.string("use")
    if let use, !["systemd", "debian", "generic", "alpine", "file"].contains(use) {
      throw ModuleError("use=\(use) is not supported by provision", hint: "use systemd, debian or generic")
    }
  }

  func script() -> String {
    let systemd: String
    switch use {
    case "systemd"?, "debian"?: systemd = "true"
    case nil:
      systemd = "command -v hostnamectl >/dev/null 2>&1 && { [ -d /run/systemd/system ] || [ \"$(cat /proc/1/comm 2>/dev/null)\" = systemd ]; }"
    default: systemd = "false"
    }
    return "if \(systemd); then\n"
      + ProbeSections.section("systemd", "true")
      + ProbeSections.section("current", "hostnamectl --transient status")
      + ProbeSections.section("permanent", "hostnamectl --static status")
      + "else\n"
      + ProbeSections.section("current", "hostname")
      + ProbeSections.file("permanent", "/etc/hostname")
      + "fi\n"
  }

  public func check(on host: HostProbe) async throws -> Current {
    let result = try await host.run(script())
    let probe = ProbeSections.parse(result.stdoutText)
    let systemd = probe["systemd"] != nil
    guard let current = probe["current"], current.succeeded else {
      let text = probe["current"]?.trimmed ?? result.stderrText
      throw ModuleError("Command failed rc=\(probe["current"]?.status ?? -1), out=, err=\(text)")
    }
    if systemd, let permanent = probe["permanent"], !permanent.succeeded {
      throw ModuleError("Command failed rc=\(permanent.status), out=, err=\(permanent.trimmed)")
    }
    let permanent = probe["permanent"].flatMap { $0.succeeded ? $0.content : nil } ?? ""
    return Current(
      systemd: systemd, current: current.trimmed, permanent: permanent.trimmingCharacters(in: .whitespacesAndNewlines))
  }

  public func plan(from current: Current) throws -> Plan {
    let short = String(hostname.split(separator: ".", maxSplits: 1).first ?? "")
    let result: OrderedDict = [
      "name": .string(hostname),
      "ansible_facts": .dict(["ansible_hostname": .string(short), "ansible_nodename": .string(hostname)]),
    ]
    var steps: [Step] = []
    if current.systemd {
      if hostname.count > 64 {
        return .failed("name cannot be longer than 64 characters on systemd servers, try a shorter name", result: result)
      }
      if current.permanent != hostname {
        steps.append(.argv(.update, "static hostname \(hostname)", ["hostnamectl", "--pretty", "--static", "set-hostname", hostname]))
      }
      if current.current != hostname {
        steps.append(.argv(.update, "hostname \(hostname)", ["hostnamectl", "--transient", "set-hostname", hostname]))
      }
    } else {
      if current.permanent != hostname {
        steps.append(Step(.update, "/etc/hostname", .upload(Data((hostname + "\n").utf8), path: "/etc/hostname", mode: 0o644, owner: nil, group: nil)))
      }
      if current.current != hostname {
        steps.append(.argv(.update, "hostname \(hostname)", ["hostname", hostname]))
      }
    }
    var diffs: [FileDiff] = []
    if !steps.isEmpty {
      let before = hostname != current.current ? current.current : current.permanent
      diffs.append(FileDiff(beforeHeader: "hostname", afterHeader: "hostname", before: "hostname = \(before)\n", after: "hostname = \(hostname)\n"))
    }
    return Plan(steps: steps, diffs: diffs, result: result)
  }
}
