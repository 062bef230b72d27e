import Foundation
import Inventory
import Testing

@testable import Provision

/// A fixture captured from a test host (or, for trusty, written from apt 1.0's format).
func aptFixture(_ name: String) throws -> String {
  let path = try #require(Bundle.module.path(forResource: "Fixtures/apt/\(name)", ofType: nil))
  return try String(contentsOfFile: path, encoding: .utf8)
}

/// Output as the check script frames it, one `ProbeSections` section per command.
func aptProbe(_ sections: [(String, String, Int)]) -> String {
  sections.map { name, text, status in
    let body = text.hasSuffix("\n") ? String(text.dropLast()) : text
    return "@@provision-begin \(name)\n\(body)\n@@provision-end \(name) \(status)\n"
  }.joined()
}

func aptModule(_ given: OrderedDict) throws -> AptModule {
  try AptModule(ModuleArguments(given, spec: AptModule.arguments, module: AptModule.name))
}

func aptShell(_ step: Step) -> String {
  if case .shell(let command, _) = step.action { return command }
  return ""
}

/// The `apt` module: spec parsing, apt's outputs, and plans from captured host states.
@Suite struct AptModuleTests {
  static let pin = "docker-engine=1.10.3-0~trusty"

  /// A bookworm host (apt 2.6.1) as `check` reads it.
  static func bookworm(
    dpkg: String = "", holds: String = "", policy: String? = nil, sim: String? = nil, simStatus: Int = 0,
    cache: String = "1795634374\n1", uid: String = "0", version: String = "apt 2.6.1 (amd64)", resolve: String? = nil
  ) -> AptModule.Current {
    var sections: [(String, String, Int)] = [
      ("version", version, 0), ("uid", uid, 0), ("now", "1795634400", 0), ("cache", cache, 0), ("dpkg", dpkg, 0),
      ("holds", holds, 0),
    ]
    if let policy { sections.append(("policy", policy, 0)) }
    if let resolve { sections.append(("resolve", resolve, 0)) }
    if let sim { sections.append(("sim", sim, simStatus)) }
    return AptModule.parse(aptProbe(sections))
  }

  static let installed1102 = "docker-engine\tinstall ok installed\t1.10.3-0~trusty\n"
  static let installed1112 = "docker-engine\tinstall ok installed\t1.11.2-0~trusty\n"

  // MARK: arguments

  @Test func parsesPins() throws {
    let spec = try AptModule.parseSpec(Self.pin)
    #expect(spec.name == "docker-engine" && spec.version == "1.10.3-0~trusty" && !spec.isGlob)
    let glob = try AptModule.parseSpec(" docker-engine=1.10* ")
    #expect(glob.isGlob && glob.matches("1.10.3-0~trusty") && !glob.matches("1.11.2-0~trusty"))
    #expect(try AptModule.parseSpec("curl").version == nil)
  }

  @Test func rangeConstraintsAreErrorsWithAHint() throws {
    let error = try #require(throws: ModuleError.self) { try AptModule.parseSpec("docker-engine>=1.10") }
    #expect(error.message.contains("docker-engine>=1.10"))
    #expect(error.hint?.contains("docker-engine=1.10*") == true)
    #expect(throws: ModuleError.self) { try AptModule.parseSpec("pkg<<2") }
    #expect(throws: ModuleError.self) { try AptModule.parseSpec("a=1=2") }
    #expect(throws: ModuleError.self) { try AptModule.parseSpec("apt*") }
    #expect(throws: ModuleError.self) { try AptModule.parseSpec("pkg=") }
    // Through the module's arguments too, from a list or a comma string.
    #expect(throws: ModuleError.self) { try aptModule(["name": .list([.string("curl"), .string("docker-engine>=1.10")])]) }
    let m = try aptModule(["name": "curl, docker-engine=1.10*"])
    #expect(m.specs.map(\.text) == ["curl", "docker-engine=1.10*"])
  }

  @Test func argumentRules() throws {
    #expect(throws: ModuleError.self) { try aptModule(["name": "x", "state": "build-dep"]) }
    #expect(throws: ModuleError.self) { try aptModule(["name": "x", "state": "absent", "hold": true]) }
    #expect(throws: ModuleError.self) { try aptModule(["state": "present"]) }  // one of name, deb, upgrade, ...
    #expect(throws: ModuleError.self) { try aptModule(["deb": "http://x/y.deb"]) }
    #expect(throws: ModuleError.self) { try aptModule(["name": "x", "upgrade": "dist"]) }
    let aliases = try aptModule(["pkg": "x", "allow-downgrades": true, "update-cache": "yes", "install-recommends": "no"])
    #expect(aliases.allowDowngrade && aliases.updateCache && aliases.installRecommends == false)
    #expect(try aptModule(["name": "x", "cache_valid_time": 3600]).updateCache)
    #expect(try aptModule(["name": "*", "state": "latest"]).upgrade == "yes")
  }

  // MARK: apt's output

  @Test func comparesDebianVersions() {
    let ordered = [
      "1.0~rc1", "1.0", "1.0-0ubuntu1", "1.10.3-0~trusty", "1.11.2-0~trusty", "17.05.0~ce-0~ubuntu-trusty", "1:0.1",
    ]
    for (i, a) in ordered.enumerated() {
      for (j, b) in ordered.enumerated() {
        let c = DebianVersion.compare(a, b)
        #expect((c < 0) == (i < j) && (c == 0) == (i == j), "\(a) vs \(b)")
      }
    }
    #expect(DebianVersion.compare("1.0", "1.0-0") == 0)
    #expect(DebianVersion.compare("2.6.1", "1.1~") > 0)
    #expect(DebianVersion.compare("1.0.1ubuntu2", "1.1~") < 0)
    #expect(DebianVersion.compare("1.1~exp9", "1.1~") > 0)
  }

  @Test func matchesLikeFnmatch() {
    #expect(FNMatch.matches("1.10.3-0~trusty", "1.10*"))
    #expect(FNMatch.matches("1.10.3-0~trusty", "1.10.?-0~trusty"))
    #expect(FNMatch.matches("1.10.3", "1.10.[0-4]"))
    #expect(!FNMatch.matches("1.10.3", "1.10.[!3]"))
    #expect(!FNMatch.matches("1.11.2-0~trusty", "1.10*"))
    #expect(FNMatch.matches("a[b", "a[b"))
  }

  @Test func parsesDpkgQueryAndPolicy() throws {
    let installed = AptOutput.parseDpkgQuery(try aptFixture("dpkg-query.txt"))
    #expect(installed["docker-engine"]?.version == "1.10.3-0~trusty" && installed["docker-engine"]?.isInstalled == true)
    #expect(installed["curl"]?.isInstalled == true && installed["nosuch"] == nil)
    let conf = AptOutput.parseDpkgQuery("x\tdeinstall ok config-files\t1.0\n")
    #expect(conf["x"]?.hasConfigFiles == true && conf["x"]?.isInstalled == false)

    let policy = AptOutput.parsePolicy(try aptFixture("apt-cache-policy.txt"))
    let docker = try #require(policy["docker-engine"])
    #expect(docker.installed == "1.10.3-0~trusty" && docker.candidate == "17.05.0~ce-0~ubuntu-trusty")
    #expect(docker.versions.map(\.version) == ["17.05.0~ce-0~ubuntu-trusty", "1.11.2-0~trusty", "1.10.3-0~trusty"])
    #expect(policy["curl"]?.versions.map(\.priority) == [100] && policy["nosuch"] == nil)

    let trusty = AptOutput.parsePolicy(try aptFixture("trusty-apt-cache-policy.txt"))
    #expect(trusty["docker-engine"]?.installed == "1.11.2-0~trusty")
    #expect(trusty["docker-engine"]?.versions.count == 3)
  }

  @Test func parsesSimulations() throws {
    let down = AptOutput.parseSimulation(try aptFixture("apt-get-s-downgrade-held.txt"), status: 0)
    #expect(down.changes == [.init(kind: .downgrade, name: "docker-engine", from: "1.11.2-0~trusty", to: "1.10.3-0~trusty")])
    #expect(down.changes[0].description == "docker-engine: 1.11.2-0~trusty -> 1.10.3-0~trusty")
    let up = AptOutput.parseSimulation(try aptFixture("apt-get-s-upgrade.txt"), status: 0)
    #expect(up.changes.map(\.kind) == [.upgrade])
    let new = AptOutput.parseSimulation(try aptFixture("apt-get-s-install.txt"), status: 0)
    #expect(new.changes == [.init(kind: .install, name: "docker-engine", from: nil, to: "1.10.3-0~trusty")])
    #expect(AptOutput.parseSimulation(try aptFixture("apt-get-s-remove.txt"), status: 0).changes.map(\.kind) == [.remove])
    #expect(AptOutput.parseSimulation(try aptFixture("apt-get-s-purge.txt"), status: 0).changes.map(\.kind) == [.purge])
    let missing = AptOutput.parseSimulation(try aptFixture("apt-get-s-missing.txt"), status: 100)
    #expect(!missing.succeeded && missing.errors == ["Unable to locate package nosuch"])
    // apt 1.0 on trusty: origins after the version, a dependency pulled in.
    let trusty = AptOutput.parseSimulation(try aptFixture("trusty-apt-get-s-downgrade-held.txt"), status: 0)
    #expect(trusty.changes.map(\.name) == ["libsystemd-journal0", "docker-engine"])
    #expect(trusty.changes[0].to == "204-5ubuntu20.31" && trusty.changes[1].kind == .downgrade)
    #expect(AptOutput.parseAptVersion(try aptFixture("trusty-apt-version.txt").trimmingCharacters(in: .newlines)) == "1.0.1ubuntu2")
    #expect(AptOutput.parseAptVersion(try aptFixture("apt-version.txt").trimmingCharacters(in: .newlines)) == "2.6.1")
  }

  // MARK: check script

  @Test func checkIsOneReadOnlyScript() throws {
    let script = try aptModule(["name": .string(Self.pin), "hold": true]).script()
    for part in ["apt-get --version", "dpkg-query -W", "apt-mark -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache= showhold", "policy docker-engine", "apt-get -s -o Dir::Cache::pkgcache= -o Dir::Cache::srcpkgcache=", "update-success-stamp"] {
      #expect(script.contains(part), "\(part)")
    }
    #expect(!script.contains("apt-get update") && !script.contains("apt-get -y"))
    let glob = try aptModule(["name": "docker-engine=1.10*"]).script()
    #expect(glob.contains("madison docker-engine") && glob.contains("case $v in 1.10*)"))
    let remove = try aptModule(["name": "docker-engine", "state": "absent", "purge": true]).script()
    #expect(remove.contains("srcpkgcache= --purge remove"))
  }

  // MARK: plans

  @Test func freshHostInstallsThePinAndHoldsIt() throws {
    let m = try aptModule(["name": .string(Self.pin), "hold": true])
    let plan = try m.plan(from: Self.bookworm(policy: try aptFixture("apt-cache-policy.txt"), sim: try aptFixture("apt-get-s-install.txt")))
    #expect(plan.failure == nil)
    #expect(plan.steps.map(\.summary) == ["install docker-engine: (none) -> 1.10.3-0~trusty", "hold docker-engine"])
    let install = aptShell(plan.steps[0])
    #expect(install.contains("DEBIAN_FRONTEND=noninteractive"))
    #expect(install.contains("apt-get -y -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold"))
    #expect(install.contains("install 'docker-engine=1.10.3-0~trusty'") && !install.contains("--allow-downgrades"))
    #expect(aptShell(plan.steps[1]) == "apt-mark hold docker-engine")
    #expect(plan.steps[0].reportsOutput)
    #expect(plan.diffs.first?.after == "docker-engine: 1.10.3-0~trusty (held)\n")
    #expect(plan.result["packages"] == .list(["docker-engine: (none) -> 1.10.3-0~trusty"]))
  }

  @Test func convergedHostIsUnchanged() throws {
    let m = try aptModule(["name": .string(Self.pin), "hold": true, "allow_downgrade": true])
    let current = Self.bookworm(dpkg: Self.installed1102, holds: "docker-engine", policy: try aptFixture("apt-cache-policy.txt"), sim: "")
    let plan = try m.plan(from: current)
    #expect(plan.steps.isEmpty && plan.failure == nil && plan.diffs.isEmpty)
    // Unheld drift: only the hold comes back.
    let unheld = try m.plan(from: Self.bookworm(dpkg: Self.installed1102, policy: try aptFixture("apt-cache-policy.txt"), sim: ""))
    #expect(unheld.steps.map(aptShell) == ["apt-mark hold docker-engine"])
    #expect(unheld.diffs.first?.before == "docker-engine: 1.10.3-0~trusty\n")
    #expect(unheld.diffs.first?.after == "docker-engine: 1.10.3-0~trusty (held)\n")
  }

  @Test func heldNewerVersionIsDowngradedAndHeldAgain() throws {
    let m = try aptModule(["name": .string(Self.pin), "hold": true, "allow_downgrade": true])
    let current = Self.bookworm(
      dpkg: Self.installed1112, holds: "docker-engine", policy: try aptFixture("trusty-apt-cache-policy.txt"),
      sim: try aptFixture("apt-get-s-downgrade-held.txt"))
    let plan = try m.plan(from: current)
    #expect(plan.failure == nil)
    #expect(plan.steps.map(\.summary) == ["install docker-engine: 1.11.2-0~trusty -> 1.10.3-0~trusty", "hold docker-engine"])
    let install = aptShell(plan.steps[0])
    #expect(install.contains("--allow-downgrades") && install.contains("--allow-change-held-packages"))
    #expect(plan.diffs.first?.before == "docker-engine: 1.11.2-0~trusty (held)\n")
    #expect(plan.diffs.first?.after == "docker-engine: 1.10.3-0~trusty (held)\n")
  }

  @Test func downgradeWithoutPermissionFailsNamingTheFix() throws {
    let current = Self.bookworm(
      dpkg: Self.installed1112, holds: "docker-engine", policy: try aptFixture("trusty-apt-cache-policy.txt"),
      sim: try aptFixture("apt-get-s-downgrade-held.txt"))
    let noDowngrade = try aptModule(["name": .string(Self.pin), "hold": true]).plan(from: current)
    #expect(noDowngrade.failure?.contains("allow_downgrade: true") == true)
    // A held package is never changed silently.
    let noHold = try aptModule(["name": .string(Self.pin), "allow_downgrade": true]).plan(from: current)
    #expect(noHold.failure?.contains("docker-engine is held at 1.11.2-0~trusty") == true)
    #expect(noHold.failure?.contains("allow_change_held_packages: true") == true)
    let allowed = try aptModule(["name": .string(Self.pin), "allow_downgrade": true, "allow_change_held_packages": true])
      .plan(from: current)
    #expect(allowed.failure == nil)
    #expect(allowed.steps.map(aptShell).last == "apt-mark hold docker-engine")
    // hold: false releases first, then installs.
    let release = try aptModule(["name": .string(Self.pin), "allow_downgrade": true, "hold": false]).plan(from: current)
    #expect(release.steps.map(aptShell).first == "apt-mark unhold docker-engine")
    #expect(!aptShell(release.steps[1]).contains("--allow-change-held-packages"))
  }

  @Test func trustyAptUsesForceYesAndReleasesTheHold() throws {
    let m = try aptModule(["name": .string(Self.pin), "hold": true, "allow_downgrade": true])
    let current = Self.bookworm(
      dpkg: Self.installed1112, holds: "docker-engine", policy: try aptFixture("trusty-apt-cache-policy.txt"),
      sim: try aptFixture("trusty-apt-get-s-downgrade-held.txt"),
      version: try aptFixture("trusty-apt-version.txt").trimmingCharacters(in: .newlines))
    let plan = try m.plan(from: current)
    #expect(plan.failure == nil)
    #expect(plan.steps.map(\.summary).first == "unhold docker-engine")
    let install = aptShell(plan.steps[1])
    #expect(install.contains("--force-yes") && !install.contains("--allow-downgrades") && !install.contains("--allow-change-held"))
    #expect(!install.contains("DPkg::Lock::Timeout"))
    #expect(plan.steps[1].summary.contains("libsystemd-journal0: (none) -> 204-5ubuntu20.31"))
    #expect(aptShell(plan.steps[2]) == "apt-mark hold docker-engine")
  }

  @Test func updateCacheOnAFreshHostPlansFromTheCurrentCache() throws {
    let m = try aptModule(["name": .string(Self.pin), "hold": true, "update_cache": true, "cache_valid_time": 3600])
    // No package lists at all: stale whatever the directory's time, and the package is unknown.
    let current = Self.bookworm(
      policy: "", sim: try aptFixture("apt-get-s-missing.txt").replacingOccurrences(of: "nosuch", with: "docker-engine"),
      simStatus: 100, cache: "1795634399\n0")
    let plan = try m.plan(from: current)
    #expect(plan.failure == nil)
    #expect(plan.steps.map(\.summary) == ["apt-get update", "install docker-engine=1.10.3-0~trusty (versions from the updated cache)", "hold docker-engine"])
    #expect(plan.result["cache_updated"] == true)
    #expect(plan.result["msg"]?.stringValue?.contains("cache will be updated") == true)
    // Without update_cache: the failure says what to do.
    let failed = try aptModule(["name": .string(Self.pin)]).plan(from: current)
    #expect(failed.failure == "No package matching 'docker-engine' is available (the host's apt cache holds no package lists: set update_cache: true)")
    // A fresh cache is not updated again; without cache_valid_time only when installing.
    let fresh = Self.bookworm(dpkg: Self.installed1102, holds: "docker-engine", policy: try aptFixture("apt-cache-policy.txt"), sim: "")
    #expect(try m.plan(from: fresh).steps.isEmpty)
    #expect(try aptModule(["name": .string(Self.pin), "update_cache": true]).plan(from: fresh).steps.isEmpty)
    let onlyUpdate = try aptModule(["update_cache": true]).plan(from: fresh)
    #expect(onlyUpdate.steps.map(\.summary) == ["apt-get update"])
  }

  @Test func latestAndWildcardPins() throws {
    let policy = try aptFixture("apt-cache-policy.txt")
    let sim = "Inst docker-engine [1.10.3-0~trusty] (17.05.0~ce-0~ubuntu-trusty localhost [amd64])\n"
    let latest = try aptModule(["name": "docker-engine", "state": "latest"]).plan(
      from: Self.bookworm(dpkg: Self.installed1102, policy: policy, sim: sim))
    #expect(aptShell(latest.steps[0]).contains("install 'docker-engine=17.05.0~ce-0~ubuntu-trusty'"))
    // present does not upgrade what is installed.
    let present = try aptModule(["name": "docker-engine"]).plan(from: Self.bookworm(dpkg: Self.installed1102, policy: policy, sim: ""))
    #expect(present.steps.isEmpty)
    let globSim = "Inst docker-engine [1.10.3-0~trusty] (1.11.2-0~trusty localhost [amd64])\n"
    let glob = try aptModule(["name": "docker-engine=1.11*"]).plan(
      from: Self.bookworm(dpkg: Self.installed1102, policy: policy, sim: globSim, resolve: "docker-engine\t1.11.2-0~trusty"))
    #expect(aptShell(glob.steps[0]).contains("install 'docker-engine=1.11.2-0~trusty'"))
    let satisfied = try aptModule(["name": "docker-engine=1.10*"]).plan(
      from: Self.bookworm(dpkg: Self.installed1102, policy: policy, sim: "", resolve: "docker-engine\t1.10.3-0~trusty"))
    #expect(satisfied.steps.isEmpty)
    let bad = try aptModule(["name": "docker-engine=9.9"]).plan(
      from: Self.bookworm(dpkg: Self.installed1102, policy: policy, sim: try aptFixture("apt-get-s-badversion.txt"), simStatus: 100))
    #expect(bad.failure?.hasPrefix("no available installation candidate for docker-engine=9.9") == true)
  }

  @Test func removeAndPurge() throws {
    let current = Self.bookworm(dpkg: Self.installed1102, sim: try aptFixture("apt-get-s-purge.txt"))
    let purge = try aptModule(["name": "docker-engine", "state": "absent", "purge": true]).plan(from: current)
    #expect(purge.steps.map(\.summary) == ["purge docker-engine: 1.10.3-0~trusty -> (purged)"])
    #expect(aptShell(purge.steps[0]).contains("-q --purge remove docker-engine"))
    let gone = try aptModule(["name": "docker-engine", "state": "absent"]).plan(from: Self.bookworm(sim: ""))
    #expect(gone.steps.isEmpty)
    let held = Self.bookworm(dpkg: Self.installed1102, holds: "docker-engine", sim: try aptFixture("apt-get-s-remove.txt"))
    let refused = try aptModule(["name": "docker-engine", "state": "absent"]).plan(from: held)
    #expect(refused.failure?.contains("hold: false") == true)
    let released = try aptModule(["name": "docker-engine", "state": "absent", "hold": false]).plan(from: held)
    #expect(released.steps.map(aptShell).first == "apt-mark unhold docker-engine")
    #expect(released.steps.count == 2)
  }

  @Test func changesNeedRoot() throws {
    let current = Self.bookworm(policy: try aptFixture("apt-cache-policy.txt"), sim: try aptFixture("apt-get-s-install.txt"), uid: "1000")
    let plan = try aptModule(["name": .string(Self.pin)]).plan(from: current)
    #expect(plan.failure?.contains("become: true") == true)
    // A converged host needs no root to say so.
    let ok = Self.bookworm(dpkg: Self.installed1102, policy: try aptFixture("apt-cache-policy.txt"), sim: "", uid: "1000")
    #expect(try aptModule(["name": .string(Self.pin)]).plan(from: ok).failure == nil)
  }

  @Test func policyRcDWrapsTheInstall() throws {
    let plan = try aptModule(["name": .string(Self.pin), "policy_rc_d": 101]).plan(
      from: Self.bookworm(policy: try aptFixture("apt-cache-policy.txt"), sim: try aptFixture("apt-get-s-install.txt")))
    let command = aptShell(plan.steps[0])
    #expect(command.contains("exit %d\\n' 101 > /usr/sbin/policy-rc.d") && command.contains("rm -f /usr/sbin/policy-rc.d"))
  }
}

/// `dpkg_selections`.
@Suite struct DpkgSelectionsModuleTests {
  func module(_ selection: String) throws -> DpkgSelectionsModule {
    try DpkgSelectionsModule(
      ModuleArguments(["name": "docker-engine", "selection": .string(selection)], spec: DpkgSelectionsModule.arguments, module: "dpkg_selections"))
  }

  @Test func holdsAndReleases() throws {
    let current = DpkgSelectionsModule.parse(stdout: "docker-engine\t\t\t\t\tinstall\n", stderr: "")
    #expect(current.selection == "install")
    let plan = try module("hold").plan(from: current)
    #expect(plan.result["before"] == "install" && plan.result["after"] == "hold")
    guard case .shell(let command, let stdin) = try #require(plan.steps.first).action else { Issue.record("not a shell step"); return }
    #expect(command == "dpkg --set-selections" && String(decoding: stdin, as: UTF8.self) == "docker-engine hold\n")
    #expect(try module("install").plan(from: current).steps.isEmpty)
    let unknown = DpkgSelectionsModule.parse(stdout: "", stderr: "dpkg: no packages found matching docker-engine\n")
    #expect(try module("hold").plan(from: unknown).failure == "Failed to find package 'docker-engine' to perform selection 'hold'.")
  }
}

/// `apt_repository`: lines normalised as Ansible's `SourcesList`.
@Suite struct AptRepositoryModuleTests {
  func module(_ given: OrderedDict) throws -> AptRepositoryModule {
    try AptRepositoryModule(ModuleArguments(given, spec: AptRepositoryModule.arguments, module: "apt_repository"))
  }

  func current(_ extra: [AptRepositoryModule.SourceFile] = []) throws -> AptRepositoryModule.Current {
    .init(files: [AptRepositoryModule.file(path: "/etc/apt/sources.list", content: try aptFixture("sources.list"))] + extra)
  }

  @Test func parsesLinesAsAnsible() {
    let e = AptRepositoryModule.Entry.parse("  deb   [arch=amd64]  http://x/y   trusty main  # note ")
    #expect(e == .init(valid: true, enabled: true, source: "deb [arch=amd64] http://x/y trusty main", comment: "note"))
    #expect(e.text == "deb [arch=amd64] http://x/y trusty main # note\n")
    let off = AptRepositoryModule.Entry.parse("#deb-src http://x/y trusty main")
    #expect(off.valid && !off.enabled && off.text == "# deb-src http://x/y trusty main\n")
    #expect(!AptRepositoryModule.Entry.parse("# a comment").valid)
    #expect(AptRepositoryModule.Entry.parse("").text == "\n")
  }

  @Test func derivesTheFileNameFromTheURL() throws {
    #expect(try module(["repo": "deb [arch=amd64] https://user:pw@apt.dockerproject.org/repo ubuntu-trusty main"]).targetFile
      == "/etc/apt/sources.list.d/apt_dockerproject_org_repo.list")
    #expect(try module(["repo": "deb [trusted=yes] file:/var/tmp/emptyrepo ./"]).targetFile == "/etc/apt/sources.list.d/file_var_tmp_emptyrepo.list")
    #expect(try module(["repo": "deb http://x/y z main", "filename": "docker"]).targetFile == "/etc/apt/sources.list.d/docker.list")
    #expect(throws: ModuleError.self) { try module(["repo": "ppa:foo/bar"]) }
    #expect(throws: ModuleError.self) { try module(["repo": "# deb http://x/y z main"]) }
    #expect(throws: ModuleError.self) { try module(["repo": "http://x/y z main"]) }
  }

  @Test func addsOnceAndIsUnchangedAfter() throws {
    let m = try module(["repo": "deb  http://mirror.example/docker   ubuntu-trusty main", "filename": "docker"])
    let plan = try m.plan(from: try current())
    #expect(plan.steps.map(\.summary) == ["apt source deb http://mirror.example/docker ubuntu-trusty main in /etc/apt/sources.list.d/docker.list", "apt-get update"])
    guard case .upload(let data, let path, let mode, _, _) = plan.steps[0].action else { Issue.record("not an upload"); return }
    #expect(String(decoding: data, as: UTF8.self) == "deb http://mirror.example/docker ubuntu-trusty main\n")
    #expect(path == "/etc/apt/sources.list.d/docker.list" && mode == 0o644)
    #expect(plan.result["sources_added"] == .list(["/etc/apt/sources.list.d/docker.list"]))
    // The second run sees the file it wrote.
    let after = try current([AptRepositoryModule.file(path: path, content: String(decoding: data, as: UTF8.self))])
    #expect(try m.plan(from: after).steps.isEmpty)
    // Already in sources.list, written differently: unchanged.
    #expect(try module(["repo": "deb [trusted=yes]   file:/srv/repo ./"]).plan(from: try current()).steps.isEmpty)
  }

  @Test func enablesACommentedLineInPlace() throws {
    let plan = try module(["repo": "deb [arch=amd64] https://apt.dockerproject.org/repo ubuntu-trusty main", "update_cache": false])
      .plan(from: try current())
    #expect(plan.steps.count == 1)
    guard case .upload(let data, let path, let mode, _, _) = plan.steps[0].action else { Issue.record("not an upload"); return }
    #expect(path == "/etc/apt/sources.list" && mode == nil)
    #expect(
      String(decoding: data, as: UTF8.self) == """
        # main archive
        deb http://deb.debian.org/debian bookworm main
        # deb-src http://deb.debian.org/debian bookworm main
        deb [arch=amd64] https://apt.dockerproject.org/repo ubuntu-trusty main

        deb [trusted=yes] file:/srv/repo ./ # local repository

        """)
  }

  @Test func absentRemovesTheLineAndAnEmptyFile() throws {
    let docker = AptRepositoryModule.file(path: "/etc/apt/sources.list.d/docker.list", content: "deb http://m/docker trusty main\n")
    let plan = try module(["repo": "deb http://m/docker trusty main", "state": "absent"]).plan(from: try current([docker]))
    #expect(plan.steps.map(\.summary) == ["apt source file /etc/apt/sources.list.d/docker.list", "apt-get update"])
    #expect(plan.result["sources_removed"] == .list(["/etc/apt/sources.list.d/docker.list"]))
    #expect(plan.diffs.first?.afterHeader == "/dev/null")
    #expect(try module(["repo": "deb http://m/docker trusty main", "state": "absent"]).plan(from: try current()).steps.isEmpty)
  }

  @Test func parsesTheCheckOutput() {
    let line = "/etc/apt/sources.list\t/etc/apt/sources.list\t" + Data("deb http://a b c\n".utf8).base64EncodedString()
    let current = AptRepositoryModule.parse(line + "\n")
    #expect(current.files.first?.entries.first?.source == "deb http://a b c")
  }
}

/// `apt_key`: OpenPGP keys read and written without gpg.
@Suite struct AptKeyModuleTests {
  static let testFingerprint = "4BF66058890C383BE949A73821C282F5BDC9041F"
  static let testSubkey = "1A5D58F9CBC15F0B40BE28236BCC9701EAE83AA5"

  func module(_ given: OrderedDict) throws -> AptKeyModule {
    try AptKeyModule(ModuleArguments(given, spec: AptKeyModule.arguments, module: "apt_key"))
  }

  func bytes(_ name: String) throws -> [UInt8] {
    let path = try #require(Bundle.module.path(forResource: "Fixtures/apt/\(name)", ofType: nil))
    return [UInt8](try Data(contentsOf: URL(fileURLWithPath: path)))
  }

  @Test func fingerprintsMatchGnuPG() throws {
    // Fingerprints as `gpg --show-keys --with-colons` prints them.
    let debian = try #require(AptKeyring.dearmor(try bytes("debian-archive-bookworm-stable.asc")).flatMap(AptKeyring.keys))
    #expect(debian.map(\.fingerprint) == ["4D64FEC119C2029067D6E791F8D2585B8783D481"])
    #expect(debian[0].userID?.hasPrefix("Debian Stable Release Key (12/bookworm)") == true)
    let armored = try #require(AptKeyring.dearmor(try bytes("test-key.asc")).flatMap(AptKeyring.keys))
    let binary = try #require(AptKeyring.keys(in: try bytes("test-key.gpg")))
    #expect(armored == binary)
    #expect(binary[0].fingerprint == Self.testFingerprint && binary[0].subkeys == [Self.testSubkey])
    #expect(binary[0].longID == "21C282F5BDC9041F")
    #expect(binary[0].packets == (try bytes("test-key.gpg")))
    // Armor written by provision reads back to the same packets, with gpg's CRC.
    let rearmored = AptKeyring.armor(binary[0].packets)
    #expect(AptKeyring.dearmor([UInt8](rearmored.utf8)) == binary[0].packets)
    let crc = String(decoding: try bytes("test-key.asc"), as: UTF8.self).split(separator: "\n").first { $0.hasPrefix("=") }
    #expect(rearmored.contains(String(crc ?? "?") + "\n"))
    #expect(AptKeyring.keys(in: [0x99, 0x01]) == nil)
  }

  @Test func keyIDs() throws {
    #expect(try AptKeyring.normalizeID("0x21c282f5bdc9041f") == "21C282F5BDC9041F")
    #expect(throws: ModuleError.self) { try AptKeyring.normalizeID("12345") }
    #expect(throws: ModuleError.self) { try AptKeyring.normalizeID("XYZ") }
    #expect(throws: ModuleError.self) { try module(["keyserver": "hkp://k"]) }
    #expect(throws: ModuleError.self) { try module(["id": "21C282F5BDC9041F", "state": "present"]) }
    #expect(AptKeyModule.keyserverURL("hkp://keyserver.ubuntu.com:80", id: "AB") == "http://keyserver.ubuntu.com:80/pks/lookup?op=get&options=mr&search=0xAB")
    #expect(AptKeyModule.keyserverURL("keys.example", id: "AB") == "http://keys.example:11371/pks/lookup?op=get&options=mr&search=0xAB")
    #expect(AptKeyModule.keyserverURL("hkps://keys.example", id: "AB") == "https://keys.example/pks/lookup?op=get&options=mr&search=0xAB")
  }

  @Test func addsAVerifiedKeyOnce() throws {
    let debian = AptKeyModule.KeyringFile(path: "/etc/apt/trusted.gpg.d/debian-archive-bookworm-stable.asc", bytes: try bytes("debian-archive-bookworm-stable.asc"))
    let material = try bytes("test-key.asc")
    let m = try module(["id": .string(Self.testFingerprint), "data": .string(String(decoding: material, as: UTF8.self))])
    let plan = try m.plan(from: .init(keyrings: [debian], material: material))
    #expect(plan.steps.map(\.summary) == ["key \(Self.testFingerprint) (provision apt_key test <apt-key-test@invalid>) in /etc/apt/trusted.gpg.d/21C282F5BDC9041F.gpg"])
    guard case .upload(let data, _, let mode, _, _) = plan.steps[0].action else { Issue.record("not an upload"); return }
    #expect([UInt8](data) == (try bytes("test-key.gpg")) && mode == 0o644)
    #expect(plan.result["before"] == .list(["F8D2585B8783D481"]) && plan.result["fp"] == "21C282F5BDC9041F")
    // Present afterwards, also by the subkey's long id or the short id.
    let added = AptKeyModule.KeyringFile(path: "/etc/apt/trusted.gpg.d/21C282F5BDC9041F.gpg", bytes: [UInt8](data))
    #expect(try m.plan(from: .init(keyrings: [debian, added])).steps.isEmpty)
    #expect(try module(["id": "6BCC9701EAE83AA5", "url": "http://k/key"]).plan(from: .init(keyrings: [added])).steps.isEmpty)
    // A key that is not the one asked for is refused.
    let wrong = try module(["id": "4D64FEC119C2029067D6E791F8D2585B8783D481", "url": "http://k/key"]).plan(from: .init(keyrings: [], material: material))
    #expect(wrong.failure?.contains("does not match id 4D64FEC119C2029067D6E791F8D2585B8783D481") == true)
    // Without id the key's own fingerprint is used.
    let noID = try module(["url": "http://k/key"]).plan(from: .init(keyrings: [], material: material))
    #expect(noID.result["key_id"] == .string(Self.testFingerprint) && noID.steps.count == 1)
    #expect(try module(["url": "http://k/key"]).plan(from: .init(keyrings: [added], material: material)).steps.isEmpty)
  }

  @Test func removesFromEveryKeyring() throws {
    let test = try bytes("test-key.gpg")
    let debian = try #require(AptKeyring.dearmor(try bytes("debian-archive-bookworm-stable.asc")))
    let shared = AptKeyModule.KeyringFile(path: "/etc/apt/trusted.gpg", bytes: debian + test)
    let alone = AptKeyModule.KeyringFile(path: "/etc/apt/trusted.gpg.d/21C282F5BDC9041F.gpg", bytes: test)
    let plan = try module(["id": .string(Self.testFingerprint), "state": "absent"]).plan(from: .init(keyrings: [shared, alone]))
    #expect(plan.steps.count == 2)
    guard case .upload(let data, let path, _, _, _) = plan.steps[0].action else { Issue.record("not an upload"); return }
    #expect(path == "/etc/apt/trusted.gpg" && [UInt8](data) == debian)
    #expect(aptShell(plan.steps[1]) == "rm -f -- /etc/apt/trusted.gpg.d/21C282F5BDC9041F.gpg")
    #expect(try module(["id": .string(Self.testFingerprint), "state": "absent"]).plan(from: .init(keyrings: [])).steps.isEmpty)
  }

  @Test func appendsToAnArmoredKeyring() throws {
    let debianASC = try bytes("debian-archive-bookworm-stable.asc")
    let ring = AptKeyModule.KeyringFile(path: "/etc/apt/keyrings/docker.asc", bytes: debianASC)
    let m = try module(["id": .string(Self.testFingerprint), "keyring": "/etc/apt/keyrings/docker.asc", "url": "http://k/key"])
    let plan = try m.plan(from: .init(keyrings: [ring], material: try bytes("test-key.gpg")))
    guard case .upload(let data, _, _, _, _) = plan.steps[0].action else { Issue.record("not an upload"); return }
    let keys = AptKeyring.dearmor([UInt8](data)).flatMap(AptKeyring.keys)
    #expect(keys?.map(\.fingerprint) == ["4D64FEC119C2029067D6E791F8D2585B8783D481", Self.testFingerprint])
  }
}
