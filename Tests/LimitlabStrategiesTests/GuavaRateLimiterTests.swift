import LimitlabCore
import LimitlabStrategies
import Testing

/// Anchor numbers from Guava's own RateLimiterTest (FakeStopwatch: each caller sleeps its wait,
/// so the next one asks at the end of that sleep), against the port of SmoothRateLimiter.
@Suite struct GuavaRateLimiterTests {
    /// Each caller's sleep for `permits`, the clock starting at `start` and advancing by each sleep.
    func sleeps(_ limiter: inout GuavaRateLimiter, _ permits: [Double], from start: Double) -> (sleeps: [Double], end: Double) {
        var now = start
        var out: [Double] = []
        for n in permits {
            let s = limiter.acquire(n, now: now)
            out.append(s)
            now += s
        }
        return (out, now)
    }

    func near(_ a: [Double], _ b: [Double]) -> Bool {
        a.count == b.count && zip(a, b).allSatisfy { abs($0 - $1) < 1e-9 }
    }

    /// testSimple: create(5.0), three acquires: R0.00, R0.20, R0.20.
    @Test func burstyPacesAtTheStableRate() {
        var g = GuavaRateLimiter(kind: .bursty(maxBurstSeconds: 1), rate: 5)
        #expect(near(sleeps(&g, [1, 1, 1], from: 0).sleeps, [0, 0.2, 0.2]))
    }

    /// The bar and Guava's javadoc: acquire(100) at 1 permit/s goes at once, the next caller waits 100 s.
    @Test func burstyLetsALargeRequestGoAndTheNextPay() {
        var g = GuavaRateLimiter(kind: .bursty(maxBurstSeconds: 1), rate: 1)
        #expect(g.acquire(100, now: 0) == 0)
        #expect(abs(g.acquire(1, now: 0) - 100) < 1e-9)
    }

    /// testOneSecondBurst: create(5.0), idle 2 s (capacity 5 stored), then acquire 1, 1, 3, 1 at
    /// R0.00 (the last on credit) and the next at R0.20.
    @Test func burstyStoresOneSecondOfPermits() {
        var g = GuavaRateLimiter(kind: .bursty(maxBurstSeconds: 1), rate: 5)
        #expect(near(sleeps(&g, [1, 1, 3, 1, 1], from: 2).sleeps, [0, 0, 0, 0, 0.2]))
        #expect(g.maxPermits == 5)
    }

    /// testWarmUp: create(2.0, 4000 ms) with cold factor 3: R0.00, R1.38, R1.13, R0.88, R0.63,
    /// R0.50, R0.50, R0.50 from cold; cold again after 0.5 + 4 s idle; still warm after 0.5 + 2 s.
    @Test func warmingUpFromColdAndBack() {
        var g = GuavaRateLimiter(kind: .warmingUp(warmup: 4, coldFactor: 3), rate: 2)
        #expect(g.maxPermits == 8 && g.storedPermits == 8, "threshold 4 + 2·4/(0.5 + 1.5)")
        let cold = [0, 1.375, 1.125, 0.875, 0.625, 0.5, 0.5, 0.5]
        let first = sleeps(&g, Array(repeating: 1, count: 8), from: 0)
        #expect(near(first.sleeps, cold))
        let second = sleeps(&g, Array(repeating: 1, count: 8), from: first.end + 0.5 + 4)
        #expect(near(second.sleeps, cold), "4 s idle cools it back to maxPermits")
        let third = sleeps(&g, Array(repeating: 1, count: 8), from: second.end + 0.5 + 2)
        #expect(near(third.sleeps, [0] + Array(repeating: 0.5, count: 7)), "2 s idle stores only the threshold")
    }

    /// Through the pipeline: sends at the sleeps' cumulative times; `max_wait` refuses at once a
    /// request whose slot is after its deadline (tryAcquire with a timeout).
    @Test func asAnAdmissionLimiter() throws {
        var s = try StrategyFactory.make(StrategySpec(name: "guava", params: [
            "kind": .string("warming-up"), "rate": .number(2), "warmup": .number(4),
        ]), seed: 1)
        for i in 0..<6 { s.arrived(req(Int32(i)), now: 0) }
        var sendTimes: [Double] = []
        var now = 0.0
        while sendTimes.count < 6 {
            var c: [StrategyCommand] = []
            s.poll(now: now, into: &c)
            for command in c { if case .send = command { sendTimes.append(now) } }
            guard let next = s.nextWakeup else { break }
            now = next
        }
        #expect(near(sendTimes, [0, 1.375, 2.5, 3.375, 4, 4.5]))

        var t = try StrategyFactory.make(StrategySpec(name: "guava", params: [
            "rate": .number(1), "max_wait": .number(1.5),
        ]), seed: 1)
        for i in 0..<3 { t.arrived(req(Int32(i)), now: 0) }
        var c: [StrategyCommand] = []
        t.poll(now: 0, into: &c)
        #expect(c == [.send(request: 0, readyAt: 0)])
        c.removeAll()
        t.poll(now: 1, into: &c)
        #expect(c == [.send(request: 1, readyAt: 0), .drop(request: 2, reason: .deadline)],
                "request 2's slot at 2 s is after its 1.5 s deadline: refused at once, not at 1.5 s")
        #expect(t.nextWakeup == nil)
    }

    @Test func inputTokenPermitsAndBadParameters() throws {
        var g = GuavaRateLimiter(kind: .bursty(maxBurstSeconds: 1), rate: 100, permits: .inputTokens)
        let big = PendingRequest(id: 0, intendedAt: 0, cost: RequestCost(inputTokens: 300, maxTokens: 10))
        #expect(g.ask(big, attempt: 1, now: 0) == .now)
        g.sent(big, attempt: 1, now: 0)
        #expect(g.ask(big, attempt: 1, now: 0) == .at(3), "300 tokens at 100/s are paid by the next caller")
        for bad: [String: ParamValue] in [["kind": .string("smooth")], ["rate": .number(0)],
                                          ["kind": .string("warming-up"), "warmup": .number(0)]] {
            #expect(throws: StrategyError.self) { try StrategyFactory.make(StrategySpec(name: "guava", params: bad), seed: 1) }
        }
    }
}
