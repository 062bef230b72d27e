import Foundation
import Inventory
import Testing

@testable import Provision

/// Writes the check scripts whose outputs are the fixtures under `Fixtures/service`,
/// `Fixtures/iptables`, `Fixtures/docker`, `Fixtures/sysctl` and `Fixtures/hostname`, when
/// `PROVISION_DUMP_PROBES=DIR` is set; otherwise it only checks that every script parses as
/// shell text with balanced section markers. To refresh a fixture:
///
/// ```
/// PROVISION_DUMP_PROBES=/tmp/probes swift test --skip-build --filter SystemProbeDumpTests
/// ssh -F inventories/testbed/ssh_config node6 sh < /tmp/probes/service-provtest.sh > Fixtures/service/sysv-running-enabled.txt
/// ```
@Suite struct SystemProbeDumpTests {
  static func scripts() throws -> [(String, String)] {
    typealias T = SystemModuleTesting
    return [
      ("service-provtest", try T.module(ServiceModule.self, ["name": "provtest", "state": "started", "enabled": true]).request.script()),
      ("service-provtest-pattern", try T.module(ServiceModule.self, ["name": "provtest", "state": "started", "pattern": "sleep 100000"]).request.script()),
      ("service-docker", try T.module(ServiceModule.self, ["name": "docker", "state": "started", "enabled": true]).request.script()),
      ("service-nosuch", try T.module(ServiceModule.self, ["name": "nosuch", "state": "started"]).request.script()),
      ("iptables-rule", try T.module(IptablesModule.self, ["chain": "INPUT", "protocol": "tcp", "destination_port": "18080", "jump": "ACCEPT", "comment": "rancher", "persist": true]).script()),
      ("iptables-policy", try T.module(IptablesModule.self, ["chain": "FORWARD", "policy": "DROP"]).script()),
      ("docker-container-web", try T.module(DockerContainerModule.self, ["name": "provtest-web", "image": "rancher/server:v1.1.4"]).script()),
      ("docker-container-missing", try T.module(DockerContainerModule.self, ["name": "nosuch", "image": "busybox:1.36"]).script()),
      ("docker-image", try T.module(DockerImageModule.self, ["name": "rancher/server:v1.1.4", "source": "pull"]).script()),
      ("sysctl", try T.module(SysctlModule.self, ["name": "net.ipv4.ip_forward", "value": "1"]).script()),
      ("hostname", try T.module(HostnameModule.self, ["name": "node6"]).script()),
      ("modprobe", try T.module(ModprobeModule.self, ["name": "br_netfilter", "persistent": "present"]).script()),
    ]
  }

  @Test func scriptsAreValidShell() throws {
    for (name, script) in try Self.scripts() {
      SystemModuleTesting.dump(name, script)
      let process = Process()
      process.executableURL = URL(fileURLWithPath: "/bin/sh")
      process.arguments = ["-n", "-c", script]
      try process.run()
      process.waitUntilExit()
      #expect(process.terminationStatus == 0, "\(name) is not valid shell")
      let begins = script.components(separatedBy: "@@provision-begin").count
      let ends = script.components(separatedBy: "@@provision-end").count
      #expect(begins == ends, "\(name)")
    }
  }

  @Test func sectionsKeepOutputAndStatus() {
    let output = "@@provision-begin a\nline 1\nline 2\n\n@@provision-end a 3\n@@provision-begin f\nx\n.\n\n@@provision-end f 0\n"
    let probe = ProbeSections.parse(output)
    #expect(probe["a"]?.text == "line 1\nline 2")
    #expect(probe["a"]?.status == 3)
    #expect(probe["f"]?.content == "x\n")
    #expect(probe["missing"] == nil)
  }
}
