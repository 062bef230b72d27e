import CLibSSH2
import Foundation

/// Runs one command on a channel: writes stdin while reading stdout and stderr separately,
/// answers a sudo prompt, and collects the exit status or signal.
final class ExecOperation: LoopOperation, @unchecked Sendable {
  private enum Stage {
    case open, pty, exec, io, closing, waitClosed, freeing
  }

  private let host: String
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

  init(
    host: String, command: RemoteCommand, sink: OutputSink?,
    continuation: CheckedContinuation<CommandResult, any Error>?
  ) {
    self.host = host
    rendered = RenderedCommand(command)
    timeout = command.timeout
    wantsPTY = command.wantsPTY
    stdin = command.stdin
    self.sink = sink
    self.continuation = continuation
    gateOpen = rendered.becomeSuccess == nil
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
        hasStarted = true
        let code = channel.exec(rendered.trackedLine)
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
    var calls: [IOCall] = [.write, .eof, .read(0), .read(1)]
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
    if budget <= 0 { return .progressed }
    if channel.isAtEOF {
      sawEOF = true
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
        if written > 0 { stdinOffset += written }
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
    stage = .open
    wasRetried = true
  }
}
