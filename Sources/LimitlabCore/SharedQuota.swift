/// Limiter state shared by several clients (workers) of one organisation.
///
/// Two implementations keep the same arithmetic: `InMemoryQuotaStore` (the simulator, where N
/// simulated workers share one object) and a Redis store (worker processes on one or several
/// machines, the arithmetic as atomic Lua scripts). Every call is one atomic step at `now`,
/// which is seconds on a clock all workers share (the simulator's virtual time, or wall time
/// since the run's common start).
public protocol SharedQuotaStore: AnyObject {
    /// Multi-dimension token bucket, all or nothing, with reservations. Each dimension `d`
    /// refills continuously at `refillPerSecond[d]` up to `capacities[d]` and starts full; a level
    /// may be negative (debt from reservations, costs above capacity and charges after the fact).
    /// `wait` is the time until every dimension holds `min(costs[d], capacities[d])` (a cost above
    /// capacity waits for a full bucket and then drives it into debt), within
    /// `1e-9 · max(1, capacity)`:
    /// - `wait == 0`: every `costs[d]` is subtracted; allowed now;
    /// - `0 < wait ≤ reserveWithin` (and finite): the costs are subtracted now, driving the bucket
    ///   into debt, and the answer is a reservation: the caller holds the grant and may send
    ///   `retryAfter = wait` seconds from `now` without asking again. Later takes queue behind it,
    ///   so slots go out in the order the workers ask (FIFO), `cost / rate` apart;
    /// - else refused: nothing changes (the refilled state is stored) and `retryAfter = wait`.
    func takeTokens(key: String, costs: [Double], capacities: [Double], refillPerSecond: [Double],
                    now: Double, reserveWithin: Double) throws(SharedQuotaError) -> SharedQuotaDecision

    /// Charges (positive) or refunds (negative) amounts after the fact, unconditionally (output
    /// tokens known only at completion, a reservation never used). Levels never exceed capacity.
    func adjustTokens(key: String, amounts: [Double], capacities: [Double], refillPerSecond: [Double],
                      now: Double) throws(SharedQuotaError)

    /// GCRA as redis-cell's `CL.THROTTLE key max_burst count period quantity`, with reservations:
    /// emission interval `T`, tolerance `τ`, `allow_at = max(now, TAT) + T·quantity − τ`. Allowed
    /// when `allow_at ≤ now` (within `1e-9 · max(1, now)`); reserved when
    /// `allow_at − now ≤ reserveWithin` (a slot at `allow_at`, `retryAfter = allow_at − now`);
    /// either way `TAT = max(now, TAT) + T·quantity`. Refused otherwise, nothing changes and
    /// `retryAfter = allow_at − now`. GCRA has no refund: a reserved slot never used is lost.
    func takeGCRA(key: String, quantity: Double, emissionInterval: Double, tolerance: Double,
                  now: Double, reserveWithin: Double) throws(SharedQuotaError) -> SharedQuotaDecision
}

extension SharedQuotaStore {
    /// A take that never reserves (`reserveWithin` 0): allowed now or refused.
    public func takeTokens(key: String, costs: [Double], capacities: [Double], refillPerSecond: [Double],
                           now: Double) throws(SharedQuotaError) -> SharedQuotaDecision {
        try takeTokens(key: key, costs: costs, capacities: capacities, refillPerSecond: refillPerSecond, now: now,
                       reserveWithin: 0)
    }

    /// A take that never reserves (`reserveWithin` 0): allowed now or refused.
    public func takeGCRA(key: String, quantity: Double, emissionInterval: Double, tolerance: Double,
                         now: Double) throws(SharedQuotaError) -> SharedQuotaDecision {
        try takeGCRA(key: key, quantity: quantity, emissionInterval: emissionInterval, tolerance: tolerance, now: now,
                     reserveWithin: 0)
    }
}

/// The answer of a shared limiter: allowed now, reserved for a slot `retryAfter` from now, or
/// refused.
public struct SharedQuotaDecision: Sendable, Equatable {
    /// The take was charged: the caller holds a grant (to use now, or at its slot if `reserved`).
    public var allowed: Bool
    /// Seconds from `now`: until the reserved slot (`reserved`), until the same take would be
    /// allowed (refused; ∞ when never), 0 when allowed now.
    public var retryAfter: Double
    /// The grant is for a future slot, `retryAfter` seconds from `now` (`allowed` is true).
    public var reserved: Bool

    public init(allowed: Bool, retryAfter: Double, reserved: Bool = false) {
        self.allowed = allowed; self.retryAfter = retryAfter; self.reserved = reserved
    }

    public static let now = SharedQuotaDecision(allowed: true, retryAfter: 0)
    public static func reserved(after wait: Double) -> SharedQuotaDecision {
        SharedQuotaDecision(allowed: true, retryAfter: wait, reserved: true)
    }
    public static func refused(retryAfter wait: Double) -> SharedQuotaDecision {
        SharedQuotaDecision(allowed: false, retryAfter: wait)
    }
}

/// A shared store could not answer (connection lost, timeout, script error).
public struct SharedQuotaError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The shared store of one process: the simulator's N workers share one. The reference
/// arithmetic the Redis scripts reproduce (a test compares them decision by decision),
/// reservations included.
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
                           now: Double, reserveWithin: Double) throws(SharedQuotaError) -> SharedQuotaDecision {
        var b = refilled(key, capacities: capacities, rates: refillPerSecond, now: now)
        var wait = 0.0
        for d in costs.indices {
            let need = Swift.min(costs[d], capacities[d])
            let short = need - b.levels[d]
            if short > Self.tolerance(capacities[d]) {
                wait = Swift.max(wait, refillPerSecond[d] > 0 ? short / refillPerSecond[d] : .infinity)
            }
        }
        // A reservation needs a slot that comes (finite) and comes in time.
        let reserve = wait != 0 && wait <= reserveWithin && wait < .infinity
        guard wait == 0 || reserve else {
            buckets[key] = b
            return .refused(retryAfter: wait)
        }
        for d in costs.indices { b.levels[d] -= costs[d] }
        buckets[key] = b
        return reserve ? .reserved(after: wait) : .now
    }

    public func adjustTokens(key: String, amounts: [Double], capacities: [Double], refillPerSecond: [Double],
                             now: Double) throws(SharedQuotaError) {
        var b = refilled(key, capacities: capacities, rates: refillPerSecond, now: now)
        for d in amounts.indices { b.levels[d] = Swift.min(capacities[d], b.levels[d] - amounts[d]) }
        buckets[key] = b
    }

    public func takeGCRA(key: String, quantity: Double, emissionInterval: Double, tolerance: Double,
                         now: Double, reserveWithin: Double) throws(SharedQuotaError) -> SharedQuotaDecision {
        let tat = Swift.max(now, tats[key] ?? now)
        let allowAt = tat + emissionInterval * quantity - tolerance
        var reserve = false
        if allowAt > now + 1e-9 * Swift.max(1, now) {
            let wait = allowAt - now
            guard wait <= reserveWithin && wait < .infinity else { return .refused(retryAfter: wait) }
            reserve = true
        }
        tats[key] = tat + emissionInterval * quantity
        return reserve ? .reserved(after: allowAt - now) : .now
    }

    /// Current levels of a token bucket refilled to `now` (tests, reports).
    public func levels(key: String, capacities: [Double], refillPerSecond: [Double], now: Double) -> [Double] {
        refilled(key, capacities: capacities, rates: refillPerSecond, now: now).levels
    }
}
