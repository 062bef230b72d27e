/// Lowercase hexadecimal, as Python's `hexdigest()`, Ansible Vault and JSON's `\u` escapes
/// write it.
public enum Hex {
  private static let digits = Array("0123456789abcdef".utf8)

  /// Two digits per byte.
  public static func encode(_ bytes: [UInt8]) -> [UInt8] {
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count * 2)
    for b in bytes { append(b, to: &out) }
    return out
  }

  /// Appends the two digits of `byte` to `out`.
  public static func append(_ byte: UInt8, to out: inout [UInt8]) {
    out.append(digits[Int(byte >> 4)])
    out.append(digits[Int(byte & 0x0F)])
  }
}
