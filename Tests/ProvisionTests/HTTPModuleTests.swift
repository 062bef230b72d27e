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

#if canImport(Glibc)
  import Glibc
#endif

/// An HTTP server on 127.0.0.1 that answers each connection with the next canned response
/// and records the requests.
final class CannedHTTPServer: @unchecked Sendable {
  let port: Int
  private let fd: Int32
  private let lock = NSLock()
  private var _requests: [String] = []
  var requests: [String] { lock.withLock { _requests } }

  init(responses: [String]) {
    (fd, port) = LoopbackSSHD.silentListener()
    let fd = self.fd
    Thread.detachNewThread { [self] in
      for response in responses {
        let client = accept(fd, nil, nil)
        guard client >= 0 else { return }
        var received = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
          let n = read(client, &buffer, buffer.count)
          if n <= 0 { break }
          received += buffer[0..<n]
          let text = String(decoding: received, as: UTF8.self)
          guard let end = text.range(of: "\r\n\r\n") else { continue }
          let head = text[..<end.lowerBound].lowercased()
          let length = head.split(separator: "\n").first { $0.hasPrefix("content-length:") }
            .flatMap { Int($0.dropFirst(15).trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 0
          if text.utf8.count - text.distance(from: text.startIndex, to: end.upperBound) >= length { break }
        }
        lock.withLock { _requests.append(String(decoding: received, as: UTF8.self)) }
        let bytes = Array(response.utf8)
        _ = bytes.withUnsafeBytes { write(client, $0.baseAddress, bytes.count) }
        close(client)
      }
    }
  }

  deinit { close(fd) }

  var url: String { "http://127.0.0.1:\(port)" }
}

/// Tests of `uri`, `get_url` and the curl request they share.
@Suite struct HTTPModuleTests {
  let probe = HostProbe(transport: LocalTransport(), become: nil)

  static let jsonResponse =
    "HTTP/1.1 200 OK\r\nContent-Type: application/json; charset=utf-8\r\nContent-Length: 17\r\nSet-Cookie: sid=abc; Path=/\r\nX-Thing: 1\r\n\r\n{\"a\": [1, \"ü\"]}\n"

  func uri(_ given: OrderedDict) throws -> URIModule { try makeModule(URIModule.self, given) }

  @Test func curlConfigEscapesAndCarriesSecrets() throws {
    var request = HTTPRequest(url: "http://h/a b?\"q\"", method: "POST")
    request.headers = [.init(name: "X-Quote", value: "a\\b\"c\td")]
    request.username = "u"
    request.password = "p:w\"d"
    request.validateCerts = false
    request.body = Data("{}".utf8)
    let config = request.curlConfig
    #expect(config.contains("url = \"http://h/a b?\\\"q\\\"\"\n"))
    #expect(config.contains("request = \"POST\"\n"))
    #expect(config.contains("header = \"X-Quote: a\\\\b\\\"c\\td\"\n"))
    #expect(config.contains("user = \"u:p:w\\\"d\"\nbasic\n"))
    #expect(config.contains("insecure\n"))
    #expect(!config.contains("location"))
    #expect(!request.curlScript.contains("p:w"))
    #expect(request.curlStdin == Data(config.utf8) + Data("{}".utf8))
    var head = HTTPRequest(url: "http://h/", method: "HEAD")
    head.redirects = .safe
    #expect(head.curlConfig.contains("head\n") && head.curlConfig.contains("location\n"))
  }

  @Test func parsesCurlOutput() throws {
    let headers = "HTTP/1.1 302 Found\r\nLocation: /b\r\n\r\nHTTP/1.1 404 Not Found\r\nContent-Type: text/html\r\nX-A: 1\r\nX-A: 2\r\n\r\n"
    let output = "0\n404 1 http://h/b\n\(headers.utf8.count)\n\(headers)gone"
    let response = try #require(HTTPRequest.parseCurl(stdout: Data(output.utf8), stderr: ""))
    #expect(response.status == 404 && response.reason == "Not Found")
    #expect(response.redirects == 1 && response.url == "http://h/b")
    #expect(response.body == Data("gone".utf8))
    #expect(response.lowercasedHeaders["x-a"] == "1, 2")
    #expect(response.message == "HTTP Error 404: Not Found")
    let failed = try #require(
      HTTPRequest.parseCurl(stdout: Data("7\n000 0 http://h/\n0\n".utf8), stderr: "curl: (7) Failed to connect\n"))
    #expect(failed.status == -1 && failed.message == "Request failed: (7) Failed to connect")
    #expect(HTTPRequest.parseCurl(stdout: Data("garbage".utf8), stderr: "") == nil)
    let missing = try #require(HTTPRequest.parseCurl(stdout: Data("127\n\n0\n".utf8), stderr: "sh: curl: not found"))
    #expect(missing.error == "curl is not installed on the host")
  }

  @Test func responseHelpers() {
    var r = HTTPResponse(status: 200, headers: [.init(name: "Content-Type", value: "application/vnd.api+json")])
    #expect(r.isJSON && r.message == "OK (unknown bytes)")
    r.headers = [.init(name: "content-type", value: "text/plain")]
    #expect(!r.isJSON)
    #expect(URIModule.formURLEncoded(["a b": "c&d", "list": [1, 2], "n": nil]) == "a+b=c%26d&list=1&list=2")
    #expect(URIModule.quotePlus("é~/") == "%C3%A9~%2F")
  }

  @Test func getRunsInCheckAndReportsLikeAnsible() async throws {
    let server = CannedHTTPServer(responses: [Self.jsonResponse])
    let module = try uri([
      "url": .string(server.url + "/x"), "return_content": true, "headers": ["Authorization": "Bearer s3cret"],
    ])
    let current = try await module.check(on: probe)
    let plan = try module.plan(from: current)
    #expect(plan.steps.isEmpty && plan.failure == nil)
    #expect(plan.result["status"] == 200)
    #expect(plan.result["json"] == ["a": [1, "ü"]])
    #expect(plan.result["content"] == "{\"a\": [1, \"ü\"]}\n")
    #expect(plan.result["x_thing"] == "1")
    #expect(plan.result["cookies"] == ["sid": "abc"] && plan.result["cookies_string"] == "sid=abc")
    #expect(plan.result["msg"] == "OK (17 bytes)")
    #expect(plan.result["url"] == .string(server.url + "/x") && plan.result["redirected"] == false)
    let request = try #require(server.requests.first)
    #expect(request.hasPrefix("GET /x HTTP/1.1\r\n"))
    #expect(request.contains("Authorization: Bearer s3cret\r\n"))
    #expect(request.contains("User-Agent: ansible-httpget\r\n"))
  }

  @Test func unexpectedStatusFails() async throws {
    let server = CannedHTTPServer(responses: ["HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n\r\n"])
    let module = try uri(["url": .string(server.url), "status_code": [200, 201]])
    let plan = try module.plan(from: try await module.check(on: probe))
    #expect(plan.failure == "Status code was 503 and not [200, 201]: HTTP Error 503: Service Unavailable")
    #expect(plan.result["status"] == 503)
  }

  @Test func postIsAStepThatRunsOnlyForReal() async throws {
    let server = CannedHTTPServer(responses: ["HTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok"])
    let module = try uri([
      "url": .string(server.url + "/items"), "method": "post", "body_format": "json", "body": ["name": "a'b $(x)"],
      "status_code": 201, "url_username": "admin", "url_password": "pw",
    ])
    let current = try await module.check(on: probe)
    #expect(server.requests.isEmpty)
    let plan = try module.plan(from: current)
    #expect(plan.steps.count == 1 && plan.skipsInCheckMode && !plan.isIdempotent && plan.steps[0].interpret != nil)
    #expect(plan.steps[0].summary == "POST \(server.url)/items")
    guard case .shell(let script, let stdin) = plan.steps[0].action else { return }
    #expect(!script.contains("admin") && !script.contains("a'b"))
    let result = try await LocalTransport().run(RemoteCommand(script, stdin: stdin))
    #expect(result.succeeded)
    // The response becomes the task's values, and a request alone reports no change.
    let meaning = try #require(plan.steps[0].interpret?(result))
    #expect(meaning.result["status"] == 201 && !meaning.changed && meaning.failure == nil)
    let request = try #require(server.requests.first)
    #expect(request.hasPrefix("POST /items HTTP/1.1\r\n"))
    #expect(request.contains("Content-Type: application/json\r\n"))
    #expect(request.contains("Authorization: Basic YWRtaW46cHc=\r\n"))
    #expect(request.hasSuffix("\r\n\r\n{\"name\": \"a'b $(x)\"}"))
  }

  @Test func postWithWrongStatusFailsTheStep() async throws {
    let server = CannedHTTPServer(responses: ["HTTP/1.1 500 Oops\r\nContent-Length: 3\r\n\r\nbad"])
    let plan = try uri(["url": .string(server.url), "method": "DELETE"]).plan(from: .init())
    guard case .shell(let script, let stdin) = plan.steps[0].action else { return }
    let result = try await LocalTransport().run(RemoteCommand(script, stdin: stdin))
    let meaning = try #require(plan.steps[0].interpret?(result))
    #expect(meaning.failure?.hasPrefix("Status code was 500 and not [200]") == true)
    #expect(meaning.result["status"] == 500 && !meaning.changed)
  }

  @Test func createsSkipsAndConnectionErrorsReport() async throws {
    let skipped = try uri(["url": "http://127.0.0.1:1/", "creates": "/"])
    let plan = try skipped.plan(from: try await skipped.check(on: probe))
    #expect(plan.result["stdout"] == "skipped, since '/' exists")
    let refused = try uri(["url": .string("http://127.0.0.1:\(LoopbackSSHD.freePort())/")])
    let failed = try refused.plan(from: try await refused.check(on: probe))
    #expect(failed.result["status"] == -1)
    #expect(failed.failure?.hasPrefix("Status code was -1 and not [200]: Request failed: ") == true)
  }

  @Test func destThatExistsIsAskedForOnlyIfModified() async throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("provision-uri-\(UUID().uuidString.prefix(6))").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try "old\n".write(toFile: dir + "/f", atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_005_268_127)], ofItemAtPath: dir + "/f")
    let notModified = "HTTP/1.1 304 Not Modified\r\nContent-Length: 0\r\n\r\n"
    let server = CannedHTTPServer(responses: [notModified, notModified])
    let accepting = try uri(["url": .string(server.url + "/f"), "dest": .string(dir + "/f"), "status_code": [200, 304]])
    let kept = try accepting.plan(from: try await accepting.check(on: probe))
    #expect(kept.steps.isEmpty && kept.failure == nil)
    #expect(kept.result["status"] == 304 && kept.result["path"] == .string(dir + "/f"))
    #expect(server.requests.first?.contains("\r\nIf-Modified-Since: Fri, 09 Nov 2001 01:08:47 GMT\r\n") == true)
    // As in Ansible, a 304 that status_code does not accept fails.
    let strict = try uri(["url": .string(server.url + "/f"), "dest": .string(dir + "/f")])
    let refused = try strict.plan(from: try await strict.check(on: probe))
    #expect(refused.failure == "Status code was 304 and not [200]: HTTP Error 304: Not Modified")
    #expect(try String(contentsOfFile: dir + "/f", encoding: .utf8) == "old\n")
  }

  @Test func uriArgumentValidation() {
    #expect(throws: ModuleError.self) { try uri(["url": "http://h", "method": "GET POST"]) }
    #expect(throws: ModuleError.self) { try uri(["url": "http://h", "status_code": ["ok"]]) }
    #expect(throws: ModuleError.self) { try uri(["url": "http://h", "body_format": "xml"]) }
    #expect(throws: ModuleError.self) { try uri(["method": "GET"]) }
  }

  // MARK: get_url

  func getURL(_ given: OrderedDict) throws -> GetURLModule { try makeModule(GetURLModule.self, given) }

  @Test func getURLHelpers() throws {
    #expect(GetURLModule.urlFilename("https://h/a/b.tar.gz?x=1") == "b.tar.gz")
    #expect(GetURLModule.urlFilename("https://h/") == "index.html")
    let r = HTTPResponse(status: 200, headers: [.init(name: "Content-Disposition", value: "attachment; filename=\"../x.bin\"")])
    #expect(GetURLModule.dispositionFilename(r) == "x.bin")
    #expect(GetURLModule.digest(for: "b.tar.gz", in: "abc  ./b.tar.gz\ndef *other\n") == "abc")
    #expect(GetURLModule.digest(for: "b.tar.gz", in: "abc\n") == "abc")
    #expect(GetURLModule.digest(for: "b.tar.gz", in: "abc  x\ndef  y\n") == nil)
    #expect(GetURLModule.normalizeDigest("AB:cd-EF") == "abcdef")
    #expect(throws: ModuleError.self) { try getURL(["url": "http://h/f", "dest": "/tmp/f", "checksum": "abc"]) }
    #expect(throws: ModuleError.self) { try getURL(["url": "http://h/f", "dest": "/tmp/f", "checksum": "sha256:xyz!"]) }
    #expect(throws: ModuleError.self) { try getURL(["url": "http://h/f", "dest": "/tmp/f", "checksum": "crc:12"]) }
  }

  static let fileState = FileState(
    type: .regular, mode: 0o644, uid: 0, gid: 0, size: 6, owner: "root", group: "root", linkTarget: nil,
    sha256: "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03", content: nil)

  @Test func getURLPlans() throws {
    let module = try getURL(["url": "http://h/f", "dest": "/tmp/f", "mode": "0600"])
    // No response (dest exists and matches the checksum): no download, only the mode.
    let kept = try module.plan(from: .init(path: "/tmp/f", state: Self.fileState))
    #expect(kept.steps.map(command) == ["chmod 600 -- /tmp/f"])
    #expect(kept.result["msg"] == "file already exists but file attributes changed")
    let body = Data("hello\n".utf8)
    var current = GetURLModule.Current(path: "/tmp/f", state: nil)
    current.response = HTTPResponse(status: 200, headers: [.init(name: "Content-Length", value: "6")], body: body)
    let fresh = try module.plan(from: current)
    guard case .upload(let data, let path, let mode, _, _)? = fresh.steps.first?.action else {
      Issue.record("expected an upload")
      return
    }
    #expect(data == body && path == "/tmp/f" && mode == 0o600)
    #expect(fresh.result["checksum_src"] == "f572d396fae9206628714fb2ce00f72e94f2258f")
    #expect(fresh.result["checksum_dest"] == .null && fresh.result["status_code"] == 200)
    #expect(fresh.result["msg"] == "OK (6 bytes)")
    // The same content already there: unchanged.
    current.state = Self.fileState
    current.previousSHA1 = "f572d396fae9206628714fb2ce00f72e94f2258f"
    let same = try getURL(["url": "http://h/f", "dest": "/tmp/f", "force": true]).plan(from: current)
    #expect(same.steps.isEmpty && same.result["checksum_dest"] == same.result["checksum_src"])
    current.response?.status = 404
    current.response?.reason = "Not Found"
    let missing = try module.plan(from: current)
    #expect(missing.failure == "Request failed" && missing.result["response"] == "HTTP Error 404: Not Found")
  }

  @Test func getURLChecksumMismatchFailsBeforeWriting() throws {
    let module = try getURL(["url": "http://h/f", "dest": "/tmp/f", "checksum": "sha1:0000"])
    var current = GetURLModule.Current(path: "/tmp/f", state: nil)
    current.checksum = "0000"
    current.response = HTTPResponse(status: 200, body: Data("hello\n".utf8))
    let plan = try module.plan(from: current)
    #expect(plan.steps.isEmpty)
    #expect(plan.failure == "The checksum for /tmp/f did not match 0000; it was f572d396fae9206628714fb2ce00f72e94f2258f.")
  }

  @Test func getURLDownloadsOnTheControllerOnlyWhenNeeded() async throws {
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("provision-geturl-\(UUID().uuidString.prefix(6))").path
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let server = CannedHTTPServer(responses: [
      "HTTP/1.1 200 OK\r\nContent-Length: 6\r\nContent-Disposition: attachment; filename=\"named.txt\"\r\n\r\nhello\n",
      "HTTP/1.1 304 Not Modified\r\nContent-Length: 0\r\n\r\n",
      "HTTP/1.1 200 OK\r\nContent-Length: 6\r\n\r\nhello\n",
    ])
    // dest is a directory: the file is named by Content-Disposition.
    let intoDir = try getURL(["url": .string(server.url + "/f.txt"), "dest": .string(dir)])
    let current = try await intoDir.check(on: probe)
    #expect(current.path == dir + "/named.txt" && current.state == nil && current.parentExists)
    #expect(try intoDir.plan(from: current).steps.count == 1)
    try "hello\n".write(toFile: dir + "/f.txt", atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.modificationDate: Date(timeIntervalSince1970: 1_005_268_127)], ofItemAtPath: dir + "/f.txt")
    // dest exists and force is false: asked for only if newer, and a 304 leaves it, mode too.
    let existing = try getURL(["url": .string(server.url + "/f.txt"), "dest": .string(dir + "/f.txt"), "mode": "0600"])
    let kept = try existing.plan(from: try await existing.check(on: probe))
    #expect(server.requests.count == 2 && server.requests[1].contains("\r\nIf-Modified-Since: Fri, 09 Nov 2001 01:08:47 GMT\r\n"))
    #expect(kept.steps.isEmpty && kept.failure == nil)
    #expect(kept.result["status_code"] == 304 && kept.result["msg"] == "HTTP Error 304: Not Modified")
    // With a checksum that does not match the file, it is downloaded again whatever its age.
    let sha = "0000000000000000000000000000000000000000000000000000000000000000"
    let recheck = try getURL(["url": .string(server.url + "/f.txt"), "dest": .string(dir + "/f.txt"), "checksum": .string("sha256:" + sha)])
    let again = try await recheck.check(on: probe)
    #expect(again.response?.status == 200 && server.requests.count == 3)
    #expect(server.requests[2].lowercased().contains("\r\ncache-control: no-cache\r\n"))
    #expect(!server.requests[2].contains("If-Modified-Since"))
    #expect(try recheck.plan(from: again).failure?.hasPrefix("The checksum for") == true)
    #expect(HTTPRequest.httpDate(0) == "Thu, 01 Jan 1970 00:00:00 GMT")
  }
}
