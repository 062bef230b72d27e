import Foundation
import Inventory

// Usage: YAMLThroughput [MEGABYTES] [--write PATH] [--once | --once-tree]
//   MEGABYTES    size of the generated playbook (default 5)
//   --write      also save the generated YAML, to look at it or to profile with another tool
//   --once       one tree+values pass and no timing, for callgrind or perf
//   --once-tree  the same, trees only
var megabytes = 5.0
var writePath: String?
var once: Bool?  // the `values` argument of the single pass
var arguments = CommandLine.arguments.dropFirst()
while let argument = arguments.popFirst() {
  switch argument {
  case "--write": writePath = arguments.popFirst()
  case "--once": once = true
  case "--once-tree": once = false
  default:
    guard let value = Double(argument), value > 0 else {
      let usage = "usage: YAMLThroughput [MEGABYTES] [--write PATH] [--once | --once-tree]\n"
      FileHandle.standardError.write(Data(usage.utf8))
      exit(2)
    }
    megabytes = value
  }
}

let bytes = Array(PlaybookGenerator.playbook(bytes: Int(megabytes * 1_000_000)).utf8)
if let writePath {
  FileManager.default.createFile(atPath: writePath, contents: Data(bytes))
}

/// Loads the playbook and, with `values`, converts every document to `Value` as variable code
/// does; returns a count derived from the result so the work cannot be optimized away.
func parse(values: Bool) -> Int {
  do {
    let documents = try YAMLLoader.load(bytes, file: "bench.yml")
    guard values else { return documents.count }
    var plays = 0
    for document in documents {
      if case .list(let items) = document.value { plays += items.count }
    }
    return plays
  } catch {
    FileHandle.standardError.write(Data("yaml-throughput: \(error.diagnostic)\n".utf8))
    exit(1)
  }
}

if let values = once {
  print("result: \(parse(values: values))")
  exit(0)
}

/// The fastest of `runs` timings, in seconds: the least disturbed by other work on the machine.
func best(of runs: Int, values: Bool) -> Double {
  let clock = ContinuousClock()
  var fastest = Double.infinity
  for _ in 0..<runs {
    var result = 0
    let elapsed = clock.measure { result = parse(values: values) }
    precondition(result > 0)
    let c = elapsed.components
    fastest = min(fastest, Double(c.seconds) + Double(c.attoseconds) * 1e-18)
  }
  return fastest
}

_ = parse(values: true)  // warm-up: page in the code and the allocator's arenas
let tree = best(of: 5, values: false)
let treeAndValues = best(of: 5, values: true)
let mb = Double(bytes.count) / 1_000_000
print(
  String(
    format: "yaml: %.1f MB in %.3f s = %.1f MB/s (tree), %.1f MB/s (tree+values)",
    mb, tree, mb / tree, mb / treeAndValues))
