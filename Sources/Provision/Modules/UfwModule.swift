import Foundation
import Inventory

/// Manages the Uncomplicated Firewall: `ufw`, as `community.general.ufw`.
///
/// Keys: `state` (enabled, disabled, reloaded, reset), `default` (`policy`: allow, deny,
/// reject) with `direction` (incoming, outgoing, routed), `logging` (on, off, low, medium,
/// high, full), `rule` (allow, deny, limit, reject) with `direction` (in, out), `interface`
/// (`if`), `interface_in`, `interface_out`, `route`, `delete`, `insert` (relative to zero only),
/// `log`, `from_ip` (`from`, `src`), `from_port`, `to_ip` (`to`, `dest`), `to_port` (`port`),
/// `proto` (`protocol`), `name` (`app`), `comment`.
///
/// `check` reads `ufw status verbose`, the `### tuple` lines of the user rules files, `ufw
/// --version` and, for a rule, `ufw --dry-run RULE`, in one command, and decides as the
/// module's check mode does: a rule changes something when the dry run's rule tuples differ
/// from the current ones. Fails with a clear message on hosts without ufw. Needs root.
///
/// ```yaml
/// - ufw: { rule: allow, port: "18080", proto: tcp, interface: docker0, direction: in }
/// ```
public struct UfwModule: Module {
  public static let name = "ufw"
  public static let arguments = ArgumentSpec(
    [
      .init("state", choices: ["enabled", "disabled", "reloaded", "reset"]),
      .init("default", aliases: ["policy"], choices: ["allow", "deny", "reject"]),
      .init("logging", choices: ["full", "high", "low", "medium", "off", "on"]),
      .init("direction", choices: ["in", "incoming", "out", "outgoing", "routed"]),
      .init("delete", .bool, default: false), .init("route", .bool, default: false), .init("insert", .int),
      .init("insert_relative_to", choices: ["zero", "first-ipv4", "last-ipv4", "first-ipv6", "last-ipv6"], default: "zero"),
      .init("rule", choices: ["allow", "deny", "limit", "reject"]), .init("interface", aliases: ["if"]),
      .init("interface_in", aliases: ["if_in"]), .init("interface_out", aliases: ["if_out"]),
      .init("log", .bool, default: false), .init("from_ip", aliases: ["from", "src"], default: "any"),
      .init("from_port"), .init("to_ip", aliases: ["dest", "to"], default: "any"), .init("to_port", aliases: ["port"]),
      .init("proto", aliases: ["protocol"], choices: ["ah", "any", "esp", "ipv6", "tcp", "udp", "gre", "igmp"]),
      .init("name", aliases: ["app"]), .init("comment"),
    ],
    requiredOneOf: [["state", "default", "rule", "logging"]],
    mutuallyExclusive: [["name", "proto", "logging"], ["direction", "interface_in"], ["direction", "interface_out"]])

  public struct Current: Sendable, Equatable {
    var installed: Bool
    var status: String
    var rules: String
    var version: String
    var dryRun: String?
  }

  let state: String?
  let defaultPolicy: String?
  let logging: String?
  let direction: String?
  let rule: String?
  let route: Bool
  let delete: Bool
  let insert: Int?
  let interface: String?
  let interfaceIn: String?
  let interfaceOut: String?
  let log: Bool
  let fromIP: String
  let fromPort: String?
  let toIP: String
  let toPort: String?
  let proto: String?
  let app: String?
  let comment: String?

  public init(_ arguments: ModuleArguments) throws {
    state = arguments.string("state")
    defaultPolicy = arguments.string("default")
    logging = arguments.string("logging")
    direction = arguments.string("direction")
    rule = arguments.string("rule")
    route = arguments.bool("route")
    delete = arguments.bool("delete")
    insert = arguments.int("insert")
    interface = arguments.string("interface")
    interfaceIn = arguments.string("interface_in")
    interfaceOut = arguments.string("interface_out")
    log = arguments.bool("log")
    fromIP = arguments.string("from_ip") ?? "any"
    fromPort = arguments.string("from_port")
    toIP = arguments.string("to_ip") ?? "any"
    toPort = arguments.string("to_port")
    proto = arguments.string("proto")
    app = arguments.string("name")
    comment = arguments.string("comment")
    if interface != nil && direction == nil { throw ModuleError("missing parameter(s) required by 'interface': direction") }
    if defaultPolicy != nil, let direction, !["outgoing", "incoming", "routed"].contains(direction) {
      throw ModuleError("For default, direction must be one of \"outgoing\", \"incoming\" and \"routed\", or direction must not be specified.")
    }
    if rule != nil, let direction, !["in", "out"].contains(direction) {
      throw ModuleError("For rules, direction must be one of \"in\" and \"out\", or direction must not be specified.")
    }
    if rule != nil && !route && interfaceIn != nil && interfaceOut != nil {
      throw ModuleError("Only route rules can combine interface_in and interface_out")
    }
    if insert != nil && arguments.string("insert_relative_to") != "zero" {
      throw ModuleError("insert_relative_to other than zero is not supported by provision yet")
    }
  }

  static let userRulesFiles = [
    "/lib/ufw/user.rules", "/lib/ufw/user6.rules", "/etc/ufw/user.rules", "/etc/ufw/user6.rules",
    "/var/lib/ufw/user.rules", "/var/lib/ufw/user6.rules",
  ]

  /// The words after `ufw` for the rule, as the module joins them (comment only for ufw ≥ 0.35).
  func ruleWords(version: (Int, Int)) -> [String] {
    guard let rule else { return [] }
    var words: [String] = []
    if route { words.append("route") }
    if delete { words.append("delete") }
    if let insert, !delete { words.append("insert \(insert)") }
    words.append(rule)
    if let direction { words.append(direction) }
    if let interface { words.append("on \(interface)") }
    if let interfaceIn { words.append("in on \(interfaceIn)") }
    if let interfaceOut { words.append("out on \(interfaceOut)") }
    if log { words.append("log") }
    words.append("from \(fromIP)")
    if let fromPort { words.append("port \(fromPort)") }
    words.append("to \(toIP)")
    if let toPort { words.append("port \(toPort)") }
    if let proto { words.append("proto \(proto)") }
    if let app { words.append("app '\(app)'") }
    if let comment, version.0 > 0 || version.1 >= 35 { words.append("comment '\(comment)'") }
    return words
  }

  /// `ufw 0.36.2` → (0, 36).
  static func version(_ text: String) -> (Int, Int)? {
    guard let line = text.split(separator: "\n").first(where: { !$0.trimmingCharacters(in: .whitespaces).isEmpty }),
      line.hasPrefix("ufw")
    else { return nil }
    let numbers = line.split(whereSeparator: { !$0.isNumber && $0 != "." }).first { $0.contains(".") }
    let parts = numbers?.split(separator: ".").compactMap { Int($0) } ?? []
    return parts.count >= 2 ? (parts[0], parts[1]) : nil
  }

  func script() -> String {
    var s = "if ! command -v ufw >/dev/null 2>&1; then \(ProbeSections.section("no-ufw", "true")) exit 0; fi\n"
    s += ProbeSections.section("status", "LANG=C ufw status verbose")
    s += ProbeSections.section("rules", "grep -h '^### tuple' \(Self.userRulesFiles.joined(separator: " ")) 2>/dev/null", mergeStderr: false)
    s += ProbeSections.section("version", "LANG=C ufw --version")
    if rule != nil {
      // The comment needs ufw 0.35 or later: both forms, chosen by the version printed above.
      let with = (["ufw", "--dry-run"] + ruleWords(version: (1, 0))).joined(separator: " ")
      let without = (["ufw", "--dry-run"] + ruleWords(version: (0, 0))).joined(separator: " ")
      let dry =
        with == without
        ? "LANG=C \(with)"
        : "case $(ufw --version 2>/dev/null | head -n 1) in *\" 0.\"[0-2]?.* | *\" 0.3\"[0-4]*) LANG=C \(without) ;; *) LANG=C \(with) ;; esac"
      s += ProbeSections.section("dry", dry)
    }
    return s
  }

  public func check(on host: HostProbe) async throws -> Current {
    let result = try await host.run(script())
    return Self.current(from: ProbeSections.parse(result.stdoutText))
  }

  static func current(from probe: ProbeSections) -> Current {
    if probe["no-ufw"] != nil { return Current(installed: false, status: "", rules: "", version: "", dryRun: nil) }
    return Current(
      installed: true, status: probe["status"]?.text ?? "", rules: probe["rules"].map { $0.text.isEmpty ? "" : $0.text + "\n" } ?? "",
      version: probe["version"]?.text ?? "", dryRun: probe["dry"].map { $0.text + ($0.text.isEmpty ? "" : "\n") })
  }

  static func containsIPv4(_ line: Substring) -> Bool {
    let chars = Array(line)
    var i = 0
    while i < chars.count {
      var j = i
      var octets = 0
      while octets < 4 {
        let start = j
        while j < chars.count, chars[j].isASCII, chars[j].isNumber, j - start < 3 { j += 1 }
        guard j > start, let n = Int(String(chars[start..<j])), n <= 255 else { break }
        octets += 1
        if octets < 4 {
          guard j < chars.count, chars[j] == "." else { break }
          j += 1
        }
      }
      if octets == 4 { return true }
      i += 1
    }
    return false
  }

  static func containsIPv6(_ line: Substring) -> Bool {
    line.contains("::") || line.split(whereSeparator: { !$0.isHexDigit && $0 != ":" }).contains { $0.filter { $0 == ":" }.count >= 7 }
  }

  static func startsWithIPv4(_ ip: String) -> Bool {
    let head = ip.prefix { $0.isNumber || $0 == "." }
    return head.split(separator: ".").count == 4 && containsIPv4(Substring(head))
  }

  static func startsWithIPv6(_ ip: String) -> Bool {
    ip.contains(":") && ip.first.map { $0.isHexDigit || $0 == ":" } == true
  }

  /// Whether the rule would change the rules, as the module's check mode decides from a dry run.
  func ruleChanges(_ current: Current) -> Bool {
    guard let dry = current.dryRun else { return false }
    let lines = dry.split(separator: "\n", omittingEmptySubsequences: true)
    let skipping = lines.filter { $0.contains("Skipping") }.count
    if skipping > 0 && skipping == lines.count { return false }
    let dryTuples = lines.filter { $0.hasPrefix("### tuple") }
    let preTuples = current.rules.split(separator: "\n", omittingEmptySubsequences: true)
    if Self.startsWithIPv4(fromIP) || Self.startsWithIPv4(toIP) {
      return preTuples.filter { Self.containsIPv4($0) } != dryTuples.filter { Self.containsIPv4($0) }
    }
    if Self.startsWithIPv6(fromIP) || Self.startsWithIPv6(toIP) {
      return preTuples.filter { Self.containsIPv6($0) } != dryTuples.filter { Self.containsIPv6($0) }
    }
    return preTuples != dryTuples
  }

  public func plan(from current: Current) throws -> Plan {
    guard current.installed else {
      return .failed("ufw is not installed on this host", result: ["hint": "install the ufw package first, or manage the firewall with the iptables module"])
    }
    var steps: [Step] = []
    if let state {
      let enabled = current.status.contains(" active")
      let verb = ["enabled": "enable", "disabled": "disable", "reloaded": "reload", "reset": "reset"][state] ?? state
      if state == "reloaded" || state == "reset" || (state == "enabled" && !enabled) || (state == "disabled" && enabled) {
        steps.append(.shell(.update, "ufw \(verb)", "LANG=C ufw -f \(verb)"))
      }
    }
    if let defaultPolicy {
      let changed: Bool
      if let values = Self.defaults(current.status) {
        let v = values[direction ?? "incoming"] ?? ""
        changed = v != defaultPolicy && v != "disabled"
      } else {
        changed = true
      }
      if changed {
        steps.append(.shell(.update, "ufw default \(defaultPolicy)", "LANG=C ufw default \(defaultPolicy)" + (direction.map { " \($0)" } ?? "")))
      }
    }
    if rule != nil {
      guard let version = Self.version(current.version) else {
        return .failed("Failed to get ufw version.")
      }
      if ruleChanges(current) {
        let words = ruleWords(version: version).joined(separator: " ")
        steps.append(.shell(delete ? .remove : .create, "ufw \(words)", "LANG=C ufw \(words)"))
      }
    }
    if let logging {
      var changed = true
      if let (onOff, level) = Self.logging(current.status) {
        if logging != "off" {
          changed = onOff == "off" || (logging != "on" && logging != level)
        } else {
          changed = onOff != "off"
        }
      }
      if changed { steps.append(.shell(.update, "ufw logging \(logging)", "LANG=C ufw logging \(logging)")) }
    }
    let commands = steps.compactMap { step -> Value? in
      if case .shell(let c, _) = step.action { return .string(String(c.dropFirst("LANG=C ".count))) }
      return nil
    }
    let diffs = steps.map { FileDiff.attribute("ufw", before: "", after: $0.summary + "\n") }
    return Plan(steps: steps, diffs: diffs, result: ["commands": .list(commands)])
  }

  /// `Default: deny (incoming), allow (outgoing), disabled (routed)`.
  static func defaults(_ status: String) -> [String: String]? {
    guard let line = status.split(separator: "\n").first(where: { $0.contains("Default: ") }) else { return nil }
    var out: [String: String] = [:]
    let body = line[line.range(of: "Default: ")!.upperBound...]
    for part in body.split(separator: ",") {
      let words = part.split(separator: " ")
      guard words.count == 2 else { continue }
      let dir = words[1].trimmingCharacters(in: CharacterSet(charactersIn: "()"))
      out[dir] = String(words[0])
    }
    return out["incoming"] != nil && out["outgoing"] != nil && out["routed"] != nil ? out : nil
  }

  /// `Logging: on (low)` → ("on", "low").
  static func logging(_ status: String) -> (String, String?)? {
    guard let r = status.range(of: "Logging: ") else { return nil }
    let rest = status[r.upperBound...].prefix { $0 != "\n" }
    let words = rest.split(separator: " ")
    guard let first = words.first, first == "on" || first == "off" else { return nil }
    var level: String?
    if words.count > 1, words[1].hasPrefix("("), words[1].hasSuffix(")") { level = String(words[1].dropFirst().dropLast()) }
    return (String(first), level)
  }
}
