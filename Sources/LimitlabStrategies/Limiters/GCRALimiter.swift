public import LimitlabCore

/// S13: the generic cell rate algorithm as redis-cell's `CL.THROTTLE key max_burst count period 1`.
///
/// Emission interval `T = period / count`, delay variation tolerance `τ = T · (max_burst + 1)`.
/// The only state is the theoretical arrival time TAT. A request is allowed at `now` when
/// `allow_at = max(now, TAT) + T − τ ≤ now`, and then `TAT = max(now, TAT) + T`. From an idle
/// start `max_burst + 1` requests pass at once, then one every T. Each request has quantity 1.
public struct GCRALimiter: AdmissionPolicy {
    /// T = period / count, seconds.
    public let emissionInterval: Double
    /// τ = T · (max_burst + 1), seconds.
    public let tolerance: Double
    public let maxBurst: Int
    /// TAT; −∞ for a fresh key (redis-cell starts it at `now`, which `max(now, TAT)` gives).
    public private(set) var tat = -Double.infinity

    /// `count` requests per `period` seconds, `maxBurst` extra at once (redis-cell's argument order
    /// is `max_burst count period`).
    public init(count: Double, period: Double, maxBurst: Int) {
        emissionInterval = period / count
        self.maxBurst = maxBurst
        tolerance = emissionInterval * Double(maxBurst + 1)
    }

    /// When the next request is allowed (redis-cell's `allow_at`, or `now` if already allowed).
    public func allowAt(now: Double) -> Double {
        let allow = Swift.max(now, tat) + emissionInterval - tolerance
        return Swift.max(now, allow)
    }

    public mutating func ask(_ request: PendingRequest, attempt: Int, now: Double) -> AdmissionAnswer {
        .notBefore(allowAt(now: now), now: now)
    }

    public mutating func sent(_ request: PendingRequest, attempt: Int, now: Double) {
        tat = Swift.max(now, tat) + emissionInterval
    }

    /// What `CL.THROTTLE` reports after an allowed request: `limit = max_burst + 1`,
    /// `remaining = floor((τ − ttl)/T)` and `reset_after = ttl` with `ttl = TAT − now`.
    public func report(now: Double) -> (limit: Int, remaining: Int, resetAfter: Double) {
        let ttl = Swift.max(0, tat - now)
        return (maxBurst + 1, Int(((tolerance - ttl) / emissionInterval).rounded(.down)), ttl)
    }
}
