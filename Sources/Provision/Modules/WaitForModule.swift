import Foundation
import Inventory

/// Waits on the host for a port, a file or a string: `wait_for`. Never changes anything.
///
/// Keys: `host` (127.0.0.1), `port`, `path`, `search_regex`, `state` (started, present,
/// stopped, absent, drained), `timeout` (300), `delay`, `sleep` (1), `connect_timeout` (5),
/// `msg`, `exclude_hosts` and `active_connection_states` (drained).
///
/// The wait is a POSIX shell loop on the host (no Python), run by `check`, so it also waits in
/// check mode; the plan is always empty. A port is tried with bash's `/dev/tcp` when bash is
/// there, else with `nc -z`, else, for a local address, by looking for a listening socket in
/// `/proc/net/tcp`; `drained` counts connections in `/proc/net/tcp`. In a file,
/// `search_regex` is matched over the whole content with `grep -zP` and `(?m)`, as Ansible's
/// `re.search` with MULTILINE (a match may span lines), or per line with `grep -E` where grep
/// has no `-P`; on a port, per line. `match_groups` and `match_groupdict` come from matching
/// the first match in a file again on the controller with Python's semantics (for a port,
/// Ansible leaves them empty). Timeouts fail with Ansible's messages (`Timeout when waiting
/// for 127.0.0.1:8080`); the result has `elapsed`, `state`, `port`, `path`, `search_regex`,
/// `match_groups`, `match_groupdict`.
///
/// ```yaml
/// - wait_for: { port: 9345, timeout: 600 }
/// - wait_for: { path: /var/log/rke2.log, search_regex: 'Tunnel server listening on (\S+)' }
/// ```
public struct WaitForModule: Module {
  public static let name = "wait_for"
  public static let arguments = ArgumentSpec([
    .init("host", default: "127.0.0.1"), .init("port", .int), .init("path", .path), .init("search_regex"),
    .init("state", choices: ["absent", "drained", "present", "started", "stopped"], default: "started"),
    .init("timeout", .int, default: 300), .init("delay", .int, default: 0), .init("sleep", .int, default: 1),
    .init("connect_timeout", .int, default: 5), .init("msg"), .init("exclude_hosts", .list),
    .init(
      "active_connection_states", .list,
      default: ["ESTABLISHED", "FIN_WAIT1", "FIN_WAIT2", "SYN_RECV", "SYN_SENT", "TIME_WAIT"]),
  ])

  /// How the wait ended on the host.
  public struct Current: Sendable, Equatable {
    public enum Outcome: Sendable, Equatable {
      case ready
      case timedOut
      /// The host could not do the check (no bash, nc or /proc for a remote port).
      case failed(String)
    }
    var outcome: Outcome
    var elapsed: Int
    /// The first line that matched `search_regex`.
    var matchedLine: String?
    /// What Ansible adds about an existing `path`: uid, gid, owner, group, mode, state, size.
    var pathInfo: OrderedDict?
  }

  /// Reads `stat %f %a %u %g %s %h %U %G` as Ansible's `add_path_info` reports it.
  static func pathInfo(_ line: String) -> OrderedDict? {
    let f = line.split(separator: " ", omittingEmptySubsequences: false).map(String.init)
    guard f.count >= 9, f[0] == "stat", let raw = UInt32(f[1], radix: 16), let mode = UInt16(f[2], radix: 8),
      let uid = Int(f[3]), let gid = Int(f[4]), let size = Int(f[5]), let links = Int(f[6])
    else { return nil }
    let state: String
    switch raw & 0o170000 {
    case 0o120000: state = "link"
    case 0o040000: state = "directory"
    default: state = links > 1 ? "hard" : "file"
    }
    return [
      "uid": .int(uid), "gid": .int(gid), "owner": .string(f[7]), "group": .string(f[8]),
      "mode": .string(String(format: "0%03o", mode & 0o7777)), "state": .string(state), "size": .int(size),
    ]
  }

  let host: String
  let port: Int?
  let path: String?
  let searchRegex: String?
  let state: String
  let timeout: Int
  let delay: Int
  let sleep: Int
  let connectTimeout: Int
  let message: String?
  let excludeHosts: [String]
  let activeStates: [String]
  let regex: PythonRegex?

  /// /proc/net/tcp's state numbers.
  static let tcpStates = [
    "ESTABLISHED": "01", "SYN_SENT": "02", "SYN_RECV": "03", "FIN_WAIT1": "04", "FIN_WAIT2": "05", "TIME_WAIT": "06",
    "CLOSE": "07", "CLOSE_WAIT": "08", "LAST_ACK": "09", "LISTEN": "0A", "CLOSING": "0B",
  ]

  public init(_ arguments: ModuleArguments) throws {
    host = arguments.string("host") ?? "127.0.0.1"
    port = arguments.int("port")
    path = arguments.string("path")
    searchRegex = arguments.string("search_regex")
    state = arguments.string("state") ?? "started"
    timeout = arguments.int("timeout") ?? 300
    delay = arguments.int("delay") ?? 0
    sleep = arguments.int("sleep") ?? 1
    connectTimeout = arguments.int("connect_timeout") ?? 5
    message = arguments.string("msg")
    excludeHosts = arguments.list("exclude_hosts") ?? []
    activeStates = arguments.list("active_connection_states") ?? []
    if let searchRegex {
      do {
        regex = try PythonRegex(searchRegex, bytes: true, multiline: true)
      } catch {
        throw ModuleError("Invalid regular expression: \(error)")
      }
    } else {
      regex = nil
    }
    if port != nil && path != nil {
      throw ModuleError("port and path parameter can not both be passed to wait_for")
    }
    if path != nil && state == "stopped" {
      throw ModuleError("state=stopped should only be used for checking a port in the wait_for module")
    }
    if path != nil && state == "drained" {
      throw ModuleError("state=drained should only be used for checking a port in the wait_for module")
    }
    if arguments["exclude_hosts"] != nil && state != "drained" {
      throw ModuleError("exclude_hosts should only be with state=drained")
    }
    for s in activeStates where Self.tcpStates[s] == nil {
      throw ModuleError("unknown active_connection_state (\(s)) defined")
    }
    if state == "drained" && port == nil { throw ModuleError("port is required for state=drained") }
    for h in excludeHosts where Self.procHex(h) == nil {
      throw ModuleError("exclude_hosts must be IPv4 addresses here, found '\(h)'")
    }
  }

  /// An IPv4 address as /proc/net/tcp writes it: `127.0.0.1` is `0100007F`.
  static func procHex(_ address: String) -> String? {
    let parts = address.split(separator: ".", omittingEmptySubsequences: false).compactMap { UInt8($0) }
    guard parts.count == 4 else { return nil }
    return parts.reversed().map { String(format: "%02X", $0) }.joined()
  }

  /// Whether `host` names this machine, so that /proc/net/tcp can answer for it.
  static func isLocal(_ host: String) -> Bool {
    host == "localhost" || host.hasPrefix("127.") || host == "::1" || host == "0.0.0.0" || host == "::"
  }

  /// Python's regex syntax that `grep -E` lacks, rewritten: `\d` and `\D`.
  static func extendedPattern(_ pattern: String) -> String {
    pattern.replacingOccurrences(of: "\\d", with: "[0-9]").replacingOccurrences(of: "\\D", with: "[^0-9]")
  }

  /// The shell loop that waits. It prints `ok SECONDS` and, with `search_regex`, the first
  /// matching line; or `timeout SECONDS`; or `error MESSAGE`.
  var script: String {
    let q = ShellQuoting.quote
    var s = """
      H=\(q(host)); P=\(q(port.map(String.init) ?? "")); F=\(q(path ?? "")); R=\(q(searchRegex ?? ""))
      ER=\(q(Self.extendedPattern(searchRegex ?? ""))); C=\(connectTimeout); S=\(sleep)
      start=$(date +%s); end=$((start + \(timeout)))

      """
    if delay > 0 { s += "sleep \(delay)\n" }
    s += """
      if echo x | grep -qP 'x' 2>/dev/null; then G=-P; else G=-E; R=$ER; fi
      left() { l=$((end - $(date +%s))); [ "$l" -lt 1 ] && l=1; echo "$l"; }
      TO=; if command -v timeout >/dev/null 2>&1; then TO=timeout; fi
      if command -v bash >/dev/null 2>&1; then m=bash; elif command -v nc >/dev/null 2>&1; then m=nc; else m=proc; fi

      """
    let listens = """
      listening() {
        p=$(printf '%04X' "$P")
        for f in /proc/net/tcp /proc/net/tcp6; do
          [ -r "$f" ] || continue
          awk -v p="$p" 'FNR > 1 { split($2, a, ":"); if (a[2] == p && $4 == "0A") f = 1 } END { exit !f }' "$f" && return 0
        done
        return 1
      }

      """
    // probe: 0 when the condition of `started`/`present` holds; prints the matching line.
    var probe: String
    if path != nil {
      if searchRegex != nil {
        // As Ansible's re.search(MULTILINE) over the whole file: with -P, grep takes the file
        // as one record (-z) and prints the first match (-o; NULs between matches become
        // \001 for the controller to cut at), so a match may span lines. -E goes by line.
        probe = """
          probe() {
            [ -e "$F" ] || return 1
            if [ "$G" = -P ]; then
              grep -qzP -e "(?m)$R" -- "$F" 2>/dev/null && { grep -zoP -e "(?m)$R" -- "$F" 2>/dev/null | tr '\\000' '\\001'; echo; }
            else
              grep -m 1 -E -e "$R" -- "$F" 2>/dev/null
            fi
          }

          """
      } else {
        probe = "probe() { [ -e \"$F\" ]; }\n"
      }
    } else if port != nil {
      s += listens
      if searchRegex != nil {
        s += "if [ $m = proc ]; then echo \"error wait_for needs bash or nc on the host to read from $H:$P\"; exit 0; fi\n"
        probe = """
          probe() {
            if [ $m = bash ]; then
              ${TO:+$TO "$(left)"} bash -c 'exec 3<>"/dev/tcp/$0/$1" || exit 1
                while IFS= read -r -t "$3" l <&3 || [ -n "$l" ]; do
                  if printf "%s\\n" "$l" | grep -q $4 -e "$2"; then printf "%s\\n" "$l"; exit 0; fi
                  l=
                done; exit 1' "$H" "$P" "$R" "$(left)" "$G" 2>/dev/null
            else
              nc -w "$C" "$H" "$P" </dev/null 2>/dev/null | grep -m 1 $G -e "$R"
            fi
          }

          """
      } else {
        if !Self.isLocal(host) {
          s += "if [ $m = proc ]; then echo \"error wait_for needs bash or nc on the host to check $H:$P\"; exit 0; fi\n"
        }
        probe = """
          probe() {
            case $m in
              bash) ${TO:+$TO "$C"} bash -c 'exec 3<>"/dev/tcp/$0/$1"' "$H" "$P" 2>/dev/null ;;
              nc) nc -z -w "$C" "$H" "$P" >/dev/null 2>&1 ;;
              *) listening ;;
            esac
          }

          """
      }
    } else {
      probe = "probe() { false; }\n"
    }
    if state == "drained" {
      let hostHex = Self.isLocal(host) && host != "0.0.0.0" && host != "::" ? Self.procHex(host == "localhost" ? "127.0.0.1" : host) : nil
      let states = activeStates.compactMap { Self.tcpStates[$0] }.map { "$4 == \"\($0)\"" }.joined(separator: " || ")
      let excluded = excludeHosts.compactMap(Self.procHex).map { "r == \"\($0)\" || r == \"0000000000000000FFFF0000\($0)\"" }
      var filter = "a[2] == p && (\(states.isEmpty ? "0" : states))"
      if let hostHex { filter += " && (a[1] == \"\(hostHex)\" || a[1] == \"0000000000000000FFFF0000\(hostHex)\")" }
      if !excluded.isEmpty { filter += " && !(\(excluded.joined(separator: " || ")))" }
      probe = """
        probe() {
          p=$(printf '%04X' "$P")
          for f in /proc/net/tcp /proc/net/tcp6; do
            [ -r "$f" ] || continue
            awk -v p="$p" 'FNR > 1 { split($2, a, ":"); split($3, b, ":"); r = b[1]; if (\(filter)) n++ } END { exit n > 0 }' "$f" || return 1
          done
          return 0
        }

        """
    }
    s += probe
    let waitsForAbsence = state == "absent" || state == "stopped"
    // Ansible adds the path's owner, mode, size and type to the result when it exists.
    let pathInfo =
      path == nil ? "" : "; if [ -e \"$F\" ]; then stat -c 'stat %f %a %u %g %s %h %U %G' -- \"$F\" || echo -; else echo -; fi"
    let idle = path == nil && port == nil && state != "drained"
    if idle {
      s += "sleep \(timeout)\necho \"ok $(($(date +%s) - start))\"\n"
      return s
    }
    s += """
      while [ "$(date +%s)" -lt "$end" ]; do
        if \(waitsForAbsence ? "! probe >/dev/null" : "line=$(probe)"); then
          echo "ok $(($(date +%s) - start))"\(pathInfo)\(searchRegex != nil && !waitsForAbsence ? "; printf '%s\\n' \"$line\"" : "")
          exit 0
        fi
        sleep "$S"
      done
      echo "timeout $(($(date +%s) - start))"
      """
    return s
  }

  /// Reads what `script` printed: `ok SECONDS`, then with `path` its stat line or `-`, then
  /// with `search_regex` the matching line.
  static func parse(_ output: String, hasPath: Bool) -> Current? {
    var lines = output.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)[...]
    guard let first = lines.popFirst() else { return nil }
    if first.hasPrefix("error ") { return Current(outcome: .failed(String(first.dropFirst(6))), elapsed: 0) }
    let words = first.split(separator: " ")
    guard words.count == 2, let elapsed = Int(words[1]) else { return nil }
    switch words[0] {
    case "ok":
      var current = Current(outcome: .ready, elapsed: elapsed)
      if hasPath, let stat = lines.popFirst() { current.pathInfo = pathInfo(stat) }
      // The match, which may span lines, up to the end or to the \u{1} after the first one.
      if !lines.isEmpty {
        var match = lines.joined(separator: "\n")
        if match.hasSuffix("\n") { match.removeLast() }
        current.matchedLine = String(match.prefix { $0 != "\u{1}" })
      }
      return current
    case "timeout": return Current(outcome: .timedOut, elapsed: elapsed)
    default: return nil
    }
  }

  public func check(on host: HostProbe) async throws -> Current {
    let result = try await host.run(script)
    guard let current = Self.parse(result.stdoutText, hasPath: path != nil) else {
      throw ModuleError(
        "wait_for could not run on the host: " + (result.stderrText + result.stdoutText).trimmingCharacters(in: .whitespacesAndNewlines))
    }
    return current
  }

  /// The message for a timeout, as Ansible words it.
  var timeoutMessage: String {
    if let message { return message }
    switch state {
    case "absent", "stopped":
      return port != nil ? "Timeout when waiting for \(host):\(port!) to stop." : "Timeout when waiting for \(path ?? "") to be absent."
    case "drained":
      return "Timeout when waiting for \(host):\(port.map(String.init) ?? "None") to drain"
    default:
      if let port {
        return searchRegex.map { "Timeout when waiting for search string \($0) in \(host):\(port)" } ?? "Timeout when waiting for \(host):\(port)"
      }
      return searchRegex.map { "Timeout when waiting for search string \($0) in \(path ?? "")" } ?? "Timeout when waiting for file \(path ?? "")"
    }
  }

  public func plan(from current: Current) throws -> Plan {
    switch current.outcome {
    case .failed(let reason):
      return .failed(reason, result: ["elapsed": .int(current.elapsed)])
    case .timedOut:
      return .failed(timeoutMessage, result: ["elapsed": .int(current.elapsed)])
    case .ready:
      break
    }
    var groups: [Value] = []
    var named = OrderedDict()
    // Ansible reports the groups of a match in a file only; for a port they stay empty.
    if let regex, path != nil, let line = current.matchedLine {
      let units = PythonRegex.units(bytes: Array(line.utf8))
      if let match = regex.search(units) {
        func text(_ r: Range<Int>?) -> Value {
          guard let r else { return .null }
          return .string(String(decoding: PythonRegex.bytes(units: units[r]), as: UTF8.self))
        }
        groups = match.groups.dropFirst().map(text)
        for (name, index) in regex.groupIndex.sorted(by: { $0.value < $1.value }) where index < match.groups.count {
          named[name] = text(match.groups[index])
        }
      }
    }
    var result = OrderedDict()
    result["state"] = .string(state)
    result["port"] = port.map(Value.int) ?? .null
    result["search_regex"] = searchRegex.map(Value.string) ?? .null
    result["match_groups"] = .list(groups)
    result["match_groupdict"] = .dict(named)
    result["path"] = path.map(Value.string) ?? .null
    result["elapsed"] = .int(current.elapsed)
    for (key, value) in current.pathInfo ?? [:] { result[key] = value }
    return Plan(result: result)
  }
}
