import Foundation
import Inventory
import Testing

@testable import Provision

/// Builds a module from arguments as a task would give them.
fileprivate func makeModule<M: Module>(_ type: M.Type, _ given: OrderedDict) throws -> M {
  try M(ModuleArguments(given, spec: M.arguments, module: M.name))
}

/// The shell command of a step.
fileprivate func command(_ step: Step) -> String {
  if case .shell(let command, _) = step.action { return command }
  return ""
}

/// Tests of `user` and `group`: parsing of getent output and plans from constructed states.
@Suite struct SystemModuleTests {
  static let groupDB = """
    root:x:0:
    sudo:x:27:deploy
    users:x:100:
    docker:x:998:deploy,alice
    alice:x:1001:
    deploy:x:1000:
    """

  /// What `UserModule.script` prints for an existing alice.
  static let aliceOutput = """
    #passwd
    alice:x:1001:1001:Alice A,,,:/home/alice:/bin/sh
    #shadow
    !$6$salt$hash
    #group
    \(groupDB)
    #home
    y
    #want
    n
    y

    """

  func user(_ given: OrderedDict) throws -> UserModule { try makeModule(UserModule.self, given) }

  @Test func parsesTheCheckOutput() {
    let current = UserModule.parse(Self.aliceOutput, user: "alice")
    #expect(
      current.account
        == UserModule.Account(name: "alice", uid: 1001, gid: 1001, comment: "Alice A,,,", home: "/home/alice", shell: "/bin/sh"))
    #expect(current.passwordHash == "!$6$salt$hash")
    #expect(current.groups.count == 6)
    #expect(current.group("998")?.name == "docker")
    #expect(current.group("docker")?.members == ["deploy", "alice"])
    #expect(current.homeExists && !current.wantedHomeExists && current.wantedHomeParentExists)
    let absent = UserModule.parse("#passwd\n#shadow\n#group\n\(Self.groupDB)\n#home\nn\n#want\nn\nn\n", user: "bob")
    #expect(absent.account == nil && absent.passwordHash == nil)
    let unreadable = UserModule.parse(Self.aliceOutput.replacingOccurrences(of: "!$6$salt$hash", with: "?"), user: "alice")
    #expect(unreadable.passwordHash == nil)
  }

  @Test func checkScriptQuotesTheName() throws {
    let script = try user(["name": "a b'$(x)", "home": "/srv/h ome"]).script
    #expect(script.contains("n='a b'\\''$(x)'"))
    #expect(script.contains("[ -d '/srv/h ome' ]"))
    #expect(script.contains("[ -d /srv ]"))
  }

  @Test func createsAUserWithEveryOption() throws {
    let current = UserModule.parse("#passwd\n#shadow\n#group\n\(Self.groupDB)\n#home\nn\n#want\nn\nn\n", user: "bob")
    let plan = try user([
      "name": "bob", "uid": 2000, "group": "users", "groups": ["docker", "sudo", "docker"], "comment": "Bob ß",
      "home": "/data/x/bob", "shell": "/bin/bash", "password": "$6$x$y", "system": true,
    ]).plan(from: current)
    #expect(plan.steps.map(command) == [
      "mkdir -p -- /data/x",
      "useradd -u 2000 -g users -G docker,sudo -c 'Bob ß' -d /data/x/bob -s /bin/bash -p '$6$x$y' -m -r bob"
        + " && { getent passwd bob || true; }",
    ])
    #expect(plan.steps[1].summary == "user bob (password)")
    #expect(plan.result["uid"] == 2000)
    #expect(plan.result["group"] == 100)
    #expect(plan.result["password"] == "NOT_LOGGING_PASSWORD")
    #expect(plan.result["system"] == true && plan.result["create_home"] == true)
    #expect(plan.result["groups"] == "docker,sudo")
  }

  @Test func createUsesMinusNWhenTheUsersGroupExists() throws {
    let current = UserModule.parse("#passwd\n#shadow\n#group\n\(Self.groupDB)\n#home\nn\n#want\nn\nn\n", user: "alice")
    let plan = try user(["name": "alice", "create_home": false]).plan(from: current)
    #expect(plan.steps.map(command) == ["useradd -N -M alice && { getent passwd alice || true; }"])
    // What useradd chose is read back into the result; a failure keeps useradd's message.
    let created = try #require(plan.steps[0].interpret?(CommandResult(stdout: Data("alice:x:1002:1001::/home/alice:/bin/sh\n".utf8), stderr: Data(), exitStatus: 0, exitSignal: nil)))
    #expect(created.changed && created.failure == nil)
    #expect(created.result["uid"] == 1002 && created.result["group"] == 1001 && created.result["shell"] == "/bin/sh")
    #expect(created.result["home"] == "/home/alice" && created.result["comment"] == "")
    let failed = try #require(plan.steps[0].interpret?(CommandResult(stdout: Data(), stderr: Data("useradd: boom\n".utf8), exitStatus: 4, exitSignal: nil)))
    #expect(!failed.changed && failed.failure == "user alice failed (rc=4): useradd: boom")
  }

  @Test func missingGroupsFail() throws {
    let current = UserModule.parse(Self.aliceOutput, user: "alice")
    #expect(try user(["name": "alice", "groups": "docker,nope"]).plan(from: current).failure == "Group nope does not exist")
    #expect(try user(["name": "alice", "group": "nope"]).plan(from: current).failure == "Group nope does not exist")
  }

  @Test func modifiesOnlyWhatDiffers() throws {
    let current = UserModule.parse(Self.aliceOutput, user: "alice")
    let same = try user(["name": "alice", "shell": "/bin/sh", "groups": ["docker"], "comment": "Alice A,,,", "uid": 1001])
    #expect(try same.plan(from: current).steps.isEmpty)
    let plan = try user(["name": "alice", "shell": "/bin/bash", "group": "users", "uid": 1500, "non_unique": true])
      .plan(from: current)
    #expect(plan.steps.map(command) == ["usermod -u 1500 -o -g 100 -s /bin/bash alice"])
    #expect(plan.result["uid"] == 1500 && plan.result["group"] == 100 && plan.result["shell"] == "/bin/bash")
    #expect(plan.result["append"] == false && plan.result["move_home"] == false)
  }

  @Test func groupsAppendAndReplace() throws {
    let current = UserModule.parse(Self.aliceOutput, user: "alice")
    #expect(try user(["name": "alice", "groups": ["sudo"], "append": true]).plan(from: current).steps.map(command) == [
      "usermod -a -G sudo alice"
    ])
    #expect(try user(["name": "alice", "groups": ["docker"], "append": true]).plan(from: current).steps.isEmpty)
    #expect(try user(["name": "alice", "groups": ["sudo"]]).plan(from: current).steps.map(command) == ["usermod -G sudo alice"])
    // An empty list removes every supplementary group, unless appending.
    #expect(try user(["name": "alice", "groups": ""]).plan(from: current).steps.map(command) == ["usermod -G '' alice"])
    #expect(try user(["name": "alice", "groups": "", "append": true]).plan(from: current).steps.isEmpty)
  }

  @Test func passwordComparesTheHashIgnoringTheLock() throws {
    let current = UserModule.parse(Self.aliceOutput, user: "alice")
    #expect(try user(["name": "alice", "password": "$6$salt$hash"]).plan(from: current).steps.isEmpty)
    let plan = try user(["name": "alice", "password": "$6$new$hash"]).plan(from: current)
    #expect(plan.steps.map(command) == ["usermod -p '$6$new$hash' alice"])
    #expect(plan.steps[0].summary == "user alice (password)")
    #expect(try user(["name": "alice", "password": "$6$new$hash", "update_password": "on_create"]).plan(from: current).steps.isEmpty)
  }

  @Test func homeMovesOrIsCreated() throws {
    let current = UserModule.parse(Self.aliceOutput, user: "alice")
    let moved = try user(["name": "alice", "home": "/srv/alice", "move_home": true]).plan(from: current)
    #expect(moved.steps.map(command) == ["usermod -d /srv/alice -m alice"])
    let changed = try user(["name": "alice", "home": "/srv/al ice"]).plan(from: current)
    #expect(changed.steps.map(command) == [
      "usermod -d '/srv/al ice' alice",
      "mkdir -p -- '/srv/al ice' && if [ -d /etc/skel ]; then cp -R /etc/skel/. '/srv/al ice'; fi && chown -R 1001: '/srv/al ice'",
    ])
    let noHome = UserModule.parse(Self.aliceOutput.replacingOccurrences(of: "#home\ny", with: "#home\nn"), user: "alice")
    #expect(try user(["name": "alice"]).plan(from: noHome).steps.count == 1)
    #expect(try user(["name": "alice", "create_home": false]).plan(from: noHome).steps.isEmpty)
  }

  @Test func removesAUser() throws {
    let current = UserModule.parse(Self.aliceOutput, user: "alice")
    let plan = try user(["name": "alice", "state": "absent", "remove": true, "force": true]).plan(from: current)
    #expect(plan.steps.map(command) == ["userdel -f -r alice"])
    #expect(plan.result["remove"] == true && plan.result["force"] == true)
    let gone = UserModule.parse("#passwd\n#shadow\n#group\n#home\nn\n#want\nn\nn\n", user: "alice")
    #expect(try user(["name": "alice", "state": "absent"]).plan(from: gone).steps.isEmpty)
  }

  @Test func argumentValidation() {
    #expect(throws: ModuleError.self) { try user(["name": "alice", "state": "gone"]) }
    #expect(throws: ModuleError.self) { try user(["name": "alice", "uid": "abc"]) }
    #expect(throws: ModuleError.self) { try user(["state": "present"]) }
    #expect(throws: ModuleError.self) { try makeModule(GroupModule.self, ["name": "g", "non_unique": true]) }
    #expect(throws: ModuleError.self) { try makeModule(GroupModule.self, ["name": "g", "gid": "x"]) }
  }

  @Test func groupEntryParsing() {
    #expect(GroupModule.Entry.parse("docker:x:998:deploy,alice") == .init(name: "docker", gid: 998, members: ["deploy", "alice"]))
    #expect(GroupModule.Entry.parse("users:x:100:") == .init(name: "users", gid: 100, members: []))
    #expect(GroupModule.Entry.parse("garbage") == nil)
    #expect(GroupModule.Entry.parse("bad:x:abc:") == nil)
  }

  @Test func groupPlans() throws {
    func group(_ given: OrderedDict) throws -> GroupModule { try makeModule(GroupModule.self, given) }
    let docker = GroupModule.Entry(name: "docker", gid: 998, members: [])
    #expect(try group(["name": "docker"]).plan(from: docker).steps.isEmpty)
    #expect(try group(["name": "docker"]).plan(from: docker).result["gid"] == 998)
    #expect(try group(["name": "docker", "gid": 999]).plan(from: docker).steps.map(command) == ["groupmod -g 999 docker"])
    #expect(try group(["name": "dev ops", "gid": 2000, "system": true]).plan(from: nil).steps.map(command) == [
      "groupadd -g 2000 -r 'dev ops' && { getent group 'dev ops' || true; }"
    ])
    let created = try group(["name": "g", "gid": 5, "non_unique": true]).plan(from: nil)
    #expect(created.steps.map(command) == ["groupadd -g 5 -o g && { getent group g || true; }"])
    // The gid groupadd chose is read back into the result.
    let read = created.steps[0].interpret?(CommandResult(stdout: Data("g:x:1005:\n".utf8), stderr: Data(), exitStatus: 0, exitSignal: nil))
    #expect(read?.result["gid"] == 1005 && read?.changed == true)
    #expect(try group(["name": "docker", "state": "absent"]).plan(from: docker).steps.map(command) == ["groupdel docker"])
    #expect(try group(["name": "docker", "state": "absent"]).plan(from: nil).steps.isEmpty)
  }

  @Test func groupCheckRunsLocally() async throws {
    let probe = HostProbe(transport: LocalTransport(), become: nil)
    let root = try await makeModule(GroupModule.self, ["name": "root"]).check(on: probe)
    #expect(root?.gid == 0)
    #expect(try await makeModule(GroupModule.self, ["name": "no such group 'x"]).check(on: probe) == nil)
  }

  @Test func userCheckRunsLocally() async throws {
    let probe = HostProbe(transport: LocalTransport(), become: nil)
    let root = try await user(["name": "root"]).check(on: probe)
    #expect(root.account?.uid == 0)
    #expect(root.group("0")?.name == "root")
    let nobody = try await user(["name": "nobody $(touch /tmp/pwned)"]).check(on: probe)
    #expect(nobody.account == nil)
    #expect(!FileManager.default.fileExists(atPath: "/tmp/pwned"))
  }
}
