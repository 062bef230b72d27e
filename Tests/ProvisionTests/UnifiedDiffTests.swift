import Testing

@testable import Provision

@Suite struct UnifiedDiffTests {
  @Test func deletionsComeBeforeInsertionsAsDiffPrintsThem() {
    let text = UnifiedDiff.render("a\nb\nc\n", "a\nB\nc\nd\n", beforeHeader: "f", afterHeader: "f")
    #expect(text == "--- before: f\n+++ after: f\n@@ -1,3 +1,4 @@\n a\n-b\n+B\n c\n+d\n")
    #expect(UnifiedDiff.render("same\n", "same\n", beforeHeader: "f", afterHeader: "f") == "")
    #expect(UnifiedDiff.render("", "new", beforeHeader: "f", afterHeader: "f").hasSuffix("+new\n\\ No newline at end of file\n"))
  }
}
