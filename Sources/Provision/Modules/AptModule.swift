import Foundation
import Inventory

/// Installs, upgrades, downgrades, holds and removes Debian packages with `apt-get`: `apt`.
///
/// Keys (as ansible-core 2.17's `apt`): `name` (`package`, `pkg`; a list or a comma string;
/// `pkg=1.10.3-0~trusty` pins a version, `pkg=1.10*` pins the newest matching one; `pkg>=1.0`
/// is an error), `state` (present, latest, absent, fixed; build-dep is not supported),
/// `update_cache` (`update-cache`), `cache_valid_time`, `update_cache_retries`,
/// `update_cache_retry_max_delay`, `allow_downgrade` (`allow-downgrade`, `allow_downgrades`,
/// `allow-downgrades`), `allow_change_held_packages`, `allow_unauthenticated`,
/// `install_recommends` (`install-recommends`), `deb` (a .deb on the host), `purge`,
/// `autoremove`, `autoclean`, `clean`, `fail_on_autoremove`, `force`, `force_apt_get` (apt-get
/// is always used), `upgrade` (no, yes, safe, full, dist), `dpkg_options`
/// (`force-confdef,force-confold`), `default_release` (`default-release`), `only_upgrade`,
/// `policy_rc_d`, `lock_timeout`; and provision's own `hold: true|false`, which holds the named
/// packages (`apt-mark hold`) after installing them, or releases them. An install drops a
/// package's hold, so the hold is applied again after every install.
///
/// `check` is one round trip, read-only and without privilege: the apt version,
/// `dpkg-query -W` of the packages, `apt-mark showhold`, the age of the package lists,
/// `apt-cache policy`, and an `apt-get -s` simulation of the install, removal or upgrade, so
/// that the plan names the exact versions that will be installed, upgraded, downgraded or
/// removed. `apt-get update` is a step: when the cache is to be updated, the plan comes from
/// the current cache and says so. A downgrade needs `allow_downgrade`; a held package that would
/// change needs `allow_change_held_packages` or `hold:` (otherwise the task fails and says so).
/// On apt 1.0 (Ubuntu trusty) `--force-yes` stands in for `--allow-downgrades`, and held
/// packages are released and held again around the install. The steps need root (`become`).
///
/// With `update_cache: true` and no `cache_valid_time`, the cache is updated only when the task
/// installs or upgrades something (or has nothing else to do), so that a converged host reports
/// no change.
///
/// ```yaml
/// - apt:
///     name: docker-engine=1.10.3-0~trusty
///     hold: true
///     allow_downgrade: true
///     update_cache: true
///     cache_valid_time: 3600
/// ```
public struct AptModule: Module {
  public static let name = "apt"
  public static let arguments = ArgumentSpec(
    [
      .init("name", .list, aliases: ["package", "pkg"]),
      .init("state", choices: ["absent", "build-dep", "latest", "present", "fixed"], default: "present"),
      .init("update_cache", .bool, aliases: ["update-cache"]),
      .init("update_cache_retries", .int, default: 5),
      .init("update_cache_retry_max_delay", .int, default: 12),
      .init("cache_valid_time", .int, default: 0),
      .init("purge", .bool, default: false),
      .init("deb", .path),
      .init("default_release", aliases: ["default-release"]),
      .init("install_recommends", .bool, aliases: ["install-recommends"]),
      .init("force", .bool, default: false),
      .init("clean", .bool, default: false),
      .init("allow_unauthenticated", .bool, aliases: ["allow-unauthenticated"], default: false),
      .init("allow_downgrade", .bool, aliases: ["allow-downgrade", "allow_downgrades", "allow-downgrades"], default: false),
      .init("allow_change_held_packages", .bool, default: false),
      .init("upgrade", choices: ["dist", "full", "no", "safe", "yes"], default: "no"),
      .init("dpkg_options", default: "force-confdef,force-confold"),
      .init("autoremove", .bool, default: false),
      .init("autoclean", .bool, default: false),
      .init("fail_on_autoremove", .bool, default: false),
      .init("policy_rc_d", .int),
      .init("only_upgrade", .bool, default: false),
      .init("force_apt_get", .bool, default: false),
      .init("lock_timeout", .int, default: 60),
      .init("hold", .bool),
      .init("_diff", .bool), .init("_pending", .dict),
    ],
    requiredOneOf: [["autoremove", "deb", "name", "update_cache", "upgrade", "cache_valid_time", "autoclean", "clean"]],
    mutuallyExclusive: [["deb", "name", "upgrade"]])

  /// One entry of `name`: a package and an optional version (exact, or with `*`, `?`, `[]`).
  public struct Spec: Sendable, Equatable {
    var name: String
    var version: String?
    var isGlob: Bool { version.map(FNMatch.hasWildcards) ?? false }

    /// `name` or `name=version`, as written.
    var text: String { version.map { "\(name)=\($0)" } ?? name }

    /// Whether `installed` satisfies the pin.
    func matches(_ installed: String) -> Bool {
      guard let version else { return true }
      return isGlob ? FNMatch.matches(installed, version) : installed == version
    }
  }

  /// Parses `pkg`, `pkg=1.0`, `pkg=1.0*`; `pkg>=1.0` and friends are errors with a hint.
  static func parseSpec(_ raw: String) throws -> Spec {
    let text = raw.trimmingCharacters(in: .whitespaces)
    guard !text.isEmpty else { throw ModuleError("empty package name in 'name'") }
    for op in [">=", "<=", "!=", ">>", "<<", ">", "<", "~="] {
      guard let range = text.range(of: op) else { continue }
      let name = text[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
      let version = text[range.upperBound...].trimmingCharacters(in: .whitespaces)
      throw ModuleError(
        "unsupported version constraint '\(text)': the apt module installs one version, not a range",
        hint: "pin it with '\(name)=\(version.isEmpty ? "1.0" : version)*' (the newest version starting with \(version.isEmpty ? "1.0" : version)), "
          + "or use '\(name)' with state: latest")
    }
    if text.filter({ $0 == "=" }).count > 1 { throw ModuleError("invalid package spec: \(text)") }
    var name = text
    var version: String?
    if let eq = text.firstIndex(of: "=") {
      name = text[..<eq].trimmingCharacters(in: .whitespaces)
      let v = text[text.index(after: eq)...].trimmingCharacters(in: .whitespaces)
      guard !v.isEmpty else { throw ModuleError("invalid package spec: \(text)", hint: "write '\(name)' or '\(name)=VERSION'") }
      version = v
    }
    guard !name.isEmpty else { throw ModuleError("invalid package spec: \(text)") }
    if FNMatch.hasWildcards(name) || name.contains("!") {
      throw ModuleError(
        "package name patterns such as '\(name)' are not supported", hint: "list the packages by name")
    }
    if name.contains(where: { $0.isWhitespace || $0 == "'" || $0 == "\"" }) {
      throw ModuleError("invalid package name '\(name)'")
    }
    return Spec(name: name, version: version)
  }

  let specs: [Spec]
  let state: String
  let updateCache: Bool
  let cacheValidTime: Int
  let updateRetries: Int
  let retryMaxDelay: Int
  let purge: Bool
  let deb: String?
  let defaultRelease: String?
  let installRecommends: Bool?
  let force: Bool
  let clean: Bool
  let allowUnauthenticated: Bool
  let allowDowngrade: Bool
  let allowChangeHeld: Bool
  /// dist, full, yes, safe; nil for no.
  let upgrade: String?
  let dpkgOptions: [String]
  let autoremove: Bool
  let autoclean: Bool
  let failOnAutoremove: Bool
  let policyRcD: Int?
  let onlyUpgrade: Bool
  let lockTimeout: Int
  let hold: Bool?
  /// In check mode, repositories that earlier tasks would add (`apt_repository`): `check`
  /// reads them into a private cache, so the plan names what they would install.
  let pendingSources: [String]

  public init(_ arguments: ModuleArguments) throws {
    state = arguments.string("state") ?? "present"
    if state == "build-dep" {
      throw ModuleError(
        "state 'build-dep' is not supported by provision",
        hint: "list the build dependencies by name, or run 'apt-get build-dep' with the command module")
    }
    var specs: [Spec] = []
    var upgrade = arguments.string("upgrade").flatMap { $0 == "no" ? nil : $0 }
    for item in arguments.list("name") ?? [] {
      let trimmed = item.trimmingCharacters(in: .whitespaces)
      if trimmed == "*" {
        // As Ansible: `*` with latest upgrades every installed package; otherwise ignored.
        if state == "latest" { upgrade = "yes" }
        continue
      }
      specs.append(try Self.parseSpec(trimmed))
    }
    if upgrade != nil && !specs.isEmpty && state == "latest" && arguments.list("name")?.contains("*") == true {
      throw ModuleError("unable to install additional packages when upgrading all installed packages")
    }
    self.specs = specs
    self.upgrade = upgrade
    cacheValidTime = arguments.int("cache_valid_time") ?? 0
    updateCache = arguments.optionalBool("update_cache") ?? (cacheValidTime > 0)
    updateRetries = max(1, arguments.int("update_cache_retries") ?? 5)
    retryMaxDelay = max(0, arguments.int("update_cache_retry_max_delay") ?? 12)
    purge = arguments.bool("purge")
    deb = arguments.string("deb")
    defaultRelease = arguments.string("default_release")
    installRecommends = arguments.optionalBool("install_recommends")
    force = arguments.bool("force")
    clean = arguments.bool("clean")
    allowUnauthenticated = arguments.bool("allow_unauthenticated")
    allowDowngrade = arguments.bool("allow_downgrade") || force
    allowChangeHeld = arguments.bool("allow_change_held_packages")
    dpkgOptions = (arguments.string("dpkg_options") ?? "force-confdef,force-confold").split(separator: ",")
      .map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    autoremove = arguments.bool("autoremove")
    autoclean = arguments.bool("autoclean")
    failOnAutoremove = arguments.bool("fail_on_autoremove")
    policyRcD = arguments.int("policy_rc_d")
    onlyUpgrade = arguments.bool("only_upgrade")
    lockTimeout = arguments.int("lock_timeout") ?? 60
    hold = arguments.optionalBool("hold")
    if case .dict(let pending)? = arguments["_pending"], case .list(let sources)? = pending["apt_sources"] {
      pendingSources = sources.compactMap(ModuleArguments.text)
    } else {
      pendingSources = []
    }
    if let deb {
      if state != "present" { throw ModuleError("deb only supports state=present") }
      if deb.contains("://") {
        throw ModuleError(
          "deb URLs are not supported: hosts may have no route out",
          hint: "put the .deb on the host with get_url or copy, then give its path to 'deb'")
      }
    }
    if hold == true && state == "absent" {
      throw ModuleError("hold: true cannot be combined with state: absent", hint: "use hold: false to release the hold")
    }
    if hold != nil && specs.isEmpty && deb == nil {
      throw ModuleError("hold needs the packages in 'name' (or a 'deb')")
    }
  }

  // MARK: - check

  /// What `check` read from the host.
  public struct Current: Sendable {
    /// `2.6.1`, `1.0.1ubuntu2`; nil when the host has no apt-get.
    var aptVersion: String?
    var uid: Int?
    /// The host's clock, seconds since 1970.
    var now: Int?
    /// The modification time of the update stamp or of the package lists (0 when unknown).
    var cacheTime: Int = 0
    /// How many package lists the cache holds (0 on a host never updated).
    var listCount: Int = 1
    var installed: [String: AptOutput.Installed] = [:]
    var holds: Set<String> = []
    var policies: [String: AptOutput.Policy] = [:]
    /// The newest available version matching each wildcard pin.
    var resolved: [String: String] = [:]
    var simulation: AptOutput.Simulation?
    /// `Package`, `Version` and `Architecture` of `deb`.
    var debFields: [String: String]?
    var failure: String?
    /// The simulation saw the repositories of `pendingSources`.
    var readPendingSources = false
  }

  /// Keeps apt from writing its binary caches (`/var/cache/apt/*.bin`) while `check` reads.
  static let readOnly = "-o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache="

  static let environment = "export DEBIAN_FRONTEND=noninteractive DEBIAN_PRIORITY=critical LANG=C LC_ALL=C LC_MESSAGES=C; "

  /// Names whose state `check` reads.
  var names: [String] { specs.map(\.name) }

  /// A shell word for `pattern` in a `case` arm: quoted except for its wildcards.
  static func casePattern(_ pattern: String) -> String { ShellRun.globWord(pattern) }

  /// Shell that prints the newest version of `spec.name` that matches its wildcard pin.
  static func resolveCommand(_ spec: Spec) -> String {
    let pattern = casePattern(spec.version ?? "*")
    return "apt-cache \(readOnly) madison \(ShellQuoting.quote(spec.name)) 2>/dev/null | while IFS='|' read -r p v r; do "
      + "v=$(echo $v); case $v in \(pattern)) echo \"$v\"; break;; esac; done"
  }

  /// apt-get options shared by simulation and install (not the ones that only matter with -y).
  var commonOptions: [String] {
    var o: [String] = []
    if let defaultRelease { o += ["-t", defaultRelease] }
    if installRecommends == false { o += ["-o", "APT::Install-Recommends=no"] }
    if installRecommends == true { o += ["-o", "APT::Install-Recommends=yes"] }
    return o
  }

  var dpkgOptionArguments: [String] { dpkgOptions.flatMap { ["-o", "Dpkg::Options::=--\($0)"] } }

  /// The simulation section: builds the same argument list as the plan, then runs `apt-get -s`.
  func simulationScript() -> String? {
    let q = ShellQuoting.quote
    if upgrade != nil {
      let command = upgrade == "dist" || upgrade == "full" ? "dist-upgrade" : "upgrade --with-new-pkgs"
      return "apt-get -s \(Self.readOnly) \(commonOptions.map(q).joined(separator: " ")) \(command)\(autoremove ? " --auto-remove" : "")"
    }
    if let deb {
      // apt 1.0 cannot install a file; its plan comes from the file's fields.
      return "case \"$(apt-get --version 2>/dev/null | head -n 1)\" in \"apt 0.\"*|\"apt 1.0\"*) ;; *) "
        + "apt-get -s \(Self.readOnly) install \(q(deb.hasPrefix("/") || deb.hasPrefix(".") ? deb : "./" + deb));; esac"
    }
    if specs.isEmpty {
      if autoremove { return "apt-get -s \(Self.readOnly)\(purge ? " --purge" : "") autoremove" }
      return nil
    }
    var lines = ["set --"]
    if state == "absent" {
      for spec in specs {
        let keep = purge ? "*\" installed\"*|*\" config-files\"*" : "*\" installed\"*"
        let pattern = spec.version.map { " " + Self.casePattern($0) } ?? ""
        lines.append(
          "case \"$(dpkg-query -W -f='${Status} ${Version}' \(q(spec.name)) 2>/dev/null)\" in \(spec.version == nil ? keep : "*\" installed\"\(pattern)")) set -- \"$@\" \(q(spec.name));; esac")
      }
      var options = ["-s", Self.readOnly]
      if purge { options.append("--purge") }
      if autoremove { options.append("--auto-remove") }
      lines.append("if [ $# -gt 0 ]; then apt-get \(options.joined(separator: " ")) remove \"$@\"; fi")
      return lines.joined(separator: "\n")
    }
    for (i, spec) in specs.enumerated() {
      let name = q(spec.name)
      switch spec.version {
      case nil where state == "latest":
        lines.append("set -- \"$@\" \(name)")
      case nil:
        lines.append(
          "if dpkg-query -W -f='${Status}\\n' \(name) 2>/dev/null | grep -q ' installed$'; then :; else set -- \"$@\" \(name); fi")
      case let version? where spec.isGlob:
        let fallback = q(spec.name + "=" + version)
        let arg = "\"$(if [ -n \"$r\(i)\" ]; then echo \(q(spec.name))=\"$r\(i)\"; else echo \(fallback); fi)\""
        if state == "latest" {
          lines.append("set -- \"$@\" \(arg)")
        } else {
          lines.append(
            "case \"$(dpkg-query -W -f='${Status} ${Version}' \(name) 2>/dev/null)\" in *\" installed \"\(Self.casePattern(version))) ;; *) set -- \"$@\" \(arg);; esac")
        }
      case let version?:
        lines.append("set -- \"$@\" \(q(spec.name + "=" + version))")
      }
    }
    var options = ["-s", Self.readOnly] + commonOptions.map(q)
    if onlyUpgrade { options.append("--only-upgrade") }
    if state == "fixed" { options.append("--fix-broken") }
    if autoremove { options.append("--auto-remove") }
    if failOnAutoremove { options.append("--no-remove") }
    lines.append("if [ $# -gt 0 ]; then apt-get \(options.joined(separator: " ")) install \"$@\"; fi")
    return lines.joined(separator: "\n")
  }

  /// Points apt at a private copy of its sources with `pendingSources` added and a private
  /// lists directory (the host's lists linked in, the new repositories' lists fetched), through
  /// `APT_CONFIG`, so the rest of the script reads the cache those repositories would give.
  /// Nothing of the host's apt state is written; the directory is removed on exit.
  func pendingSourcesSetup() -> String {
    let q = ShellQuoting.quote
    let lines = pendingSources.map { "printf '%s\\n' \(q($0))" }.joined(separator: "; ")
    let conf = [
      "Dir::Etc::SourceList \"$pt/sources.list\";", "Dir::Etc::SourceParts \"$pt/sources.list.d\";",
      "Dir::State::Lists \"$pt/lists\";", "Dir::Cache::pkgcache \"\";", "Dir::Cache::srcpkgcache \"\";",
      "APT::Get::List-Cleanup \"false\";", "APT::Sandbox::User \"root\";", "Debug::NoLocking \"true\";",
    ].map { "printf '%s\\n' \"\($0.replacingOccurrences(of: "\"", with: "\\\""))\"" }.joined(separator: "; ")
    return "pt=$(mktemp -d) || exit 1; trap 'rm -rf \"$pt\"' EXIT; mkdir -p \"$pt/lists/partial\" \"$pt/sources.list.d\"; "
      + "{ \(lines); } > \"$pt/new.list\"; cat /etc/apt/sources.list \"$pt/new.list\" > \"$pt/sources.list\" 2>/dev/null; "
      + "for f in /etc/apt/sources.list.d/*.list /etc/apt/sources.list.d/*.sources; do [ -f \"$f\" ] && ln -s \"$f\" \"$pt/sources.list.d/\"; done; "
      + "for f in /var/lib/apt/lists/*; do [ -f \"$f\" ] && [ \"${f##*/}\" != lock ] && ln -s \"$f\" \"$pt/lists/\"; done; "
      + "{ \(conf); } > \"$pt/apt.conf\"; export APT_CONFIG=\"$pt/apt.conf\"\n"
      + ProbeSections.section(
        "pending",
        "apt-get -q -o Dir::Etc::SourceList=\"$pt/new.list\" -o Dir::Etc::SourceParts=/nonexistent update 2>&1 | grep -E '^(E|W):' ; true")
  }

  /// The read-only script of `check`.
  func script() -> String {
    let q = ShellQuoting.quote
    var s = "export LANG=C LC_ALL=C\n"
    if !pendingSources.isEmpty { s += pendingSourcesSetup() }
    s += ProbeSections.section("version", "apt-get --version 2>/dev/null | head -n 1", mergeStderr: false)
    s += ProbeSections.section("uid", "id -u", mergeStderr: false)
    s += ProbeSections.section("now", "date +%s", mergeStderr: false)
    s += ProbeSections.section(
      "cache",
      "for f in /var/lib/apt/periodic/update-success-stamp /var/lib/apt/lists; do if [ -e \"$f\" ]; then stat -c %Y \"$f\"; break; fi; done; "
        + "echo; ls /var/lib/apt/lists 2>/dev/null | grep -c '_Packages' || true", mergeStderr: false)
    var queried = names.map(q).joined(separator: " ")
    if let deb {
      s += ProbeSections.section("deb", "dpkg-deb -f \(q(deb)) Package Version Architecture")
      s += "debpkg=$(dpkg-deb -f \(q(deb)) Package 2>/dev/null)\n"
      queried += " $debpkg"
    }
    if !queried.trimmingCharacters(in: .whitespaces).isEmpty {
      s += ProbeSections.section(
        "dpkg", "dpkg-query -W -f='${Package}\\t${Status}\\t${Version}\\n' \(queried) 2>/dev/null || true", mergeStderr: false)
    }
    s += ProbeSections.section("holds", "apt-mark \(Self.readOnly) showhold", mergeStderr: false)
    if !specs.isEmpty && state != "absent" {
      s += ProbeSections.section("policy", "apt-cache \(Self.readOnly) policy \(names.map(q).joined(separator: " "))", mergeStderr: false)
      var resolve = ""
      for (i, spec) in specs.enumerated() where spec.isGlob {
        s += "r\(i)=$(\(Self.resolveCommand(spec)))\n"
        resolve += "printf '%s\\t%s\\n' \(q(spec.name)) \"$r\(i)\"; "
      }
      if !resolve.isEmpty { s += ProbeSections.section("resolve", resolve, mergeStderr: false) }
    }
    if let sim = simulationScript() { s += ProbeSections.section("sim", sim) }
    return s
  }

  public func check(on host: HostProbe) async throws -> Current {
    let result = try await host.run(script())
    return Self.parse(result.stdoutText)
  }

  /// Reads the output of `script()`.
  static func parse(_ output: String) -> Current {
    let sections = ProbeSections.parse(output)
    var c = Current()
    c.aptVersion = sections["version"].flatMap { AptOutput.parseAptVersion($0.trimmed) }
    c.uid = sections["uid"].flatMap { Int($0.trimmed) }
    c.now = sections["now"].flatMap { Int($0.trimmed) }
    if let cache = sections["cache"] {
      let lines = cache.text.split(separator: "\n", omittingEmptySubsequences: false).map {
        $0.trimmingCharacters(in: .whitespaces)
      }
      c.cacheTime = lines.first.flatMap { Int($0) } ?? 0
      c.listCount = lines.dropFirst().compactMap { Int($0) }.last ?? 0
    }
    if let deb = sections["deb"] {
      if deb.succeeded {
        var fields: [String: String] = [:]
        for line in deb.lines {
          guard let colon = line.firstIndex(of: ":") else { continue }
          fields[String(line[..<colon])] = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
        }
        c.debFields = fields
      } else {
        c.failure = "cannot read the .deb: " + deb.trimmed
      }
    }
    c.installed = AptOutput.parseDpkgQuery(sections["dpkg"]?.text ?? "")
    for line in sections["holds"]?.lines ?? [] {
      let name = line.trimmingCharacters(in: .whitespaces)
      c.holds.insert(name)
      if let colon = name.firstIndex(of: ":") { c.holds.insert(String(name[..<colon])) }
    }
    c.policies = AptOutput.parsePolicy(sections["policy"]?.text ?? "")
    for line in sections["resolve"]?.lines ?? [] {
      let f = line.split(separator: "\t", omittingEmptySubsequences: false)
      if f.count == 2, !f[1].isEmpty { c.resolved[String(f[0])] = String(f[1]) }
    }
    if let sim = sections["sim"] {
      c.simulation = AptOutput.parseSimulation(sim.text, status: sim.status)
    }
    if let pending = sections["pending"] {
      let errors = pending.lines.filter { $0.hasPrefix("E:") || $0.hasPrefix("W:") }
      if errors.isEmpty {
        c.readPendingSources = true
      } else {
        c.failure = "cannot read the repository an earlier task adds: " + errors.joined(separator: "; ")
      }
    }
    return c
  }

  // MARK: - plan

  /// A package the task installs, with the argument apt gets.
  struct Wanted {
    var spec: Spec
    /// `name`, `name=version`; nil when the version is resolved only on the host, after an update.
    var version: String?
  }

  func isHeld(_ name: String, _ current: Current) -> Bool { current.holds.contains(name) }

  public func plan(from current: Current) throws -> Plan {
    if let failure = current.failure { return .failed(failure) }
    guard let aptVersion = current.aptVersion else {
      return .failed("apt-get was not found on the host: the apt module needs Debian or Ubuntu")
    }
    var p = AptPlanner(module: self, current: current, aptVersion: aptVersion)
    return p.build()
  }
}

/// Works out one apt plan; kept apart from the module so that each part stays small.
struct AptPlanner {
  let m: AptModule
  let c: AptModule.Current
  /// apt 1.1 or later: `--allow-downgrades`, `--allow-change-held-packages`.
  let modern: Bool
  /// apt 1.9.11 or later: `DPkg::Lock::Timeout`.
  let lockOption: Bool
  var steps: [Step] = []
  var changes: [AptOutput.Change] = []
  var notes: [String] = []
  var result: OrderedDict = [:]

  init(module: AptModule, current: AptModule.Current, aptVersion: String) {
    m = module
    c = current
    modern = DebianVersion.compare(aptVersion, "1.1~") >= 0
    lockOption = DebianVersion.compare(aptVersion, "1.9.11") >= 0
  }

  var q: (String) -> String { ShellQuoting.quote }

  func installed(_ name: String) -> AptOutput.Installed? {
    guard let i = c.installed[name], i.isInstalled else { return nil }
    return i
  }

  /// The cache is older than `cache_valid_time` (or `update_cache` asks for an update).
  var cacheIsStale: Bool {
    guard m.updateCache else { return false }
    guard m.cacheValidTime > 0 else { return true }
    // No package lists at all (a fresh host): stale whatever the directory's time says.
    guard let now = c.now, c.listCount > 0 else { return true }
    return c.cacheTime + m.cacheValidTime < now
  }

  /// `apt-get update`, retried as Ansible does; fetch failures count as failures.
  var updateStep: Step {
    let update = AptModule.environment
      + "n=0; while :; do out=$(apt-get update 2>&1); rc=$?; "
      + "if [ $rc = 0 ] && ! printf '%s\\n' \"$out\" | grep -q '^\\(W: Failed to fetch\\|E: \\|W: Some index files failed\\)'; then break; fi; "
      + "n=$((n+1)); if [ $n -ge \(m.updateRetries) ]; then printf '%s\\n' \"$out\" >&2; exit 1; fi; "
      + "d=$((1 << n)); if [ $d -gt \(m.retryMaxDelay) ]; then d=\(m.retryMaxDelay); fi; sleep $d; done"
    return Step(.run, "apt-get update", .shell(update))
  }

  /// `apt-get -y` with the options every change uses.
  func aptGet(_ extra: [String]) -> String {
    var argv = ["apt-get", "-y"] + m.dpkgOptionArguments
    if lockOption { argv += ["-o", "DPkg::Lock::Timeout=\(m.lockTimeout)"] }
    return (argv + extra).map(q).joined(separator: " ")
  }

  /// Wraps `command` so that `/usr/sbin/policy-rc.d` exits with `policy_rc_d` while it runs.
  func withPolicyRcD(_ command: String) -> String {
    guard let code = m.policyRcD else { return AptModule.environment + command }
    return AptModule.environment
      + "b=; if [ -e /usr/sbin/policy-rc.d ]; then b=$(mktemp -d) && mv /usr/sbin/policy-rc.d \"$b/\" || exit 1; fi; "
      + "printf '#!/bin/sh\\nexit %d\\n' \(code) > /usr/sbin/policy-rc.d && chmod 0755 /usr/sbin/policy-rc.d || exit 1; "
      + "( \(command) ); rc=$?; rm -f /usr/sbin/policy-rc.d; "
      + "if [ -n \"$b\" ]; then mv \"$b/policy-rc.d\" /usr/sbin/policy-rc.d && rmdir \"$b\"; fi; exit $rc"
  }

  func holdStep(_ names: [String], hold: Bool) -> Step {
    Step.argv(.update, "\(hold ? "hold" : "unhold") \(names.joined(separator: ", "))", ["apt-mark", hold ? "hold" : "unhold"] + names)
  }

  mutating func build() -> Plan {
    if m.clean {
      steps.append(Step(.run, "apt-get clean", .shell(AptModule.environment + "apt-get clean")))
    }
    let outcome: String?
    if m.upgrade != nil {
      outcome = planSimulated(kind: "upgrade")
    } else if m.deb != nil {
      outcome = planDeb()
    } else if m.specs.isEmpty {
      outcome = planCacheOnly()
    } else if m.state == "absent" {
      outcome = planRemove()
    } else {
      outcome = planInstall()
    }
    if m.autoclean && m.specs.isEmpty && m.deb == nil {
      steps.append(Step(.run, "apt-get autoclean", .shell(AptModule.environment + aptGet(["autoclean"]))))
    }
    if let outcome { return .failed(outcome, result: result) }
    if !steps.isEmpty, let uid = c.uid, uid != 0 {
      return .failed(
        "apt needs root to change packages (the task runs as uid \(uid)): add 'become: true' to the task or play",
        result: result)
    }
    if !changes.isEmpty {
      result["packages"] = .list(changes.map { .string($0.description) })
    }
    if !notes.isEmpty { result["msg"] = .string(notes.joined(separator: "; ")) }
    return Plan(steps: steps, diffs: diffs(), result: result)
  }

  /// Before and after of each package the plan changes or holds, one line each.
  func diffs() -> [FileDiff] {
    let named = Set(m.specs.map(\.name) + (c.debFields?["Package"].map { [$0] } ?? []))
    func heldAfter(_ name: String, removed: Bool) -> Bool {
      if removed { return false }
      if named.contains(name), let hold = m.hold { return hold }
      return c.holds.contains(name)
    }
    var names = changes.map(\.name)
    for name in m.specs.map(\.name) where !names.contains(name) {
      if heldAfter(name, removed: false) != c.holds.contains(name) { names.append(name) }
    }
    guard !names.isEmpty, !steps.isEmpty else { return [] }
    var before = ""
    var after = ""
    for name in names {
      let change = changes.first { $0.name == name }
      let old = change?.from ?? installed(name)?.version
      let removed = change?.kind == .remove || change?.kind == .purge
      before += "\(name): \(old ?? "(not installed)")\(c.holds.contains(name) ? " (held)" : "")\n"
      if removed {
        after += "\(name): (\(change?.kind == .purge ? "purged" : "removed"))\n"
      } else {
        after += "\(name): \(change?.to ?? old ?? "(not installed)")\(heldAfter(name, removed: false) ? " (held)" : "")\n"
      }
    }
    return [FileDiff(beforeHeader: "packages (before)", afterHeader: "packages (after)", before: before, after: after)]
  }

  mutating func cacheResult(updating: Bool) {
    result["cache_updated"] = .bool(updating)
    result["cache_update_time"] = .int(updating ? (c.now ?? c.cacheTime) : c.cacheTime)
    if updating { steps.append(updateStep) }
  }

  /// `update_cache`, `autoremove` or `autoclean` without packages.
  mutating func planCacheOnly() -> String? {
    cacheResult(updating: m.updateCache && cacheIsStale)
    if m.autoremove {
      return planSimulated(kind: "autoremove")
    }
    return nil
  }

  /// A simulated whole-system operation: `upgrade` or `autoremove`.
  mutating func planSimulated(kind: String) -> String? {
    if kind == "upgrade" { cacheResult(updating: m.updateCache && cacheIsStale) }
    let updating = steps.contains { $0.summary == "apt-get update" }
    guard let sim = c.simulation else { return nil }
    guard sim.succeeded || updating else {
      return "'apt-get -s \(kind)' failed: \(sim.errors.joined(separator: "; "))"
    }
    changes = sim.changes
    if let failure = checkDowngrades() ?? checkHolds(changing: changes.map(\.name)) { return failure }
    // After an update the cache may offer more than the simulation saw: run it anyway.
    guard !changes.isEmpty || updating else { return nil }
    var extra: [String] = []
    if m.force { extra.append("--force-yes") }
    if m.allowUnauthenticated { extra.append("--allow-unauthenticated") }
    if kind == "upgrade" {
      if m.allowDowngrade && modern { extra.append("--allow-downgrades") }
      if m.failOnAutoremove { extra.append("--no-remove") }
      extra += m.commonOptions
      extra += m.upgrade == "dist" || m.upgrade == "full" ? ["dist-upgrade"] : ["upgrade", "--with-new-pkgs"]
      if m.autoremove { extra.append("--auto-remove") }
    } else {
      if m.purge { extra.append("--purge") }
      extra.append("autoremove")
    }
    steps.append(
      Step(.run, "apt-get \(kind): \(summary(changes))", .shell(withPolicyRcD(aptGet(extra))), reportsOutput: true))
    return nil
  }

  /// `3 packages: a 1 -> 2, b (new) 3`.
  /// ` from file:/srv/repo ./ Packages, added by an earlier task` when a version to install comes
  /// from a repository that check mode read without adding it.
  func pendingOrigins() -> String {
    guard c.readPendingSources else { return "" }
    let uris = m.pendingSources.compactMap { line -> String? in
      line.replacingOccurrences(of: #"\[[^\]]*\]"#, with: "", options: .regularExpression)
        .split(separator: " ").dropFirst().first.map(String.init)
    }
    var origins: [String] = []
    for change in changes {
      guard let to = change.to, let policy = c.policies[change.name] ?? c.policies[String(change.name.prefix { $0 != ":" })] else { continue }
      for source in policy.sources[to] ?? [] where uris.contains(where: { source.hasPrefix($0) }) && !origins.contains(source) {
        origins.append(source)
      }
    }
    return origins.isEmpty ? "" : " from \(origins.joined(separator: ", ")), which an earlier task adds"
  }

  func summary(_ list: [AptOutput.Change]) -> String {
    guard !list.isEmpty else { return "versions known after the cache update" }
    return list.map { $0.description }.joined(separator: ", ")
  }

  func checkDowngrades() -> String? {
    guard !m.allowDowngrade else { return nil }
    let downgrades = changes.filter { $0.kind == .downgrade }
    guard !downgrades.isEmpty else { return nil }
    let list = downgrades.map { "\($0.name) \($0.from ?? "?") is installed and \($0.to ?? "?") is older" }
    return list.joined(separator: "; ") + ": set allow_downgrade: true to downgrade"
  }

  /// Held packages among `names` that the plan changes: allowed with `hold:` or
  /// `allow_change_held_packages`, otherwise the failure message.
  func checkHolds(changing names: [String]) -> String? {
    let held = heldChanged(names)
    guard !held.isEmpty, !m.allowChangeHeld, m.hold == nil, !m.force else { return nil }
    let list = held.map { name -> String in
      let from = installed(name)?.version ?? "?"
      let to = changes.first { $0.name == name }.map { $0.to ?? ($0.kind == .purge ? "purged" : "removed") } ?? "another version"
      return "\(name) is held at \(from) and the task wants \(to == "removed" || to == "purged" ? "it \(to)" : to)"
    }
    let keep = m.state == "absent" ? "hold: false to release the hold" : "hold: true to keep it held at the new version"
    return list.joined(separator: "; ")
      + ": set allow_change_held_packages: true (or \(keep)), or release it with 'apt-mark unhold \(held.joined(separator: " "))'"
  }

  func heldChanged(_ names: [String]) -> [String] {
    var seen = Set<String>()
    return names.filter { c.holds.contains($0) && installed($0) != nil && seen.insert($0).inserted }
  }

  // MARK: install

  mutating func planInstall() -> String? {
    var wanted: [AptModule.Wanted] = []
    var missing: [String] = []
    for spec in m.specs {
      let inst = installed(spec.name)
      if m.onlyUpgrade && inst == nil { continue }
      let policy = c.policies[spec.name]
      let best: String? = spec.isGlob ? c.resolved[spec.name] : spec.version ?? policy?.candidate
      switch (m.state, spec.version) {
      case ("latest", _):
        if let inst, let best, inst.version == best { continue }
        if let inst, best == nil, spec.matches(inst.version) { continue }
      default:
        if let inst, spec.matches(inst.version) { continue }
      }
      if policy == nil || (best == nil && spec.version == nil) || (spec.isGlob && best == nil) {
        missing.append(spec.text)
      }
      wanted.append(.init(spec: spec, version: best))
    }
    // update_cache without cache_valid_time: only when something is to be installed.
    let updating = m.updateCache && (m.cacheValidTime > 0 ? cacheIsStale : (!wanted.isEmpty || m.state == "latest"))
    cacheResult(updating: updating)
    if updating && m.state == "latest" {
      // The update may bring newer versions: every package is asked for again after it.
      for spec in m.specs where !wanted.contains(where: { $0.spec == spec }) {
        if m.onlyUpgrade && installed(spec.name) == nil { continue }
        wanted.append(.init(spec: spec, version: spec.isGlob ? nil : spec.version))
      }
    }
    if updating && !c.readPendingSources {
      notes.append("the apt cache will be updated first; versions are from the current cache")
    }
    guard !wanted.isEmpty else { return planHoldsOnly() }
    let sim = c.simulation
    let simulated = sim?.succeeded == true
    if !simulated && !updating {
      return installFailure(sim, missing: missing)
    }
    if simulated, let sim {
      changes = sim.changes
    } else {
      // From the current (stale or empty) cache: what the names say.
      changes = wanted.map { w in
        let from = installed(w.spec.name)?.version
        let to = w.version ?? w.spec.version
        var kind = AptOutput.Change.Kind.install
        if let from, let to { kind = DebianVersion.compare(to, from) < 0 ? .downgrade : .upgrade } else if from != nil { kind = .upgrade }
        return AptOutput.Change(kind: kind, name: w.spec.name, from: from, to: to)
      }
    }
    if changes.isEmpty && !updating {
      // apt found nothing to do (a virtual package already provided, say).
      return planHoldsOnly()
    }
    if let failure = checkDowngrades() { return failure }
    let changedNames = changes.filter { $0.kind != .install }.map(\.name)
    if let failure = checkHolds(changing: changedNames) { return failure }
    let heldChanging = m.hold == false ? [] : heldChanged(changedNames)

    // Release holds first when asked to.
    if m.hold == false {
      let held = m.specs.map(\.name).filter { c.holds.contains($0) }
      if !held.isEmpty { steps.append(holdStep(held, hold: false)) }
    }
    // apt 1.0 cannot be told to change held packages: release them around the install.
    if !modern && !heldChanging.isEmpty { steps.append(holdStep(heldChanging, hold: false)) }

    var args: [String] = []
    var names: [String] = []
    var glob: [(Int, AptModule.Spec)] = []
    for (i, w) in wanted.enumerated() {
      names.append(w.spec.name)
      if updating || !simulated {
        if w.spec.isGlob {
          glob.append((i, w.spec))
          args.append("\"$r\(i)\"")
        } else {
          args.append(w.spec.version.map { "\(w.spec.name)=\($0)" } ?? w.spec.name)
        }
      } else if let change = changes.first(where: { $0.name == w.spec.name || $0.name.hasPrefix(w.spec.name + ":") }), let to = change.to {
        args.append("\(w.spec.name)=\(to)")
      } else {
        args.append(w.spec.text)
      }
    }
    var extra: [String] = []
    if m.onlyUpgrade { extra.append("--only-upgrade") }
    if m.state == "fixed" { extra.append("--fix-broken") }
    if m.force || (!modern && m.allowDowngrade && changes.contains { $0.kind == .downgrade }) { extra.append("--force-yes") }
    if m.autoremove { extra.append("--auto-remove") }
    if m.failOnAutoremove { extra.append("--no-remove") }
    extra += m.commonOptions
    if m.allowUnauthenticated { extra.append("--allow-unauthenticated") }
    if modern && m.allowDowngrade { extra.append("--allow-downgrades") }
    if modern && !heldChanging.isEmpty { extra.append("--allow-change-held-packages") }
    extra.append("install")
    var command = aptGet(extra) + " " + args.map { $0.hasPrefix("\"$r") ? $0 : q($0) }.joined(separator: " ")
    if !glob.isEmpty {
      // Wildcard pins are resolved on the host after the cache update, as in check.
      let resolve = glob.map { i, spec in
        "r\(i)=$(\(AptModule.resolveCommand(spec))); if [ -z \"$r\(i)\" ]; then echo \(q("no available installation candidate for \(spec.text)")) >&2; exit 100; fi; r\(i)=\(q(spec.name))=\"$r\(i)\"; "
      }.joined()
      command = resolve + command
    }
    // As Ansible, the named packages end up marked as installed by hand (not autoremoved).
    command += " && { apt-mark manual " + names.map(q).joined(separator: " ") + " >/dev/null 2>&1 || true; }"
    let what =
      simulated && (!updating || c.readPendingSources)
      ? summary(changes) + pendingOrigins() : wanted.map(\.spec.text).joined(separator: ", ") + (updating ? " (versions from the updated cache)" : "")
    steps.append(Step(.run, "install \(what)", .shell(withPolicyRcD(command)), reportsOutput: true))

    if m.hold == true {
      steps.append(holdStep(m.specs.map(\.name), hold: true))
    } else if !modern && !heldChanging.isEmpty {
      steps.append(holdStep(heldChanging, hold: true))
    } else if modern && !heldChanging.isEmpty {
      // The install drops the hold; keep held what was held.
      steps.append(holdStep(heldChanging, hold: true))
    }
    for name in heldChanging {
      notes.append("\(name) was held at \(installed(name)?.version ?? "?"): changed and held again")
    }
    return nil
  }

  /// Nothing to install: only the holds of `hold:`.
  mutating func planHoldsOnly() -> String? {
    guard let hold = m.hold else { return nil }
    let names = m.specs.map(\.name) + (c.debFields?["Package"].map { [$0] } ?? [])
    if hold {
      let toHold = names.filter { !c.holds.contains($0) && (installed($0) != nil || m.onlyUpgrade == false) }
      if !toHold.isEmpty {
        steps.append(holdStep(toHold, hold: true))
        for name in toHold { notes.append("\(name) was not held") }
      }
    } else {
      let toRelease = names.filter { c.holds.contains($0) }
      if !toRelease.isEmpty { steps.append(holdStep(toRelease, hold: false)) }
    }
    return nil
  }

  /// Why the simulation failed, in Ansible's words where it has them.
  func installFailure(_ sim: AptOutput.Simulation?, missing: [String]) -> String {
    let emptyCache = c.listCount == 0
    let hint =
      emptyCache
      ? " (the host's apt cache holds no package lists: set update_cache: true)"
      : m.updateCache ? "" : " (set update_cache: true if the package is new in the repository)"
    if let sim {
      for error in sim.errors {
        if error.hasPrefix("Unable to locate package ") {
          return "No package matching '\(error.dropFirst("Unable to locate package ".count))' is available" + hint
        }
        if error.hasPrefix("Version '"), error.hasSuffix("was not found") {
          let parts = error.split(separator: "'")
          if parts.count >= 4 { return "no available installation candidate for \(parts[3])=\(parts[1])" + hint }
        }
      }
      if !sim.errors.isEmpty { return "'apt-get -s install' failed: " + sim.errors.joined(separator: "; ") }
    }
    if let first = missing.first {
      return "No package matching '\(first)' is available" + hint
    }
    return "'apt-get -s install' failed: " + (sim?.text.split(separator: "\n").suffix(3).joined(separator: " ") ?? "no output")
  }

  // MARK: remove

  mutating func planRemove() -> String? {
    cacheResult(updating: m.updateCache && m.cacheValidTime > 0 && cacheIsStale)
    var names: [String] = []
    for spec in m.specs {
      guard let i = c.installed[spec.name] else { continue }
      if i.isInstalled && spec.matches(i.version) || (m.purge && i.hasConfigFiles && spec.version == nil) {
        names.append(spec.name)
      }
    }
    if m.hold == false {
      let held = m.specs.map(\.name).filter { c.holds.contains($0) && !names.contains($0) }
      if !held.isEmpty { steps.append(holdStep(held, hold: false)) }
    }
    guard !names.isEmpty else { return nil }
    if let sim = c.simulation, sim.succeeded {
      changes = sim.changes
    } else if let sim = c.simulation, !sim.errors.isEmpty {
      return "'apt-get -s remove' failed: " + sim.errors.joined(separator: "; ")
    } else {
      changes = names.map { AptOutput.Change(kind: m.purge ? .purge : .remove, name: $0, from: installed($0)?.version, to: nil) }
    }
    if changes.isEmpty { return nil }
    let removing = changes.map(\.name)
    if let failure = checkHolds(changing: removing) { return failure }
    let held = m.hold == false ? [] : heldChanged(removing)
    if m.hold == false {
      let release = names.filter { c.holds.contains($0) }
      if !release.isEmpty { steps.append(holdStep(release, hold: false)) }
    } else if !modern && !held.isEmpty {
      steps.append(holdStep(held, hold: false))
    }
    var extra = ["-q"]
    if m.purge { extra.append("--purge") }
    if m.force { extra.append("--force-yes") }
    if m.autoremove { extra.append("--auto-remove") }
    if modern && !held.isEmpty { extra.append("--allow-change-held-packages") }
    extra.append("remove")
    let command = aptGet(extra) + " " + names.map(q).joined(separator: " ")
    steps.append(Step(.remove, "\(m.purge ? "purge" : "remove") \(summary(changes))", .shell(withPolicyRcD(command)), reportsOutput: true))
    return nil
  }

  // MARK: deb

  mutating func planDeb() -> String? {
    guard let deb = m.deb, let fields = c.debFields, let package = fields["Package"], let version = fields["Version"] else {
      return "cannot read the package fields of '\(m.deb ?? "")'"
    }
    let inst = installed(package)
    if let inst, DebianVersion.compare(inst.version, version) == 0 {
      return planHoldsOnly()
    }
    if let inst, DebianVersion.compare(inst.version, version) > 0, !m.allowDowngrade {
      return "A later version is already installed: \(package) \(inst.version) (the .deb holds \(version)): set allow_downgrade: true to downgrade"
    }
    if let sim = c.simulation, sim.succeeded, !sim.changes.isEmpty {
      changes = sim.changes
    } else if let sim = c.simulation, !sim.errors.isEmpty {
      return "'apt-get -s install \(deb)' failed: " + sim.errors.joined(separator: "; ")
    } else {
      let kind: AptOutput.Change.Kind = inst == nil ? .install : DebianVersion.compare(version, inst!.version) < 0 ? .downgrade : .upgrade
      changes = [AptOutput.Change(kind: kind, name: package, from: inst?.version, to: version)]
    }
    let changedNames = changes.filter { $0.kind != .install }.map(\.name)
    if let failure = checkHolds(changing: changedNames) { return failure }
    let held = m.hold == false ? [] : heldChanged(changedNames)
    if m.hold == false {
      let release = [package].filter { c.holds.contains($0) }
      if !release.isEmpty { steps.append(holdStep(release, hold: false)) }
    } else if !modern && !held.isEmpty {
      steps.append(holdStep(held, hold: false))
    }
    let path = deb.hasPrefix("/") || deb.hasPrefix(".") ? deb : "./" + deb
    let command: String
    if modern {
      var extra: [String] = []
      if m.force { extra.append("--force-yes") }
      if m.allowUnauthenticated { extra.append("--allow-unauthenticated") }
      if m.allowDowngrade { extra.append("--allow-downgrades") }
      if !held.isEmpty { extra.append("--allow-change-held-packages") }
      extra += m.commonOptions + ["install", path]
      command = aptGet(extra)
    } else {
      let dpkg = (["dpkg"] + m.dpkgOptions.map { "--\($0)" } + (m.force ? ["--force-all"] : []) + ["-i", path]).map(q).joined(separator: " ")
      command = "\(dpkg) || \(aptGet(["-f", "install"])); dpkg-query -W -f='${Status}' \(q(package)) | grep -q ' installed$'"
    }
    steps.append(Step(.run, "install \(summary(changes)) from \(deb)", .shell(withPolicyRcD(command)), reportsOutput: true))
    if m.hold == true || !held.isEmpty {
      steps.append(holdStep([package], hold: true))
    }
    return nil
  }
}
