import Inventory

/// Python's `random.Random` (Mersenne Twister, MT19937) for the `random` and `shuffle` filters,
/// so that `random(seed=inventory_hostname)` picks exactly what Ansible picks for each host.
///
/// Seeding follows Python 3's `seed(a, version=2)`: a string seeds with its UTF-8 bytes followed
/// by their SHA-512, read as one big-endian integer; an integer seeds with its absolute value.
/// Without a seed the generator starts from system randomness, as Ansible's `SystemRandom`.
struct TemplateRandom {
  private var mt = [UInt32](repeating: 0, count: 624)
  private var index = 625

  init(seed: Value?) {
    switch seed {
    case .int(let n)?:
      var magnitude = n.magnitude
      var key: [UInt32] = []
      repeat {
        key.append(UInt32(truncatingIfNeeded: magnitude))
        magnitude >>= 32
      } while magnitude > 0
      initByArray(key)
    case .bool(let b)?:
      initByArray([b ? 1 : 0])
    case .some(let other):
      let text: String
      if case .string(let s) = other { text = s } else { text = other.pythonString }
      let bytes = Array(text.utf8)
      initByArray(TemplateRandom.words(ofBigEndian: bytes + Digest.sha512(bytes)))
    case nil:
      initByArray((0..<4).map { _ in UInt32.random(in: .min ... .max) })
    }
  }

  /// The 32-bit words of a big-endian number, least significant first, as CPython's seeding
  /// reads an int; leading zero words dropped.
  private static func words(ofBigEndian bytes: [UInt8]) -> [UInt32] {
    var words: [UInt32] = []
    var end = bytes.count
    while end > 0 {
      let start = max(0, end - 4)
      var w: UInt32 = 0
      for b in bytes[start..<end] { w = (w << 8) | UInt32(b) }
      words.append(w)
      end = start
    }
    while words.count > 1 && words.last == 0 { words.removeLast() }
    return words.isEmpty ? [0] : words
  }

  private mutating func initGenrand(_ s: UInt32) {
    mt[0] = s
    for i in 1..<624 {
      mt[i] = 1_812_433_253 &* (mt[i - 1] ^ (mt[i - 1] >> 30)) &+ UInt32(i)
    }
    index = 624
  }

  private mutating func initByArray(_ key: [UInt32]) {
    initGenrand(19_650_218)
    var i = 1
    var j = 0
    for _ in 0..<max(624, key.count) {
      mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) &* 1_664_525)) &+ key[j] &+ UInt32(j)
      i += 1
      j += 1
      if i >= 624 {
        mt[0] = mt[623]
        i = 1
      }
      if j >= key.count { j = 0 }
    }
    for _ in 0..<623 {
      mt[i] = (mt[i] ^ ((mt[i - 1] ^ (mt[i - 1] >> 30)) &* 1_566_083_941)) &- UInt32(i)
      i += 1
      if i >= 624 {
        mt[0] = mt[623]
        i = 1
      }
    }
    mt[0] = 0x8000_0000
  }

  private mutating func next32() -> UInt32 {
    if index >= 624 {
      for k in 0..<624 {
        let y = (mt[k] & 0x8000_0000) | (mt[(k + 1) % 624] & 0x7fff_ffff)
        mt[k] = mt[(k + 397) % 624] ^ (y >> 1) ^ (y & 1 == 0 ? 0 : 0x9908_b0df)
      }
      index = 0
    }
    var y = mt[index]
    index += 1
    y ^= y >> 11
    y ^= (y << 7) & 0x9d2c_5680
    y ^= (y << 15) & 0xefc6_0000
    y ^= y >> 18
    return y
  }

  /// Python's `getrandbits(k)` for k up to 64.
  private mutating func bits(_ k: Int) -> UInt64 {
    if k <= 32 { return UInt64(next32() >> (32 - UInt32(k))) }
    let low = UInt64(next32())
    let high = UInt64(next32() >> (64 - UInt32(k)))
    return (high << 32) | low
  }

  /// Python's `_randbelow(n)`: a uniform integer in `0..<n`, by rejection.
  mutating func next(below n: Int) -> Int {
    guard n > 0 else { return 0 }
    let k = Int.bitWidth - n.leadingZeroBitCount
    var r = bits(k)
    while r >= UInt64(n) { r = bits(k) }
    return Int(r)
  }

  /// Python's `randrange(start, stop, step)`, or nil for an empty range.
  mutating func randrange(_ start: Int, _ stop: Int, _ step: Int) -> Int? {
    let width = stop - start
    if step == 1 { return width > 0 ? start + next(below: width) : nil }
    guard step != 0 else { return nil }
    let n = step > 0 ? (width + step - 1) / step : (width + step + 1) / step
    guard n > 0 else { return nil }
    return start + step * next(below: n)
  }
}
