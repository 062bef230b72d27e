import Foundation
import Inventory

/// What `docker_container` and `docker_image` share: image names and the probe of the host's
/// `docker` command line. Everything here works with docker 1.10.3's CLI: `docker inspect
/// --type`, `docker version --format`, `docker run`, `docker create`, `docker pull`.
enum DockerSupport {
  /// `repo[:tag]` or `repo@digest` split as docker's `parse_repository_tag`: a colon after the
  /// last slash starts the tag (a registry port is not a tag).
  static func parseRepositoryTag(_ name: String) -> (repository: String, tag: String?) {
    if let at = name.firstIndex(of: "@") {
      return (String(name[..<at]), String(name[name.index(after: at)...]))
    }
    guard let colon = name.lastIndex(of: ":") else { return (name, nil) }
    let tag = name[name.index(after: colon)...]
    if tag.contains("/") { return (name, nil) }
    return (String(name[..<colon]), String(tag))
  }

  /// Whether `name` is an image ID (`sha256:...` or 64 hex digits) rather than a name.
  static func isImageID(_ name: String) -> Bool {
    let hex = name.hasPrefix("sha256:") ? String(name.dropFirst(7)) : name
    return hex.count == 64 && hex.allSatisfy { $0.isHexDigit && !$0.isUppercase }
  }

  /// The reference to inspect and pull: `repo:tag` (`latest` when none), `repo@digest`, or an ID.
  static func reference(_ image: String) -> String {
    if isImageID(image) { return image }
    let (repository, tag) = parseRepositoryTag(image)
    if image.contains("@") { return image }
    return "\(repository):\(tag ?? "latest")"
  }

  /// Shell text: fails the probe early when there is no `docker` or no daemon.
  static func serverSection() -> String {
    "if ! command -v docker >/dev/null 2>&1; then \(ProbeSections.section("no-docker", "true")) exit 0; fi\n"
      + ProbeSections.section("server", "docker version --format '{{.Server.Version}}'")
  }

  /// A failure message when the probe found no docker or no daemon, else nil.
  static func serverProblem(_ probe: ProbeSections) -> String? {
    if probe["no-docker"] != nil {
      return "the docker command is not installed on this host (install docker-engine first)"
    }
    guard let server = probe["server"] else { return "cannot run docker on this host" }
    if !server.succeeded {
      let text = server.trimmed
      return "Error connecting to the Docker daemon: " + (text.isEmpty ? "docker version failed (rc=\(server.status))" : text)
    }
    return nil
  }

  /// The first object of `docker inspect`'s JSON array, or nil for `[]`, no output or an error.
  static func firstInspected(_ section: ProbeSections.Section?) -> OrderedDict? {
    guard let section, !section.trimmed.isEmpty else { return nil }
    guard let value = try? Value.parseJSON(section.trimmed) else { return nil }
    if case .list(let items) = value, let first = items.first?.dictValue { return first }
    return value.dictValue
  }
}

extension OrderedDict {
  /// The value at a dotted path such as `HostConfig.RestartPolicy.Name`; nil when a key is missing.
  func inspected(_ path: String) -> Value? {
    var current: Value = .dict(self)
    for key in path.split(separator: ".") {
      guard let d = current.dictValue, let next = d[String(key)] else { return nil }
      current = next
    }
    return current
  }
}
