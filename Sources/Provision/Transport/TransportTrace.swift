import Foundation

/// A timing log of what the transports do, for finding where a run spends its time.
///
/// Off unless the environment names a file: `PROVISION_TRACE=/tmp/trace.log` appends one line
/// per connection and per command (milliseconds since the process started, host, what, bytes,
/// how long it took). Commands' text is left out, since it may hold secrets, unless
/// `PROVISION_TRACE_COMMANDS=1` asks for it.
enum TransportTrace {
  private static let sink: Sink? = {
    let environment = ProcessInfo.processInfo.environment
    guard let path = environment["PROVISION_TRACE"], !path.isEmpty else { return nil }
    return Sink(path: path, withCommands: environment["PROVISION_TRACE_COMMANDS"] == "1")
  }()

  /// Whether tracing is on; callers skip building trace lines otherwise.
  static var isEnabled: Bool { sink != nil }

  /// Whether lines may include command text.
  static var includesCommands: Bool { sink?.withCommands ?? false }

  /// The time since the process started, in milliseconds.
  static func now() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e6 }

  /// Appends `what` for `host`, with the duration since `started` (from `now()`).
  static func record(_ host: String, _ what: @autoclosure () -> String, since started: Double) {
    guard let sink else { return }
    let end = now()
    sink.write(
      String(format: "%10.3f %8.3fms %@ %@\n", end - sink.origin, end - started, host, what()))
  }

  private final class Sink: @unchecked Sendable {
    let withCommands: Bool
    /// When the process started (Linux: /proc/self/stat), so that lines show the start-up too.
    let origin: Double = {
      guard let stat = try? String(contentsOfFile: "/proc/self/stat", encoding: .utf8),
        let close = stat.lastIndex(of: ")")
      else { return TransportTrace.now() }
      let fields = stat[stat.index(after: close)...].split(separator: " ")
      // Field 22 (starttime) is the 20th after the command name's closing parenthesis.
      guard fields.count > 19, let ticks = Double(fields[19]) else { return TransportTrace.now() }
      return ticks / Double(sysconf(Int32(_SC_CLK_TCK))) * 1000
    }()
    private let lock = NSLock()
    private let handle: FileHandle?

    init(path: String, withCommands: Bool) {
      self.withCommands = withCommands
      if !FileManager.default.fileExists(atPath: path) {
        _ = FileManager.default.createFile(atPath: path, contents: nil)
      }
      handle = FileHandle(forWritingAtPath: path)
      _ = try? handle?.seekToEnd()
    }

    func write(_ line: String) {
      lock.withLock { handle?.write(Data(line.utf8)) }
    }
  }
}
