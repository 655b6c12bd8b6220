import LimitlabCore
import LimitlabStrategies
import Testing

// The adaptive limiters: aimd-rate (TCP AIMD on a request rate) and the aimd concurrency
// limit (Netflix AIMDLimit).

private func adOutcome(_ status: Int, sent: Double = 0, done: Double) -> AttemptOutcome {
    let kind: ErrorKind = status == 429 ? .rateLimited : status == 529 ? .overloaded : status >= 500 ? .serverError : .none
    return AttemptOutcome(status: status, error: kind, retryAfter: status == 429 ? 1 : nil, sentAt: sent, completedAt: done)
}

private let adRequest = PendingRequest(id: 0, intendedAt: 0, cost: RequestCost(inputTokens: 10, maxTokens: 10))

private func adNear(_ a: Double, _ b: Double) -> Bool { abs(a - b) < 1e-9 }

@Suite struct AIMDRateTests {
    func limiter(initial: Double = 1, increase: Double = 0.1, decrease: Double = 0.5, interval: Double = 1,
                 min: Double = 0.01, max: Double = .infinity,
                 growth: AIMDRateLimiter.Growth = .perSuccess) -> AIMDRateLimiter {
        AIMDRateLimiter(.init(initialRate: initial, increase: increase, decrease: decrease, interval: interval,
                              minRate: min, maxRate: max, growth: growth))
    }

    /// Multiplicative decrease by 0.5 (TCP) on a 429 or 529, at most once per interval.
    @Test func halvesOnThrottlingOncePerInterval() {
        var a = limiter()
        a.finished(adRequest, attempt: 1, outcome: adOutcome(429, done: 5), now: 5)
        #expect(a.rate == 0.5)
        a.finished(adRequest, attempt: 1, outcome: adOutcome(429, done: 5.5), now: 5.5)
        #expect(a.rate == 0.5, "the same burst of refusals is one congestion event")
        a.finished(adRequest, attempt: 1, outcome: adOutcome(529, done: 6), now: 6)
        #expect(a.rate == 0.25, "529 overloaded is throttling too")
        a.finished(adRequest, attempt: 1, outcome: adOutcome(500, done: 8), now: 8)
        #expect(a.rate == 0.25, "a plain server error is not a congestion signal")
    }

    /// growth: per-interval: + increase per interval with demand, successes or
    /// not; a waiting request is re-asked at the interval's end; idle intervals add nothing.
    @Test func perIntervalGrowthIsClockedByDemandNotSuccesses() {
        var a = limiter(initial: 0.1, growth: .perInterval)
        #expect(AIMDRateLimiter.Configuration(initialRate: 1, increase: 0.1).growth == .perSuccess, "the default")
        #expect(a.ask(adRequest, attempt: 1, now: 0) == .now)
        a.sent(adRequest, attempt: 1, now: 0)
        // At 0.1/s the next send is due at 10 s; the limiter wakes the queue at the interval's end.
        #expect(a.ask(adRequest, attempt: 1, now: 0) == .at(1))
        #expect(a.ask(adRequest, attempt: 1, now: 1) == .at(2))
        #expect(adNear(a.rate, 0.2), "one interval with demand: + 0.1 without any response")
        // Throttled: halved, and the clock restarts at the decrease.
        a.finished(adRequest, attempt: 1, outcome: adOutcome(429, done: 1.5), now: 1.5)
        #expect(adNear(a.rate, 0.1))
        #expect(a.ask(adRequest, attempt: 1, now: 1.5) == .at(2.5))
        // Waiting through three whole intervals adds three steps; the send is then due (0.4/s: 2.5 s after 0).
        #expect(a.ask(adRequest, attempt: 1, now: 4.5) == .now)
        #expect(adNear(a.rate, 0.4))
        a.sent(adRequest, attempt: 1, now: 4.5)
        // No demand after that send: the interval with it adds one step, the idle ones none.
        a.finished(adRequest, attempt: 1, outcome: adOutcome(200, done: 60), now: 60)
        #expect(adNear(a.rate, 0.5), "idle intervals do not add up")
    }

    /// A request dropped from the queue (abandoned) is no longer demand.
    @Test func abandonedRequestEndsTheDemand() {
        var a = limiter(initial: 0.1, growth: .perInterval)
        a.sent(adRequest, attempt: 1, now: 0)
        #expect(a.ask(adRequest, attempt: 1, now: 0.5) == .at(1))
        a.abandoned(adRequest, attempt: 1, now: 0.5)
        a.finished(adRequest, attempt: 1, outcome: adOutcome(200, done: 30), now: 30)
        #expect(adNear(a.rate, 0.2), "only the interval with the send and the wait counts")
    }

    /// growth: per-success: + increase once per interval in which a response succeeded.
    @Test func growsByIncreasePerIntervalOfSuccesses() {
        var a = limiter()
        a.finished(adRequest, attempt: 1, outcome: adOutcome(200, done: 0.5), now: 0.5)
        #expect(a.rate == 1, "less than an interval has passed")
        a.finished(adRequest, attempt: 1, outcome: adOutcome(200, done: 1), now: 1)
        #expect(adNear(a.rate, 1.1))
        a.finished(adRequest, attempt: 1, outcome: adOutcome(200, done: 1.5), now: 1.5)
        #expect(adNear(a.rate, 1.1))
        a.finished(adRequest, attempt: 1, outcome: adOutcome(200, done: 2.2), now: 2.2)
        #expect(adNear(a.rate, 1.2))
        a.finished(adRequest, attempt: 1, outcome: adOutcome(200, done: 3.0), now: 3.0)
        #expect(adNear(a.rate, 1.3), "the grid stays at whole intervals: 2.2 counted for [2, 3)")
        a.finished(adRequest, attempt: 1, outcome: adOutcome(200, done: 60), now: 60)
        #expect(adNear(a.rate, 1.4), "idle intervals do not add up")
    }

    /// A decrease restarts the increase interval.
    @Test func decreaseRestartsTheIncreaseClock() {
        var a = limiter()
        a.finished(adRequest, attempt: 1, outcome: adOutcome(429, done: 5.5), now: 5.5)
        a.finished(adRequest, attempt: 1, outcome: adOutcome(200, done: 6), now: 6)
        #expect(a.rate == 0.5)
        a.finished(adRequest, attempt: 1, outcome: adOutcome(200, done: 6.5), now: 6.5)
        #expect(adNear(a.rate, 0.6))
    }

    @Test func floorAndCap() {
        var a = limiter(min: 0.4, max: 1.15)
        a.finished(adRequest, attempt: 1, outcome: adOutcome(429, done: 1), now: 1)
        #expect(a.rate == 0.5)
        a.finished(adRequest, attempt: 1, outcome: adOutcome(429, done: 2), now: 2)
        #expect(a.rate == 0.4)
        var b = limiter(min: 0.4, max: 1.15)
        for t in 1...5 { b.finished(adRequest, attempt: 1, outcome: adOutcome(200, done: Double(t)), now: Double(t)) }
        #expect(b.rate == 1.15)
    }

    /// Sends are spaced 1/rate apart at the rate current when asked.
    @Test func pacesAtTheCurrentRate() {
        var a = limiter(initial: 2)
        #expect(a.ask(adRequest, attempt: 1, now: 0) == .now)
        a.sent(adRequest, attempt: 1, now: 0)
        #expect(a.ask(adRequest, attempt: 1, now: 0) == .at(0.5))
        a.finished(adRequest, attempt: 1, outcome: adOutcome(429, done: 0.1), now: 0.1)
        #expect(a.ask(adRequest, attempt: 1, now: 0.1) == .at(1), "halved to 1/s: the next send waits 1 s after the last")
    }

    /// With workers each starts at its share of RPM/60, spread by initial_spread, with one
    /// common increase.
    @Test func workersStartAtTheirOwnRates() throws {
        let limits = LimitConfig(rpm: 240, itpm: 1e9, otpm: 1e9)
        var rates: [Double] = []
        for w in 0..<3 {
            let s = try StrategyFactory.make(StrategySpec(name: "aimd-rate", params: ["initial_spread": .number(0.5)]),
                                             limits: limits, seed: 1, placement: WorkerPlacement(worker: w, count: 3))
            let a = try #require((s as? PipelineStrategy)?.admission as? AIMDRateLimiter)
            rates.append(a.rate)
            #expect(adNear(a.configuration.increase, 4.0 / 3 * 0.05))
        }
        #expect(zip(rates, [2.0 / 3, 4.0 / 3, 2]).allSatisfy { adNear($0, $1) }, "\(rates)")
    }

    /// Built from a scenario: the initial rate is the scenario's RPM/60 and increase 5 % of it.
    @Test func factoryDefaults() throws {
        var s = try StrategyFactory.make(StrategySpec(name: "aimd-rate"), limits: LimitConfig(rpm: 120, itpm: 1e9, otpm: 1e9),
                                         seed: 1)
        for i in 0..<3 { s.arrived(PendingRequest(id: Int32(i), intendedAt: 0, cost: adRequest.cost), now: 0) }
        var c: [StrategyCommand] = []
        s.poll(now: 0, into: &c)
        #expect(c.count == 1 && s.nextWakeup == 0.5, "120 RPM = 2/s")
    }
}

@Suite struct AIMDConcurrencyTests {
    /// AIMDLimitTest: initial 20, one success with 10 in flight → 21 (10·2 ≥ 20).
    @Test func increaseWhenAtLeastHalfUsed() {
        var a = AIMDConcurrencyLimit()
        #expect(a.limit == 20 && a.minLimit == 20 && a.maxLimit == 200 && a.backoffRatio == 0.9)
        a.finished(outcome: adOutcome(200, done: 1), inFlight: 10, now: 1)
        #expect(a.limit == 21)
        a.finished(outcome: adOutcome(200, done: 2), inFlight: 10, now: 2)
        #expect(a.limit == 21, "10·2 < 21: an app-limited sample does not grow the limit")
    }

    /// AIMDLimitTest: initial 30, one drop → 27.
    @Test func decreaseOnDrop() {
        var a = AIMDConcurrencyLimit(initialLimit: 30)
        a.finished(outcome: adOutcome(429, done: 1), inFlight: 30, now: 1)
        #expect(a.limit == 27)
    }

    /// 20 → 18 on a 429 once the floor allows it; with the anchor's min 20 the limit stays at 20.
    @Test func floorOfTheAnchorDefaults() {
        var lowFloor = AIMDConcurrencyLimit(initialLimit: 20, minLimit: 1)
        lowFloor.finished(outcome: adOutcome(429, done: 1), inFlight: 20, now: 1)
        #expect(lowFloor.limit == 18)
        lowFloor.finished(outcome: adOutcome(529, done: 2), inFlight: 18, now: 2)
        #expect(lowFloor.limit == 16, "floor(18·0.9 = 16.2)")
        var anchor = AIMDConcurrencyLimit()
        anchor.finished(outcome: adOutcome(429, done: 1), inFlight: 20, now: 1)
        #expect(anchor.limit == 20, "min_limit 20 = initial_limit: the limit never goes below its start")
    }

    @Test func cappedAtMax() {
        var a = AIMDConcurrencyLimit(initialLimit: 199)
        for t in 1...3 { a.finished(outcome: adOutcome(200, done: Double(t)), inFlight: 199, now: Double(t)) }
        #expect(a.limit == 200)
    }

    /// The RTT timeout (anchor: 5 s) is off by default; when set, a slow success is a drop.
    @Test func timeoutIsOptional() {
        var off = AIMDConcurrencyLimit(initialLimit: 40)
        off.finished(outcome: adOutcome(200, sent: 0, done: 60), inFlight: 40, now: 60)
        #expect(off.limit == 41, "a 60 s generation is not a drop")
        var on = AIMDConcurrencyLimit(initialLimit: 40, timeout: 5)
        on.finished(outcome: adOutcome(200, sent: 0, done: 6), inFlight: 40, now: 6)
        #expect(on.limit == 36)
        on.finished(outcome: adOutcome(200, sent: 10, done: 14), inFlight: 40, now: 14)
        #expect(on.limit == 37)
    }

    /// Failures that are not throttling are not samples (AbstractLimiter's onIgnore).
    @Test func otherFailuresAreIgnored() {
        var a = AIMDConcurrencyLimit(initialLimit: 30)
        a.finished(outcome: adOutcome(500, done: 1), inFlight: 30, now: 1)
        a.finished(outcome: AttemptOutcome(status: 0, error: .connection, sentAt: 0, completedAt: 2), inFlight: 30, now: 2)
        #expect(a.limit == 30)
    }

    /// Composed from a scenario: the pipeline holds sends at the limit.
    @Test func limitsThePipeline() throws {
        var s = try StrategyFactory.make(StrategySpec(name: "none", concurrency: RoleSpec(name: "aimd", params: [
            "initial_limit": .number(3), "min_limit": .number(1),
        ])), seed: 1)
        for i in 0..<5 { s.arrived(PendingRequest(id: Int32(i), intendedAt: 0, cost: adRequest.cost), now: 0) }
        var c: [StrategyCommand] = []
        s.poll(now: 0, into: &c)
        #expect(c == [.send(request: 0, readyAt: 0), .send(request: 1, readyAt: 0), .send(request: 2, readyAt: 0)])
        // A 429 with 3 in flight: floor(3·0.9) = 2, and the finished one frees a slot → 1 in flight of 2.
        s.finished(PendingRequest(id: 0, intendedAt: 0, cost: adRequest.cost), attempt: 1,
                   outcome: adOutcome(429, done: 1), now: 1)
        c.removeAll()
        s.poll(now: 1, into: &c)
        #expect(c == [.giveUp(request: 0, reason: .noRetry)], "2 still in flight at a limit of 2")
    }
}
