import ArgumentParser
import Foundation
import Inventory

/// Exit codes, following ansible-playbook's where it has one.
enum ExitStatus {
  static let ok: Int32 = 0
  static let error: Int32 = 1
  static let hostFailed: Int32 = 2
  static let hostUnreachable: Int32 = 4
  /// Parse and validation errors. ansible-playbook uses 4 for these as well as for unreachable
  /// hosts; keeping its numbers keeps scripts written for it working.
  static let badInput: Int32 = 4
  static let usage: Int32 = 5
}

/// Writes to standard error (the `stderr` global is not usable under Swift 6 strict concurrency).
func printError(_ text: String) {
  FileHandle.standardError.write(Data((text + "\n").utf8))
}

/// Prints a diagnostic and exits with the bad-input status.
func fail(_ error: any DiagnosticError) -> ExitCode {
  printError(error.diagnostic.description)
  return ExitCode(ExitStatus.badInput)
}
