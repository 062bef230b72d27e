import Foundation
import Inventory

/// Ensures a user account exists with given properties, or does not: `user`.
///
/// Keys: `name` (`user`), `state` (present, absent), `uid`, `non_unique`, `group` (primary),
/// `groups`, `append`, `shell`, `home`, `move_home`, `create_home` (`createhome`), `system`,
/// `comment`, `password` (a crypt hash), `update_password` (always, on_create), `remove`,
/// `force`. `check` reads the account (`getent passwd`), its password hash (`/etc/shadow`, when
/// readable), the group database (`getent group`) and whether the home directories exist, in
/// one command; the plan is `useradd`, `usermod` or `userdel` with only the options that
/// differ, as Ansible's Linux implementation builds them, and creates a missing home
/// directory from `/etc/skel` when `create_home` is set. A new account is read back after
/// `useradd`, so the result has the uid, group, shell and home it chose. In check mode, groups
/// that earlier `group` tasks would create count as existing (`_pending`).
///
/// ```yaml
/// - user: { name: deploy, groups: [docker, sudo], append: true, shell: /bin/bash }
/// ```
public struct UserModule: Module {
  public static let name = "user"
  public static let arguments = ArgumentSpec([
    .init("name", required: true, aliases: ["user"]), .init("state", choices: ["absent", "present"], default: "present"),
    .init("uid", .int), .init("non_unique", .bool, default: false), .init("group"), .init("groups", .list),
    .init("append", .bool, default: false), .init("shell"), .init("home", .path), .init("move_home", .bool, default: false),
    .init("create_home", .bool, aliases: ["createhome"], default: true), .init("system", .bool, default: false),
    .init("comment"), .init("password"), .init("update_password", choices: ["always", "on_create"], default: "always"),
    .init("remove", .bool, default: false), .init("force", .bool, default: false), .init("skeleton"),
    .init("_pending", .dict),
  ])

  /// One line of the password database.
  public struct Account: Sendable, Equatable {
    var name: String
    var uid: Int
    var gid: Int
    var comment: String
    var home: String
    var shell: String

    /// Parses `name:x:uid:gid:comment:home:shell`; nil for anything else.
    static func parse(_ line: Substring) -> Account? {
      let f = line.split(separator: ":", omittingEmptySubsequences: false).map(String.init)
      guard f.count >= 7, let uid = Int(f[2]), let gid = Int(f[3]) else { return nil }
      return Account(name: f[0], uid: uid, gid: gid, comment: f[4], home: f[5], shell: f[6])
    }
  }

  public struct Current: Sendable, Equatable {
    var account: Account?
    /// The password hash from /etc/shadow; nil when it cannot be read.
    var passwordHash: String?
    var groups: [GroupModule.Entry]
    /// Whether the account's current home directory exists.
    var homeExists: Bool
    /// Whether `home` as asked exists, and whether its parent does.
    var wantedHomeExists: Bool
    var wantedHomeParentExists: Bool

    /// A group by name or, for digits, by GID.
    func group(_ nameOrID: String) -> GroupModule.Entry? {
      if let gid = Int(nameOrID), let g = groups.first(where: { $0.gid == gid }) { return g }
      return groups.first { $0.name == nameOrID }
    }
  }

  let user: String
  let present: Bool
  let uid: Int?
  let nonUnique: Bool
  let group: String?
  /// The supplementary groups, in order, without duplicates; nil when not given.
  let groups: [String]?
  let append: Bool
  let shell: String?
  let home: String?
  let moveHome: Bool
  let createHome: Bool
  let system: Bool
  let comment: String?
  let password: String?
  let updatePassword: Bool
  let remove: Bool
  let force: Bool
  let skeleton: String?
  /// Groups that earlier `group` tasks would have created, in check mode.
  let pendingGroups: [String]

  public init(_ arguments: ModuleArguments) throws {
    guard let name = arguments.string("name"), !name.isEmpty else { throw ModuleError("missing required argument 'name'") }
    user = name
    present = arguments.string("state") != "absent"
    uid = arguments.int("uid")
    nonUnique = arguments.bool("non_unique")
    group = arguments.string("group")
    if let list = arguments.list("groups") {
      var seen: [String] = []
      for g in list.map({ $0.trimmingCharacters(in: .whitespaces) }) where !g.isEmpty && !seen.contains(g) { seen.append(g) }
      groups = seen
    } else {
      groups = nil
    }
    append = arguments.bool("append")
    shell = arguments.string("shell")
    home = arguments.string("home")
    moveHome = arguments.bool("move_home")
    createHome = arguments.bool("create_home", default: true)
    system = arguments.bool("system")
    comment = arguments.string("comment")
    password = arguments.string("password")
    updatePassword = arguments.string("update_password") != "on_create"
    remove = arguments.bool("remove")
    force = arguments.bool("force")
    skeleton = arguments.string("skeleton")
    if case .dict(let pending)? = arguments["_pending"], case .list(let names)? = pending["groups"] {
      pendingGroups = names.compactMap(ModuleArguments.text)
    } else {
      pendingGroups = []
    }
  }

  /// The one command `check` runs: sections `#passwd`, `#shadow`, `#group`, `#home`, `#want`.
  var script: String {
    let q = ShellQuoting.quote
    let wanted = home ?? ""
    let parent = (wanted as NSString).deletingLastPathComponent
    return """
      n=\(q(user))
      echo '#passwd'; getent passwd "$n"
      echo '#shadow'; u="$n" awk -F: '$1 == ENVIRON["u"] { print $2 }' /etc/shadow 2>/dev/null || echo '?'
      echo '#group'; getent group
      echo '#home'; h=$(getent passwd "$n" | cut -d: -f6); if [ -n "$h" ] && [ -d "$h" ]; then echo y; else echo n; fi
      echo '#want'; if [ -d \(q(wanted.isEmpty ? "/" : wanted)) ]; then echo y; else echo n; fi; if [ -d \(q(parent.isEmpty ? "/" : parent)) ]; then echo y; else echo n; fi
      """
  }

  /// Reads what `script` printed.
  static func parse(_ output: String, user: String) -> Current {
    var sections: [String: [Substring]] = [:]
    var section = ""
    for line in output.split(separator: "\n", omittingEmptySubsequences: false) {
      if line.hasPrefix("#") && ["#passwd", "#shadow", "#group", "#home", "#want"].contains(String(line)) {
        section = String(line)
        sections[section] = []
      } else {
        sections[section, default: []].append(line)
      }
    }
    let account = sections["#passwd"]?.compactMap(Account.parse).first { $0.name == user }
    let shadow = sections["#shadow"]?.first.map(String.init)
    let want = sections["#want"] ?? []
    return Current(
      account: account, passwordHash: shadow == "?" || account == nil ? nil : shadow ?? "",
      groups: sections["#group"]?.compactMap(GroupModule.Entry.parse) ?? [],
      homeExists: sections["#home"]?.first == "y",
      wantedHomeExists: want.first == "y", wantedHomeParentExists: want.count > 1 && want[1] == "y")
  }

  public func check(on host: HostProbe) async throws -> Current {
    let result = try await host.run(script)
    guard result.succeeded || result.stdoutText.contains("#want") else {
      throw ModuleError("cannot read the account '\(user)': " + result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))
    }
    return Self.parse(result.stdoutText, user: user)
  }

  /// Creates `path` from the skeleton and gives it to the user, as Ansible's `create_homedir`.
  func createHomeStep(_ path: String, owner: String) -> Step {
    let q = ShellQuoting.quote
    let skel = skeleton ?? "/etc/skel"
    return .shell(
      .create, "home directory \(path)",
      "mkdir -p -- \(q(path)) && if [ -d \(q(skel)) ]; then cp -R \(q(skel))/. \(q(path)); fi && chown -R \(q(owner)): \(q(path))")
  }

  public func plan(from current: Current) throws -> Plan {
    var result: OrderedDict = ["name": .string(user), "state": .string(present ? "present" : "absent")]
    guard present else {
      guard current.account != nil else { return Plan(result: result) }
      var argv = ["userdel"]
      if force { argv.append("-f") }
      if remove { argv.append("-r") }
      result["force"] = .bool(force)
      result["remove"] = .bool(remove)
      return Plan(steps: [.argv(.remove, "user \(user)", argv + [user])], result: result)
    }
    for g in [group].compactMap({ $0 }) + (groups ?? []) where current.group(g) == nil && !pendingGroups.contains(g) {
      return .failed("Group \(g) does not exist", result: result)
    }
    var steps: [Step] = []
    let account = current.account
    var primaryGID = group.flatMap { current.group($0)?.gid }
    if let account {
      var argv = ["usermod"]
      if let uid, uid != account.uid {
        argv += ["-u", String(uid)] + (nonUnique ? ["-o"] : [])
      }
      if let group, let g = current.group(group), g.gid != account.gid { argv += ["-g", String(g.gid)] }
      if let groups {
        let member = current.groups.filter { $0.members.contains(user) }.map(\.name)
        let wanted = groups.compactMap { current.group($0)?.name ?? (pendingGroups.contains($0) ? $0 : nil) }
        if wanted.isEmpty {
          if !member.isEmpty && !append { argv += ["-G", ""] }
        } else {
          let difference = Set(member).symmetricDifference(wanted)
          if !difference.isEmpty {
            if append {
              if wanted.contains(where: difference.contains) { argv += ["-a", "-G", wanted.joined(separator: ",")] }
            } else {
              argv += ["-G", wanted.joined(separator: ",")]
            }
          }
        }
      }
      if let comment, comment != account.comment { argv += ["-c", comment] }
      if let home, home != account.home { argv += ["-d", home] + (moveHome ? ["-m"] : []) }
      if let shell, shell != account.shell { argv += ["-s", shell] }
      if updatePassword, let password,
        current.passwordHash.map({ $0.drop { $0 == "!" } != password.drop { $0 == "!" } }) ?? true
      {
        argv += ["-p", password]
      }
      if argv.count > 1 {
        let summary = password != nil && argv.contains("-p") ? "user \(user) (password)" : "user \(user)"
        steps.append(.argv(.update, summary, argv + [user]))
      }
      result["append"] = .bool(append)
      result["move_home"] = .bool(moveHome)
      let newHome = home ?? account.home
      let homeExists = home == nil || home == account.home ? current.homeExists : current.wantedHomeExists
      if createHome && !homeExists && !(moveHome && home != nil && home != account.home && current.homeExists) {
        steps.append(createHomeStep(newHome, owner: String(uid ?? account.uid)))
      }
      primaryGID = primaryGID ?? account.gid
    } else {
      var argv = ["useradd"]
      if let uid { argv += ["-u", String(uid)] + (nonUnique ? ["-o"] : []) }
      if let group {
        argv += ["-g", group]
      } else if current.group(user) != nil {
        // A group named like the user exists: useradd would try to create it and fail.
        argv.append("-N")
        primaryGID = nil
      }
      if let groups, !groups.isEmpty { argv += ["-G", groups.joined(separator: ",")] }
      if let comment { argv += ["-c", comment] }
      if let home {
        if createHome && !current.wantedHomeParentExists {
          let parent = (home as NSString).deletingLastPathComponent
          steps.append(.argv(.create, "directory \(parent)", ["mkdir", "-p", "--", parent]))
        }
        argv += ["-d", home]
      }
      if let shell { argv += ["-s", shell] }
      if let password { argv += ["-p", password] }
      if createHome {
        argv.append("-m")
        if let skeleton { argv += ["-k", skeleton] }
      } else {
        argv.append("-M")
      }
      if system { argv.append("-r") }
      // useradd picks what the task leaves out (uid, primary group, shell, home): read back,
      // as Ansible reports the account after creating it.
      let name = user
      steps.append(
        Step.argv(.create, password != nil ? "user \(user) (password)" : "user \(user)", argv + [user])
          .readingBack("getent passwd \(ShellQuoting.quote(user))") { out in
            guard let account = out.split(separator: "\n").compactMap(Account.parse).first(where: { $0.name == name }) else {
              return [:]
            }
            return [
              "uid": .int(account.uid), "group": .int(account.gid), "comment": .string(account.comment),
              "home": .string(account.home), "shell": .string(account.shell),
            ]
          })
      result["system"] = .bool(system)
      result["create_home"] = .bool(createHome)
    }
    if password != nil { result["password"] = "NOT_LOGGING_PASSWORD" }
    if let u = uid ?? account?.uid { result["uid"] = .int(u) }
    if let g = primaryGID { result["group"] = .int(g) }
    result["comment"] = .string(comment ?? account?.comment ?? "")
    result["home"] = .string(home ?? account?.home ?? "/home/\(user)")
    if let s = shell ?? account?.shell { result["shell"] = .string(s) }
    if let groups { result["groups"] = .string(groups.joined(separator: ",")) }
    return Plan(steps: steps, result: result)
  }
}
