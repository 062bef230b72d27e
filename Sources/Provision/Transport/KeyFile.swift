import Foundation

/// Reads the key type of SSH key files without decrypting them.
///
/// libssh2 1.10 signs RSA keys only with SHA-1 (`ssh-rsa`), which OpenSSH 8.8 and later refuse;
/// knowing the key type lets an authentication failure say so.
enum KeyFile {
  /// The key type of the private key at `path` (`ssh-rsa`, `ssh-ed25519`, `ecdsa-…`), if known.
  static func keyType(privateKeyAt path: String) -> String? {
    if let publicKey = try? String(contentsOfFile: path + ".pub", encoding: .utf8),
      let type = publicKey.split(separator: " ").first
    {
      return String(type)
    }
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else { return nil }
    if text.contains("BEGIN RSA PRIVATE KEY") { return "ssh-rsa" }
    if text.contains("BEGIN EC PRIVATE KEY") { return "ecdsa" }
    if text.contains("BEGIN DSA PRIVATE KEY") { return "ssh-dss" }
    guard text.contains("BEGIN OPENSSH PRIVATE KEY") else { return nil }
    let body = text.split(whereSeparator: \.isNewline).filter { !$0.hasPrefix("-----") }
      .joined()
    guard let data = Data(base64Encoded: body) else { return nil }
    // openssh-key-v1\0, cipher, kdf, kdf options, key count, then the first public key.
    var reader = Reader(bytes: Array(data))
    guard reader.skip(15), reader.string() != nil, reader.string() != nil,
      reader.string() != nil, reader.uint32() != nil, let publicKey = reader.string()
    else { return nil }
    return keyType(publicKeyBlob: publicKey)
  }

  /// The key type named at the start of an SSH public key blob.
  static func keyType(publicKeyBlob blob: [UInt8]) -> String? {
    var reader = Reader(bytes: blob)
    return reader.string().map { String(decoding: $0, as: UTF8.self) }
  }

  private struct Reader {
    var bytes: [UInt8]
    var offset = 0

    mutating func skip(_ count: Int) -> Bool {
      guard offset + count <= bytes.count else { return false }
      offset += count
      return true
    }

    mutating func uint32() -> UInt32? {
      guard offset + 4 <= bytes.count else { return nil }
      let value = bytes[offset..<offset + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
      offset += 4
      return value
    }

    mutating func string() -> [UInt8]? {
      guard let length = uint32(), offset + Int(length) <= bytes.count else { return nil }
      defer { offset += Int(length) }
      return Array(bytes[offset..<offset + Int(length)])
    }
  }
}
