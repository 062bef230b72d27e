import Foundation
import Inventory
import Testing

@testable import Provision

/// Keeps every event of a run, for assertions.
final class RecordingReporter: RunReporter {
  var results: [(task: String, result: TaskResult)] = []
  var tasks: [String] = []
  var warnings: [String] = []
  var recap: RunRecap?

  func playStarted(_ play: Play) {}
  func taskStarted(_ title: String, task: PlaybookTask?, isHandler: Bool) { tasks.append(title) }
  /// For each result, the header printed last before it.
  var headers: [String] = []
  func hostFinished(_ result: TaskResult, task: PlaybookTask?) {
    results.append((task?.displayName ?? "Gathering Facts", result))
    headers.append(tasks.last ?? "")
  }
  func warning(_ message: String) { warnings.append(message) }
  func notice(_ message: String) {}
  func runFinished(_ recap: RunRecap) { self.recap = recap }

  func stats(_ host: String) -> HostStats? { recap?.hosts.first { $0.name == host }?.stats }
  func changedTasks(_ host: String) -> [String] {
    results.filter { $0.result.host == host && $0.result.status == .changed }.map(\.task)
  }
}

/// The engine end to end over the local transport: real shell commands in a temporary
/// directory, one directory per inventory host.
@Suite(.serialized) struct EngineLocalTests {
  let root: URL

  init() throws {
    root = FileManager.default.temporaryDirectory.appendingPathComponent("engine-\(UUID())")
    try FileManager.default.createDirectory(at: root, withIntermediateDirectories: true)
  }

  func write(_ name: String, _ text: String) throws -> String {
    let url = root.appendingPathComponent(name)
    try FileManager.default.createDirectory(at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
    try text.write(to: url, atomically: true, encoding: .utf8)
    return url.path
  }

  /// A play connects to its hosts at its start only when its first task runs on them: one that
  /// starts on the controller may be waiting for them to come up.
  @Test func aPlayConnectsAtItsStartOnlyWhenItStartsOnItsHosts() throws {
    let inv = try InventoryLoader.load(iniText: "h1\n", file: "hosts")
    func starts(_ tasks: String, tags: [String] = []) throws -> Bool {
      var options = RunOptions()
      options.tags = tags
      let runner = PlaybookRunner(inventory: inv, options: options, reporter: RecordingReporter())
      let path = try write("p\(UUID()).yml", "- hosts: all\n  gather_facts: false\n  tasks:\n" + tasks)
      return runner.startsOnItsHosts(try PlaybookLoader.load(path).plays[0])
    }
    #expect(try starts("    - command: 'true'\n"))
    #expect(try !starts("    - local_action: command true\n    - command: 'true'\n"))
    #expect(try !starts("    - command: 'true'\n      delegate_to: localhost\n"))
    #expect(try !starts("    - debug: msg=hi\n    - command: 'true'\n"))
    #expect(try !starts("    - block:\n        - command: 'true'\n"))
    #expect(try !starts("    - command: 'true'\n      remote_user: deploy\n"))
    #expect(try !starts("    - command: 'true'\n      vars: {ansible_port: 2222}\n"))
    #expect(try starts("    - command: 'true'\n      vars: {port: 2222}\n"))
    let tagged = "    - local_action: command true\n      tags: [wait]\n    - command: 'true'\n      tags: [work]\n"
    #expect(try starts(tagged, tags: ["work"]))
    #expect(try !starts(tagged))
  }

  func run(_ playbook: String, check: Bool = false, extra: OrderedDict = [:], inventory: String? = nil) async throws -> RecordingReporter {
    let inv = try InventoryLoader.load(iniText: inventory ?? "h1 ansible_connection=local\nh2 ansible_connection=local\n", file: "hosts")
    var options = RunOptions()
    options.check = check
    options.diff = true
    options.extraVars = extra
    options.extraVars["root"] = .string(root.path + "/hosts")
    let reporter = RecordingReporter()
    let runner = PlaybookRunner(inventory: inv, options: options, reporter: reporter)
    _ = await runner.run([try PlaybookLoader.load(playbook)])
    return reporter
  }

  /// Every file below the hosts' directory with its mode and content.
  func tree() throws -> [String: String] {
    var out: [String: String] = [:]
    let base = root.appendingPathComponent("hosts").path
    guard let e = FileManager.default.enumerator(atPath: base) else { return [:] }
    for case let rel as String in e {
      let path = base + "/" + rel
      let attrs = try FileManager.default.attributesOfItem(atPath: path)
      let mode = String((attrs[.posixPermissions] as? Int) ?? 0, radix: 8)
      let content = (try? String(contentsOfFile: path, encoding: .utf8)) ?? "<dir>"
      out[rel] = mode + " " + content
    }
    return out
  }

  static let site = """
    - hosts: all
      gather_facts: false
      vars:
        dir: "{{ root }}/{{ inventory_hostname }}"
      tasks:
        - name: directory
          file: { path: "{{ dir }}/conf.d", state: directory, mode: "0750" }
        - name: config
          copy: { content: "name={{ inventory_hostname }}\\n", dest: "{{ dir }}/conf.d/app.conf", mode: "0640" }
          notify: reload
        - name: links
          file: { src: "{{ dir }}/conf.d/app.conf", path: "{{ dir }}/current", state: link }
        - name: once
          command: touch "{{ dir }}/ran once" creates="{{ dir }}/ran once"
        - name: looped
          file: { path: "{{ dir }}/{{ item }}", state: directory }
          loop: [a, "b c", "d'e"]
        - name: stale
          file: { path: "{{ dir }}/stale", state: absent }
        - name: read back
          command: cat "{{ dir }}/conf.d/app.conf"
          register: conf
          changed_when: false
        - name: check it
          assert: { that: ["conf.stdout == 'name=' ~ inventory_hostname"] }
      handlers:
        - name: reload
          command: touch "{{ dir }}/reloaded"
    """

  @Test func secondRunChangesNothing() async throws {
    let playbook = try write("site.yml", Self.site)
    let first = try await run(playbook)
    #expect(first.recap?.exitStatus == 0)
    #expect(first.stats("h1") == HostStats(ok: 9, changed: 6))
    #expect(first.changedTasks("h1") == ["directory", "config", "links", "once", "looped", "reload"])
    let tree = try tree()
    #expect(tree["h1/conf.d/app.conf"] == "640 name=h1\n")
    #expect(tree["h2/conf.d"] == "750 <dir>")
    #expect(tree["h1/b c"] == "755 <dir>")
    #expect(tree["h2/reloaded"] != nil)
    let second = try await run(playbook)
    #expect(second.stats("h1")?.changed == 0)
    #expect(second.stats("h2")?.changed == 0)
    #expect(second.tasks.contains("reload") == false)
    #expect(try self.tree() == tree)
  }

  /// `strategy: free`: h1's first task waits for a file that h2 writes in its second task,
  /// which only works when h2 need not wait for h1 to finish the first (with `linear`, h1
  /// gives up after five seconds and fails). Every result comes under its own task's header.
  @Test func freeStrategyLetsEachHostGoAtItsOwnPace() async throws {
    let playbook = try write(
      "free.yml",
      """
      - hosts: all
        gather_facts: false
        strategy: free
        vars:
          marker: "{{ root }}/marker"
        tasks:
          - name: wait for h2
            shell: for i in $(seq 50); do [ -e '{{ marker }}' ] && exit 0; sleep 0.1; done; exit 1
            when: inventory_hostname == 'h1'
          - name: write the marker
            shell: mkdir -p '{{ root }}' && touch '{{ marker }}'
            when: inventory_hostname == 'h2'
          - name: both
            command: "true"
            notify: done
        handlers:
          - name: done
            debug: { msg: handled }
      """)
    let recording = try await run(playbook)
    #expect(recording.recap?.exitStatus == 0)
    #expect(recording.stats("h1") == HostStats(ok: 3, changed: 2, skipped: 1))
    #expect(recording.stats("h2") == HostStats(ok: 3, changed: 2, skipped: 1))
    // h1's wait succeeded, so h2 wrote the marker while h1 was still at its first task.
    #expect(recording.results.contains { $0.result.host == "h1" && $0.task == "wait for h2" && $0.result.status == .changed })
    #expect(zip(recording.results, recording.headers).allSatisfy { $0.0.task == $0.1 }, "\(recording.tasks)")
  }

  @Test func checkModeChangesNothingAndPredictsTheRealRun() async throws {
    let playbook = try write("site.yml", Self.site)
    _ = try await run(playbook)
    // Drift: a changed file, a wrong mode, a stale directory, a removed directory.
    try "edited\n".write(toFile: root.path + "/hosts/h1/conf.d/app.conf", atomically: true, encoding: .utf8)
    try FileManager.default.setAttributes([.posixPermissions: 0o777], ofItemAtPath: root.path + "/hosts/h2/conf.d")
    try FileManager.default.createDirectory(atPath: root.path + "/hosts/h2/stale", withIntermediateDirectories: true)
    try FileManager.default.removeItem(atPath: root.path + "/hosts/h1/a")
    let before = try tree()
    let check = try await run(playbook, check: true)
    #expect(try tree() == before)
    let real = try await run(playbook)
    for host in ["h1", "h2"] {
      // The handler is a command: check mode skips it, as ansible-playbook --check does.
      #expect(check.changedTasks(host) == real.changedTasks(host).filter { $0 != "reload" })
    }
    #expect(real.changedTasks("h1") == ["config", "looped", "reload"])
    #expect(real.changedTasks("h2") == ["directory", "stale"])
    let diff = check.results.first { $0.task == "config" && $0.result.host == "h1" }?.result.diffs.first
    #expect(diff?.before == "edited\n")
    #expect(diff?.after == "name=h1\n")
  }

  @Test func aFailingHostLeavesThePlayAndTheOthersGoOn() async throws {
    let playbook = try write(
      "fail.yml",
      """
      - hosts: all
        gather_facts: false
        tasks:
          - name: breaks on h2
            command: /bin/false
            when: inventory_hostname == 'h2'
          - name: after
            debug: { msg: "still here" }
          - block:
              - fail: { msg: boom }
            rescue:
              - name: rescued
                debug: { msg: "{{ ansible_failed_result.msg }}" }
            always:
              - name: always
                debug: { msg: always }
          - name: ignored
            command: /bin/false
            ignore_errors: true
          - name: retried
            shell: echo $(( $(cat {{ root }}/n 2>/dev/null || echo 0) + 1 )) > {{ root }}/n; cat {{ root }}/n
            register: n
            until: n.stdout | int >= 3
            retries: 5
            delay: 0
            run_once: true
      """)
    try FileManager.default.createDirectory(atPath: root.path + "/hosts", withIntermediateDirectories: true)
    let r = try await run(playbook)
    #expect(r.recap?.exitStatus == 2)
    #expect(r.stats("h2") == HostStats(ok: 0, changed: 0, unreachable: 0, failures: 1, skipped: 0))
    #expect(r.stats("h1") == HostStats(ok: 5, changed: 2, failures: 0, skipped: 1, rescued: 1, ignored: 1))
    let rescued = r.results.first { $0.task == "rescued" }?.result.result["msg"]
    #expect(rescued == "boom")
    let retried = r.results.first { $0.task == "retried" }?.result.result
    #expect(retried?["attempts"] == 3)
    #expect(r.results.filter { $0.task == "retried" }.count == 1)
  }

  @Test func anUnreachableHostIsReportedAndTheOthersGoOn() async throws {
    let playbook = try write(
      "ping.yml",
      """
      - hosts: all
        gather_facts: false
        tasks:
          - ping:
          - name: second
            file: { path: "{{ root }}/{{ inventory_hostname }}", state: directory }
      """)
    let r = try await run(
      playbook,
      inventory: "h1 ansible_connection=local\ngone ansible_host=127.0.0.1 ansible_port=1 ansible_user=nobody\n")
    #expect(r.recap?.exitStatus == 4)
    #expect(r.stats("gone")?.unreachable == 1)
    #expect(r.stats("h1") == HostStats(ok: 2, changed: 1))
    #expect(r.results.filter { $0.result.host == "gone" }.count == 1)
  }

  @Test func copyPutsADirectoryTreeAndThenChangesNothing() async throws {
    _ = try write("files/conf/a.conf", "a\n")
    _ = try write("files/conf/sub dir/b's.conf", "b\n")
    let playbook = try write(
      "tree.yml",
      """
      - hosts: h1
        gather_facts: false
        tasks:
          - name: the directory itself
            copy: { src: conf, dest: "{{ root }}/one", mode: "0640", directory_mode: "0750" }
          - name: its contents
            copy: { src: conf/, dest: "{{ root }}/two" }
      """)
    let first = try await run(playbook)
    #expect(first.recap?.exitStatus == 0, "\(first.results.map { $0.result.result })")
    #expect(first.changedTasks("h1") == ["the directory itself", "its contents"])
    let tree = try tree()
    #expect(tree["one/conf/a.conf"] == "640 a\n")
    #expect(tree["one/conf/sub dir"] == "750 <dir>")
    #expect(tree["one/conf/sub dir/b's.conf"] == "640 b\n")
    #expect(tree["two/a.conf"] == "644 a\n")
    #expect(tree["two/conf"] == nil)
    let second = try await run(playbook)
    #expect(second.changedTasks("h1") == [])
    _ = try write("hosts/two/sub dir/b's.conf", "drifted\n")
    let third = try await run(playbook)
    #expect(third.changedTasks("h1") == ["its contents"])
    #expect(try self.tree()["two/sub dir/b's.conf"] == "644 b\n")
  }

  @Test(arguments: [
    ([String](), [String](), ["untagged", "a", "always"]),
    (["a"], [], ["a", "always"]),
    (["never"], [], ["never", "always"]),
    ([], ["always"], ["untagged", "a"]),
    (["tagged"], [], ["a", "always"]),
    (["untagged"], [], ["untagged", "always"]),
    ([], ["all"], ["always"]),
    (["all"], ["a"], ["untagged", "always"]),
  ])
  func tags(only: [String], skip: [String], expected: [String]) async throws {
    let playbook = try write(
      "tags.yml",
      """
      - hosts: h1
        gather_facts: false
        tasks:
          - { name: untagged, debug: { msg: x } }
          - { name: a, debug: { msg: x }, tags: a }
          - { name: never, debug: { msg: x }, tags: [never] }
          - { name: always, debug: { msg: x }, tags: [always] }
      """)
    let inv = try InventoryLoader.load(iniText: "h1 ansible_connection=local\n", file: "hosts")
    var options = RunOptions()
    options.tags = only
    options.skipTags = skip
    let reporter = RecordingReporter()
    _ = await PlaybookRunner(inventory: inv, options: options, reporter: reporter).run([try PlaybookLoader.load(playbook)])
    #expect(reporter.tasks == expected)
  }

  /// A loop over `dictsort` gets Python's tuples: they print as `('http', 80)` in templates and
  /// in the item label, and a module argument holding them gets lists, as JSON has no tuple.
  @Test func tuplesPrintAsPythonAndReachModulesAsLists() async throws {
    let playbook = try write(
      "tuples.yml",
      """
      - hosts: h1
        gather_facts: false
        vars:
          dir: "{{ root }}/{{ inventory_hostname }}"
          ports: { https: 443, http: 80 }
        tasks:
          - file: { path: "{{ dir }}", state: directory }
          - name: pairs
            copy: { content: "{{ item }} {{ item.0 }}={{ item[1] }}\\n", dest: "{{ dir }}/{{ item.0 }}" }
            loop: "{{ ports | dictsort }}"
          - name: argument
            copy: { content: "{{ ports | dictsort }}", dest: "{{ dir }}/all" }
      """)
    let reporter = try await run(playbook)
    #expect(reporter.recap?.exitStatus == 0)
    let tree = try tree()
    #expect(tree["h1/http"] == "644 ('http', 80) http=80\n")
    #expect(tree["h1/https"] == "644 ('https', 443) https=443\n")
    #expect(tree["h1/all"] == "644 [[\"http\", 80], [\"https\", 443]]")
    let labels = reporter.results.filter { $0.0 == "pairs" }.flatMap { $0.1.items.map(\.label) }
    #expect(labels == ["('http', 80)", "('https', 443)"])
  }
}
