public import LimitlabCore

/// S18: a request-rate limiter with additive increase and multiplicative decrease, TCP's
/// congestion avoidance (RFC 5681; Chiu & Jain 1989) applied to requests per second.
///
/// Sends are spaced `1/rate` apart at the current rate. On a 429 or 529 the rate is multiplied
/// by `decrease`, at most once per `interval` (one refusal burst is one congestion event).
/// Otherwise it grows by `increase` once per `interval` in which a response succeeded: growth
/// is clocked by successes, as TCP's window grows on ACKs, so an idle limiter does not drift
/// up to `maxRate` and then overrun the server when traffic returns. The rate stays within
/// `[minRate, maxRate]`.
public struct AIMDRateLimiter: AdmissionPolicy {
    /// Rates in requests per second; `interval` in seconds.
    public struct Configuration: Sendable, Equatable {
        public var initialRate: Double
        /// Added once per interval with a success.
        public var increase: Double
        /// Multiplier on throttling, in (0, 1).
        public var decrease: Double
        public var interval: Double
        public var minRate: Double
        public var maxRate: Double

        public init(initialRate: Double, increase: Double, decrease: Double = 0.5, interval: Double = 1,
                    minRate: Double = 0.01, maxRate: Double = .infinity) {
            self.initialRate = initialRate; self.increase = increase; self.decrease = decrease
            self.interval = interval; self.minRate = minRate; self.maxRate = maxRate
        }
    }

    public let configuration: Configuration
    /// Current rate, requests per second.
    public private(set) var rate: Double
    private var lastSend: Double?
    /// Start of the current increase interval (a grid from time 0, restarted by a decrease).
    private var intervalStart = 0.0
    private var lastDecrease = -Double.infinity

    public init(_ configuration: Configuration) {
        self.configuration = configuration
        rate = Swift.min(configuration.maxRate, Swift.max(configuration.minRate, configuration.initialRate))
    }

    public mutating func ask(_ request: PendingRequest, attempt: Int, now: Double) -> AdmissionAnswer {
        guard let last = lastSend, rate > 0 else { return rate > 0 ? .now : .at(.infinity) }
        return .notBefore(last + 1 / rate, now: now)
    }

    public mutating func sent(_ request: PendingRequest, attempt: Int, now: Double) {
        lastSend = now
    }

    public mutating func finished(_ request: PendingRequest, attempt: Int, outcome: AttemptOutcome, now: Double) {
        let c = configuration
        if Retryability.isThrottled(outcome) {
            guard now - lastDecrease >= c.interval else { return }
            rate = Swift.max(c.minRate, rate * c.decrease)
            lastDecrease = now
            intervalStart = now
        } else if outcome.succeeded, now - intervalStart >= c.interval {
            rate = Swift.min(c.maxRate, rate + c.increase)
            // One step however many intervals passed; keep the grid so steady traffic grows
            // exactly once per interval.
            intervalStart = now - (now - intervalStart).truncatingRemainder(dividingBy: c.interval)
        }
    }
}
