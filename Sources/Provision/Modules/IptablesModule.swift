import Foundation
import Inventory

/// Adds or removes one iptables rule, sets a chain's policy, flushes a chain, or creates or
/// deletes a chain: `iptables`, as Ansible's module.
///
/// Keys (as Ansible): `table`, `chain`, `state` (present, absent), `action` (append, insert),
/// `rule_num`, `ip_version` (ipv4, ipv6), `protocol`, `source`, `destination`, `match` (list),
/// `tcp_flags` (`flags`, `flags_set`), `jump`, `gateway`, `log_prefix`, `log_level`,
/// `to_destination`, `destination_ports` (list, multiport), `to_source`, `goto`,
/// `in_interface`, `out_interface`, `fragment`, `set_counters`, `source_port`,
/// `destination_port`, `to_ports`, `set_dscp_mark`, `set_dscp_mark_class`, `syn` (ignore,
/// match, negate), `ctstate` (list), `src_range`, `dst_range`, `match_set`, `match_set_flags`,
/// `limit`, `limit_burst`, `uid_owner`, `gid_owner`, `reject_with`, `icmp_type`, `comment`,
/// `wait`, `flush`, `policy`, `chain_management`, `numeric`.
///
/// Provision extension: `persist: true` saves the rules with `iptables-save` to
/// `/etc/iptables/rules.v4` (`rules.v6` for ipv6; written to a temporary file, then renamed)
/// when the host has `netfilter-persistent` or that file, and the saved file differs from the
/// running rules (comments and counters aside) or the task changes them. Default false, as
/// Ansible's module never saves.
///
/// `check` reads `iptables --version` and runs `iptables -C` (or `-L CHAIN` for a policy or a
/// chain) in one command; the rule's options are in the order Ansible's `construct_rule`
/// writes them, so `-C` and `iptables -S` agree with rules Ansible added. Needs root.
///
/// ```yaml
/// - iptables: { chain: INPUT, protocol: tcp, destination_port: "18080", jump: ACCEPT, comment: rancher, persist: true }
/// ```
public struct IptablesModule: Module {
  public static let name = "iptables"
  public static let arguments = ArgumentSpec(
    [
      .init("table", choices: ["filter", "nat", "mangle", "raw", "security"], default: "filter"),
      .init("state", choices: ["absent", "present"], default: "present"),
      .init("action", choices: ["append", "insert"], default: "append"),
      .init("ip_version", choices: ["ipv4", "ipv6"], default: "ipv4"),
      .init("chain"), .init("rule_num"), .init("protocol"), .init("wait"), .init("source"), .init("to_source"),
      .init("destination"), .init("to_destination"), .init("match", .list, default: .list([])),
      .init("tcp_flags", .dict), .init("jump"), .init("gateway"), .init("log_prefix"),
      .init(
        "log_level",
        choices: ["0", "1", "2", "3", "4", "5", "6", "7", "emerg", "alert", "crit", "error", "warning", "notice", "info", "debug"]),
      .init("goto"), .init("in_interface"), .init("out_interface"), .init("fragment"), .init("set_counters"),
      .init("source_port"), .init("destination_port"), .init("destination_ports", .list, default: .list([])),
      .init("to_ports"), .init("set_dscp_mark"), .init("set_dscp_mark_class"), .init("comment"),
      .init("ctstate", .list, default: .list([])), .init("src_range"), .init("dst_range"), .init("match_set"),
      .init("match_set_flags", choices: ["src", "dst", "src,dst", "dst,src", "src,src", "dst,dst"]),
      .init("limit"), .init("limit_burst"), .init("uid_owner"), .init("gid_owner"), .init("reject_with"),
      .init("icmp_type"), .init("syn", choices: ["ignore", "match", "negate"], default: "ignore"),
      .init("flush", .bool, default: false), .init("policy", choices: ["ACCEPT", "DROP", "QUEUE", "RETURN"]),
      .init("chain_management", .bool, default: false), .init("numeric", .bool, default: false),
      .init("persist", .bool, default: false),
    ],
    mutuallyExclusive: [["set_dscp_mark", "set_dscp_mark_class"], ["flush", "policy"]])

  /// The module's parameters as `construct_rule` reads them: nil for unset.
  public struct Params: Sendable, Equatable {
    public var table = "filter"
    public var chain: String?
    public var ipVersion = "ipv4"
    public var ruleNum: String?
    public var wait: String?
    public var proto: String?
    public var source: String?
    public var destination: String?
    public var match: [String] = []
    public var tcpFlags: (flags: [String], flagsSet: [String])?
    public var jump: String?
    public var gateway: String?
    public var logPrefix: String?
    public var logLevel: String?
    public var toDestination: String?
    public var destinationPorts: [String] = []
    public var toSource: String?
    public var goto: String?
    public var inInterface: String?
    public var outInterface: String?
    public var fragment: String?
    public var setCounters: String?
    public var sourcePort: String?
    public var destinationPort: String?
    public var toPorts: String?
    public var setDscpMark: String?
    public var setDscpMarkClass: String?
    public var syn = "ignore"
    public var ctstate: [String] = []
    public var srcRange: String?
    public var dstRange: String?
    public var matchSet: String?
    public var matchSetFlags: String?
    public var limit: String?
    public var limitBurst: String?
    public var uidOwner: String?
    public var gidOwner: String?
    public var rejectWith: String?
    public var icmpType: String?
    public var comment: String?

    public init() {}

    public static func == (a: Params, b: Params) -> Bool {
      IptablesModule.constructRule(a) == IptablesModule.constructRule(b) && a.table == b.table && a.chain == b.chain
    }
  }

  /// What the host said: the iptables version and the answer to the one question the task asks.
  public struct Current: Sendable, Equatable {
    /// `iptables --version` (`iptables v1.8.9 (nf_tables)`); nil when iptables is missing.
    var version: String?
    /// `iptables -C` succeeded (rule mode).
    var rulePresent: Bool
    /// `iptables -L CHAIN` output and status (policy and chain modes).
    var listing: String
    var listingStatus: Int
    /// Whether the host has a way to persist rules, and whether the saved file matches.
    var canPersist: Bool
    var persistedInSync: Bool
  }

  enum Mode: Equatable { case flush, policy, chainAbsent, chainPresent, rule }

  var params: Params
  let state: String
  let insert: Bool
  let flush: Bool
  let policy: String?
  let chainManagement: Bool
  let persist: Bool
  /// `construct_rule` before the version check and the LOG default, as Ansible reports it.
  let reportedRule: [String]

  public init(_ arguments: ModuleArguments) throws {
    var p = Params()
    p.table = arguments.string("table") ?? "filter"
    p.chain = arguments.string("chain")
    p.ipVersion = arguments.string("ip_version") ?? "ipv4"
    p.ruleNum = arguments.string("rule_num")
    p.wait = arguments.string("wait")
    p.proto = arguments.string("protocol")
    p.source = arguments.string("source")
    p.destination = arguments.string("destination")
    p.match = arguments.list("match") ?? []
    if let flags = arguments["tcp_flags"]?.dictValue {
      func strings(_ key: String) -> [String]? {
        switch flags[key] {
        case .list(let items)?: return items.compactMap(ModuleArguments.text)
        case .string(let s)?: return s.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        default: return nil
        }
      }
      if let f = strings("flags"), let s = strings("flags_set") { p.tcpFlags = (f, s) }
    }
    p.jump = arguments.string("jump")
    p.gateway = arguments.string("gateway")
    p.logPrefix = arguments.string("log_prefix")
    p.logLevel = arguments.string("log_level")
    p.toDestination = arguments.string("to_destination")
    p.destinationPorts = arguments.list("destination_ports") ?? []
    p.toSource = arguments.string("to_source")
    p.goto = arguments.string("goto")
    p.inInterface = arguments.string("in_interface")
    p.outInterface = arguments.string("out_interface")
    p.fragment = arguments.string("fragment")
    p.setCounters = arguments.string("set_counters")
    p.sourcePort = arguments.string("source_port")
    p.destinationPort = arguments.string("destination_port")
    p.toPorts = arguments.string("to_ports")
    p.setDscpMark = arguments.string("set_dscp_mark")
    p.setDscpMarkClass = arguments.string("set_dscp_mark_class")
    p.syn = arguments.string("syn") ?? "ignore"
    p.ctstate = arguments.list("ctstate") ?? []
    p.srcRange = arguments.string("src_range")
    p.dstRange = arguments.string("dst_range")
    p.matchSet = arguments.string("match_set")
    p.matchSetFlags = arguments.string("match_set_flags")
    p.limit = arguments.string("limit")
    p.limitBurst = arguments.string("limit_burst")
    p.uidOwner = arguments.string("uid_owner")
    p.gidOwner = arguments.string("gid_owner")
    p.rejectWith = arguments.string("reject_with")
    p.icmpType = arguments.string("icmp_type")
    p.comment = arguments.string("comment")

    if let jump = p.jump, jump.lowercased() == "tee", p.gateway == nil {
      throw ModuleError("jump is \(jump) but all of the following are missing: gateway")
    }
    if (p.setDscpMark != nil || p.setDscpMarkClass != nil) && p.jump == nil {
      throw ModuleError("missing parameter(s) required by '\(p.setDscpMark != nil ? "set_dscp_mark" : "set_dscp_mark_class")': jump")
    }
    state = arguments.string("state") ?? "present"
    insert = arguments.string("action") == "insert"
    flush = arguments.bool("flush")
    policy = arguments.string("policy")
    chainManagement = arguments.bool("chain_management")
    persist = arguments.bool("persist")
    reportedRule = Self.constructRule(p)
    if !flush && p.chain == nil {
      throw ModuleError("Either chain or flush parameter must be specified.")
    }
    if p.logPrefix != nil || p.logLevel != nil {
      if p.jump == nil {
        p.jump = "LOG"
      } else if p.jump != "LOG" {
        throw ModuleError("Logging options can only be used with the LOG jump target.")
      }
    }
    params = p
  }

  var mode: Mode {
    if flush { return .flush }
    if policy != nil { return .policy }
    if reportedRule.isEmpty { return state == "absent" ? .chainAbsent : .chainPresent }
    return .rule
  }

  var binary: String { params.ipVersion == "ipv6" ? "ip6tables" : "iptables" }
  var rulesFile: String { params.ipVersion == "ipv6" ? "/etc/iptables/rules.v6" : "/etc/iptables/rules.v4" }

  // MARK: - construct_rule, as ansible-core 2.17's iptables module

  static func appendParam(_ rule: inout [String], _ param: String?, _ flag: String) {
    guard let param else { return }
    if param.first == "!" {
      rule += ["!", flag, String(param.dropFirst())]
    } else {
      rule += [flag, param]
    }
  }

  static func appendMatchFlag(_ rule: inout [String], _ param: String?, _ flag: String, negatable: Bool) {
    if param == "match" {
      rule.append(flag)
    } else if negatable && param == "negate" {
      rule += ["!", flag]
    }
  }

  static func appendCSV(_ rule: inout [String], _ param: [String], _ flag: String) {
    if !param.isEmpty { rule += [flag, param.joined(separator: ",")] }
  }

  static func appendMatch(_ rule: inout [String], _ present: Bool, _ match: String) {
    if present { rule += ["-m", match] }
  }

  static func appendJump(_ rule: inout [String], _ present: Bool, _ jump: String) {
    if present { rule += ["-j", jump] }
  }

  /// The rule's options in the order Ansible's `construct_rule` writes them.
  public static func constructRule(_ p: Params) -> [String] {
    var rule: [String] = []
    if let wait = p.wait, !wait.isEmpty { rule += ["-w", wait] }
    appendParam(&rule, p.proto, "-p")
    appendParam(&rule, p.source, "-s")
    appendParam(&rule, p.destination, "-d")
    for m in p.match { appendParam(&rule, m, "-m") }
    if let flags = p.tcpFlags { rule += ["--tcp-flags", flags.flags.joined(separator: ","), flags.flagsSet.joined(separator: ",")] }
    appendParam(&rule, p.jump, "-j")
    if let jump = p.jump, jump.lowercased() == "tee" { appendParam(&rule, p.gateway, "--gateway") }
    appendParam(&rule, p.logPrefix, "--log-prefix")
    appendParam(&rule, p.logLevel, "--log-level")
    appendParam(&rule, p.toDestination, "--to-destination")
    appendMatch(&rule, !p.destinationPorts.isEmpty, "multiport")
    appendCSV(&rule, p.destinationPorts, "--dports")
    appendParam(&rule, p.toSource, "--to-source")
    appendParam(&rule, p.goto, "-g")
    appendParam(&rule, p.inInterface, "-i")
    appendParam(&rule, p.outInterface, "-o")
    appendParam(&rule, p.fragment, "-f")
    appendParam(&rule, p.setCounters, "-c")
    appendParam(&rule, p.sourcePort, "--source-port")
    appendParam(&rule, p.destinationPort, "--destination-port")
    appendParam(&rule, p.toPorts, "--to-ports")
    appendParam(&rule, p.setDscpMark, "--set-dscp")
    if p.setDscpMark != nil, p.jump?.lowercased() != "dscp" { appendJump(&rule, true, "DSCP") }
    appendParam(&rule, p.setDscpMarkClass, "--set-dscp-class")
    if p.setDscpMarkClass != nil, p.jump?.lowercased() != "dscp" { appendJump(&rule, true, "DSCP") }
    appendMatchFlag(&rule, p.syn, "--syn", negatable: true)
    if p.match.contains("conntrack") {
      appendCSV(&rule, p.ctstate, "--ctstate")
    } else if p.match.contains("state") {
      appendCSV(&rule, p.ctstate, "--state")
    } else if !p.ctstate.isEmpty {
      appendMatch(&rule, true, "conntrack")
      appendCSV(&rule, p.ctstate, "--ctstate")
    }
    if p.match.contains("iprange") {
      appendParam(&rule, p.srcRange, "--src-range")
      appendParam(&rule, p.dstRange, "--dst-range")
    } else if p.srcRange != nil || p.dstRange != nil {
      appendMatch(&rule, true, "iprange")
      appendParam(&rule, p.srcRange, "--src-range")
      appendParam(&rule, p.dstRange, "--dst-range")
    }
    if p.match.contains("set") {
      appendParam(&rule, p.matchSet, "--match-set")
      if let flags = p.matchSetFlags { rule.append(flags) }
    } else if p.matchSet != nil {
      appendMatch(&rule, true, "set")
      appendParam(&rule, p.matchSet, "--match-set")
      if let flags = p.matchSetFlags { rule.append(flags) }
    }
    appendMatch(&rule, !(p.limit ?? "").isEmpty || !(p.limitBurst ?? "").isEmpty, "limit")
    appendParam(&rule, p.limit, "--limit")
    appendParam(&rule, p.limitBurst, "--limit-burst")
    appendMatch(&rule, !(p.uidOwner ?? "").isEmpty, "owner")
    appendMatchFlag(&rule, p.uidOwner, "--uid-owner", negatable: true)
    appendParam(&rule, p.uidOwner, "--uid-owner")
    appendMatch(&rule, !(p.gidOwner ?? "").isEmpty, "owner")
    appendMatchFlag(&rule, p.gidOwner, "--gid-owner", negatable: true)
    appendParam(&rule, p.gidOwner, "--gid-owner")
    if p.jump == nil {
      appendJump(&rule, !(p.rejectWith ?? "").isEmpty, "REJECT")
      appendJump(&rule, !(p.setDscpMarkClass ?? "").isEmpty, "DSCP")
      appendJump(&rule, !(p.setDscpMark ?? "").isEmpty, "DSCP")
    }
    appendParam(&rule, p.rejectWith, "--reject-with")
    appendParam(&rule, p.icmpType, p.ipVersion == "ipv6" ? "--icmpv6-type" : "--icmp-type")
    appendMatch(&rule, !(p.comment ?? "").isEmpty, "comment")
    appendParam(&rule, p.comment, "--comment")
    return rule
  }

  /// `[iptables, -t, table, action, chain, (rule_num), rule...]`, as Ansible's `push_arguments`.
  static func pushArguments(_ binary: String, _ action: String, _ p: Params, makeRule: Bool = true) -> [String] {
    var cmd = [binary, "-t", p.table, action]
    if let chain = p.chain { cmd.append(chain) }
    if action == "-I", let n = p.ruleNum, !n.isEmpty { cmd.append(n) }
    if makeRule { cmd += constructRule(p) }
    return cmd
  }

  /// Whether `iptables --version` is at least 1.6.0, the first to take `-w SECONDS`.
  static func waitTakesSeconds(_ version: String?) -> Bool {
    guard let version, let v = version.range(of: "v") else { return false }
    let numbers = version[v.upperBound...].prefix { $0.isNumber || $0 == "." }.split(separator: ".").compactMap { Int($0) }
    return !numbers.lexicographicallyPrecedes([1, 6, 0])
  }

  /// The parameters with `wait` as Ansible adjusts it to the host's iptables version.
  func adjusted(for version: String?) -> Params {
    var p = params
    if !Self.waitTakesSeconds(version) { p.wait = nil }
    return p
  }

  static func commandLine(_ argv: [String]) -> String { argv.map(ShellQuoting.quote).joined(separator: " ") }

  // MARK: - Check

  func script() -> String {
    let b = binary
    var s = "if ! command -v \(b) >/dev/null 2>&1; then \(ProbeSections.section("missing", "true")) exit 0; fi\n"
    s += "v=$(\(b) --version 2>/dev/null)\n"
    s += ProbeSections.section("version", "printf '%s' \"$v\"")
    s += "case $v in *\" v0.\"* | *\" v1.\"[0-5]\".\"*) w=n ;; *) w=y ;; esac\n"
    switch mode {
    case .rule:
      let withWait = params
      var withoutWait = params
      withoutWait.wait = nil
      let check = "if [ $w = y ]; then \(Self.commandLine(Self.pushArguments(b, "-C", withWait))); else \(Self.commandLine(Self.pushArguments(b, "-C", withoutWait))); fi"
      s += ProbeSections.section("check", check)
    case .policy, .chainAbsent, .chainPresent:
      s += ProbeSections.section("list", Self.commandLine(Self.pushArguments(b, "-L", params, makeRule: false) + ["-n"]))
    case .flush:
      break
    }
    if persist {
      let f = ShellQuoting.quote(rulesFile)
      s += ProbeSections.section(
        "can-persist",
        "command -v netfilter-persistent >/dev/null 2>&1 || [ -x /usr/sbin/netfilter-persistent ] || [ -f \(f) ]")
      let normalize = "sed -e '/^#/d' -e 's/ \\[[0-9]*:[0-9]*\\]$//'"
      s += ProbeSections.section(
        "in-sync",
        "[ -f \(f) ] && a=$(\(b)-save 2>/dev/null | \(normalize) | cksum) && b=$(\(normalize) \(f) | cksum) && [ \"$a\" = \"$b\" ]")
    }
    return s
  }

  public func check(on host: HostProbe) async throws -> Current {
    let result = try await host.run(script())
    return Self.current(from: ProbeSections.parse(result.stdoutText))
  }

  static func current(from probe: ProbeSections) -> Current {
    if probe["missing"] != nil {
      return Current(version: nil, rulePresent: false, listing: "", listingStatus: 127, canPersist: false, persistedInSync: false)
    }
    return Current(
      version: probe["version"]?.trimmed, rulePresent: probe["check"]?.succeeded == true,
      listing: probe["list"]?.text ?? "", listingStatus: probe["list"]?.status ?? 0,
      canPersist: probe["can-persist"]?.succeeded == true, persistedInSync: probe["in-sync"]?.succeeded == true)
  }

  // MARK: - Plan

  public func plan(from current: Current) throws -> Plan {
    var result: OrderedDict = [
      "ip_version": .string(params.ipVersion), "table": .string(params.table),
      "chain": params.chain.map(Value.string) ?? .null, "flush": .bool(flush),
      "rule": .string(reportedRule.joined(separator: " ")), "state": .string(state),
      "chain_management": .bool(chainManagement),
    ]
    guard let version = current.version else {
      return .failed("Failed to find required executable \(binary) in paths: /usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin", result: result)
    }
    let p = adjusted(for: version)
    let b = binary
    var steps: [Step] = []
    var diffs: [FileDiff] = []
    let header = "\(b) -t \(params.table) \(params.chain ?? "")"
    switch mode {
    case .flush:
      steps.append(.argv(.update, "flush \(params.table)\(params.chain.map { " " + $0 } ?? "")", Self.pushArguments(b, "-F", p, makeRule: false)))
    case .policy:
      guard current.listingStatus == 0 else {
        return .failed(current.listing.trimmingCharacters(in: .whitespacesAndNewlines), result: result)
      }
      let first = current.listing.split(separator: "\n").first.map(String.init) ?? ""
      guard let now = Self.policy(inHeader: first) else { return .failed("Can't detect current policy", result: result) }
      if let policy, now != policy {
        steps.append(.argv(.update, "policy of \(params.chain ?? "") \(now) -> \(policy)", Self.pushArguments(b, "-P", p, makeRule: false) + [policy]))
        diffs.append(.attribute(header, before: "policy: \(now)\n", after: "policy: \(policy)\n"))
      }
    case .chainAbsent:
      if current.listingStatus == 0 && chainManagement {
        steps.append(.argv(.remove, "chain \(params.chain ?? "")", Self.pushArguments(b, "-X", p, makeRule: false)))
        diffs.append(.attribute(header, before: "chain: present\n", after: "chain: absent\n"))
      }
    case .chainPresent:
      if current.listingStatus != 0 && chainManagement {
        steps.append(.argv(.create, "chain \(params.chain ?? "")", Self.pushArguments(b, "-N", p, makeRule: false)))
        diffs.append(.attribute(header, before: "chain: absent\n", after: "chain: present\n"))
      }
    case .rule:
      let shouldBePresent = state == "present"
      if current.rulePresent != shouldBePresent {
        let ruleText = Self.constructRule(p).joined(separator: " ")
        if shouldBePresent {
          let action = insert ? "-I" : "-A"
          steps.append(.argv(.create, "rule \(action) \(params.chain ?? "") \(ruleText)", Self.pushArguments(b, action, p)))
        } else {
          steps.append(.argv(.remove, "rule -D \(params.chain ?? "") \(ruleText)", Self.pushArguments(b, "-D", p)))
        }
        diffs.append(
          .attribute(
            header, before: current.rulePresent ? ruleText + "\n" : "", after: shouldBePresent ? ruleText + "\n" : ""))
      }
    }
    if persist {
      if !current.canPersist {
        result["persisted"] = false
        result["persist_msg"] = .string("no netfilter-persistent and no \(rulesFile) on this host: rules not saved")
      } else if !steps.isEmpty || !current.persistedInSync {
        steps.append(saveStep())
        result["persisted"] = true
      } else {
        result["persisted"] = true
      }
    }
    return Plan(steps: steps, diffs: diffs, result: result)
  }

  /// `iptables-save` into the rules file through a temporary file in the same directory.
  func saveStep() -> Step {
    let f = ShellQuoting.quote(rulesFile)
    let dir = ShellQuoting.quote((rulesFile as NSString).deletingLastPathComponent)
    let name = (rulesFile as NSString).lastPathComponent
    let script = """
      mkdir -p \(dir) && t=$(mktemp \(dir)/.\(name).XXXXXX) || exit 1
      if \(binary)-save >"$t"; then :; else rm -f "$t"; exit 1; fi
      if [ -f \(f) ]; then chmod "$(stat -c %a \(f))" "$t"; else chmod 0640 "$t"; fi
      mv -f "$t" \(f)
      """
    return Step(.update, "save rules to \(rulesFile)", .shell(script))
  }

  /// `ACCEPT` from `Chain INPUT (policy ACCEPT)`.
  static func policy(inHeader line: String) -> String? {
    guard let r = line.range(of: "(policy ") else { return nil }
    let word = line[r.upperBound...].prefix { $0.isUppercase && $0.isLetter }
    guard !word.isEmpty, line[r.upperBound...].dropFirst(word.count).first == ")" else { return nil }
    return String(word)
  }
}
