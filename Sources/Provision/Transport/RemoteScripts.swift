import Foundation

/// Shell scripts for file operations that both transports run, and parsers for their output.
enum RemoteScripts {
  /// Prints `absent`, or one line `rawmode-hex perms owner group size` then the SHA-256 of a
  /// regular file: one round trip for everything `stat` needs.
  static func stat(_ path: String) -> String {
    let p = ShellQuoting.quote(path)
    return """
      p=\(p)
      if [ ! -e "$p" ] && [ ! -L "$p" ]; then echo absent; exit 0; fi
      stat -c '%f %a %U %G %s' -- "$p" || exit 1
      if [ -f "$p" ] && [ ! -L "$p" ]; then sha256sum < "$p" || exit 1; fi
      """
  }

  /// Parses the output of `stat(_:)`.
  static func parseStat(_ output: String) -> RemoteFileInfo?? {
    let lines = output.split(whereSeparator: \.isNewline).map(String.init)
    guard let first = lines.first else { return .none }
    if first == "absent" { return .some(nil) }
    let fields = first.split(separator: " ").map(String.init)
    guard fields.count == 5, let raw = UInt32(fields[0], radix: 16),
      let mode = UInt16(fields[1], radix: 8), let size = UInt64(fields[4])
    else { return .none }
    let type = RemoteFileInfo.FileType(statMode: raw)
    var digest: String?
    if type == .regular {
      guard lines.count >= 2, let hex = lines[1].split(separator: " ").first, hex.count == 64
      else { return .none }
      digest = String(hex)
    }
    return .some(
      RemoteFileInfo(
        type: type, mode: mode, owner: fields[2], group: fields[3], size: size, sha256: digest))
  }

  /// Moves the uploaded `temporary` file over `path`, after setting mode and ownership.
  ///
  /// `rename(2)` in the same directory is atomic; the temporary file goes away on failure.
  /// With `keepMode`, the temporary file already has its mode.
  static func install(
    temporary: String, to path: String, mode: UInt16?, keepMode: Bool = false, owner: String?, group: String?
  ) -> String {
    let t = ShellQuoting.quote(temporary)
    let p = ShellQuoting.quote(path)
    var steps: [String] = []
    if let mode {
      steps.append("chmod \(String(mode, radix: 8)) \(t)")
    } else if !keepMode {
      steps.append("if [ -e \(p) ]; then chmod --reference=\(p) \(t); else chmod 644 \(t); fi")
    }
    if owner != nil || group != nil {
      let spec = (owner ?? "") + (group.map { ":" + $0 } ?? "")
      steps.append("chown \(ShellQuoting.quote(spec)) \(t)")
    }
    steps.append("mv -f \(t) \(p)")
    return steps.joined(separator: " && ") + " || { rc=$?; rm -f \(t); exit $rc; }"
  }

  /// Copies the uploaded `staged` file next to `path` and moves it into place, for become.
  ///
  /// The staged file is in a directory the login user can write; the copy is made by the
  /// become user in the target directory so that the final `mv` stays atomic.
  static func installStaged(
    staged: String, to path: String, mode: UInt16?, owner: String?, group: String?
  ) -> String {
    let s = ShellQuoting.quote(staged)
    let directory = ShellQuoting.quote((path as NSString).deletingLastPathComponent)
    let base = ShellQuoting.quote("." + (path as NSString).lastPathComponent + ".provision-XXXXXX")
    let install = install(temporary: "$t", to: path, mode: mode, owner: owner, group: group)
      .replacingOccurrences(of: "'$t'", with: "\"$t\"")
    return "t=$(mktemp -p \(directory) \(base)) && cat \(s) > \"$t\" && rm -f \(s) && "
      + "{ \(install); } || { rc=$?; rm -f \(s); exit $rc; }"
  }

  /// Writes stdin to a new temporary file beside `path` and moves it into place: one command
  /// for the whole upload, so small files cost one round trip, with or without become.
  ///
  /// The temporary file has a random name made here and is created exclusively (`set -C`), by
  /// the redirection that writes it: what `mktemp` would do, without its two processes. A
  /// `mode` without execute or special bits comes from the umask it is created with, which
  /// saves `chmod`.
  static func installFromStdin(to path: String, mode: UInt16?, owner: String?, group: String?) -> String {
    let directory = ShellQuoting.quote((path as NSString).deletingLastPathComponent)
    let byUmask = mode.map { $0 & ~0o666 == 0 } ?? false
    let install = install(temporary: "$t", to: path, mode: byUmask ? nil : mode, keepMode: byUmask, owner: owner, group: group)
      .replacingOccurrences(of: "'$t'", with: "\"$t\"")
    let umask = String(byUmask ? 0o777 & ~(mode ?? 0) : 0o077, radix: 8)
    return "[ -d \(directory) ] || { echo \(missingDirectoryMarker) >&2; exit 3; }; "
      + "umask \(umask); set -C; t=\(ShellQuoting.quote(temporaryPath(for: path))); "
      + "{ cat > \"$t\" || { rm -f \"$t\"; exit 1; }; } && { \(install); }"
  }

  /// What `installFromStdin` prints on stderr when the target directory does not exist.
  static let missingDirectoryMarker = "provision-upload:no-such-directory"

  /// A temporary name in the directory of `path`, hidden and unlikely to collide.
  static func temporaryPath(for path: String) -> String {
    let directory = (path as NSString).deletingLastPathComponent
    let name =
      "." + (path as NSString).lastPathComponent + ".provision-"
      + RenderedCommand.randomToken()
    return directory.isEmpty ? name : directory + "/" + name
  }
}
