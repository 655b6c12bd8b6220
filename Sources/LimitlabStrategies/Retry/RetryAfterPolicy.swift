public import LimitlabCore
public import LimitlabStats

/// A wrapper that lets the server's `retry-after` override an inner backoff policy.
///
/// The inner policy decides first, so retryability and `max_attempts` are its own. When it would
/// wait `b` and the outcome carries a usable hint `h` (0 < h ≤ `maxHonored`, the SDKs' rule; a
/// zero hint carries no information and is treated as absent, as anthropic-sdk-python does):
/// - `ignore`: `b` (the hint is not read at all, so it never gives up for a long one);
/// - `exact`: `h` (anthropic-sdk-python / -typescript, openai-python);
/// - `exactJitter`: `h + U(0, jitter)` (analysis: spreads clients that got the same hint);
/// - `max`: `max(h, b)` (the AWS SDK standard mode).
/// A hint above `maxHonored` falls back to `b` (anthropic-sdk-python above 60 s), or gives up
/// with `retryAfterTooLong` when `giveUpAbove` (openai-python above 120 s).
public struct RetryAfterPolicy: RetryPolicy {
    public enum Mode: String, Sendable, CaseIterable {
        case ignore
        case exact
        case exactJitter = "exact+jitter"
        case max
    }

    public var inner: any RetryPolicy
    public let mode: Mode
    public let jitter: Double
    public let maxHonored: Double
    public let giveUpAbove: Bool
    private let random: RandomSource

    public init(inner: any RetryPolicy, mode: Mode, jitter: Double = 1, maxHonored: Double = 60,
                giveUpAbove: Bool = false, random: RandomSource) {
        self.inner = inner; self.mode = mode; self.jitter = jitter; self.maxHonored = maxHonored
        self.giveUpAbove = giveUpAbove; self.random = random
    }

    public mutating func decide(after outcome: AttemptOutcome, attempt: Int, now: Double) -> RetryDecision {
        let backoff: Double
        switch inner.decide(after: outcome, attempt: attempt, now: now) {
        case .giveUp(let reason): return .giveUp(reason)
        case .wait(let b): backoff = b
        }
        guard mode != .ignore, let hint = outcome.retryAfter, hint > 0 else { return .wait(backoff) }
        if hint > maxHonored { return giveUpAbove ? .giveUp(.retryAfterTooLong) : .wait(backoff) }
        switch mode {
        case .ignore: return .wait(backoff)
        case .exact: return .wait(hint)
        case .exactJitter: return .wait(hint + jitter * random.uniform())
        case .max: return .wait(Swift.max(hint, backoff))
        }
    }
}

extension RetryAfterPolicy {
    static let definition = StrategyDefinition.retry(
        "retry-after",
        summary: "Wraps a backoff policy and uses the server's retry-after when 0 < v ≤ max_honored: "
            + "ignore it, sleep it exactly, sleep it + U(0, jitter), or max(hint, backoff). Above max_honored "
            + "fall back to the backoff (anthropic-sdk-python, 60 s) or give up (openai-python, 120 s). "
            + "The inner policy decides retryability and max_attempts.",
        mirrors: "anthropic-sdk-python 0.121.0 (exact, ≤ 60 s), openai-python 3.3.1 (≤ 120 s else give up), "
            + "AWS SDK standard mode max(hint, backoff) "
            + "(https://docs.aws.amazon.com/sdkref/latest/guide/feature-retry-behavior.html)",
        parameters: [
            StrategyParameter("backoff",
                              .choice(["exponential", "full-jitter", "equal-jitter", "decorrelated-jitter",
                                       "tenacity", "multiplicative-random"]),
                              "full-jitter", "The policy used without a usable hint; its other parameters keep their defaults."),
            StrategyParameter("mode", .choice(["ignore", "exact", "exact+jitter", "max"]), "exact",
                              "How a usable hint is used (exact: the Anthropic SDKs; max: the AWS SDK)."),
            StrategyParameter("jitter", .duration, "1s",
                              "exact+jitter: the U(0, jitter) added to the hint (limitlab's default)."),
            StrategyParameter("max_honored", .duration, "60s",
                              "Largest hint used (anthropic-sdk-python 60 s; openai-python 120 s)."),
            StrategyParameter("give_up_above", .bool, "false",
                              "Above max_honored, give up (retry_after_too_long) instead of backing off "
                                + "(openai-python: true)."),
            StrategyParameter("base", .duration, "none", "Passed to the backoff policy; unset: its default."),
            StrategyParameter("cap", .duration, "none", "Passed to the backoff policy; unset: its default."),
            StrategyParameter("max_attempts", .integer(min: 1, max: 1000), "none",
                              "Passed to the backoff policy; unset: its default."),
        ]
    ) { (p, context) throws(StrategyError) in
        try RetryAfterPolicy(p, context)
    }

    /// The inner policy gets only the `base`, `cap` and `max_attempts` the scenario gave.
    init(_ p: Params, _ context: StrategyContext) throws(StrategyError) {
        let innerName = try p.string("backoff")
        guard case .choice(let backoffs)? = p.descriptor?.parameter("backoff")?.kind, backoffs.contains(innerName) else {
            throw StrategyError(message: "\(p.owner): backoff \"\(innerName)\" is not a backoff policy")
        }
        var innerParams: [String: ParamValue] = [:]
        for key in ["base", "cap", "max_attempts"] {
            if let v = p.values[key] { innerParams[key] = v }
        }
        let inner = try StrategyFactory.retryPolicy(RoleSpec(name: innerName, params: innerParams), context: context)
        let modeName = try p.string("mode")
        guard let mode = Mode(rawValue: modeName) else {
            throw StrategyError(message: "\(p.owner): unknown mode \"\(modeName)\"; expected "
                                + Mode.allCases.map(\.rawValue).joined(separator: ", "))
        }
        self.init(inner: inner, mode: mode, jitter: try p.double("jitter"),
                  maxHonored: try p.optionalDouble("max_honored") ?? .infinity,
                  giveUpAbove: try p.bool("give_up_above"), random: context.random)
    }
}
