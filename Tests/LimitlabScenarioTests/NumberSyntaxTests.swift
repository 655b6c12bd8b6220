import LimitlabCore
import LimitlabScenario
import Testing

/// Number syntax as docs/scenarios.md promises: decimal, `_` between digits, exponents for
/// numbers; no hex.
@Suite("Scenario number syntax")
struct NumberSyntaxTests {
    @Test func ratesAndDurationsTakeDecimalNumbers() throws {
        let s = try scenario(replacing("duration: 10m", with: "duration: 1e3s", in:
                                        replacing("    rate: 40/min", with: "    rate: 1_000/min")))
        #expect(s.length == .duration(1000))
        #expect(s.arrivals.first?.process == .poisson(rate: 1000.0 / 60))
        let limits = try scenario(replacing("  tier: tier-1", with: "  rpm: \"1_000/min\"\n  itpm: 2e4\n  otpm: 1_000"))
        #expect(limits.limits.config.rpm == 1000)
        #expect(limits.limits.config.itpm == 20_000)
        #expect(try scenario(replacing("duration: 10m", with: "duration: 1_500ms")).length == .duration(1.5))
    }

    @Test func hexIsNotANumber() {
        #expect(messages(replacing("    rate: 40/min", with: "    rate: 0x10/s"))
                == ["scenarios/x.yaml:8:11: arrivals[0].rate: expected a rate like \"40/min\", found \"0x10/s\""])
        #expect(messages(replacing("duration: 10m", with: "duration: 0x10s"))
                == ["scenarios/x.yaml:3:11: duration: expected a duration like \"30s\" or \"250ms\", found \"0x10s\""])
        #expect(messages(replacing("    rate: 40/min", with: "    rate: inf/s")).count == 1)
        #expect(messages(replacing("    rate: 40/min", with: "    rate: nan/s")).count == 1)
    }
}
