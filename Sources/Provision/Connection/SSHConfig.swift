import Foundation

/// The parts of OpenSSH's client configuration (`~/.ssh/config`, `-F FILE`) that decide how to
/// reach a host: `Host` blocks with patterns, `HostName`, `User`, `Port`, `IdentityFile`,
/// `IdentitiesOnly`, `StrictHostKeyChecking`, `UserKnownHostsFile`, `ConnectTimeout`,
/// `ProxyJump` and `Include`.
///
/// As in OpenSSH, the first value found for a keyword wins (except `IdentityFile` and
/// `UserKnownHostsFile`, which collect), and blocks apply in file order.
public struct SSHConfig: Sendable, Equatable {
  public struct Entry: Sendable, Equatable {
    public var keyword: String  // lower-cased
    public var arguments: [String]
    /// The `Host` patterns the entry sits under; empty for entries before the first `Host`.
    public var patterns: [String]
  }

  public var entries: [Entry] = []
  /// Lines we read but do not act on (`Match` blocks), for a warning.
  public var ignored: [String] = []

  public init() {}

  /// Reads a config file and the files it includes. A missing file is an empty config.
  public init(contentsOf path: String, home: String = NSHomeDirectory()) {
    self.init()
    read(path: path, home: home, patterns: [], depth: 0)
  }

  /// Reads config text, as from a file in `directory` (for relative `Include`s).
  public init(text: String, home: String = NSHomeDirectory()) {
    self.init()
    parse(text, home: home, patterns: [], depth: 0)
  }

  private mutating func read(path: String, home: String, patterns: [String], depth: Int) {
    guard depth < 16, let text = try? String(contentsOfFile: path, encoding: .utf8) else { return }
    parse(text, home: home, patterns: patterns, depth: depth)
  }

  private mutating func parse(_ text: String, home: String, patterns initial: [String], depth: Int) {
    var patterns = initial
    var inMatch = false
    for raw in text.split(whereSeparator: \.isNewline) {
      let line = raw.trimmingCharacters(in: .whitespaces)
      guard !line.isEmpty, !line.hasPrefix("#") else { continue }
      let words = SSHConfig.words(line)
      guard let first = words.first else { continue }
      var keyword = first.lowercased()
      var args = Array(words.dropFirst())
      // `Keyword=value` is allowed as well as `Keyword value`.
      if let eq = first.firstIndex(of: "=") {
        keyword = String(first[..<eq]).lowercased()
        let rest = String(first[first.index(after: eq)...])
        args = (rest.isEmpty ? [] : [rest]) + args
      } else if args.first == "=" {
        args.removeFirst()
      }
      switch keyword {
      case "host":
        patterns = args
        inMatch = false
      case "match":
        ignored.append(line)
        inMatch = true
      case "include":
        for pattern in args {
          let expanded = SSHConfig.expandTilde(pattern, home: home)
          let full = expanded.hasPrefix("/") ? expanded : home + "/.ssh/" + expanded
          for file in SSHConfig.glob(full) {
            read(path: file, home: home, patterns: patterns, depth: depth + 1)
          }
        }
      default:
        if inMatch { continue }
        entries.append(Entry(keyword: keyword, arguments: args, patterns: patterns))
      }
    }
  }

  /// What the config says for `host`.
  public func settings(for host: String) -> SSHHostSettings {
    var result = SSHHostSettings()
    for entry in entries where entry.patterns.isEmpty || SSHConfig.matches(host, patterns: entry.patterns) {
      guard let value = entry.arguments.first else { continue }
      switch entry.keyword {
      case "hostname": if result.hostName == nil { result.hostName = value.replacingOccurrences(of: "%h", with: host) }
      case "user": if result.user == nil { result.user = value }
      case "port": if result.port == nil { result.port = Int(value) }
      case "identityfile": result.identityFiles.append(value)
      case "identitiesonly": if result.identitiesOnly == nil { result.identitiesOnly = SSHConfig.yes(value) }
      case "stricthostkeychecking":
        if result.strictHostKeyChecking == nil { result.strictHostKeyChecking = value.lowercased() }
      case "userknownhostsfile":
        if result.userKnownHostsFiles.isEmpty { result.userKnownHostsFiles = entry.arguments }
      case "connecttimeout": if result.connectTimeout == nil { result.connectTimeout = Double(value) }
      case "proxyjump": if result.proxyJump == nil { result.proxyJump = value }
      case "serveraliveinterval":
        if result.serverAliveInterval == nil { result.serverAliveInterval = Int(value) }
      default: break
      }
    }
    return result
  }

  /// OpenSSH's `Host` matching: any pattern matches and no `!pattern` matches.
  public static func matches(_ host: String, patterns: [String]) -> Bool {
    var matched = false
    for pattern in patterns {
      if pattern.hasPrefix("!") {
        if wildcard(String(pattern.dropFirst()), host) { return false }
      } else if wildcard(pattern, host) {
        matched = true
      }
    }
    return matched
  }

  /// `*` and `?` wildcards, case-insensitive as OpenSSH compares host names.
  static func wildcard(_ pattern: String, _ text: String) -> Bool {
    let p = Array(pattern.lowercased())
    let t = Array(text.lowercased())
    var pi = 0
    var ti = 0
    var star = -1
    var mark = 0
    while ti < t.count {
      if pi < p.count && (p[pi] == "?" || p[pi] == t[ti]) {
        pi += 1
        ti += 1
      } else if pi < p.count && p[pi] == "*" {
        star = pi
        mark = ti
        pi += 1
      } else if star >= 0 {
        pi = star + 1
        mark += 1
        ti = mark
      } else {
        return false
      }
    }
    while pi < p.count && p[pi] == "*" { pi += 1 }
    return pi == p.count
  }

  static func yes(_ value: String) -> Bool { ["yes", "true", "on"].contains(value.lowercased()) }

  static func expandTilde(_ path: String, home: String) -> String {
    path == "~" ? home : (path.hasPrefix("~/") ? home + path.dropFirst() : path)
  }

  /// Words of a config line; double quotes group words.
  static func words(_ line: String) -> [String] {
    var words: [String] = []
    var current = ""
    var quoted = false
    var inWord = false
    for c in line {
      if c == "\"" {
        quoted.toggle()
        inWord = true
      } else if (c == " " || c == "\t") && !quoted {
        if inWord { words.append(current) }
        current = ""
        inWord = false
      } else {
        current.append(c)
        inWord = true
      }
    }
    if inWord { words.append(current) }
    return words
  }

  /// Files matching a path whose last component may hold `*` or `?`.
  static func glob(_ path: String) -> [String] {
    let dir = (path as NSString).deletingLastPathComponent
    let name = (path as NSString).lastPathComponent
    guard name.contains("*") || name.contains("?") else {
      return FileManager.default.fileExists(atPath: path) ? [path] : []
    }
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: dir)) ?? []
    return entries.filter { wildcard(name, $0) }.sorted().map { dir + "/" + $0 }
  }
}

/// What an SSH config says about one host; `nil` where it says nothing.
public struct SSHHostSettings: Sendable, Equatable {
  public var hostName: String?
  public var user: String?
  public var port: Int?
  public var identityFiles: [String] = []
  public var identitiesOnly: Bool?
  public var strictHostKeyChecking: String?
  public var userKnownHostsFiles: [String] = []
  public var connectTimeout: Double?
  public var proxyJump: String?
  public var serverAliveInterval: Int?

  public init() {}
}
