/// The options of a Bottleneck limiter (v2.19.5, local datastore), in seconds. `nil` is
/// Bottleneck's `null`: the feature is off.
public struct BottleneckSettings: Sendable, Equatable {
    /// What happens to a submission that finds the queue at `highWater` and cannot start at once.
    public enum OverflowStrategy: String, Sendable, CaseIterable {
        /// Drop the oldest queued job of the lowest priority at or below the new job's; if there
        /// is none, drop the new job.
        case leak = "LEAK"
        /// As `leak`, but only among strictly lower priorities.
        case overflowPriority = "OVERFLOW_PRIORITY"
        /// Drop the new job.
        case overflow = "OVERFLOW"
        /// Drop every queued job and the new one, and refuse submissions until `penalty` has passed
        /// without any.
        case block = "BLOCK"
    }

    /// Most summed job weight registered (waiting out `minTime`, running, or waiting for a
    /// retry inside) at once.
    public var maxConcurrent: Int?
    /// Least time between two job starts.
    public var minTime: Double
    /// Queue length at which `strategy` acts.
    public var highWater: Int?
    /// What happens at `highWater`.
    public var strategy: OverflowStrategy
    /// BLOCK's penalty; nil: `15 × minTime`, or 5 s when `minTime` is 0.
    public var penalty: Double?
    /// Initial reservoir.
    public var reservoir: Int?
    /// Reset the reservoir to `reservoirRefreshAmount` this often (on the heartbeat).
    public var reservoirRefreshInterval: Double?
    public var reservoirRefreshAmount: Int?
    /// Add `reservoirIncreaseAmount`, up to `reservoirIncreaseMaximum`, this often (on the heartbeat).
    public var reservoirIncreaseInterval: Double?
    public var reservoirIncreaseAmount: Int?
    public var reservoirIncreaseMaximum: Int?
    /// Period of the heartbeat that applies refresh and increase.
    public var heartbeatInterval: Double
    /// Weight of every job (Bottleneck's job option, constant here).
    public var weight: Int
    /// Priority of every job, 0 (first) to 9.
    public var priority: Int
    /// Retry from the `failed` event (true) or resubmit (false).
    public var retryInside: Bool

    public init(maxConcurrent: Int? = nil, minTime: Double = 0, highWater: Int? = nil,
                strategy: OverflowStrategy = .leak, penalty: Double? = nil, reservoir: Int? = nil,
                reservoirRefreshInterval: Double? = nil, reservoirRefreshAmount: Int? = nil,
                reservoirIncreaseInterval: Double? = nil, reservoirIncreaseAmount: Int? = nil,
                reservoirIncreaseMaximum: Int? = nil, heartbeatInterval: Double = 0.25, weight: Int = 1,
                priority: Int = 5, retryInside: Bool = true) {
        self.maxConcurrent = maxConcurrent; self.minTime = minTime; self.highWater = highWater
        self.strategy = strategy; self.penalty = penalty; self.reservoir = reservoir
        self.reservoirRefreshInterval = reservoirRefreshInterval; self.reservoirRefreshAmount = reservoirRefreshAmount
        self.reservoirIncreaseInterval = reservoirIncreaseInterval; self.reservoirIncreaseAmount = reservoirIncreaseAmount
        self.reservoirIncreaseMaximum = reservoirIncreaseMaximum; self.heartbeatInterval = heartbeatInterval
        self.weight = weight; self.priority = priority; self.retryInside = retryInside
    }

    /// `computePenalty`: `penalty ?? ((15 * minTime) || 5000)` ms.
    public var effectivePenalty: Double {
        if let penalty { return penalty }
        return minTime > 0 ? 15 * minTime : 5
    }

    /// Whether refresh is on (Bottleneck needs both the interval and the amount).
    public var refreshActive: Bool { reservoirRefreshInterval != nil && reservoirRefreshAmount != nil }
    /// Whether increase is on (both the interval and the amount).
    public var increaseActive: Bool { reservoirIncreaseInterval != nil && reservoirIncreaseAmount != nil }

    /// Problems Bottleneck would not report but that make a scenario meaningless: a weight it
    /// rejects on every submission, a half-configured refresh or increase, a heartbeat of 0.
    public func validationErrors() -> [String] {
        var errors: [String] = []
        if let m = maxConcurrent, m < 1 { errors.append("max_concurrent must be at least 1") }
        if let m = maxConcurrent, weight > m {
            errors.append("weight \(weight) exceeds max_concurrent \(m): Bottleneck rejects every such job at submit")
        }
        if weight < 0 { errors.append("weight must be ≥ 0") }
        if !(0...9).contains(priority) { errors.append("priority must be in 0...9") }
        if !(heartbeatInterval > 0 && heartbeatInterval.isFinite) { errors.append("heartbeat must be > 0") }
        if !(minTime >= 0 && minTime.isFinite) { errors.append("min_time must be a finite duration ≥ 0") }
        if let h = highWater, h < 0 { errors.append("high_water must be ≥ 0") }
        if let p = penalty, !(p >= 0 && p.isFinite) { errors.append("penalty must be a finite duration ≥ 0") }
        if (reservoirRefreshInterval == nil) != (reservoirRefreshAmount == nil) {
            errors.append("reservoir_refresh_interval and reservoir_refresh_amount work only together")
        }
        if (reservoirIncreaseInterval == nil) != (reservoirIncreaseAmount == nil) {
            errors.append("reservoir_increase_interval and reservoir_increase_amount work only together")
        }
        if reservoirIncreaseMaximum != nil && !increaseActive {
            errors.append("reservoir_increase_maximum needs reservoir_increase_interval and reservoir_increase_amount")
        }
        for (name, v) in [("reservoir_refresh_interval", reservoirRefreshInterval),
                          ("reservoir_increase_interval", reservoirIncreaseInterval)] {
            if let v, !(v >= 0 && v.isFinite) { errors.append("\(name) must be a finite duration ≥ 0") }
        }
        for (name, v) in [("reservoir", reservoir), ("reservoir_refresh_amount", reservoirRefreshAmount),
                          ("reservoir_increase_amount", reservoirIncreaseAmount),
                          ("reservoir_increase_maximum", reservoirIncreaseMaximum)] {
            if let v, v < 0 { errors.append("\(name) must be ≥ 0") }
        }
        return errors
    }
}

/// The per-job options Bottleneck takes with each `schedule` call.
public struct BottleneckJobOptions: Sendable, Equatable {
    /// Share of `maxConcurrent` and of the reservoir the job takes (≥ 0).
    public var weight: Int
    /// 0 (runs first) to 9; values outside are clamped, as Bottleneck's `_sanitizePriority` does.
    public var priority: Int
    public init(weight: Int = 1, priority: Int = 5) { self.weight = weight; self.priority = priority }
}
