import Foundation
import Inventory

/// What every host's task can see of the run: all hosts' state, groups, transports.
final class RunShared: @unchecked Sendable {
  let options: RunOptions
  private let lock = NSLock()
  private var _hosts: [String: HostState] = [:]
  private var _inventory: Inventory
  private var transports: [String: any Transport] = [:]
  /// The placeholder that `omit` stands for; arguments equal to it are dropped.
  let omit = "__omit_place_holder__" + RenderedCommand.randomToken()

  init(inventory: Inventory, options: RunOptions) {
    _inventory = inventory
    self.options = options
  }

  var inventory: Inventory {
    get { lock.withLock { _inventory } }
    set { lock.withLock { _inventory = newValue } }
  }

  /// The state of `name`, made from the inventory on first use.
  func host(_ name: String) -> HostState {
    lock.withLock {
      if let h = _hosts[name] { return h }
      let vars = _inventory.variables(of: name)
      let h = HostState(name: name, inventoryVars: vars, groups: _inventory.hosts[name]?.groups ?? [])
      _hosts[name] = h
      return h
    }
  }

  var allHosts: [HostState] { lock.withLock { Array(_hosts.values) } }

  /// `hostvars`: every inventory host's variables as other hosts see them.
  func hostvars() -> Value {
    let names = inventory.hostOrder
    var out = OrderedDict(minimumCapacity: names.count)
    for name in names { out[name] = .dict(host(name).visibleVariables) }
    return .dict(out)
  }

  /// `groups`: each group's hosts, `all` and `ungrouped` included.
  func groups() -> Value {
    let inv = inventory
    var out = OrderedDict()
    out["all"] = .list(inv.hostOrder.map(Value.string))
    for name in inv.groupOrder where name != "all" {
      let members = (try? inv.select(name).hosts) ?? []
      out[name] = .list(members.map(Value.string))
    }
    return .dict(out)
  }

  /// The connection to `name`, opened on first use and kept for the whole run.
  func transport(for name: String, variables: OrderedDict, remoteUser: String?) -> any Transport {
    lock.withLock {
      if let t = transports[name] { return t }
      var vars = variables
      if vars["ansible_user"] == nil && vars["ansible_ssh_user"] == nil {
        if let remoteUser { vars["ansible_user"] = .string(remoteUser) } else if let u = options.user { vars["ansible_user"] = .string(u) }
      }
      if let key = options.privateKey { vars["ansible_ssh_private_key_file"] = .string(key) }
      if let password = options.sshPassword { vars["ansible_password"] = .string(password) }
      var settings = ConnectionSettings.resolve(host: name, variables: vars, sshConfig: options.sshConfig)
      settings.passphrase = options.passphrase
      if let t = options.connectTimeout { settings.connectTimeout = t }
      let t = settings.makeTransport()
      transports[name] = t
      return t
    }
  }

  /// Closes every connection.
  func closeAll() async {
    let all = lock.withLock { Array(transports.values) }
    await withTaskGroup(of: Void.self) { group in
      for t in all { group.addTask { await t.close() } }
    }
  }
}
