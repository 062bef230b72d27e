import Foundation
import Inventory

/// Reads a file from the host and returns it base64-encoded: `slurp`. Never changes anything.
///
/// Keys: `src` (`path`). `check` tests the path and prints the file in one command; the
/// result has `content` (base64), `encoding: base64` and `source`. A missing file fails with
/// `file not found: PATH`, as Ansible does.
///
/// ```yaml
/// - slurp: { src: /etc/rancher/rke2/rke2.yaml }
///   register: kubeconfig
/// ```
public struct SlurpModule: Module {
  public static let name = "slurp"
  public static let arguments = ArgumentSpec([.init("src", .path, required: true, aliases: ["path"])])

  /// What `check` found at `src`.
  public enum Current: Sendable, Equatable {
    case content(Data)
    case missing, directory, unreadable
  }

  let src: String

  public init(_ arguments: ModuleArguments) throws {
    guard let src = arguments.string("src"), !src.isEmpty else { throw ModuleError("missing required argument 'src'") }
    self.src = src
  }

  /// Prints one letter (`y` content follows, `n` missing, `d` directory, `r` unreadable) and
  /// a newline, then the content; with `mode`, `y` is followed by a space and the file's
  /// permission bits in octal (`y 600`).
  static func script(_ path: String, mode: Bool = false) -> String {
    let found = mode ? "stat -L -c 'y %a' -- \"$p\" || exit 1" : "echo y"
    return """
      p=\(ShellQuoting.quote(path))
      if [ -d "$p" ]; then echo d; elif [ ! -e "$p" ]; then echo n; elif [ ! -r "$p" ]; then echo r; else \(found); cat -- "$p" || exit 1; fi
      """
  }

  /// Reads what `script(_:mode:)` printed: the state, and the mode when it was asked for.
  static func parseWithMode(_ output: Data) -> (Current, mode: UInt16?)? {
    guard output.first == UInt8(ascii: "y"), output.count >= 2, output[output.startIndex + 1] == UInt8(ascii: " "),
      let end = output.firstIndex(of: 0x0A)
    else { return parse(output).map { ($0, nil) } }
    guard let mode = UInt16(String(decoding: output[(output.startIndex + 2)..<end], as: UTF8.self), radix: 8) else { return nil }
    return (.content(Data(output[(end + 1)...])), mode)
  }

  static func parse(_ output: Data) -> Current? {
    guard output.count >= 2, output[output.startIndex + 1] == 0x0A else { return nil }
    switch output[output.startIndex] {
    case UInt8(ascii: "y"): return .content(Data(output.dropFirst(2)))
    case UInt8(ascii: "n"): return .missing
    case UInt8(ascii: "d"): return .directory
    case UInt8(ascii: "r"): return .unreadable
    default: return nil
    }
  }

  public func check(on host: HostProbe) async throws -> Current {
    let result = try await host.run(Self.script(src))
    guard result.succeeded, let current = Self.parse(result.stdout) else {
      throw ModuleError("unable to slurp file: " + result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))
    }
    return current
  }

  public func plan(from current: Current) throws -> Plan {
    switch current {
    case .content(let data):
      return Plan(result: ["content": .string(data.base64EncodedString()), "source": .string(src), "encoding": "base64"])
    case .missing: return .failed("file not found: \(src)")
    case .directory: return .failed("source is a directory and must be a file: \(src)")
    case .unreadable: return .failed("file is not readable: \(src)")
    }
  }
}
