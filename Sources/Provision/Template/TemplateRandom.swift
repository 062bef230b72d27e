/// A small deterministic generator for the `random` and `shuffle` filters.
///
/// With a seed the sequence is repeatable (SplitMix64 over the seed's FNV-1a hash), which is
/// what playbooks rely on for `random(seed=inventory_hostname)`; the numbers differ from
/// Python's Mersenne Twister.
struct TemplateRandom {
  private var state: UInt64

  init(seed: String?) {
    if let seed {
      var h: UInt64 = 0xcbf2_9ce4_8422_2325
      for b in seed.utf8 {
        h ^= UInt64(b)
        h = h &* 0x100_0000_01b3
      }
      state = h
    } else {
      state = UInt64.random(in: UInt64.min...UInt64.max)
    }
  }

  mutating func next() -> UInt64 {
    state = state &+ 0x9e37_79b9_7f4a_7c15
    var z = state
    z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
    z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
    return z ^ (z >> 31)
  }

  mutating func next(below n: Int) -> Int {
    guard n > 0 else { return 0 }
    return Int(next() % UInt64(n))
  }
}
