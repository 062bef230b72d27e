import CLibSSH2
import Foundation

/// Runs one command on a channel: writes stdin while reading stdout and stderr separately,
/// answers a sudo prompt, and collects the exit status or signal.
///
/// A command the session's resident shell can run (`ShellFrame`) goes there instead: it takes
/// the idle shell's channel, or opens one for a new shell, writes its frame as the shell's
/// input and reads until the frame ends; then the channel stays open as the idle shell (the
/// session keeps one) for the next command. A shell that broke, timed out or was not needed
/// is closed like a command's channel.
final class ExecOperation: LoopOperation, @unchecked Sendable {
  private enum Stage {
    case open, pty, exec, io, release, closing, waitClosed, freeing
  }

  private let host: String
  private let command: RemoteCommand
  private let rendered: RenderedCommand
  private let timeout: Double?
  private let wantsPTY: Bool
  private let sink: OutputSink?
  private var continuation: CheckedContinuation<CommandResult, any Error>?

  private var stage = Stage.open
  private var channel: SSHChannel?
  private var stdin: Data
  private var stdinOffset = 0
  private var secret: [UInt8] = []
  private var secretOffset = 0
  private var isStdinOpen = true
  private var sentEOF = false
  private var sawEOF = false
  private var stdout = Data()
  private var stderr = Data()
  private var gateOpen: Bool
  private var prompts = 0
  /// The io call that blocked halfway through sending; it runs first next time.
  private var pendingCall: IOCall?
  /// Whether the caller got its answer before the channel opened.
  private var wasAnsweredEarly = false

  /// Bytes read per `advance` before other operations get a turn.
  private static let fairShare = 1 << 20

  private var remotePID: Int?
  private var sawPIDLine = false

  /// The command's frame when it runs in the resident shell; nil for a channel of its own.
  private let frame: ShellFrame?
  private var frameProgress = ShellFrame.Progress()
  /// The command's result, read from its frame.
  private var framed: CommandResult?
  /// Whether the command goes to the resident shell rather than a channel of its own.
  var isForResidentShell: Bool { frame != nil }

  /// - Parameter residentShell: run the command in the session's resident shell when it can.
  init(
    host: String, command: RemoteCommand, sink: OutputSink?,
    continuation: CheckedContinuation<CommandResult, any Error>?, residentShell: Bool = false
  ) {
    self.host = host
    self.command = command
    rendered = RenderedCommand(command)
    timeout = command.timeout
    wantsPTY = command.wantsPTY
    self.sink = sink
    self.continuation = continuation
    gateOpen = rendered.becomeSuccess == nil
    if residentShell && ShellFrame.accepts(command, rendered, streamed: sink != nil) {
      let frame = ShellFrame(rendered, stdin: command.stdin)
      self.frame = frame
      stdin = frame.text
      sawPIDLine = true
    } else {
      frame = nil
      stdin = command.stdin
    }
  }

  override func advance(_ context: LoopContext) -> LoopStep {
    var moved = false
    if stage != .io, let pending = pendingCall, let channel {
      // Timed out or failed halfway through a send: finish that packet before closing.
      pendingCall = nil
      var budget = Self.fairShare
      switch perform(pending, channel, context, &budget) {
      case .blockedSending:
        pendingCall = pending
        return .blocked
      case .broken(let reason): return .sessionBroken(reason)
      case .moved, .idle, .failed: moved = true
      }
    }
    while true {
      switch stage {
      case .open:
        if deadline == nil, let timeout {
          deadline = .now + .milliseconds(Int(timeout * 1000))
        }
        if frame != nil, !wasAnsweredEarly, let shell = context.takeIdleShell() {
          channel = shell
          stage = .io
          moved = true
          continue
        }
        guard let opened = context.session.openChannel() else {
          let error = context.session.lastError
          if error.code == LIBSSH2_ERROR_EAGAIN { return blocked(context, moved) }
          if LibSSH2.isSessionFatal(error.code) { return .sessionBroken(error.message) }
          return failBeforeStart(.channel("cannot open a channel: \(error.message)"))
        }
        channel = opened
        // The caller may have been answered (timeout) while the open was half sent.
        stage = wasAnsweredEarly ? .closing : (wantsPTY ? .pty : .exec)
        moved = true
      case .pty:
        guard let channel else { return .finished }
        let code = channel.requestPTY()
        if code == LIBSSH2_ERROR_EAGAIN { return blocked(context, moved) }
        if code != 0 { return failCode(code, context, "the server refused a pseudo-terminal") }
        stage = .exec
        moved = true
      case .exec:
        guard let channel else { return .finished }
        // A command in a new shell starts when its frame is written (`writeStdin`).
        hasStarted = frame == nil
        let code = channel.exec(frame == nil ? rendered.trackedLine : ShellFrame.command)
        if code == LIBSSH2_ERROR_EAGAIN { return blocked(context, moved) }
        if code != 0 { return failCode(code, context, "the server refused to run the command") }
        stage = .io
        moved = true
      case .io:
        guard let channel else { return .finished }
        switch pump(channel, context) {
        case .progressed: return .progressed
        case .blocked: return blocked(context, moved)
        case .sessionBroken(let reason): return .sessionBroken(reason)
        case .finished: moved = true
        }
      case .release:
        guard let channel else { return .finished }
        answer(framed)
        if context.idleShell == nil && pendingCall == nil && !channel.isAtEOF {
          context.idleShell = channel
          self.channel = nil
          return .finished
        }
        stage = .closing
        moved = true
      case .closing:
        guard let channel else { return .finished }
        let code = channel.close()
        if code == LIBSSH2_ERROR_EAGAIN { return blocked(context, moved) }
        if sawEOF && code == 0 {
          stage = .waitClosed
        } else {
          complete(channel)
          stage = .freeing
        }
        moved = true
      case .waitClosed:
        guard let channel else { return .finished }
        let code = channel.waitClosed()
        if code == LIBSSH2_ERROR_EAGAIN { return blocked(context, moved) }
        complete(channel)
        stage = .freeing
        moved = true
      case .freeing:
        if let channel {
          let code = channel.free()
          if code == LIBSSH2_ERROR_EAGAIN { return blocked(context, moved) }
        }
        channel = nil
        return .finished
      }
    }
  }

  /// One libssh2 call of the io stage.
  private enum IOCall {
    case write, eof
    case read(Int32)
  }

  /// What one io call did.
  private enum IOResult {
    case moved, idle, blockedSending
    case broken(String)
    case failed(TransportError)
  }

  /// Reads, writes and watches for EOF; `.finished` means the io stage is over.
  private func pump(_ channel: SSHChannel, _ context: LoopContext) -> LoopStep {
    var moved = false
    var budget = Self.fairShare
    var calls: [IOCall] = frame == nil ? [.write, .eof, .read(0), .read(1)] : [.write, .read(0), .read(1)]
    if let pending = pendingCall {
      calls.insert(pending, at: 0)
      pendingCall = nil
    }
    for call in calls {
      switch perform(call, channel, context, &budget) {
      case .moved: moved = true
      case .idle: break
      case .blockedSending:
        pendingCall = call
        return moved ? .progressed : .blocked
      case .broken(let reason): return .sessionBroken(reason)
      case .failed(let error): return fail(error, context)
      }
    }
    if framed != nil {
      stage = .release
      return .finished
    }
    if budget <= 0 { return .progressed }
    if channel.isAtEOF {
      sawEOF = true
      if frame != nil, frameProgress.outStart == nil, let continuation {
        // The shell had ended before the command started (killed while idle): the command
        // runs on a channel of its own instead.
        self.continuation = nil
        context.followUps.append(
          ExecOperation(host: host, command: command, sink: sink, continuation: continuation))
      }
      stage = .closing
      return .finished
    }
    return moved ? .progressed : .blocked
  }

  private func perform(
    _ call: IOCall, _ channel: SSHChannel, _ context: LoopContext, _ budget: inout Int
  ) -> IOResult {
    switch call {
    case .write: return writeStdin(channel, context)
    case .eof:
      guard gateOpen && !sentEOF && (!isStdinOpen || stdinOffset >= stdin.count) else {
        return .idle
      }
      let code = channel.sendEOF()
      if code == LIBSSH2_ERROR_EAGAIN { return context.blocked(self) ? .blockedSending : .idle }
      sentEOF = true
      isStdinOpen = false
      return .moved
    case .read(let stream): return read(stream, channel, context, &budget)
    }
  }

  /// Writes the sudo password first, then the caller's stdin once sudo let the command run.
  private func writeStdin(_ channel: SSHChannel, _ context: LoopContext) -> IOResult {
    var moved = false
    while isStdinOpen {
      let written: Int
      if secretOffset < secret.count {
        written = secret.withUnsafeBytes {
          channel.write(UnsafeRawBufferPointer(rebasing: $0[secretOffset...]))
        }
        if written > 0 { secretOffset += written }
      } else if gateOpen && stdinOffset < stdin.count {
        let end = min(stdin.count, stdinOffset + 65536)
        written = stdin.withUnsafeBytes {
          channel.write(UnsafeRawBufferPointer(rebasing: $0[stdinOffset..<end]))
        }
        if written > 0 {
          stdinOffset += written
          hasStarted = true
        }
      } else {
        break
      }
      if written == Int(LIBSSH2_ERROR_EAGAIN) {
        return context.blocked(self) ? .blockedSending : (moved ? .moved : .idle)
      }
      if written < 0 {
        if LibSSH2.isSessionFatal(Int32(written)) {
          return .broken(context.session.describe(written))
        }
        // The command closed its stdin or exited; the rest of the input is not wanted.
        isStdinOpen = false
        break
      }
      moved = true
    }
    return moved ? .moved : .idle
  }

  /// Drains `stream` until libssh2 has nothing more or the fair share is used up.
  private func read(
    _ stream: Int32, _ channel: SSHChannel, _ context: LoopContext, _ budget: inout Int
  ) -> IOResult {
    var moved = false
    while budget > 0 {
      let count = channel.read(stream: stream, into: context.buffer)
      if count > 0 {
        budget -= count
        moved = true
        let data = Data(UnsafeRawBufferPointer(rebasing: context.buffer[0..<count]))
        if let failure = receive(data, stream: stream) { return .failed(failure) }
        continue
      }
      if count == Int(LIBSSH2_ERROR_EAGAIN) {
        // Reading may send a window adjustment, which can block halfway too.
        if context.blocked(self) { return .blockedSending }
      } else if count < 0 && LibSSH2.isSessionFatal(Int32(count)) {
        return .broken(context.session.describe(count))
      }
      break
    }
    return moved ? .moved : .idle
  }

  /// Takes output; returns an error when sudo rejected the password.
  private func receive(_ data: Data, stream: Int32) -> TransportError? {
    if stream == 0 { stdout.append(data) } else { stderr.append(data) }
    if let frame {
      framed = frame.read(stdout: stdout, stderr: stderr, &frameProgress)
      remotePID = frameProgress.pid
      return nil
    }
    if !sawPIDLine {
      // The PID line comes first on stderr (stdout with a pty); hold output until it is whole.
      let isPIDStream = wantsPTY ? stream == 0 : stream == 1
      guard isPIDStream else { return nil }
      let buffer = wantsPTY ? stdout : stderr
      guard let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
      let line = String(decoding: buffer[buffer.startIndex..<newline], as: UTF8.self)
      if line.hasPrefix(rendered.pidMarker) {
        remotePID = Int(
          line.dropFirst(rendered.pidMarker.count).trimmingCharacters(in: .whitespacesAndNewlines))
        if wantsPTY {
          stdout.removeSubrange(stdout.startIndex...newline)
        } else {
          stderr.removeSubrange(stderr.startIndex...newline)
        }
      }
      sawPIDLine = true
    }
    if !gateOpen {
      if let prompt = rendered.becomePrompt.map({ Data($0.utf8) }) {
        for isStdout in [false, true] {
          let buffer = isStdout ? stdout : stderr
          guard let range = buffer.range(of: prompt) else { continue }
          if isStdout { stdout.removeSubrange(range) } else { stderr.removeSubrange(range) }
          prompts += 1
          let method = rendered.becomeMethod.rawValue
          if prompts > 1 {
            return TransportError(.becomeFailed("\(method) rejected the password"), host: host)
          }
          guard let password = rendered.becomePassword else {
            return TransportError(
              .becomeFailed("\(method) asks for a password and none was given"), host: host,
              detail: "set ansible_become_password, or use -K")
          }
          secret = Array((password + "\n").utf8)
          secretOffset = 0
        }
      }
      if let success = rendered.becomeSuccess.map({ Data($0.utf8) }),
        let range = stdout.range(of: success)
      {
        var end = range.upperBound
        if end < stdout.endIndex && stdout[end] == UInt8(ascii: "\r") { end += 1 }
        if end < stdout.endIndex && stdout[end] == UInt8(ascii: "\n") { end += 1 }
        stdout.removeSubrange(stdout.startIndex..<end)
        gateOpen = true
        // A pty echoes nothing useful before the marker; output before it is sudo's.
        if wantsPTY { stderr.removeAll() }
      }
      if !gateOpen { return nil }
    }
    if let sink {
      if !stdout.isEmpty { sink(.stdout, stdout) }
      if !stderr.isEmpty { sink(.stderr, stderr) }
      stdout.removeAll(keepingCapacity: true)
      stderr.removeAll(keepingCapacity: true)
    }
    return nil
  }

  /// Answers the caller with the collected output.
  private func complete(_ channel: SSHChannel) {
    guard let continuation else { return }
    self.continuation = nil
    if frame != nil {
      // The shell ended before the command's frame did; the command may have run.
      continuation.resume(
        throwing: TransportError(
          .channel("the shell running the command ended early"), host: host,
          detail: String(decoding: stderr.suffix(300), as: UTF8.self)))
      return
    }
    if !gateOpen {
      let lastLine =
        String(decoding: stderr, as: UTF8.self)
        .split(whereSeparator: \.isNewline).last.map(String.init) ?? "no output"
      continuation.resume(throwing: TransportError(.becomeFailed(lastLine), host: host))
      return
    }
    let signal = channel.exitSignal
    continuation.resume(
      returning: CommandResult(
        stdout: stdout, stderr: stderr, exitStatus: signal == nil ? channel.exitStatus : nil,
        exitSignal: signal))
  }

  private func blocked(_ context: LoopContext, _ moved: Bool) -> LoopStep {
    _ = context.blocked(self)
    return moved ? .progressed : .blocked
  }

  private func failBeforeStart(_ kind: TransportError.Kind) -> LoopStep {
    resume(throwing: TransportError(kind, host: host))
    channel = nil
    return .finished
  }

  private func failCode(_ code: Int32, _ context: LoopContext, _ what: String) -> LoopStep {
    let message = context.session.lastError.message
    if LibSSH2.isSessionFatal(code) { return .sessionBroken(message) }
    return fail(TransportError(.channel(what), host: host, detail: message), context)
  }

  /// Answers the caller with `error`, then closes the channel in the background.
  private func fail(_ error: TransportError, _ context: LoopContext) -> LoopStep {
    resume(throwing: error)
    stage = .closing
    deadline = .now + .seconds(3)
    return .progressed
  }

  private func answer(_ result: CommandResult?) {
    guard let result else { return }
    continuation?.resume(returning: result)
    continuation = nil
  }

  private func resume(throwing error: any Error) {
    continuation?.resume(throwing: error)
    continuation = nil
  }

  override func hasQueuedInput(_ context: LoopContext) -> Bool {
    guard stage == .io, let channel else { return false }
    if channel.hasQueuedData(stream: 0) || channel.hasQueuedData(stream: 1) || channel.isAtEOF {
      return true
    }
    let wantsToWrite =
      isStdinOpen && (secretOffset < secret.count || (gateOpen && stdinOffset < stdin.count))
    return wantsToWrite && pendingCall == nil && channel.writeWindow > 0
  }

  override func expire(_ error: any Error, _ context: LoopContext) -> Bool {
    if continuation != nil {
      resume(throwing: error)
      if channel == nil && context.sendOwner === self {
        // The channel-open request is half sent; let it finish, then close the channel.
        wasAnsweredEarly = true
        deadline = .now + .seconds(3)
        return false
      }
      if let remotePID, remotePID > 1, !sawEOF {
        // dash's kill takes no `--`; a negative PID names the process group.
        let group = "-\(remotePID)"
        let kill = RemoteCommand(
          "kill -TERM \(group) 2>/dev/null || exit 0; sleep 2; kill -KILL \(group) 2>/dev/null"
            + "; exit 0")
        context.followUps.append(
          ExecOperation(host: host, command: kill, sink: nil, continuation: nil))
      }
      if channel == nil { return true }
      stage = .closing
      deadline = .now + .seconds(3)
      return false
    }
    // Cleanup took too long: leave the channel to the session.
    channel = nil
    return true
  }

  override func abandon(_ error: any Error) {
    resume(throwing: error)
    channel = nil
  }

  override func resetForRetry() {
    channel = nil
    pendingCall = nil
    stage = .open
    wasRetried = true
  }
}
