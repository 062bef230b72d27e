import Foundation

/// Which stream output came from.
public enum CommandStream: Sendable {
  case stdout, stderr
}

/// Receives output as it arrives, instead of it being kept in the result. Called on the
/// connection's loop thread: it must return quickly.
public typealias OutputSink = @Sendable (CommandStream, Data) -> Void
