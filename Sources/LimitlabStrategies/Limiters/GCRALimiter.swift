public import LimitlabCore

/// The generic cell rate algorithm as redis-cell's `CL.THROTTLE key max_burst count period 1`.
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

    /// `remaining` and `reset_s`: `CL.THROTTLE`'s remaining and reset_after at `now` (see
    /// `report`), remaining never below 0.
    public func stateGauges(now: Double) -> [StateGauge] {
        let r = report(now: now)
        return [StateGauge("remaining", Double(Swift.max(0, r.remaining))), StateGauge("reset_s", r.resetAfter)]
    }
}

extension GCRALimiter {
    static let definition = StrategyDefinition.admission(
        "gcra",
        summary: "Generic cell rate algorithm on requests, as redis-cell: emission interval T = period/count, "
            + "tolerance τ = T·(max_burst + 1); a request is allowed when max(now, TAT) + T − τ ≤ now, and "
            + "then TAT = max(now, TAT) + T. So max_burst + 1 requests pass at once, then one every T.",
        mirrors: "redis-cell CL.THROTTLE with quantity 1 (https://github.com/brandur/redis-cell @4d42338); "
            + "throttled GCRA (https://github.com/throttled/throttled @9e814f2)",
        parameters: [
            StrategyParameter("count", .number(min: 0, max: .infinity), "none",
                              "Requests per period; none = the scenario's RPM scaled to the period."),
            StrategyParameter("period", .duration, "1m", "The period count is spread over."),
            StrategyParameter("max_burst", .integer(min: 0, max: .max), "0",
                              "Extra requests allowed at once beyond the first (limitlab's default 0: one "
                              + "request per T, safe against a server bucket of one second's worth)."),
        ] + PipelineStrategy.queueParameters
    ) { (p, context) throws(StrategyError) in
        let period = try p.double("period")
        let count = try p.optionalDouble("count") ?? context.limits.rpm * period / 60
        guard period > 0, count > 0 else {
            throw StrategyError(message: "\(p.owner): count and period must be above 0")
        }
        return GCRALimiter(count: count, period: period, maxBurst: try p.int("max_burst"))
    }
}
