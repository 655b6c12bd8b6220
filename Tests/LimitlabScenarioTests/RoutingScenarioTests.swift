import Foundation
import LimitlabCore
import LimitlabScenario
import LimitlabSim
import Testing

/// `models:`, `route:` and `trim:` as a scenario writes them, and the shipped fallback scenario.
@Suite struct RoutingScenarioTests {
    static let withHaiku = minimalYAML + """

        models:
          - model: claude-haiku-4-5
            server: {output_rate: 150/s}
        strategies:
          - sdk-default
          - name: sdk-default
            label: fb
            route: fallback
          - name: none
            label: trimmed
            trim: {name: linear, params: {below_remaining: 0.3, floor: 0.4}}
        """

    @Test func modelsReadTheirClassFromTheScenarioTier() throws {
        let s = try scenario(Self.withHaiku)
        #expect(s.modelIds == ["claude-sonnet-4-5", "claude-haiku-4-5"])
        let haiku = try #require(s.models.first)
        // Tier 1 Haiku 4.5 (catalog): 50 RPM / 50,000 ITPM / 10,000 OTPM, not Sonnet's numbers.
        #expect(haiku.limits.rpm == 50 && haiku.limits.itpm == 50_000 && haiku.limits.otpm == 10_000)
        #expect(haiku.modelClass == "haiku-4.5")
        #expect(haiku.server.outputTokensPerSecond == 150)
        #expect(haiku.server.ttft == s.server.ttft, "latency keys not given are the scenario's")
        #expect(s.strategies[1].route == RoleSpec(name: "fallback"))
        #expect(s.strategies[2].trim == RoleSpec(name: "linear", params: ["below_remaining": .number(0.3),
                                                                            "floor": .number(0.4)]))
    }

    @Test func aModelsNumbersOverrideItsTierRow() throws {
        let s = try scenario(Self.withHaiku.replacingOccurrences(of: "server: {output_rate: 150/s}", with: "limits: {rpm: 5}"))
        let haiku = try #require(s.models.first)
        #expect(haiku.limits.rpm == 5 && haiku.limits.itpm == 50_000 && haiku.limits.otpm == 10_000)
        #expect(haiku.source.hasSuffix(" with overrides"))
    }

    @Test func badRoutingIsReportedWithTheFix() {
        let noModels = minimalYAML + "\nstrategies:\n  - {name: sdk-default, route: fallback}\n"
        #expect(messages(noModels).contains { $0.contains("has route: but the scenario has one model") && $0.contains("add models:") })
        let unknownTo = Self.withHaiku.replacingOccurrences(of: "route: fallback",
                                                            with: "route: {name: share, params: {to: claude-haiku-9}}")
        #expect(messages(unknownTo).contains { $0.contains("\"claude-haiku-9\"") && $0.contains("not in models:") })
        let sameClass = Self.withHaiku.replacingOccurrences(of: "model: claude-haiku-4-5", with: "model: claude-sonnet-4-6")
        #expect(messages(sameClass).contains { $0.contains("same class as model") })
        let serverKey = Self.withHaiku.replacingOccurrences(of: "server: {output_rate: 150/s}", with: "server: {faults: {}}")
        #expect(messages(serverKey).contains { $0.contains("faults") })
        let badShare = Self.withHaiku.replacingOccurrences(of: "route: fallback", with: "route: {name: share, params: {share: 1.5}}")
        #expect(!messages(badShare).isEmpty)
    }

    /// The bar: Sonnet saturated, Haiku not. Fallback succeeds more often than the SDK's own
    /// retries on Sonnet, and its refused work lands on Haiku without refusals there.
    @Test func fallbackBeatsSDKDefaultWhenOnlySonnetIsSaturated() throws {
        let s = try ScenarioLoader.load(path: repoRoot.appendingPathComponent("scenarios/fallback.yaml").path)
        let result = try Simulator.run(s)
        func run(_ label: String) throws -> RunLog { try #require(result.runs.first { $0.spec.label == label }).log }
        func successRate(_ log: RunLog) -> Double {
            Double(log.outcome.filter { $0 == RequestOutcome.succeeded.rawValue }.count) / Double(log.requestCount)
        }
        func count(_ log: RunLog, modelClass c: Int, status: UInt16? = nil) -> Int {
            (0..<log.attemptCountTotal).filter { log.modelClass(ofAttempt: $0) == c && (status == nil || log.status[$0] == status!) }.count
        }
        let sdk = try run("sdk-default"), fallback = try run("fallback")
        #expect(count(sdk, modelClass: 0, status: 429) > sdk.requestCount / 10, "Sonnet is saturated")
        #expect(count(sdk, modelClass: 1) == 0, "sdk-default never leaves Sonnet")
        #expect(successRate(fallback) > successRate(sdk))
        #expect(count(fallback, modelClass: 1) > 0)
        #expect(count(fallback, modelClass: 1, status: 429) == 0, "Haiku is not saturated")
        // Fallback only after a 429/529 from Sonnet: a request's first attempt is always on Sonnet.
        for a in 0..<fallback.attemptCountTotal where fallback.attemptNumber[a] == 1 {
            #expect(fallback.modelClass(ofAttempt: a) == 0)
        }
    }
}
