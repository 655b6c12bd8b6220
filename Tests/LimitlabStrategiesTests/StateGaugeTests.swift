import LimitlabCore
import LimitlabStats
@testable import LimitlabStrategies
import Testing

/// Each role's state gauges (`stateGauges(now:)`) after a known sequence of events.
@Suite struct StateGaugeTests {
    static func request(_ id: Int32, input: Int = 10, maxTokens: Int = 100) -> PendingRequest {
        PendingRequest(id: id, intendedAt: 0, cost: RequestCost(inputTokens: input, maxTokens: maxTokens))
    }

    static func outcome(_ status: Int, at t: Double = 0, output: Int = 0) -> AttemptOutcome {
        AttemptOutcome(status: status, error: status == 200 ? .none : status == 429 ? .rateLimited : .serverError,
                       outputTokens: output, sentAt: t, completedAt: t)
    }

    static func gauges(_ list: [StateGauge]) -> [String: Double] {
        Dictionary(list.map { ($0.name, $0.value) }, uniquingKeysWith: { a, _ in a })
    }

    @Test func tokenBucketTokensFallPerSendAndRefill() {
        // 600 RPM and 6,000 ITPM with a one-second bucket: capacities 10 requests, 100 input tokens.
        var tb = TokenBucketLimiter(.init(rpm: 600, itpm: 6000, otpm: nil))
        #expect(tb.stateGauges(now: 0).map(\.name) == ["tokens.requests", "tokens.input"])
        for id in 0..<3 { tb.sent(Self.request(Int32(id), input: 30), attempt: 1, now: 0) }
        var g = Self.gauges(tb.stateGauges(now: 0))
        #expect(g["tokens.requests"] == 7)
        #expect(g["tokens.input"] == 10)
        // Reading is pure: asking again (later, then earlier) changes nothing.
        g = Self.gauges(tb.stateGauges(now: 0.2))
        #expect(abs(g["tokens.requests"]! - 9) < 1e-9 && abs(g["tokens.input"]! - 30) < 1e-9)
        #expect(Self.gauges(tb.stateGauges(now: 0))["tokens.requests"] == 7)
        // Refill stops at capacity.
        #expect(Self.gauges(tb.stateGauges(now: 5))["tokens.requests"] == 10)
    }

    @Test func gcraRemainingFallsByOnePerSendAndResetGrowsByT() {
        // T = 1 s, max_burst 4: five requests at once, redis-cell's limit 5.
        var gcra = GCRALimiter(count: 60, period: 60, maxBurst: 4)
        #expect(Self.gauges(gcra.stateGauges(now: 0)) == ["remaining": 5, "reset_s": 0])
        for k in 1...5 {
            gcra.sent(Self.request(Int32(k)), attempt: 1, now: 0)
            #expect(Self.gauges(gcra.stateGauges(now: 0)) == ["remaining": Double(5 - k), "reset_s": Double(k)])
        }
        // 2.5 s later TAT − now = 2.5: two whole emission intervals are free again.
        #expect(Self.gauges(gcra.stateGauges(now: 2.5)) == ["remaining": 2, "reset_s": 2.5])
    }

    @Test func windowRemainingCountsHitsInTheWindow() {
        var fixed = WindowLimiter(kind: .fixed, limit: 3, window: 10)
        fixed.sent(Self.request(0), attempt: 1, now: 0)
        fixed.sent(Self.request(1), attempt: 1, now: 1)
        #expect(Self.gauges(fixed.stateGauges(now: 5)) == ["remaining": 1])
        #expect(Self.gauges(fixed.stateGauges(now: 10)) == ["remaining": 3], "the window started at the first hit")
        var log = WindowLimiter(kind: .slidingLog, limit: 3, window: 10)
        for t in [0.0, 4, 8] { log.sent(Self.request(0), attempt: 1, now: t) }
        #expect(Self.gauges(log.stateGauges(now: 9)) == ["remaining": 0])
        // At 10 the hit at 0 is still in (expired only when atime < now − window); at 10.5 it is out.
        #expect(Self.gauges(log.stateGauges(now: 10)) == ["remaining": 0])
        #expect(Self.gauges(log.stateGauges(now: 10.5)) == ["remaining": 1])
        var counter = WindowLimiter(kind: .slidingCounter, limit: 4, window: 10)
        for _ in 0..<4 { counter.sent(Self.request(0), attempt: 1, now: 2) }
        // At 15 the previous window's 4 hits weigh 4·(10 − 5)/10 = 2.
        #expect(Self.gauges(counter.stateGauges(now: 15)) == ["remaining": 2])
    }

    @Test func leakyBucketLevelLeaks() {
        var lb = LeakyBucketLimiter(maxRate: 10, timePeriod: 60)
        for _ in 0..<3 { lb.sent(Self.request(0), attempt: 1, now: 0) }
        #expect(Self.gauges(lb.stateGauges(now: 0)) == ["level": 3])
        #expect(Self.gauges(lb.stateGauges(now: 6)) == ["level": 2])
        #expect(Self.gauges(lb.stateGauges(now: 100)) == ["level": 0])
    }

    @Test func aimdConcurrencyLimitHalvesOnA429() {
        var p = PipelineStrategy(concurrency: AIMDConcurrencyLimit(initialLimit: 20, minLimit: 1, maxLimit: 200,
                                                                   backoffRatio: 0.5),
                                 retry: NoRetryPolicy())
        #expect(Self.gauges(p.stateGauges(now: 0))["concurrency.limit"] == 20)
        p.arrived(Self.request(0), now: 0)
        var commands: [StrategyCommand] = []
        p.poll(now: 0, into: &commands)
        #expect(Self.gauges(p.stateGauges(now: 0))["in_flight"] == 1)
        p.finished(Self.request(0), attempt: 1, outcome: Self.outcome(429, at: 1), now: 1)
        let g = Self.gauges(p.stateGauges(now: 1))
        #expect(g["concurrency.limit"] == 10)
        #expect(g["in_flight"] == 0)
    }

    @Test func aimdRateHalvesOnA429() {
        var aimd = AIMDRateLimiter(.init(initialRate: 2, increase: 0.5, decrease: 0.5, interval: 1))
        #expect(Self.gauges(aimd.stateGauges(now: 0)) == ["rate": 2])
        aimd.sent(Self.request(0), attempt: 1, now: 0)
        aimd.finished(Self.request(0), attempt: 1, outcome: Self.outcome(429, at: 1), now: 1)
        #expect(Self.gauges(aimd.stateGauges(now: 1)) == ["rate": 1])
        aimd.sent(Self.request(1), attempt: 1, now: 2)
        aimd.finished(Self.request(1), attempt: 1, outcome: Self.outcome(200, at: 2.5), now: 2.5)
        #expect(Self.gauges(aimd.stateGauges(now: 2.5)) == ["rate": 1.5], "one additive step after an interval")
    }

    @Test func fixedConcurrencyAndQueueLength() {
        var p = PipelineStrategy(concurrency: FixedConcurrencyLimit(limit: 2), retry: NoRetryPolicy())
        for id in 0..<5 { p.arrived(Self.request(Int32(id)), now: 0) }
        #expect(Self.gauges(p.stateGauges(now: 0))["queue.length"] == 5)
        var commands: [StrategyCommand] = []
        p.poll(now: 0, into: &commands)
        #expect(Self.gauges(p.stateGauges(now: 0)) == ["queue.length": 3, "in_flight": 2, "concurrency.limit": 2])
    }

    @Test func sreRejectProbabilityFollowsTheFormula() {
        var sre = SREThrottle(k: 2, window: 120, maxRejectProbability: 0.9, minRequests: 0,
                              random: RandomSource(seed: 1, stream: "t"))
        #expect(Self.gauges(sre.stateGauges(now: 0)) == ["reject_probability": 0])
        for _ in 0..<10 { _ = sre.shouldReject(now: 0) }
        sre.record(accepted: true, now: 0)
        sre.record(accepted: true, now: 0)
        let p = Self.gauges(sre.stateGauges(now: 0))["reject_probability"]!
        #expect(abs(p - 6.0 / 11) < 1e-12, "(10 − 2·2)/(10 + 1)")
        // Outside the window the history is gone.
        #expect(Self.gauges(sre.stateGauges(now: 200))["reject_probability"] == 0)
    }

    @Test func grpcThrottleTokens() {
        var grpc = GRPCRetryThrottle(maxTokens: 10, tokenRatio: 0.1)
        #expect(Self.gauges(grpc.stateGauges(now: 0)) == ["tokens": 10])
        for _ in 0..<3 { grpc.attemptFinished(Self.outcome(503), now: 0) }
        #expect(Self.gauges(grpc.stateGauges(now: 0)) == ["tokens": 7])
        grpc.attemptFinished(Self.outcome(200), now: 0)
        #expect(Self.gauges(grpc.stateGauges(now: 0)) == ["tokens": 7.1])
    }

    @Test func percentageBudgetTokensAreAffordableRetries() {
        // No reserve; each new request deposits a fifth of a retry.
        var budget = PercentageRetryBudget(ttl: 10, minRetriesPerSec: 0, percentCanRetry: 0.2)
        #expect(Self.gauges(budget.stateGauges(now: 0)) == ["tokens": 0])
        for _ in 0..<10 { budget.attemptSent(isRetry: false, now: 0) }
        #expect(Self.gauges(budget.stateGauges(now: 0)) == ["tokens": 2])
        let allowed = budget.allowRetry(now: 0)
        #expect(allowed)
        #expect(Self.gauges(budget.stateGauges(now: 0)) == ["tokens": 1])
        // Through a pipeline the name carries the role.
        let p = PipelineStrategy(retry: NoRetryPolicy(), budget: budget)
        #expect(Self.gauges(p.stateGauges(now: 0))["budget.tokens"] == 1)
    }

    @Test func guavaStoredPermits() {
        var bursty = GuavaRateLimiter(kind: .bursty(maxBurstSeconds: 10), rate: 1)
        #expect(Self.gauges(bursty.stateGauges(now: 0)) == ["stored_permits": 0, "wait_s": 0])
        // Five idle seconds store five permits (read without resyncing).
        #expect(Self.gauges(bursty.stateGauges(now: 5)) == ["stored_permits": 5, "wait_s": 0])
        _ = bursty.acquire(8, now: 5)
        // Five stored permits spent, three fresh ones paid for by the next caller.
        #expect(Self.gauges(bursty.stateGauges(now: 5)) == ["stored_permits": 0, "wait_s": 3])
        let cold = GuavaRateLimiter(kind: .warmingUp(warmup: 4, coldFactor: 3), rate: 2)
        #expect(Self.gauges(cold.stateGauges(now: 0))["stored_permits"] == cold.maxPermits, "starts cold")
    }

    @Test func composedStrategiesPrefixTheirParts() {
        let inner: [any ClientStrategy] = [
            PipelineStrategy(admission: GCRALimiter(count: 60, period: 60, maxBurst: 0), retry: NoRetryPolicy()),
            PipelineStrategy(admission: GCRALimiter(count: 60, period: 60, maxBurst: 0), retry: NoRetryPolicy()),
        ]
        let pool = KeyPoolStrategy(mode: .roundRobin, strategies: inner)
        let names = pool.stateGauges(now: 0).map(\.name)
        #expect(names.contains("key0.limiter.remaining") && names.contains("key1.limiter.reset_s"), "\(names)")
        let workers = WorkerPoolStrategy(split: .roundRobin, workers: inner)
        #expect(workers.stateGauges(now: 0).map(\.name).contains("w1.queue.length"))
        // A strategy without inspectable state reports none.
        #expect(SDKDefaultStrategy(random: RandomSource(seed: 1, stream: "t")).stateGauges(now: 0).isEmpty)
    }
}
