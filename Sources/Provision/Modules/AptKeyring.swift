import Foundation

/// OpenPGP public keys as apt keeps them (binary keyrings and ASCII-armored `.asc` files), read
/// and written in Swift so that hosts need neither gpg nor apt-key (minbase Debian has only
/// gpgv; apt-key is gone from Debian trixie).
enum AptKeyring {
  /// One transferable public key: the primary key packet and everything up to the next one.
  struct Key: Sendable, Equatable {
    /// Upper-case hex: 40 digits for a v4 key.
    var fingerprint: String
    /// The fingerprints of its subkeys.
    var subkeys: [String]
    /// The key's packets, as they are in the keyring.
    var packets: [UInt8]
    /// The first user id, for messages.
    var userID: String?

    /// The long key id: the last 16 hex digits of the fingerprint.
    var longID: String { String(fingerprint.suffix(16)) }

    /// Whether `id` (8, 16 or 40 hex digits, upper case, no `0x`) names this key or a subkey.
    func matches(_ id: String) -> Bool {
      ([fingerprint] + subkeys).contains { $0.hasSuffix(id) }
    }
  }

  static let armorBegin = "-----BEGIN PGP PUBLIC KEY BLOCK-----"

  static func isArmored(_ data: [UInt8]) -> Bool {
    String(decoding: data.prefix(4096), as: UTF8.self).contains(armorBegin)
  }

  /// The binary packets of `data`: decoded from every armored block, or `data` itself.
  static func dearmor(_ data: [UInt8]) -> [UInt8]? {
    guard isArmored(data) else { return data }
    let text = String(decoding: data, as: UTF8.self)
    var out: [UInt8] = []
    var inBlock = false
    var inBody = false
    var body = ""
    for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
      let line = raw.trimmingCharacters(in: .whitespacesAndNewlines)
      if line == armorBegin {
        inBlock = true
        inBody = false
        body = ""
        continue
      }
      guard inBlock else { continue }
      if line.hasPrefix("-----END PGP PUBLIC KEY BLOCK") {
        guard let bytes = Data(base64Encoded: body) else { return nil }
        out += bytes
        inBlock = false
        continue
      }
      if !inBody {
        // Armor headers (`Version: ...`) end at the first blank line; some writers omit them.
        if line.isEmpty {
          inBody = true
          continue
        }
        if line.contains(": ") { continue }
        inBody = true
      }
      if line.hasPrefix("=") && line.count == 5 { continue }  // CRC-24 checksum
      body += line
    }
    return out.isEmpty ? nil : out
  }

  /// The keys in binary keyring `bytes`; nil when the packets are malformed.
  static func keys(in bytes: [UInt8]) -> [Key]? {
    var keys: [Key] = []
    var i = 0
    while i < bytes.count {
      let start = i
      let b = bytes[i]
      guard b & 0x80 != 0 else { return nil }
      var tag: Int
      var length: Int
      i += 1
      if b & 0x40 != 0 {
        tag = Int(b & 0x3F)
        guard i < bytes.count else { return nil }
        let l1 = Int(bytes[i])
        if l1 < 192 {
          length = l1
          i += 1
        } else if l1 < 224 {
          guard i + 1 < bytes.count else { return nil }
          length = ((l1 - 192) << 8) + Int(bytes[i + 1]) + 192
          i += 2
        } else if l1 == 255 {
          guard i + 4 < bytes.count else { return nil }
          length = bytes[(i + 1)...(i + 4)].reduce(0) { $0 << 8 | Int($1) }
          i += 5
        } else {
          return nil  // partial lengths never occur in keys
        }
      } else {
        tag = Int((b >> 2) & 0x0F)
        switch b & 3 {
        case 0:
          guard i < bytes.count else { return nil }
          length = Int(bytes[i])
          i += 1
        case 1:
          guard i + 1 < bytes.count else { return nil }
          length = Int(bytes[i]) << 8 | Int(bytes[i + 1])
          i += 2
        case 2:
          guard i + 3 < bytes.count else { return nil }
          length = bytes[i...(i + 3)].reduce(0) { $0 << 8 | Int($1) }
          i += 4
        default:
          length = bytes.count - i
        }
      }
      guard length >= 0, i + length <= bytes.count else { return nil }
      let body = Array(bytes[i..<(i + length)])
      i += length
      let packet = Array(bytes[start..<i])
      switch tag {
      case 6:
        keys.append(Key(fingerprint: fingerprint(body) ?? "", subkeys: [], packets: packet, userID: nil))
      case 14:
        guard !keys.isEmpty else { return nil }
        if let f = fingerprint(body) { keys[keys.count - 1].subkeys.append(f) }
        keys[keys.count - 1].packets += packet
      default:
        guard !keys.isEmpty else {
          // Marker packets and the like before the first key are dropped.
          continue
        }
        if tag == 13 && keys[keys.count - 1].userID == nil {
          keys[keys.count - 1].userID = String(decoding: body, as: UTF8.self)
        }
        keys[keys.count - 1].packets += packet
      }
    }
    return keys
  }

  /// The fingerprint of a public key or subkey packet body: SHA-1 for v4 keys, SHA-256 for v5
  /// and v6; nil for v3 and unknown versions.
  static func fingerprint(_ body: [UInt8]) -> String? {
    guard let version = body.first else { return nil }
    let hex: String?
    switch version {
    case 4:
      let n = body.count
      hex = Digest.hex("sha1", [0x99, UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)] + body)
    case 5, 6:
      let n = body.count
      let prefix: [UInt8] = [version == 5 ? 0x9A : 0x9B, UInt8((n >> 24) & 0xFF), UInt8((n >> 16) & 0xFF), UInt8((n >> 8) & 0xFF), UInt8(n & 0xFF)]
      hex = Digest.hex("sha256", prefix + body)
    default:
      hex = nil
    }
    return hex?.uppercased()
  }

  /// `data` in ASCII armor, with its CRC-24.
  static func armor(_ data: [UInt8]) -> String {
    var crc: UInt32 = 0xB704CE
    for byte in data {
      crc ^= UInt32(byte) << 16
      for _ in 0..<8 {
        crc <<= 1
        if crc & 0x1000000 != 0 { crc ^= 0x1864CFB }
      }
    }
    crc &= 0xFFFFFF
    let b64 = Data(data).base64EncodedString()
    var lines: [String] = [armorBegin, ""]
    var index = b64.startIndex
    while index < b64.endIndex {
      let end = b64.index(index, offsetBy: 64, limitedBy: b64.endIndex) ?? b64.endIndex
      lines.append(String(b64[index..<end]))
      index = end
    }
    let crcBytes: [UInt8] = [UInt8((crc >> 16) & 0xFF), UInt8((crc >> 8) & 0xFF), UInt8(crc & 0xFF)]
    lines.append("=" + Data(crcBytes).base64EncodedString())
    lines.append("-----END PGP PUBLIC KEY BLOCK-----")
    return lines.joined(separator: "\n") + "\n"
  }

  /// Upper-case hex without `0x`, checked as Ansible's `parse_key_id`: 8, 16 or more than 16
  /// hex digits.
  static func normalizeID(_ id: String) throws -> String {
    var key = id.replacingOccurrences(of: " ", with: "").uppercased()
    if key.hasPrefix("0X") { key.removeFirst(2) }
    guard !key.isEmpty, key.allSatisfy(\.isHexDigit) else { throw ModuleError("Invalid key_id", hint: "give the key's fingerprint (40 hex digits)") }
    guard key.count == 8 || key.count >= 16 else {
      throw ModuleError("key_id must be 8, 16, or 16+ hexadecimal characters in length")
    }
    return key
  }
}
