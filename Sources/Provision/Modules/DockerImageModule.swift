import Foundation
import Inventory

/// Makes sure an image is on the host, pulled from its registry, or removed: `docker_image`, as
/// `community.docker.docker_image` behaves, through the host's `docker` command line (docker
/// 1.10.3 and later).
///
/// Keys: `name` (a tag in the name wins over `tag`), `tag` (default `latest`), `source` (pull,
/// local; required for state present; build and load are not supported), `state` (present,
/// absent), `force_source` (pull even when present: always reports a change), `force_absent`
/// (`docker rmi -f`). `check` runs `docker inspect --type image NAME:TAG` in one command; the
/// plan is `docker pull` or `docker rmi`. The result has `image` (the inspect object, or `{}`)
/// and `actions`.
///
/// ```yaml
/// - docker_image: { name: rancher/server, tag: v1.1.4, source: pull }
/// ```
public struct DockerImageModule: Module {
  public static let name = "docker_image"
  public static let arguments = ArgumentSpec([
    .init("name", required: true), .init("tag", default: "latest"),
    .init("source", choices: ["build", "load", "pull", "local"]), .init("state", choices: ["absent", "present"], default: "present"),
    .init("force_source", .bool, default: false), .init("force_absent", .bool, default: false),
    .init("force_tag", .bool, default: false), .init("pull", .dict), .init("build", .dict), .init("load_path", .path),
    .init("archive_path", .path), .init("push", .bool, default: false), .init("repository"),
    .init("docker_host"), .init("api_version"), .init("timeout", .int),
  ])

  public struct Current: Sendable, Equatable {
    var problem: String?
    var image: OrderedDict?
  }

  let name: String
  let tag: String
  let source: String?
  let state: String
  let forceSource: Bool
  let forceAbsent: Bool

  public init(_ arguments: ModuleArguments) throws {
    guard var name = arguments.string("name"), !name.isEmpty else { throw ModuleError("missing required argument 'name'") }
    var tag = arguments.string("tag") ?? "latest"
    if !DockerSupport.isImageID(name) {
      let (repository, nameTag) = DockerSupport.parseRepositoryTag(name)
      if let nameTag {
        name = repository
        tag = nameTag
      }
    }
    self.name = name
    self.tag = tag
    source = arguments.string("source")
    state = arguments.string("state") ?? "present"
    forceSource = arguments.bool("force_source")
    forceAbsent = arguments.bool("force_absent")
    if state == "present" && source == nil {
      throw ModuleError("state is present but all of the following are missing: source")
    }
    if source == "build" || source == "load" {
      throw ModuleError("source=\(source!) is not supported by provision yet", hint: "build or load the image with a command task")
    }
    if arguments.bool("push") || arguments.string("repository") != nil || arguments.string("archive_path") != nil {
      throw ModuleError("push, repository and archive_path are not supported by provision yet")
    }
    if source == "pull" && DockerSupport.isImageID(name) {
      throw ModuleError("Image name must not be an image ID for source=pull; got: \(name)")
    }
  }

  /// `name:tag`, or `name@digest` when the tag is a digest, or the bare ID.
  var reference: String {
    if DockerSupport.isImageID(name) { return name }
    if tag.contains(":") { return "\(name)@\(tag)" }
    return "\(name):\(tag)"
  }

  func script() -> String {
    DockerSupport.serverSection()
      + ProbeSections.section("image", "docker inspect --type image \(ShellQuoting.quote(reference))", mergeStderr: false)
  }

  public func check(on host: HostProbe) async throws -> Current {
    let result = try await host.run(script())
    return Self.current(from: ProbeSections.parse(result.stdoutText))
  }

  static func current(from probe: ProbeSections) -> Current {
    if let problem = DockerSupport.serverProblem(probe) { return Current(problem: problem) }
    return Current(problem: nil, image: DockerSupport.firstInspected(probe["image"]))
  }

  public func plan(from current: Current) throws -> Plan {
    if let problem = current.problem { return .failed(problem) }
    var result: OrderedDict = ["actions": .list([]), "image": .dict(current.image ?? [:])]
    var steps: [Step] = []
    var actions: [Value] = []
    var diffs: [FileDiff] = []
    if state == "absent" {
      if current.image != nil {
        steps.append(.argv(.remove, "image \(reference)", ["docker", "rmi"] + (forceAbsent ? ["-f"] : []) + [reference]))
        actions.append(.string("Removed image \(reference)"))
        var image = current.image ?? [:]
        image["state"] = "Deleted"
        result["image"] = .dict(image)
        diffs.append(.attribute("image \(reference)", before: "state: present\n", after: "state: absent\n"))
      }
    } else if current.image == nil || forceSource {
      switch source {
      case "pull":
        steps.append(.argv(.create, "pull image \(reference)", ["docker", "pull", reference]))
        actions.append(.string("Pulled image \(name):\(tag)"))
        if current.image == nil {
          diffs.append(.attribute("image \(reference)", before: "state: absent\n", after: "state: present\n"))
        }
      case "local":
        if current.image == nil { return .failed("Cannot find the image \(reference) locally.", result: result) }
      default:
        break
      }
    }
    result["actions"] = .list(actions)
    return Plan(steps: steps, diffs: diffs, result: result)
  }
}
