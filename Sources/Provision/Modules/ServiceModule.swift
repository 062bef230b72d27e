import Foundation
import Inventory

/// Starts, stops, restarts or reloads a service and enables it at boot: `service`.
///
/// Keys: `name`, `state` (started, stopped, restarted, reloaded), `enabled`, `pattern` (a text
/// to look for in `ps auxww` instead of asking the init system), `sleep` (seconds between stop
/// and start on restart), `arguments` (`args`, appended to the init command), `runlevel`,
/// `use` (auto, systemd, upstart, sysvinit; default: detected per host), and for systemd hosts
/// `daemon_reload`, `daemon_reexec`, `masked`, `force`, `no_block`, `scope`.
///
/// `check` detects the init system and reads the service in one command: systemd when
/// `/run/systemd/system` exists (`systemctl show`, `systemctl is-enabled -l`); upstart when
/// `initctl` exists and `/etc/init/NAME.conf` does (`initctl status`, the `.conf` and
/// `.override` files: enabled means no `manual` stanza in the override); SysV otherwise
/// (`service NAME status`, the `/etc/rc?.d/S??NAME` links). `restarted` and `reloaded`
/// always change, as in Ansible. Starting and stopping need root (`become`).
///
/// ```yaml
/// - service: { name: docker, state: started, enabled: true }
/// ```
public struct ServiceModule: Module {
  public static let name = "service"
  public static let arguments = ArgumentSpec(
    [
      .init("name", required: true), .init("state", choices: ServiceRequest.states), .init("enabled", .bool),
      .init("pattern"), .init("sleep", .int), .init("arguments", aliases: ["args"], default: ""),
      .init("runlevel", default: "default"),
      .init("use", choices: ["auto", "systemd", "upstart", "sysvinit", "sysv", "service"], default: "auto"),
      .init("daemon_reload", .bool, aliases: ["daemon-reload"], default: false),
      .init("daemon_reexec", .bool, aliases: ["daemon-reexec"], default: false), .init("masked", .bool),
      .init("force", .bool), .init("no_block", .bool, default: false), .init("_check", .bool),
      .init("scope", choices: ["system", "user", "global"], default: "system"),
    ],
    requiredOneOf: [["state", "enabled", "masked", "daemon_reload", "daemon_reexec"]])

  var request: ServiceRequest

  public init(_ arguments: ModuleArguments) throws {
    request = try ServiceRequest(arguments, flavor: .service)
  }

  public func check(on host: HostProbe) async throws -> ServiceRequest.Current { try await request.check(on: host) }
  public func plan(from current: ServiceRequest.Current) throws -> Plan { request.plan(from: current) }
}

/// Controls a systemd unit: `systemd` (and `systemd_service`).
///
/// Keys: `name` (`service`, `unit`), `state`, `enabled`, `masked`, `daemon_reload`,
/// `daemon_reexec`, `force`, `no_block`, `scope`. `check` runs `systemctl show` and
/// `systemctl is-enabled -l` in one command; fails on hosts where systemd is not running.
/// The result carries `status`, the unit's properties as `systemctl show` prints them.
///
/// ```yaml
/// - systemd: { name: docker, state: restarted, daemon_reload: true }
/// ```
public struct SystemdModule: Module {
  public static let name = "systemd"
  public static let arguments = ArgumentSpec(
    [
      .init("name", aliases: ["service", "unit"]), .init("state", choices: ServiceRequest.states), .init("enabled", .bool),
      .init("force", .bool), .init("masked", .bool),
      .init("daemon_reload", .bool, aliases: ["daemon-reload"], default: false),
      .init("daemon_reexec", .bool, aliases: ["daemon-reexec"], default: false),
      .init("scope", choices: ["system", "user", "global"], default: "system"), .init("no_block", .bool, default: false), .init("_check", .bool),
    ],
    requiredOneOf: [["state", "enabled", "masked", "daemon_reload", "daemon_reexec"]])

  var request: ServiceRequest

  public init(_ arguments: ModuleArguments) throws {
    request = try ServiceRequest(arguments, flavor: .systemd)
  }

  public func check(on host: HostProbe) async throws -> ServiceRequest.Current { try await request.check(on: host) }
  public func plan(from current: ServiceRequest.Current) throws -> Plan { request.plan(from: current) }
}

/// `systemd_service`: the same module as `systemd`, under its newer name.
public struct SystemdServiceModule: Module {
  public static let name = "systemd_service"
  public static let arguments = SystemdModule.arguments
  var inner: SystemdModule
  public init(_ arguments: ModuleArguments) throws { inner = try SystemdModule(arguments) }
  public func check(on host: HostProbe) async throws -> ServiceRequest.Current { try await inner.check(on: host) }
  public func plan(from current: ServiceRequest.Current) throws -> Plan { try inner.plan(from: current) }
}

/// Controls a SysV init script: `sysvinit`.
///
/// Keys: `name` (`service`), `state`, `enabled`, `sleep` (default 1), `pattern`, `arguments`
/// (`args`), `runlevels`, `daemonize`. `check` runs `service NAME status` and lists the
/// `/etc/rc?.d` links in one command; enabling uses `update-rc.d`.
///
/// ```yaml
/// - sysvinit: { name: docker, state: started, enabled: true }
/// ```
public struct SysvinitModule: Module {
  public static let name = "sysvinit"
  public static let arguments = ArgumentSpec(
    [
      .init("name", required: true, aliases: ["service"]), .init("state", choices: ServiceRequest.states),
      .init("enabled", .bool), .init("sleep", .int, default: 1), .init("pattern"), .init("arguments", aliases: ["args"]),
      .init("runlevels", .list), .init("daemonize", .bool, default: false),
    ],
    requiredOneOf: [["state", "enabled"]])

  var request: ServiceRequest

  public init(_ arguments: ModuleArguments) throws {
    request = try ServiceRequest(arguments, flavor: .sysvinit)
  }

  public func check(on host: HostProbe) async throws -> ServiceRequest.Current { try await request.check(on: host) }
  public func plan(from current: ServiceRequest.Current) throws -> Plan { request.plan(from: current) }
}

/// The init systems `service` knows.
public enum ServiceBackend: String, Sendable, Equatable {
  case systemd, upstart, sysv, none
}

/// What `service`, `systemd` and `sysvinit` share: the request, the probe and the plan.
public struct ServiceRequest: Sendable {
  static let states = ["started", "stopped", "restarted", "reloaded"]

  enum Flavor: Sendable { case service, systemd, sysvinit }

  public struct Current: Sendable, Equatable {
    var backend: ServiceBackend
    var probe: ProbeSections
  }

  var flavor: Flavor
  var name: String
  var state: String?
  var enabled: Bool?
  var pattern: String?
  var sleep: Int?
  var arguments: String
  /// The backend the task forces, or nil to detect it.
  var use: ServiceBackend?
  var daemonReload: Bool
  var daemonReexec: Bool
  var masked: Bool?
  var force: Bool
  var noBlock: Bool
  var scope: String
  var runlevels: [String]?
  /// Planning for check mode, where an earlier task may be about to install the service.
  var isCheck = false

  init(_ arguments: ModuleArguments, flavor: Flavor) throws {
    self.flavor = flavor
    isCheck = arguments.bool("_check")
    let name = arguments.string("name") ?? ""
    for glob in ["*", "?", "["] where name.contains(glob) {
      throw ModuleError(
        "This module does not currently support using glob patterns, found '\(glob)' in service name: \(name)")
    }
    if name.isEmpty && (arguments["state"] != nil || arguments["enabled"] != nil || arguments["masked"] != nil) {
      throw ModuleError("missing parameter(s) required by 'state': name")
    }
    self.name = name
    state = arguments.string("state")
    enabled = arguments.optionalBool("enabled")
    pattern = arguments.string("pattern")
    sleep = arguments.int("sleep")
    self.arguments = arguments.string("arguments") ?? ""
    daemonReload = arguments.bool("daemon_reload")
    daemonReexec = arguments.bool("daemon_reexec")
    masked = arguments.optionalBool("masked")
    force = arguments.bool("force")
    noBlock = arguments.bool("no_block")
    scope = arguments.string("scope") ?? "system"
    runlevels = arguments.list("runlevels")
    switch flavor {
    case .systemd: use = .systemd
    case .sysvinit: use = .sysv
    case .service:
      switch arguments.string("use") ?? "auto" {
      case "systemd": use = .systemd
      case "upstart": use = .upstart
      case "sysvinit", "sysv", "service": use = .sysv
      default: use = nil
      }
    }
    if flavor == .systemd && name.isEmpty && !daemonReload && !daemonReexec {
      throw ModuleError("one of the following is required: state, enabled, masked, daemon_reload, daemon_reexec")
    }
  }

  var systemctl: String {
    var words = ["systemctl"]
    if scope != "system" { words.append("--\(scope)") }
    if noBlock { words.append("--no-block") }
    if force { words.append("--force") }
    return words.joined(separator: " ")
  }

  /// The probe: which init system, then what it says about the service, in one command.
  func script() -> String {
    let n = ShellQuoting.quote(name)
    var s = "n=\(n)\nb=none\n"
    let detectSystemd =
      "command -v systemctl >/dev/null 2>&1 && { [ -d /run/systemd/system ] || [ -d /dev/.run/systemd ] || [ -d /dev/.systemd ] || [ \"$(cat /proc/1/comm 2>/dev/null)\" = systemd ]; }"
    let detectUpstart = "command -v initctl >/dev/null 2>&1 && [ -f \"/etc/init/$n.conf\" ]"
    let detectSysv = "[ -f \"/etc/init.d/$n\" ]"
    switch use {
    case .systemd?: s += "if \(detectSystemd); then b=systemd; fi\n"
    case .upstart?: s += "if \(detectUpstart); then b=upstart; fi\n"
    case .sysv?: s += "if \(detectSysv); then b=sysv; fi\n"
    default:
      s += "if \(detectSystemd); then b=systemd\nelif \(detectUpstart); then b=upstart\nelif \(detectSysv); then b=sysv\nfi\n"
    }
    s += ProbeSections.section("backend", "printf '%s' \"$b\"")
    let args = arguments.isEmpty ? "" : " " + arguments
    var systemd = ""
    if !name.isEmpty {
      systemd += ProbeSections.section("show", "\(systemctl) show \"$n\"", mergeStderr: false)
      systemd += ProbeSections.section("is-enabled", "\(systemctl) is-enabled \"$n\" -l")
    }
    systemd += ProbeSections.section("initd", "[ -x \"/etc/init.d/$n\" ]")
    systemd += ProbeSections.section("slinks", "ls -d /etc/rc?.d/S??\"$n\"", mergeStderr: false)
    var upstart = ProbeSections.section("status", "initctl status \"$n\"\(args)", mergeStderr: false)
    upstart += ProbeSections.section("version", "initctl version")
    upstart += ProbeSections.file("conf", "/etc/init/\(name).conf")
    upstart += ProbeSections.file("override", "/etc/init/\(name).override")
    let statusCommand =
      flavor == .sysvinit && pattern == nil
      ? "if command -v service >/dev/null 2>&1; then service \"$n\" status; else \"/etc/init.d/$n\" status; fi"
      : "if command -v service >/dev/null 2>&1; then service \"$n\" status\(args); else \"/etc/init.d/$n\" status\(args); fi"
    var sysv = pattern == nil ? ProbeSections.section("status", statusCommand, mergeStderr: false) : ""
    sysv += ProbeSections.section("slinks", "ls -d /etc/rc?.d/S??\"$n\"", mergeStderr: false)
    sysv += ProbeSections.section("klinks", "ls -d /etc/rc?.d/K??\"$n\"", mergeStderr: false)
    sysv += ProbeSections.section(
      "tools", "for t in service update-rc.d chkconfig insserv; do command -v $t >/dev/null 2>&1 && echo $t; done; :")
    if let runlevels {
      for level in runlevels {
        sysv += ProbeSections.section("slinks-\(level)", "ls -d /etc/rc\(level).d/S??\"$n\"", mergeStderr: false)
      }
    }
    s += "case $b in\nsystemd)\n\(systemd);;\nupstart)\n\(upstart);;\nsysv)\n\(sysv);;\nesac\n"
    if pattern != nil { s += ProbeSections.section("ps", "ps auxww", mergeStderr: false) }
    return s
  }

  func check(on host: HostProbe) async throws -> Current {
    let result = try await host.run(script())
    let probe = ProbeSections.parse(result.stdoutText)
    guard let backend = probe["backend"].flatMap({ ServiceBackend(rawValue: $0.trimmed) }) else {
      throw ModuleError("cannot probe service '\(name)': \(result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))")
    }
    return Current(backend: backend, probe: probe)
  }

  // MARK: - Plan

  func plan(from current: Current) -> Plan {
    var result: OrderedDict = [:]
    if !name.isEmpty { result["name"] = .string(name) }
    switch current.backend {
    case .systemd: return planSystemd(current.probe, result: result)
    case .upstart, .sysv: return planClassic(current.backend, current.probe, result: result)
    case .none:
      if flavor == .systemd || use == .systemd {
        return .failed("systemd is not the init system on this host (no /run/systemd/system); use 'service' instead", result: result)
      }
      if name.isEmpty { return Plan(result: result) }
      if let predicted = notInstalledYet(result: result) { return predicted }
      return .failed("Could not find the requested service \(name): host", result: result)
    }
  }

  /// In check mode a service that is not there yet is most likely installed by an earlier
  /// task that check mode did not run (a package): say what the real run would do instead of
  /// failing. A real run still fails when the service is missing.
  func notInstalledYet(result: OrderedDict) -> Plan? {
    guard isCheck else { return nil }
    // Debian packages start and enable their services when installed, so only a stopped,
    // disabled or restarted service is a change of its own.
    var steps: [Step] = []
    if state == "stopped" || state == "restarted" || state == "reloaded" {
      steps.append(.argv(.update, "\(state ?? "") \(name) (once an earlier task has installed it)", ["service", name, "stop"]))
    }
    if enabled == false {
      steps.append(.argv(.update, "disable \(name) (once an earlier task has installed it)", ["update-rc.d", name, "disable"]))
    }
    var r = result
    r["msg"] = .string("service \(name) is not installed yet; the package an earlier task installs starts it")
    return Plan(steps: steps, result: r)
  }

  /// `systemctl show` as Ansible parses it: `Key=value`, with `{ ... }` values over several lines.
  static func parseShow(_ text: String) -> OrderedDict {
    var dict = OrderedDict()
    var key: String?
    var buffer: [String] = []
    for line in text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init) {
      if let k = key {
        buffer.append(line)
        if line.hasSuffix("}") {
          dict[k] = .string(buffer.joined(separator: "\n"))
          key = nil
          buffer = []
        }
        continue
      }
      guard let eq = line.firstIndex(of: "=") else { continue }
      let k = String(line[..<eq])
      let value = String(line[line.index(after: eq)...])
      let trimmed = value.trimmingCharacters(in: .whitespaces)
      if trimmed.hasPrefix("{") && !trimmed.hasSuffix("}") {
        key = k
        buffer = [value]
      } else {
        dict[k] = .string(value)
      }
    }
    return dict
  }

  func planSystemd(_ probe: ProbeSections, result: OrderedDict) -> Plan {
    var result = result
    var steps: [Step] = []
    var diffs: [FileDiff] = []
    let show = probe["show"]
    var status = OrderedDict()
    if let show, show.succeeded, !show.text.contains("Failed to parse bus message") {
      status = Self.parseShow(show.text)
    }
    if flavor != .sysvinit { result["status"] = .dict(status) }
    let loadState = status["LoadState"]?.stringValue
    let isSystemd = loadState != nil && loadState != "not-found"
    let enabledOutput = probe["is-enabled"]?.trimmed ?? ""
    let validEnabledStates: Set<String> = [
      "enabled", "enabled-runtime", "linked", "linked-runtime", "masked", "masked-runtime", "static", "indirect",
      "disabled", "generated", "transient",
    ]
    let isInitd = probe["initd"]?.succeeded == true
    let found = isSystemd || isInitd || validEnabledStates.contains(enabledOutput.split(separator: "\n").first.map(String.init) ?? "")
    if isSystemd && loadState != "masked", let error = status["LoadError"]?.stringValue {
      return .failed("Error loading unit file '\(name)': \(error)", result: result)
    }
    let missing = notInstalledYet(result: result)
      ?? Plan.failed("Could not find the requested service \(name): host", result: result)
    let unit = ShellQuoting.quote(name)
    let firstLine = enabledOutput.split(separator: "\n").first.map(String.init) ?? ""

    if let masked {
      let isMasked = firstLine == "masked" || firstLine == "masked-runtime"
      if isMasked != masked {
        steps.append(.shell(.update, "\(masked ? "mask" : "unmask") \(name)", "\(systemctl) \(masked ? "mask" : "unmask") \(unit)"))
        diffs.append(.attribute("service \(name)", before: "masked: \(isMasked)\n", after: "masked: \(masked)\n"))
      }
    }
    if let enabled {
      if !found { return missing }
      var isEnabled = false
      let rc = probe["is-enabled"]?.status ?? 1
      let lines = enabledOutput.split(separator: "\n").map(String.init)
      if rc == 0 {
        isEnabled = !(lines == ["indirect"] || lines == ["alias"])
      } else if rc == 1 {
        if scope == "system" && isInitd && !enabledOutput.hasSuffix("disabled") && probe["slinks"]?.succeeded == true {
          isEnabled = true
        }
      }
      result["enabled"] = .bool(isEnabled)
      if isEnabled != enabled {
        steps.append(.shell(.update, "\(enabled ? "enable" : "disable") \(name)", "\(systemctl) \(enabled ? "enable" : "disable") \(unit)"))
        diffs.append(.attribute("service \(name)", before: "enabled: \(isEnabled)\n", after: "enabled: \(enabled)\n"))
        result["enabled"] = .bool(enabled)
      }
    }
    if let state {
      if !found { return missing }
      result["state"] = .string(state)
      guard let active = status["ActiveState"]?.stringValue else {
        return .failed("Service is in unknown state", result: result)
      }
      let running = active == "active" || active == "activating"
      var action: String?
      switch state {
      case "started": if !running { action = "start" }
      case "stopped": if running || active == "deactivating" { action = "stop" }
      default:
        action = running ? String(state.dropLast(2)) : "start"
        result["state"] = "started"
      }
      if let action {
        steps.append(.shell(.run, "\(action) \(name)", "\(systemctl) \(action) \(unit)"))
        diffs.append(.attribute("service \(name)", before: "state: \(running ? "started" : "stopped")\n", after: "state: \(result["state"]?.stringValue ?? state)\n"))
      }
    }
    // daemon-reload runs first when anything else runs, or when systemd says a unit file changed.
    var prelude: [Step] = []
    if daemonReload && (!steps.isEmpty || status["NeedDaemonReload"]?.stringValue == "yes" || name.isEmpty) {
      prelude.append(.shell(.run, "daemon-reload", "\(systemctl) daemon-reload"))
    }
    if daemonReexec && !steps.isEmpty { prelude.append(.shell(.run, "daemon-reexec", "\(systemctl) daemon-reexec")) }
    return Plan(steps: prelude + steps, diffs: diffs, result: result)
  }

  /// Whether the service runs, from a status command's output and exit status, as Ansible's
  /// `LinuxService.get_service_status` decides.
  static func interpretStatus(name: String, output: String, status: Int, upstart: Bool) -> Bool? {
    var running: Bool?
    if upstart {
      if output.contains("stop/waiting") {
        running = false
      } else if output.contains("start/running") {
        running = true
      }
    }
    if running == nil && [1, 2, 3, 4, 69].contains(status) { running = false }
    let newlines = output.filter { $0 == "\n" }.count
    if running == nil && newlines <= 1 {
      let clean = output.lowercased().replacingOccurrences(of: name.lowercased(), with: "")
      if clean.contains("stop") {
        running = false
      } else if clean.contains("run") {
        running = !clean.contains("not ")
      } else if clean.contains("start") && !clean.contains("not ") {
        running = true
      } else if clean.contains("could not access pid file") || clean.contains("is dead and pid file exists")
        || clean.contains("dead but subsys locked") || clean.contains("dead but pid file exists")
      {
        running = false
      }
    }
    if running == nil && status == 0 { running = true }
    if running == nil && name == "iptables" && output.contains("ACCEPT") { running = true }
    return running
  }

  /// Whether the service runs, as Ansible's `sysvinit` module decides (keywords before status).
  static func interpretSysvinitStatus(name: String, output: String, status: Int) -> Bool {
    if name == "iptables" && output.contains("ACCEPT") { return true }
    if output.filter({ $0 == "\n" }).count <= 1 {
      let clean = output.lowercased().replacingOccurrences(of: name.lowercased(), with: "")
      for stopped in ["stop", "is dead ", "dead but ", "could not access pid file", "inactive"] where clean.contains(stopped) {
        return false
      }
      for started in ["run", "start", "active"] where clean.contains(started) && !clean.contains("not ") {
        return true
      }
    }
    if [1, 2, 3, 4, 69].contains(status) { return false }
    return status == 0
  }

  /// Runs `command` with its output in a file, so that a daemon it starts does not hold the
  /// connection open, and prints that output on stderr for failure messages.
  static func detached(_ command: String) -> String {
    "t=$(mktemp) || exit 1; \(command) </dev/null >\"$t\" 2>&1; rc=$?; cat \"$t\" >&2; rm -f \"$t\"; exit $rc"
  }

  func planClassic(_ backend: ServiceBackend, _ probe: ProbeSections, result: OrderedDict) -> Plan {
    var result = result
    var steps: [Step] = []
    var diffs: [FileDiff] = []
    let n = ShellQuoting.quote(name)
    let args = arguments.isEmpty ? "" : " " + arguments
    let tools = Set(probe["tools"]?.lines ?? [])
    if masked == true { return .failed("masked needs systemd, and \(name) is managed by \(backend == .upstart ? "upstart" : "SysV init") here", result: result) }
    var sysvinitStatus = OrderedDict()

    // Enabled at boot.
    if let enabled {
      switch backend {
      case .upstart:
        let version = probe["version"]?.text ?? ""
        let modern = Self.upstartVersion(version).map { $0.lexicographicallyPrecedes([0, 6, 7]) == false } ?? true
        let stanza = modern ? "manual" : "start on manual"
        let conf = probe["conf"]?.content ?? ""
        if Self.hasManualStanza(conf, stanza: stanza) {
          return .failed("manual stanza not supported in a .conf file", result: result)
        }
        let overridePath = "/etc/init/\(name).override"
        let override = probe["override"].flatMap { $0.succeeded ? $0.content : nil }
        var newContent: String?
        if let override {
          if enabled && Self.hasManualStanza(override, stanza: stanza) {
            newContent = Self.removingManualStanza(override, stanza: stanza)
          } else if !enabled && !Self.hasManualStanza(override, stanza: stanza) {
            newContent = override + "\n" + stanza + "\n"
          }
        } else if !enabled {
          newContent = stanza + "\n"
        }
        if let newContent {
          steps.append(Step(override == nil ? .create : .update, "\(enabled ? "enable" : "disable") \(name) (\(overridePath))", .upload(Data(newContent.utf8), path: overridePath, mode: 0o644, owner: nil, group: nil)))
          diffs.append(FileDiff(beforeHeader: overridePath, afterHeader: overridePath, before: override ?? "", after: newContent))
        }
      case .sysv:
        let isEnabled: Bool
        if let runlevels, flavor == .sysvinit {
          isEnabled = runlevels.allSatisfy { probe["slinks-\($0)"]?.succeeded == true }
        } else {
          isEnabled = probe["slinks"]?.succeeded == true
        }
        sysvinitStatus["enabled"] = .dict(["changed": .bool(isEnabled != enabled), "rc": .null, "stdout": .null, "stderr": .null])
        if isEnabled != enabled {
          guard tools.contains("update-rc.d") else {
            if tools.contains("chkconfig") {
              steps.append(.shell(.update, "\(enabled ? "enable" : "disable") \(name)", "chkconfig \(n) \(enabled ? "on" : "off")"))
              break
            }
            return .failed("cannot detect command to enable service \(name), typo or init system potentially unknown", result: result)
          }
          var command: String
          if let runlevels, flavor == .sysvinit {
            command = "update-rc.d \(n) \(enabled ? "enable" : "disable") \(runlevels.map(ShellQuoting.quote).joined(separator: " "))"
          } else if enabled {
            let hasKLinks = probe["klinks"]?.succeeded == true
            // `defaults` alone does nothing when disabled links exist, so `enable` follows it.
            command = hasKLinks ? "update-rc.d \(n) enable" : "update-rc.d \(n) defaults && update-rc.d \(n) enable"
          } else {
            command = "update-rc.d \(n) disable"
          }
          steps.append(.shell(.update, "\(enabled ? "enable" : "disable") \(name)", command))
          diffs.append(.attribute("service \(name)", before: "enabled: \(isEnabled)\n", after: "enabled: \(enabled)\n"))
        }
      default: break
      }
      if flavor != .sysvinit { result["enabled"] = .bool(enabled) }
    }

    // Running state.
    if let state {
      var running: Bool?
      if let pattern {
        let lines = (probe["ps"]?.text ?? "").split(separator: "\n")
        running = lines.contains { $0.contains(pattern) && (flavor == .sysvinit || !$0.contains("pattern=")) }
      } else if let status = probe["status"] {
        if flavor == .sysvinit {
          running = Self.interpretSysvinitStatus(name: name, output: status.text, status: status.status)
        } else {
          running = Self.interpretStatus(name: name, output: status.text, status: status.status, upstart: backend == .upstart)
        }
      }
      guard let running else {
        return .failed("failed determining service state, possible typo of service name?", result: result)
      }
      var actions: [String] = []
      switch state {
      case "started": if !running { actions = ["start"] }
      case "stopped": if running { actions = ["stop"] }
      case "reloaded": actions = running ? ["reload"] : ["start"]
      default: actions = ["stop", "start"]
      }
      let control: (String) -> String = { action in
        switch backend {
        case .upstart: return "initctl \(action) \(n)\(args)"
        default:
          if self.flavor == .sysvinit || !tools.contains("service") { return "/etc/init.d/\(n) \(action)\(args)" }
          return "service \(n) \(action)\(args)"
        }
      }
      if !actions.isEmpty {
        var command: String
        if actions == ["stop", "start"] {
          let pause = flavor == .sysvinit ? (sleep ?? 1) : (sleep ?? 0)
          let stop = Self.detached(control("stop"))
          let start = Self.detached(control("start"))
          // As Ansible: a failed stop (not running) does not fail the restart if start works.
          command = "( \(stop) ); rc1=$?\n\(pause > 0 ? "sleep \(pause)\n" : "")( \(start) ); rc2=$?\n"
          command += flavor == .sysvinit ? "[ $rc1 -eq 0 ] && [ $rc2 -eq 0 ]" : "[ $rc2 -eq 0 ]"
          if flavor == .sysvinit && pause > 0 { command += " && sleep \(pause)" }
        } else {
          command = Self.detached(control(actions[0]))
        }
        let verb = state == "restarted" ? "restart" : actions[0]
        steps.append(.shell(.run, "\(verb) \(name)", command))
        let after = state == "stopped" ? "stopped" : "started"
        diffs.append(.attribute("service \(name)", before: "state: \(running ? "started" : "stopped")\n", after: "state: \(after)\n"))
      }
      if flavor == .sysvinit {
        sysvinitStatus[state] = .dict(["changed": .bool(!actions.isEmpty), "rc": .null, "stdout": .null, "stderr": .null])
      } else {
        result["state"] = .string(state == "stopped" ? "stopped" : "started")
      }
    }
    if flavor == .sysvinit { result["status"] = .dict(sysvinitStatus) }
    return Plan(steps: steps, diffs: diffs, result: result)
  }

  /// `init (upstart 1.12.1)` → [1, 12, 1].
  static func upstartVersion(_ text: String) -> [Int]? {
    guard let range = text.range(of: "(upstart ") else { return nil }
    let rest = text[range.upperBound...].prefix { $0 != ")" }
    let parts = rest.split(separator: ".").map { Int($0.prefix { $0.isNumber }) ?? 0 }
    return parts.isEmpty ? nil : parts
  }

  /// Whether `text` has a line that is only the stanza (case-insensitive, trailing spaces allowed).
  static func hasManualStanza(_ text: String, stanza: String) -> Bool {
    text.split(separator: "\n", omittingEmptySubsequences: false).contains { line in
      var l = String(line)
      while let last = l.last, last == " " || last == "\t" || last == "\r" { l.removeLast() }
      return l.lowercased() == stanza
    }
  }

  /// The text with the stanza removed, as Ansible's `re.sub(r'^manual\s*$', '', text, flags=re.M | re.I)`:
  /// the stanza and the whitespace after it up to a line end go; the newline itself stays.
  static func removingManualStanza(_ text: String, stanza: String) -> String {
    let chars = Array(text)
    let target = Array(stanza.lowercased())
    var out: [Character] = []
    var i = 0
    var atLineStart = true
    while i < chars.count {
      if atLineStart, i + target.count <= chars.count,
        String(chars[i..<(i + target.count)]).lowercased() == String(target)
      {
        let q = i + target.count
        var e = q
        while e < chars.count, chars[e].isWhitespace { e += 1 }
        var k = e
        while k >= q && !(k == chars.count || chars[k] == "\n") { k -= 1 }
        if k >= q {
          i = k
          atLineStart = false
          continue
        }
      }
      out.append(chars[i])
      atLineStart = chars[i] == "\n"
      i += 1
    }
    return String(out)
  }
}
