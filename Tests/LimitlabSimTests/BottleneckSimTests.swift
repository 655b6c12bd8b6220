import LimitlabCore
import LimitlabSim
import LimitlabTestSupport
import Testing

/// Bottleneck set-ups through the real simulator against tier-1 limits, with the SDK's retry.
@Suite struct BottleneckSimTests {
    @Test(arguments: [
        ["max_concurrent": ParamValue.number(1), "min_time": .number(1.2)],
        ["reservoir": .number(50), "reservoir_refresh_amount": .number(50), "reservoir_refresh_interval": .number(60)],
        ["max_concurrent": .number(2), "high_water": .number(5), "strategy": .string("BLOCK")],
        ["max_concurrent": .number(4), "high_water": .number(8), "retry_inside": .bool(false)],
    ] as [[String: ParamValue]])
    func conservationAtTier1(params: [String: ParamValue]) throws {
        let t1 = try #require(TierCatalog.builtIn.limits(tier: "tier-1", modelClass: "sonnet-4.x"))
        let sc = makeScenario(arrivals: [ArrivalSpec(.poisson(rate: 2))], length: .requests(400),
                              limits: LimitConfig(rpm: Double(t1.rpm), itpm: Double(t1.itpm), otpm: Double(t1.otpm)),
                              strategies: [StrategySpec(name: "bottleneck", params: params, retry: RoleSpec(name: "sdk-default"))])
        let log = try Simulator.run(sc).runs[0].log
        #expect(log.outcome.allSatisfy { RequestOutcome(rawValue: $0) != .pending })
        #expect(log.attemptCount.allSatisfy { $0 <= 3 })
    }

    /// The `bottleneck-typical` preset at 50 RPM spaces starts 1.2 s apart: never two sends within 1.2 s.
    @Test func typicalPresetSpacesStarts() throws {
        let sc = makeScenario(arrivals: [ArrivalSpec(.poisson(rate: 2))], length: .requests(200),
                              limits: LimitConfig(rpm: 50, itpm: 1e9, otpm: 1e9),
                              strategies: [StrategySpec(name: "bottleneck-typical")])
        let log = try Simulator.run(sc).runs[0].log
        let firstAttempts = (0..<log.attemptCountTotal).filter { log.attemptNumber[$0] == 1 }.map { log.sentAt[$0] }.sorted()
        #expect(zip(firstAttempts.dropFirst(), firstAttempts).allSatisfy { $0 - $1 >= 1.2 - 1e-9 })
    }
}
