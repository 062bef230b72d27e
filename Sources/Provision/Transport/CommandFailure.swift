/// Turns a failed helper command into a `TransportError`.
enum CommandFailure {
  /// An error that keeps the exit status and the last line of stderr.
  static func error(_ result: CommandResult, doing what: String, host: String) -> TransportError {
    let status = result.exitSignal.map { "signal \($0)" } ?? "status \(result.exitStatus ?? -1)"
    let lastLine = result.stderrText.split(whereSeparator: \.isNewline).last.map(String.init)
    return TransportError(
      .channel("cannot \(what): exit \(status)"), host: host, detail: lastLine)
  }
}
