import Foundation
import Inventory
import Testing

@testable import Provision

@Suite struct ConnectionSettingsTests {
  let config = SSHConfig(
    text: """
      # comments and blank lines are fine

      Host bastion
        HostName 203.0.113.7
        User jump
      Host web-* !web-internal
        User webadmin
        Port 2222
        IdentityFile ~/.ssh/web_ed25519
        StrictHostKeyChecking accept-new
      Host *.prod
        ProxyJump jump@bastion:2200
        UserKnownHostsFile ~/.ssh/prod_hosts /etc/ssh/ssh_known_hosts
      Match exec "true"
        User ignored
      Host *
        User fallback
        ConnectTimeout 7
        IdentityFile ~/.ssh/id_ed25519
      """, home: "/home/me")

  @Test func configBlocksApplyFirstValueWins() {
    let s = ConnectionSettings.resolve(host: "web-1", variables: [:], sshConfig: config, home: "/home/me")
    #expect(s.address == "web-1")
    #expect(s.user == "webadmin")
    #expect(s.port == 2222)
    #expect(s.identityFiles == ["/home/me/.ssh/web_ed25519", "/home/me/.ssh/id_ed25519"])
    #expect(s.hostKeyPolicy == .acceptNew)
    #expect(s.connectTimeout == 7)
    #expect(config.ignored == ["Match exec \"true\""])
  }

  @Test func negatedPatternsExclude() {
    let s = ConnectionSettings.resolve(host: "web-internal", variables: [:], sshConfig: config, home: "/home/me")
    #expect(s.user == "fallback")
    #expect(s.port == 22)
  }

  @Test func inventoryVariablesWinOverConfig() {
    let vars: OrderedDict = [
      "ansible_host": "10.0.0.5", "ansible_port": 2200, "ansible_user": "deploy",
      "ansible_ssh_private_key_file": "~/keys/deploy", "ansible_become": true,
      "ansible_become_password": "s3cret",
    ]
    let s = ConnectionSettings.resolve(host: "web-1", variables: vars, sshConfig: config, home: "/home/me")
    #expect(s.address == "10.0.0.5")
    #expect(s.port == 2200)
    #expect(s.user == "deploy")
    #expect(s.identityFiles.first == "/home/me/keys/deploy")
    #expect(s.become && s.becomePassword == "s3cret")
  }

  @Test func sshArgsAsAnsibleUsersWriteThem() {
    let vars: OrderedDict = [
      "ansible_ssh_common_args":
        "-o UserKnownHostsFile=/tmp/kh -o StrictHostKeyChecking=no -J admin@gw.example:2022",
      "ansible_ssh_extra_args": "-oConnectTimeout=3 -i /keys/extra -o 'ServerAliveInterval 15'",
    ]
    let s = ConnectionSettings.resolve(host: "db.prod", variables: vars, sshConfig: config, home: "/home/me")
    #expect(s.knownHostsFiles == ["/tmp/kh"])
    #expect(s.hostKeyPolicy == .off)
    #expect(s.connectTimeout == 3)
    #expect(s.keepaliveInterval == 15)
    #expect(s.identityFiles.first == "/keys/extra")
    #expect(s.jumps == [ConnectionSettings.Jump(host: "gw.example", port: 2022, user: "admin")])
  }

  @Test func proxyJumpFromConfigAndKnownHostsList() {
    let s = ConnectionSettings.resolve(host: "db.prod", variables: [:], sshConfig: config, home: "/home/me")
    #expect(s.jumps == [ConnectionSettings.Jump(host: "bastion", port: 2200, user: "jump")])
    #expect(s.knownHostsFiles == ["/home/me/.ssh/prod_hosts", "/etc/ssh/ssh_known_hosts"])
    #expect(s.hostKeyPolicy == .strict)
  }

  @Test func localConnection() {
    #expect(ConnectionSettings.resolve(host: "x", variables: ["ansible_connection": "local"], sshConfig: config).kind == .local)
    #expect(ConnectionSettings.resolve(host: "localhost", variables: [:], sshConfig: config).kind == .local)
    #expect(ConnectionSettings.resolve(host: "x", variables: [:], sshConfig: config).kind == .ssh)
  }

  @Test func includeReadsOtherFiles() throws {
    let dir = "/tmp/provision-sshconfig-\(UInt32.random(in: 0...UInt32.max))"
    try FileManager.default.createDirectory(atPath: dir + "/.ssh/conf.d", withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try "Host inc\n  Port 2999\n".write(toFile: dir + "/.ssh/conf.d/a.conf", atomically: true, encoding: .utf8)
    try "Include conf.d/*.conf\nHost *\n  Port 22\n".write(toFile: dir + "/.ssh/config", atomically: true, encoding: .utf8)
    let parsed = SSHConfig(contentsOf: dir + "/.ssh/config", home: dir)
    #expect(parsed.settings(for: "inc").port == 2999)
    #expect(parsed.settings(for: "other").port == 22)
  }

  @Test func sshTargetCarriesCredentialsAndChainsJumps() {
    var s = ConnectionSettings.resolve(
      host: "db.prod", variables: ["ansible_ssh_common_args": "-J a.example,ops@b.example:2200", "ansible_password": "pw"],
      sshConfig: config, home: "/home/me")
    s.passphrase = "phrase"
    let target = s.sshTarget
    #expect(target.passphrase == "phrase" && target.password == "pw")
    // -J a,b: connect to a, through it to b, through b to the host.
    let last = target.proxyJump?.target
    #expect(last?.name == "b.example" && last?.port == 2200 && last?.user == "ops")
    #expect(last?.proxyJump?.target.name == "a.example")
    #expect(last?.proxyJump?.target.proxyJump == nil)
  }

  @Test func residentShellIsOnUnlessTheInventorySaysNo() {
    #expect(ConnectionSettings.resolve(host: "x", variables: [:], sshConfig: config).sshTarget.residentShell)
    for no: Value in [false, "no", 0] {
      let s = ConnectionSettings.resolve(host: "x", variables: ["provision_resident_shell": no], sshConfig: config)
      #expect(!s.sshTarget.residentShell)
    }
  }
}
