import Testing

@testable import Inventory

@Test func pythonFloatRepr() {
  #expect(Value.pythonFloatRepr(1.5) == "1.5")
  #expect(Value.pythonFloatRepr(100) == "100.0")
  #expect(Value.pythonFloatRepr(1e-5) == "1e-05")
  #expect(Value.pythonFloatRepr(1e16) == "1e+16")
  #expect(Value.pythonFloatRepr(0.0001) == "0.0001")
}
