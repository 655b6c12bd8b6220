/// Limiter state shared by several clients (workers) of one organisation.
///
/// Two implementations keep the same arithmetic: `InMemoryQuotaStore` (the simulator, where N
/// simulated workers share one object) and a Redis store (worker processes on one or several
/// machines, the arithmetic as atomic Lua scripts). Every call is one atomic step at `now`,
/// which is seconds on a clock all workers share (the simulator's virtual time, or wall time
/// since the run's common start).
public protocol SharedQuotaStore: AnyObject {
    /// Multi-dimension token bucket, all or nothing. Each dimension `d` refills continuously at
    /// `refillPerSecond[d]` up to `capacities[d]` and starts full. The take is allowed when every
    /// dimension holds at least `min(costs[d], capacities[d])` (a cost above capacity waits for a
    /// full bucket and then drives it into debt); then every `costs[d]` is subtracted. When refused
    /// nothing changes and `retryAfter` is the time until every dimension would allow it.
    func takeTokens(key: String, costs: [Double], capacities: [Double], refillPerSecond: [Double],
                    now: Double) throws(SharedQuotaError) -> SharedQuotaDecision

    /// Charges (positive) or refunds (negative) amounts after the fact, unconditionally (output
    /// tokens known only at completion). Levels never exceed capacity.
    func adjustTokens(key: String, amounts: [Double], capacities: [Double], refillPerSecond: [Double],
                      now: Double) throws(SharedQuotaError)

    /// GCRA as redis-cell's `CL.THROTTLE key max_burst count period quantity`: emission interval
    /// `T`, tolerance `τ`. Allowed when `max(now, TAT) + T·quantity − τ ≤ now`; then
    /// `TAT = max(now, TAT) + T·quantity`. `retryAfter` is `allow_at − now` when refused.
    func takeGCRA(key: String, quantity: Double, emissionInterval: Double, tolerance: Double,
                  now: Double) throws(SharedQuotaError) -> SharedQuotaDecision
}

/// The answer of a shared limiter.
public struct SharedQuotaDecision: Sendable, Equatable {
    public var allowed: Bool
    /// Seconds from `now` until the same take would be allowed (0 when allowed; ∞ when never).
    public var retryAfter: Double
    public init(allowed: Bool, retryAfter: Double) {
        self.allowed = allowed; self.retryAfter = retryAfter
    }
}

/// A shared store could not answer (connection lost, timeout, script error).
public struct SharedQuotaError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The shared store of one process: the simulator's N workers share one. The reference
/// arithmetic the Redis scripts reproduce (a test compares them decision by decision).
public final class InMemoryQuotaStore: SharedQuotaStore {
    private struct Bucket { var levels: [Double]; var updatedAt: Double }
    private var buckets: [String: Bucket] = [:]
    private var tats: [String: Double] = [:]

    public init() {}

    /// Levels within this of a threshold count as reaching it (float residue of `rate · dt`).
    static func tolerance(_ capacity: Double) -> Double { 1e-9 * Swift.max(1, capacity) }

    private func refilled(_ key: String, capacities: [Double], rates: [Double], now: Double) -> Bucket {
        guard var b = buckets[key], b.levels.count == capacities.count else {
            return Bucket(levels: capacities, updatedAt: now)
        }
        let dt = Swift.max(0, now - b.updatedAt)
        for d in b.levels.indices {
            b.levels[d] = Swift.min(capacities[d], b.levels[d] + rates[d] * dt)
        }
        b.updatedAt = Swift.max(b.updatedAt, now)
        return b
    }

    public func takeTokens(key: String, costs: [Double], capacities: [Double], refillPerSecond: [Double],
                           now: Double) throws(SharedQuotaError) -> SharedQuotaDecision {
        var b = refilled(key, capacities: capacities, rates: refillPerSecond, now: now)
        var wait = 0.0
        for d in costs.indices {
            let need = Swift.min(costs[d], capacities[d])
            let short = need - b.levels[d]
            if short > Self.tolerance(capacities[d]) {
                wait = Swift.max(wait, refillPerSecond[d] > 0 ? short / refillPerSecond[d] : .infinity)
            }
        }
        guard wait == 0 else {
            buckets[key] = b
            return SharedQuotaDecision(allowed: false, retryAfter: wait)
        }
        for d in costs.indices { b.levels[d] -= costs[d] }
        buckets[key] = b
        return SharedQuotaDecision(allowed: true, retryAfter: 0)
    }

    public func adjustTokens(key: String, amounts: [Double], capacities: [Double], refillPerSecond: [Double],
                             now: Double) throws(SharedQuotaError) {
        var b = refilled(key, capacities: capacities, rates: refillPerSecond, now: now)
        for d in amounts.indices { b.levels[d] = Swift.min(capacities[d], b.levels[d] - amounts[d]) }
        buckets[key] = b
    }

    public func takeGCRA(key: String, quantity: Double, emissionInterval: Double, tolerance: Double,
                         now: Double) throws(SharedQuotaError) -> SharedQuotaDecision {
        let tat = Swift.max(now, tats[key] ?? now)
        let allowAt = tat + emissionInterval * quantity - tolerance
        if allowAt > now + 1e-9 * Swift.max(1, now) {
            return SharedQuotaDecision(allowed: false, retryAfter: allowAt - now)
        }
        tats[key] = tat + emissionInterval * quantity
        return SharedQuotaDecision(allowed: true, retryAfter: 0)
    }

    /// Current levels of a token bucket refilled to `now` (tests, reports).
    public func levels(key: String, capacities: [Double], refillPerSecond: [Double], now: Double) -> [Double] {
        refilled(key, capacities: capacities, rates: refillPerSecond, now: now).levels
    }
}
