import Foundation

/// One command as a line for the session's resident shell, and the reading of its output.
///
/// A command of its own costs the host a channel, a fork of sshd, the login shell (with the
/// user's rc files) and `/bin/sh`; on a cold run that is most of the host's work per task.
/// So each session keeps one `/bin/sh` running on a channel (`ShellFrame.command`) and
/// writes commands to its standard input, one line each:
///
///     printf 'BEGIN %d\n' $$; printf 'BEGIN\n' >&2; LINE </dev/null; printf '\nEND %d\n' $?; printf '\nEND\n' >&2
///
/// LINE is the command in a subshell (`RenderedCommand.subshellLine`), or the line a channel of
/// its own would run, so nothing it does (`cd`, `exit`, `umask`) touches the next command. Its
/// standard input, when it has one, comes from `printf` through a pipe; the shell's own input
/// is the stream of commands and no command may read it. The frame's markers carry a random
/// token, so output before the start (a background process of an earlier command) and after
/// the end is not taken for the command's; `$$` gives the shell's PID, the process group a
/// timeout kills.
struct ShellFrame {
  /// What the shell's channel runs: the login shell replaces itself with `/bin/sh`.
  static let command = "exec /bin/sh"

  /// Input larger than this goes through a channel of its own (and SFTP-sized uploads never
  /// come here): the frame carries it as one quoted word.
  static let inputLimit = 1 << 20

  /// Whether `command` can run in the resident shell: not a user's command
  /// (`RemoteCommand.ownChannel`), no pseudo-terminal, no password prompt to answer, no output
  /// streamed as it comes, and input without NUL bytes (the shell reads its commands as text).
  static func accepts(_ command: RemoteCommand, _ rendered: RenderedCommand, streamed: Bool) -> Bool {
    !streamed && !command.ownChannel && !command.wantsPTY && rendered.becomePrompt == nil && rendered.becomeSuccess == nil
      && command.stdin.count <= inputLimit && !command.stdin.contains(0)
  }

  private let begin: [UInt8]
  private let end: [UInt8]
  /// The line to write to the shell's standard input.
  let text: Data

  init(_ rendered: RenderedCommand, stdin: Data, token: String = RenderedCommand.randomToken()) {
    let begin = "PROVISION-BEGIN-\(token)"
    let end = "PROVISION-END-\(token)"
    self.begin = Array(begin.utf8)
    self.end = Array(end.utf8)
    var text = Data("printf '\(begin) %d\\n' $$; printf '\(begin)\\n' >&2; ".utf8)
    if stdin.isEmpty {
      text.append(contentsOf: "\(rendered.subshellLine) </dev/null".utf8)
    } else {
      text.append(contentsOf: "printf '%s' ".utf8)
      text.append(ShellQuoting.quotedBytes(stdin))
      text.append(contentsOf: " | \(rendered.subshellLine)".utf8)
    }
    text.append(contentsOf: "; printf '\\n\(end) %d\\n' $?; printf '\\n\(end)\\n' >&2\n".utf8)
    self.text = text
  }

  /// How far the reading of the two streams got; kept between calls so that long output is
  /// searched once.
  struct Progress {
    /// Where the command's standard output starts, once the start line arrived.
    var outStart: Int?
    var errStart: Int?
    /// Where to look next for the end markers.
    var outScan = 0
    var errScan = 0
    /// The shell's PID, from the start line.
    var pid: Int?
  }

  /// Reads what arrived; returns the command's result once both streams ended their frame.
  func read(stdout: Data, stderr: Data, _ progress: inout Progress) -> CommandResult? {
    stdout.withUnsafeBytes { out in
      stderr.withUnsafeBytes { err in read(out, err, &progress) }
    }
  }

  private func read(_ out: UnsafeRawBufferPointer, _ err: UnsafeRawBufferPointer, _ progress: inout Progress)
    -> CommandResult?
  {
    if progress.outStart == nil, let s = out.firstIndex(ofBytes: begin + [UInt8(ascii: " ")], from: 0),
      let newline = out.firstIndex(ofBytes: [10], from: s + begin.count)
    {
      progress.pid = Int(String(decoding: out[(s + begin.count + 1)..<newline], as: UTF8.self))
      progress.outStart = newline + 1
      progress.outScan = newline + 1
    }
    if progress.errStart == nil, let s = err.firstIndex(ofBytes: begin + [10], from: 0) {
      progress.errStart = s + begin.count + 1
      progress.errScan = s + begin.count + 1
    }
    guard let outStart = progress.outStart, let errStart = progress.errStart else { return nil }
    let outEnd = [10] + end + [UInt8(ascii: " ")]
    guard let o = out.firstIndex(ofBytes: outEnd, from: progress.outScan) else {
      progress.outScan = max(outStart, out.count - outEnd.count)
      return nil
    }
    guard let statusEnd = out.firstIndex(ofBytes: [10], from: o + outEnd.count) else { return nil }
    let errEnd = [10] + end + [10]
    guard let e = err.firstIndex(ofBytes: errEnd, from: progress.errScan) else {
      progress.errScan = max(errStart, err.count - errEnd.count)
      return nil
    }
    let status = Int32(String(decoding: out[(o + outEnd.count)..<statusEnd], as: UTF8.self)) ?? -1
    return CommandResult(stdout: Data(out[outStart..<o]), stderr: Data(err[errStart..<e]), shellStatus: status)
  }
}
