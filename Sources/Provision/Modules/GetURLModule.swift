import Foundation
import Inventory

/// Downloads a file on the controller and puts it on the host: `get_url`.
///
/// Keys: `url`, `dest` (a file, or a directory that receives the file under its name from
/// `Content-Disposition` or the URL), `mode`, `owner`, `group`, `force` (default false),
/// `checksum` (`ALGORITHM:HEX`, or `ALGORITHM:URL` of a checksum file; sha256, sha1, sha512,
/// md5), `timeout` (10), `headers`, `url_username` (`username`), `url_password`
/// (`password`), `validate_certs`, `backup`, `http_agent`.
///
/// The download happens on the controller, so hosts need no route out, with the controller's
/// `curl` (one process per download: linking an HTTP library instead would add 12 ms to the
/// start of every run). `check` first reads `dest` on the host. When it exists and `force` is
/// false, as in Ansible: with `checksum`, nothing is downloaded if the host's file matches it
/// (only its attributes are managed), else it is downloaded again; without, the request asks
/// only for a newer file (`If-Modified-Since` the file's modification time) and a `304 Not
/// Modified` leaves the file as it is, attributes included. The downloaded content is then
/// uploaded like `copy`: unchanged when the host's file has the same SHA-256. A `checksum`
/// that the download does not match fails before anything is written.
///
/// ```yaml
/// - get_url:
///     url: https://github.com/rancher/rke2/releases/download/v1.30.4%2Brke2r1/rke2.linux-amd64.tar.gz
///     dest: /opt/rke2.tar.gz
///     checksum: sha256:0123…cdef
///     mode: "0644"
/// ```
public struct GetURLModule: Module {
  public static let name = "get_url"
  public static let arguments = ArgumentSpec([
    .init("url", required: true), .init("dest", .path, required: true), .init("mode", .mode), .init("owner"),
    .init("group"), .init("force", .bool, aliases: ["thirsty"], default: false), .init("checksum", default: ""),
    .init("timeout", .int, default: 10), .init("headers", .dict), .init("url_username", aliases: ["username"]),
    .init("url_password", aliases: ["password"]), .init("force_basic_auth", .bool),
    .init("validate_certs", .bool, default: true), .init("backup", .bool, default: false),
    .init("http_agent", default: "ansible-httpget"), .init("use_proxy", .bool), .init("decompress", .bool),
    .init("tmp_dest", .path), .init("unsafe_writes", .bool), .init("attributes", aliases: ["attr"]), .init("_diff", .bool),
  ])

  public struct Current: Sendable {
    /// The file the download goes to: `dest`, or a file in it when it is a directory.
    var path: String
    var state: FileState?
    /// Whether the directory that would hold a new file exists.
    var parentExists = true
    /// The response, or nil when nothing was downloaded (`dest` exists and `force` is false).
    var response: HTTPResponse?
    /// The expected digest (lower-case hex), after fetching a checksum file if one was named.
    var checksum: String?
    /// The SHA-1 of the host's file before the download, when it existed.
    var previousSHA1: String?
    /// A failure found while reading (a checksum file without our file, say).
    var failure: String?
    var elapsed = 0
  }

  let request: HTTPRequest
  let dest: String
  let mode: FileMode?
  let owner: String?
  let group: String?
  let force: Bool
  let backup: Bool
  let wantsDiff: Bool
  /// `checksum`'s algorithm and value (hex, or a URL of a checksum file).
  let checksum: (algorithm: String, value: String)?

  public init(_ arguments: ModuleArguments) throws {
    guard let url = arguments.string("url"), let dest = arguments.string("dest") else {
      throw ModuleError("url and dest are required")
    }
    var request = HTTPRequest(url: url, method: "GET")
    for (name, value) in arguments["headers"]?.dictValue ?? [:] {
      request.headers.append(.init(name: name, value: ModuleArguments.text(value) ?? ""))
    }
    if !request.headers.contains(where: { $0.name.lowercased() == "user-agent" }), let agent = arguments.string("http_agent") {
      request.headers.append(.init(name: "User-Agent", value: agent))
    }
    request.username = arguments.string("url_username")
    request.password = arguments.string("url_password")
    request.timeout = Double(arguments.int("timeout") ?? 10)
    request.validateCerts = arguments.bool("validate_certs", default: true)
    request.redirects = .all
    self.request = request
    self.dest = dest
    mode = try arguments.mode("mode")
    owner = arguments.string("owner")
    group = arguments.string("group")
    force = arguments.bool("force")
    backup = arguments.bool("backup")
    wantsDiff = arguments.bool("_diff")
    let text = arguments.string("checksum") ?? ""
    if text.isEmpty {
      checksum = nil
    } else {
      guard let colon = text.firstIndex(of: ":") else {
        throw ModuleError("The checksum parameter has to be in format <algorithm>:<checksum>")
      }
      let algorithm = text[..<colon].lowercased()
      guard ["md5", "sha1", "sha256", "sha512"].contains(algorithm) else {
        throw ModuleError("unsupported checksum algorithm '\(algorithm)'", hint: "use sha256, sha1, sha512 or md5")
      }
      var value = String(text[text.index(after: colon)...])
      if !Self.isURL(value) {
        value = Self.normalizeDigest(value)
        guard !value.isEmpty, value.allSatisfy(\.isHexDigit) else { throw ModuleError("The checksum format is invalid") }
      }
      checksum = (algorithm, value)
    }
  }

  static func isURL(_ s: String) -> Bool {
    ["http://", "https://", "ftp://", "file:/"].contains { s.lowercased().hasPrefix($0) }
  }

  /// Ansible's `re.sub(r'\W+', '', checksum).lower()`.
  static func normalizeDigest(_ s: String) -> String {
    String(s.unicodeScalars.filter { $0.properties.isAlphabetic || ("0"..."9").contains($0) || $0 == "_" }.map(Character.init))
      .lowercased()
  }

  /// The last path component of a URL, `index.html` when it has none.
  static func urlFilename(_ url: String) -> String {
    let path = URL(string: url)?.path ?? ""
    let name = (path as NSString).lastPathComponent
    return name.isEmpty || name == "/" ? "index.html" : name
  }

  /// The file name of `Content-Disposition: attachment; filename="…"`.
  static func dispositionFilename(_ response: HTTPResponse) -> String? {
    guard let value = response.headers.last(where: { $0.name.lowercased() == "content-disposition" })?.value,
      value.hasPrefix("attachment;")
    else { return nil }
    var rest = value.dropFirst("attachment;".count)
    if rest.hasPrefix(" ") { rest = rest.dropFirst() }
    guard rest.hasPrefix("filename=") else { return nil }
    rest = rest.dropFirst("filename=".count)
    if rest.hasPrefix("\"") { rest = rest.dropFirst() }
    let name = String(rest.prefix { $0 != "\"" })
    guard !name.isEmpty else { return nil }
    return (name as NSString).lastPathComponent
  }

  /// The digest for `filename` in a checksum file: one bare digest, or `DIGEST  NAME` lines.
  static func digest(for filename: String, in text: String) -> String? {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map {
      String($0.hasSuffix("\r") ? $0.dropLast() : $0)
    }.filter { !$0.isEmpty }
    if lines.count == 1, lines[0].split(separator: " ").count == 1 { return lines[0] }
    for line in lines {
      guard let space = line.firstIndex(of: " ") else { continue }
      var name = line[line.index(after: space)...]
      if name.hasPrefix(" ") || name.hasPrefix("*") { name = name.dropFirst() }
      while name.hasPrefix(".") || name.hasPrefix("/") { name = name.dropFirst() }
      if name == filename { return String(line[..<space]) }
    }
    return nil
  }

  /// Makes `request` from the controller with its `curl`.
  static func download(_ request: HTTPRequest) async throws -> HTTPResponse {
    let result = try await LocalTransport().run(
      RemoteCommand(request.curlScript, stdin: request.curlStdin, timeout: request.timeout + 30))
    guard let response = HTTPRequest.parseCurl(stdout: result.stdout, stderr: result.stderrText) else {
      throw ModuleError("cannot run curl on the controller: " + result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))
    }
    return response
  }

  /// The digest of the host's file with `algorithm`; SHA-256 comes with its state.
  func remoteDigest(_ algorithm: String, path: String, state: FileState, on host: HostProbe) async throws -> String? {
    if algorithm == "sha256" { return state.sha256 }
    let result = try await host.run("\(algorithm)sum < \(ShellQuoting.quote(path))")
    guard result.succeeded else { return nil }
    return result.stdoutText.split(separator: " ").first.map(String.init)
  }

  public func check(on host: HostProbe) async throws -> Current {
    var current = Current(path: dest)
    current.state = try await FileState.read(dest, on: host, follow: true)
    let isDirectory = current.state?.type == .directory
    var expected = checksum?.value
    if let checksum, Self.isURL(checksum.value) {
      var sums = request
      sums.url = checksum.value
      let response = try await Self.download(sums)
      guard response.error == nil, response.status == 200 else {
        current.failure = "Request failed: \(response.message)"
        return current
      }
      let filename = Self.urlFilename(request.url)
      guard let digest = Self.digest(for: filename, in: String(decoding: response.body, as: UTF8.self)) else {
        current.failure = "Unable to find a checksum for file '\(filename)' in '\(checksum.value)'"
        return current
      }
      expected = Self.normalizeDigest(digest)
      guard let e = expected, !e.isEmpty, e.allSatisfy(\.isHexDigit) else {
        current.failure = "The checksum format is invalid"
        return current
      }
    }
    current.checksum = expected
    var request = self.request
    if let state = current.state, !isDirectory, !force {
      if let checksum, let expected {
        if try await remoteDigest(checksum.algorithm, path: dest, state: state, on: host) == expected { return current }
        // A file that does not match is downloaded whatever its age.
        request.headers.append(.init(name: "cache-control", value: "no-cache"))
      } else if let mtime = try await HTTPRequest.modificationTime(of: dest, on: host) {
        request.headers.append(.init(name: "If-Modified-Since", value: HTTPRequest.httpDate(mtime)))
      }
    } else if force {
      request.headers.append(.init(name: "cache-control", value: "no-cache"))
    }
    let started = Date()
    let response = try await Self.download(request)
    current.elapsed = Int(Date().timeIntervalSince(started))
    current.response = response
    if isDirectory, response.error == nil {
      let name = Self.dispositionFilename(response) ?? Self.urlFilename(response.url.isEmpty ? request.url : response.url)
      current.path = (dest as NSString).appendingPathComponent(name)
      current.state = try await FileState.read(current.path, on: host, follow: true)
    }
    if let state = current.state, state.type == .regular {
      current.previousSHA1 = try await remoteDigest("sha1", path: current.path, state: state, on: host)
    }
    if current.state == nil {
      let parent = (current.path as NSString).deletingLastPathComponent
      current.parentExists = try await host.run("[ -d \(ShellQuoting.quote(parent.isEmpty ? "." : parent)) ]").succeeded
    }
    return current
  }

  /// What Ansible's add_path_info reports about `dest`, from its state before the task; a
  /// uid or gid that `owner` or `group` is about to change is left out.
  func pathInfo(_ state: FileState, into result: inout OrderedDict) {
    for (key, value) in state.resultFields { result[key] = value }
    if let owner, !state.isOwned(by: owner) { result["uid"] = nil }
    if let group, !state.isInGroup(group) { result["gid"] = nil }
  }

  public func plan(from current: Current) throws -> Plan {
    var result: OrderedDict = [
      "dest": .string(current.path), "url": .string(request.url), "elapsed": .int(current.elapsed),
    ]
    if let failure = current.failure { return .failed(failure, result: result) }
    guard let response = current.response else {
      // dest exists and force is false: only its attributes are managed.
      let attributes = Attributes.steps(
        path: current.path, current: current.state, isDirectory: false, mode: mode, owner: owner, group: group,
        defaultMode: 0o644)
      result["checksum_dest"] = .null
      result["checksum_src"] = .null
      result["msg"] = .string(attributes.steps.isEmpty ? "file already exists" : "file already exists but file attributes changed")
      if let state = current.state {
        // What Ansible's add_path_info reports about `dest`, after the attribute changes.
        pathInfo(state, into: &result)
        result["mode"] = .string(String(format: "%04o", attributes.mode))
        if let owner { result["owner"] = .string(owner) }
        if let group { result["group"] = .string(group) }
      }
      return Plan(steps: attributes.steps, diffs: attributes.diffs, result: result)
    }
    if let error = response.error {
      result["msg"] = .string("Request failed: \(error)")
      return .failed("Request failed: \(error)", result: result)
    }
    if response.status == 304 {
      // The file on the host is not older than the server's: Ansible leaves it, attributes too.
      result["msg"] = .string(response.message)
      result["status_code"] = .int(response.status)
      return Plan(result: result)
    }
    guard response.status == 200 else {
      result["status_code"] = .int(response.status)
      result["response"] = .string(response.message)
      return .failed("Request failed", result: result)
    }
    let bytes = [UInt8](response.body)
    let sha1 = Digest.hex("sha1", bytes) ?? ""
    if let checksum, let expected = current.checksum {
      let actual = Digest.hex(checksum.algorithm, bytes) ?? ""
      if actual != expected {
        return .failed("The checksum for \(current.path) did not match \(expected); it was \(actual).", result: result)
      }
    }
    if current.state == nil && !current.parentExists {
      let parent = (current.path as NSString).deletingLastPathComponent
      return .failed("Destination \(parent) does not exist", result: result)
    }
    let file = DesiredFile(
      path: current.path, content: response.body, mode: mode, owner: owner, group: group, backup: backup, force: true,
      validate: nil, wantsDiff: wantsDiff, sourceName: nil)
    var plan = file.plan(from: DesiredFile.Current(path: current.path, state: current.state))
    if let state = current.state { pathInfo(state, into: &result) }
    for (key, value) in plan.result where key != "checksum" { result[key] = value }
    result["checksum_src"] = .string(sha1)
    // As in Ansible: the SHA-1 of the file that was there before, null when there was none.
    result["checksum_dest"] = current.previousSHA1.map(Value.string) ?? .null
    result["md5sum"] = .string(Digest.hex("md5", bytes) ?? "")
    result["status_code"] = .int(response.status)
    result["msg"] = .string(response.message)
    plan.result = result
    return plan
  }
}
