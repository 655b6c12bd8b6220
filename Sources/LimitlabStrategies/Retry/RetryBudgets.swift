public import LimitlabCore

/// gRPC retry throttling (A6 `retryThrottling`): `token_count` starts at `maxTokens` and stays
/// in [0, maxTokens]; every attempt that fails with a retryable status, or is told not to retry,
/// takes 1; every success adds `tokenRatio`; a retry goes ahead only while
/// `token_count > maxTokens / 2`. Other failures (a 400) leave the count alone, so malformed
/// requests are not read as server trouble. Tokens are kept in thousandths, as grpc-java does, so
/// ten successes at 0.1 restore exactly one token.
public struct GRPCRetryThrottle: RetryBudget {
    private static let scale = 1000
    public let maxTokens: Double
    public let tokenRatio: Double
    private let maxMilli: Int
    private let ratioMilli: Int
    private let thresholdMilli: Int
    private var milli: Int

    public init(maxTokens: Double = 10, tokenRatio: Double = 0.1) {
        self.maxTokens = maxTokens
        self.tokenRatio = tokenRatio
        maxMilli = Int((maxTokens * Double(Self.scale)).rounded())
        ratioMilli = Int((tokenRatio * Double(Self.scale)).rounded())
        thresholdMilli = maxMilli / 2
        milli = maxMilli
    }

    /// The current token count.
    public var tokens: Double { Double(milli) / Double(Self.scale) }

    public mutating func attemptSent(isRetry: Bool, now: Double) {}

    public mutating func attemptFinished(_ outcome: AttemptOutcome, now: Double) {
        if outcome.succeeded {
            milli = Swift.min(maxMilli, milli + ratioMilli)
        } else if Retryability.isRetryable(outcome) || outcome.shouldRetry == false {
            milli = Swift.max(0, milli - Self.scale)
        }
    }

    /// `tokens`: A6's `token_count` (retries go ahead while it is above `max_tokens / 2`).
    public func stateGauges(now: Double) -> [StateGauge] { [StateGauge("tokens", tokens)] }

    /// Whether retries are allowed now; A6 charges nothing for the retry itself.
    public mutating func allowRetry(now: Double) -> Bool { milli > thresholdMilli }
}

/// Finagle's `RetryBudget(ttl, minRetriesPerSec, percentCanRetry)`: a leaky token bucket in
/// which every new request deposits 1000 units and a retry withdraws `1000 / percentCanRetry`;
/// deposits and withdrawals expire after `ttl` (10 slices of `ttl/10`, as Finagle's
/// `WindowedAdder`), and a reserve of `minRetriesPerSec · ttl` retries is always on top. A retry
/// goes ahead while the balance covers one withdrawal — in effect, while
/// `retries + 1 ≤ percentCanRetry · requests + minRetriesPerSec · ttl` within the last `ttl`.
/// Integer units and the whole-second `ttl` in the reserve are Finagle's.
public struct PercentageRetryBudget: RetryBudget {
    public let ttl: Double
    public let minRetriesPerSec: Int
    public let percentCanRetry: Double
    private let deposit: Int
    private let withdrawal: Int
    private let reserve: Int
    private var window: SlidingSum

    public init(ttl: Double = 10, minRetriesPerSec: Int = 10, percentCanRetry: Double = 0.2) {
        self.ttl = ttl
        self.minRetriesPerSec = minRetriesPerSec
        self.percentCanRetry = percentCanRetry
        // Finagle: with percentCanRetry 0 requests earn nothing and a retry costs 1, so only the
        // reserve pays for retries (and with no reserve either, none are allowed).
        deposit = percentCanRetry == 0 ? 0 : 1000
        withdrawal = percentCanRetry == 0 ? 1 : Int(1000 / percentCanRetry)
        reserve = minRetriesPerSec * Int(ttl.rounded(.towardZero)) * withdrawal
        window = SlidingSum(window: ttl, slots: 10)
    }

    /// Retries the budget would allow right now (Finagle's `balance`).
    public func balance(now: Double) -> Int { (window.peek(at: now) + reserve) / withdrawal }

    /// `tokens`: the retries the budget would allow at `now` (`balance`).
    public func stateGauges(now: Double) -> [StateGauge] { [StateGauge("tokens", Double(balance(now: now)))] }

    public mutating func attemptSent(isRetry: Bool, now: Double) {
        // Finagle's RetryFilter deposits once per request, not per retry.
        if !isRetry { window.add(deposit, at: now) }
    }

    public mutating func attemptFinished(_ outcome: AttemptOutcome, now: Double) {}

    public mutating func allowRetry(now: Double) -> Bool {
        guard window.sum(at: now) + reserve >= withdrawal else { return false }
        window.add(-withdrawal, at: now)
        return true
    }
}

extension GRPCRetryThrottle {
    static let definition = StrategyDefinition.budget(
        "grpc",
        summary: "gRPC retry throttling: token_count starts at max_tokens; each attempt failing retryably "
            + "(or told not to retry) takes 1, each success adds token_ratio, bounded [0, max_tokens]; "
            + "retries go ahead only while token_count > max_tokens/2 (kept in thousandths, as grpc-java).",
        mirrors: "gRPC A6 retryThrottling (https://github.com/grpc/proposal/blob/master/A6-client-retries.md @0070717)",
        parameters: [
            StrategyParameter("max_tokens", .number(min: 1, max: 1000), "10",
                              "Bucket size (A6 has no default; its example uses 10)."),
            StrategyParameter("token_ratio", .number(min: 0.001, max: 1000), "0.1",
                              "Tokens a success returns (A6 example: 0.1)."),
        ]
    ) { (p, _) throws(StrategyError) in
        GRPCRetryThrottle(maxTokens: try p.double("max_tokens"), tokenRatio: try p.double("token_ratio"))
    }
}

extension PercentageRetryBudget {
    static let definition = StrategyDefinition.budget(
        "percentage",
        summary: "Finagle RetryBudget: each new request deposits `percent` of a retry, a retry withdraws "
            + "one, deposits and withdrawals expire after ttl (10 slices), plus a reserve of "
            + "min_retries_per_sec · ttl retries; a retry goes ahead while the balance covers it. Finagle's defaults.",
        mirrors: "Finagle RetryBudget(ttl, minRetriesPerSec, percentCanRetry) "
            + "(https://finagle.github.io/blog/2016/02/08/retry-budgets; RetryBudget scaladoc)",
        parameters: [
            StrategyParameter("ttl", .duration, "10s", "How long a deposit or withdrawal counts, 1–60 s (Finagle: 10 s)."),
            StrategyParameter("min_retries_per_sec", .integer(min: 0, max: 1_000_000), "10",
                              "Reserve, in retries per second of ttl (Finagle: 10)."),
            StrategyParameter("percent", .number(min: 0, max: 1000), "0.2",
                              "Retries allowed per new request (Finagle percentCanRetry: 0.2, i.e. 20 %)."),
        ]
    ) { (p, _) throws(StrategyError) in
        let ttl = try p.double("ttl")
        // Finagle: require(ttl.inSeconds >= 1 && ttl.inSeconds <= 60).
        guard ttl >= 1 && ttl < 61 else {
            throw StrategyError(message: "\(p.owner): ttl must be within 1s...60s (Finagle's bounds)")
        }
        return PercentageRetryBudget(ttl: ttl, minRetriesPerSec: try p.int("min_retries_per_sec"),
                                     percentCanRetry: try p.double("percent"))
    }
}
