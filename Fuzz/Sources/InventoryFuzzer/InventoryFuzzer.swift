import Inventory
import Provision

// libFuzzer calls this once per input. Its driver is started from FuzzerEntry.c (linked in as
// a dependency, nothing to import); the module is compiled with `-parse-as-library` so that
// Swift emits no `main` of its own.
//
// Every input goes through each reader that takes text from a user: the YAML loader (and the
// typed values and diagnostics built from its result), and both inventory formats with the
// views `provision inventory` prints, and the template language (as a template, as an
// expression and as a `when` condition). Errors are expected and ignored; only crashes,
// sanitizer reports, leaks and hangs count.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
  let bytes = Array(UnsafeBufferPointer(start: data, count: size))
  loadYAML(bytes)
  // The inventory readers take `String`, which only exists for valid UTF-8.
  guard let text = String(validating: bytes, as: UTF8.self) else { return 0 }
  do {
    exercise(try InventoryLoader.load(iniText: text, file: "fuzz.ini"))
  } catch {
    _ = error.diagnostic.description
  }
  do {
    exercise(try InventoryLoader.load(yamlText: text, file: "fuzz.yml"))
  } catch {
    _ = error.diagnostic.description
  }
  renderTemplate(text)
  return 0
}

/// Variables a template under test can reach: every kind of value, nested.
// libFuzzer calls the harness from one thread only.
nonisolated(unsafe) private let templateContext = DictionaryTemplateContext([
  "s": "text", "n": 42, "f": 1.5, "b": true, "none": .null, "l": [1, "two", [3]],
  "d": ["k": "v", "nested": ["x": [1, 2]]], "ansible_managed": "managed",
])

private func renderTemplate(_ text: String) {
  do {
    _ = try Template(text, name: "fuzz.j2").render(templateContext)
  } catch {
    _ = "\(error)"
  }
  _ = try? Template.evaluate(expression: text, context: templateContext)
  _ = try? Template.evaluateCondition(text, context: templateContext)
}

private func loadYAML(_ bytes: [UInt8]) {
  do {
    for document in try YAMLLoader.load(bytes, file: "fuzz.yml") {
      _ = document.value.jsonString()
      _ = document.kindDescription
      walk(document)
    }
  } catch {
    _ = error.diagnostic.description
  }
}

/// Touches what playbook code reads from a tree: key text and typed values at every depth.
private func walk(_ node: YAMLNode) {
  switch node.content {
  case .scalar: _ = node.keyString
  case .sequence(let items): items.forEach(walk)
  case .mapping(let pairs):
    for pair in pairs {
      _ = pair.key.keyString
      walk(pair.value)
    }
  }
}

/// Patterns that reach every branch of `select`: globs, regexes, unions, intersections,
/// exclusions and subscripts, plus the names the input itself defines.
private let fixedPatterns = [
  "all", "*", "ungrouped", "web*:&db*", "all:!ungrouped", "~^[a-m].*", "all[0]", "all[-1]",
  "all[1:3]", "all[2:]", "a?c,b[0-9]*",
]

private func exercise(_ inventory: Inventory) {
  // Every view below is linear in hosts, but a few lines can name 100,000 hosts, and printing
  // or selecting that many under AddressSanitizer passes libFuzzer's 10 s limit.
  guard inventory.hostOrder.count <= 5_000 else { return }
  _ = inventory.listing().jsonString()
  _ = inventory.listing().jsonString(.ansibleInventory)
  _ = inventory.graph()
  _ = inventory.warnings.map(\.description)
  var patterns = fixedPatterns
  if let group = inventory.groupOrder.last { patterns += [group, "\(group)[0]", "!\(group)"] }
  if let host = inventory.hostOrder.first { patterns += [host, "all:&\(host)"] }
  for pattern in patterns {
    do {
      let selection = try inventory.select(pattern, limit: "all:!\(fixedPatterns[2])")
      _ = inventory.restricted(to: selection.hosts).graph()
    } catch {
      _ = error.diagnostic.description
    }
  }
}
