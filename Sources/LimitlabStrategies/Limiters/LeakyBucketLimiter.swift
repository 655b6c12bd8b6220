public import LimitlabCore

/// aiolimiter 1.2.1's `AsyncLimiter(max_rate, time_period)` metering requests.
///
/// The level starts at 0 and leaks at `max_rate / time_period` per second (never below 0). An
/// acquire of 1 succeeds when `level + 1 ≤ max_rate` and adds 1; a waiter is woken at
/// `last_check + needed / rate` with `needed = 1 − max_rate + level`. So an idle limiter lets
/// `max_rate` requests through at once, then one every `time_period / max_rate`.
/// aiolimiter wakes waiters smallest amount first; with every request costing 1 that order is
/// arrival order, which the pipeline's FIFO queue keeps.
public struct LeakyBucketLimiter: AdmissionPolicy {
    /// Capacity, and acquisitions per `timePeriod`.
    public let maxRate: Double
    /// Seconds.
    public let timePeriod: Double
    /// The level at the last acquisition (see `level(at:)` for now).
    public private(set) var level = 0.0
    private var lastCheck = 0.0

    /// `maxRate` must be ≥ 1: aiolimiter raises `ValueError` for an acquire above `max_rate`.
    public init(maxRate: Double, timePeriod: Double = 60) {
        precondition(maxRate >= 1, "aiolimiter cannot acquire 1 from a max_rate below 1")
        self.maxRate = maxRate; self.timePeriod = timePeriod
    }

    /// The level after leaking until `now`.
    public func level(at now: Double) -> Double {
        guard level > 0, now > lastCheck else { return level }
        // elapsed · max_rate / period rather than elapsed · (max_rate / period): exact for the
        // round numbers of tests and scenarios (6 s at 10 per 60 s leaks exactly 1).
        return Swift.max(level - (now - lastCheck) * maxRate / timePeriod, 0)
    }

    /// `level`: the bucket's level after leaking until `now` (capacity `max_rate`).
    public func stateGauges(now: Double) -> [StateGauge] { [StateGauge("level", level(at: now))] }

    public mutating func ask(_ request: PendingRequest, attempt: Int, now: Double) -> AdmissionAnswer {
        let l = level(at: now)
        let needed = 1 - maxRate + l
        if needed <= 1e-9 * maxRate { return .now }
        return .notBefore(now + needed * timePeriod / maxRate, now: now)
    }

    public mutating func sent(_ request: PendingRequest, attempt: Int, now: Double) {
        level = level(at: now) + 1
        lastCheck = Swift.max(lastCheck, now)
    }
}

extension LeakyBucketLimiter {
    static let definition = StrategyDefinition.admission(
        "leaky-bucket",
        summary: "aiolimiter's AsyncLimiter on requests: the level starts at 0 and leaks at max_rate/time_period "
            + "per second; a request passes when level + 1 ≤ max_rate and adds 1. So max_rate requests pass "
            + "at once from an idle start, then one every time_period/max_rate.",
        mirrors: "aiolimiter 1.2.1 (https://github.com/mjpieters/aiolimiter @01c52ea)",
        parameters: [
            StrategyParameter("max_rate", .number(min: 0, max: .infinity), "none",
                              "Requests per time_period and the bucket's capacity; none = the scenario's RPM "
                              + "scaled to time_period. Below 1 is refused, as aiolimiter raises ValueError "
                              + "for an acquire larger than max_rate."),
            StrategyParameter("time_period", .duration, "1m", "The period max_rate is counted over."),
        ] + PipelineStrategy.queueParameters
    ) { (p, context) throws(StrategyError) in
        let period = try p.double("time_period")
        let maxRate = try p.optionalDouble("max_rate") ?? context.limits.rpm * period / 60
        guard period > 0 else { throw StrategyError(message: "\(p.owner): time_period must be longer than 0s") }
        guard maxRate >= 1 else {
            throw StrategyError(message: "\(p.owner): max_rate is \(maxRate) per \(period) s; a request needs "
                                + "max_rate ≥ 1 (aiolimiter raises ValueError for an acquire above max_rate)")
        }
        return LeakyBucketLimiter(maxRate: maxRate, timePeriod: period)
    }
}
