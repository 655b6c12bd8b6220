public import LimitlabCore

/// Netflix concurrency-limits' `AIMDLimit` on attempts in flight.
///
/// Per sample: on a drop, `limit = floor(limit · backoffRatio)`; else if `inFlight · 2 ≥ limit`,
/// `limit + 1` (per sample, not per round trip); then clamped to `[minLimit, maxLimit]`.
/// A drop is a 429 or 529, or, when `timeout` is set, a successful attempt that took longer
/// (the anchor's `rtt > timeout`). Other failures are not samples, like the library's
/// `onIgnore`. The anchor's 5 s timeout is off by default: most LLM responses take longer, so
/// it would count every one as a drop and pin the limit at `minLimit`.
///
/// `inFlight` is what the pipeline passes at completion (the finishing attempt included);
/// the library samples the in-flight count taken when the attempt started.
public struct AIMDConcurrencyLimit: ConcurrencyPolicy {
    /// The current limit on attempts in flight.
    public private(set) var limit: Int
    public let minLimit: Int
    public let maxLimit: Int
    public let backoffRatio: Double
    /// Seconds from send to completion above which a success counts as a drop; nil: never.
    public let timeout: Double?

    public init(initialLimit: Int = 20, minLimit: Int = 20, maxLimit: Int = 200, backoffRatio: Double = 0.9,
                timeout: Double? = nil) {
        precondition(minLimit >= 1 && minLimit <= maxLimit && backoffRatio >= 0.5 && backoffRatio < 1)
        self.minLimit = minLimit; self.maxLimit = maxLimit; self.backoffRatio = backoffRatio; self.timeout = timeout
        // The library does not clamp the initial limit; the pipeline needs at least 1.
        limit = Swift.max(1, initialLimit)
    }

    public mutating func finished(outcome: AttemptOutcome, inFlight: Int, now: Double) {
        let rtt = outcome.completedAt - outcome.sentAt
        let drop: Bool
        if Retryability.isThrottled(outcome) {
            drop = true
        } else if outcome.succeeded {
            drop = timeout.map { rtt > $0 } ?? false
        } else {
            return
        }
        var next = limit
        if drop {
            // Java's (int) cast: truncation toward zero.
            next = Int(Double(limit) * backoffRatio)
        } else if inFlight * 2 >= limit {
            next = limit + 1
        }
        limit = Swift.min(maxLimit, Swift.max(minLimit, next))
    }
}

extension AIMDConcurrencyLimit {
    static let definition = StrategyDefinition.concurrency(
        "aimd",
        summary: "Netflix AIMDLimit on attempts in flight: per finished attempt, on a drop limit = "
            + "floor(limit·backoff_ratio); else if in-flight·2 ≥ limit, limit + 1; clamped to "
            + "[min_limit, max_limit]. The drop signal is a 429 or 529. The anchor's 5 s RTT timeout is off "
            + "by default in limitlab, since LLM responses routinely take longer and every one would count "
            + "as a drop, collapsing the limit to min_limit.",
        mirrors: "Netflix concurrency-limits AIMDLimit (https://github.com/Netflix/concurrency-limits @78a74b9)",
        parameters: [
            StrategyParameter("initial_limit", .integer(min: 1, max: .max), "20", "Starting limit."),
            StrategyParameter("min_limit", .integer(min: 1, max: .max), "20",
                              "Floor (the anchor's default equals initial_limit, so the limit never goes "
                              + "below its start)."),
            StrategyParameter("max_limit", .integer(min: 1, max: .max), "200", "Cap."),
            StrategyParameter("backoff_ratio", .number(min: 0.5, max: 0.999), "0.9",
                              "Multiplicative decrease on a drop (the anchor accepts [0.5, 1))."),
            StrategyParameter("timeout", .duration, "none",
                              "Also count an attempt slower than this (send to completion) as a drop; none = "
                              + "only 429/529 are drops."),
        ]
    ) { (p, _) throws(StrategyError) in
        let minLimit = try p.int("min_limit"), maxLimit = try p.int("max_limit")
        let ratio = try p.double("backoff_ratio")
        guard minLimit <= maxLimit else {
            throw StrategyError(message: "\(p.owner): min_limit \(minLimit) is above max_limit \(maxLimit)")
        }
        guard ratio >= 0.5 && ratio < 1 else {
            throw StrategyError(message: "\(p.owner): backoff_ratio must be in [0.5, 1), as AIMDLimit requires")
        }
        let timeout = try p.optionalDouble("timeout")
        if let timeout, timeout <= 0 {
            throw StrategyError(message: "\(p.owner): timeout must be positive, as AIMDLimit requires")
        }
        return AIMDConcurrencyLimit(initialLimit: try p.int("initial_limit"), minLimit: minLimit, maxLimit: maxLimit,
                                    backoffRatio: ratio, timeout: timeout)
    }
}
