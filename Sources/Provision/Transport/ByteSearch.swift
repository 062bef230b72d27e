extension RandomAccessCollection where Element == UInt8, Index == Int {
  /// The first index at or after `start` where `needle` begins, or nil: for markers in a
  /// command's output (`ShellFrame`, `CheckBatch.split`).
  func firstIndex(ofBytes needle: [UInt8], from start: Int) -> Int? {
    guard let first = needle.first, count >= needle.count else { return nil }
    var i = Swift.max(startIndex, start)
    let last = endIndex - needle.count
    while i <= last {
      if self[i] == first && self[i..<(i + needle.count)].elementsEqual(needle) { return i }
      i += 1
    }
    return nil
  }
}
