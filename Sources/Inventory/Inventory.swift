/// Hosts, groups and their variables, as read from one or more inventory sources.
///
/// Mirrors Ansible's inventory model: every group but `all` descends from `all`, hosts in no
/// group belong to `ungrouped`, and groups and hosts keep the order they were first seen in.
public struct Inventory: Sendable {
  public struct Host: Sendable, Equatable {
    public var name: String
    /// Variables set on the host itself (inline in the inventory), in the order set.
    public var vars: OrderedDict = OrderedDict()
    /// Groups the host was put in directly, in order.
    public var groups: [String] = []
    public var location: SourceLocation?
  }

  public struct Group: Sendable, Equatable {
    public var name: String
    public var vars: OrderedDict = OrderedDict()
    public var hosts: [String] = []
    public var children: [String] = []
    public var parents: [String] = []
    /// `ansible_group_priority`: among groups of the same depth, higher wins.
    public var priority: Int = 1
    public var location: SourceLocation?
  }

  public private(set) var hosts: [String: Host] = [:]
  public private(set) var hostOrder: [String] = []
  public private(set) var groups: [String: Group] = [:]
  public private(set) var groupOrder: [String] = []
  /// Which hosts are directly in which group, for constant-time membership checks.
  private var members: Set<Member> = []

  private struct Member: Hashable, Sendable {
    var group: String
    var host: String
  }
  /// Variables from `group_vars/` and `host_vars/` files, per source directory, in load order.
  public var groupVarsFiles: [String: [OrderedDict]] = [:]
  public var hostVarsFiles: [String: [OrderedDict]] = [:]
  /// Non-fatal findings, such as a host that is also a group name.
  public var warnings: [Diagnostic] = []

  public init() {
    addGroup("all")
    addGroup("ungrouped")
    try? addChild("ungrouped", to: "all")
  }

  // MARK: Building

  /// Adds a group if it is new; returns its name.
  @discardableResult
  public mutating func addGroup(_ name: String, at location: SourceLocation? = nil) -> String {
    if groups[name] == nil {
      groups[name] = Group(name: name, location: location)
      groupOrder.append(name)
    }
    return name
  }

  /// Adds a host if it is new, and puts it in `group` when one is named.
  public mutating func addHost(_ name: String, group: String?, at location: SourceLocation? = nil) {
    if hosts[name] == nil {
      hosts[name] = Host(name: name, location: location)
      hostOrder.append(name)
    }
    guard let group else { return }
    addGroup(group)
    guard members.insert(Member(group: group, host: name)).inserted else { return }
    groups[group]?.hosts.append(name)
    hosts[name]?.groups.append(group)
  }

  /// Makes `child` a child group of `parent`; refuses loops.
  public mutating func addChild(
    _ child: String, to parent: String, at location: SourceLocation? = nil
  ) throws(InventoryError) {
    addGroup(parent)
    addGroup(child)
    if child == parent || ancestors(of: parent).contains(child) {
      throw InventoryError(.recursiveGroup(parent: parent, child: child), at: location)
    }
    if !(groups[parent]?.children.contains(child) ?? true) { groups[parent]?.children.append(child) }
    if !(groups[child]?.parents.contains(parent) ?? true) { groups[child]?.parents.append(parent) }
  }

  /// The same inventory with only `hostNames` left in it (as `ansible-inventory --limit` shows).
  public func restricted(to hostNames: [String]) -> Inventory {
    let keep = Set(hostNames)
    var copy = self
    copy.hostOrder = hostOrder.filter { keep.contains($0) }
    copy.hosts = hosts.filter { keep.contains($0.key) }
    copy.members = members.filter { keep.contains($0.host) }
    for name in groupOrder { copy.groups[name]?.hosts.removeAll { !keep.contains($0) } }
    return copy
  }

  public mutating func setGroupVariable(_ group: String, _ key: String, _ value: Value) {
    addGroup(group)
    if key == "ansible_group_priority" {
      groups[group]?.priority = Inventory.intValue(value) ?? 1
    } else {
      groups[group]?.vars[key] = value
    }
  }

  public mutating func setHostVariable(_ host: String, _ key: String, _ value: Value) {
    hosts[host]?.vars[key] = value
  }

  private static func intValue(_ value: Value) -> Int? {
    switch value {
    case .int(let i): return i
    case .string(let s): return Int(s)
    case .double(let d): return Int(d)
    default: return nil
    }
  }

  /// What Ansible does after every source is read: groups without parents become children of
  /// `all`, and hosts in no group but `all` go to `ungrouped` (and leave it when in another).
  public mutating func reconcile() {
    for name in groupOrder where name != "all" && ancestors(of: name).isEmpty {
      try? addChild(name, to: "all")
    }
    var leavingUngrouped: Set<String> = []
    defer { groups["ungrouped"]?.hosts.removeAll { leavingUngrouped.contains($0) } }
    for name in hostOrder {
      guard let host = hosts[name] else { continue }
      let others = host.groups.filter { $0 != "all" && $0 != "ungrouped" }
      if host.groups.contains("ungrouped") {
        if !others.isEmpty {
          hosts[name]?.groups.removeAll { $0 == "ungrouped" }
          members.remove(Member(group: "ungrouped", host: name))
          leavingUngrouped.insert(name)
        }
      } else if others.isEmpty {
        addHost(name, group: "ungrouped")
      }
    }
    for name in groupOrder where hosts[name] != nil {
      warnings.append(
        Diagnostic(.warning, at: groups[name]?.location, "found both group and host with same name: \(name)"))
    }
  }

  // MARK: Queries

  /// Every group above `group`, nearest first.
  public func ancestors(of group: String) -> [String] {
    var result: [String] = []
    var queue = groups[group]?.parents ?? []
    var seen: Set<String> = []
    while !queue.isEmpty {
      let g = queue.removeFirst()
      guard seen.insert(g).inserted else { continue }
      result.append(g)
      queue.append(contentsOf: groups[g]?.parents ?? [])
    }
    return result
  }

  /// `group` and every group below it, breadth first in declaration order.
  public func descendants(of group: String) -> [String] {
    var result: [String] = []
    var queue = [group]
    var seen: Set<String> = []
    while !queue.isEmpty {
      let g = queue.removeFirst()
      guard seen.insert(g).inserted else { continue }
      result.append(g)
      queue.append(contentsOf: groups[g]?.children ?? [])
    }
    return result
  }

  /// Hosts in `group` or any group below it, in inventory order, each once.
  public func hosts(in group: String) -> [String] {
    var seen: Set<String> = []
    var result: [String] = []
    for g in descendants(of: group) {
      for h in groups[g]?.hosts ?? [] where seen.insert(h).inserted {
        result.append(h)
      }
    }
    return result
  }

  /// Every group the host is in, directly or through a parent, including `all`.
  public func allGroups(of host: String) -> [String] {
    var result: [String] = []
    var seen: Set<String> = []
    for g in hosts[host]?.groups ?? [] {
      for a in [g] + ancestors(of: g) where seen.insert(a).inserted {
        result.append(a)
      }
    }
    if seen.insert("all").inserted { result.append("all") }
    return result
  }

  /// A group's depth: `all` is 0, its children 1, and so on along the longest path.
  public func depth(of group: String) -> Int {
    var memo: [String: Int] = [:]
    return depth(of: group, memo: &memo, visiting: [])
  }

  private func depth(of group: String, memo: inout [String: Int], visiting: Set<String>) -> Int {
    if let d = memo[group] { return d }
    let parents = groups[group]?.parents ?? []
    var d = 0
    for p in parents where !visiting.contains(p) {
      d = max(d, depth(of: p, memo: &memo, visiting: visiting.union([group])) + 1)
    }
    memo[group] = d
    return d
  }

  /// The host's groups except `all`, in the order Ansible merges their variables:
  /// by depth, then `ansible_group_priority`, then name.
  public func sortedGroups(of host: String) -> [String] {
    var memo: [String: Int] = [:]
    return sortedGroups(of: host, depths: &memo)
  }

  /// `sortedGroups(of:)` with a depth memo that callers looping over hosts share, so that
  /// depths are worked out once per group rather than once per comparison.
  func sortedGroups(of host: String, depths memo: inout [String: Int]) -> [String] {
    let keyed = allGroups(of: host).filter { $0 != "all" }.map { g in
      (name: g, depth: depth(of: g, memo: &memo, visiting: []), priority: groups[g]?.priority ?? 1)
    }
    return keyed.sorted { a, b in
      if a.depth != b.depth { return a.depth < b.depth }
      if a.priority != b.priority { return a.priority < b.priority }
      return Value.pythonStringOrder(a.name, b.name)
    }.map(\.name)
  }

  /// The host's variables as Ansible merges them from inventory sources (lowest first):
  /// `all` group vars, other group vars by `sortedGroups`, `group_vars/all`, `group_vars/<g>`,
  /// host vars, `host_vars/<host>`. Top-level keys replace, as with `hash_behaviour=replace`.
  public func variables(of host: String) -> OrderedDict {
    var memo: [String: Int] = [:]
    return variables(of: host, depths: &memo)
  }

  func variables(of host: String, depths memo: inout [String: Int]) -> OrderedDict {
    var result = OrderedDict()
    func merge(_ d: OrderedDict?) {
      guard let d else { return }
      for (k, v) in d { result[k] = v }
    }
    let ordered = sortedGroups(of: host, depths: &memo)
    merge(groups["all"]?.vars)
    for g in ordered { merge(groups[g]?.vars) }
    for d in groupVarsFiles["all"] ?? [] { merge(d) }
    for g in ordered {
      for d in groupVarsFiles[g] ?? [] { merge(d) }
    }
    merge(hosts[host]?.vars)
    for d in hostVarsFiles[host] ?? [] { merge(d) }
    return result
  }

  /// The group's own variables merged with its `group_vars/` files.
  public func groupVariables(of group: String) -> OrderedDict {
    var result = groups[group]?.vars ?? OrderedDict()
    for d in groupVarsFiles[group] ?? [] {
      for (k, v) in d { result[k] = v }
    }
    return result
  }
}
