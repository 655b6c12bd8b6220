import LimitlabCore
import LimitlabReport
import LimitlabSim
import LimitlabTestSupport
import Testing

/// Client limiters in the simulator, against a server that enforces 60 RPM as 1 request per
/// second (`burst: 1/60`), with Poisson arrivals at twice the limit.
@Suite struct LimiterSimTests {
    static let limits = LimitConfig(rpm: 60, itpm: 1e9, otpm: 1e9, burst: 1.0 / 60)

    func summaries(_ strategies: [StrategySpec]) throws -> [String: RunSummary] {
        let sc = makeScenario(arrivals: [ArrivalSpec(.poisson(rate: 2))], length: .duration(300), seed: 7,
                              limits: Self.limits, strategies: strategies)
        let result = try Simulator.run(sc)
        var out: [String: RunSummary] = [:]
        for run in result.runs {
            out[run.spec.label] = Summariser.summarise(log: run.log, stream: result.stream, slo: nil)
        }
        return out
    }

    /// A token bucket sized exactly to the server's one-second bucket sees no 429 at all, while
    /// sending at arrival sees about half refused; every offered request is accounted for.
    @Test func tokenBucketSizedToTheServerAvoidsRefusals() throws {
        let s = try summaries([
            StrategySpec(name: "none"),
            StrategySpec(name: "token-bucket"),
            StrategySpec(name: "token-bucket", label: "bounded", params: ["max_queue": .number(5)]),
        ])
        let none = try #require(s["none"]), bucket = try #require(s["token-bucket"]), bounded = try #require(s["bounded"])
        for r in [none, bucket, bounded] {
            #expect(r.requests.offered == r.requests.succeeded + r.requests.failed + r.requests.dropped)
        }
        #expect(none.requests.offered > 500)
        #expect((none.statusCounts["429"] ?? 0) * 10 > none.requests.offered * 3, "\(none.statusCounts)")
        #expect(bucket.statusCounts["429"] == nil && bucket.requests.succeeded == bucket.requests.offered)
        #expect(bounded.statusCounts["429"] == nil && bounded.requests.dropped > 0)
        #expect(bounded.droppedByReason.keys.sorted() == ["queue_overflow"])
    }
}
