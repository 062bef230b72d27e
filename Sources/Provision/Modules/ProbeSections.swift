import Foundation

/// The output of one `check` script that runs several read-only commands in one round trip, each
/// framed by marker lines so that its output and exit status can be told apart:
///
/// ```
/// @@provision-begin NAME
/// ...output...
/// @@provision-end NAME STATUS
/// ```
///
/// Used by the system modules (`service`, `iptables`, `docker_container`, `sysctl`, ...).
struct ProbeSections: Sendable, Equatable {
  struct Section: Sendable, Equatable {
    /// Everything the command printed (stdout, and stderr when the section merges it).
    var text: String
    /// The command's exit status.
    var status: Int

    var succeeded: Bool { status == 0 }
    /// The text without trailing newlines or spaces.
    var trimmed: String { text.trimmingCharacters(in: .whitespacesAndNewlines) }
    /// The exact content of a `file` section (the `.` printed after it removed).
    var content: String { text.hasSuffix(".") ? String(text.dropLast()) : text }
    var lines: [String] {
      text.split(separator: "\n", omittingEmptySubsequences: true).map(String.init)
    }
  }

  var sections: [String: Section]

  subscript(name: String) -> Section? { sections[name] }

  /// Shell text that runs `command` as section `name`, in a subshell (so `exit` ends only the
  /// section). With `mergeStderr` false, stderr is dropped.
  static func section(_ name: String, _ command: String, mergeStderr: Bool = true) -> String {
    "printf '@@provision-begin %s\\n' \(name)\n( \(command)\n) \(mergeStderr ? "2>&1" : "2>/dev/null") </dev/null\n"
      + "printf '\\n@@provision-end %s %s\\n' \(name) \"$?\"\n"
  }

  /// A section with the exact content of a regular file; its status is 1 when the file is
  /// missing. Read it with `Section.content`.
  static func file(_ name: String, _ path: String) -> String {
    let p = ShellQuoting.quote(path)
    return section(name, "if [ -f \(p) ]; then cat -- \(p) && echo .; else exit 1; fi", mergeStderr: false)
  }

  /// Splits the output of a script made of `section`s.
  static func parse(_ output: String) -> ProbeSections {
    var sections: [String: Section] = [:]
    var current: String?
    var buffer: [Substring] = []
    for line in output.split(separator: "\n", omittingEmptySubsequences: false) {
      if line.hasPrefix("@@provision-begin ") {
        current = String(line.dropFirst("@@provision-begin ".count))
        buffer = []
      } else if line.hasPrefix("@@provision-end "), let name = current {
        let words = line.split(separator: " ")
        let status = words.count >= 3 ? Int(words[2]) ?? -1 : -1
        // The end marker is printed after a newline of its own: drop that one.
        var text = buffer.joined(separator: "\n")
        if text.hasSuffix("\n") { text.removeLast() }
        sections[name] = Section(text: text, status: status)
        current = nil
      } else if current != nil {
        buffer.append(line)
      }
    }
    return ProbeSections(sections: sections)
  }
}
