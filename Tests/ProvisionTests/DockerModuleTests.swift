import Foundation
import Inventory
import Testing

@testable import Provision

/// `docker_container` and `docker_image` planned from captured `docker inspect` outputs
/// (Fixtures/docker): recreate decisions as community.docker makes them, and the commands.
@Suite struct DockerModuleTests {
  typealias T = SystemModuleTesting

  /// The arguments provision used to run `provtest-web` in the captured fixtures.
  static let web: OrderedDict = [
    "name": "provtest-web", "image": "rancher/server:v1.1.4", "restart_policy": "always", "privileged": true,
    "published_ports": ["18090:8080"], "env": ["CATTLE_DB_CATTLE_MYSQL_HOST": "10.231.0.16", "JAVA_OPTS": "-Xmx1g"],
    "volumes": ["/var/run/docker.sock:/var/run/docker.sock", "/var/lib/provtest:/data:ro"],
    "labels": ["io.provision.test": "yes"], "command": ["--debug"],
  ]

  static let agent: OrderedDict = [
    "name": "rancher-agent-bootstrap", "image": "rancher/agent:v1.0.2", "privileged": true, "network_mode": "host",
    "pid_mode": "host", "restart_policy": "on-failure", "restart_retries": 5,
    "volumes": ["/var/run/docker.sock:/var/run/docker.sock", "/var/lib/rancher:/var/lib/rancher"],
    "env": ["CATTLE_AGENT_IP": "10.0.0.14"], "command": "http://10.0.0.11:8080/v1/scripts/ABC:1468315200000:xyz",
    "entrypoint": ["/run.sh"], "links": ["rancher-agent-state:state"], "log_driver": "json-file",
    "log_options": ["max-size": "10m"], "labels": ["io.rancher.container.system": "rancher-agent"], "hostname": "node4",
  ]

  func plan(_ arguments: OrderedDict, _ fixture: String) throws -> Plan {
    let module = try T.module(DockerContainerModule.self, arguments)
    return try module.plan(from: DockerContainerModule.current(from: try T.probe("docker/\(fixture)")))
  }

  func with(_ base: OrderedDict, _ changes: OrderedDict) -> OrderedDict {
    var out = base
    for (k, v) in changes { out[k] = v }
    return out
  }

  @Test func inspectParsing() throws {
    let current = DockerContainerModule.current(from: try T.probe("docker/standin-web-running.txt"))
    let container = try #require(current.container)
    #expect(container.inspected("State.Running") == true)
    #expect(container.inspected("HostConfig.RestartPolicy.Name") == "always")
    #expect(container.inspected("Config.Env")?.listValue?.count == 3)
    #expect(current.image?["Id"] == container["Image"])
    let real = DockerContainerModule.current(from: try T.probe("docker/docker110-agent-running.txt"))
    #expect(real.container?.inspected("HostConfig.LogConfig.Config.max-size") == "10m")
  }

  @Test func sameOptionsChangeNothing() throws {
    let p = try plan(Self.web, "standin-web-running.txt")
    #expect(p.steps.isEmpty)
    #expect(p.failure == nil)
    #expect(p.result["container"]?.dictValue?["Name"] == "/provtest-web")
    let agent = try plan(Self.agent, "docker110-agent-running.txt")
    #expect(agent.steps.isEmpty, "\(T.commands(agent))")
  }

  @Test func stoppedContainerIsStarted() throws {
    let p = try plan(Self.web, "standin-web-stopped.txt")
    #expect(T.commands(p) == ["docker start provtest-web"])
  }

  @Test func missingContainerIsRunWithEveryOption() throws {
    let p = try plan(with(Self.web, ["name": "nosuch", "image": "busybox:1.36"]), "standin-missing.txt")
    let commands = T.commands(p)
    #expect(commands.first == "docker pull busybox:1.36")
    #expect(
      commands.last
        == "docker run -d --name nosuch --restart always --privileged -e CATTLE_DB_CATTLE_MYSQL_HOST=10.231.0.16 -e JAVA_OPTS=-Xmx1g -v /var/run/docker.sock:/var/run/docker.sock -v /var/lib/provtest:/data:ro -p 18090:8080 --label io.provision.test=yes busybox:1.36 --debug")
    let present = try plan(["name": "nosuch", "image": "busybox:1.36", "state": "present"], "standin-missing.txt")
    #expect(T.commands(present).last == "docker create --name nosuch busybox:1.36")
  }

  /// Each option that differs recreates the container: stop, rm, run.
  static let differing: [(String, Value)] = [
    ("env", .dict(["JAVA_OPTS": "-Xmx2g"])), ("command", .list(["--verbose"])), ("restart_policy", "unless-stopped"),
    ("privileged", false), ("published_ports", .list(["18091:8080"])), ("volumes", .list(["/srv:/srv"])),
    ("network_mode", "host"), ("labels", .dict(["other": "x"])), ("hostname", "web1"),
  ]

  @Test(arguments: differing)
  func differingOptionRecreates(_ c: (String, Value)) throws {
    let p = try plan(with(Self.web, [c.0: c.1]), "standin-web-running.txt")
    let commands = T.commands(p)
    #expect(commands.count == 3, "\(c.0)")
    #expect(commands.first == "docker stop provtest-web")
    #expect(commands[1] == "docker rm provtest-web")
    #expect(commands.last?.hasPrefix("docker run -d --name provtest-web") == true)
    #expect(p.diffs.first?.after.contains(c.0) == true)
  }

  /// community.docker's defaults: sets and dicts only need what the task lists.
  @Test func subsetsDoNotRecreate() throws {
    let fewer = with(Self.web, [
      "env": ["JAVA_OPTS": "-Xmx1g"], "volumes": ["/var/lib/provtest:/data:ro"], "published_ports": [],
      "labels": [:], "network_mode": "default",
    ])
    #expect(try plan(fewer, "standin-web-running.txt").steps.isEmpty)
    // network_mode bridge is what docker 1.10 calls `default`.
    #expect(try plan(with(Self.web, ["network_mode": "bridge"]), "standin-web-running.txt").steps.isEmpty)
  }

  @Test func comparisonsIgnoreAndStrict() throws {
    let ignored = with(Self.web, ["env": ["JAVA_OPTS": "-Xmx9g"], "comparisons": ["env": "ignore"]])
    #expect(try plan(ignored, "standin-web-running.txt").steps.isEmpty)
    let strict = with(Self.web, ["env": ["JAVA_OPTS": "-Xmx1g"], "comparisons": ["env": "strict"]])
    #expect(try plan(strict, "standin-web-running.txt").steps.count == 3, "PATH and the other variable are extra")
    let star = with(Self.web, ["hostname": "other", "comparisons": ["*": "ignore"]])
    #expect(try plan(star, "standin-web-running.txt").steps.isEmpty)
  }

  @Test func otherImageIsPulledAndRecreates() throws {
    // A missing image: the probe finds nothing, so the container is recreated after the pull.
    let missingImage = try T.module(DockerContainerModule.self, with(Self.web, ["image": "rancher/server:v1.1.3"]))
    var current = DockerContainerModule.current(from: try T.probe("docker/standin-web-running.txt"))
    current.image = nil
    let commands = T.commands(try missingImage.plan(from: current))
    #expect(commands == [
      "docker pull rancher/server:v1.1.3", "docker stop provtest-web", "docker rm provtest-web",
      commands.last ?? "",
    ])
    #expect(commands.last?.contains("rancher/server:v1.1.3 --debug") == true)
  }

  @Test func imageIdDifferenceRecreates() throws {
    var current = DockerContainerModule.current(from: try T.probe("docker/standin-web-running.txt"))
    current.image?["Id"] = .string("sha256:" + String(repeating: "0", count: 64))
    let module = try T.module(DockerContainerModule.self, Self.web)
    let p = try module.plan(from: current)
    #expect(T.commands(p).count == 3)
    #expect(p.diffs.first?.before.contains("image: sha256:2748") == true)
  }

  @Test func recreateRestartStopAbsent() throws {
    #expect(T.commands(try plan(with(Self.web, ["recreate": true]), "standin-web-running.txt")).count == 3)
    #expect(T.commands(try plan(with(Self.web, ["restart": true]), "standin-web-running.txt")) == ["docker restart provtest-web"])
    #expect(T.commands(try plan(["name": "provtest-web", "state": "stopped"], "standin-web-running.txt")) == ["docker stop provtest-web"])
    #expect(try plan(["name": "provtest-web", "state": "stopped"], "standin-web-stopped.txt").steps.isEmpty)
    #expect(
      T.commands(try plan(["name": "provtest-web", "state": "absent", "keep_volumes": false, "stop_timeout": 3], "standin-web-running.txt"))
        == ["docker stop -t 3 provtest-web", "docker rm -v provtest-web"])
    #expect(try plan(["name": "nosuch", "state": "absent"], "standin-missing.txt").steps.isEmpty)
  }

  @Test func failures() throws {
    #expect(try plan(["name": "nosuch", "image": "busybox:1.36", "pull": "never"], "standin-missing.txt").failure
      == "Cannot find image with name busybox:1.36, and pull=never")
    #expect(try plan(["name": "nosuch"], "standin-missing.txt").failure == "Cannot create container when image is not specified!")
    #expect(try plan(Self.web, "standin-daemon-down.txt").failure?.hasPrefix("Error connecting to the Docker daemon: Cannot connect") == true)
    #expect(throws: ModuleError.self) { try T.module(DockerContainerModule.self, ["name": "x", "env": ["PORT": 8080]]) }
    #expect(throws: ModuleError.self) { try T.module(DockerContainerModule.self, ["name": "x", "entrypoint": ["/a", "b"]]) }
  }

  @Test func agentOptionsOnRealDockerInspect() throws {
    // Links, log options, entrypoint and user exist only in real docker's inspect output.
    let p = try plan(with(Self.agent, ["links": ["other:db"]]), "docker110-agent-running.txt")
    #expect(p.diffs.first?.after.contains("links") == true)
    let log = try plan(with(Self.agent, ["log_options": ["max-size": "20m"]]), "docker110-agent-running.txt")
    #expect(log.steps.count == 3)
    let user = try plan(with(Self.agent, ["user": "nobody"]), "docker110-agent-running.txt")
    #expect(user.diffs.first?.after.contains("user: nobody") == true)
    let retries = try plan(with(Self.agent, ["restart_retries": 3]), "docker110-agent-running.txt")
    #expect(T.commands(retries).last?.contains("--restart on-failure:3") == true)
  }

  @Test func portParsing() throws {
    #expect(try DockerContainerModule.parsePort("8080") == ("8080/tcp", "0.0.0.0:"))
    #expect(try DockerContainerModule.parsePort("80:8080") == ("8080/tcp", "0.0.0.0:80"))
    #expect(try DockerContainerModule.parsePort("127.0.0.1:80:8080/udp") == ("8080/udp", "127.0.0.1:80"))
    #expect(try DockerContainerModule.parsePort("127.0.0.1::8080") == ("8080/tcp", "127.0.0.1:"))
    #expect(throws: ModuleError.self) { try DockerContainerModule.parsePort("host:80:8080") }
    #expect(try DockerContainerModule.bind("/a:/b") == "/a:/b:rw")
    #expect(try DockerContainerModule.bind("/data") == nil)
    #expect(DockerContainerModule.normalizeLink("/db:/web/alias") == "db:alias")
    #expect(DockerContainerModule.normalizeLink("db") == "db:db")
  }

  // MARK: docker_image

  func imagePlan(_ arguments: OrderedDict, _ fixture: String) throws -> Plan {
    let module = try T.module(DockerImageModule.self, arguments)
    return try module.plan(from: DockerImageModule.current(from: try T.probe("docker/\(fixture)")))
  }

  @Test func imagePresentMissingAbsent() throws {
    let present = try imagePlan(["name": "rancher/server:v1.1.4", "source": "pull"], "standin-image-present.txt")
    #expect(present.steps.isEmpty)
    #expect(present.result["image"]?.dictValue?["RepoTags"] == ["rancher/server:v1.1.4"])
    let missing = try imagePlan(["name": "busybox", "tag": "1.36", "source": "pull"], "standin-missing.txt")
    #expect(T.commands(missing) == ["docker pull busybox:1.36"])
    #expect(missing.result["actions"] == ["Pulled image busybox:1.36"])
    let local = try imagePlan(["name": "busybox:1.36", "source": "local"], "standin-missing.txt")
    #expect(local.failure == "Cannot find the image busybox:1.36 locally.")
    let absent = try imagePlan(["name": "rancher/server", "tag": "v1.1.4", "state": "absent", "force_absent": true], "standin-image-present.txt")
    #expect(T.commands(absent) == ["docker rmi -f rancher/server:v1.1.4"])
    let forced = try imagePlan(["name": "rancher/server:v1.1.4", "source": "pull", "force_source": true], "standin-image-present.txt")
    #expect(forced.steps.count == 1)
    #expect(throws: ModuleError.self) { try T.module(DockerImageModule.self, ["name": "x"]) }
  }

  @Test func repositoryTags() {
    #expect(DockerSupport.parseRepositoryTag("localhost:5000/rancher/server") == ("localhost:5000/rancher/server", nil))
    #expect(DockerSupport.parseRepositoryTag("localhost:5000/rancher/server:v1") == ("localhost:5000/rancher/server", "v1"))
    #expect(DockerSupport.reference("rancher/server") == "rancher/server:latest")
    #expect(DockerSupport.isImageID("sha256:" + String(repeating: "a", count: 64)))
  }
}
