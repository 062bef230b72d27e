import Foundation
import Inventory

/// Reports a path's type, mode, owners, size, links, inode, device, times (whole seconds),
/// what the user may do with it and its checksum: `stat`. Never changes anything.
///
/// Keys: `path`, `follow`, `get_checksum`, `checksum_algorithm` (sha256 here; sha1 is computed
/// from the content only when asked).
public struct StatModule: Module {
  public static let name = "stat"
  public static let arguments = ArgumentSpec([
    .init("path", .path, required: true, aliases: ["dest", "name"]), .init("follow", .bool, default: false),
    .init("get_checksum", .bool, default: true), .init("checksum_algorithm", aliases: ["checksum", "checksum_algo"]),
    .init("get_md5", .bool), .init("get_mime", .bool, aliases: ["mime", "mime_type", "mime-type"]),
    .init("get_attributes", .bool, aliases: ["attr", "attributes"]),
  ])

  let path: String
  let follow: Bool

  public init(_ arguments: ModuleArguments) throws {
    guard let path = arguments.string("path") else { throw ModuleError("missing required argument 'path'") }
    self.path = path
    follow = arguments.bool("follow")
  }

  public struct Current: Sendable {
    var state: FileState?
    var sha1: String?
    /// The rest of Ansible's fields: what access(2) allows the user, then `stat`'s `%f %h %i
    /// %d %b %B %t %T %X %Y %Z` (raw mode in hex, links, inode, device, blocks, block size,
    /// device type major and minor in hex, access, modification and change times).
    var more: [Substring] = []
  }

  public func check(on host: HostProbe) async throws -> Current {
    // FileState's script plus the other fields and SHA-1, Ansible's default checksum, in the
    // same command.
    let script = FileState.script(path, content: false, follow: follow) + """

      a=.; [ -r "$p" ] && a=${a}r; [ -w "$p" ] && a=${a}w; [ -x "$p" ] && a=${a}x
      printf '#stat %s %s\\n' "$a" "$(stat \(follow ? "-L " : "")-c '%f %h %i %d %b %B %t %T %X %Y %Z' -- "$p")"
      if [ -f "$p" ]; then printf '#sha1 '; sha1sum < "$p" | cut -c1-40; fi
      """
    let result = try await host.run(script)
    guard result.succeeded else { throw ModuleError("cannot stat '\(path)': " + result.stderrText) }
    var output = result.stdout
    var sha1: String?
    if let marker = output.range(of: Data("#sha1 ".utf8), options: .backwards) {
      sha1 = String(decoding: output[marker.upperBound...], as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
      output = output.subdata(in: output.startIndex..<marker.lowerBound)
    }
    var more: [Substring] = []
    if let marker = output.range(of: Data("#stat ".utf8), options: .backwards) {
      more = String(decoding: output[marker.upperBound...], as: UTF8.self).split(whereSeparator: \.isWhitespace)
      output = output.subdata(in: output.startIndex..<marker.lowerBound)
    }
    guard let state = FileState.parse(output) else { throw ModuleError("unexpected output from stat of '\(path)'") }
    return Current(state: state, sha1: sha1, more: more)
  }

  public func plan(from current: Current) throws -> Plan {
    guard let s = current.state else { return Plan(result: ["stat": .dict(["exists": false])]) }
    var stat: OrderedDict = [
      "exists": true, "path": .string(path), "mode": .string(String(format: "%04o", s.mode)),
      "isdir": .bool(s.type == .directory), "isreg": .bool(s.type == .regular), "islnk": .bool(s.type == .symlink),
      "uid": .int(s.uid), "gid": .int(s.gid), "pw_name": .string(s.owner), "gr_name": .string(s.group),
      "size": .int(Int(s.size)),
    ]
    var kind: UInt32 = 0
    if current.more.count == 12 {
      let access = current.more[0]
      kind = (UInt32(current.more[1], radix: 16) ?? 0) & 0o170000
      let n = current.more.dropFirst(2).map { Int($0) }
      let (major, minor) = (Int(current.more[7], radix: 16) ?? 0, Int(current.more[8], radix: 16) ?? 0)
      stat["nlink"] = n[0].map(Value.int) ?? .null
      stat["inode"] = n[1].map(Value.int) ?? .null
      stat["dev"] = n[2].map(Value.int) ?? .null
      stat["blocks"] = n[3].map(Value.int) ?? .null
      stat["block_size"] = n[4].map(Value.int) ?? .null
      // glibc's makedev, as Python's st_rdev holds it.
      stat["device_type"] = .int((minor & 0xff) | ((major & 0xfff) << 8) | ((minor & ~0xff) << 12) | ((major & ~0xfff) << 32))
      stat["atime"] = n[7].map { .double(Double($0)) } ?? .null
      stat["mtime"] = n[8].map { .double(Double($0)) } ?? .null
      stat["ctime"] = n[9].map { .double(Double($0)) } ?? .null
      stat["readable"] = .bool(access.contains("r"))
      stat["writeable"] = .bool(access.contains("w"))
      stat["executable"] = .bool(access.contains("x"))
    }
    stat["isblk"] = .bool(kind == 0o060000)
    stat["ischr"] = .bool(kind == 0o020000)
    stat["isfifo"] = .bool(kind == 0o010000)
    stat["issock"] = .bool(kind == 0o140000)
    let bits = Int(s.mode)
    for (name, bit) in [("rusr", 0o400), ("wusr", 0o200), ("xusr", 0o100), ("rgrp", 0o40), ("wgrp", 0o20), ("xgrp", 0o10), ("roth", 4), ("woth", 2), ("xoth", 1)] {
      stat[name] = .bool(bits & bit != 0)
    }
    if let target = s.linkTarget { stat["lnk_source"] = .string(target); stat["lnk_target"] = .string(target) }
    if let sha1 = current.sha1 { stat["checksum"] = .string(sha1) }
    stat["isuid"] = .bool(bits & 0o4000 != 0)
    stat["isgid"] = .bool(bits & 0o2000 != 0)
    return Plan(result: ["stat": .dict(stat)])
  }
}
