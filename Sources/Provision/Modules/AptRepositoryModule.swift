import Foundation
import Inventory

/// Adds or removes one `deb` / `deb-src` line in apt's sources: `apt_repository`.
///
/// Keys (as ansible-core 2.17): `repo` (the line, such as
/// `deb [arch=amd64] https://apt.dockerproject.org/repo ubuntu-trusty main`), `state` (present,
/// absent), `filename` (the file in `/etc/apt/sources.list.d/`, `.list` added; by default
/// derived from the URL as Ansible does: `apt_dockerproject_org_repo.list`), `mode` (of a new
/// file, 0644), `update_cache` (`update-cache`, default true: `apt-get update` after a change),
/// `update_cache_retries`, `update_cache_retry_max_delay`, `codename`, `validate_certs` and
/// `install_python_apt` (accepted, unused: nothing is fetched and no Python is needed).
///
/// The line is normalised as Ansible does (spaces collapsed, `[options]` kept), so the same
/// source written differently is the same repository and a second run changes nothing. An
/// existing line anywhere in the sources, even commented out, is enabled in place rather than
/// added again; `absent` removes every enabled copy, and deletes a file left with no lines.
/// `check` reads `/etc/apt/sources.list` and every `sources.list.d/*.list` in one command;
/// each changed file is written atomically. `ppa:` lines are not supported (hosts may have no
/// route to Launchpad): write the `deb` line and add the key with `apt_key`. Needs root.
///
/// ```yaml
/// - apt_repository:
///     repo: deb [arch=amd64] http://mirror.example/docker ubuntu-trusty main
///     filename: docker
/// ```
public struct AptRepositoryModule: Module {
  public static let name = "apt_repository"
  public static let arguments = ArgumentSpec([
    .init("repo", required: true), .init("state", choices: ["absent", "present"], default: "present"),
    .init("mode", .mode), .init("update_cache", .bool, aliases: ["update-cache"], default: true),
    .init("update_cache_retries", .int, default: 5), .init("update_cache_retry_max_delay", .int, default: 12),
    .init("validate_certs", .bool, default: true), .init("filename"), .init("codename"),
    .init("install_python_apt", .bool, default: true), .init("_diff", .bool),
  ])

  static let sourcesList = "/etc/apt/sources.list"
  static let sourcesDirectory = "/etc/apt/sources.list.d"

  /// One line of a sources file, as Ansible's `SourcesList._parse` reads it.
  struct Entry: Sendable, Equatable {
    var valid: Bool
    var enabled: Bool
    var source: String
    var comment: String

    /// `_parse`: a leading `#` disables; text after another `#` is a comment; a valid line
    /// starts with `deb` or `deb-src`, and its words are joined by single spaces.
    static func parse(_ raw: String) -> Entry {
      var line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
      var enabled = true
      var comment = ""
      if line.hasPrefix("#") {
        enabled = false
        line.removeFirst()
      }
      if let i = line.firstIndex(of: "#"), i > line.startIndex {
        comment = line[line.index(after: i)...].trimmingCharacters(in: .whitespacesAndNewlines)
        line = String(line[..<i])
      }
      var source = line.trimmingCharacters(in: .whitespacesAndNewlines)
      var valid = false
      let chunks = source.split(whereSeparator: { $0 == " " || $0 == "\t" })
      if let first = chunks.first, first == "deb" || first == "deb-src" {
        valid = true
        source = chunks.joined(separator: " ")
      }
      return Entry(valid: valid, enabled: enabled, source: source, comment: comment)
    }

    /// The line as Ansible's `dump` writes it.
    var text: String {
      (enabled ? "" : "# ") + source + (comment.isEmpty ? "" : " # " + comment) + "\n"
    }
  }

  /// One sources file: its path, where it is written (a link's target), and its lines.
  struct SourceFile: Sendable, Equatable {
    var path: String
    var target: String
    var entries: [Entry]
    var original: String

    var dump: String { entries.map(\.text).joined() }
  }

  public struct Current: Sendable, Equatable {
    var files: [SourceFile]
  }

  let repo: String
  let present: Bool
  let mode: FileMode?
  let updateCache: Bool
  let updateRetries: Int
  let retryMaxDelay: Int
  let filename: String?

  public init(_ arguments: ModuleArguments) throws {
    guard let repo = arguments.string("repo"), !repo.trimmingCharacters(in: .whitespaces).isEmpty else {
      throw ModuleError("Please set argument 'repo' to a non-empty value")
    }
    if repo.hasPrefix("ppa:") {
      throw ModuleError(
        "ppa: repositories are not supported (hosts may have no route to Launchpad)",
        hint: "write the deb line (deb http://ppa.launchpad.net/OWNER/NAME/ubuntu CODENAME main) and add its key with apt_key")
    }
    let entry = Entry.parse(repo)
    guard entry.valid && entry.enabled else { throw ModuleError("Invalid repository string: \(repo)") }
    self.repo = repo
    present = arguments.string("state") != "absent"
    mode = try arguments.mode("mode")
    updateCache = arguments.bool("update_cache", default: true)
    updateRetries = max(1, arguments.int("update_cache_retries") ?? 5)
    retryMaxDelay = max(0, arguments.int("update_cache_retry_max_delay") ?? 12)
    filename = arguments.string("filename")
  }

  /// The normalised source line.
  var source: String { Entry.parse(repo).source }

  /// The file a new line goes to, as Ansible's `_suggest_filename` and `_expand_path`.
  var targetFile: String {
    let name: String
    if let filename {
      name = filename + ".list"
    } else {
      var line = source.replacingOccurrences(of: #"\[[^\]]+\]"#, with: "", options: .regularExpression)
      line = line.replacingOccurrences(of: #"\w+://"#, with: "", options: .regularExpression)
      var parts = line.split(whereSeparator: { $0 == " " || $0 == "\t" }).map(String.init).filter {
        $0 != "deb" && $0 != "deb-src"
      }
      if let first = parts.first, let at = first.firstIndex(of: "@") {
        parts[0] = String(first[first.index(after: at)...])
      }
      let cleaned = (parts.first ?? "").map { $0.isASCII && ($0.isLetter || $0.isNumber) ? $0 : " " }
      name = String(cleaned).split(separator: " ").joined(separator: "_") + ".list"
    }
    return name.contains("/") ? name : Self.sourcesDirectory + "/" + name
  }

  /// Prints `PATH<TAB>TARGET<TAB>BASE64` for every sources file.
  static let script = """
    for f in \(sourcesList) \(sourcesDirectory)/*.list; do
      [ -f "$f" ] || continue
      t=$(readlink -f -- "$f" 2>/dev/null || echo "$f")
      printf '%s\\t%s\\t%s\\n' "$f" "$t" "$(base64 < "$f" | tr -d '\\n')"
    done
    """

  public func check(on host: HostProbe) async throws -> Current {
    let result = try await host.run(Self.script)
    guard result.succeeded else {
      throw ModuleError("cannot read apt's sources: " + result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))
    }
    return Self.parse(result.stdoutText)
  }

  static func parse(_ output: String) -> Current {
    var files: [SourceFile] = []
    for line in output.split(separator: "\n") {
      let f = line.split(separator: "\t", omittingEmptySubsequences: false)
      guard f.count == 3 else { continue }
      let data = Data(base64Encoded: String(f[2])) ?? Data()
      files.append(file(path: String(f[0]), target: String(f[1]), content: String(decoding: data, as: UTF8.self)))
    }
    return Current(files: files)
  }

  static func file(path: String, target: String? = nil, content: String) -> SourceFile {
    var lines = content.components(separatedBy: "\n")
    if content.hasSuffix("\n") || content.isEmpty { lines.removeLast() }
    return SourceFile(path: path, target: target ?? path, entries: lines.map(Entry.parse), original: content)
  }

  public func plan(from current: Current) throws -> Plan {
    var files = current.files
    let source = self.source
    var result: OrderedDict = ["repo": .string(repo), "state": .string(present ? "present" : "absent")]
    if present {
      var found = false
      for i in files.indices {
        for j in files[i].entries.indices where files[i].entries[j].valid && files[i].entries[j].source == source {
          files[i].entries[j].enabled = true
          found = true
        }
      }
      if !found {
        let path = targetFile
        let entry = Entry(valid: true, enabled: true, source: source, comment: "")
        if let i = files.firstIndex(where: { $0.path == path }) {
          files[i].entries.append(entry)
        } else {
          files.append(SourceFile(path: path, target: path, entries: [entry], original: ""))
        }
      }
    } else {
      for i in files.indices {
        files[i].entries.removeAll { $0.valid && $0.enabled && $0.source == source }
      }
    }
    var steps: [Step] = []
    var diffs: [FileDiff] = []
    var added: [String] = []
    var removed: [String] = []
    let before = Dictionary(current.files.map { ($0.path, $0) }, uniquingKeysWith: { a, _ in a })
    for file in files {
      let old = before[file.path]
      if let old, old.entries == file.entries { continue }
      if file.entries.isEmpty {
        guard old != nil else { continue }
        removed.append(file.path)
        steps.append(.argv(.remove, "apt source file \(file.path)", ["rm", "-f", "--", file.path]))
        diffs.append(FileDiff(beforeHeader: file.path, afterHeader: "/dev/null", before: old?.dump ?? "", after: ""))
        continue
      }
      if old == nil { added.append(file.path) }
      let isNew = old == nil
      let newMode: UInt16? = isNew ? (mode.map { Self.bits($0) } ?? 0o644) : nil
      steps.append(
        Step(
          isNew ? .create : .update, "apt source \(source) in \(file.path)",
          .upload(Data(file.dump.utf8), path: file.target, mode: newMode, owner: nil, group: nil)))
      diffs.append(
        FileDiff(
          beforeHeader: isNew ? "/dev/null" : file.path, afterHeader: file.path, before: old?.dump ?? "", after: file.dump))
    }
    result["sources_added"] = .list(added.map(Value.string))
    result["sources_removed"] = .list(removed.map(Value.string))
    if !steps.isEmpty && updateCache {
      let update =
        "export LANG=C LC_ALL=C; n=0; while :; do out=$(apt-get update 2>&1); rc=$?; "
        + "if [ $rc = 0 ] && ! printf '%s\\n' \"$out\" | grep -q '^\\(W: Failed to fetch\\|E: \\|W: Some index files failed\\)'; then break; fi; "
        + "n=$((n+1)); if [ $n -ge \(updateRetries) ]; then printf 'Failed to update apt cache: %s\\n' \"$out\" >&2; exit 1; fi; "
        + "d=$((1 << n)); if [ $d -gt \(retryMaxDelay) ]; then d=\(retryMaxDelay); fi; sleep $d; done"
      steps.append(Step(.run, "apt-get update", .shell(update)))
    }
    var plan = Plan(steps: steps, diffs: diffs, result: result)
    if present && !steps.isEmpty { plan.pending["apt_sources"] = [source] }
    return plan
  }

  /// The bits of `mode`; a symbolic one applies to 0644.
  static func bits(_ mode: FileMode) -> UInt16 { mode.bits(from: 0o644, isDirectory: false) }
}
