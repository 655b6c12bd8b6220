public import LimitlabCore

/// A request-rate limiter with additive increase and multiplicative decrease, TCP's
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

extension AIMDRateLimiter {
    static let definition = StrategyDefinition.admission(
        "aimd-rate",
        summary: "Paces requests at a rate (per second) that grows by `increase` once per `interval` in which a "
            + "response succeeded without throttling, and is multiplied by `decrease` on a 429 or 529 (at most "
            + "once per interval), kept within [min_rate, max_rate]. Sends are spaced 1/rate apart at the "
            + "current rate. Growth is clocked by successes, as TCP grows its window on ACKs, so an idle "
            + "limiter does not drift to max_rate.",
        mirrors: "TCP AIMD (RFC 5681, https://www.rfc-editor.org/rfc/rfc5681; Chiu & Jain 1989) applied to a request rate",
        parameters: [
            StrategyParameter("initial_rate", .number(min: 0, max: .infinity), "none",
                              "Starting rate, requests per second; none = the scenario's RPM/60."),
            StrategyParameter("increase", .number(min: 0, max: .infinity), "none",
                              "Additive increase per interval, requests per second; none = 5% of the "
                              + "initial rate (limitlab's default)."),
            StrategyParameter("decrease", .number(min: 0.01, max: 0.99), "0.5",
                              "Multiplicative decrease on throttling (0.5 like TCP, 0.7 like AWS adaptive)."),
            StrategyParameter("interval", .duration, "1s",
                              "Period of the additive increase and least time between two decreases."),
            StrategyParameter("min_rate", .number(min: 0, max: .infinity), "0.01",
                              "Floor, requests per second (a floor above 0 keeps probing)."),
            StrategyParameter("max_rate", .number(min: 0, max: .infinity), "none",
                              "Cap, requests per second; none = no cap."),
        ] + PipelineStrategy.queueParameters
    ) { (p, context) throws(StrategyError) in
        let initial = try p.optionalDouble("initial_rate") ?? context.limits.rpm / 60
        let minRate = try p.double("min_rate")
        let maxRate = try p.optionalDouble("max_rate") ?? .infinity
        let interval = try p.double("interval")
        guard initial > 0, interval > 0 else {
            throw StrategyError(message: "\(p.owner): initial_rate and interval must be above 0")
        }
        guard minRate <= maxRate else {
            throw StrategyError(message: "\(p.owner): min_rate \(minRate) is above max_rate \(maxRate)")
        }
        return AIMDRateLimiter(Configuration(
            initialRate: initial, increase: try p.optionalDouble("increase") ?? initial * 0.05,
            decrease: try p.double("decrease"), interval: interval, minRate: minRate, maxRate: maxRate))
    }
}
