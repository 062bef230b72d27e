import Inventory

/// Ansible's `version` test: `ansible_distribution_version is version('22.04', '>=')`.
///
/// Which comparison applies:
/// - `version_type='strict'` (or `strict=true`): `1.2`, `1.2.3`, `1.2a1`, `1.2b3` only.
/// - `'semver'` / `'semantic'`: SemVer 2.0, pre-releases before releases, build ignored.
/// - `'pep440'`: release numbers, then `a`/`b`/`rc` pre-releases, `.post`, `.dev`.
/// - `'loose'` or nothing: Python's LooseVersion (numbers and letter runs compared in order),
///   exactly as Ansible does, so a `when:` means the same here: `'1.10.3-0~trusty' is
///   version('1.10.3', '>=')` is true, as in Ansible.
/// - `'debian'` (also `'deb'`, `'dpkg'`; not in Ansible): dpkg's rules (epoch, upstream,
///   revision; `~` sorts before everything, even the end), so `1.10.3-0~trusty` is below
///   `1.10.3`, as apt sees package versions.
enum VersionComparison {
  private static let operators: [String: String] = [
    "==": "eq", "=": "eq", "eq": "eq", "<": "lt", "lt": "lt", "<=": "le", "le": "le",
    ">": "gt", "gt": "gt", ">=": "ge", "ge": "ge", "!=": "ne", "<>": "ne", "ne": "ne",
  ]

  static func test(
    _ value: String, _ other: String, op: String, type: String?, renderer: TemplateRenderer,
    at offset: Int
  ) throws -> Bool {
    guard let normalized = operators[op] else {
      throw renderer.error(.failed("Invalid operator type (\(op))"), at: offset)
    }
    guard !value.isEmpty else {
      throw renderer.error(.failed("Input version value cannot be empty"), at: offset)
    }
    guard !other.isEmpty else {
      throw renderer.error(
        .failed("Version parameter to compare against cannot be empty"), at: offset)
    }
    let order: Int
    switch type {
    case nil, "loose"?: order = try loose(value, other, renderer: renderer, at: offset)
    case "strict"?: order = try strict(value, other, renderer: renderer, at: offset)
    case "semver"?, "semantic"?: order = try semver(value, other, renderer: renderer, at: offset)
    case "pep440"?: order = try pep440(value, other, renderer: renderer, at: offset)
    case "debian"?, "deb"?, "dpkg"?: order = debian(value, other)
    case let t?:
      throw renderer.error(
        .failed(
          "Invalid version type (\(t))."
            + " Must be one of debian, loose, pep440, semantic, semver, strict"),
        at: offset)
    }
    switch normalized {
    case "eq": return order == 0
    case "ne": return order != 0
    case "lt": return order < 0
    case "le": return order <= 0
    case "gt": return order > 0
    default: return order >= 0
    }
  }

  private static func cmp<T: Comparable>(_ a: T, _ b: T) -> Int { a < b ? -1 : a > b ? 1 : 0 }

  // MARK: Loose

  private enum Part: Equatable {
    case number(Int)
    case text(String)
  }

  /// LooseVersion's components: runs of digits, runs of letters, and any other character.
  private static func looseParts(_ s: String) -> [Part] {
    var parts: [Part] = []
    let chars = Array(s)
    var i = 0
    while i < chars.count {
      let c = chars[i]
      if c.isASCII && c.isNumber {
        var j = i
        while j < chars.count && chars[j].isASCII && chars[j].isNumber { j += 1 }
        parts.append(.number(Int(String(chars[i..<j])) ?? Int.max))
        i = j
      } else if c.isASCII && c.isLetter && c.isLowercase {
        var j = i
        while j < chars.count && chars[j].isASCII && chars[j].isLetter && chars[j].isLowercase {
          j += 1
        }
        parts.append(.text(String(chars[i..<j])))
        i = j
      } else if c == "." {
        i += 1
      } else {
        // Anything else is kept together up to the next digit, letter run or dot.
        var j = i
        while j < chars.count && chars[j] != "."
          && !(chars[j].isASCII
            && (chars[j].isNumber || (chars[j].isLetter && chars[j].isLowercase)))
        {
          j += 1
        }
        parts.append(.text(String(chars[i..<j])))
        i = j
      }
    }
    return parts
  }

  private static func loose(_ a: String, _ b: String, renderer: TemplateRenderer, at offset: Int)
    throws -> Int
  {
    let x = looseParts(a)
    let y = looseParts(b)
    for (p, q) in zip(x, y) where p != q {
      switch (p, q) {
      case (.number(let m), .number(let n)): return cmp(m, n)
      case (.text(let m), .text(let n)): return Value.pythonStringOrder(m, n) ? -1 : 1
      case (.number, .text):
        throw renderer.error(
          .failed(
            "Version comparison failed: '<' not supported between instances of 'int' and 'str'"),
          at: offset)
      case (.text, .number):
        throw renderer.error(
          .failed(
            "Version comparison failed: '<' not supported between instances of 'str' and 'int'"),
          at: offset)
      }
    }
    return cmp(x.count, y.count)
  }

  // MARK: Strict

  private static func strictParts(_ s: String) -> ([Int], (String, Int)?)? {
    var rest = Substring(s)
    var pre: (String, Int)?
    if let i = rest.firstIndex(where: { $0 == "a" || $0 == "b" }) {
      guard let n = Int(rest[rest.index(after: i)...]) else { return nil }
      pre = (String(rest[i]), n)
      rest = rest[..<i]
    }
    let nums = rest.split(separator: ".", omittingEmptySubsequences: false)
    guard nums.count == 2 || nums.count == 3 else { return nil }
    var out: [Int] = []
    for n in nums {
      guard !n.isEmpty, n.allSatisfy({ $0.isASCII && $0.isNumber }), let v = Int(n) else {
        return nil
      }
      out.append(v)
    }
    while out.count < 3 { out.append(0) }
    return (out, pre)
  }

  private static func strict(_ a: String, _ b: String, renderer: TemplateRenderer, at offset: Int)
    throws -> Int
  {
    guard let x = strictParts(a) else {
      throw renderer.error(
        .failed("Version comparison failed: invalid version number '\(a)'"),
        at: offset)
    }
    guard let y = strictParts(b) else {
      throw renderer.error(
        .failed("Version comparison failed: invalid version number '\(b)'"),
        at: offset)
    }
    for (m, n) in zip(x.0, y.0) where m != n { return cmp(m, n) }
    switch (x.1, y.1) {
    case (nil, nil): return 0
    case (nil, _): return 1
    case (_, nil): return -1
    case (let p?, let q?):
      if p.0 != q.0 { return cmp(p.0, q.0) }
      return cmp(p.1, q.1)
    }
  }

  // MARK: SemVer

  private static func semverParts(_ s: String) -> ([Int], [String])? {
    var core = Substring(s)
    if let plus = core.firstIndex(of: "+") { core = core[..<plus] }
    var pre: [String] = []
    if let dash = core.firstIndex(of: "-") {
      pre = core[core.index(after: dash)...].split(separator: ".").map(String.init)
      core = core[..<dash]
    }
    let nums = core.split(separator: ".", omittingEmptySubsequences: false)
    guard nums.count == 3 else { return nil }
    var out: [Int] = []
    for n in nums {
      guard !n.isEmpty, n.allSatisfy({ $0.isASCII && $0.isNumber }), let v = Int(n) else {
        return nil
      }
      out.append(v)
    }
    return (out, pre)
  }

  private static func semver(_ a: String, _ b: String, renderer: TemplateRenderer, at offset: Int)
    throws -> Int
  {
    guard let x = semverParts(a) else {
      throw renderer.error(
        .failed("Version comparison failed: invalid semantic version '\(a)'"),
        at: offset)
    }
    guard let y = semverParts(b) else {
      throw renderer.error(
        .failed("Version comparison failed: invalid semantic version '\(b)'"),
        at: offset)
    }
    for (m, n) in zip(x.0, y.0) where m != n { return cmp(m, n) }
    if x.1.isEmpty || y.1.isEmpty { return cmp(y.1.count == 0 ? 0 : 1, x.1.count == 0 ? 0 : 1) }
    for (p, q) in zip(x.1, y.1) where p != q {
      switch (Int(p), Int(q)) {
      case (let m?, let n?): return cmp(m, n)
      case (_?, nil): return -1
      case (nil, _?): return 1
      default: return Value.pythonStringOrder(p, q) ? -1 : 1
      }
    }
    return cmp(x.1.count, y.1.count)
  }

  // MARK: PEP 440

  private static func pep440Key(_ s: String) -> [Double]? {
    var text = s.lowercased().trimmingSpaces()
    if text.hasPrefix("v") { text.removeFirst() }
    var release: [Double] = []
    var i = text.startIndex
    var number = ""
    while i < text.endIndex, text[i].isNumber || text[i] == "." {
      if text[i] == "." {
        let next = text.index(after: i)
        guard next < text.endIndex, text[next].isNumber else { break }
        guard let n = Double(number) else { return nil }
        release.append(n)
        number = ""
      } else {
        number.append(text[i])
      }
      i = text.index(after: i)
    }
    guard let last = Double(number) else { return nil }
    release.append(last)
    while release.count > 1 && release.last == 0 { release.removeLast() }
    var rest = String(text[i...]).replacingCharacters("-_", with: ".")
    // Pre-release a < b < rc < final; post after final; dev before everything.
    var pre: [Double] = [3, 0]
    var post: Double = -1
    var dev: Double = .infinity
    func take(_ prefixes: [String]) -> Double? {
      if rest.hasPrefix(".") { rest.removeFirst() }
      for p in prefixes where rest.hasPrefix(p) {
        rest.removeFirst(p.count)
        if rest.hasPrefix(".") { rest.removeFirst() }
        var digits = ""
        while let c = rest.first, c.isNumber {
          digits.append(c)
          rest.removeFirst()
        }
        return Double(digits) ?? 0
      }
      return nil
    }
    if let n = take(["alpha", "a"]) {
      pre = [0, n]
    } else if let n = take(["beta", "b"]) {
      pre = [1, n]
    } else if let n = take(["rc", "c", "preview", "pre"]) {
      pre = [2, n]
    }
    if let n = take(["post", "rev", "r"]) { post = n }
    if let n = take(["dev"]) { dev = n }
    guard rest.isEmpty || rest.hasPrefix("+") else { return nil }
    if dev != .infinity && pre == [3, 0] && post < 0 { pre = [-1, 0] }
    var key = release
    while key.count < 8 { key.append(0) }
    return key + pre + [post, dev]
  }

  private static func pep440(_ a: String, _ b: String, renderer: TemplateRenderer, at offset: Int)
    throws -> Int
  {
    guard let x = pep440Key(a), let y = pep440Key(b) else {
      throw renderer.error(
        .failed("Version comparison failed: Invalid version: '\(pep440Key(a) == nil ? a : b)'"),
        at: offset)
    }
    for (m, n) in zip(x, y) where m != n { return cmp(m, n) }
    return 0
  }

  // MARK: Debian

  /// dpkg's ordering of one character in the non-digit part: `~` first, then the end of the
  /// string, then letters, then everything else.
  private static func debianOrder(_ c: Character?) -> Int {
    guard let c else { return 0 }
    if c == "~" { return -1 }
    if c.isASCII && c.isLetter { return Int(c.asciiValue ?? 0) }
    return Int(c.unicodeScalars.first?.value ?? 0) + 256
  }

  private static func debianPart(_ a: String, _ b: String) -> Int {
    var x = Array(a)[...]
    var y = Array(b)[...]
    while !x.isEmpty || !y.isEmpty {
      // Non-digit prefix.
      while (x.first.map { !$0.isNumber } ?? false) || (y.first.map { !$0.isNumber } ?? false) {
        let p = x.first.flatMap { $0.isNumber ? nil : $0 }
        let q = y.first.flatMap { $0.isNumber ? nil : $0 }
        let o = cmp(debianOrder(p), debianOrder(q))
        if o != 0 { return o }
        if p != nil { x = x.dropFirst() }
        if q != nil { y = y.dropFirst() }
      }
      var m = ""
      while let c = x.first, c.isNumber {
        m.append(c)
        x = x.dropFirst()
      }
      var n = ""
      while let c = y.first, c.isNumber {
        n.append(c)
        y = y.dropFirst()
      }
      let mm = m.drop { $0 == "0" }
      let nn = n.drop { $0 == "0" }
      if mm.count != nn.count { return cmp(mm.count, nn.count) }
      if mm != nn { return mm < nn ? -1 : 1 }
    }
    return 0
  }

  /// dpkg's `--compare-versions`: `[epoch:]upstream[-revision]`.
  static func debian(_ a: String, _ b: String) -> Int {
    func split(_ s: String) -> (Int, String, String) {
      var rest = Substring(s.trimmingSpaces())
      var epoch = 0
      if let colon = rest.firstIndex(of: ":"), let e = Int(rest[..<colon]) {
        epoch = e
        rest = rest[rest.index(after: colon)...]
      }
      var revision = ""
      if let dash = rest.lastIndex(of: "-") {
        revision = String(rest[rest.index(after: dash)...])
        rest = rest[..<dash]
      }
      return (epoch, String(rest), revision)
    }
    let x = split(a)
    let y = split(b)
    if x.0 != y.0 { return cmp(x.0, y.0) }
    let u = debianPart(x.1, y.1)
    if u != 0 { return u }
    return debianPart(x.2, y.2)
  }
}

extension String {
  fileprivate func replacingCharacters(_ set: String, with replacement: String) -> String {
    String(map { set.contains($0) ? Character(replacement) : $0 })
  }
}
