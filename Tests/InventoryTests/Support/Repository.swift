import Foundation

/// Paths inside the repository, found from this file's location.
enum Repository {
  static let root: String = {
    var url = URL(fileURLWithPath: #filePath)
    for _ in 0..<4 { url.deleteLastPathComponent() }
    return url.path
  }()

  static func path(_ relative: String) -> String { root + "/" + relative }

  static let fixtures = path("Tests/InventoryTests/Fixtures")
}

/// The result of running a program to completion.
struct ProgramOutput {
  var status: Int32
  var stdout: String
  var stderr: String
}

/// Runs a program and waits for it, collecting its output.
func runProgram(_ path: String, _ arguments: [String], cwd: String? = nil) throws -> ProgramOutput {
  let process = Process()
  process.executableURL = URL(fileURLWithPath: path)
  process.arguments = arguments
  if let cwd { process.currentDirectoryURL = URL(fileURLWithPath: cwd) }
  var env = ProcessInfo.processInfo.environment
  env["ANSIBLE_NOCOLOR"] = "1"
  env["ANSIBLE_LOCALHOST_WARNING"] = "0"
  env["ANSIBLE_INVENTORY_UNPARSED_WARNING"] = "0"
  process.environment = env
  let out = Pipe()
  let err = Pipe()
  process.standardOutput = out
  process.standardError = err
  try process.run()
  // Read both pipes while the program runs so that neither fills up and blocks it.
  let group = DispatchGroup()
  nonisolated(unsafe) var errData = Data()
  group.enter()
  DispatchQueue.global().async {
    errData = err.fileHandleForReading.readDataToEndOfFile()
    group.leave()
  }
  let outData = out.fileHandleForReading.readDataToEndOfFile()
  group.wait()
  process.waitUntilExit()
  return ProgramOutput(
    status: process.terminationStatus, stdout: String(decoding: outData, as: UTF8.self),
    stderr: String(decoding: errData, as: UTF8.self))
}
