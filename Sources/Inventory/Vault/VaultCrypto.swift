import CLibCrypto

/// The primitives Ansible Vault's AES256 cipher needs, from OpenSSL's libcrypto.
///
/// The only importer of `CLibCrypto`: every C pointer stays in this file.
enum VaultCrypto {
  /// PBKDF2 with HMAC-SHA256, `count` bytes of key material.
  static func pbkdf2SHA256(
    password: [UInt8], salt: [UInt8], iterations: Int, count: Int
  ) throws(VaultError) -> [UInt8] {
    guard password.count < Int32.max, salt.count < Int32.max else {
      throw failure("PBKDF2 input too long")
    }
    var out = [UInt8](repeating: 0, count: count)
    // A non-empty buffer even for an empty password, so OpenSSL never sees a null pointer.
    let pass = password.isEmpty ? [0] : password
    let ok = pass.withUnsafeBufferPointer { p in
      p.withMemoryRebound(to: CChar.self) { chars in
        salt.withUnsafeBufferPointer { s in
          out.withUnsafeMutableBufferPointer { o in
            PKCS5_PBKDF2_HMAC(
              chars.baseAddress, Int32(password.count), s.baseAddress, Int32(salt.count),
              Int32(iterations), EVP_sha256(), Int32(count), o.baseAddress)
          }
        }
      }
    }
    guard ok == 1 else { throw failure("PKCS5_PBKDF2_HMAC failed") }
    return out
  }

  /// HMAC-SHA256 of `data` under `key`: 32 bytes.
  static func hmacSHA256(key: [UInt8], data: [UInt8]) throws(VaultError) -> [UInt8] {
    guard key.count < Int32.max else { throw failure("HMAC key too long") }
    var out = [UInt8](repeating: 0, count: Int(EVP_MAX_MD_SIZE))
    var length: UInt32 = 0
    let keyBytes = key.isEmpty ? [0] : key
    let dataBytes = data.isEmpty ? [0] : data
    let result = keyBytes.withUnsafeBufferPointer { k in
      dataBytes.withUnsafeBufferPointer { d in
        out.withUnsafeMutableBufferPointer { o in
          HMAC(
            EVP_sha256(), k.baseAddress, Int32(key.count), d.baseAddress, data.count, o.baseAddress,
            &length)
        }
      }
    }
    guard result != nil, length == 32 else { throw failure("HMAC-SHA256 failed") }
    return Array(out.prefix(Int(length)))
  }

  /// AES-256 in counter mode: the same call encrypts and decrypts.
  ///
  /// - Parameters:
  ///   - key: 32 bytes.
  ///   - counter: the initial 16-byte counter block, incremented as one 128-bit big-endian
  ///     number, as Python's `cryptography` does.
  static func aes256CTR(_ data: [UInt8], key: [UInt8], counter: [UInt8]) throws(VaultError)
    -> [UInt8]
  {
    guard key.count == 32, counter.count == 16 else {
      throw failure("AES-256-CTR needs a 32-byte key and a 16-byte counter")
    }
    guard data.count < Int32.max - 32 else { throw failure("input too long for AES-256-CTR") }
    guard let context = EVP_CIPHER_CTX_new() else { throw failure("EVP_CIPHER_CTX_new failed") }
    defer { EVP_CIPHER_CTX_free(context) }
    guard EVP_EncryptInit_ex(context, EVP_aes_256_ctr(), nil, key, counter) == 1 else {
      throw failure("EVP_EncryptInit_ex failed")
    }
    var out = [UInt8](repeating: 0, count: data.count + 32)
    var written: Int32 = 0
    var final: Int32 = 0
    let input = data.isEmpty ? [0] : data
    let ok = input.withUnsafeBufferPointer { i in
      out.withUnsafeMutableBufferPointer { o -> Bool in
        guard let base = o.baseAddress,
          EVP_EncryptUpdate(context, base, &written, i.baseAddress, Int32(data.count)) == 1
        else { return false }
        return EVP_EncryptFinal_ex(context, base + Int(written), &final) == 1
      }
    }
    guard ok else { throw failure("AES-256-CTR failed") }
    return Array(out.prefix(Int(written + final)))
  }

  /// `count` bytes from OpenSSL's CSPRNG.
  static func randomBytes(_ count: Int) throws(VaultError) -> [UInt8] {
    var out = [UInt8](repeating: 0, count: max(count, 1))
    let ok = out.withUnsafeMutableBufferPointer { RAND_bytes($0.baseAddress, Int32(count)) }
    guard ok == 1 else { throw failure("RAND_bytes failed") }
    return Array(out.prefix(count))
  }

  /// Whether `a` and `b` are equal, in time that depends only on their lengths.
  static func constantTimeEqual(_ a: [UInt8], _ b: [UInt8]) -> Bool {
    guard a.count == b.count else { return false }
    guard !a.isEmpty else { return true }
    return a.withUnsafeBytes { x in
      b.withUnsafeBytes { y in CRYPTO_memcmp(x.baseAddress, y.baseAddress, a.count) == 0 }
    }
  }

  private static func failure(_ what: String) -> VaultError {
    VaultError(.crypto(what))
  }
}
