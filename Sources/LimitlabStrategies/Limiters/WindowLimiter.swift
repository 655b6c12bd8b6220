public import LimitlabCore

/// The window counters of Python `limits` 5.8.0, metering requests.
///
/// - `fixed` (FixedWindowRateLimiter, in-memory storage): the first hit starts a window of
///   `window` seconds; up to `limit` hits pass in it; the count resets when it expires (at
///   `start + window`, where the next hit starts a new window). Hits at the end of one window
///   and the start of the next can reach 2 × limit within a short span.
/// - `slidingLog` (MovingWindowRateLimiter): a hit passes when fewer than `limit` hits are
///   recorded, or when the `limit`-th most recent is older than the window
///   (`atime < now − window`, strictly).
/// - `slidingCounter` (SlidingWindowCounterRateLimiter): windows aligned to multiples of
///   `window` from time 0; a hit passes when `floor(current + previous · (window − elapsed) /
///   window) + 1 ≤ limit`, with `elapsed` the time since the current window began. This is the
///   weighting of the storages that track the window boundaries (Redis); the in-memory storage
///   instead times the previous count from its first hit.
public struct WindowLimiter: AdmissionPolicy {
    public enum Kind: String, Sendable, CaseIterable {
        case fixed
        case slidingLog = "sliding-log"
        case slidingCounter = "sliding-counter"
    }

    public let kind: Kind
    /// Requests per window.
    public let limit: Int
    /// Window length, seconds.
    public let window: Double

    // fixed
    private var windowStart: Double?
    private var count = 0
    // sliding log: send times, oldest first, at most `limit` kept.
    private var log = RingBuffer<Double>()
    // sliding counter: index of the current aligned window and the counts of it and the one before.
    private var windowIndex = 0.0
    private var current = 0
    private var previous = 0

    public init(kind: Kind, limit: Int, window: Double) {
        precondition(limit >= 1 && window > 0)
        self.kind = kind; self.limit = limit; self.window = window
    }

    /// The earliest time ≥ `now` at which a hit passes.
    public func earliestHit(now: Double) -> Double {
        switch kind {
        case .fixed:
            guard let start = windowStart, now < start + window else { return now }
            return count < limit ? now : start + window
        case .slidingLog:
            guard log.count >= limit, let oldest = log.first else { return now }
            // `limits` refuses while the limit-th most recent hit is ≥ now − window.
            return now > oldest + window ? now : (oldest + window).nextUp
        case .slidingCounter:
            let (index, cur, prev) = counters(at: now)
            let start = index * window
            let weighted = Double(prev) * (window - (now - start)) / window + Double(cur)
            if weighted.rounded(.down) + 1 <= Double(limit) { return now }
            // A full window (it never holds more than limit) weighs limit at the next boundary
            // as the previous count, and less right after it.
            if cur >= limit { return (start + window).nextUp }
            // Here prev > 0: floor(prev·(window − e)/window + cur) < limit ⇔
            // e > window·(1 − (limit − cur)/prev).
            let threshold = start + window * (1 - Double(limit - cur) / Double(prev))
            return Swift.max(now, threshold).nextUp
        }
    }

    /// Hits counted against the limit at `now`: the fixed window's count, the log's hits within
    /// the window, or the sliding counter's weighted count (rounded down, as the check does).
    public func used(now: Double) -> Int {
        switch kind {
        case .fixed:
            guard let start = windowStart, now < start + window else { return 0 }
            return count
        case .slidingLog:
            // The log holds at most `limit` send times, oldest first; a hit counts while
            // atime ≥ now − window (Python limits expires it when atime < now − window).
            var copy = log
            while let t = copy.first, t < now - window { copy.removeFirst() }
            return copy.count
        case .slidingCounter:
            let (index, cur, prev) = counters(at: now)
            let weighted = Double(prev) * (window - (now - index * window)) / window + Double(cur)
            return Int(weighted.rounded(.down))
        }
    }

    /// `remaining`: hits left in the window at `now` (`limit − used`, never below 0).
    public func stateGauges(now: Double) -> [StateGauge] {
        [StateGauge("remaining", Double(Swift.max(0, limit - used(now: now))))]
    }

    /// The aligned window containing `now` and the counts seen from it.
    private func counters(at now: Double) -> (index: Double, current: Int, previous: Int) {
        let index = (now / window).rounded(.down)
        if index == windowIndex { return (index, current, previous) }
        if index == windowIndex + 1 { return (index, 0, current) }
        return (index, 0, 0)
    }

    public mutating func ask(_ request: PendingRequest, attempt: Int, now: Double) -> AdmissionAnswer {
        .notBefore(earliestHit(now: now), now: now)
    }

    public mutating func sent(_ request: PendingRequest, attempt: Int, now: Double) {
        switch kind {
        case .fixed:
            if let start = windowStart, now < start + window {
                count += 1
            } else {
                windowStart = now
                count = 1
            }
        case .slidingLog:
            log.append(now)
            while log.count > limit { log.removeFirst() }
        case .slidingCounter:
            let (index, cur, prev) = counters(at: now)
            windowIndex = index
            current = cur + 1
            previous = prev
        }
    }
}

extension WindowLimiter {
    static let definition = StrategyDefinition.admission(
        "window",
        summary: "Python limits' window counters on requests: fixed (a window starts at the first hit and "
            + "resets when it expires; up to 2× limit across a boundary), sliding-log (moving window: "
            + "pass when fewer than limit sends are younger than the window), sliding-counter (pass when "
            + "floor(current + previous·(window − elapsed)/window) < limit, windows aligned to time 0).",
        mirrors: "Python limits 5.8.0 (https://github.com/alisaifee/limits @f7d1eef): FixedWindowRateLimiter, MovingWindowRateLimiter, "
            + "SlidingWindowCounterRateLimiter",
        parameters: [
            StrategyParameter("kind", .choice(["fixed", "sliding-log", "sliding-counter"]), "fixed",
                              "Which counter."),
            StrategyParameter("limit", .integer(min: 1, max: .max), "none",
                              "Requests per window; none = the scenario's RPM scaled to the window, rounded down."),
            StrategyParameter("window", .duration, "1m", "The window length."),
        ] + PipelineStrategy.queueParameters
    ) { (p, context) throws(StrategyError) in
        guard let kind = Kind(rawValue: try p.string("kind")) else {
            throw StrategyError(message: "\(p.owner): kind must be fixed, sliding-log or sliding-counter")
        }
        let window = try p.double("window")
        guard window > 0 else { throw StrategyError(message: "\(p.owner): window must be longer than 0s") }
        let limit = try p.optionalInt("limit") ?? Int((context.limits.rpm * window / 60).rounded(.down))
        guard limit >= 1 else {
            throw StrategyError(message: "\(p.owner): the scenario's RPM allows less than 1 request per "
                                + "\(window) s window; give limit or a longer window")
        }
        return WindowLimiter(kind: kind, limit: limit, window: window)
    }
}
