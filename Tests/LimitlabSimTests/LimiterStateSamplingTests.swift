import LimitlabCore
import LimitlabSim
import LimitlabStats
import LimitlabStrategies
import LimitlabTestSupport
import LimitlabWorkload
import Testing

/// The strategies' state gauges sampled by the client loop: the same instants, interval and
/// cap as the server's bucket levels.
@Suite struct LimiterStateSamplingTests {
    /// 2 requests/s for `length` seconds against 60 RPM: a GCRA at 1 request/s keeps a queue.
    static func scenario(length: Double = 60) -> Scenario {
        makeScenario(arrivals: [ArrivalSpec(.poisson(rate: 2))], length: .duration(length), seed: 5,
                     limits: LimitConfig(rpm: 60, itpm: 1e9, otpm: 1e9),
                     input: Sampled(.constant(100)), output: Sampled(.constant(20)), maxTokens: 64)
    }

    static func strategy() -> PipelineStrategy {
        PipelineStrategy(admission: GCRALimiter(count: 60, period: 60, maxBurst: 2), retry: NoRetryPolicy())
    }

    static func run(_ sc: Scenario, sampleEvery: Double? = nil) -> RunLog {
        let stream = ArrivalGenerator.generate(sc)
        var s = strategy()
        return SimDriver.run(scenario: sc, stream: stream, strategy: &s, sampleEvery: sampleEvery)
    }

    @Test func gaugesShareTheBucketSampleTimes() {
        let log = Self.run(Self.scenario())
        #expect(log.limiterStateNames == ["queue.length", "in_flight", "limiter.remaining", "limiter.reset_s"])
        let n = log.bucketRequests.count
        #expect(n > 100)
        for series in log.limiterState { #expect(series.count == n) }
        let remaining = log.limiterState[2], reset = log.limiterState[3], queue = log.limiterState[0]
        // At time 0 nothing has been sent: a full burst (max_burst + 1) remains.
        #expect(remaining[0] == 3 && reset[0] == 0)
        #expect(remaining.allSatisfy { $0 >= 0 && $0 <= 3 })
        #expect(reset.allSatisfy { $0 >= 0 && $0 <= 3 }, "TAT − now stays within τ = 3 s")
        // Offered twice what the GCRA lets through, the queue grows and the burst is used up.
        #expect(queue.max()! > 10, "longest queue \(queue.max()!)")
        #expect(remaining.contains(0))
    }

    /// A run whose samples are coarsened (too many for the cap) keeps exactly the gauge samples
    /// a run sampled at the coarse interval from the start takes: the cap and the thinning are
    /// the bucket levels' own.
    @Test func coarsenedGaugesMatchARunSampledCoarselyFromTheStart() {
        let sc = Self.scenario(length: 30)
        // 1/256 s: several thousand samples wanted, so coarsened; a power of two keeps every
        // sample instant exact in both runs.
        let fine = Self.run(sc, sampleEvery: 1.0 / 256)
        #expect(fine.bucketRequests.count <= 2048)
        #expect(fine.bucketSampleInterval >= 4.0 / 256, "coarsened at least twice")
        let coarse = Self.run(sc, sampleEvery: fine.bucketSampleInterval)
        #expect(coarse.bucketSampleInterval == fine.bucketSampleInterval)
        #expect(coarse.bucketRequests == fine.bucketRequests)
        #expect(fine.limiterStateNames == coarse.limiterStateNames)
        for (a, b) in zip(fine.limiterState, coarse.limiterState) {
            #expect(a.count == fine.bucketRequests.count)
            #expect(a.elementsEqual(b) { $0 == $1 || ($0.isNaN && $1.isNaN) })
        }
    }

    /// A response taking hours stretches the run far past its window; the samples stay capped.
    @Test func theCapHoldsForARunFarLongerThanItsWindow() {
        var sc = Self.scenario(length: 10)
        sc.server.ttft = Sampled(.constant(36_000))
        let log = Self.run(sc, sampleEvery: 0.1)
        #expect(log.bucketRequests.count <= 2048)
        #expect(log.bucketSampleInterval > 0.1, "coarsened")
        for series in log.limiterState { #expect(series.count == log.bucketRequests.count) }
    }

    @Test func sameSeedSameGauges() {
        let a = Self.run(Self.scenario()), b = Self.run(Self.scenario())
        #expect(a.limiterStateNames == b.limiterStateNames)
        #expect(a.limiterState == b.limiterState)
    }
}
