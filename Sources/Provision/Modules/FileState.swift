import Foundation
import Inventory

/// What one path on a host is, read in one round trip: type, mode, owners, link target,
/// SHA-256 and, when asked, the content.
public struct FileState: Sendable, Equatable {
  public var type: RemoteFileInfo.FileType
  public var mode: UInt16
  public var uid: Int
  public var gid: Int
  public var size: UInt64
  public var owner: String
  public var group: String
  /// Where a symlink points; nil for other types.
  public var linkTarget: String?
  /// SHA-256 of a regular file's content.
  public var sha256: String?
  /// The content of a regular file, when it was asked for.
  public var content: Data?

  /// Reads `path` on the host; nil when nothing is there.
  public static func read(
    _ path: String, on host: HostProbe, content: Bool = false, follow: Bool = false
  ) async throws -> FileState? {
    let result = try await host.transport.run(command(path, content: content, follow: follow, become: host.become))
    guard result.succeeded else {
      throw ModuleError(
        "cannot read the state of '\(path)': " + result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))
    }
    guard let state = parse(result.stdout) else {
      throw ModuleError("unexpected output reading '\(path)': " + String(result.stdoutText.prefix(200)))
    }
    return state
  }

  /// The command behind `read`, marked as a state read so that a batch of checks can read
  /// many paths with one `stat` and one `cat` (`script(reads:)`).
  static func command(_ path: String, content: Bool, follow: Bool, become: Become?) -> RemoteCommand {
    var command = RemoteCommand(script(path, content: content, follow: follow), become: become)
    command.reads = .fileState(path: path, follow: follow, content: content)
    return command
  }

  /// The scripts' programs run in the C locale: what they print does not depend on it, and
  /// `stat`, `readlink` and `cat` start about half a millisecond faster each without loading
  /// the UTF-8 locale the command's environment names.
  static let cLocale = "LC_ALL=C; export LC_ALL"

  /// The shell script behind `read`: `absent`, or a stat line, the link target line (empty
  /// when following links), then the checksum line, or for `content` the line `content` and
  /// the content (whose checksum the controller computes, which saves two processes on the
  /// host).
  public static func script(_ path: String, content: Bool, follow: Bool = false) -> String {
    let l = follow ? "-L " : ""
    let regular = follow ? "[ -f \"$p\" ]" : "[ -f \"$p\" ] && [ ! -L \"$p\" ]"
    let body = content ? "echo content; cat -- \"$p\"" : "sha256sum < \"$p\" | cut -c1-64"
    return """
      \(cLocale)
      p=\(ShellQuoting.quote(path))
      if [ ! -e "$p" ] && [ ! -L "$p" ]; then echo absent; exit 0; fi
      stat \(l)-c '%f %a %u %g %s %U %G' -- "$p" || exit 1
      \(follow ? "echo" : "if [ -L \"$p\" ]; then readlink -- \"$p\"; else echo; fi")
      if \(regular); then \(body); else echo; fi
      """
  }

  /// One state read of a batch: a path, whether symbolic links are followed, and whether the
  /// content is wanted.
  typealias PathRead = (path: String, follow: Bool, content: Bool)

  /// The largest regular file whose checksum a combined read computes on the controller from
  /// its content (one `cat` for all of them) rather than with `sha256sum` on the host, and
  /// the most content a combined read brings back that way.
  static let catLimit = 65536
  static let catTotalLimit = 524288

  /// One script that reads the state of all `reads` with one `stat`, one `cat` and, for files
  /// over `catLimit`, one `sha256sum`: what `script(_:content:follow:)` costs per path in
  /// processes, for all of them. A path that is a link adds a `readlink`, or for a read that
  /// follows it a `stat -L`. `split(_:reads:)` turns the output back into one `script` output
  /// per read.
  ///
  /// The output: a line of `1`/`0` (which paths exist), their stat lines, a line per link
  /// (`L<n> target`, or `F<n> stat line` of a followed link's target), `=`, a line with a
  /// letter per regular file (`C`: its content is in the `cat` output, `S`: its checksum is
  /// in `sha256sum`'s), the `cat` output, a line `=` after a newline, and `sha256sum`'s lines.
  static func script(reads: [PathRead]) -> String {
    let format = "'%f %a %u %g %s %U %G'"
    // The paths are the positional parameters; `g` holds a letter for each: N (no follow),
    // F (follow), C (content, no follow) or D (content, follow), and each loop takes its
    // letter off the front. Lists of paths are built as strings of references to positional
    // parameters ("${3}"), expanded once with eval: growing "$@" one path at a time copies it
    // each time.
    let words = reads.map { ShellQuoting.quote($0.path) }.joined(separator: " ")
    let letters = reads.map { $0.content ? ($0.follow ? "D" : "C") : ($0.follow ? "F" : "N") }.joined()
    // `${g%"${g#?}"}`, the usual way to take a first character, compares the whole rest of
    // the string: with thousands of paths the loops took seconds.
    let next = "case $g in N*) k=N;; F*) k=F;; C*) k=C;; *) k=D;; esac; g=${g#?}"
    return #"""
      \#(cLocale)
      set -- \#(words)
      g=\#(letters); kinds=; ex=; i=0
      for p; do i=$((i+1)); \#(next); if [ -e "$p" ] || [ -L "$p" ]; then ex="$ex \"\${$i}\""; kinds=$kinds$k; printf 1; else printf 0; fi; done
      echo
      [ -z "$ex" ] && exit 0
      eval "set -- $ex"
      s=$(stat -c \#(format) -- "$@") || exit 1
      printf '%s\n' "$s"
      i=0; g=$kinds; for p; do i=$((i+1)); \#(next); if [ -L "$p" ]; then case $k in [FD]) printf 'F%d ' "$i"; stat -L -c \#(format) -- "$p" || exit 1;; *) printf 'L%d ' "$i"; readlink -- "$p" || exit 1;; esac; fi; done
      echo =
      c=0; i=0; g=$kinds; cs=; ss=; set -f; IFS='
      '
      for l in $s; do i=$((i+1)); \#(next); eval "p=\${$i}"; if [ -f "$p" ] && { [ ! -L "$p" ] || [ "$k" = F ] || [ "$k" = D ]; }; then z=${l#* * * * }; z=${z%% *}; case $k in [CD]) t=C;; *) if [ ! -L "$p" ] && [ "$z" -le \#(catLimit) ] && [ $((c + z)) -le \#(catTotalLimit) ]; then t=C; c=$((c + z)); else t=S; fi;; esac; printf %s "$t"; if [ "$t" = C ]; then cs="$cs \"\${$i}\""; else ss="$ss \"\${$i}\""; fi; fi; done
      set +f; unset IFS
      echo
      [ -z "$cs" ] || eval "cat -- $cs" || exit 1
      printf '\n=\n'
      [ -z "$ss" ] || eval "sha256sum -- $ss"
      """#
  }

  /// The output of `script(reads:)` as the output `script(path, content:, follow:)` gives for
  /// each read, or nil when the files changed while it ran (or it is not that script's).
  static func split(_ output: Data, reads: [PathRead]) -> [Data]? {
    let bytes = [UInt8](output)
    var position = 0
    func line() -> Substring? {
      guard position < bytes.count else { return nil }
      let end = bytes[position...].firstIndex(of: 0x0A) ?? bytes.count
      defer { position = end + 1 }
      return Substring(String(decoding: bytes[position..<end], as: UTF8.self))
    }
    guard let map = line(), map.count == reads.count else { return nil }
    let present = map.map { $0 == "1" }
    let count = present.filter { $0 }.count
    if count == 0 {
      guard map.allSatisfy({ $0 == "0" }), position >= bytes.count else { return nil }
      return present.map { _ in Data("absent\n".utf8) }
    }
    var stats: [Substring] = []
    for _ in 0..<count {
      guard let l = line() else { return nil }
      stats.append(l)
    }
    let existing = zip(reads, present).filter(\.1).map(\.0)
    // After the stat lines, a line per link: `L<n> target` where links are not followed,
    // `F<n> stat line` of the link's target where they are.
    var links: [Int: Substring] = [:]
    while true {
      guard let l = line() else { return nil }
      if l == "=" { break }
      guard let kind = l.first, kind == "L" || kind == "F", let space = l.firstIndex(of: " "),
        let n = Int(l[l.index(after: l.startIndex)..<space]), (1...count).contains(n),
        existing[n - 1].follow == (kind == "F")
      else { return nil }
      if kind == "F" { stats[n - 1] = l[l.index(after: space)...] } else { links[n - 1] = l[l.index(after: space)...] }
    }
    // The regular files as the script saw them (a followed link by its target's stat line),
    // each with its letter: C, content in the `cat` output; S, a `sha256sum` line.
    var types: [RemoteFileInfo.FileType] = []
    var sizes: [Int] = []
    for l in stats {
      let fields = l.split(separator: " ")
      guard fields.count >= 7, let raw = UInt32(fields[0], radix: 16), let size = Int(fields[4]) else { return nil }
      types.append(RemoteFileInfo.FileType(statMode: raw))
      sizes.append(size)
    }
    let regular = types.indices.filter { types[$0] == .regular }
    guard let letters = line(), letters.count == regular.count, letters.allSatisfy({ $0 == "C" || $0 == "S" }) else { return nil }
    var contents: [Int: ArraySlice<UInt8>] = [:]
    var sums: [Int: String] = [:]
    for (n, letter) in zip(regular, letters) where letter == "C" {
      guard bytes.count - position >= sizes[n] else { return nil }
      contents[n] = bytes[position..<position + sizes[n]]
      position += sizes[n]
    }
    // A file whose size changed after `stat` leaves the separator out of place.
    guard bytes.count - position >= 3, bytes[position..<position + 3].elementsEqual("\n=\n".utf8) else { return nil }
    position += 3
    // Its lines name each file, so a file that was replaced in between shows as a name out of
    // place.
    for (n, letter) in zip(regular, letters) where letter == "S" {
      guard let l = line(), l.count > 66 else { return nil }
      var rest = l
      let escaped = rest.first == "\\"
      if escaped { rest = rest.dropFirst() }
      let hash = rest.prefix(64)
      rest = rest.dropFirst(64)
      guard rest.hasPrefix("  ") || rest.hasPrefix(" *") else { return nil }
      let name = rest.dropFirst(2)
      guard (escaped ? unescape(name) : String(name)) == existing[n].path else { return nil }
      sums[n] = String(hash)
    }
    while let l = line() { guard l.isEmpty else { return nil } }
    var outputs: [Data] = []
    var n = 0
    for (read, isPresent) in zip(reads, present) {
      guard isPresent else {
        outputs.append(Data("absent\n".utf8))
        continue
      }
      let link = types[n] == .symlink ? links[n].map(String.init) ?? "" : ""
      var output = Data("\(stats[n])\n\(link)\n".utf8)
      if read.content, let content = contents[n] {
        output += Data("content\n".utf8) + Data(content)
      } else if let content = contents[n] {
        output += Data(((Digest.hex("sha256", Array(content)) ?? "") + "\n").utf8)
      } else if read.content, types[n] == .regular {
        return nil
      } else {
        output += Data(((sums[n] ?? "") + "\n").utf8)
      }
      outputs.append(output)
      n += 1
    }
    return outputs
  }

  /// A file name as `sha256sum` prints it after a leading backslash.
  private static func unescape(_ name: Substring) -> String {
    var out = ""
    var iterator = name.makeIterator()
    while let c = iterator.next() {
      guard c == "\\" else {
        out.append(c)
        continue
      }
      switch iterator.next() {
      case "n": out.append("\n")
      case "r": out.append("\r")
      case "\\": out.append("\\")
      case let other?: out.append("\\"); out.append(other)
      case nil: out.append("\\")
      }
    }
    return out
  }

  /// Parses the output of `script`: `.some(nil)` when absent, nil when the output is not ours.
  public static func parse(_ output: Data) -> FileState?? {
    let bytes = [UInt8](output)
    var lines: [String] = []
    var index = 0
    while lines.count < 3, index < bytes.count {
      let end = bytes[index...].firstIndex(of: 0x0A) ?? bytes.count
      lines.append(String(decoding: bytes[index..<end], as: UTF8.self))
      index = end + 1
    }
    guard let first = lines.first else { return nil }
    if first == "absent" { return .some(nil) }
    let f = first.split(separator: " ").map(String.init)
    guard f.count >= 7, lines.count == 3, let raw = UInt32(f[0], radix: 16), let mode = UInt16(f[1], radix: 8),
      let uid = Int(f[2]), let gid = Int(f[3]), let size = UInt64(f[4])
    else { return nil }
    let type = RemoteFileInfo.FileType(statMode: raw)
    let content = lines[2] == "content" ? Data(bytes[min(index, bytes.count)...]) : nil
    let sha256 = content.map { Digest.hex("sha256", [UInt8]($0)) } ?? (lines[2].count == 64 ? lines[2] : nil)
    return .some(
      FileState(
        type: type, mode: mode, uid: uid, gid: gid, size: size, owner: f[5], group: f[6],
        linkTarget: type == .symlink ? lines[1] : nil, sha256: sha256, content: content))
  }

  /// Whether `owner` (a name or a uid) names this file's owner.
  public func isOwned(by owner: String) -> Bool { owner == self.owner || owner == String(uid) }

  /// Whether `group` (a name or a gid) names this file's group.
  public func isInGroup(_ group: String) -> Bool { group == self.group || group == String(gid) }

  /// The `state` Ansible reports for this type.
  public var stateName: String {
    switch type {
    case .regular: return "file"
    case .directory: return "directory"
    case .symlink: return "link"
    case .other: return "file"
    }
  }

  /// The values Ansible's file modules report: `mode`, `owner`, `group`, `uid`, `gid`, `size`, `state`.
  public var resultFields: OrderedDict {
    [
      "mode": .string(String(format: "%04o", mode)), "owner": .string(owner), "group": .string(group),
      "uid": .int(uid), "gid": .int(gid), "size": .int(Int(size)), "state": .string(stateName),
    ]
  }
}

/// The steps that give a path the mode and ownership a task asks for.
enum Attributes {
  /// chmod/chown steps for `path`, given its current state (nil when it is about to be created
  /// with `defaultMode`).
  static func steps(
    path: String, current: FileState?, isDirectory: Bool, mode: FileMode?, owner: String?, group: String?,
    defaultMode: UInt16, recurse: Bool = false
  ) -> (steps: [Step], diffs: [FileDiff], mode: UInt16) {
    var steps: [Step] = []
    var diffs: [FileDiff] = []
    let currentMode = current?.mode ?? defaultMode
    let desired = mode?.bits(from: currentMode, isDirectory: isDirectory) ?? currentMode
    let r = recurse ? ["-R"] : []
    if desired != currentMode || (recurse && mode != nil) {
      if desired != currentMode || current == nil {
        steps.append(.argv(.update, "mode of \(path)", ["chmod"] + r + [String(desired, radix: 8), "--", path]))
        diffs.append(.attribute(path, before: "mode: \(String(format: "%04o", currentMode))\n", after: "mode: \(String(format: "%04o", desired))\n"))
      }
    }
    let ownerChanges = owner.map { o in current.map { !$0.isOwned(by: o) } ?? true } ?? false
    let groupChanges = group.map { g in current.map { !$0.isInGroup(g) } ?? true } ?? false
    if ownerChanges || groupChanges {
      let spec = (ownerChanges ? owner ?? "" : "") + (groupChanges ? ":" + (group ?? "") : "")
      steps.append(.argv(.update, "owner of \(path)", ["chown"] + r + [spec, "--", path]))
      if ownerChanges {
        diffs.append(.attribute(path, before: "owner: \(current?.owner ?? "")\n", after: "owner: \(owner ?? "")\n"))
      }
      if groupChanges {
        diffs.append(.attribute(path, before: "group: \(current?.group ?? "")\n", after: "group: \(group ?? "")\n"))
      }
    }
    return (steps, diffs, desired)
  }
}
