public import LimitlabCore

/// S14: aiolimiter 1.2.1's `AsyncLimiter(max_rate, time_period)` metering requests.
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
