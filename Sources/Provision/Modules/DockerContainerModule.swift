import Foundation
import Inventory

/// Runs a container with the given image and options, or stops or removes it:
/// `docker_container`, as `community.docker.docker_container` behaves, through the host's
/// `docker` command line (works with docker 1.10.3: `docker run`, `create`, `start`, `stop`,
/// `restart`, `kill`, `rm`, `pull`, `inspect --type`).
///
/// Keys: `name`, `image`, `command` (string or list), `entrypoint` (one program), `state`
/// (started, stopped, present, absent; default started), `restart_policy` (no, on-failure,
/// always, unless-stopped), `restart_retries`, `privileged`, `volumes` (`host:container[:mode]`),
/// `env` (mapping of strings), `published_ports` (`ports`; `container`, `host:container`,
/// `ip:host:container`, each with an optional `/udp`), `network_mode`, `pid_mode`, `hostname`,
/// `user`, `labels`, `links`, `volumes_from`, `log_driver`, `log_options`, `detach` (default
/// true), `recreate`, `restart`, `pull` (missing, always, never; true means always), `cleanup`,
/// `keep_volumes` (default true), `force_kill`, `kill_signal`, `stop_timeout`, `comparisons`
/// (per option `strict`, `ignore` or `allow_more_present`, and `*`).
///
/// `check` reads `docker inspect` of the container and of the image in one command. The
/// container is recreated when the image ID differs or an option given differs, compared as
/// community.docker does: values and lists strictly; `env`, `labels`, `volumes`,
/// `published_ports`, `links`, `volumes_from` and `log_options` only for what the task lists
/// (more on the container is fine). The result has `container`, the `docker inspect` object,
/// when nothing changes. Needs access to the docker socket (root, or `become`).
///
/// ```yaml
/// - docker_container:
///     name: rancher-agent-bootstrap
///     image: rancher/agent:v1.0.2
///     privileged: true
///     volumes: ["/var/run/docker.sock:/var/run/docker.sock"]
///     env: { CATTLE_AGENT_IP: "10.0.0.5" }
///     command: ["https://rancher.example.com/v1/scripts/TOKEN"]
/// ```
public struct DockerContainerModule: Module {
  public static let name = "docker_container"
  public static let arguments = ArgumentSpec([
    .init("name", required: true), .init("image"), .init("command", .raw), .init("entrypoint", .list),
    .init("state", choices: ["absent", "present", "stopped", "started"], default: "started"),
    .init("restart_policy", choices: ["no", "on-failure", "always", "unless-stopped"]), .init("restart_retries", .int),
    .init("privileged", .bool), .init("volumes", .list), .init("env", .dict),
    .init("published_ports", .list, aliases: ["ports"]), .init("network_mode"), .init("pid_mode"), .init("hostname"),
    .init("user"), .init("labels", .dict), .init("links", .list), .init("volumes_from", .list), .init("log_driver"),
    .init("log_options", .dict, aliases: ["log_opt"]), .init("detach", .bool, default: true),
    .init("recreate", .bool, default: false), .init("restart", .bool, default: false), .init("pull", .raw, default: "missing"),
    .init("cleanup", .bool, default: false), .init("keep_volumes", .bool, default: true),
    .init("force_kill", .bool, aliases: ["forcekill"], default: false), .init("kill_signal"), .init("stop_timeout", .int),
    .init("comparisons", .dict),
    // Accepted for compatibility; they change nothing here.
    .init("container_default_behavior"), .init("image_name_mismatch"), .init("image_comparison"),
    .init("networks_cli_compatible", .bool), .init("debug", .bool), .init("output_logs", .bool), .init("timeout", .int),
    .init("docker_host"), .init("api_version"),
  ])

  /// One option whose container value differs from the task's.
  public struct Difference: Sendable, Equatable {
    public var option: String
    public var parameter: Value
    public var active: Value
  }

  public struct Current: Sendable, Equatable {
    /// Why docker cannot be used, if it cannot.
    var problem: String?
    var container: OrderedDict?
    /// The image the task names, as `docker inspect --type image` shows it; nil when missing.
    var image: OrderedDict?
  }

  enum Comparison: String { case strict, ignore, allowMorePresent = "allow_more_present" }

  let name: String
  let image: String?
  let state: String
  let command: [String]?
  let entrypoint: [String]?
  let env: [String]?
  /// `8080/tcp` → `["0.0.0.0:8080"]`.
  let ports: [String: [String]]?
  let portArguments: [String]
  let binds: [String]?
  let volumeArguments: [String]
  let restartPolicy: String?
  let restartRetries: Int?
  let privileged: Bool?
  let networkMode: String?
  let pidMode: String?
  let hostname: String?
  let user: String?
  let labels: [(String, String)]?
  let links: [String]?
  let linkArguments: [String]
  let volumesFrom: [String]?
  let logDriver: String?
  let logOptions: [(String, String)]?
  let detach: Bool
  let recreate: Bool
  let restart: Bool
  let pull: String
  let cleanup: Bool
  let keepVolumes: Bool
  let forceKill: Bool
  let killSignal: String?
  let stopTimeout: Int?
  let comparisons: [String: Comparison]

  public init(_ arguments: ModuleArguments) throws {
    guard let name = arguments.string("name"), !name.isEmpty else { throw ModuleError("missing required argument 'name'") }
    self.name = name
    image = arguments.string("image")
    state = arguments.string("state") ?? "started"
    switch arguments["command"] {
    case nil: command = nil
    case .list(let items)?: command = items.compactMap(ModuleArguments.text)
    case let v?:
      let text = ModuleArguments.text(v) ?? ""
      guard let words = ShellWords.split(text, comments: false) else { throw ModuleError("cannot split command: \(text)") }
      command = words
    }
    if let e = arguments.list("entrypoint") {
      guard e.count <= 1 else {
        throw ModuleError(
          "entrypoint with arguments (\(e)) cannot be set through the docker command line",
          hint: "give the program as entrypoint and its arguments in command")
      }
      entrypoint = e
    } else {
      entrypoint = nil
    }
    if let dict = arguments["env"]?.dictValue {
      var env: [String] = []
      for (k, v) in dict {
        guard case .string(let s) = v else {
          throw ModuleError(
            "Non-string value found for env option. Ambiguous env options must be wrapped in quotes to avoid them being interpreted. Key: \(k)")
        }
        env.append("\(k)=\(s)")
      }
      self.env = env
    } else {
      env = nil
    }
    if let list = arguments.list("published_ports") {
      var bindings: [String: [String]] = [:]
      for spec in list {
        let (key, binding) = try Self.parsePort(spec)
        bindings[key, default: []].append(binding)
      }
      ports = bindings.mapValues { $0.sorted() }
      portArguments = list
    } else {
      ports = nil
      portArguments = []
    }
    if let list = arguments.list("volumes") {
      binds = try list.compactMap(Self.bind)
      volumeArguments = list
    } else {
      binds = nil
      volumeArguments = []
    }
    restartPolicy = arguments.string("restart_policy")
    restartRetries = arguments.int("restart_retries")
    if restartRetries != nil && restartPolicy == nil {
      throw ModuleError("missing parameter(s) required by 'restart_retries': restart_policy")
    }
    privileged = arguments.optionalBool("privileged")
    networkMode = arguments.string("network_mode")
    pidMode = arguments.string("pid_mode")
    hostname = arguments.string("hostname")
    user = arguments.string("user")
    func stringPairs(_ key: String) throws -> [(String, String)]? {
      guard let dict = arguments[key]?.dictValue else { return nil }
      return try dict.map { k, v in
        switch v {
        case .string(let s): return (k, s)
        case .int, .double, .bool:
          if key == "log_options" { return (k, ModuleArguments.text(v) ?? "") }
          throw ModuleError("The value \(v.ansibleRepr) for '\(k)' in \(key) is not a string", hint: "quote it")
        default: throw ModuleError("The value for '\(k)' in \(key) must be a string")
        }
      }
    }
    labels = try stringPairs("labels")
    if let list = arguments.list("links") {
      links = list.map(Self.normalizeLink)
      linkArguments = list
    } else {
      links = nil
      linkArguments = []
    }
    volumesFrom = arguments.list("volumes_from")
    logDriver = arguments.string("log_driver")
    logOptions = try stringPairs("log_options")
    if logOptions != nil && logDriver == nil {
      throw ModuleError("missing parameter(s) required by 'log_options': log_driver")
    }
    detach = arguments.bool("detach", default: true)
    recreate = arguments.bool("recreate")
    restart = arguments.bool("restart")
    switch arguments["pull"] {
    case .bool(true)?: pull = "always"
    case .bool(false)?, nil: pull = "missing"
    case let v?:
      let text = (ModuleArguments.text(v) ?? "missing").lowercased()
      if let b = ModuleArguments.boolean(v) {
        pull = b ? "always" : "missing"
      } else {
        guard ["always", "missing", "never"].contains(text) else {
          throw ModuleError("value of 'pull' must be a boolean or one of: always, missing, never, got: \(text)")
        }
        pull = text
      }
    }
    cleanup = arguments.bool("cleanup")
    keepVolumes = arguments.bool("keep_volumes", default: true)
    forceKill = arguments.bool("force_kill")
    killSignal = arguments.string("kill_signal")
    stopTimeout = arguments.int("stop_timeout")
    var comparisons: [String: Comparison] = [:]
    if let dict = arguments["comparisons"]?.dictValue {
      for (k, v) in dict {
        guard let text = ModuleArguments.text(v), let c = Comparison(rawValue: text) else {
          throw ModuleError("Unknown comparison mode '\(ModuleArguments.text(v) ?? "")'!")
        }
        let key = k == "ports" ? "published_ports" : k == "log_opt" ? "log_options" : k
        if key == "*" && c == .allowMorePresent {
          throw ModuleError("The wildcard can only be used with comparison modes 'strict' and 'ignore'!")
        }
        comparisons[key] = c
      }
    }
    self.comparisons = comparisons
  }

  // MARK: - Parsing

  /// `[ip:][host:]container[/proto]` → (`container/proto`, `ip:host`), as community.docker
  /// reads `published_ports`.
  static func parsePort(_ spec: String) throws -> (String, String) {
    var parts = spec.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
    guard (1...3).contains(parts.count) else {
      throw ModuleError(
        "Invalid port description \"\(spec)\" - expected 1 to 3 colon-separated parts, but got \(parts.count). Maybe you forgot to use square brackets ([...]) around an IPv6 address?")
    }
    var containerPort = parts.removeLast()
    var proto = "tcp"
    if let slash = containerPort.firstIndex(of: "/") {
      proto = String(containerPort[containerPort.index(after: slash)...])
      containerPort = String(containerPort[..<slash])
    }
    if containerPort.contains("-") || parts.contains(where: { $0.contains("-") }) {
      throw ModuleError("port ranges are not supported yet: \(spec)", hint: "list each port")
    }
    var ip = "0.0.0.0"
    var host = ""
    if parts.count == 2 {
      ip = parts[0]
      guard ip.split(separator: ".").count == 4, ip.allSatisfy({ $0.isNumber || $0 == "." }) else {
        throw ModuleError(
          "Bind addresses for published ports must be IPv4 or IPv6 addresses, not hostnames. Use the dig lookup to resolve hostnames. (Found hostname: \(ip))")
      }
      host = parts[1]
    } else if parts.count == 1 {
      host = parts[0]
    }
    return ("\(containerPort)/\(proto)", "\(ip):\(host)")
  }

  static let volumeModes: Set<String> = [
    "rw", "ro", "z", "Z", "consistent", "delegated", "cached", "rprivate", "private", "rshared", "shared", "rslave",
    "slave", "nocopy",
  ]

  static func isVolumePermissions(_ mode: String) -> Bool {
    mode.split(separator: ",").allSatisfy { volumeModes.contains(String($0)) }
  }

  /// `host:container[:mode]` → `host:container:mode` (mode `rw` by default); nil for an anonymous
  /// volume such as `/data`.
  static func bind(_ volume: String) throws -> String? {
    let parts = volume.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
    switch parts.count {
    case 3:
      guard isVolumePermissions(parts[2]) else { throw ModuleError("Found invalid volumes mode: \(parts[2])") }
      return volume
    case 2:
      return isVolumePermissions(parts[1]) ? nil : volume + ":rw"
    default:
      return nil
    }
  }

  /// `db` → `db:db`; `db:alias` stays; the container's `/db:/web/alias` → `db:alias`.
  static func normalizeLink(_ link: String) -> String {
    let parts = link.split(separator: ":", maxSplits: 1).map(String.init)
    func base(_ s: String) -> String {
      var s = s
      if s.hasPrefix("/") { s.removeFirst() }
      return s.split(separator: "/").last.map(String.init) ?? s
    }
    if parts.count == 1 { return "\(base(parts[0])):\(base(parts[0]))" }
    return "\(base(parts[0])):\(base(parts[1]))"
  }

  // MARK: - Check

  var imageReference: String? { image.map(DockerSupport.reference) }

  func script() -> String {
    var s = DockerSupport.serverSection()
    s += ProbeSections.section("container", "docker inspect --type container \(ShellQuoting.quote(name))", mergeStderr: false)
    if let ref = imageReference, state != "absent" {
      s += ProbeSections.section("image", "docker inspect --type image \(ShellQuoting.quote(ref))", mergeStderr: false)
    }
    return s
  }

  public func check(on host: HostProbe) async throws -> Current {
    let result = try await host.run(script())
    return Self.current(from: ProbeSections.parse(result.stdoutText))
  }

  static func current(from probe: ProbeSections) -> Current {
    if let problem = DockerSupport.serverProblem(probe) { return Current(problem: problem) }
    return Current(
      problem: nil, container: DockerSupport.firstInspected(probe["container"]),
      image: DockerSupport.firstInspected(probe["image"]))
  }

  // MARK: - Comparison

  func comparison(_ option: String, default d: Comparison) -> Comparison {
    comparisons[option] ?? (comparisons["*"] == .allowMorePresent ? nil : comparisons["*"]) ?? d
  }

  static func strings(_ v: Value?) -> [String]? {
    guard let v else { return nil }
    switch v {
    case .null: return []
    case .list(let items): return items.compactMap(ModuleArguments.text)
    default: return nil
    }
  }

  /// The options the task gives whose values on `container` differ, in a stable order.
  func differences(_ container: OrderedDict) -> [Difference] {
    var out: [Difference] = []
    func record(_ option: String, _ parameter: Value, _ active: Value) {
      out.append(Difference(option: option, parameter: parameter, active: active))
    }
    func list(_ xs: [String]) -> Value { .list(xs.map(Value.string)) }
    /// Compares a list or set; `present` nil means the container does not say (skip).
    func compareSet(_ option: String, _ wanted: [String]?, _ present: [String]?, ordered: Bool) {
      guard let wanted, let present else { return }
      let mode = comparison(option, default: ordered ? .strict : .allowMorePresent)
      let same: Bool
      switch mode {
      case .ignore: return
      case .strict: same = ordered ? wanted == present : Set(wanted) == Set(present)
      case .allowMorePresent: same = Set(wanted).isSubset(of: Set(present))
      }
      if !same {
        record(option, list(ordered ? wanted : wanted.sorted()), list(ordered ? present : present.sorted()))
      }
    }
    func compareValue(_ option: String, _ wanted: Value?, _ present: Value?) {
      guard let wanted, let present else { return }
      if comparison(option, default: .strict) == .ignore { return }
      if wanted != present { record(option, wanted, present) }
    }
    func compareDict(_ option: String, _ wanted: [(String, String)]?, _ present: Value?) {
      guard let wanted else { return }
      guard let present else { return }
      let mode = comparison(option, default: .allowMorePresent)
      if mode == .ignore { return }
      var have: [String: String] = [:]
      for (k, v) in present.dictValue ?? [:] { have[k] = ModuleArguments.text(v) ?? "" }
      let want = Dictionary(wanted, uniquingKeysWith: { _, b in b })
      let same = mode == .strict ? want == have : want.allSatisfy { have[$0.key] == $0.value }
      if !same {
        record(
          option, .dict(OrderedDict(want.sorted { $0.key < $1.key }.map { ($0.key, Value.string($0.value)) })),
          .dict(OrderedDict(have.sorted { $0.key < $1.key }.map { ($0.key, Value.string($0.value)) })))
      }
    }

    compareSet("command", command, container.inspected("Config.Cmd").flatMap(Self.strings), ordered: true)
    compareSet("entrypoint", entrypoint, container.inspected("Config.Entrypoint").flatMap(Self.strings), ordered: true)
    compareSet("env", env, container.inspected("Config.Env").flatMap(Self.strings), ordered: false)
    if let ports, let bindings = container.inspected("HostConfig.PortBindings") {
      var have: [String: [String]] = [:]
      for (key, value) in bindings.dictValue ?? [:] {
        let k = key.contains("/") ? key : key + "/tcp"
        have[k] = (value.listValue ?? []).compactMap { b -> String? in
          guard let d = b.dictValue else { return nil }
          var ip = d["HostIp"]?.stringValue ?? ""
          if ip.isEmpty { ip = "0.0.0.0" }
          return "\(ip):\(d["HostPort"]?.stringValue ?? "")"
        }.sorted()
      }
      let mode = comparison("published_ports", default: .allowMorePresent)
      let same: Bool
      switch mode {
      case .ignore: same = true
      case .strict: same = have == ports
      case .allowMorePresent: same = ports.allSatisfy { have[$0.key] == $0.value }
      }
      if !same {
        func render(_ d: [String: [String]]) -> Value {
          .dict(OrderedDict(d.sorted { $0.key < $1.key }.map { ($0.key, list($0.value)) }))
        }
        record("published_ports", render(ports), render(have))
      }
    }
    if let binds, let present = container.inspected("HostConfig.Binds").flatMap(Self.strings) {
      let normalized = present.compactMap { try? Self.bind($0) }
      compareSet("volumes", binds, normalized, ordered: false)
    }
    if let restartPolicy, let name = container.inspected("HostConfig.RestartPolicy.Name")?.stringValue {
      compareValue("restart_policy", .string(restartPolicy), .string(name.isEmpty ? "no" : name))
    }
    if let restartRetries, let count = container.inspected("HostConfig.RestartPolicy.MaximumRetryCount") {
      compareValue("restart_retries", .int(restartRetries), count)
    }
    compareValue("privileged", privileged.map(Value.bool), container.inspected("HostConfig.Privileged"))
    if let networkMode, let mode = container.inspected("HostConfig.NetworkMode")?.stringValue {
      // Docker 1.10 reports `default` for the bridge network it picks by default.
      let norm = { (s: String) in s == "default" ? "bridge" : s }
      if norm(networkMode) != norm(mode) { compareValue("network_mode", .string(networkMode), .string(mode)) }
    }
    if let pidMode, let mode = container.inspected("HostConfig.PidMode")?.stringValue {
      compareValue("pid_mode", .string(pidMode), .string(mode))
    }
    compareValue("hostname", hostname.map(Value.string), container.inspected("Config.Hostname"))
    compareValue("user", user.map(Value.string), container.inspected("Config.User"))
    compareDict("labels", labels, container.inspected("Config.Labels").map { $0 == .null ? .dict([:]) : $0 })
    if let links, let present = container.inspected("HostConfig.Links").flatMap(Self.strings) {
      compareSet("links", links, present.map(Self.normalizeLink), ordered: false)
    }
    compareSet("volumes_from", volumesFrom, container.inspected("HostConfig.VolumesFrom").flatMap(Self.strings), ordered: false)
    if let logDriver, let type = container.inspected("HostConfig.LogConfig.Type")?.stringValue {
      compareValue("log_driver", .string(logDriver), .string(type))
    }
    compareDict("log_options", logOptions, container.inspected("HostConfig.LogConfig.Config").map { $0 == .null ? .dict([:]) : $0 })
    return out
  }

  // MARK: - Commands

  func runArguments(create: Bool) -> [String] {
    var argv = ["docker", create ? "create" : "run"]
    if !create && detach { argv.append("-d") }
    if !create && !detach && cleanup { argv.append("--rm") }
    argv += ["--name", name]
    if let restartPolicy {
      argv += ["--restart", restartPolicy == "on-failure" && restartRetries != nil ? "on-failure:\(restartRetries!)" : restartPolicy]
    }
    if privileged == true { argv.append("--privileged") }
    for e in env ?? [] { argv += ["-e", e] }
    for v in volumeArguments { argv += ["-v", v] }
    for p in portArguments { argv += ["-p", p] }
    if let networkMode { argv += ["--net", networkMode] }
    if let pidMode { argv += ["--pid", pidMode] }
    if let hostname { argv += ["--hostname", hostname] }
    if let user { argv += ["--user", user] }
    if let e = entrypoint?.first { argv += ["--entrypoint", e] }
    for (k, v) in labels ?? [] { argv += ["--label", "\(k)=\(v)"] }
    for v in volumesFrom ?? [] { argv += ["--volumes-from", v] }
    for l in linkArguments { argv += ["--link", l] }
    if let logDriver { argv += ["--log-driver", logDriver] }
    for (k, v) in logOptions ?? [] { argv += ["--log-opt", "\(k)=\(v)"] }
    argv.append(image ?? "")
    argv += command ?? []
    return argv
  }

  func stopStep() -> Step {
    if forceKill {
      return .argv(.run, "kill container \(name)", ["docker", "kill"] + (killSignal.map { ["-s", $0] } ?? []) + [name])
    }
    return .argv(.run, "stop container \(name)", ["docker", "stop"] + (stopTimeout.map { ["-t", String($0)] } ?? []) + [name])
  }

  func removeStep() -> Step {
    .argv(.remove, "container \(name)", ["docker", "rm"] + (keepVolumes ? [] : ["-v"]) + [name])
  }

  func createStep(replacing: Bool) -> Step {
    let start = state == "started"
    var step = Step.argv(replacing ? .update : .create, "\(start ? "run" : "create") container \(name) (\(image ?? ""))", runArguments(create: !start))
    if start && !detach { step.reportsOutput = true }
    return step
  }

  // MARK: - Plan

  public func plan(from current: Current) throws -> Plan {
    var result: OrderedDict = [:]
    if let problem = current.problem { return .failed(problem) }
    let container = current.container
    let exists = container != nil
    let running = container?.inspected("State.Running") == .bool(true)
    var steps: [Step] = []
    var before: [String] = []
    var after: [String] = []
    func changeLine(_ key: String, _ old: Value, _ new: Value) {
      before.append("\(key): \(Self.display(old))")
      after.append("\(key): \(Self.display(new))")
    }

    if state == "absent" {
      if exists {
        if running {
          steps.append(stopStep())
          changeLine("running", true, false)
        }
        steps.append(removeStep())
        changeLine("exists", true, false)
      }
      return Plan(steps: steps, diffs: diff(before, after), result: result)
    }

    // The image: pulled when missing (or always), never when pull=never.
    var imageDifferent = false
    if let ref = imageReference {
      if current.image == nil && pull == "never" {
        let (repository, tag) = DockerSupport.parseRepositoryTag(ref)
        return .failed("Cannot find image with name \(repository):\(tag ?? "latest"), and pull=never")
      }
      if current.image == nil || pull == "always" {
        steps.append(.argv(.run, "pull image \(ref)", ["docker", "pull", ref]))
      }
      if let container, comparison("image", default: .strict) != .ignore {
        let have = container["Image"]?.stringValue
        if let want = current.image?["Id"]?.stringValue {
          if want != have {
            imageDifferent = true
            changeLine("image", .string(have ?? ""), .string(want))
          }
        } else {
          // Not here yet: whatever is pulled is not what the container runs.
          imageDifferent = true
          changeLine("image", .string(have ?? ""), .string(ref))
        }
      }
    }

    var created = false
    if let container {
      let differences = differences(container)
      for d in differences { changeLine(d.option, d.active, d.parameter) }
      if imageDifferent || !differences.isEmpty || recreate {
        guard image != nil else {
          return .failed("Cannot recreate container when image is not specified or cannot be extracted from current container!")
        }
        if recreate && differences.isEmpty && !imageDifferent { changeLine("recreate", false, true) }
        if running { steps.append(stopStep()) }
        steps.append(removeStep())
        steps.append(createStep(replacing: true))
        created = true
      }
    } else {
      guard image != nil else { return .failed("Cannot create container when image is not specified!") }
      steps.append(createStep(replacing: false))
      changeLine("exists", false, true)
      created = true
    }

    if !created {
      if state == "started" && !running {
        steps.append(.argv(.run, "start container \(name)", ["docker", "start", name]))
        changeLine("running", false, true)
      } else if state == "started" && restart {
        steps.append(.argv(.run, "restart container \(name)", ["docker", "restart"] + (stopTimeout.map { ["-t", String($0)] } ?? []) + [name]))
        changeLine("restarted", false, true)
      } else if state == "stopped" && running {
        steps.append(stopStep())
        changeLine("running", true, false)
      }
    } else if state == "started" && exists != running {
      changeLine("running", .bool(running), true)
    }
    if steps.isEmpty, let container { result["container"] = .dict(container) }
    return Plan(steps: steps, diffs: diff(before, after), result: result)
  }

  func diff(_ before: [String], _ after: [String]) -> [FileDiff] {
    guard !before.isEmpty || !after.isEmpty else { return [] }
    let b = before.isEmpty ? "" : before.joined(separator: "\n") + "\n"
    let a = after.isEmpty ? "" : after.joined(separator: "\n") + "\n"
    return [FileDiff(beforeHeader: "container \(name)", afterHeader: "container \(name)", before: b, after: a)]
  }

  static func display(_ v: Value) -> String {
    switch v {
    case .string(let s): return s
    case .bool(let b): return b ? "true" : "false"
    default: return v.jsonString()
    }
  }
}
