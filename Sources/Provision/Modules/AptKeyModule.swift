import Foundation
import Inventory

/// Adds or removes an OpenPGP key that apt trusts: `apt_key`.
///
/// Keys (as ansible-core 2.17): `id` (the fingerprint, 40 hex digits; a 16-digit long id or an
/// 8-digit short id also work), `data` (the key, armored or binary), `file` (a key file on the
/// host), `url` (downloaded on the controller: hosts need no route out), `keyserver` (an HKP
/// server such as `hkp://keyserver.ubuntu.com:80`, asked by the controller for `id`),
/// `keyring` (the keyring file to manage), `state` (present, absent), `validate_certs`.
///
/// The keys are read and written by provision itself, not by `apt-key` or `gpg` (minbase hosts
/// have neither gpg nor, on newer Debian, apt-key): `check` reads `/etc/apt/trusted.gpg` and
/// every key file in `/etc/apt/trusted.gpg.d/` (or only `keyring`) in one command, and parses
/// the OpenPGP packets to get each key's fingerprint. A key is present when a fingerprint (or
/// a subkey's) ends with `id`. The fetched key must carry `id`: a key whose fingerprint does not
/// match fails the task before anything is written. A new key goes to `keyring`, or to
/// `/etc/apt/trusted.gpg.d/<long id>.gpg` (binary, as apt 1.0 on trusty needs). `absent`
/// removes the key from every file that holds it (deleting a file left empty). Needs root.
/// Returns `id`, `key_id`, `short_id`, `fp` (the long id) and `before` (the long ids present).
///
/// ```yaml
/// - apt_key:
///     id: 58118E89F3A912897C070ADBF76221572C52609D
///     url: https://example.com/docker.gpg
/// ```
public struct AptKeyModule: Module {
  public static let name = "apt_key"
  public static let arguments = ArgumentSpec(
    [
      .init("id"), .init("url"), .init("data"), .init("file", .path), .init("keyring", .path),
      .init("validate_certs", .bool, default: true), .init("keyserver"),
      .init("state", choices: ["absent", "present"], default: "present"),
    ],
    mutuallyExclusive: [["data", "file", "keyserver", "url"]])

  static let defaultKeyrings = ["/etc/apt/trusted.gpg"]
  static let keyDirectory = "/etc/apt/trusted.gpg.d"

  /// A keyring file on the host.
  struct KeyringFile: Sendable, Equatable {
    var path: String
    var bytes: [UInt8]
    var isArmored: Bool { AptKeyring.isArmored(bytes) }
    /// The keys in it; nil when it cannot be parsed (such a file is left alone).
    var keys: [AptKeyring.Key]? {
      AptKeyring.dearmor(bytes).flatMap { AptKeyring.keys(in: $0) }
    }
  }

  public struct Current: Sendable, Equatable {
    var keyrings: [KeyringFile]
    /// The key material from `data`, `file`, `url` or `keyserver`, when it was needed.
    var material: [UInt8]?
    /// Why the key material could not be had.
    var failure: String?
  }

  let id: String?
  let url: String?
  let data: String?
  let file: String?
  let keyring: String?
  let keyserver: String?
  let validateCerts: Bool
  let present: Bool

  public init(_ arguments: ModuleArguments) throws {
    id = try arguments.string("id").map(AptKeyring.normalizeID)
    url = arguments.string("url")
    data = arguments.string("data")
    file = arguments.string("file")
    keyring = arguments.string("keyring")
    keyserver = arguments.string("keyserver")
    validateCerts = arguments.bool("validate_certs", default: true)
    present = arguments.string("state") != "absent"
    if keyserver != nil && id == nil { throw ModuleError("Missing key_id, required with keyserver.") }
    if !present && id == nil { throw ModuleError("key is required to remove a key", hint: "give its fingerprint in 'id'") }
    if present && id == nil && url == nil && data == nil && file == nil {
      throw ModuleError("apt_key needs one of id (with keyserver or url), data, file or url")
    }
    if present && id != nil && url == nil && data == nil && file == nil && keyserver == nil {
      throw ModuleError("no key to add for id \(id ?? "")", hint: "add keyserver, url, data or file")
    }
  }

  /// Prints `PATH<TAB>BASE64` for each keyring, and `@file<TAB>BASE64` for `file`.
  var script: String {
    var s = ""
    if let keyring {
      s += "for f in \(ShellQuoting.quote(keyring)); do\n"
    } else {
      s += "for f in \(Self.defaultKeyrings.joined(separator: " ")) \(Self.keyDirectory)/*.gpg \(Self.keyDirectory)/*.asc; do\n"
    }
    s += "  [ -f \"$f\" ] || continue\n  printf '%s\\t%s\\n' \"$f\" \"$(base64 < \"$f\" | tr -d '\\n')\"\ndone\n"
    if let file {
      let f = ShellQuoting.quote(file)
      s += "if [ -f \(f) ]; then printf '@file\\t%s\\n' \"$(base64 < \(f) | tr -d '\\n')\"; else printf '@nofile\\t\\n'; fi\n"
    }
    return s
  }

  static func parse(_ output: String) -> (keyrings: [KeyringFile], file: [UInt8]?, fileMissing: Bool) {
    var keyrings: [KeyringFile] = []
    var file: [UInt8]?
    var missing = false
    for line in output.split(separator: "\n") {
      let f = line.split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false)
      guard f.count == 2 else { continue }
      let bytes = [UInt8](Data(base64Encoded: String(f[1])) ?? Data())
      switch f[0] {
      case "@file": file = bytes
      case "@nofile": missing = true
      default: keyrings.append(KeyringFile(path: String(f[0]), bytes: bytes))
      }
    }
    return (keyrings, file, missing)
  }

  /// The HKP URL that returns `id` from `keyserver`.
  static func keyserverURL(_ keyserver: String, id: String) -> String {
    var server = keyserver
    var scheme = "http"
    var defaultPort = ":11371"
    if server.hasPrefix("hkps://") {
      scheme = "https"
      defaultPort = ""
      server.removeFirst("hkps://".count)
    } else if server.hasPrefix("hkp://") {
      server.removeFirst("hkp://".count)
    } else if let r = server.range(of: "://") {
      scheme = String(server[..<r.lowerBound])
      defaultPort = ""
      server = String(server[r.upperBound...])
    }
    while server.hasSuffix("/") { server.removeLast() }
    let host = server.split(separator: "/").first.map(String.init) ?? server
    let port = host.contains(":") ? "" : defaultPort
    return "\(scheme)://\(host)\(port)/pks/lookup?op=get&options=mr&search=0x\(id)"
  }

  func isPresent(_ keyrings: [KeyringFile]) -> Bool {
    guard let id else { return false }
    return keyrings.contains { $0.keys?.contains { $0.matches(id) } ?? false }
  }

  public func check(on host: HostProbe) async throws -> Current {
    let result = try await host.run(script)
    guard result.succeeded else {
      throw ModuleError("cannot read apt's keyrings: " + result.stderrText.trimmingCharacters(in: .whitespacesAndNewlines))
    }
    let parsed = Self.parse(result.stdoutText)
    var current = Current(keyrings: parsed.keyrings, material: nil, failure: nil)
    // The key is there (or is to be removed): nothing needs fetching.
    if !present || isPresent(parsed.keyrings) { return current }
    if let data {
      current.material = [UInt8](data.utf8)
    } else if file != nil {
      if parsed.fileMissing { current.failure = "Unable to extract key from '\(file ?? "")': no such file on the host" }
      current.material = parsed.file
    } else if let source = url ?? keyserver.flatMap({ ks in id.map { Self.keyserverURL(ks, id: $0) } }) {
      var request = HTTPRequest(url: source, method: "GET")
      request.validateCerts = validateCerts
      request.timeout = 30
      request.redirects = .all
      let response = try await GetURLModule.download(request)
      if let error = response.error {
        current.failure = keyserver != nil ? "Error fetching key \(id ?? "") from keyserver: \(keyserver ?? ""): \(error)" : "Failed to download key at \(source): \(error)"
      } else if response.status != 200 {
        current.failure =
          keyserver != nil
          ? (response.status == 404 ? "Key \(id ?? "") not found on keyserver \(keyserver ?? "")" : "Error fetching key \(id ?? "") from keyserver: \(keyserver ?? ""): HTTP \(response.status)")
          : "Failed to download key at \(source): HTTP \(response.status) \(response.reason)"
      } else {
        current.material = [UInt8](response.body)
      }
    }
    return current
  }

  public func plan(from current: Current) throws -> Plan {
    var result: OrderedDict = [:]
    let before = current.keyrings.flatMap { $0.keys ?? [] }.map(\.longID)
    result["before"] = .list(before.map(Value.string))
    if let failure = current.failure { return .failed(failure, result: result) }
    var keyID = id
    var newKeys: [AptKeyring.Key] = []
    if present, !isPresent(current.keyrings) {
      guard let material = current.material, let binary = AptKeyring.dearmor(material), let keys = AptKeyring.keys(in: binary),
        !keys.isEmpty
      else {
        return .failed("Unable to extract key from '\(file ?? url ?? (data != nil ? "inline data" : keyserver ?? ""))'", result: result)
      }
      if let id {
        newKeys = keys.filter { $0.matches(id) }
        if newKeys.isEmpty {
          let found = keys.map(\.fingerprint).joined(separator: ", ")
          return .failed(
            "the key from \(url ?? file ?? keyserver ?? "data") has fingerprint \(found), which does not match id \(id): not added",
            result: result)
        }
      } else {
        newKeys = keys
        keyID = keys[0].fingerprint
        // The key may be present already: then nothing changes.
        if current.keyrings.contains(where: { $0.keys?.contains { $0.fingerprint == keys[0].fingerprint } ?? false }) {
          newKeys = []
        }
      }
    }
    if let keyID {
      result["id"] = .string(id ?? keyID)
      result["key_id"] = .string(keyID)
      result["short_id"] = .string(String(keyID.suffix(8)))
      result["fp"] = .string(String(keyID.suffix(16)))
    }
    var steps: [Step] = []
    var diffs: [FileDiff] = []
    if present {
      guard !newKeys.isEmpty else { return Plan(result: result) }
      let packets = newKeys.flatMap(\.packets)
      let names = newKeys.map { k in k.fingerprint + (k.userID.map { " (\($0))" } ?? "") }.joined(separator: ", ")
      if let keyring {
        let existing = current.keyrings.first { $0.path == keyring }
        var content: [UInt8]
        if let existing, existing.isArmored {
          let old = AptKeyring.dearmor(existing.bytes) ?? []
          content = [UInt8](AptKeyring.armor(old + packets).utf8)
        } else if keyring.hasSuffix(".asc") && existing == nil {
          content = [UInt8](AptKeyring.armor(packets).utf8)
        } else {
          content = (existing?.bytes ?? []) + packets
        }
        steps.append(Step(existing == nil ? .create : .update, "key \(names) in \(keyring)", .upload(Data(content), path: keyring, mode: existing == nil ? 0o644 : nil, owner: nil, group: nil)))
      } else {
        let path = "\(Self.keyDirectory)/\(newKeys[0].longID).gpg"
        steps.append(Step(.create, "key \(names) in \(path)", .upload(Data(packets), path: path, mode: 0o644, owner: nil, group: nil)))
      }
      diffs.append(FileDiff(beforeHeader: "apt keys", afterHeader: "apt keys", before: before.joined(separator: "\n") + "\n", after: (before + newKeys.map(\.longID)).joined(separator: "\n") + "\n"))
      result["after"] = .list((before + newKeys.map(\.longID)).map(Value.string))
      return Plan(steps: steps, diffs: diffs, result: result)
    }
    guard let id else { return Plan(result: result) }
    var removed: [String] = []
    for file in current.keyrings {
      guard let keys = file.keys, keys.contains(where: { $0.matches(id) }) else { continue }
      let kept = keys.filter { !$0.matches(id) }
      removed += keys.filter { $0.matches(id) }.map(\.longID)
      if kept.isEmpty {
        steps.append(.argv(.remove, "key \(id) (file \(file.path))", ["rm", "-f", "--", file.path]))
      } else {
        let packets = kept.flatMap(\.packets)
        let content = file.isArmored ? [UInt8](AptKeyring.armor(packets).utf8) : packets
        steps.append(Step(.update, "key \(id) from \(file.path)", .upload(Data(content), path: file.path, mode: nil, owner: nil, group: nil)))
      }
    }
    let after = before.filter { !removed.contains($0) }
    result["after"] = .list(after.map(Value.string))
    if !steps.isEmpty {
      diffs.append(FileDiff(beforeHeader: "apt keys", afterHeader: "apt keys", before: before.joined(separator: "\n") + "\n", after: after.joined(separator: "\n") + (after.isEmpty ? "" : "\n")))
    }
    return Plan(steps: steps, diffs: diffs, result: result)
  }
}
