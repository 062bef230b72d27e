import Foundation
import Inventory

/// A directory tree from the controller put on the host by `copy`: every directory made,
/// every file written when its checksum differs. The whole tree is read in one command.
public struct DirectoryCopy: Sendable {
  public struct Current: Sendable {
    var directories: [Bool]
    var files: [DesiredFile.Current]
  }

  /// Directories to make, relative paths on the host, parents first.
  var directories: [String]
  var files: [DesiredFile]
  var directoryMode: FileMode?
  var owner: String?
  var group: String?
  var dest: String

  init(
    source: String, dest: String, mode: FileMode?, directoryMode: FileMode?, owner: String?, group: String?,
    force: Bool, wantsDiff: Bool
  ) throws {
    self.dest = dest
    self.directoryMode = directoryMode
    self.owner = owner
    self.group = group
    var directories = [dest]
    var files: [DesiredFile] = []
    guard let walker = FileManager.default.enumerator(atPath: source) else {
      throw ModuleError("cannot read the directory '\(source)'")
    }
    var entries: [String] = []
    for case let relative as String in walker { entries.append(relative) }
    for relative in entries.sorted() {
      let path = (source as NSString).appendingPathComponent(relative)
      let target = (dest as NSString).appendingPathComponent(relative)
      var isDirectory: ObjCBool = false
      guard FileManager.default.fileExists(atPath: path, isDirectory: &isDirectory) else { continue }
      if isDirectory.boolValue {
        directories.append(target)
        continue
      }
      guard let data = FileManager.default.contents(atPath: path) else {
        throw ModuleError("cannot read '\(path)'")
      }
      files.append(
        DesiredFile(
          path: target, content: data, mode: mode, owner: owner, group: group, backup: false, force: force,
          validate: nil, wantsDiff: wantsDiff, sourceName: nil))
    }
    self.directories = directories
    self.files = files
  }

  func check(on host: HostProbe) async throws -> Current {
    // A marker no file's text will hold separates the files' sections.
    let token = "#file-" + RenderedCommand.randomToken()
    var script = ""
    for d in directories { script += "if [ -d \(ShellQuoting.quote(d)) ]; then echo '#dir 1'; else echo '#dir 0'; fi\n" }
    for f in files {
      script += "echo '\(token)'\n( " + FileState.script(f.path, content: f.wantsDiff, follow: true) + " )\n"
    }
    let result = try await host.run(script)
    guard result.succeeded else {
      throw ModuleError("cannot read the state of '\(dest)': " + result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))
    }
    var output = result.stdout[...]
    var exists: [Bool] = []
    for _ in directories {
      guard let end = output.firstIndex(of: 0x0A) else { throw ModuleError("unexpected output reading '\(dest)'") }
      exists.append(String(decoding: output[..<end], as: UTF8.self) == "#dir 1")
      output = output[(end + 1)...]
    }
    let marker = Data((token + "\n").utf8)
    var sections: [Data] = []
    var rest = Data(output)
    guard rest.starts(with: marker) || files.isEmpty else { throw ModuleError("unexpected output reading '\(dest)'") }
    rest = rest.dropFirst(files.isEmpty ? 0 : marker.count)
    for _ in files {
      if let next = rest.range(of: Data(("\n" + token + "\n").utf8)) {
        sections.append(rest[..<(next.lowerBound + 1)])
        rest = rest[next.upperBound...]
      } else {
        sections.append(rest)
        rest = Data()
      }
    }
    var states: [DesiredFile.Current] = []
    for (file, section) in zip(files, sections) {
      guard let state = FileState.parse(Data(section)) else { throw ModuleError("unexpected output reading '\(file.path)'") }
      states.append(DesiredFile.Current(path: file.path, state: state))
    }
    return Current(directories: exists, files: states)
  }

  func plan(from current: Current) -> Plan {
    var plan = Plan(result: ["dest": .string(dest)])
    for (directory, exists) in zip(directories, current.directories) where !exists {
      var script = "mkdir -p -- \(ShellQuoting.quote(directory))"
      if let directoryMode {
        let bits = directoryMode.bits(from: 0o755, isDirectory: true)
        script += " && chmod \(String(bits, radix: 8)) -- \(ShellQuoting.quote(directory))"
      }
      if owner != nil || group != nil {
        script += " && chown -- \(ShellQuoting.quote((owner ?? "") + (group.map { ":" + $0 } ?? ""))) \(ShellQuoting.quote(directory))"
      }
      plan.steps.append(.shell(.create, "directory \(directory)", script))
      plan.diffs.append(.attribute(directory, before: "state: absent\n", after: "state: directory\n"))
    }
    for (file, state) in zip(files, current.files) {
      let one = file.plan(from: state)
      if let failure = one.failure { return .failed(failure, result: plan.result) }
      plan.steps += one.steps
      plan.diffs += one.diffs
    }
    return plan
  }
}
