import CLibSSH2
import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// One SSH session to one host, driven by a dedicated thread.
///
/// libssh2 calls must never run on Swift's cooperative pool, whose few threads would stall
/// every other task. Each connection therefore owns an OS thread (not a pool thread) that runs
/// a poll loop over a non-blocking session: callers hand it operations and await their
/// continuations. Up to `SSHTarget.maxChannels` commands share the session at once, plus one
/// SFTP transfer; the resident shell (`ShellFrame`) keeps one channel open between the
/// commands it runs. The thread starts with the first operation and ends on `shutdown()`.
///
/// The session is opened on demand. When it is found dead between operations it is reopened
/// transparently; an operation whose channel could not even be opened is retried once on the
/// new session. An operation already running on a session that dies fails with
/// `.connectionDropped`, because the remote command may or may not have run.
///
/// Keepalives ask the server for a reply every `SSHTarget.keepaliveInterval` seconds; three
/// intervals without any data from the server (a frozen host or a network partition) count as
/// a dropped connection, like OpenSSH's `ServerAliveCountMax 3`.
final class SSHConnection: @unchecked Sendable {
  let target: SSHTarget
  /// The bastion's connection when the target is reached through `ProxyJump`.
  private let jumpHost: SSHConnection?

  // Shared with callers, guarded by `lock`.
  private let lock = NSLock()
  private var submitted: [LoopOperation] = []
  private var isRunning = false
  private var shutdownWaiters: [CheckedContinuation<Void, Never>] = []
  private var wantsShutdown = false
  private var connectedAhead = false
  private let wakeRead: Int32
  private let wakeWrite: Int32

  // Loop thread only.
  private var context: LoopContext?
  private var waiting: [LoopOperation] = []
  private var active: [LoopOperation] = []
  private var nextKeepalive = ContinuousClock.now
  /// Idle rounds in a row with input queued, for the back-off of `idleWait`.
  private var idleRounds = 0

  init(target: SSHTarget) {
    self.target = target
    jumpHost = target.proxyJump.map { SSHConnection(target: $0.target) }
    var fds: [Int32] = [0, 0]
    if pipe(&fds) == 0 {
      for fd in fds {
        _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
        _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
      }
      wakeRead = fds[0]
      wakeWrite = fds[1]
    } else {
      wakeRead = -1
      wakeWrite = -1
    }
  }

  deinit {
    close(wakeRead)
    close(wakeWrite)
  }

  /// Hands `operation` to the loop thread, starting the thread if needed.
  func submit(_ operation: LoopOperation) {
    let start = lock.withLock {
      submitted.append(operation)
      if isRunning { return false }
      isRunning = true
      return true
    }
    if start {
      let thread = Thread { [self] in runLoop() }
      thread.name = "ssh \(target.name)"
      thread.stackSize = 512 << 10
      thread.start()
    } else {
      wake()
    }
  }

  /// Starts connecting without an operation to run, once per connection: later calls find it
  /// connected (or reconnecting for the operations that need it).
  func connectAhead() {
    let first = lock.withLock {
      defer { connectedAhead = true }
      return !connectedAhead
    }
    if first { submit(ConnectAhead()) }
  }

  /// Opens a stream to `host:port` through this connection's session, for another session.
  ///
  /// Blocks the calling thread (another connection's loop thread, never a pool thread) until
  /// the `direct-tcpip` channel is open.
  /// - Returns: a connected socket for the other session.
  func openStream(to host: String, port: Int, for name: String, timeout: Double)
    throws(TransportError) -> Int32
  {
    var pair: [Int32] = [0, 0]
    #if canImport(Glibc)
      let type = Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue)
    #else
      let type = SOCK_STREAM
    #endif
    guard socketpair(AF_UNIX, type, 0, &pair) == 0 else {
      throw TransportError(.unreachable("cannot create a socket pair"), host: name)
    }
    _ = fcntl(pair[1], F_SETFL, fcntl(pair[1], F_GETFL) | O_NONBLOCK)
    let outcome = StreamOutcome()
    let operation = ForwardOperation(
      host: name, destination: host, port: port, local: pair[1]
    ) { error in outcome.finish(error) }
    submit(operation)
    guard let error = outcome.wait(seconds: timeout, host: name) else { return pair[0] }
    cancel(operation)
    close(pair[0])
    throw error
  }

  /// Fails pending work, closes the session and waits until the thread has ended.
  func shutdown() async {
    await jumpHost?.shutdown()
    await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
      let running = lock.withLock {
        if !isRunning { return false }
        wantsShutdown = true
        shutdownWaiters.append(continuation)
        return true
      }
      if running { wake() } else { continuation.resume() }
    }
  }

  /// Cancels `operation` on behalf of its task; any thread may call this.
  func cancel(_ operation: LoopOperation) {
    operation.requestCancellation()
    wake()
  }

  private func wake() {
    var byte: UInt8 = 1
    _ = write(wakeWrite, &byte, 1)
  }

  private func drainWake() {
    var bytes = [UInt8](repeating: 0, count: 64)
    while read(wakeRead, &bytes, bytes.count) > 0 {}
  }

  // MARK: - Loop thread

  private func runLoop() {
    while true {
      drainWake()
      let (incoming, stopping) = lock.withLock {
        defer { submitted.removeAll() }
        return (submitted, wantsShutdown)
      }
      waiting.append(contentsOf: incoming)
      if stopping {
        let error = TransportError(.channel("the transport was closed"), host: target.name)
        for operation in active + waiting { operation.abandon(error) }
        active.removeAll()
        waiting.removeAll()
        dropSession()
        let (waiters, more) = lock.withLock {
          let waiters = shutdownWaiters
          shutdownWaiters.removeAll()
          wantsShutdown = false
          if submitted.isEmpty { isRunning = false }
          return (waiters, !submitted.isEmpty)
        }
        for waiter in waiters { waiter.resume() }
        if more { continue }
        return
      }
      if context == nil && !waiting.isEmpty {
        connect()
        continue
      }
      guard let context else {
        waitForWork(timeout: -1)
        continue
      }
      if active.isEmpty && !waiting.isEmpty && context.idleShell != nil && !isAlive(context.session.socket) {
        // The connection died while only the resident shell held it: reconnect first, or
        // the next command would be written to a dead shell and count as started.
        dropSession()
        continue
      }
      expireOperations(context)
      waiting.append(contentsOf: context.followUps)
      context.followUps.removeAll()
      admit(context)
      let progressed = advanceAll(context)
      if self.context == nil { continue }
      if progressed {
        idleRounds = 0
        continue
      }
      if !sendKeepalive(context) { continue }
      idleWait(context)
    }
  }

  /// Opens the session; on failure fails every waiting operation with the reason.
  private func connect() {
    let started = TransportTrace.now()
    defer { TransportTrace.record(target.name, "connect", since: started) }
    do {
      let session = try SessionFactory.open(target) { () throws(TransportError) -> Int32 in
        guard let jumpHost else {
          do throws(ConnectFailure) {
            return try SocketConnector.connect(
              host: target.address, port: target.port, timeout: target.connectTimeout)
          } catch {
            throw TransportError(.unreachable(error.message), host: target.name)
          }
        }
        return try jumpHost.openStream(
          to: target.address, port: target.port, for: target.name,
          timeout: target.connectTimeout + (target.proxyJump?.target.handshakeTimeout ?? 0))
      }
      context = LoopContext(session: session)
      nextKeepalive = .now
    } catch {
      // What was submitted while connecting fails with the same error instead of waiting
      // through a second attempt.
      let late = lock.withLock {
        defer { submitted.removeAll() }
        return submitted
      }
      for operation in waiting + late { operation.abandon(error) }
      waiting.removeAll()
    }
  }

  /// Moves waiting operations into the active set while slots are free.
  private func admit(_ context: LoopContext) {
    // The idle resident shell keeps its channel open.
    var channels = active.filter(\.usesChannelSlot).count + (context.idleShell == nil ? 0 : 1)
    var sftpBusy = active.contains(where: \.usesSFTP)
    var index = 0
    while index < waiting.count {
      let operation = waiting[index]
      if operation.usesSFTP {
        if sftpBusy {
          index += 1
          continue
        }
        sftpBusy = true
      } else if operation.usesChannelSlot {
        if channels >= max(1, target.maxChannels) {
          index += 1
          continue
        }
        channels += 1
      }
      active.append(waiting.remove(at: index))
    }
  }

  /// Ends operations whose deadline passed or whose task was cancelled.
  private func expireOperations(_ context: LoopContext) {
    let now = ContinuousClock.now
    waiting.removeAll { operation in
      guard operation.isCancellationRequested else { return false }
      operation.abandon(CancellationError())
      return true
    }
    active.removeAll { operation in
      if operation.isCancellationRequested && !operation.didHandleCancellation {
        operation.didHandleCancellation = true
        return operation.expire(CancellationError(), context)
      }
      guard let deadline = operation.deadline, deadline <= now else { return false }
      operation.deadline = nil
      return operation.expire(TransportError(.timeout, host: target.name), context)
    }
  }

  /// Advances every active operation once; returns whether any moved.
  private func advanceAll(_ context: LoopContext) -> Bool {
    context.wantsWrite = false
    var progressed = false
    // An operation that blocked halfway through a send goes first, alone (see `sendOwner`).
    if let owner = context.takeSendOwner() {
      switch owner.advance(context) {
      case .progressed: progressed = true
      case .blocked: break
      case .finished:
        active.removeAll { $0 === owner }
        progressed = true
      case .sessionBroken(let reason):
        sessionBroke(reason)
        return true
      }
      if context.sendOwner != nil { return progressed }
    }
    var index = 0
    while index < active.count && context.sendOwner == nil {
      let operation = active[index]
      switch operation.advance(context) {
      case .progressed:
        progressed = true
        index += 1
      case .blocked:
        index += 1
      case .finished:
        active.remove(at: index)
        progressed = true
      case .sessionBroken(let reason):
        sessionBroke(reason)
        return true
      }
    }
    return progressed
  }

  /// Throws the dead session away. Operations that had not started go back to the queue to
  /// run once more on a new session; the others fail with `.connectionDropped`.
  private func sessionBroke(_ reason: String) {
    var retry: [LoopOperation] = []
    for operation in active {
      if !operation.hasStarted && !operation.wasRetried {
        operation.resetForRetry()
        retry.append(operation)
      } else {
        operation.abandon(TransportError(.connectionDropped, host: target.name, detail: reason))
      }
    }
    active.removeAll()
    waiting.insert(contentsOf: retry, at: 0)
    dropSession()
  }

  private func dropSession() {
    context?.releaseSFTP()
    context = nil
  }

  /// Sends a keepalive when one is due; returns false when the session turned out dead.
  private func sendKeepalive(_ context: LoopContext) -> Bool {
    // libssh2 sends keepalives from a stack buffer: never while another packet is half sent.
    guard target.keepaliveInterval > 0, ContinuousClock.now >= nextKeepalive,
      context.sendOwner == nil
    else { return true }
    // Nor when the socket is full: a half-sent keepalive would break the next packet.
    var writable = pollfd(fd: context.session.socket, events: Int16(POLLOUT), revents: 0)
    guard poll(&writable, 1, 0) == 1, writable.revents & Int16(POLLOUT) != 0 else { return true }
    let (code, next) = context.session.sendKeepalive()
    if code != 0 && code != LIBSSH2_ERROR_EAGAIN {
      if active.isEmpty {
        dropSession()
      } else {
        sessionBroke("keepalive failed: \(context.session.lastError.message)")
      }
      return false
    }
    nextKeepalive = .now + .seconds(Int(max(1, next)))
    // Like OpenSSH's ServerAliveCountMax 3: keepalives ask for replies, so three intervals of
    // silence mean a frozen or partitioned peer, which TCP alone would not notice for hours.
    if let silence = context.session.millisecondsSinceLastReceive,
      Int(silence) > target.keepaliveInterval * 3000 + 500
    {
      if active.isEmpty {
        dropSession()
      } else {
        sessionBroke("no data from the server for \(silence / 1000) s")
      }
      return false
    }
    if active.isEmpty && !isAlive(context.session.socket) {
      dropSession()
      return false
    }
    return true
  }

  /// Whether an idle socket still looks connected: the peer has not closed it.
  private func isAlive(_ socket: Int32) -> Bool {
    var byte: UInt8 = 0
    let count = recv(socket, &byte, 1, Int32(MSG_PEEK | MSG_DONTWAIT))
    if count == 0 { return false }
    if count < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR { return false }
    return true
  }

  /// Waits for the socket, a deadline, a keepalive or new work.
  private func idleWait(_ context: LoopContext) {
    let queued = context.sendOwner == nil && active.contains { $0.hasQueuedInput(context) }
    var timeout: Int32
    if queued {
      // Data may wait inside libssh2 where poll cannot see it: look again soon, but back off
      // (1, 2, 4 … 16 ms) while nothing moves, such as after a command's end of output while
      // a loaded host takes its time to send the exit status: 300 connections polling every
      // millisecond kept both cores busy.
      timeout = Int32(1 << min(idleRounds, 4))
      idleRounds += 1
    } else {
      let now = ContinuousClock.now
      var until = nextKeepalive
      if target.keepaliveInterval <= 0 { until = now + .seconds(3600) }
      for operation in active {
        if let deadline = operation.deadline { until = min(until, deadline) }
      }
      let wait = until - now
      timeout = wait <= .zero ? 0 : Int32(min(60_000, wait / .milliseconds(1) + 1))
      // SFTP responses can wait inside libssh2 unseen; look again soon.
      if active.contains(where: \.usesSFTP) { timeout = min(timeout, 10) }
    }
    var events: Int16 = 0
    if !active.isEmpty {
      events = Int16(POLLIN)
      if context.wantsWrite { events |= Int16(POLLOUT) }
    }
    var fds = [
      pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0),
      pollfd(fd: context.session.socket, events: events, revents: 0),
    ]
    fds += active.compactMap { $0.pollDescriptor() }
    if !active.isEmpty { SocketConnector.acknowledgeQuickly(context.session.socket) }
    let ready = poll(&fds, nfds_t(fds.count), timeout)
    if ready > 0 && active.isEmpty && fds[1].revents & Int16(POLLHUP | POLLERR) != 0 {
      dropSession()
    }
  }

  private func waitForWork(timeout: Int32) {
    var fds = [pollfd(fd: wakeRead, events: Int16(POLLIN), revents: 0)]
    _ = poll(&fds, 1, timeout)
  }
}

/// The answer to `openStream`, handed from the bastion's loop thread to the waiting thread.
private final class StreamOutcome: @unchecked Sendable {
  private let semaphore = DispatchSemaphore(value: 0)
  private let lock = NSLock()
  private var error: TransportError?

  func finish(_ error: TransportError?) {
    lock.withLock { self.error = error }
    semaphore.signal()
  }

  /// Waits for `finish`; returns its error, or a timeout.
  func wait(seconds: Double, host: String) -> TransportError? {
    if semaphore.wait(timeout: .now() + seconds) == .timedOut {
      return TransportError(.timeout, host: host, detail: "opening the jump host's channel")
    }
    return lock.withLock { error }
  }
}

/// Makes the loop connect and is done once connected: `SSHTransport.connectAhead`.
final class ConnectAhead: LoopOperation, @unchecked Sendable {
  override var usesChannelSlot: Bool { false }
}
