import Testing
@Test func livePlaceholder() { #expect(1 + 1 == 2) }
