import Testing

@testable import Inventory

@Test func pythonFloatRepr() {
  #expect(Value.pythonFloatRepr(1.5) == "1.5")
  #expect(Value.pythonFloatRepr(100) == "100.0")
  #expect(Value.pythonFloatRepr(1e-5) == "1e-05")
  #expect(Value.pythonFloatRepr(1e16) == "1e+16")
  #expect(Value.pythonFloatRepr(0.0001) == "0.0001")
}

/// Tuples are unequal to lists with the same items, as in Python, and become lists in JSON
/// and through `tuplesAsLists`, at any depth.
@Test func tuplesAreNotListsButTravelAsLists() {
  let pair: Value = .tuple(["a", 1])
  #expect(pair != ["a", 1])
  #expect(pair == .tuple(["a", 1]))
  #expect(Set([pair, ["a", 1]]).count == 2)
  #expect(pair.listValue == ["a", 1])
  #expect(pair.typeName == "tuple")
  #expect(Value.tuple([]).isTruthy == false)
  let nested: Value = ["k": [pair, .tuple([.tuple([1])])]]
  #expect(nested.jsonString() == #"{"k": [["a", 1], [[1]]]}"#)
  #expect(nested.tuplesAsLists == ["k": [["a", 1], [[1]]]])
  let plain: Value = ["k": [1, "x"]]
  #expect(plain.tuplesAsLists == plain)
}
