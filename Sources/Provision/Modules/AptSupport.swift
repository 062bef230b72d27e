import Foundation

/// Debian version strings, compared as dpkg compares them (`dpkg --compare-versions`).
enum DebianVersion {
  /// Negative, zero or positive as `a` sorts before, equal to or after `b`.
  static func compare(_ a: String, _ b: String) -> Int {
    let (ea, ua, ra) = split(a)
    let (eb, ub, rb) = split(b)
    if ea != eb { return ea < eb ? -1 : 1 }
    let u = verrevcmp(ua, ub)
    if u != 0 { return u }
    return verrevcmp(ra, rb)
  }

  /// Epoch, upstream version and revision.
  static func split(_ v: String) -> (Int, String, String) {
    var rest = Substring(v.trimmingCharacters(in: .whitespaces))
    var epoch = 0
    if let colon = rest.firstIndex(of: ":"), let e = Int(rest[..<colon]) {
      epoch = e
      rest = rest[rest.index(after: colon)...]
    }
    if let dash = rest.lastIndex(of: "-") {
      return (epoch, String(rest[..<dash]), String(rest[rest.index(after: dash)...]))
    }
    return (epoch, String(rest), "")
  }

  private static func order(_ c: UInt8?) -> Int {
    guard let c else { return 0 }
    if c >= 0x30 && c <= 0x39 { return 0 }
    if (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) { return Int(c) }
    if c == UInt8(ascii: "~") { return -1 }
    return Int(c) + 256
  }

  private static func isDigit(_ c: UInt8) -> Bool { c >= 0x30 && c <= 0x39 }

  /// dpkg's `verrevcmp`.
  static func verrevcmp(_ a: String, _ b: String) -> Int {
    let x = Array(a.utf8)
    let y = Array(b.utf8)
    var i = 0
    var j = 0
    while i < x.count || j < y.count {
      var firstDiff = 0
      while (i < x.count && !isDigit(x[i])) || (j < y.count && !isDigit(y[j])) {
        let ac = order(i < x.count ? x[i] : nil)
        let bc = order(j < y.count ? y[j] : nil)
        if ac != bc { return ac - bc }
        i += 1
        j += 1
      }
      while i < x.count && x[i] == UInt8(ascii: "0") { i += 1 }
      while j < y.count && y[j] == UInt8(ascii: "0") { j += 1 }
      while i < x.count && isDigit(x[i]) && j < y.count && isDigit(y[j]) {
        if firstDiff == 0 { firstDiff = Int(x[i]) - Int(y[j]) }
        i += 1
        j += 1
      }
      if i < x.count && isDigit(x[i]) { return 1 }
      if j < y.count && isDigit(y[j]) { return -1 }
      if firstDiff != 0 { return firstDiff }
    }
    return 0
  }
}

/// Python's `fnmatch.fnmatch` on POSIX (case-sensitive): `*`, `?`, `[abc]`, `[!abc]`, `[a-z]`.
enum FNMatch {
  static func matches(_ name: String, _ pattern: String) -> Bool {
    match(Array(name), 0, Array(pattern), 0)
  }

  static func hasWildcards(_ s: String) -> Bool { s.contains { "*?[".contains($0) } }

  private static func match(_ s: [Character], _ si: Int, _ p: [Character], _ pi: Int) -> Bool {
    var si = si
    var pi = pi
    while pi < p.count {
      switch p[pi] {
      case "*":
        while pi < p.count && p[pi] == "*" { pi += 1 }
        if pi == p.count { return true }
        for k in si...s.count where match(s, k, p, pi) { return true }
        return false
      case "?":
        guard si < s.count else { return false }
        si += 1
        pi += 1
      case "[":
        guard let (matched, next) = bracket(p, pi, si < s.count ? s[si] : nil) else {
          // An unclosed `[` is a literal.
          guard si < s.count, s[si] == "[" else { return false }
          si += 1
          pi += 1
          continue
        }
        guard si < s.count, matched else { return false }
        si += 1
        pi = next
      default:
        guard si < s.count, s[si] == p[pi] else { return false }
        si += 1
        pi += 1
      }
    }
    return si == s.count
  }

  /// Whether `c` is in the class starting at `p[start]` (`[`), and the index after it.
  private static func bracket(_ p: [Character], _ start: Int, _ c: Character?) -> (Bool, Int)? {
    var i = start + 1
    var negate = false
    if i < p.count && p[i] == "!" {
      negate = true
      i += 1
    }
    var items: [(Character, Character)] = []
    var first = true
    while i < p.count && (p[i] != "]" || first) {
      first = false
      if i + 2 < p.count && p[i + 1] == "-" && p[i + 2] != "]" {
        items.append((p[i], p[i + 2]))
        i += 3
      } else {
        items.append((p[i], p[i]))
        i += 1
      }
    }
    guard i < p.count else { return nil }
    guard let c else { return (false, i + 1) }
    let inside = items.contains { $0.0 <= c && c <= $0.1 }
    return (inside != negate, i + 1)
  }
}

/// What `apt-get` prints and what the apt modules read from it.
enum AptOutput {
  /// One package as `dpkg-query -W -f='${Package}\t${Status}\t${Version}\n'` shows it.
  struct Installed: Sendable, Equatable {
    var name: String
    /// `install ok installed`, `hold ok installed`, `deinstall ok config-files`, ...
    var status: String
    var version: String

    /// Unpacked and configured.
    var isInstalled: Bool { status.hasSuffix(" installed") }
    /// Removed but its configuration files are left (a purge would remove them).
    var hasConfigFiles: Bool { status.hasSuffix(" config-files") }
  }

  /// Parses the `dpkg-query` lines; lines of packages dpkg only knows by name are kept too.
  static func parseDpkgQuery(_ text: String) -> [String: Installed] {
    var out: [String: Installed] = [:]
    for line in text.split(separator: "\n") {
      let f = line.split(separator: "\t", omittingEmptySubsequences: false)
      guard f.count >= 3, !f[0].isEmpty, !f[0].hasPrefix("dpkg-query:") else { continue }
      let entry = Installed(name: String(f[0]), status: String(f[1]), version: String(f[2]))
      // Of several architectures, the installed one wins.
      if let old = out[entry.name], old.isInstalled && !entry.isInstalled { continue }
      out[entry.name] = entry
    }
    return out
  }

  /// `apt-cache policy` of one package.
  struct Policy: Sendable, Equatable {
    var installed: String?
    var candidate: String?
    /// Versions in the order apt lists them (newest first), with their priorities.
    var versions: [(version: String, priority: Int)]
    /// Where each version comes from: `file:/srv/repo ./ Packages`, `/var/lib/dpkg/status`.
    var sources: [String: [String]] = [:]

    static func == (a: Policy, b: Policy) -> Bool {
      a.installed == b.installed && a.candidate == b.candidate
        && a.versions.map(\.version) == b.versions.map(\.version) && a.versions.map(\.priority) == b.versions.map(\.priority)
    }
  }

  /// Parses `apt-cache policy NAME...`; packages apt does not know are missing from it.
  static func parsePolicy(_ text: String) -> [String: Policy] {
    var out: [String: Policy] = [:]
    var current: String?
    var policy = Policy(installed: nil, candidate: nil, versions: [])
    func flush() {
      if let current { out[current] = policy }
      current = nil
    }
    func value(_ line: Substring) -> String? {
      guard let colon = line.firstIndex(of: ":") else { return nil }
      let v = line[line.index(after: colon)...].trimmingCharacters(in: .whitespaces)
      return v == "(none)" || v.isEmpty ? nil : v
    }
    for line in text.split(separator: "\n") {
      if !line.hasPrefix(" ") && line.hasSuffix(":") {
        flush()
        current = String(line.dropLast())
        policy = Policy(installed: nil, candidate: nil, versions: [])
        continue
      }
      guard current != nil else { continue }
      let trimmed = line.trimmingCharacters(in: .whitespaces)
      if trimmed.hasPrefix("Installed:") {
        policy.installed = value(line)
      } else if trimmed.hasPrefix("Candidate:") {
        policy.candidate = value(line)
      } else if line.hasPrefix(" *** ") || (line.hasPrefix("     ") && !line.hasPrefix("      ")) {
        // ` *** VERSION PRIO` or `     VERSION PRIO`; source lines are indented further.
        let words = trimmed.split(separator: " ").filter { $0 != "***" }
        if words.count >= 2, let priority = Int(words[1]) {
          policy.versions.append((String(words[0]), priority))
        }
      } else if line.hasPrefix("      "), let last = policy.versions.last?.version {
        // `        500 file:/srv/repo ./ Packages`: the priority, then the source.
        let words = trimmed.split(separator: " ", maxSplits: 1)
        if words.count == 2, Int(words[0]) != nil { policy.sources[last, default: []].append(String(words[1])) }
      }
    }
    flush()
    return out
  }

  /// One change in `apt-get -s` output.
  struct Change: Sendable, Equatable {
    enum Kind: String, Sendable { case install, upgrade, downgrade, reinstall, remove, purge }
    var kind: Kind
    var name: String
    var from: String?
    var to: String?

    /// `docker-engine: 1.11.2-0~trusty -> 1.10.3-0~trusty`.
    var description: String {
      switch kind {
      case .install: return "\(name): (none) -> \(to ?? "?")"
      case .remove, .purge: return "\(name): \(from ?? "?") -> (\(kind == .purge ? "purged" : "removed"))"
      default: return "\(name): \(from ?? "?") -> \(to ?? "?")"
      }
    }
  }

  /// What `apt-get -s ...` would do.
  struct Simulation: Sendable, Equatable {
    var changes: [Change]
    /// The `E:` lines of a failed simulation.
    var errors: [String]
    var status: Int
    var text: String

    var succeeded: Bool { status == 0 && errors.isEmpty }
    func change(_ name: String) -> Change? {
      changes.first { $0.name == name || $0.name.hasPrefix(name + ":") }
    }
  }

  /// Parses `Inst`, `Remv` and `Purg` lines:
  /// `Inst docker-engine [1.11.2-0~trusty] (1.10.3-0~trusty localhost [amd64])`.
  static func parseSimulation(_ text: String, status: Int) -> Simulation {
    var changes: [Change] = []
    var errors: [String] = []
    for raw in text.split(separator: "\n") {
      let line = raw.trimmingCharacters(in: .whitespaces)
      if line.hasPrefix("E: ") {
        errors.append(String(line.dropFirst(3)))
        continue
      }
      let words = line.split(separator: " ", maxSplits: 2).map(String.init)
      guard words.count >= 2 else { continue }
      let name = words[1]
      let rest = words.count > 2 ? words[2] : ""
      var from: String?
      if rest.hasPrefix("["), let close = rest.firstIndex(of: "]") {
        from = String(rest[rest.index(after: rest.startIndex)..<close])
      }
      switch words[0] {
      case "Inst":
        var to: String?
        if let open = rest.firstIndex(of: "(") {
          to = rest[rest.index(after: open)...].split(separator: " ").first.map { String($0).replacingOccurrences(of: ")", with: "") }
        }
        let kind: Change.Kind
        if let from, let to {
          let c = DebianVersion.compare(to, from)
          kind = c > 0 ? .upgrade : c < 0 ? .downgrade : .reinstall
        } else {
          kind = .install
        }
        changes.append(Change(kind: kind, name: name, from: from, to: to))
      case "Remv", "Purg":
        changes.append(Change(kind: words[0] == "Purg" ? .purge : .remove, name: name, from: from, to: nil))
      default:
        continue
      }
    }
    return Simulation(changes: changes, errors: errors, status: status, text: text)
  }

  /// `apt 2.6.1 (amd64)`, `apt 1.0.1ubuntu2 for amd64 compiled on ...`: the version.
  static func parseAptVersion(_ line: String) -> String? {
    let words = line.split(separator: " ")
    guard words.count >= 2, words[0] == "apt" else { return nil }
    return String(words[1])
  }
}
