public import LimitlabCore
public import LimitlabStats

/// S9: a wrapper that lets the server's `retry-after` override an inner backoff policy.
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
