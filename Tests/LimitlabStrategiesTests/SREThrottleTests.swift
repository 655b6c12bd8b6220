import LimitlabCore
import LimitlabStats
import LimitlabStrategies
import Testing

@Suite struct SREThrottleTests {
    func throttle(k: Double = 2, maxReject: Double = 0.9, minRequests: Int = 10, seed: UInt64 = 1) -> SREThrottle {
        SREThrottle(k: k, window: 120, maxRejectProbability: maxReject, minRequests: minRequests,
                    random: RandomSource(seed: seed))
    }

    /// Offers `n` requests at `t` (counted whether rejected or not) and records `accepts` accepts.
    func load(_ s: inout SREThrottle, requests n: Int, accepts: Int, at t: Double) {
        for _ in 0..<n { _ = s.shouldReject(now: t) }
        for i in 0..<n { s.record(accepted: i < accepts, now: t) }
    }

    /// p = max(0, (requests − K·accepts) / (requests + 1)), K = 2 by default.
    @Test func rejectProbabilityFollowsTheBookFormula() throws {
        let built = try StrategyFactory.make(StrategySpec(name: "none", shed: RoleSpec(name: "sre")), seed: 1)
        let pipeline = try #require(built as? PipelineStrategy)
        var s = try #require(pipeline.shedder as? SREThrottle)
        #expect(s.k == 2 && s.window == 120 && s.maxRejectProbability == 0.9 && s.minRequests == 10)
        load(&s, requests: 100, accepts: 30, at: 1)
        #expect(s.counts(now: 2) == (requests: 100, accepts: 30))
        #expect(abs(s.rejectProbability(now: 2) - 40.0 / 101) < 1e-12)
        var healthy = throttle()
        load(&healthy, requests: 100, accepts: 50, at: 1)
        #expect(healthy.rejectProbability(now: 2) == 0, "accepts ≥ requests/K: no rejection")
        var aggressive = throttle(k: 1.1)
        load(&aggressive, requests: 100, accepts: 50, at: 1)
        #expect(abs(aggressive.rejectProbability(now: 2) - 45.0 / 101) < 1e-12, "K = 1.1")
    }

    /// The harness knobs: p is capped at 0.9 and is 0 below min_requests.
    @Test func capAndMinimumRequests() {
        var s = throttle()
        load(&s, requests: 9, accepts: 0, at: 0)
        #expect(s.rejectProbability(now: 0) == 0, "9 < min_requests 10")
        load(&s, requests: 1, accepts: 0, at: 0)
        #expect(abs(s.rejectProbability(now: 0) - 0.9) < 1e-12, "10/11 capped at 0.9")
        var uncapped = throttle(maxReject: 1, minRequests: 0)
        load(&uncapped, requests: 10, accepts: 0, at: 0)
        #expect(abs(uncapped.rejectProbability(now: 0) - 10.0 / 11) < 1e-12)
    }

    /// Counts leave the 120 s window with their 1-second bucket, and p decays with them.
    @Test func probabilityDecaysAsTheWindowMovesOn() {
        var s = throttle()
        load(&s, requests: 100, accepts: 10, at: 0.5)
        load(&s, requests: 50, accepts: 40, at: 60)
        #expect(abs(s.rejectProbability(now: 61) - 50.0 / 151) < 1e-12, "(150 − 2·50)/151")
        #expect(abs(s.rejectProbability(now: 119.99) - 50.0 / 151) < 1e-12, "t = 0.5 still in the window")
        #expect(s.counts(now: 120) == (requests: 50, accepts: 40))
        #expect(s.rejectProbability(now: 120) == 0, "(50 − 80) < 0")
        #expect(s.counts(now: 180) == (requests: 0, accepts: 0))
    }

    /// The reject draw uses the seeded stream: the share rejected matches p.
    @Test func rejectsWithProbabilityP() {
        var s = throttle(seed: 11)
        load(&s, requests: 1000, accepts: 0, at: 0)
        // Every further request sees p = min(0.9, r/(r+1)) = 0.9.
        var rejected = 0
        for _ in 0..<10_000 where s.shouldReject(now: 1) { rejected += 1 }
        #expect(abs(Double(rejected) / 10_000 - 0.9) < 0.015, "rejected \(rejected)")
        // With p ≈ 40/101 from a fixed window: draw without counting by rebuilding each time.
        var hits = 0
        let random = RandomSource(seed: 5)
        for _ in 0..<4000 {
            var t = SREThrottle(random: random)
            load(&t, requests: 100, accepts: 30, at: 0)
            if t.shouldReject(now: 0) { hits += 1 }
        }
        #expect(abs(Double(hits) / 4000 - 40.0 / 101) < 0.03, "hits \(hits)")
    }

    /// In the pipeline, arrivals are shed locally (reason shed) once the backend keeps refusing.
    @Test func pipelineShedsArrivalsWhenTheBackendRefuses() {
        var p = PipelineStrategy(retry: NoRetryPolicy(), shedder: throttle(seed: 3))
        var commands: [StrategyCommand] = []
        var shed = 0, sent = 0
        for i in 0..<400 {
            let t = Double(i) * 0.1
            let r = PendingRequest(id: Int32(i), intendedAt: t, cost: RequestCost(inputTokens: 10, maxTokens: 10))
            p.arrived(r, now: t)
            p.poll(now: t, into: &commands)
            for c in commands {
                switch c {
                case .drop(_, .shed): shed += 1
                case .send:
                    sent += 1
                    let refused = AttemptOutcome(status: 429, error: .rateLimited, sentAt: t, completedAt: t)
                    p.finished(r, attempt: 1, outcome: refused, now: t)
                default: break
                }
            }
            commands.removeAll()
        }
        #expect(shed + sent == 400)
        #expect(sent >= 10, "nothing is shed before min_requests")
        #expect(abs(Double(shed) / 400 - 0.9) < 0.06, "p reaches the 0.9 cap: shed \(shed)")
    }
}
