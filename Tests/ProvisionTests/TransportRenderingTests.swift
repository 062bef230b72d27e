import Foundation
import Testing

@testable import Provision

/// Tests of how commands become shell lines, and of parsing helper output.
@Suite struct TransportRenderingTests {
  @Test func plainCommandSetsLocaleAndEnvironment() {
    let line = RenderedCommand(
      RemoteCommand("echo $A", environment: ["A": "x y", "B": "it's"], workingDirectory: "/srv")
    ).line
    let expected =
      "LANG=C.UTF-8 LC_ALL=C.UTF-8 A='x y' B='it'\\''s' "
      + "/bin/sh -c 'cd /srv || exit 1\necho $A'"
    #expect(line == expected)
  }

  /// Over SSH the login shell runs the line: the assignments go before `exec`, so no `env`
  /// process starts; a name the shell cannot assign goes through `env`.
  @Test func trackedLineAssignsBeforeExec() {
    let rendered = RenderedCommand(RemoteCommand("echo $A", environment: ["A": "1"]), token: "t")
    #expect(rendered.trackedLine == "echo PROVISION-PID-t=$$ >&2; LANG=C.UTF-8 LC_ALL=C.UTF-8 A=1 exec /bin/sh -c 'echo $A'")
    let odd = RenderedCommand(RemoteCommand("env", environment: ["A-B": "1"]), token: "t")
    #expect(odd.trackedLine == "echo PROVISION-PID-t=$$ >&2; exec env LANG=C.UTF-8 LC_ALL=C.UTF-8 A-B=1 /bin/sh -c env")
  }

  @Test func timeoutWrapsTheCommandRemotely() {
    let line = RenderedCommand(RemoteCommand("sleep 9", timeout: 5)).line
    #expect(line == "LANG=C.UTF-8 LC_ALL=C.UTF-8 timeout -k 2 6 /bin/sh -c 'sleep 9'")
  }

  @Test func passwordlessBecomeUsesSudoN() {
    let rendered = RenderedCommand(RemoteCommand("id -u", become: Become(user: "postgres")))
    #expect(rendered.line.hasPrefix("sudo -n -u postgres -- env LANG=C.UTF-8"))
    #expect(rendered.becomePrompt == nil)
  }

  @Test func becomeWithPasswordUsesMarkersAndKeepsThePasswordOut() {
    let rendered = RenderedCommand(
      RemoteCommand("id -u", become: Become(password: "s3cret")), token: "abc")
    #expect(rendered.line.hasPrefix("sudo -S -p '[sudo via provision, abc] password:' -u root -- "))
    #expect(rendered.line.contains("echo PROVISION-BECOME-OK-abc; exec env"))
    #expect(!rendered.line.contains("s3cret"))
    #expect(rendered.becomePassword == "s3cret")
    #expect(!String(describing: Become(password: "s3cret")).contains("s3cret"))
  }

  @Test func suWaitsForItsPromptAndKeepsThePasswordOut() {
    let rendered = RenderedCommand(
      RemoteCommand("id -u", become: Become(user: "app", password: "s3cret", method: .su)),
      token: "abc")
    #expect(rendered.line.hasPrefix("su -s /bin/sh app -c 'echo PROVISION-BECOME-OK-abc; exec env"))
    #expect(!rendered.line.contains("s3cret"))
    #expect(rendered.becomePrompt == "Password: " && rendered.becomePassword == "s3cret")
    #expect(rendered.becomeMethod == .su)
  }

  @Test(arguments: [
    ("absent\n", RemoteFileInfo??.some(nil)),
    (
      "81a4 644 root root 6\n5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03  -\n",
      .some(
        RemoteFileInfo(
          type: .regular, mode: 0o644, owner: "root", group: "root", size: 6,
          sha256: "5891b5b522d5df086d0ff0b110fbd9d21bb4fc7163af34d08286a2e846f6be03"))
    ),
    (
      "41ed 755 app app 4096\n",
      .some(
        RemoteFileInfo(
          type: .directory, mode: 0o755, owner: "app", group: "app", size: 4096, sha256: nil))
    ),
    ("garbage\n", .none),
  ])
  func parseStat(output: String, expected: RemoteFileInfo??) {
    #expect(RemoteScripts.parseStat(output) == expected)
  }

  @Test func fingerprintsLookLikeOpenSSH() {
    #expect(
      HostKeyVerifier.fingerprint([UInt8](repeating: 0, count: 32))
        == "SHA256:AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA")
    #expect(HostKeyVerifier.knownHostsName(address: "web1", port: 22) == "web1")
    #expect(HostKeyVerifier.knownHostsName(address: "::1", port: 2222) == "[::1]:2222")
  }

  @Test func errorsNameTheHost() {
    let error = TransportError(.authFailed(["publickey (/k)"]), host: "web1", detail: "hint")
    #expect(error.description == "authentication to 'web1' failed (tried: publickey (/k)) (hint)")
  }
}
