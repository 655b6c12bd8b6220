import LimitlabCore
import LimitlabStats
import LimitlabStrategies
import Testing

/// A failed attempt as the retry policies see it.
private func failure(_ status: Int, retryAfter: Double? = nil, shouldRetry: Bool? = nil) -> AttemptOutcome {
    let kind: ErrorKind = status == 429 ? .rateLimited : status == 529 ? .overloaded
        : status >= 500 ? .serverError : .clientError
    return AttemptOutcome(status: status, error: kind, retryAfter: retryAfter, shouldRetry: shouldRetry,
                          sentAt: 0, completedAt: 0)
}

/// The retry policy the factory builds for `retry: name` with `params` (registry defaults otherwise).
private func built<T>(_ name: String, _ params: [String: ParamValue] = [:], seed: UInt64 = 7,
                      as type: T.Type) throws -> T {
    let s = try StrategyFactory.make(StrategySpec(name: "none", retry: RoleSpec(name: name, params: params)), seed: seed)
    let pipeline = try #require(s as? PipelineStrategy)
    return try #require(pipeline.retry as? T)
}

private func builtPolicy(_ name: String, _ params: [String: ParamValue]) throws -> any RetryPolicy {
    let s = try StrategyFactory.make(StrategySpec(name: "none", retry: RoleSpec(name: name, params: params)), seed: 7)
    return try #require(s as? PipelineStrategy).retry
}

/// A decision from a copy of `p`: the policies here keep no per-decision state (their random
/// stream is shared by reference), and a copy can be asked inside `#expect`.
private func decided(_ p: some RetryPolicy, _ outcome: AttemptOutcome, _ attempt: Int) -> RetryDecision {
    var q = p
    return q.decide(after: outcome, attempt: attempt, now: 0)
}

private func wait(_ d: RetryDecision) -> Double? {
    if case .wait(let w) = d { return w }
    return nil
}

private func mean(_ v: [Double]) -> Double { v.reduce(0, +) / Double(v.count) }

@Suite struct RetryPolicyTests {
    // MARK: exponential (tenacity wait_exponential)

    /// tenacity defaults (multiplier 1, exp_base 2, min 0, max MAX_WAIT): 1, 2, 4, 8 s.
    @Test func exponentialFollowsTenacityDefaults() throws {
        let p = try built("exponential", as: ExponentialBackoffPolicy.self)
        #expect(p.base == 1 && p.multiplier == 2 && p.minimum == 0 && p.cap == .infinity && p.maxAttempts == 3)
        #expect((1...5).map { p.backoff(attempt: $0) } == [1, 2, 4, 8, 16])
        // cap, then min: tenacity's max(max(0, min), min(value, max)).
        let capped = ExponentialBackoffPolicy(base: 1, multiplier: 2, cap: 5, maxAttempts: 10)
        #expect((1...4).map { capped.backoff(attempt: $0) } == [1, 2, 4, 5])
        let floored = ExponentialBackoffPolicy(base: 1, multiplier: 2, minimum: 3, cap: 5, maxAttempts: 10)
        #expect((1...4).map { floored.backoff(attempt: $0) } == [3, 3, 4, 5])
        // An uncapped curve past overflow stays finite (tenacity's MAX_WAIT).
        let huge = ExponentialBackoffPolicy(base: 1e300, multiplier: 10, maxAttempts: 1000)
        #expect(huge.backoff(attempt: 50).isFinite && huge.backoff(attempt: 50) > 1e18)
    }

    /// The AWS blog's "Exponential" min(cap, b · 2^n) with its simulator's b = 5 ms, cap 2 s is
    /// base = 2b: 10, 20, 40, … ms, 2 s from n = 9.
    @Test func exponentialWithTwiceTheBlogBaseIsTheBlogCurve() {
        let p = ExponentialBackoffPolicy(base: 0.010, multiplier: 2, cap: 2, maxAttempts: 100)
        for n in 1...12 {
            let blog = Swift.min(2, 0.005 * Double(1 << n))
            #expect(abs(p.backoff(attempt: n) - blog) < 1e-12, "n = \(n)")
        }
    }

    // MARK: full-jitter / equal-jitter (AWS blog)

    /// Full Jitter: U(0, min(cap, base · 2^n)), n = 1 on the first retry (the blog's simulator).
    @Test func fullJitterStaysInItsRangeAndSpansIt() throws {
        let p = try built("full-jitter", as: FullJitterPolicy.self)
        #expect(p.base == 0.5 && p.cap == 20 && p.maxAttempts == 3)
        #expect(p.ceiling(attempt: 1) == 1 && p.ceiling(attempt: 2) == 2 && p.ceiling(attempt: 5) == 16)
        #expect(p.ceiling(attempt: 6) == 20, "0.5 · 64 = 32 is capped at 20")
        for n in [1, 2, 3, 6, 10] {
            let bound = Swift.min(20, 0.5 * Double(1 << n))
            let draws = (0..<4000).map { _ in p.backoff(attempt: n) }
            #expect(draws.allSatisfy { $0 >= 0 && $0 < bound }, "n = \(n)")
            #expect(draws.min()! < 0.01 * bound && draws.max()! > 0.99 * bound, "n = \(n): spans [0, \(bound))")
            #expect(abs(mean(draws) / bound - 0.5) < 0.03, "n = \(n): uniform, mean bound/2")
        }
    }

    /// Equal Jitter: v/2 + U(0, v/2), v = min(cap, base · 2^n).
    @Test func equalJitterStaysInTheUpperHalf() throws {
        let p = try built("equal-jitter", ["base": .number(0.1), "cap": .number(3)], as: EqualJitterPolicy.self)
        for n in [1, 2, 4, 5, 8] {
            let v = Swift.min(3, 0.1 * Double(1 << n))
            let draws = (0..<4000).map { _ in p.backoff(attempt: n) }
            #expect(draws.allSatisfy { $0 >= v / 2 && $0 < v }, "n = \(n)")
            #expect(draws.min()! < 0.51 * v && draws.max()! > 0.99 * v, "n = \(n)")
            #expect(abs(mean(draws) / v - 0.75) < 0.02, "n = \(n)")
        }
    }

    // MARK: decorrelated-jitter (AWS blog)

    /// One step is min(cap, U(base, 3 · prev)); the first retry draws from sleep_0 = base.
    @Test func decorrelatedStepsStayInTheirRange() throws {
        let p = try built("decorrelated-jitter", ["base": .number(0.1), "cap": .number(5)],
                          as: DecorrelatedJitterPolicy.self)
        #expect(p.multiplier == 3 && p.maxAttempts == 3)
        for prev in [0.1, 0.5, 1.0, 1.7, 4.0] {
            let hi = Swift.min(5, 3 * prev)
            let draws = (0..<3000).map { _ in p.step(previous: prev) }
            #expect(draws.allSatisfy { $0 >= 0.1 && $0 <= hi }, "prev \(prev)")
            if 3 * prev < 5 { #expect(draws.max()! > 0.98 * hi && draws.min()! < 0.1 + 0.02 * (hi - 0.1)) }
        }
        let first = (0..<4000).map { _ in p.backoff(attempt: 1) }
        #expect(first.allSatisfy { $0 >= 0.1 && $0 < 0.3 })
        #expect(abs(mean(first) - 0.2) < 0.005, "U(0.1, 0.3) has mean 0.2")
        // The k-th sleep is at most min(cap, base · 3^k).
        for k in 1...6 {
            let bound = Swift.min(5, 0.1 * pow3(k))
            #expect((0..<2000).allSatisfy { _ in let s = p.backoff(attempt: k); return s >= 0.1 && s <= bound }, "k = \(k)")
        }
    }

    /// The "AWS clamping problem" (Polly #530): late in the chain the sleeps pile up at cap.
    @Test func decorrelatedSleepsPileUpAtTheCap() {
        let p = DecorrelatedJitterPolicy(base: 0.5, cap: 20, maxAttempts: 100, random: RandomSource(seed: 3))
        let late = (0..<4000).map { _ in p.backoff(attempt: 12) }
        let atCap = Double(late.filter { $0 == 20 }.count) / Double(late.count)
        #expect(atCap > 0.3, "share at cap: \(atCap)")
        let early = (0..<4000).map { _ in p.backoff(attempt: 1) }
        #expect(!early.contains(20))
    }

    // MARK: tenacity (wait_exponential_jitter)

    /// initial 1, exp_base 2, jitter 1: [1, 2), [2, 3), [4, 5), [8, 9) s; max clamps after the jitter.
    @Test func tenacityExponentialJitter() throws {
        let p = try built("tenacity", as: TenacityJitterPolicy.self)
        #expect(p.base == 1 && p.multiplier == 2 && p.jitter == 1 && p.cap == .infinity && p.maxAttempts == 3)
        for (n, low) in [(1, 1.0), (2, 2.0), (3, 4.0), (4, 8.0)] {
            let draws = (0..<3000).map { _ in p.backoff(attempt: n) }
            #expect(draws.allSatisfy { $0 >= low && $0 < low + 1 }, "n = \(n)")
            #expect(draws.min()! < low + 0.01 && draws.max()! > low + 0.99)
        }
        let capped = TenacityJitterPolicy(cap: 5, maxAttempts: 10, random: RandomSource(seed: 1))
        #expect((0..<1000).allSatisfy { _ in capped.backoff(attempt: 4) == 5 }, "min(8 + U(0, 1), 5) = 5")
        let draws3 = (0..<1000).map { _ in capped.backoff(attempt: 3) }
        #expect(draws3.allSatisfy { $0 >= 4 && $0 <= 5 })
        let noJitter = TenacityJitterPolicy(jitter: 0, maxAttempts: 10, random: RandomSource(seed: 1))
        #expect((1...4).map { noJitter.backoff(attempt: $0) } == [1, 2, 4, 8])
    }

    // MARK: multiplicative-random (p-retry, resilience4j)

    /// p-retry defaults: retries 10 (11 attempts), minTimeout 1000 ms, factor 2, no jitter:
    /// 1 + 2 + … + 512 = 1023 s of sleep in all.
    @Test func pRetryDefaults() throws {
        let p = try built("multiplicative-random", as: MultiplicativeRandomPolicy.self)
        #expect(p.flavour == .pRetry && p.base == 1 && p.factor == 2 && !p.randomize && p.maxAttempts == 11)
        var total = 0.0
        for n in 1...10 {
            let w = try #require(wait(decided(p, failure(429), n)))
            #expect(w == Double(1 << (n - 1)))
            total += w
        }
        #expect(total == 1023)
        #expect(decided(p, failure(429), 11) == .giveUp(.attemptsExhausted))
    }

    /// randomize multiplies by U[1, 2) and p-retry rounds to whole milliseconds.
    @Test func pRetryRandomizeAndRounding() throws {
        let p = try built("multiplicative-random", ["randomize": .bool(true)], as: MultiplicativeRandomPolicy.self)
        for n in 1...4 {
            let low = Double(1 << (n - 1))
            let draws = (0..<3000).map { _ in p.backoff(attempt: n) }
            #expect(draws.allSatisfy { $0 >= low && $0 <= 2 * low }, "n = \(n)")
            #expect(draws.min()! < low * 1.01 && draws.max()! > low * 1.99)
            #expect(draws.allSatisfy { abs(($0 * 1000).rounded() - $0 * 1000) < 1e-6 }, "whole milliseconds")
        }
        let r = RandomSource(seed: 1)
        #expect(MultiplicativeRandomPolicy(flavour: .pRetry, base: 0.0015, factor: 2, maxAttempts: 3, random: r)
            .backoff(attempt: 1) == 0.002, "round(1.5 ms) = 2 ms")
        #expect(MultiplicativeRandomPolicy(flavour: .pRetry, base: 0.0004, factor: 2, maxAttempts: 3, random: r)
            .backoff(attempt: 1) == 0.001, "max(minTimeout, 1) ms")
        #expect(MultiplicativeRandomPolicy(flavour: .pRetry, base: 1, factor: 2, cap: 3, maxAttempts: 9, random: r)
            .backoff(attempt: 5) == 3, "maxTimeout")
    }

    /// resilience4j: 500 → 750 → 1125 → 1687 ms (long truncation each step) without
    /// randomization; U[x(1 − 0.5), x(1 + 0.5)) with the default factor; maxAttempts 3.
    @Test func resilience4jIntervals() throws {
        let plain = try built("multiplicative-random", ["flavour": .string("resilience4j"),
                                                        "randomization_factor": .number(0)],
                              as: MultiplicativeRandomPolicy.self)
        #expect(plain.base == 0.5 && plain.factor == 1.5 && plain.maxAttempts == 3)
        #expect((1...4).map { plain.backoff(attempt: $0) } == [0.5, 0.75, 1.125, 1.687])

        let r = try built("multiplicative-random", ["flavour": .string("resilience4j")], as: MultiplicativeRandomPolicy.self)
        #expect(r.randomizationFactor == 0.5)
        for (n, x) in [(1, 0.5), (2, 0.75), (3, 1.125)] {
            let draws = (0..<3000).map { _ in r.backoff(attempt: n) }
            #expect(draws.allSatisfy { $0 >= x * 0.5 && $0 < x * 1.5 }, "n = \(n)")
            #expect(draws.min()! < x * 0.52 && draws.max()! > x * 1.48)
        }
        #expect(wait(decided(r, failure(503), 2)) != nil)
        #expect(decided(r, failure(503), 3) == .giveUp(.attemptsExhausted))
        let capped = MultiplicativeRandomPolicy(flavour: .resilience4j, base: 0.5, factor: 1.5, randomizationFactor: 0,
                                                cap: 1, maxAttempts: 5, random: RandomSource(seed: 1))
        #expect(capped.backoff(attempt: 3) == 1, "min(1125 ms, max 1000 ms)")
    }

    @Test func multiplicativeRandomRejectsTheOtherLibrarysKnob() {
        #expect(throws: StrategyError.self) {
            try built("multiplicative-random", ["flavour": .string("resilience4j"), "randomize": .bool(true)],
                      as: MultiplicativeRandomPolicy.self)
        }
        #expect(throws: StrategyError.self) {
            try built("multiplicative-random", ["randomization_factor": .number(0.2)], as: MultiplicativeRandomPolicy.self)
        }
    }

    // MARK: retry-after

    private func wrapped(_ mode: RetryAfterPolicy.Mode, maxHonored: Double = 60, giveUpAbove: Bool = false) -> RetryAfterPolicy {
        RetryAfterPolicy(inner: ExponentialBackoffPolicy(base: 1, multiplier: 2, maxAttempts: 4), mode: mode,
                         jitter: 1, maxHonored: maxHonored, giveUpAbove: giveUpAbove, random: RandomSource(seed: 5))
    }

    @Test func retryAfterModes() throws {
        let ignore = wrapped(.ignore)
        #expect(decided(ignore, failure(429, retryAfter: 7), 1) == .wait(1))
        let exact = wrapped(.exact)
        #expect(decided(exact, failure(429, retryAfter: 7), 1) == .wait(7))
        #expect(decided(exact, failure(529), 2) == .wait(2), "no hint: the backoff")
        #expect(decided(exact, failure(429, retryAfter: 0), 2) == .wait(2), "a zero hint is no hint")
        let jittered = wrapped(.exactJitter)
        let draws = try (0..<2000).map { _ in try #require(wait(decided(jittered, failure(429, retryAfter: 7), 1))) }
        #expect(draws.allSatisfy { $0 >= 7 && $0 < 8 } && draws.min()! < 7.01 && draws.max()! > 7.99)
        let maxMode = wrapped(.max)
        #expect(decided(maxMode, failure(429, retryAfter: 7), 1) == .wait(7))
        #expect(decided(maxMode, failure(429, retryAfter: 0.5), 3) == .wait(4), "max(0.5, 4)")
    }

    /// Above max_honored: anthropic-sdk-python backs off (60 s); openai-python gives up (120 s).
    @Test func retryAfterAboveTheLimit() {
        let python = wrapped(.exact)
        #expect(decided(python, failure(429, retryAfter: 60), 1) == .wait(60))
        #expect(decided(python, failure(429, retryAfter: 61), 1) == .wait(1))
        let openai = wrapped(.exact, maxHonored: 120, giveUpAbove: true)
        #expect(decided(openai, failure(429, retryAfter: 120), 1) == .wait(120))
        #expect(decided(openai, failure(429, retryAfter: 121), 1) == .giveUp(.retryAfterTooLong))
        let ignoring = wrapped(.ignore, maxHonored: 120, giveUpAbove: true)
        #expect(decided(ignoring, failure(429, retryAfter: 500), 1) == .wait(1),
                "ignore never reads the hint")
    }

    /// The inner policy's stop rules win over any hint.
    @Test func retryAfterKeepsTheInnerStopRules() {
        let p = wrapped(.exact)
        #expect(decided(p, failure(400, retryAfter: 3), 1) == .giveUp(.notRetryable))
        #expect(decided(p, failure(429, retryAfter: 3, shouldRetry: false), 1) == .giveUp(.notRetryable))
        #expect(decided(p, failure(429, retryAfter: 3), 4) == .giveUp(.attemptsExhausted))
    }

    /// Registry defaults: exact, 60 s, fall back, full-jitter; base/cap/max_attempts reach the inner policy.
    @Test func retryAfterFactoryPassesParametersInward() throws {
        let p = try built("retry-after", as: RetryAfterPolicy.self)
        #expect(p.mode == .exact && p.maxHonored == 60 && !p.giveUpAbove && p.jitter == 1)
        let inner = try #require(p.inner as? FullJitterPolicy)
        #expect(inner.base == 0.5 && inner.cap == 20 && inner.maxAttempts == 3)
        let q = try built("retry-after", ["backoff": .string("tenacity"), "mode": .string("max"), "base": .number(2),
                                          "max_attempts": .number(6)], as: RetryAfterPolicy.self)
        let t = try #require(q.inner as? TenacityJitterPolicy)
        #expect(q.mode == .max && t.base == 2 && t.maxAttempts == 6 && t.jitter == 1)
    }

    // MARK: Stop rules shared by every policy

    @Test func everyPolicyStopsAtMaxAttemptsAndOnNonRetryableOutcomes() throws {
        let names = ["exponential", "full-jitter", "equal-jitter", "decorrelated-jitter", "tenacity",
                     "multiplicative-random", "retry-after"]
        #expect(Set(names) == Set(StrategyRegistry.names(role: .retry)).subtracting(["none", "immediate", "sdk-default"]))
        for name in names {
            let p = try builtPolicy(name, ["max_attempts": .number(3)])
            #expect(wait(decided(p, failure(429), 1)) != nil, "\(name)")
            #expect(wait(decided(p, failure(529), 2)) != nil, "\(name)")
            #expect(decided(p, failure(429), 3) == .giveUp(.attemptsExhausted), "\(name)")
            #expect(decided(p, failure(400), 1) == .giveUp(.notRetryable), "\(name)")
            #expect(decided(p, failure(404), 1) == .giveUp(.notRetryable), "\(name)")
            #expect(decided(p, failure(500, shouldRetry: false), 1) == .giveUp(.notRetryable),
                    "\(name): x-should-retry: false wins")
            #expect(wait(decided(p, failure(400, shouldRetry: true), 1)) != nil,
                    "\(name): x-should-retry: true wins")
            let connection = AttemptOutcome(status: 0, error: .connection, sentAt: 0, completedAt: 0)
            #expect(wait(decided(p, connection, 1)) != nil, "\(name): connection errors retry")
        }
    }

    @Test func unknownRetryNamesAreRejected() {
        #expect(throws: StrategyError.self) {
            try StrategyFactory.make(StrategySpec(name: "none", retry: RoleSpec(name: "fibonacci")), seed: 1)
        }
    }
}

private func pow3(_ k: Int) -> Double { (0..<k).reduce(1.0) { acc, _ in acc * 3 } }

/// A small deterministic driver for end-to-end checks of the retry policies inside
/// `PipelineStrategy`: one organisation whose request bucket refills `rate` per second up to
/// `capacity` (Anthropic's "60 RPM … enforced as 1 request per second"); an admitted request
/// succeeds after `latency`, a refused one gets a 429 with an integer `retry-after` after
/// `rejectLatency`. (The package's simulator lives in LimitlabSim, which this test target does
/// not depend on.)
private struct BucketServerRun {
    struct Attempt {
        var request: Int32
        var number: Int
        var readyAt: Double
        var sentAt: Double
        var completedAt: Double
        var status: Int
    }
    enum End: Equatable {
        case succeeded
        case gaveUp(GiveUpReason)
        case dropped(DropReason)
    }
    var attempts: [Attempt] = []
    var ends: [Int32: [End]] = [:]

    var successes: Int { ends.values.filter { $0 == [.succeeded] }.count }

    /// Most retries (attempts after the first) sent within any `width`-second window.
    func peakRetries(within width: Double) -> Int {
        let times = attempts.filter { $0.number > 1 }.map(\.sentAt).sorted()
        var best = 0, lo = 0
        for hi in times.indices {
            while times[hi] - times[lo] >= width { lo += 1 }
            best = Swift.max(best, hi - lo + 1)
        }
        return best
    }

    init<S: ClientStrategy>(_ strategy: inout S, arrivals: [Double], rate: Double = 1, capacity: Double = 1,
                            latency: Double = 1, rejectLatency: Double = 0.05) {
        var tokens = capacity, refilledAt = 0.0
        var completions: [(time: Double, attempt: Int)] = []
        var next = 0, now = 0.0
        var counts: [Int32: Int] = [:]
        var commands: [StrategyCommand] = []
        let cost = RequestCost(inputTokens: 100, maxTokens: 100)
        func request(_ id: Int32) -> PendingRequest { PendingRequest(id: id, intendedAt: arrivals[Int(id)], cost: cost) }
        for _ in 0..<1_000_000 {
            let tA = next < arrivals.count ? arrivals[next] : .infinity
            let tC = completions.first?.time ?? .infinity
            let tW = strategy.nextWakeup ?? .infinity
            let t = Swift.min(tA, tC, tW)
            if t == .infinity { break }
            now = Swift.max(now, t)
            if tC <= t {
                while let c = completions.first, c.time <= now {
                    completions.removeFirst()
                    let a = attempts[c.attempt]
                    let ok = a.status == 200
                    let outcome = AttemptOutcome(
                        status: a.status, error: ok ? .none : .rateLimited,
                        retryAfter: ok ? nil : (1 / rate).rounded(.up), shouldRetry: ok ? nil : true,
                        sentAt: a.sentAt, completedAt: a.completedAt)
                    if ok { ends[a.request, default: []].append(.succeeded) }
                    strategy.finished(request(a.request), attempt: a.number, outcome: outcome, now: now)
                }
            } else if tA <= t {
                while next < arrivals.count, arrivals[next] <= now {
                    strategy.arrived(request(Int32(next)), now: now)
                    next += 1
                }
            }
            strategy.poll(now: now, into: &commands)
            for command in commands {
                switch command {
                case .submitBatch: Issue.record("this strategy never submits batches")
                case .send(let id, let readyAt):
                    tokens = Swift.min(capacity, tokens + (now - refilledAt) * rate)
                    refilledAt = now
                    let admitted = tokens >= 1
                    if admitted { tokens -= 1 }
                    counts[id, default: 0] += 1
                    let done = now + (admitted ? latency : rejectLatency)
                    attempts.append(Attempt(request: id, number: counts[id]!, readyAt: readyAt, sentAt: now,
                                            completedAt: done, status: admitted ? 200 : 429))
                    let entry = (time: done, attempt: attempts.count - 1)
                    let at = completions.firstIndex { $0.time > done } ?? completions.count
                    completions.insert(entry, at: at)
                case .giveUp(let id, let reason): ends[id, default: []].append(.gaveUp(reason))
                case .drop(let id, let reason): ends[id, default: []].append(.dropped(reason))
                }
            }
            commands.removeAll()
        }
    }
}

@Suite struct RetryPipelineTests {
    private func pipeline(_ retry: String, _ params: [String: ParamValue], seed: UInt64) throws -> PipelineStrategy {
        let s = try StrategyFactory.make(StrategySpec(name: "none", retry: RoleSpec(name: retry, params: params)), seed: seed)
        return try #require(s as? PipelineStrategy)
    }

    /// The waits between a request's attempts, keyed by the failed attempt's number.
    private func waits(_ run: BucketServerRun) -> [(after: Int, wait: Double)] {
        var previous: [Int32: BucketServerRun.Attempt] = [:]
        var out: [(after: Int, wait: Double)] = []
        for a in run.attempts {
            if let p = previous[a.request] { out.append((p.number, a.sentAt - p.completedAt)) }
            previous[a.request] = a
        }
        return out
    }

    /// Sustained 2× overload of a 1-per-second bucket: every request ends exactly once, no
    /// request exceeds max_attempts, and every full-jitter wait lies in [0, min(cap, base · 2^n))
    /// after failure n, as read back from the send and completion times.
    @Test func fullJitterWaitsInsideThePipelineStayInRange() throws {
        let arrivals = (0..<120).map { Double($0) * 0.5 }
        var s = try pipeline("full-jitter", ["base": .number(0.5), "cap": .number(4), "max_attempts": .number(4)], seed: 3)
        let run = BucketServerRun(&s, arrivals: arrivals)
        #expect(run.ends.count == 120 && run.ends.values.allSatisfy { $0.count == 1 }, "one end per request")
        let gaveUp = run.ends.values.filter { $0 == [.gaveUp(.attemptsExhausted)] }.count
        #expect(run.successes + gaveUp == 120)
        #expect(run.successes > 0 && gaveUp > 0, "2× overload: some succeed, some run out of attempts")
        #expect(run.attempts.allSatisfy { $0.number <= 4 && $0.readyAt == $0.sentAt })
        let w = waits(run)
        #expect(w.count == run.attempts.count - 120)
        for (n, wait) in w {
            let bound = Swift.min(4, 0.5 * Double(1 << n))
            #expect(wait >= 0 && wait < bound + 1e-9, "after failure \(n): \(wait) not in [0, \(bound))")
        }
        // The waits use the whole range, not one point of it.
        let firstWaits = w.filter { $0.after == 1 }.map(\.wait)
        #expect(firstWaits.min()! < 0.2 && firstWaits.max()! > 0.8)
    }

    /// Without jitter every wait is exactly the tenacity curve: 1, 2, 4 s after failures 1, 2, 3.
    @Test func exponentialWaitsInsideThePipelineAreExact() throws {
        let arrivals = (0..<60).map { Double($0) * 0.5 }
        var s = try pipeline("exponential", ["max_attempts": .number(4)], seed: 1)
        let run = BucketServerRun(&s, arrivals: arrivals)
        #expect(run.ends.count == 60 && run.ends.values.allSatisfy { $0.count == 1 })
        for (n, wait) in waits(run) {
            #expect(abs(wait - Double(1 << (n - 1))) < 1e-9, "after failure \(n)")
        }
    }

    /// The blog's contention setting (N clients at t = 0) against a 1-per-second bucket, Full
    /// Jitter (base 0.5 s) against the blog's Exponential with the same curve as its ceiling
    /// (tenacity base 1 s = 2 · 0.5 s), cap 20 s, 8 attempts: without jitter the 49 losers
    /// retry in lockstep ("clusters of calls"), only one per wave can win, and more calls buy
    /// fewer successes. With jitter the retries spread out ("the gaps are gone").
    @Test func jitterBreaksUpRetryClustersUnderContention() throws {
        let burst = Array(repeating: 0.0, count: 50)
        var expo = try pipeline("exponential", ["base": .number(1), "cap": .number(20), "max_attempts": .number(8)], seed: 1)
        let e = BucketServerRun(&expo, arrivals: burst)
        #expect(e.peakRetries(within: 0.1) == 49, "every loser of the first round retries at the same instant")
        for seed in UInt64(1)...5 {
            var jitter = try pipeline("full-jitter", ["base": .number(0.5), "cap": .number(20), "max_attempts": .number(8)],
                                      seed: seed)
            let j = BucketServerRun(&jitter, arrivals: burst)
            // 300 seeds gave a peak of at most 20, at most 345 calls and at least 32 successes.
            #expect(j.peakRetries(within: 0.1) < 49 / 2, "seed \(seed): peak \(j.peakRetries(within: 0.1))")
            #expect(j.attempts.count < e.attempts.count, "seed \(seed): calls \(j.attempts.count) vs \(e.attempts.count)")
            #expect(j.successes >= 3 * e.successes, "seed \(seed): successes \(j.successes) vs \(e.successes)")
            #expect(j.ends.count == 50 && e.ends.count == 50)
        }
    }
}
