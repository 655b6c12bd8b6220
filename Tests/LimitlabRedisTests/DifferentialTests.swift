import Foundation
import LimitlabCore
import LimitlabRedis
import Testing

/// The server (`LIMITLAB_REDIS_URL`, which .ci/run starts, else one of the test's own). Tests on
/// it use generous timeouts: a loaded CI machine must not turn a behaviour test into a latency one.
func sharedServerURL() throws -> (url: String, fixture: RedisServerFixture?) {
    if let url = ProcessInfo.processInfo.environment["LIMITLAB_REDIS_URL"], !url.isEmpty { return (url, nil) }
    let f = try RedisServerFixture()
    return (f.url, f)
}

/// Same decisions as `InMemoryQuotaStore`, whatever `retryAfter` tolerance.
func sameRetry(_ a: Double, _ b: Double) -> Bool {
    if a == b { return true }
    return abs(a - b) <= 1e-9 * Swift.max(abs(a), abs(b))
}

@Suite struct DifferentialTests {
    /// Thousands of random calls — token buckets of 1–3 dimensions (costs above capacity, debt
    /// from charges and reservations, refunds, a dimension count that changes, rate 0, time that
    /// steps back a little as skewed clocks do) and GCRA, each take with a random `reserveWithin`
    /// (0, ∞, or a few seconds) — give the reference store's decisions.
    @Test(arguments: [UInt64(1), 2, 3])
    func redisMatchesTheInMemoryReference(seed: UInt64) throws {
        let (url, fixture) = try sharedServerURL()
        defer { withExtendedLifetime(fixture) {} }
        let redis = try RedisQuotaStore(url: url, options: RedisQuotaOptions(
            connectTimeout: 5, commandTimeout: 5, keyPrefix: uniquePrefix("diff-\(seed)")))
        let reference = InMemoryQuotaStore()
        var rng = SplitMix(seed: seed)
        var now = 1_000.0 + rng.unit() * 1000
        struct Shape { var caps: [Double]; var rates: [Double] }
        var shapes: [String: Shape] = [:]
        func shape(_ key: String) -> Shape {
            if let s = shapes[key], rng.unit() > 0.01 { return s }
            let n = 1 + rng.below(3)
            let caps = (0..<n).map { _ in [1, 50, 30_000, 8_000, 1e6][rng.below(5)] * (0.5 + rng.unit()) }
            let rates = caps.map { c in rng.unit() < 0.03 ? 0 : c / 60 * (0.2 + rng.unit() * 2) }
            let s = Shape(caps: caps, rates: rates)
            shapes[key] = s
            return s
        }
        var calls = 0, allowed = 0, refused = 0, reserved = 0, exact = 0
        func within() -> Double {
            let u = rng.unit()
            return u < 0.3 ? 0 : u < 0.45 ? .infinity : u < 0.5 ? -1 : rng.unit() * [0.5, 5, 60][rng.below(3)]
        }
        for _ in 0..<4_000 {
            // Mostly forward, sometimes a burst at one instant, sometimes 1 ms back.
            let step = rng.unit()
            if step < 0.6 { now += rng.unit() * 0.5 } else if step < 0.65 { now -= 0.001 } else if step < 0.7 { now += 30 }
            let key = "k\(rng.below(4))"
            let op = rng.unit()
            calls += 1
            if op < 0.6 {
                let s = shape(key)
                let costs = s.caps.map { c -> Double in
                    let u = rng.unit()
                    return u < 0.05 ? c * (1 + rng.unit()) : u < 0.1 ? 0 : (c * rng.unit() * 0.3).rounded()
                }
                let r = within()
                let a = try reference.takeTokens(key: key, costs: costs, capacities: s.caps, refillPerSecond: s.rates,
                                                 now: now, reserveWithin: r)
                let b = try redis.takeTokens(key: key, costs: costs, capacities: s.caps, refillPerSecond: s.rates,
                                             now: now, reserveWithin: r)
                #expect(a.allowed == b.allowed && a.reserved == b.reserved,
                        "call \(calls) takeTokens \(key) at \(now) within \(r): reference \(a), redis \(b)")
                #expect(sameRetry(a.retryAfter, b.retryAfter), "call \(calls): retryAfter \(a.retryAfter) vs \(b.retryAfter)")
                if a.reserved { reserved += 1 } else if a.allowed { allowed += 1 } else { refused += 1 }
                if a == b { exact += 1 }
            } else if op < 0.75 {
                let s = shape(key)
                let amounts = s.caps.map { c in (rng.unit() - 0.4) * c * 0.5 }
                try reference.adjustTokens(key: key, amounts: amounts, capacities: s.caps, refillPerSecond: s.rates, now: now)
                try redis.adjustTokens(key: key, amounts: amounts, capacities: s.caps, refillPerSecond: s.rates, now: now)
                exact += 1
            } else {
                let t = [0.02, 1.2, 60.0 / 50][rng.below(3)] * (0.5 + rng.unit())
                let tau = t * Double(rng.below(20))
                let q = rng.unit() < 0.8 ? 1 : Double(1 + rng.below(30))
                let r = within()
                let a = try reference.takeGCRA(key: key, quantity: q, emissionInterval: t, tolerance: tau, now: now,
                                               reserveWithin: r)
                let b = try redis.takeGCRA(key: key, quantity: q, emissionInterval: t, tolerance: tau, now: now,
                                           reserveWithin: r)
                #expect(a.allowed == b.allowed && a.reserved == b.reserved,
                        "call \(calls) takeGCRA \(key) at \(now) within \(r): reference \(a), redis \(b)")
                #expect(sameRetry(a.retryAfter, b.retryAfter), "call \(calls): retryAfter \(a.retryAfter) vs \(b.retryAfter)")
                if a.reserved { reserved += 1 } else if a.allowed { allowed += 1 } else { refused += 1 }
                if a == b { exact += 1 }
            }
        }
        // All three outcomes were exercised, and the arithmetic is not just close but identical.
        #expect(allowed > 200 && refused > 200 && reserved > 200, "allowed \(allowed), refused \(refused), reserved \(reserved)")
        #expect(exact == calls)
    }

    /// Numbers survive the trip exactly: tiny, huge, negative (debt) and infinite values.
    @Test func extremeNumbersRoundTrip() throws {
        let (url, fixture) = try sharedServerURL()
        defer { withExtendedLifetime(fixture) {} }
        let redis = try RedisQuotaStore(url: url, options: RedisQuotaOptions(
            connectTimeout: 5, commandTimeout: 5, keyPrefix: uniquePrefix("extreme")))
        let reference = InMemoryQuotaStore()
        let caps = [1e-7, 3e15, .infinity]
        let rates = [1e-12, 7.123456789012345e9, 1]
        var now = 0.1
        for i in 0..<50 {
            now += 1e-6 * Double(i)
            let costs = [Double(i) * 3e-9, Double(i) * 1.1e14, 5e300]
            let a = try reference.takeTokens(key: "x", costs: costs, capacities: caps, refillPerSecond: rates, now: now)
            let b = try redis.takeTokens(key: "x", costs: costs, capacities: caps, refillPerSecond: rates, now: now)
            #expect(a == b, "step \(i): \(a) vs \(b)")
        }
        // A take no refill can ever satisfy: infinite wait, not a truncated or garbled number.
        let never = try redis.takeTokens(key: "y", costs: [2], capacities: [1], refillPerSecond: [0], now: 0)
        #expect(never.allowed)
        let after = try redis.takeTokens(key: "y", costs: [1], capacities: [1], refillPerSecond: [0], now: 1)
        #expect(!after.allowed && after.retryAfter == .infinity)
    }
}

/// A small deterministic generator (the test must not depend on the code under test).
struct SplitMix {
    var state: UInt64
    init(seed: UInt64) { state = seed &* 0x9E37_79B9_7F4A_7C15 }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
    mutating func unit() -> Double { Double(next() >> 11) / Double(1 << 53) }
    mutating func below(_ n: Int) -> Int { Int(next() % UInt64(n)) }
}
