import Foundation
import Inventory
import Provision

// A config-file template of about 1,000 output lines: loops over hosts and ports, conditions,
// filters and a macro, the shapes Ansible roles render into /etc.
let source = """
  # {{ ansible_managed }}
  {% macro upstream(name, hosts, port) -%}
  upstream {{ name }} {
  {% for h in hosts %}    server {{ h.address }}:{{ port }}{% if h.backup | default(false) %} backup{% endif %};
  {% endfor %}}
  {%- endmacro %}
  {% for service in services %}
  # service {{ loop.index }} of {{ loop.length }}: {{ service.name | upper }}
  {{ upstream(service.name, hosts, service.port) }}
  server {
      listen {{ service.port + 10000 }};
      server_name {{ service.name }}.{{ domain }};
  {% for path in service.paths | sort %}
      location {{ path }} { proxy_pass http://{{ service.name }}; }
  {% endfor %}
  {% if service.tls | bool %}
      ssl_certificate /etc/ssl/{{ service.name | replace('-', '_') }}.pem;
  {% else %}
      # plain http for {{ service.name ~ ' on ' ~ service.port }}
  {% endif %}
  }
  {% endfor %}
  """

func makeContext() -> DictionaryTemplateContext {
  let hosts: [Value] = (1...12).map { i in
    .dict(["address": .string("10.0.1.\(i)"), "backup": .bool(i % 5 == 0)])
  }
  let services: [Value] = (1...42).map { i in
    .dict([
      "name": .string("svc-\(i)"), "port": .int(8000 + i), "tls": .string(i % 2 == 0 ? "yes" : "no"),
      "paths": .list(["/z", "/api", "/health", "/static"].map { .string($0) }),
    ])
  }
  return DictionaryTemplateContext([
    "ansible_managed": "managed by provision", "domain": "example.com", "hosts": .list(hosts),
    "services": .list(services),
  ])
}

func best(of runs: Int, _ body: () throws -> Void) rethrows -> Double {
  var best = Double.infinity
  for _ in 0..<runs {
    let start = DispatchTime.now().uptimeNanoseconds
    try body()
    best = min(best, Double(DispatchTime.now().uptimeNanoseconds - start) / 1e9)
  }
  return best
}

let context = makeContext()
let compileTime = try best(of: 5) { _ = try Template(source, name: "bench.conf.j2") }
let template = try Template(source, name: "bench.conf.j2")
var output = ""
let renderTime = try best(of: 5) { output = try template.render(context) }
let lines = output.split(separator: "\n", omittingEmptySubsequences: false).count

// `when` over 10,000 loop items: the condition is compiled once, as the engine does.
let items: [Value] = (0..<10_000).map { i in
  .dict(["name": .string("web-\(i)"), "port": .int(i), "enabled": .bool(i % 3 != 0)])
}
let condition = try CompiledExpression(
  "item.enabled and item.port > 1024 and item.name is match('web-[0-9]+') and item.name not in skip")
let whenContext = DictionaryTemplateContext(["skip": .list(["web-2000", "web-3000"])])
var trueCount = 0
let whenTime = try best(of: 5) {
  trueCount = 0
  for item in items {
    whenContext.variables["item"] = item
    if try condition.isTrue(whenContext) { trueCount += 1 }
  }
}

print(String(format: "template: %d lines, compile %.2f ms, render %.2f ms (%.0f lines/ms)",
  lines, compileTime * 1e3, renderTime * 1e3, Double(lines) / (renderTime * 1e3)))
print(String(format: "when: 10000 items (%d true) in %.2f ms = %.1f us per item",
  trueCount, whenTime * 1e3, whenTime * 1e6 / 10_000))
