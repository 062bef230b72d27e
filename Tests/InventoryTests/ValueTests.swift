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

/// Strings are escaped as Python's json.dumps escapes them, with and without ensure_ascii;
/// plain ones are copied whole.
@Test func jsonStringsAreEscapedAsPythonDoes() {
  let ascii = Value.JSONStyle(indent: nil, sortKeys: false, ensureASCII: true)
  let utf8 = Value.JSONStyle(indent: nil, sortKeys: false, ensureASCII: false)
  #expect(Value.string("plain text/path.conf").jsonString(ascii) == #""plain text/path.conf""#)
  #expect(Value.string("q\"b\\n\n\t\u{01}").jsonString(utf8) == #""q\"b\\n\n\t\u0001""#)
  #expect(Value.string("é✓\u{7F}😀").jsonString(ascii) == #""\u00e9\u2713\u007f\ud83d\ude00""#)
  #expect(Value.string("é✓\u{7F}😀").jsonString(utf8) == "\"é✓\u{7F}😀\"")
}

/// Keys sort by code point as Python sorts them, astral characters after U+FFFF (UTF-16 would
/// put them before), and indented output separates items as json.dumps(indent=4) does.
@Test func jsonSortsKeysByCodePoint() {
  #expect(Value.pythonStringOrder("z", "é") && Value.pythonStringOrder("\u{FFFF}", "😀"))
  #expect(!Value.pythonStringOrder("😀", "\u{FFFF}") && !Value.pythonStringOrder("a", "a"))
  let value: Value = ["😀": 1, "\u{FFFF}": [true, .null], "b": 1.5]
  let style = Value.JSONStyle(indent: 2, sortKeys: true, ensureASCII: false)
  #expect(value.jsonString(style) == "{\n  \"b\": 1.5,\n  \"\u{FFFF}\": [\n    true,\n    null\n  ],\n  \"😀\": 1\n}")
  #expect(value.jsonString(.compact) == #"{"\ud83d\ude00": 1, "\uffff": [true, null], "b": 1.5}"#)
}
