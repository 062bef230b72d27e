import Foundation
import Testing

@testable import Provision

/// Tests of `LocalTransport`, which needs no server.
@Suite struct TransportLocalTests {
  let local = LocalTransport()

  @Test func runSeparatesStreamsAndReportsStatus() async throws {
    let result = try await local.run("echo out; echo err >&2; exit 3")
    #expect(result.exitStatus == 3)
    #expect(result.stdoutText == "out\n")
    #expect(result.stderrText == "err\n")
    let env = try await local.run(
      RemoteCommand(
        "printf '%s:' \"$X\" \"$LANG\"; pwd", environment: ["X": "1 2"],
        workingDirectory: "/"))
    #expect(env.stdoutText == "1 2:C.UTF-8:/\n")
  }

  @Test func signalStdinAndTimeout() async throws {
    // /bin/kill: dash's builtin does not always end its own shell when run without a terminal.
    let killed = try await local.run("/bin/kill -TERM $$")
    #expect(killed.exitSignal == "TERM")
    #expect(killed.exitStatus == nil)
    let input = Data(repeating: 65, count: 1 << 20)
    #expect(
      try await local.run(RemoteCommand("wc -c", stdin: input)).stdoutText
        .trimmingCharacters(in: .whitespaces) == "1048576\n")
    let start = ContinuousClock.now
    await #expect(throws: TransportError(.timeout, host: "localhost")) {
      _ = try await local.run(RemoteCommand("sleep 30", timeout: 0.5))
    }
    #expect(ContinuousClock.now - start < .seconds(4))
  }

  @Test func uploadStatDownload() async throws {
    let directory = FileManager.default.temporaryDirectory
      .appendingPathComponent("provision-local-\(UUID().uuidString.prefix(6))")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: directory) }
    let path = directory.appendingPathComponent("a.txt").path
    try await local.upload(Data("hello\n".utf8), to: path, mode: 0o600)
    let info = try #require(try await local.stat(path))
    #expect(info.mode == 0o600)
    #expect(info.size == 6)
    #expect(info.sha256 == "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03")
    #expect(try await local.download(path) == Data("hello\n".utf8))
    try await local.upload(Data("bye\n".utf8), to: path)
    #expect(try await local.stat(path)?.mode == 0o600)
    #expect(try FileManager.default.contentsOfDirectory(atPath: directory.path) == ["a.txt"])
    #expect(try await local.stat(directory.appendingPathComponent("none").path) == nil)
  }
}
