public import LimitlabCore

/// A request-rate limiter with additive increase and multiplicative decrease, TCP's
/// congestion avoidance (RFC 5681; Chiu & Jain 1989) applied to requests per second.
///
/// Sends are spaced `1/rate` apart at the current rate. On a 429 or 529 the rate is multiplied
/// by `decrease`, at most once per `interval` (one refusal burst is one congestion event), and
/// the increase clock restarts. The rate grows by `increase`:
///
/// - `perInterval`: once per `interval` in which the limiter had demand (a
///   request sent or waiting for it), successes or not, as TCP grows its window once per round
///   trip. Every worker sharing a limit then grows by the same step per interval and halves on
///   the same signal, which is what makes AIMD converge to equal shares (Chiu & Jain); a worker
///   pushed down to `minRate` climbs back even though it hardly gets a response. An idle
///   limiter (no demand) does not grow, as RFC 7661 keeps an application-limited window.
/// - `perSuccess` (the default, as before the option existed, so existing scenarios keep their
///   results): once per interval in which a response succeeded. An idle limiter cannot drift
///   up, but a worker refused everything stays where it is, so several workers on one small
///   bucket can settle on unequal shares (Jain about 0.5 for two workers on a one-second bucket).
///
/// The rate stays within `[minRate, maxRate]`.
public struct AIMDRateLimiter: AdmissionPolicy {
    /// What clocks the additive increase.
    public enum Growth: String, Sendable, CaseIterable {
        case perInterval = "per-interval"
        case perSuccess = "per-success"
    }

    /// Rates in requests per second; `interval` in seconds.
    public struct Configuration: Sendable, Equatable {
        public var initialRate: Double
        /// Added once per interval (with demand, or with a success: see `growth`).
        public var increase: Double
        /// Multiplier on throttling, in (0, 1).
        public var decrease: Double
        public var interval: Double
        public var minRate: Double
        public var maxRate: Double
        public var growth: Growth

        public init(initialRate: Double, increase: Double, decrease: Double = 0.5, interval: Double = 1,
                    minRate: Double = 0.01, maxRate: Double = .infinity, growth: Growth = .perSuccess) {
            self.initialRate = initialRate; self.increase = increase; self.decrease = decrease
            self.interval = interval; self.minRate = minRate; self.maxRate = maxRate; self.growth = growth
        }
    }

    public let configuration: Configuration
    /// Current rate, requests per second.
    public private(set) var rate: Double
    private var lastSend: Double?
    /// Start of the current increase interval (a grid from time 0, restarted by a decrease).
    private var intervalStart = 0.0
    private var lastDecrease = -Double.infinity
    /// perInterval: a request was sent since `intervalStart`.
    private var sentInInterval = false
    /// perInterval: a request is waiting for this limiter (asked, told to wait, not yet sent).
    private var waiting = false

    public init(_ configuration: Configuration) {
        self.configuration = configuration
        rate = Swift.min(configuration.maxRate, Swift.max(configuration.minRate, configuration.initialRate))
    }

    /// perInterval: applies the increases of the intervals that ended by `now`. The first
    /// counts when something was sent in it or a request waited; later ones, which saw no call
    /// (a send calls this first), only when a request waited through them.
    private mutating func advance(to now: Double) {
        let c = configuration
        guard c.growth == .perInterval, now - intervalStart >= c.interval else { return }
        let whole = ((now - intervalStart) / c.interval).rounded(.down)
        let steps = waiting ? whole : (sentInInterval ? 1 : 0)
        if steps > 0 { rate = Swift.min(c.maxRate, rate + steps * c.increase) }
        intervalStart += whole * c.interval
        sentInInterval = false
    }

    /// `rate`: the current rate, requests per second. Increases of intervals that ended by
    /// `now` but have not been applied yet (they are applied at the next call) are not shown.
    public func stateGauges(now: Double) -> [StateGauge] { [StateGauge("rate", rate)] }

    public mutating func ask(_ request: PendingRequest, attempt: Int, now: Double) -> AdmissionAnswer {
        advance(to: now)
        guard let last = lastSend, rate > 0 else { return rate > 0 ? .now : .at(.infinity) }
        let answer = AdmissionAnswer.notBefore(last + 1 / rate, now: now)
        guard case .at(let t) = answer, configuration.growth == .perInterval else { return answer }
        // Demand: the rate grows at the interval's end, so ask again then.
        waiting = true
        return .at(Swift.min(t, intervalStart + configuration.interval))
    }

    public mutating func abandoned(_ request: PendingRequest, attempt: Int, now: Double) {
        advance(to: now)
        waiting = false
    }

    public mutating func sent(_ request: PendingRequest, attempt: Int, now: Double) {
        advance(to: now)
        lastSend = now
        sentInInterval = true
        waiting = false
    }

    public mutating func finished(_ request: PendingRequest, attempt: Int, outcome: AttemptOutcome, now: Double) {
        let c = configuration
        advance(to: now)
        if Retryability.isThrottled(outcome) {
            guard now - lastDecrease >= c.interval else { return }
            rate = Swift.max(c.minRate, rate * c.decrease)
            lastDecrease = now
            intervalStart = now
            sentInInterval = false
        } else if c.growth == .perSuccess, outcome.succeeded, now - intervalStart >= c.interval {
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
        summary: "Paces requests at a rate (per second), sends spaced 1/rate apart, multiplied by `decrease` on a "
            + "429 or 529 (at most once per interval) and kept within [min_rate, max_rate]. It grows by `increase` "
            + "once per `interval` in which a response succeeded (growth: per-success, the default; a worker "
            + "refused everything stays starved, so workers on a small bucket can settle on unequal shares) or "
            + "once per interval with demand (per-interval, TCP's growth per round trip: every worker of an "
            + "organisation grows alike and they converge to equal shares; use it with workers). Idle limiters "
            + "do not grow. With workers, each starts at its share of the organisation's rate, spread by "
            + "initial_spread.",
        mirrors: "TCP AIMD (RFC 5681, https://www.rfc-editor.org/rfc/rfc5681; Chiu & Jain 1989; RFC 7661 for "
            + "not growing while idle, https://www.rfc-editor.org/rfc/rfc7661) applied to a request rate",
        parameters: [
            StrategyParameter("initial_rate", .number(min: 0, max: .infinity), "none",
                              "Starting rate, requests per second; none = the scenario's RPM/60 divided by the "
                              + "number of workers."),
            StrategyParameter("initial_spread", .number(min: 0, max: 0.99), "0",
                              "With workers: worker w of N starts at initial_rate·(1 + s·(2w/(N−1) − 1)), from "
                              + "(1 − s)× to (1 + s)× (0: all alike)."),
            StrategyParameter("increase", .number(min: 0, max: .infinity), "none",
                              "Additive increase per interval, requests per second; none = 5% of the "
                              + "initial rate before the spread (limitlab's default), the same for every worker."),
            StrategyParameter("decrease", .number(min: 0.01, max: 0.99), "0.5",
                              "Multiplicative decrease on throttling (0.5 like TCP, 0.7 like AWS adaptive)."),
            StrategyParameter("interval", .duration, "1s",
                              "Period of the additive increase (the round trip) and least time between two decreases."),
            StrategyParameter("growth", .choice(["per-success", "per-interval"]), "per-success",
                              "What clocks the increase: only intervals with a success (the default, kept so "
                              + "existing results hold), or every interval with a request sent or waiting "
                              + "(TCP-style; fair across workers sharing a limit)."),
            StrategyParameter("min_rate", .number(min: 0, max: .infinity), "0.01",
                              "Floor, requests per second (a floor above 0 keeps probing)."),
            StrategyParameter("max_rate", .number(min: 0, max: .infinity), "none",
                              "Cap, requests per second; none = no cap."),
        ] + PipelineStrategy.queueParameters
    ) { (p, context) throws(StrategyError) in
        let base = try p.optionalDouble("initial_rate") ?? context.limits.rpm / 60 / Double(Swift.max(1, context.workerCount))
        let spread = try p.double("initial_spread")
        let minRate = try p.double("min_rate")
        let maxRate = try p.optionalDouble("max_rate") ?? .infinity
        let interval = try p.double("interval")
        guard base > 0, interval > 0 else {
            throw StrategyError(message: "\(p.owner): initial_rate and interval must be above 0")
        }
        guard minRate <= maxRate else {
            throw StrategyError(message: "\(p.owner): min_rate \(minRate) is above max_rate \(maxRate)")
        }
        guard spread >= 0 && spread < 1 else {
            throw StrategyError(message: "\(p.owner): initial_spread must be in [0, 1)")
        }
        guard let growth = Growth(rawValue: try p.string("growth")) else {
            throw StrategyError(message: "\(p.owner): growth must be per-interval or per-success")
        }
        let n = context.workerCount
        let position = n > 1 ? 2 * Double(context.worker) / Double(n - 1) - 1 : 0
        return AIMDRateLimiter(Configuration(
            initialRate: base * (1 + spread * position), increase: try p.optionalDouble("increase") ?? base * 0.05,
            decrease: try p.double("decrease"), interval: interval, minRate: minRate, maxRate: maxRate,
            growth: growth))
    }
}
