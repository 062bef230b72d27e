import Foundation
import Inventory

/// Makes an HTTP request from the host with `curl`: `uri`.
///
/// Keys: `url`, `method` (GET), `body`, `body_format` (raw, json, form-urlencoded), `headers`,
/// `status_code` (a code or a list; 200), `return_content`, `timeout` (30), `validate_certs`,
/// `url_username` (`user`), `url_password` (`password`), `force_basic_auth`,
/// `follow_redirects` (safe, all, none; `yes`/`no`/`urllib2` as in Ansible), `creates`,
/// `removes`, `dest`, `mode`, `owner`, `group`, `http_agent`.
///
/// A GET or HEAD only reads, so `check` makes it (after testing `creates`/`removes`) and the
/// task reports `status`, the response headers (lower case, `-` as `_`), `url`, `redirected`,
/// `cookies`, `msg` (`OK (N bytes)`), `content` with `return_content` and `json` for a JSON
/// response; a status not in `status_code` fails as in Ansible (`Status code was 404 and not
/// [200]: HTTP Error 404: Not Found`). With `dest` the body is then uploaded like `copy`
/// (unchanged when equal); when `dest` is already a file, the request carries its time in
/// `If-Modified-Since`, so a server may answer `304` (accept it in `status_code`) and the file
/// stays as it is, as in Ansible. Any other method may change something, so it is a step: it runs
/// only outside check mode (where it is skipped), prints the response body as `stdout`, and
/// fails when curl fails or the status is not in `status_code`. URL, headers and credentials
/// go to curl on standard input, never on its command line.
///
/// ```yaml
/// - uri: { url: "https://{{ rancher_host }}/ping", status_code: [200, 401], return_content: true }
///   register: ping
/// ```
public struct URIModule: Module {
  public static let name = "uri"
  public static let arguments = ArgumentSpec(
    [
      .init("url", required: true), .init("method", default: "GET"), .init("body", .raw),
      .init("body_format", choices: ["raw", "json", "form-urlencoded"], default: "raw"), .init("headers", .dict),
      .init("status_code", .list, default: [200]), .init("return_content", .bool, default: false),
      .init("timeout", .int, default: 30), .init("validate_certs", .bool, default: true),
      .init("url_username", aliases: ["user"]), .init("url_password", aliases: ["password"]),
      .init("force_basic_auth", .bool, default: false),
      .init("follow_redirects", choices: ["all", "no", "none", "safe", "urllib2", "yes"], default: "safe"),
      .init("creates", .path), .init("removes", .path), .init("dest", .path), .init("mode", .mode), .init("owner"),
      .init("group"), .init("http_agent", default: "ansible-httpget"), .init("use_proxy", .bool),
      .init("decompress", .bool), .init("_diff", .bool),
    ])

  public struct Current: Sendable {
    var createsExists: Bool?
    var removesExists: Bool?
    /// The response to a GET or HEAD, made in `check`.
    var response: HTTPResponse?
    var elapsed = 0
    /// The destination file, for a GET with `dest`.
    var dest: DesiredFile.Current?
    /// The modification time of `dest` when it is a file: the request carries it in
    /// `If-Modified-Since`, as Ansible's does.
    var destModified: Int?
  }

  let request: HTTPRequest
  let statuses: [Int]
  let returnContent: Bool
  let creates: String?
  let removes: String?
  let dest: String?
  let mode: FileMode?
  let owner: String?
  let group: String?
  let wantsDiff: Bool

  /// Whether the request only reads, so `check` may make it.
  var isReadOnly: Bool { request.method == "GET" || request.method == "HEAD" }

  public init(_ arguments: ModuleArguments) throws {
    guard let url = arguments.string("url") else { throw ModuleError("missing required argument 'url'") }
    let method = (arguments.string("method") ?? "GET").uppercased()
    guard !method.isEmpty, method.allSatisfy({ $0.isASCII && $0.isLetter }) else {
      throw ModuleError("Parameter 'method' needs to be a single word in uppercase, like GET or POST.")
    }
    var request = HTTPRequest(url: url, method: method)
    var headers: [HTTPRequest.Header] = []
    for (name, value) in arguments["headers"]?.dictValue ?? [:] {
      headers.append(HTTPRequest.Header(name: name, value: ModuleArguments.text(value) ?? ""))
    }
    func hasHeader(_ name: String) -> Bool { headers.contains { $0.name.lowercased() == name } }
    if let body = arguments["body"] {
      switch arguments.string("body_format") ?? "raw" {
      case "json":
        request.body = Data((body.stringValue ?? body.jsonString()).utf8)
        if !hasHeader("content-type") { headers.append(.init(name: "Content-Type", value: "application/json")) }
      case "form-urlencoded":
        request.body = Data((body.stringValue ?? Self.formURLEncoded(body)).utf8)
        if !hasHeader("content-type") {
          headers.append(.init(name: "Content-Type", value: "application/x-www-form-urlencoded"))
        }
      default:
        request.body = Data((ModuleArguments.text(body) ?? "").utf8)
      }
    }
    if !hasHeader("user-agent"), let agent = arguments.string("http_agent") {
      headers.append(.init(name: "User-Agent", value: agent))
    }
    request.headers = headers
    request.username = arguments.string("url_username")
    request.password = arguments.string("url_password")
    request.timeout = Double(arguments.int("timeout") ?? 30)
    request.validateCerts = arguments.bool("validate_certs", default: true)
    request.redirects = HTTPRequest.Redirects(ansible: arguments.string("follow_redirects") ?? "safe")
    self.request = request
    var statuses: [Int] = []
    for text in arguments.list("status_code") ?? ["200"] {
      guard let code = Int(text.trimmingCharacters(in: .whitespaces)) else {
        throw ModuleError("'status_code' must be a list of integers, found '\(text)'")
      }
      statuses.append(code)
    }
    self.statuses = statuses
    returnContent = arguments.bool("return_content")
    creates = arguments.string("creates")
    removes = arguments.string("removes")
    dest = arguments.string("dest")
    mode = try arguments.mode("mode")
    owner = arguments.string("owner")
    group = arguments.string("group")
    wantsDiff = arguments.bool("_diff")
  }

  /// Python's `urlencode(..., doseq=True)` of a mapping or a list of pairs.
  static func formURLEncoded(_ body: Value) -> String {
    var pairs: [(String, String)] = []
    func add(_ key: String, _ value: Value) {
      switch value {
      case .null: break
      case .list(let items): for item in items where item != .null { pairs.append((key, ModuleArguments.text(item) ?? "")) }
      default: pairs.append((key, ModuleArguments.text(value) ?? ""))
      }
    }
    switch body {
    case .dict(let d): for (k, v) in d { add(k, v) }
    case .list(let items):
      for item in items {
        if case .list(let kv) = item, kv.count == 2 { add(ModuleArguments.text(kv[0]) ?? "", kv[1]) }
      }
    default: return ModuleArguments.text(body) ?? ""
    }
    return pairs.map { quotePlus($0.0) + "=" + quotePlus($0.1) }.joined(separator: "&")
  }

  /// Python's `quote_plus`: unreserved bytes as they are, space as `+`, the rest `%XX`.
  static func quotePlus(_ s: String) -> String {
    var out = ""
    for byte in s.utf8 {
      switch byte {
      case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"), UInt8(ascii: "0")...UInt8(ascii: "9"),
        UInt8(ascii: "_"), UInt8(ascii: "."), UInt8(ascii: "-"), UInt8(ascii: "~"):
        out.unicodeScalars.append(Unicode.Scalar(byte))
      case UInt8(ascii: " "): out += "+"
      default: out += String(format: "%%%02X", byte)
      }
    }
    return out
  }

  /// Python's `str(list)` of the accepted codes: `[200, 201]`.
  var statusList: String { "[" + statuses.map(String.init).joined(separator: ", ") + "]" }

  /// The destination file for a GET with `dest`; a directory receives the URL's file name.
  func destinationFile(_ response: HTTPResponse) -> DesiredFile? {
    guard let dest else { return nil }
    let name = URL(string: response.url.isEmpty ? request.url : response.url)?.lastPathComponent ?? ""
    return DesiredFile(
      path: dest, content: request.method == "HEAD" ? Data() : response.body, mode: mode, owner: owner, group: group,
      backup: false, force: true, validate: nil, wantsDiff: wantsDiff,
      sourceName: name.isEmpty || name == "/" ? "index.html" : name)
  }

  /// The request as made for `current`: with `If-Modified-Since` when `dest` is a file.
  func request(for current: Current) -> HTTPRequest {
    var request = self.request
    if let modified = current.destModified {
      request.headers.append(.init(name: "If-Modified-Since", value: HTTPRequest.httpDate(modified)))
    }
    return request
  }

  public func check(on host: HostProbe) async throws -> Current {
    var current = Current()
    if creates != nil || removes != nil {
      var script = ""
      for path in [creates, removes].compactMap({ $0 }) {
        script += "if [ -e \(ShellQuoting.quote(path)) ]; then echo y; else echo n; fi\n"
      }
      let lines = try await host.run(script).stdoutText.split(separator: "\n").map(String.init)
      var index = 0
      if creates != nil {
        current.createsExists = lines.first == "y"
        index = 1
      }
      if removes != nil { current.removesExists = lines.count > index && lines[index] == "y" }
      if current.createsExists == true || current.removesExists == false { return current }
    }
    if let dest { current.destModified = try await HTTPRequest.modificationTime(of: dest, on: host) }
    guard isReadOnly else { return current }
    let request = self.request(for: current)
    let started = Date()
    let result = try await host.transport.run(
      RemoteCommand(request.curlScript, stdin: request.curlStdin, timeout: request.timeout + 30, become: host.become))
    current.elapsed = Int(Date().timeIntervalSince(started))
    guard var response = HTTPRequest.parseCurl(stdout: result.stdout, stderr: result.stderrText) else {
      throw ModuleError(
        "cannot run curl on the host: " + (result.stderrText + result.stdoutText).trimmingCharacters(in: .whitespacesAndNewlines))
    }
    if request.method == "HEAD" { response.body = Data() }
    current.response = response
    if let file = destinationFile(response), statuses.contains(response.status), response.status != 304 {
      current.dest = try await file.check(on: host)
    }
    return current
  }

  public func plan(from current: Current) throws -> Plan {
    if let creates, current.createsExists == true {
      let text = "skipped, since '\(creates)' exists"
      return Plan(result: ["stdout": .string(text), "stdout_lines": [.string(text)]])
    }
    if let removes, current.removesExists == false {
      let text = "skipped, since '\(removes)' does not exist"
      return Plan(result: ["stdout": .string(text), "stdout_lines": [.string(text)]])
    }
    let request = self.request(for: current)
    guard let response = current.response else {
      guard dest == nil else {
        let script = request.curlScript(mode: .run(statuses: statuses, dest: dest))
        let step = Step(.run, "\(request.method) \(request.url)", .shell(script, stdin: request.curlStdin), reportsOutput: true)
        return Plan(steps: [step], result: ["url": .string(request.url)], isIdempotent: false, skipsInCheckMode: true)
      }
      var step = Step(.run, "\(request.method) \(request.url)", .shell(request.curlScript(mode: .capture), stdin: request.curlStdin))
      let (request, statuses, statusList, returnContent) = (request, statuses, statusList, returnContent)
      // The response becomes the task's values, as for a GET; a request does not change the
      // host by itself, so Ansible reports changed=false.
      step.interpret = { output in
        guard let response = HTTPRequest.parseCurl(stdout: output.stdout, stderr: output.stderrText) else {
          return StepOutcome(
            result: ["stdout": .string(output.stdoutText)], changed: false,
            failure: "unexpected output from curl: " + output.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))
        }
        var result = Self.result(response, request: request, elapsed: 0, returnContent: returnContent)
        guard statuses.contains(response.status) else {
          let message = "Status code was \(response.status) and not \(statusList): \(response.message)"
          result["msg"] = .string(message)
          return StepOutcome(result: result, changed: false, failure: message)
        }
        return StepOutcome(result: result, changed: false)
      }
      return Plan(steps: [step], result: ["url": .string(request.url)], isIdempotent: false, skipsInCheckMode: true)
    }
    var result = Self.result(response, request: request, elapsed: current.elapsed, returnContent: returnContent)
    guard statuses.contains(response.status) else {
      result["msg"] = .string("Status code was \(response.status) and not \(statusList): \(response.message)")
      return .failed(result["msg"]?.stringValue ?? "", result: result)
    }
    if let dest, response.status == 304 {
      // Not modified since the file's time: the file stays as it is.
      result["path"] = .string(dest)
      return Plan(result: result)
    }
    guard let file = destinationFile(response), let destCurrent = current.dest else { return Plan(result: result) }
    var plan = file.plan(from: destCurrent)
    result["path"] = .string(destCurrent.path)
    for (key, value) in plan.result where key != "checksum" && key != "dest" { result[key] = value }
    if let state = destCurrent.state {
      result["uid"] = .int(state.uid)
      result["gid"] = .int(state.gid)
    }
    plan.result = result
    return plan
  }

  /// The values Ansible's `uri` reports for a response.
  static func result(_ response: HTTPResponse, request: HTTPRequest, elapsed: Int, returnContent: Bool) -> OrderedDict {
    var result = OrderedDict()
    for (name, value) in response.lowercasedHeaders {
      result[name.replacingOccurrences(of: "-", with: "_")] = value
    }
    if case .string(let location)? = result["location"], let base = URL(string: response.url.isEmpty ? request.url : response.url),
      let absolute = URL(string: location, relativeTo: base)
    {
      result["location"] = .string(absolute.absoluteString)
    }
    if response.error == nil && (200..<300).contains(response.status) {
      // Ansible reads cookies only from a successful response.
      let cookies = response.cookies
      result["cookies_string"] = .string(cookies.map { "\($0.0)=\($0.1)" }.joined(separator: "; "))
      result["cookies"] = .dict(OrderedDict(cookies.map { ($0.0, Value.string($0.1)) }))
    }
    result["msg"] = .string(response.message)
    // curl normalizes the URL (`http://h` becomes `http://h/`): only a redirect changes it.
    result["url"] = .string(response.redirects > 0 && !response.url.isEmpty ? response.url : request.url)
    result["status"] = .int(response.status)
    result["redirected"] = .bool(response.redirects > 0)
    result["elapsed"] = .int(elapsed)
    result["changed"] = false
    let text = String(decoding: response.body, as: UTF8.self)
    if returnContent { result["content"] = .string(text) }
    if response.isJSON, let json = try? Value.parseJSON(text) { result["json"] = json }
    return result
  }
}
