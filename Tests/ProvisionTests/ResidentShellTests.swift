import Foundation
import Testing

@testable import Provision

/// The frame of a command in the session's resident shell, read from output as it arrives.
@Suite struct ShellFrameTests {
  private func frame(stdin: Data = Data()) -> ShellFrame {
    ShellFrame(RenderedCommand(RemoteCommand("true")), stdin: stdin, token: "T0K")
  }

  @Test func theLineRunsTheCommandAsAChildWithoutTheShellsInput() {
    let text = String(decoding: frame().text, as: UTF8.self)
    #expect(text.hasPrefix("printf 'PROVISION-BEGIN-T0K %d\\n' $$; printf 'PROVISION-BEGIN-T0K\\n' >&2; "))
    #expect(text.contains("(export LANG=C.UTF-8 LC_ALL=C.UTF-8; eval true) </dev/null; "))
    #expect(text.hasSuffix("printf '\\nPROVISION-END-T0K %d\\n' $?; printf '\\nPROVISION-END-T0K\\n' >&2\n"))
    #expect(text.filter { $0 == "\n" }.count == 1)
  }

  @Test func inputIsOneQuotedWordPipedToTheCommand() {
    let input = Data("it's 100%\\n\n".utf8) + Data([0xff, 0x27])
    let text = frame(stdin: input).text
    var expected = Data("printf '%s' 'it'\\''s 100%\\n\n".utf8)
    expected.append(contentsOf: [0xff, 0x27, 0x5c, 0x27, 0x27, 0x27])
    expected.append(contentsOf: " | (export LANG=C.UTF-8".utf8)
    #expect(text.range(of: expected) != nil)
    #expect(!String(decoding: text, as: UTF8.self).contains("</dev/null"))
  }

  @Test func outputIsReadBetweenTheMarkersAsItArrives() {
    let f = frame()
    var progress = ShellFrame.Progress()
    var out = Data("late output of an earlier command\nPROVISION-BEGIN-T0K 4242\nline one\nno newline".utf8)
    var err = Data("PROVISION-BEGIN-T0K\nwarning\n".utf8)
    #expect(f.read(stdout: out, stderr: err, &progress) == nil)
    #expect(progress.pid == 4242)
    out.append(contentsOf: "\nPROVISION-END-T0K 3\n".utf8)
    #expect(f.read(stdout: out, stderr: err, &progress) == nil, "standard error has not ended")
    err.append(contentsOf: "\nPROVISION-END-T0K\nafter".utf8)
    let result = f.read(stdout: out, stderr: err, &progress)
    #expect(result?.stdoutText == "line one\nno newline")
    #expect(result?.stderrText == "warning\n")
    #expect(result?.exitStatus == 3)
  }

  @Test func aStatusOfSignalDeathIsTheSignal() {
    let f = frame()
    var progress = ShellFrame.Progress()
    let out = Data("PROVISION-BEGIN-T0K 7\n\nPROVISION-END-T0K 143\n".utf8)
    let err = Data("PROVISION-BEGIN-T0K\n\nPROVISION-END-T0K\n".utf8)
    let result = f.read(stdout: out, stderr: err, &progress)
    #expect(result?.exitSignal == "TERM")
    #expect(result?.exitStatus == nil)
    #expect(result?.stdout.isEmpty == true)
  }

  @Test(arguments: [
    RemoteCommand("cat", stdin: Data([1, 0, 2])), RemoteCommand("top", wantsPTY: true),
    RemoteCommand("id", become: Become(user: "root", password: "secret")),
  ])
  func commandsTheShellCannotRunGetAChannel(_ command: RemoteCommand) {
    #expect(!ShellFrame.accepts(command, RenderedCommand(command), streamed: false))
  }

  @Test func streamedOutputGetsAChannel() {
    let command = RemoteCommand("cat", stdin: Data("text".utf8), become: Become(user: "root"))
    #expect(ShellFrame.accepts(command, RenderedCommand(command), streamed: false))
    #expect(!ShellFrame.accepts(command, RenderedCommand(command), streamed: true))
  }
}

/// The resident shell against a real sshd on 127.0.0.1.
@Suite(.serialized) struct ResidentShellTests {
  let server: LoopbackSSHD

  init() throws { server = try LoopbackSSHD.shared.get() }

  private func transport(residentShell: Bool = true) throws -> SSHTransport {
    var target = try server.target()
    target.residentShell = residentShell
    return SSHTransport(target: target)
  }

  /// The name of the shell the command runs in and its PID: in the resident shell, a
  /// subshell's `$$` is the resident shell's.
  private static let shell = "echo $(cat /proc/$$/comm) $$"

  @Test func commandsRunInOneShellAndStartClean() async throws {
    let ssh = try transport()
    let first = try await ssh.run(Self.shell).stdoutText
    #expect(first.hasPrefix("sh "))
    let before = try await ssh.run("pwd; umask; echo ${LEAK-unset}").stdoutText
    #expect(before.hasSuffix("\nunset\n"))
    #expect(try await ssh.run("cd /; umask 077; LEAK=1; export LEAK").exitStatus == 0)
    #expect(try await ssh.run("pwd; umask; echo ${LEAK-unset}").stdoutText == before)
    #expect(try await ssh.run(Self.shell).stdoutText == first, "the same shell ran every command")
    await ssh.close()
  }

  @Test func exitAndSyntaxErrorsEndTheCommandNotTheShell() async throws {
    let ssh = try transport()
    let shell = try await ssh.run("echo $$").stdoutText
    #expect(try await ssh.run("echo before; exit 3; echo after").stdoutText == "before\n")
    #expect(try await ssh.run("exit 3").exitStatus == 3)
    let broken = try await ssh.run("if then fi")
    #expect(broken.exitStatus == 2)
    #expect(broken.stderrText.lowercased().contains("syntax error"))
    #expect(try await ssh.run("trap 'echo trapped' EXIT; echo body").stdoutText == "body\ntrapped\n")
    #expect(try await ssh.run(RemoteCommand("printf %s \"$X\"", environment: ["X": "a 'b' $c"])).stdoutText == "a 'b' $c")
    #expect(try await ssh.run("echo $$").stdoutText == shell, "the same shell ran every command")
    await ssh.close()
  }

  @Test func withoutItEachCommandHasItsOwnChannel() async throws {
    let ssh = try transport(residentShell: false)
    let first = try await ssh.run(Self.shell).stdoutText
    #expect(first.hasPrefix("sh "))
    #expect(try await ssh.run(Self.shell).stdoutText != first)
    await ssh.close()
  }

  @Test func inputReachesTheCommandByteForByte() async throws {
    let ssh = try transport()
    var input = Data("quotes ' \" \\ $HOME `id` %s %d\nnon-ASCII é ✓\n".utf8)
    input.append(contentsOf: (1...255).map { UInt8($0) })
    input.append(contentsOf: Data(repeating: UInt8(ascii: "x"), count: 200_000))
    let shell = try await ssh.run("echo $$").stdoutText
    let result = try await ssh.run(RemoteCommand("cat; echo $$ >&2", stdin: input))
    #expect(result.stdout == input)
    #expect(result.stderrText == shell, "the resident shell ran it")
    await ssh.close()
  }

  @Test func aUsersCommandWaitsForTheProcessesItLeavesWithItsOutput() async throws {
    let ssh = try transport()
    var command = RemoteCommand("(sleep 0.3; echo late; echo late >&2) & echo now; cat /proc/$PPID/comm >&2")
    command.ownChannel = true
    let started = try await ssh.run(command)
    #expect(started.stdoutText == "now\nlate\n")
    #expect(started.stderrText == "sshd\nlate\n")
    let later = try await ssh.run("sleep 0.4; echo next")
    #expect(later.stdoutText == "next\n")
    #expect(later.stderrText == "")
    await ssh.close()
  }

  @Test func aShellKilledWhileIdleIsReplaced() async throws {
    let ssh = try transport()
    let shell = try await ssh.run("echo $$").stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
    #expect(try await ssh.run("(sleep 0.2; kill -KILL \(shell)) >/dev/null 2>&1 &").exitStatus == 0)
    try await Task.sleep(for: .milliseconds(700))
    #expect(try await ssh.run("echo still here").stdoutText == "still here\n")
    let next = try await ssh.run("echo $$").stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
    #expect(next != shell)
    await ssh.close()
  }

  @Test func aShellThatDiesUnderACommandFailsItAndTheNextGetsANewOne() async throws {
    let ssh = try transport()
    do {
      _ = try await ssh.run("kill -KILL $$; sleep 1")
      Issue.record("the command should have failed")
    } catch let error as TransportError {
      #expect(error.kind == .channel("the shell running the command ended early"))
    }
    #expect(try await ssh.run("echo fine").stdoutText == "fine\n")
    await ssh.close()
  }

  @Test func aTimedOutCommandTakesItsShellWithIt() async throws {
    let ssh = try transport()
    let shell = try await ssh.run("echo $$").stdoutText.trimmingCharacters(in: .whitespacesAndNewlines)
    do {
      _ = try await ssh.run(RemoteCommand("sleep 27.13", timeout: 0.5))
      Issue.record("the command should have timed out")
    } catch let error as TransportError {
      #expect(error.kind == .timeout)
    }
    try await Task.sleep(for: .seconds(2.5))
    #expect(try await ssh.run("pgrep -f 'sleep 27[.]13' || true").stdoutText.isEmpty)
    #expect(try await ssh.run("kill -0 \(shell) 2>/dev/null || echo gone").stdoutText == "gone\n")
    await ssh.close()
  }
}
