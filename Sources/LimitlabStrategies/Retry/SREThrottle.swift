public import LimitlabStats
public import LimitlabCore

/// Google SRE client-side adaptive throttling: over the last `window`, count `requests` (new
/// requests the application offered, whether this throttle let them through or not) and
/// `accepts` (attempts the backend did not refuse with 429/529), and reject a new request locally
/// with probability `max(0, (requests − k·accepts) / (requests + 1))`. Counts are kept in
/// 1-second buckets, so a count leaves the window between `window − 1 s` and `window` after it.
///
/// limitlab knobs the book does not have: the probability is capped at `maxRejectProbability`
/// (0.9, after failsafe-go — at 1.0 the client would stop sending and never see the backend
/// recover), and nothing is rejected while the window holds fewer than `minRequests` requests.
///
/// Retries do not pass through `shouldReject` (the pipeline sheds only new requests), so they
/// are not counted as requests; their accepts are, as every attempt reports back.
public struct SREThrottle: LoadShedder {
    public let k: Double
    public let window: Double
    public let maxRejectProbability: Double
    public let minRequests: Int
    private var requests: SlidingSum
    private var accepts: SlidingSum
    private let random: RandomSource

    public init(k: Double = 2, window: Double = 120, maxRejectProbability: Double = 0.9, minRequests: Int = 10,
                random: RandomSource) {
        self.k = k; self.window = window; self.maxRejectProbability = maxRejectProbability
        self.minRequests = minRequests; self.random = random
        // 1-second buckets (one bucket under a second; beyond an hour, 3600 wider buckets so
        // memory stays bounded).
        let slots = Swift.min(3600, Swift.max(1, Int(window.rounded(.up))))
        requests = SlidingSum(window: window, slots: slots)
        accepts = SlidingSum(window: window, slots: slots)
    }

    /// Requests and accepts in the window at `now`.
    public func counts(now: Double) -> (requests: Int, accepts: Int) {
        (requests.peek(at: now), accepts.peek(at: now))
    }

    /// The probability a request arriving at `now` is rejected (before it is counted).
    public func rejectProbability(now: Double) -> Double {
        let (r, a) = counts(now: now)
        guard r >= minRequests else { return 0 }
        let p = Swift.max(0, (Double(r) - k * Double(a)) / (Double(r) + 1))
        return Swift.min(p, maxRejectProbability)
    }

    /// `reject_probability`: the probability a new request arriving at `now` is rejected.
    public func stateGauges(now: Double) -> [StateGauge] {
        [StateGauge("reject_probability", rejectProbability(now: now))]
    }

    public mutating func shouldReject(now: Double) -> Bool {
        let p = rejectProbability(now: now)
        requests.add(1, at: now)
        return p > 0 && random.uniform() < p
    }

    public mutating func record(accepted: Bool, now: Double) {
        if accepted { accepts.add(1, at: now) }
    }
}

extension SREThrottle {
    static let definition = StrategyDefinition.shed(
        "sre",
        summary: "Google SRE client-side adaptive throttling: reject a new request locally with probability "
            + "max(0, (requests − k·accepts)/(requests + 1)) over the last `window` (1 s buckets); requests "
            + "are new requests offered, accepts are attempts the backend did not refuse with 429/529. "
            + "limitlab knobs: max_reject_probability 0.9 and min_requests 10.",
        mirrors: "Google SRE book, \"Handling Overload\", client-side throttling "
            + "(https://sre.google/sre-book/handling-overload/); 0.9 cap after failsafe-go "
            + "(https://github.com/failsafe-go/failsafe-go)",
        parameters: [
            StrategyParameter("k", .number(min: 1, max: .infinity), "2",
                              "Multiplier K (the book prefers 2; 1.1 is aggressive)."),
            StrategyParameter("window", .duration, "120s", "History kept (the book: two minutes)."),
            StrategyParameter("max_reject_probability", .number(min: 0, max: 1), "0.9",
                              "limitlab's default (after failsafe-go): at 1.0 the client would never see recovery."),
            StrategyParameter("min_requests", .integer(min: 0, max: Int.max), "10",
                              "limitlab's default: no local rejection while the window holds fewer requests."),
        ]
    ) { (p, context) throws(StrategyError) in
        let window = try p.double("window")
        guard window > 0 else { throw StrategyError(message: "\(p.owner): window must be longer than 0s") }
        return SREThrottle(k: try p.double("k"), window: window,
                           maxRejectProbability: try p.double("max_reject_probability"),
                           minRequests: try p.int("min_requests"), random: context.random)
    }
}
