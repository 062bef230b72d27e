import Foundation

#if canImport(Glibc)
  import Glibc
#elseif canImport(Darwin)
  import Darwin
#endif

/// Passwords from a prompt or an environment variable, never from a command-line flag, where
/// other users could read them in the process list.
enum Secrets {
  /// Asks on the terminal without echo; nil when there is no terminal.
  static func prompt(_ text: String) -> String? {
    guard let p = getpass(text) else { return nil }
    return String(cString: p)
  }

  /// The value of `variable`, or what the user types at `prompt` when `ask` is set.
  static func password(ask: Bool, prompt text: String, environment variable: String) -> String? {
    if ask { return prompt(text) }
    return ProcessInfo.processInfo.environment[variable]
  }
}
