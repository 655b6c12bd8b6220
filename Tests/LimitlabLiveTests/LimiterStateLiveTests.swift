import LimitlabCore
import LimitlabLive
import LimitlabTestSupport
import Testing

/// The live runner samples the strategy's state gauges with its (empty) bucket levels: the
/// sampling is the client loop's, shared with the simulator.
@Suite struct LimiterStateLiveTests {
    @Test func aLiveRunRecordsTheGaugesAtTheBucketSampleTimes() async throws {
        var s = makeScenario(.live, arrivals: [ArrivalSpec(.constant(rate: 10))], length: .duration(2),
                             output: Sampled(.constant(2)),
                             server: ServerModel(ttft: Sampled(.constant(0.02)), outputTokensPerSecond: 1000,
                                                 rejectLatency: 0.01))
        s.strategies = [StrategySpec(name: "gcra", params: ["count": .number(300), "period": .number(60),
                                                            "max_burst": .number(2)])]
        let result = try await runAgainstMock(s)
        let log = try #require(result.runs.first).log
        #expect(log.limiterStateNames == ["queue.length", "in_flight", "limiter.remaining", "limiter.reset_s"])
        let n = log.bucketRequests.count
        #expect(n >= 10, "\(n) samples over a 2 s window")
        for series in log.limiterState { #expect(series.count == n) }
        let remaining = log.limiterState[2]
        // Nothing was sent before time 0's sample: the whole burst remains.
        #expect(remaining.first == 3)
        #expect(remaining.allSatisfy { $0 >= 0 && $0 <= 3 })
        // Ten arrivals a second against five: the burst is used up at some sample.
        #expect(remaining.contains(0), "\(remaining)")
    }
}
