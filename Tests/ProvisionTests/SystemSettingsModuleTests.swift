import Foundation
import Inventory
import Testing

@testable import Provision

/// `sysctl`, `hostname`, `modprobe` and `ufw` planned from probe outputs (captured on node6, or
/// hand-made for ufw; see each fixture directory's README).
@Suite struct SystemSettingsModuleTests {
  typealias T = SystemModuleTesting

  // MARK: sysctl (the logic of ansible.posix.sysctl)

  func sysctl(_ arguments: OrderedDict, _ current: SysctlModule.Current) throws -> Plan {
    try T.module(SysctlModule.self, arguments).plan(from: current)
  }

  @Test func sysctlAppendsSetsAndReloads() throws {
    let current = SysctlModule.current(from: try T.probe("sysctl/bookworm-ip-forward-0.txt"))
    #expect(current.procValue == "0")
    #expect(current.fileMode == 0o644)
    let p = try sysctl(["name": "net.ipv4.ip_forward", "value": "1", "sysctl_set": true], current)
    #expect(p.steps.map(\.summary) == ["net.ipv4.ip_forward = 1 in the kernel", "net.ipv4.ip_forward in /etc/sysctl.conf", "reload /etc/sysctl.conf"])
    let written = try #require(T.uploaded(p, to: "/etc/sysctl.conf"))
    #expect(written.hasSuffix("#kernel.sysrq=438\n\nnet.ipv4.ip_forward=1\n"))
    #expect(T.commands(p)[0].contains("sysctl -w net.ipv4.ip_forward=1"))
    // After the run: the file has the line and the kernel the value.
    let after = SysctlModule.Current(procValue: "1\n", file: written, fileMode: 0o644)
    #expect(try sysctl(["name": "net.ipv4.ip_forward", "value": "1", "sysctl_set": true], after).steps.isEmpty)
    #expect(try sysctl(["name": "net.ipv4.ip_forward", "value": true], after).steps.isEmpty, "yes/true mean 1")
  }

  @Test func sysctlNormalisesTheFileAsAnsible() throws {
    let file = "# comment\n  net.core.somaxconn = 1024  \nvm.swappiness=10\nnet.core.somaxconn=4096\n; other\n"
    let current = SysctlModule.Current(procValue: "128", file: file, fileMode: 0o600)
    let p = try sysctl(["name": "vm.swappiness", "value": "5", "reload": false], current)
    // Every k=v line rewritten without spaces; the later duplicate of a key dropped.
    #expect(T.uploaded(p, to: "/etc/sysctl.conf") == "# comment\nnet.core.somaxconn=1024\nvm.swappiness=5\n; other\n")
    #expect(p.steps.count == 1)
    if case .upload(_, _, let mode, _, _) = p.steps[0].action { #expect(mode == 0o600) }
    // The file's value is the last one: 4096 ≠ 1024 means a rewrite.
    let same = try sysctl(["name": "net.core.somaxconn", "value": "4096", "reload": false], current)
    #expect(same.steps.isEmpty)
    let absent = try sysctl(["name": "vm.swappiness", "state": "absent", "reload": false], current)
    #expect(T.uploaded(absent, to: "/etc/sysctl.conf")?.contains("swappiness") == false)
  }

  @Test func sysctlReloadWhenKernelDiffers() throws {
    let current = SysctlModule.Current(procValue: "0", file: "net.ipv4.ip_forward=1\n", fileMode: 0o644)
    let p = try sysctl(["name": "net.ipv4.ip_forward", "value": "1"], current)
    #expect(p.steps.map(\.summary) == ["reload /etc/sysctl.conf"])
    #expect(T.commands(p)[0].contains("sysctl -p /etc/sysctl.conf"))
    #expect(try sysctl(["name": "net.ipv4.ip_forward", "value": "1", "reload": false], current).steps.isEmpty)
    #expect(throws: ModuleError.self) { try T.module(SysctlModule.self, ["name": "x"]) }
  }

  // MARK: hostname

  @Test func hostnameWithoutSystemd() throws {
    let probe = try T.probe("hostname/bookworm-sysv.txt")
    #expect(probe["systemd"] == nil)
    let current = HostnameModule.Current(systemd: false, current: probe["current"]!.trimmed, permanent: "node6")
    #expect(try T.module(HostnameModule.self, ["name": "node6"]).plan(from: current).steps.isEmpty)
    let p = try T.module(HostnameModule.self, ["name": "rancher1.example.com"]).plan(from: current)
    #expect(T.commands(p) == ["upload /etc/hostname", "hostname rancher1.example.com"])
    #expect(T.uploaded(p, to: "/etc/hostname") == "rancher1.example.com\n")
    #expect(p.diffs.first?.before == "hostname = node6\n")
    #expect(p.result["ansible_facts"]?.dictValue?["ansible_hostname"] == "rancher1")
  }

  @Test func hostnameWithSystemd() throws {
    let current = HostnameModule.Current(systemd: true, current: "old", permanent: "old")
    let p = try T.module(HostnameModule.self, ["name": "new"]).plan(from: current)
    #expect(T.commands(p) == ["hostnamectl --pretty --static set-hostname new", "hostnamectl --transient set-hostname new"])
  }

  // MARK: modprobe

  @Test func modprobeWithoutLoadableModulesFails() throws {
    let current = ModprobeModule.current(from: try T.probe("modprobe/no-proc-modules.txt"))
    #expect(current.modular == false)
    let p = try T.module(ModprobeModule.self, ["name": "br_netfilter"]).plan(from: current)
    #expect(p.failure?.contains("/proc/modules") == true)
  }

  @Test func modprobeLoadsAndPersists() throws {
    let files = """
      @@provision-begin loaded

      @@provision-end loaded 1
      @@provision-begin files
      @@file /etc/modules-load.d/modules.conf
      # /etc/modules
      loop

      @@file /etc/modprobe.d/old.conf
      options dummy numdummies=4
      options other x=1


      @@provision-end files 0

      """
    let current = ModprobeModule.current(from: ProbeSections.parse(files))
    #expect(current.moduleFiles["/etc/modules-load.d/modules.conf"] == "# /etc/modules\nloop\n")
    let p = try T.module(ModprobeModule.self, ["name": "dummy", "params": "numdummies=2", "persistent": "present"]).plan(from: current)
    #expect(T.commands(p) == [
      "modprobe dummy numdummies=2", "upload /etc/modules-load.d/dummy.conf", "upload /etc/modprobe.d/old.conf",
      "upload /etc/modprobe.d/dummy.conf",
    ])
    #expect(T.uploaded(p, to: "/etc/modprobe.d/old.conf") == "#options dummy numdummies=4\noptions other x=1\n")
    #expect(T.uploaded(p, to: "/etc/modprobe.d/dummy.conf") == "options dummy numdummies=2\n")
    let loaded = ModprobeModule.Current(loaded: true, moduleFiles: [:], optionFiles: [:])
    #expect(T.commands(try T.module(ModprobeModule.self, ["name": "dummy", "state": "absent"]).plan(from: loaded)) == ["modprobe -r dummy"])
    #expect(try T.module(ModprobeModule.self, ["name": "dummy"]).plan(from: loaded).steps.isEmpty)
  }

  // MARK: ufw (hand-made outputs)

  func ufw(_ arguments: OrderedDict, _ fixture: String) throws -> Plan {
    try T.module(UfwModule.self, arguments).plan(from: UfwModule.current(from: try T.probe("ufw/\(fixture)")))
  }

  @Test func ufwExistingRuleIsSkipped() throws {
    #expect(try ufw(["rule": "allow", "port": "22", "proto": "tcp"], "active-ssh.txt").steps.isEmpty)
  }

  @Test func ufwNewRuleFromDryRun() throws {
    let p = try ufw(["rule": "allow", "port": "18080", "proto": "tcp", "comment": "rancher"], "active-new-rule.txt")
    #expect(T.commands(p) == ["LANG=C ufw allow from any to any port 18080 proto tcp comment 'rancher'"])
    #expect(p.result["commands"] == ["ufw allow from any to any port 18080 proto tcp comment 'rancher'"])
    let words = try T.module(UfwModule.self, ["rule": "allow", "direction": "in", "interface": "docker0", "to_port": "18080", "proto": "tcp", "comment": "x"])
      .ruleWords(version: (0, 33))
    #expect(words.joined(separator: " ") == "allow in on docker0 from any to any port 18080 proto tcp", "no comment before ufw 0.35")
  }

  @Test func ufwStateDefaultLogging() throws {
    #expect(try ufw(["state": "enabled"], "active-ssh.txt").steps.isEmpty)
    #expect(T.commands(try ufw(["state": "enabled"], "inactive.txt")) == ["LANG=C ufw -f enable"])
    #expect(T.commands(try ufw(["state": "reloaded"], "active-ssh.txt")) == ["LANG=C ufw -f reload"])
    #expect(try ufw(["default": "deny"], "active-ssh.txt").steps.isEmpty)
    #expect(T.commands(try ufw(["default": "deny", "direction": "outgoing"], "active-ssh.txt")) == ["LANG=C ufw default deny outgoing"])
    #expect(try ufw(["default": "deny", "direction": "routed"], "active-ssh.txt").steps.isEmpty, "disabled counts as done")
    #expect(try ufw(["logging": "low"], "active-ssh.txt").steps.isEmpty)
    #expect(try ufw(["logging": "on"], "active-ssh.txt").steps.isEmpty)
    #expect(T.commands(try ufw(["logging": "high"], "active-ssh.txt")) == ["LANG=C ufw logging high"])
  }

  @Test func ufwMissingFailsClearly() throws {
    let p = try T.module(UfwModule.self, ["state": "enabled"]).plan(from: UfwModule.current(from: ProbeSections.parse("@@provision-begin no-ufw\n\n@@provision-end no-ufw 0\n")))
    #expect(p.failure == "ufw is not installed on this host")
  }

  @Test func ufwAddressFamilies() {
    #expect(UfwModule.containsIPv4("### tuple ### allow tcp 22 0.0.0.0/0 any 0.0.0.0/0 in"))
    #expect(!UfwModule.containsIPv4("### tuple ### allow tcp 22 ::/0 any ::/0 in"))
    #expect(UfwModule.containsIPv6("### tuple ### allow tcp 22 ::/0 any ::/0 in"))
    #expect(UfwModule.startsWithIPv4("10.0.0.0/8"))
    #expect(!UfwModule.startsWithIPv4("any"))
    #expect(UfwModule.version("ufw 0.36.1\nCopyright") ?? (0, 0) == (0, 36))
  }
}
