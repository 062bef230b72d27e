import CLibSSH2
import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Carries one TCP stream through a bastion: a `direct-tcpip` channel on the bastion's session,
/// pumped to and from a local socket whose other end another session uses as its connection.
final class ForwardOperation: LoopOperation, @unchecked Sendable {
  private enum Stage {
    case open, pump, closing, freeing
  }

  private let host: String
  private let destination: String
  private let port: Int
  private let local: Int32
  private var onOpen: (@Sendable (TransportError?) -> Void)?
  private var stage = Stage.open
  private var channel: SSHChannel?
  private var toChannel: [UInt8] = []
  private var toLocal: [UInt8] = []
  private var localEOF = false
  private var remoteEOF = false
  private var sentEOF = false
  private var isLocalClosed = false
  /// The call that blocked halfway through sending; it runs first next time.
  private var pendingCall: Call?
  private let scratchSize = 65536
  private let scratch = UnsafeMutableRawPointer.allocate(byteCount: 65536, alignment: 16)

  /// Creates a forward to `destination:port` as the bastion sees it.
  ///
  /// - Parameters:
  ///   - host: the name of the host behind the bastion, for errors.
  ///   - destination: the address the bastion connects to.
  ///   - port: the port the bastion connects to.
  ///   - local: this side of a socket pair, non-blocking; closed when the forward ends.
  ///   - onOpen: told once whether the channel opened (nil) or why not.
  init(
    host: String, destination: String, port: Int, local: Int32,
    onOpen: @escaping @Sendable (TransportError?) -> Void
  ) {
    self.host = host
    self.destination = destination
    self.port = port
    self.local = local
    self.onOpen = onOpen
  }

  deinit {
    closeLocal()
    scratch.deallocate()
  }

  override var usesChannelSlot: Bool { false }

  override func advance(_ context: LoopContext) -> LoopStep {
    switch stage {
    case .open:
      guard let opened = context.session.openDirectTCPIP(host: destination, port: port) else {
        let error = context.session.lastError
        if error.code == LIBSSH2_ERROR_EAGAIN {
          _ = context.blocked(self)
          return .blocked
        }
        if LibSSH2.isSessionFatal(error.code) { return .sessionBroken(error.message) }
        report(
          TransportError(
            .unreachable("the jump host cannot reach \(destination):\(port): \(error.message)"),
            host: host))
        closeLocal()
        return .finished
      }
      channel = opened
      hasStarted = true
      stage = .pump
      report(nil)
      return .progressed
    case .pump:
      guard let channel else { return .finished }
      return pump(channel, context)
    case .closing:
      guard let channel else { return .finished }
      if let pending = pendingCall {
        pendingCall = nil
        if case .blockedSending = perform(pending, channel, context) {
          pendingCall = pending
          return .blocked
        }
      }
      let code = channel.close()
      if code == LIBSSH2_ERROR_EAGAIN {
        _ = context.blocked(self)
        return .blocked
      }
      stage = .freeing
      return .progressed
    case .freeing:
      if let channel, channel.free() == LIBSSH2_ERROR_EAGAIN {
        _ = context.blocked(self)
        return .blocked
      }
      channel = nil
      closeLocal()
      return .finished
    }
  }

  /// One libssh2 call of the pump.
  private enum Call {
    case write, eof, read
  }

  /// What one call did.
  private enum Outcome {
    case moved, idle, blockedSending
    case broken(String)
  }

  private func pump(_ channel: SSHChannel, _ context: LoopContext) -> LoopStep {
    var moved = false
    for _ in 0..<64 {
      var round = false
      var calls: [Call] = [.write, .eof, .read]
      if let pending = pendingCall {
        calls.insert(pending, at: 0)
        pendingCall = nil
      }
      for call in calls {
        // Plain socket I/O never blocks halfway inside libssh2, so it runs between the calls.
        if case .write = call, toChannel.isEmpty && !localEOF { round = readLocal() || round }
        if case .read = call, !toLocal.isEmpty { round = writeLocal() || round }
        switch perform(call, channel, context) {
        case .moved: round = true
        case .idle: break
        case .blockedSending:
          pendingCall = call
          return moved || round ? .progressed : .blocked
        case .broken(let reason): return .sessionBroken(reason)
        }
      }
      if !toLocal.isEmpty { round = writeLocal() || round }
      if localEOF && remoteEOF && toLocal.isEmpty {
        stage = .closing
        return .progressed
      }
      if !round { break }
      moved = true
    }
    return moved ? .progressed : .blocked
  }

  private func perform(_ call: Call, _ channel: SSHChannel, _ context: LoopContext) -> Outcome {
    switch call {
    case .write:
      guard !toChannel.isEmpty else { return .idle }
      let written = toChannel.withUnsafeBytes { channel.write($0) }
      if written > 0 {
        toChannel.removeFirst(written)
        return .moved
      }
      if written == Int(LIBSSH2_ERROR_EAGAIN) {
        return context.blocked(self) ? .blockedSending : .idle
      }
      if LibSSH2.isSessionFatal(Int32(written)) {
        return .broken(context.session.describe(written))
      }
      toChannel.removeAll()
      localEOF = true
      return .moved
    case .eof:
      guard localEOF && toChannel.isEmpty && !sentEOF else { return .idle }
      let code = channel.sendEOF()
      if code == LIBSSH2_ERROR_EAGAIN { return context.blocked(self) ? .blockedSending : .idle }
      sentEOF = true
      return .moved
    case .read:
      guard toLocal.isEmpty && !remoteEOF else { return .idle }
      let count = channel.read(stream: 0, into: context.buffer)
      if count > 0 {
        toLocal = Array(UnsafeRawBufferPointer(rebasing: context.buffer[0..<count]))
        return .moved
      }
      if count == Int(LIBSSH2_ERROR_EAGAIN) {
        return context.blocked(self) ? .blockedSending : .idle
      }
      if count < 0 && LibSSH2.isSessionFatal(Int32(count)) {
        return .broken(context.session.describe(count))
      }
      if channel.isAtEOF || count < 0 {
        remoteEOF = true
        shutdown(local, Int32(SHUT_WR))
        return .moved
      }
      return .idle
    }
  }

  /// Reads what the local session sent; returns whether anything changed.
  private func readLocal() -> Bool {
    let count = recv(local, scratch, scratchSize, 0)
    if count > 0 {
      toChannel = Array(UnsafeRawBufferPointer(start: scratch, count: count))
      return true
    }
    if count == 0 || (errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR) {
      localEOF = true
      return true
    }
    return false
  }

  /// Hands channel data to the local session; returns whether anything changed.
  private func writeLocal() -> Bool {
    let written = toLocal.withUnsafeBytes { send(local, $0.baseAddress, $0.count, 0) }
    if written > 0 {
      toLocal.removeFirst(written)
      return true
    }
    if written < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR {
      // The session on the other end is gone.
      toLocal.removeAll()
      localEOF = true
      remoteEOF = true
      return true
    }
    return false
  }

  override func pollDescriptor() -> pollfd? {
    guard stage == .pump, !isLocalClosed else { return nil }
    var events: Int16 = 0
    if toChannel.isEmpty && !localEOF { events |= Int16(POLLIN) }
    if !toLocal.isEmpty { events |= Int16(POLLOUT) }
    return pollfd(fd: local, events: events, revents: 0)
  }

  override func hasQueuedInput(_ context: LoopContext) -> Bool {
    guard stage == .pump, let channel, pendingCall == nil else { return false }
    if !toChannel.isEmpty && channel.writeWindow > 0 { return true }
    return toLocal.isEmpty && !remoteEOF && (channel.hasQueuedData(stream: 0) || channel.isAtEOF)
  }

  override func expire(_ error: any Error, _ context: LoopContext) -> Bool {
    abandon(error)
    return true
  }

  override func abandon(_ error: any Error) {
    if let error = error as? TransportError {
      report(error)
    } else {
      report(TransportError(.connectionDropped, host: host))
    }
    channel = nil
    closeLocal()
  }

  private func report(_ error: TransportError?) {
    onOpen?(error)
    onOpen = nil
  }

  private func closeLocal() {
    if isLocalClosed { return }
    isLocalClosed = true
    close(local)
  }
}
