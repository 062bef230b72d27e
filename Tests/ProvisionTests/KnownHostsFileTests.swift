import Testing

@testable import Provision

/// Which known_hosts lines reach libssh2 for one host: those that may name it.
@Suite struct KnownHostsFileTests {
  func may(_ line: String, _ host: String) -> Bool {
    KnownHostsFile.mayName(Array(line.utf8)[...], Array(host.utf8))
  }

  @Test func linesThatMayNameTheHost() {
    #expect(may("[127.0.0.1]:2201 ssh-ed25519 AAAAC3Nz", "[127.0.0.1]:2201"))
    #expect(!may("[127.0.0.1]:2201 ssh-ed25519 AAAAC3Nz", "[127.0.0.1]:22011"))
    #expect(!may("[127.0.0.1]:22011 ssh-ed25519 AAAAC3Nz", "[127.0.0.1]:2201"))
    #expect(may("web1,10.0.0.1 ssh-ed25519 AAAAC3Nz", "10.0.0.1"))
    #expect(may("web1,10.0.0.1\tssh-ed25519 AAAAC3Nz", "web1"))
    #expect(!may("web1,10.0.0.1 ssh-ed25519 AAAAC3Nz", "web"))
    #expect(!may("web ssh-ed25519 web1", "web1"))
    // Hashed names and patterns are left to libssh2.
    #expect(may("|1|F1E1KeoE/eEWhi10WpGv4OdiO6Y=|3988QV0VE8wmZL7suNrYQLITLCg= ssh-ed25519 AAAA", "web1"))
    #expect(may("*.example.com ssh-ed25519 AAAA", "web1"))
  }
}

/// Words quoted for the shell come back unchanged from `sh`; template syntax is found by bytes.
@Suite struct QuotingTests {
  @Test(arguments: ["plain", "with space", "it's", "'", "''", "$(rm -rf /)", "a\nb", "tab\there", "ünïcödé", "é'ü'", "-_./=:@%+,", "", "`x`", "\\"])
  func shellGivesBackTheWord(_ word: String) async throws {
    let r = try await LocalTransport().run(RemoteCommand("printf %s " + ShellQuoting.quote(word)))
    #expect(r.stdoutText == word)
    #expect(ShellQuoting.quote("safe-word_1.2/x=y:z@h%+,") == "safe-word_1.2/x=y:z@h%+,")
  }

  @Test func templateSyntaxIsFound() {
    for s in ["{{ x }}", "a{%", "{#c#}", "x{{", "{{"] { #expect(Template.isPossiblyTemplate(s), "\(s)") }
    for s in ["", "{", "{ {", "}}", "%{", "#{", "a{b", "ü{ü"] { #expect(!Template.isPossiblyTemplate(s), "\(s)") }
  }
}

/// `stdout_lines` as Python's `splitlines()` makes them.
@Suite struct SplitLinesTests {
  @Test func linesAsPythonSplitsThem() {
    // Expected values are what Python 3.11's str.splitlines() returns for each input.
    let cases: [(String, [String])] = [
      ("", []), ("a", ["a"]), ("a\n", ["a"]), ("a\n\n", ["a", ""]), ("\n", [""]), ("a\r\nb", ["a", "b"]),
      ("a\rb\r", ["a", "b"]), ("a\r\r\nb", ["a", "", "b"]), ("a\u{0B}b\u{0C}c", ["a", "b", "c"]), ("a\u{2028}b", ["a", "b"]),
      ("a\n\nb\n", ["a", "", "b"]),
    ]
    for (text, lines) in cases { #expect(TaskExecutor.splitLines(text) == lines, "\(text.debugDescription)") }
  }
}
