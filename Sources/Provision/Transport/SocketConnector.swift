import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Opens TCP connections with a deadline, trying every address a name resolves to.
enum SocketConnector {
  /// Connects to `host:port` within `timeout` seconds; returns a non-blocking socket.
  ///
  /// - Throws: a message saying why no address could be reached.
  static func connect(host: String, port: Int, timeout: Double) throws(ConnectFailure) -> Int32 {
    let deadline = ContinuousClock.now + .milliseconds(Int(timeout * 1000))
    var hints = addrinfo()
    hints.ai_family = AF_UNSPEC
    #if canImport(Glibc)
      hints.ai_socktype = Int32(SOCK_STREAM.rawValue)
    #else
      hints.ai_socktype = SOCK_STREAM
    #endif
    hints.ai_flags = AI_ADDRCONFIG
    var list: UnsafeMutablePointer<addrinfo>?
    // Brackets from `[::1]` style addresses are not part of the name.
    let name =
      host.hasPrefix("[") && host.hasSuffix("]") ? String(host.dropFirst().dropLast()) : host
    let status = getaddrinfo(name, String(port), &hints, &list)
    guard status == 0, let list else {
      throw ConnectFailure(
        message: "cannot resolve '\(host)': \(String(cString: gai_strerror(status)))")
    }
    defer { freeaddrinfo(list) }
    var lastError = "no address"
    var entry: UnsafeMutablePointer<addrinfo>? = list
    while let current = entry {
      entry = current.pointee.ai_next
      let remaining = deadline - ContinuousClock.now
      guard remaining > .zero else {
        lastError = "connect timed out after \(timeout) s"
        break
      }
      switch attempt(current.pointee, remaining: remaining) {
      case .success(let fd): return fd
      case .failure(let error): lastError = error.message
      }
    }
    throw ConnectFailure(message: lastError)
  }

  /// Turns off delayed acknowledgements (Linux's TCP_QUICKACK; the kernel turns them on again
  /// now and then, so the connection loop calls this before it waits). sshd sends small
  /// packets without TCP_NODELAY: after the login it sends one (its host keys) and then the
  /// answer to our channel request, which Nagle's algorithm holds until we acknowledge the
  /// first, and a delayed acknowledgement takes 40 ms. Every first command paid them.
  static func acknowledgeQuickly(_ fd: Int32) {
    var one: Int32 = 1
    _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_QUICKACK, &one, socklen_t(MemoryLayout<Int32>.size))
  }

  private static func attempt(_ address: addrinfo, remaining: Duration) -> Result<
    Int32, ConnectFailure
  > {
    let fd = socket(address.ai_family, address.ai_socktype, address.ai_protocol)
    guard fd >= 0 else { return .failure(ConnectFailure(errno: errno)) }
    _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
    _ = fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK)
    var one: Int32 = 1
    _ = setsockopt(fd, Int32(IPPROTO_TCP), TCP_NODELAY, &one, socklen_t(MemoryLayout<Int32>.size))
    _ = setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &one, socklen_t(MemoryLayout<Int32>.size))
    acknowledgeQuickly(fd)
    if Glibc.connect(fd, address.ai_addr, address.ai_addrlen) == 0 { return .success(fd) }
    guard errno == EINPROGRESS else {
      let failure = ConnectFailure(errno: errno)
      close(fd)
      return .failure(failure)
    }
    var descriptor = pollfd(fd: fd, events: Int16(POLLOUT), revents: 0)
    let milliseconds = max(
      1,
      Int32(remaining.components.seconds * 1000)
        + Int32(remaining.components.attoseconds / 1_000_000_000_000_000))
    var ready: Int32
    repeat { ready = poll(&descriptor, 1, milliseconds) } while ready < 0 && errno == EINTR
    guard ready > 0 else {
      close(fd)
      return .failure(ConnectFailure(message: "connect timed out"))
    }
    var error: Int32 = 0
    var length = socklen_t(MemoryLayout<Int32>.size)
    _ = getsockopt(fd, SOL_SOCKET, SO_ERROR, &error, &length)
    guard error == 0 else {
      close(fd)
      return .failure(ConnectFailure(errno: error))
    }
    return .success(fd)
  }
}

/// Why a TCP connection could not be opened.
struct ConnectFailure: Error {
  var message: String

  init(message: String) { self.message = message }

  init(errno code: Int32) { message = String(cString: strerror(code)) }
}
