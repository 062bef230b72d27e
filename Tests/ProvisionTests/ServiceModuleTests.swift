import Foundation
import Inventory
import Testing

@testable import Provision

/// `service`, `systemd` and `sysvinit` planned from captured probe outputs (Fixtures/service).
@Suite struct ServiceModuleTests {
  typealias T = SystemModuleTesting

  func plan(_ arguments: OrderedDict, _ fixture: String) throws -> Plan {
    let module = try T.module(ServiceModule.self, arguments)
    let probe = try T.probe("service/\(fixture)")
    let backend = try #require(probe["backend"].flatMap { ServiceBackend(rawValue: $0.trimmed) })
    return try module.plan(from: .init(backend: backend, probe: probe))
  }

  func current(_ fixture: String) throws -> ServiceRequest.Current {
    let probe = try T.probe("service/\(fixture)")
    return .init(backend: try #require(probe["backend"].flatMap { ServiceBackend(rawValue: $0.trimmed) }), probe: probe)
  }

  // MARK: SysV (captured on node6)

  @Test func sysvStartAndEnableANewScript() throws {
    let p = try plan(["name": "provtest", "state": "started", "enabled": true], "sysv-stopped-nolinks.txt")
    let commands = T.commands(p)
    #expect(commands.count == 2)
    #expect(commands[0] == "update-rc.d provtest defaults && update-rc.d provtest enable")
    #expect(commands[1].contains("service provtest start </dev/null"))
    #expect(p.result["state"] == "started")
    #expect(p.result["enabled"] == true)
  }

  @Test func sysvRunningAndEnabledIsUnchanged() throws {
    let p = try plan(["name": "provtest", "state": "started", "enabled": true], "sysv-running-enabled.txt")
    #expect(p.steps.isEmpty)
    #expect(p.failure == nil)
    #expect(p.result["name"] == "provtest")
    #expect(p.result["state"] == "started")
  }

  @Test func sysvEnableAfterDisableUsesEnable() throws {
    let p = try plan(["name": "provtest", "enabled": true], "sysv-stopped-disabled.txt")
    #expect(T.commands(p) == ["update-rc.d provtest enable"])
    #expect(p.result["state"] == nil)
  }

  @Test func sysvStopAndDisable() throws {
    let p = try plan(["name": "provtest", "state": "stopped", "enabled": false], "sysv-running-enabled.txt")
    let commands = T.commands(p)
    #expect(commands.first == "update-rc.d provtest disable")
    #expect(commands.last?.contains("service provtest stop") == true)
    let again = try plan(["name": "provtest", "state": "stopped", "enabled": false], "sysv-stopped-disabled.txt")
    #expect(again.steps.isEmpty)
  }

  @Test func restartedAlwaysChanges() throws {
    for fixture in ["sysv-running-enabled.txt", "sysv-stopped-disabled.txt"] {
      let p = try plan(["name": "provtest", "state": "restarted"], fixture)
      let command = try #require(T.commands(p).first)
      #expect(p.steps.count == 1)
      #expect(command.contains("service provtest stop") && command.contains("service provtest start"))
      #expect(p.steps[0].summary == "restart provtest")
    }
  }

  @Test func reloadedStartsAStoppedService() throws {
    let stopped = try plan(["name": "provtest", "state": "reloaded"], "sysv-stopped-disabled.txt")
    #expect(T.commands(stopped).first?.contains("service provtest start") == true)
    let running = try plan(["name": "provtest", "state": "reloaded"], "sysv-running-enabled.txt")
    #expect(T.commands(running).first?.contains("service provtest reload") == true)
  }

  @Test func startsDetachedFromTheConnection() throws {
    let p = try plan(["name": "provtest", "state": "started", "arguments": "--fast"], "sysv-stopped-disabled.txt")
    let command = try #require(T.commands(p).first)
    #expect(command.contains("service provtest start --fast </dev/null >\"$t\" 2>&1"))
  }

  @Test func missingServiceFails() throws {
    let p = try plan(["name": "nosuch", "state": "started"], "sysv-missing.txt")
    #expect(p.failure == "Could not find the requested service nosuch: host")
  }

  @Test func patternLooksAtProcesses() throws {
    let p = try plan(["name": "provtest", "state": "started", "pattern": "sleep 100000"], "sysv-pattern-running.txt")
    #expect(p.steps.isEmpty)
    let stop = try plan(["name": "provtest", "state": "stopped", "pattern": "sleep 100000"], "sysv-pattern-running.txt")
    #expect(stop.steps.count == 1)
    let absent = try plan(["name": "provtest", "state": "started", "pattern": "no-such-process-xyz"], "sysv-pattern-running.txt")
    #expect(absent.steps.count == 1)
  }

  @Test func dockerStandInStatusReadsAsRunning() throws {
    let p = try plan(["name": "docker", "state": "started", "enabled": true], "sysv-docker-running.txt")
    #expect(p.steps.isEmpty)
  }

  @Test func sysvinitFlavorReportsStatus() throws {
    let module = try T.module(SysvinitModule.self, ["name": "provtest", "state": "started", "enabled": true])
    let p = try module.plan(from: try current("sysv-stopped-disabled.txt"))
    #expect(p.steps.count == 2)
    #expect(T.commands(p)[1].contains("/etc/init.d/provtest start"))
    let status = try #require(p.result["status"]?.dictValue)
    #expect(status["enabled"]?.dictValue?["changed"] == true)
    #expect(status["started"]?.dictValue?["changed"] == true)
    #expect(p.result["state"] == nil)
  }

  @Test func useSystemdOnASysvHostFails() throws {
    let module = try T.module(SystemdModule.self, ["name": "provtest", "state": "started"])
    let p = try module.plan(from: .init(backend: .none, probe: ProbeSections(sections: [:])))
    #expect(p.failure?.contains("systemd is not the init system") == true)
  }

  // MARK: systemd (hand-made from systemctl's formats)

  @Test func systemdStartsAnInactiveUnit() throws {
    let p = try plan(["name": "docker", "state": "started", "enabled": true], "systemd-docker-inactive.txt")
    #expect(T.commands(p) == ["systemctl start docker"])
    let status = try #require(p.result["status"]?.dictValue)
    #expect(status["ActiveState"] == "inactive")
    #expect(status["ExecStart"]?.stringValue?.hasPrefix("{ path=/usr/bin/dockerd") == true)
    #expect(p.result["enabled"] == true)
  }

  @Test func systemdRestartAndMaskAndReload() throws {
    let restart = try plan(["name": "docker", "state": "restarted"], "systemd-docker-inactive.txt")
    #expect(T.commands(restart) == ["systemctl start docker"], "not running: restarted starts it")
    let mask = try plan(["name": "docker", "masked": true], "systemd-docker-inactive.txt")
    #expect(T.commands(mask) == ["systemctl mask docker"])
    let reload = try plan(["name": "docker", "daemon_reload": true, "enabled": true], "systemd-docker-inactive.txt")
    #expect(T.commands(reload) == ["systemctl daemon-reload"], "NeedDaemonReload=yes")
    let disable = try plan(["name": "docker", "enabled": false, "daemon_reload": true], "systemd-docker-inactive.txt")
    #expect(T.commands(disable) == ["systemctl daemon-reload", "systemctl disable docker"])
  }

  @Test func systemctlShowParsesMultiLineValues() {
    let text = "A=1\nExecStart={ path=/x ; argv[]=/x\n  -y ; status=0/0 }\nB=two=2\n"
    let d = ServiceRequest.parseShow(text)
    #expect(d["A"] == "1")
    #expect(d["ExecStart"] == "{ path=/x ; argv[]=/x\n  -y ; status=0/0 }")
    #expect(d["B"] == "two=2")
  }

  // MARK: upstart (hand-made from trusty's formats)

  @Test func upstartRunningAndEnabled() throws {
    let p = try plan(["name": "docker", "state": "started", "enabled": true], "upstart-docker-running.txt")
    #expect(p.steps.isEmpty)
  }

  @Test func upstartDisableWritesTheOverride() throws {
    let p = try plan(["name": "docker", "enabled": false], "upstart-docker-running.txt")
    #expect(T.uploaded(p, to: "/etc/init/docker.override") == "manual\n")
  }

  @Test func upstartEnableRemovesManualAndStarts() throws {
    let p = try plan(["name": "docker", "state": "started", "enabled": true], "upstart-docker-stopped-manual.txt")
    #expect(T.uploaded(p, to: "/etc/init/docker.override") == "")
    #expect(T.commands(p).last?.contains("initctl start docker </dev/null") == true)
  }

  /// Expected values from Python's `re.sub(r'^manual\s*$', '', text, flags=re.M | re.I)`.
  @Test(arguments: [
    ("manual\n", ""), ("env FOO=1\nmanual\n", "env FOO=1\n"), ("manual\n\nstart on x\n", "\nstart on x\n"),
    ("MANUAL  \nexec x\n", "\nexec x\n"), ("manual", ""), ("a\nmanual\nb\nmanual\n", "a\n\nb\n"),
  ])
  func manualStanzaRemovedAsPython(_ c: (String, String)) {
    #expect(ServiceRequest.removingManualStanza(c.0, stanza: "manual") == c.1)
  }

  // MARK: status interpretation, as LinuxService.get_service_status

  @Test func statusInterpretation() {
    let f = ServiceRequest.interpretStatus
    #expect(f("docker", "docker start/running, process 12\n", 0, true) == true)
    #expect(f("docker", "docker stop/waiting\n", 0, true) == false)
    #expect(f("x", "x is not running\n", 3, false) == false)
    #expect(f("x", "x is running\n", 0, false) == true)
    #expect(f("x", "", 0, false) == true)
    #expect(f("x", "weird\n", 5, false) == nil)
    #expect(f("x", "line1\nline2\nline3 stopped\n", 0, false) == true, "more than one line: keywords ignored")
    #expect(ServiceRequest.interpretSysvinitStatus(name: "x", output: "x inactive\n", status: 0) == false)
  }
}
