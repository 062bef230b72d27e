import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// One local `/bin/sh -c` run: feeds stdin, drains stdout and stderr, enforces the timeout.
///
/// Each blocking pipe operation runs on a dispatch queue so that none ties up the cooperative
/// pool; the continuation is resumed once the process has exited and both pipes are drained.
final class LocalProcessRun: @unchecked Sendable {
  /// The rendered command, ending in `exec` of it (`RenderedCommand.execLine`).
  private let line: String
  private let stdin: Data
  private let timeout: Double?
  private let sink: OutputSink?
  private let host: String
  private var continuation: CheckedContinuation<CommandResult, any Error>?
  private let lock = NSLock()
  private var stdout = Data()
  private var stderr = Data()
  private var timedOut = false

  init(
    line: String, stdin: Data, timeout: Double?, sink: OutputSink?, host: String,
    continuation: CheckedContinuation<CommandResult, any Error>
  ) {
    self.line = line
    self.stdin = stdin
    self.timeout = timeout
    self.sink = sink
    self.host = host
    self.continuation = continuation
  }

  func start() {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/bin/sh")
    // `exec` so that the command itself, not an extra shell, is the process that may be
    // killed by a signal.
    process.arguments = ["-c", line]
    let input = Pipe()
    let output = Pipe()
    let errors = Pipe()
    process.standardInput = input
    process.standardOutput = output
    process.standardError = errors
    let group = DispatchGroup()
    group.enter()
    process.terminationHandler = { _ in group.leave() }
    do {
      try process.run()
    } catch {
      resume(.failure(TransportError(.channel("cannot start /bin/sh: \(error)"), host: host)))
      return
    }
    let queue = DispatchQueue.global()
    queue.async { [stdin] in
      // A command that exits without reading makes the write fail with EPIPE; that is fine.
      signal(SIGPIPE, SIG_IGN)
      try? input.fileHandleForWriting.write(contentsOf: stdin)
      try? input.fileHandleForWriting.close()
    }
    for (pipe, stream) in [(output, CommandStream.stdout), (errors, CommandStream.stderr)] {
      group.enter()
      queue.async { [self] in
        drain(pipe.fileHandleForReading, stream)
        group.leave()
      }
    }
    if let timeout {
      queue.asyncAfter(deadline: .now() + timeout) { [self] in
        guard process.isRunning else { return }
        lock.withLock { timedOut = true }
        process.terminate()
        let pid = process.processIdentifier
        queue.asyncAfter(deadline: .now() + 2) { if process.isRunning { kill(pid, SIGKILL) } }
      }
    }
    group.notify(queue: queue) { [self] in finish(process) }
  }

  private func drain(_ handle: FileHandle, _ stream: CommandStream) {
    while true {
      let chunk = handle.availableData
      if chunk.isEmpty { return }
      if let sink {
        sink(stream, chunk)
      } else {
        lock.withLock {
          if stream == .stdout { stdout.append(chunk) } else { stderr.append(chunk) }
        }
      }
    }
  }

  private func finish(_ process: Process) {
    let (out, err, expired) = lock.withLock { (stdout, stderr, timedOut) }
    if expired {
      resume(.failure(TransportError(.timeout, host: host)))
      return
    }
    let signalled = process.terminationReason == .uncaughtSignal
    let status = process.terminationStatus
    resume(
      .success(
        CommandResult(
          stdout: out, stderr: err, exitStatus: signalled ? nil : status,
          exitSignal: signalled ? Self.signalName(status) : nil)))
  }

  private func resume(_ result: Result<CommandResult, TransportError>) {
    let continuation = lock.withLock {
      defer { self.continuation = nil }
      return self.continuation
    }
    continuation?.resume(with: result.mapError { $0 as any Error })
  }

  /// The name of a signal without `SIG`, as SSH reports it.
  static func signalName(_ number: Int32) -> String {
    let names: [Int32: String] = [
      SIGHUP: "HUP", SIGINT: "INT", SIGQUIT: "QUIT", SIGILL: "ILL", SIGABRT: "ABRT",
      SIGFPE: "FPE", SIGKILL: "KILL", SIGSEGV: "SEGV", SIGPIPE: "PIPE", SIGALRM: "ALRM",
      SIGTERM: "TERM", SIGUSR1: "USR1", SIGUSR2: "USR2", SIGBUS: "BUS",
    ]
    return names[number] ?? "SIG\(number)"
  }
}
