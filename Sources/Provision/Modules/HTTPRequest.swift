import Foundation
import Inventory

/// One HTTP request as `uri` and `get_url` describe it, made with `curl` on a host or on the
/// controller.
///
/// With curl, everything secret or long (URL, headers, credentials) goes in a curl config file
/// read from standard input, never on the command line, where `ps` would show it.
struct HTTPRequest: Sendable, Equatable {
  enum Redirects: String, Sendable {
    /// Follow redirects for GET and HEAD only (Ansible's `safe`, `urllib2`).
    case safe
    /// Follow every redirect (`all`, `yes`).
    case all
    /// Follow none (`none`, `no`).
    case none

    init(ansible: String) {
      switch ansible {
      case "all", "yes": self = .all
      case "none", "no": self = .none
      default: self = .safe
      }
    }
  }

  var url: String
  var method = "GET"
  var headers: [Header] = []
  var body: Data?
  var username: String?
  var password: String?
  var timeout: Double = 30
  var validateCerts = true
  var redirects = Redirects.safe

  struct Header: Sendable, Equatable {
    var name: String
    var value: String
  }

  /// Whether curl follows redirects for this request.
  var followsRedirects: Bool {
    switch redirects {
    case .all: return true
    case .none: return false
    case .safe: return method == "GET" || method == "HEAD"
    }
  }

  /// A string in curl's config syntax: double-quoted, with `\\`, `\"`, `\n`, `\r`, `\t` escaped.
  static func configString(_ s: String) -> String {
    var out = "\""
    for c in s.unicodeScalars {
      switch c {
      case "\\": out += "\\\\"
      case "\"": out += "\\\""
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      default: out.unicodeScalars.append(c)
      }
    }
    return out + "\""
  }

  /// The curl config (`curl -K`) for this request.
  var curlConfig: String {
    var lines = ["url = " + Self.configString(url)]
    if method == "HEAD" {
      lines.append("head")
    } else if method != "GET" || body != nil {
      lines.append("request = " + Self.configString(method))
    }
    for header in headers { lines.append("header = " + Self.configString("\(header.name): \(header.value)")) }
    if let username {
      lines.append("user = " + Self.configString(username + ":" + (password ?? "")))
      lines.append("basic")
    }
    if !validateCerts { lines.append("insecure") }
    if followsRedirects { lines += ["location", "max-redirs = 10"] }
    lines.append("max-time = \(Int(timeout.rounded(.up)))")
    return lines.joined(separator: "\n") + "\n"
  }

  /// What the curl script reads on standard input: the config, then the body.
  var curlStdin: Data { Data(curlConfig.utf8) + (body ?? Data()) }

  /// A shell script that runs curl with this request and prints, for `parseCurl`: curl's
  /// exit status, a line `HTTP_CODE REDIRECTS URL`, the size of the headers, the headers of
  /// every response, then the body. curl's own messages go to standard error.
  var curlScript: String { curlScript(mode: .capture) }

  enum ScriptMode: Equatable {
    /// Print everything for `parseCurl`.
    case capture
    /// Print the body only; fail unless the status is one of `statuses`; with `dest`, move
    /// the body there instead (not for 304).
    case run(statuses: [Int], dest: String?)
  }

  func curlScript(mode: ScriptMode) -> String {
    let config = Data(curlConfig.utf8).count
    var script = """
      t=$(mktemp -d "${TMPDIR:-/tmp}/.provision-http-XXXXXX") || exit 1
      dd bs=1 count=\(config) of="$t/k" 2>/dev/null
      \(body == nil ? ": >" : "cat >") "$t/b"; : >"$t/h"; : >"$t/o"
      curl -K "$t/k"\(body == nil ? "" : " --data-binary @\"$t/b\"") -sS -o "$t/o" -D "$t/h" -w '%{http_code} %{num_redirects} %{url_effective}' >"$t/w" 2>"$t/e"
      rc=$?

      """
    switch mode {
    case .capture:
      script += """
        echo "$rc"; cat "$t/w"; echo; wc -c <"$t/h"; cat "$t/h" "$t/o"; cat "$t/e" >&2
        rm -rf "$t"
        """
    case .run(let statuses, let dest):
      let list = statuses.map(String.init).joined(separator: " ")
      script += """
        if [ "$rc" != 0 ]; then { printf 'Request failed: '; cat "$t/e"; } >&2; rm -rf "$t"; exit 1; fi
        code=$(cut -d' ' -f1 "$t/w")
        case " \(list) " in
          *" $code "*) ;;
          *) cat "$t/o"; echo "Status code was $code and not [\(statuses.map(String.init).joined(separator: ", "))]" >&2; rm -rf "$t"; exit 1 ;;
        esac

        """
      if let dest {
        script += """
          if [ "$code" != 304 ]; then mv -f "$t/o" \(ShellQuoting.quote(dest)) || { rm -rf "$t"; exit 1; }; fi
          rm -rf "$t"
          """
      } else {
        script += """
          cat "$t/o"
          rm -rf "$t"
          """
      }
    }
    return script
  }

  /// Reads what `curlScript` printed; nil when the output is not the script's.
  static func parseCurl(stdout: Data, stderr: String) -> HTTPResponse? {
    var rest = stdout[...]
    func line() -> String? {
      guard let end = rest.firstIndex(of: 0x0A) else { return nil }
      defer { rest = rest[(end + 1)...] }
      return String(decoding: rest[..<end], as: UTF8.self)
    }
    guard let rcLine = line(), let rc = Int(rcLine.trimmingCharacters(in: .whitespaces)), let writeOut = line(),
      let sizeLine = line(), let size = Int(sizeLine.trimmingCharacters(in: .whitespaces)), size <= rest.count
    else { return nil }
    let headerText = String(decoding: rest.prefix(size), as: UTF8.self)
    let body = Data(rest.dropFirst(size))
    let w = writeOut.split(separator: " ", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
    var response = HTTPResponse(status: w.first.flatMap { Int($0) } ?? 0, body: body)
    if w.count > 1 { response.redirects = Int(w[1]) ?? 0 }
    if w.count > 2 { response.url = w[2] }
    let (statusLine, headers) = parseHeaders(headerText)
    response.headers = headers
    response.reason = statusLine.map(reason) ?? ""
    if rc != 0 {
      var message = stderr.trimmingCharacters(in: .whitespacesAndNewlines)
      if rc == 127 { message = "curl is not installed on the host" }
      if message.hasPrefix("curl: ") { message = String(message.dropFirst(6)) }
      response.error = message.isEmpty ? "curl exited with status \(rc)" : message
      if response.status == 0 { response.status = -1 }
    }
    return response
  }

  /// The status line and headers of the last response in curl's `-D` output, which holds one
  /// block per response (redirects, `100 Continue`).
  static func parseHeaders(_ text: String) -> (statusLine: String?, headers: [Header]) {
    let lines = text.replacingOccurrences(of: "\r\n", with: "\n").split(separator: "\n", omittingEmptySubsequences: false)
    var statusLine: String?
    var headers: [Header] = []
    for raw in lines {
      let line = String(raw)
      if line.hasPrefix("HTTP/") {
        statusLine = line
        headers = []
      } else if let colon = line.firstIndex(of: ":") {
        headers.append(
          Header(
            name: String(line[..<colon]).trimmingCharacters(in: .whitespaces),
            value: String(line[line.index(after: colon)...]).trimmingCharacters(in: .whitespaces)))
      }
    }
    return (statusLine, headers)
  }

  /// The reason phrase of a status line: `Not Found` in `HTTP/1.1 404 Not Found`.
  static func reason(_ statusLine: String) -> String {
    let parts = statusLine.split(separator: " ", maxSplits: 2)
    return parts.count > 2 ? String(parts[2]).trimmingCharacters(in: .whitespaces) : ""
  }

  /// The modification time of a regular file on the host (symbolic links followed), in
  /// seconds since the epoch; nil when there is no such file.
  static func modificationTime(of path: String, on host: HostProbe) async throws -> Int? {
    let p = ShellQuoting.quote(path)
    let result = try await host.run("if [ -f \(p) ]; then stat -L -c %Y -- \(p); fi")
    return Int(result.stdoutText.trimmingCharacters(in: .whitespacesAndNewlines))
  }

  /// A time as Ansible writes it in `If-Modified-Since`: `Wed, 25 Nov 2026 22:31:05 GMT`.
  static func httpDate(_ seconds: Int) -> String {
    var time = time_t(seconds)
    var parts = tm()
    gmtime_r(&time, &parts)
    let days = ["Sun", "Mon", "Tue", "Wed", "Thu", "Fri", "Sat"]
    let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
    return days[Int(parts.tm_wday)] + String(format: ", %02d ", parts.tm_mday) + months[Int(parts.tm_mon)]
      + String(format: " %04d %02d:%02d:%02d GMT", parts.tm_year + 1900, parts.tm_hour, parts.tm_min, parts.tm_sec)
  }
}

/// What an HTTP request got back.
struct HTTPResponse: Sendable, Equatable {
  /// The status code, or -1 when no response arrived.
  var status: Int
  var reason = ""
  /// The final response's headers, in the order received.
  var headers: [HTTPRequest.Header] = []
  /// The URL of the final response, after redirects.
  var url = ""
  var redirects = 0
  var body = Data()
  /// Why the request failed, when it did (no connection, timeout, certificate).
  var error: String?

  /// The headers as Ansible reports them: lower-case names, repeated headers joined by `, `.
  var lowercasedHeaders: OrderedDict {
    var out = OrderedDict()
    for h in headers {
      let name = h.name.lowercased()
      if case .string(let old)? = out[name] { out[name] = .string(old + ", " + h.value) } else { out[name] = .string(h.value) }
    }
    return out
  }

  /// Ansible's `msg`: `OK (N bytes)` (N from Content-Length, else `unknown`), `HTTP Error N:
  /// Reason` or `Request failed: …`.
  var message: String {
    if let error { return "Request failed: \(error)" }
    if (200..<300).contains(status) {
      let length = headers.last { $0.name.lowercased() == "content-length" }?.value ?? "unknown"
      return "OK (\(length) bytes)"
    }
    return "HTTP Error \(status): \(reason)"
  }

  /// The media type without parameters, lower-case: `application/json`.
  var contentType: String? {
    headers.last { $0.name.lowercased() == "content-type" }.map {
      $0.value.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces).lowercased() } ?? ""
    }
  }

  /// Whether the body is JSON by its content type, as Ansible decides: `json`,
  /// `javascript`, `x-json` or a `+json` suffix.
  var isJSON: Bool {
    guard let type = contentType, let slash = type.firstIndex(of: "/") else { return false }
    var sub = String(type[type.index(after: slash)...])
    if let plus = sub.firstIndex(of: "+") { sub = String(sub[sub.index(after: plus)...]) }
    return ["json", "javascript", "x-json", "x-javascript"].contains(sub)
  }

  /// Cookies from `Set-Cookie`: name and value, in order.
  var cookies: [(String, String)] {
    headers.filter { $0.name.lowercased() == "set-cookie" }.compactMap { h in
      let pair = h.value.split(separator: ";").first.map(String.init) ?? ""
      guard let eq = pair.firstIndex(of: "=") else { return nil }
      return (
        pair[..<eq].trimmingCharacters(in: .whitespaces), pair[pair.index(after: eq)...].trimmingCharacters(in: .whitespaces)
      )
    }
  }
}
