public import LimitlabCore
public import LimitlabStats
import Foundation

/// Shared rules of the backoff policies S3–S8.
enum RetryRules {
    /// tenacity's `MAX_WAIT` (sys.maxsize / 2 seconds): the longest wait any policy returns. An
    /// uncapped curve overflows to infinity after enough retries, and a timer at infinity would
    /// leave the request unfinished; tenacity clamps the same way.
    static let maxWait = Double(Int64.max) / 2

    /// The stop and retryability checks every policy makes before computing a wait: non-retryable
    /// outcomes give up at once; after `maxAttempts` attempts in all, give up.
    static func stop(_ outcome: AttemptOutcome, attempt: Int, maxAttempts: Int) -> RetryDecision? {
        guard Retryability.isRetryable(outcome) else { return .giveUp(.notRetryable) }
        return attempt >= maxAttempts ? .giveUp(.attemptsExhausted) : nil
    }

    /// `x` clamped to [0, maxWait]; NaN (0 · ∞) counts as the largest wait.
    static func finite(_ x: Double) -> Double {
        x.isNaN ? maxWait : Swift.min(Swift.max(0, x), maxWait)
    }

    /// `base · multiplier^exponent`, infinity on overflow.
    static func grow(_ base: Double, _ multiplier: Double, _ exponent: Int) -> Double {
        base * pow(multiplier, Double(exponent))
    }
}

/// S3: exponential backoff without jitter, as tenacity's `wait_exponential`:
/// `clamp(base · multiplier^(n−1), min, cap)` after failed attempt n (tenacity counts
/// `attempt_number` from 1). The AWS blog's "Exponential" `min(cap, b · 2^n)` is `base = 2b`.
public struct ExponentialBackoffPolicy: BackoffCurvePolicy {
    public let base: Double
    public let multiplier: Double
    public let minimum: Double
    public let cap: Double
    public let maxAttempts: Int

    public init(base: Double = 1, multiplier: Double = 2, minimum: Double = 0, cap: Double = .infinity,
                maxAttempts: Int) {
        self.base = base; self.multiplier = multiplier; self.minimum = minimum; self.cap = cap
        self.maxAttempts = maxAttempts
    }

    /// The wait after failed attempt `attempt` (1-based), ignoring the stop rules.
    public func backoff(attempt: Int) -> Double {
        // tenacity: max(max(0, min), min(value, max)) — the floor wins over the cap.
        let value = RetryRules.grow(base, multiplier, attempt - 1)
        return RetryRules.finite(Swift.max(minimum, Swift.min(value, cap)))
    }

}

/// S4: the AWS blog's Full Jitter, `U(0, min(cap, base · 2^n))` with n = failures so far (the
/// blog's simulator sleeps first with n = 1, so the first bound is 2·base).
public struct FullJitterPolicy: BackoffCurvePolicy {
    public let base: Double
    public let cap: Double
    public let maxAttempts: Int
    private let random: RandomSource

    public init(base: Double, cap: Double, maxAttempts: Int, random: RandomSource) {
        self.base = base; self.cap = cap; self.maxAttempts = maxAttempts; self.random = random
    }

    /// The upper bound of the sleep after failure `attempt`: `min(cap, base · 2^attempt)`.
    public func ceiling(attempt: Int) -> Double {
        RetryRules.finite(Swift.min(cap, RetryRules.grow(base, 2, attempt)))
    }

    /// A sleep after failure `attempt`, ignoring the stop rules.
    public func backoff(attempt: Int) -> Double { ceiling(attempt: attempt) * random.uniform() }

}

/// S5: the AWS blog's Equal Jitter, `v/2 + U(0, v/2)` with `v = min(cap, base · 2^n)` and
/// n = failures so far.
public struct EqualJitterPolicy: BackoffCurvePolicy {
    public let base: Double
    public let cap: Double
    public let maxAttempts: Int
    private let random: RandomSource

    public init(base: Double, cap: Double, maxAttempts: Int, random: RandomSource) {
        self.base = base; self.cap = cap; self.maxAttempts = maxAttempts; self.random = random
    }

    /// `v = min(cap, base · 2^attempt)`: the sleep lies in [v/2, v).
    public func ceiling(attempt: Int) -> Double {
        RetryRules.finite(Swift.min(cap, RetryRules.grow(base, 2, attempt)))
    }

    public func backoff(attempt: Int) -> Double {
        let v = ceiling(attempt: attempt)
        return v / 2 + (v / 2) * random.uniform()
    }

}

/// S6: the AWS blog's Decorrelated Jitter, `sleep = min(cap, U(base, multiplier · sleep_prev))`
/// with `sleep_0 = base`.
///
/// In the blog's simulator each client owns one backoff object and makes one request, so the
/// chain is per request. Here one policy serves every request of a strategy and `decide` is not
/// told which request failed, so a shared chain would mix requests. Instead each decision draws
/// the chain afresh from `sleep_0` up to the failed attempt: the k-th retry's sleep has exactly
/// the distribution the blog's chain gives it, while one request's successive sleeps are drawn
/// independently rather than from each other. Cost: `attempt` draws per decision.
public struct DecorrelatedJitterPolicy: BackoffCurvePolicy {
    public let base: Double
    public let cap: Double
    public let multiplier: Double
    public let maxAttempts: Int
    private let random: RandomSource

    public init(base: Double, cap: Double, multiplier: Double = 3, maxAttempts: Int, random: RandomSource) {
        self.base = base; self.cap = cap; self.multiplier = multiplier; self.maxAttempts = maxAttempts
        self.random = random
    }

    /// One step of the chain: `min(cap, U(base, multiplier · previous))`.
    public func step(previous: Double) -> Double {
        let high = multiplier * previous
        return RetryRules.finite(Swift.min(cap, base + (high - base) * random.uniform()))
    }

    /// A sleep after failure `attempt`: the chain's `attempt`-th value, drawn from `sleep_0 = base`.
    public func backoff(attempt: Int) -> Double {
        var sleep = base
        for _ in 0..<Swift.max(1, attempt) { sleep = step(previous: sleep) }
        return sleep
    }

}

/// S7: tenacity's `wait_exponential_jitter`:
/// `clamp(base · multiplier^(n−1) + U(0, jitter), min, cap)` after failed attempt n; on overflow
/// the cap (tenacity catches `OverflowError` and returns `max`).
public struct TenacityJitterPolicy: BackoffCurvePolicy {
    public let base: Double
    public let multiplier: Double
    public let jitter: Double
    public let minimum: Double
    public let cap: Double
    public let maxAttempts: Int
    private let random: RandomSource

    public init(base: Double = 1, multiplier: Double = 2, jitter: Double = 1, minimum: Double = 0,
                cap: Double = .infinity, maxAttempts: Int, random: RandomSource) {
        self.base = base; self.multiplier = multiplier; self.jitter = jitter; self.minimum = minimum
        self.cap = cap; self.maxAttempts = maxAttempts; self.random = random
    }

    public func backoff(attempt: Int) -> Double {
        let noise = jitter * random.uniform()
        let grown = RetryRules.grow(base, multiplier, attempt - 1)
        let value = grown.isFinite ? grown + noise : cap
        return RetryRules.finite(Swift.max(minimum, Swift.min(value, cap)))
    }

}

/// S8: exponential backoff scaled by a random factor, in two libraries' arithmetic (both in
/// whole milliseconds, as the libraries compute them).
///
/// - p-retry 7.0.0: `round(R · max(minTimeout, 1) · factor^(n−1))` ms, then `min(…, maxTimeout)`,
///   with R = 1, or U[1, 2) when `randomize` is on.
/// - resilience4j `IntervalFunction.ofExponentialRandomBackoff`: `x_1 = initial`,
///   `x_(k+1) = trunc(x_k · multiplier)`; then `trunc(U[x(1−f), x(1+f)))`; then `min(…, max)`.
public struct MultiplicativeRandomPolicy: BackoffCurvePolicy {
    public enum Flavour: String, Sendable, CaseIterable {
        case pRetry = "p-retry"
        case resilience4j
    }

    public let flavour: Flavour
    /// First sleep, seconds (p-retry `minTimeout`, resilience4j `initialInterval`).
    public let base: Double
    public let factor: Double
    /// p-retry `randomize`: multiply by U[1, 2).
    public let randomize: Bool
    /// resilience4j `randomizationFactor` f.
    public let randomizationFactor: Double
    public let cap: Double
    public let maxAttempts: Int
    private let random: RandomSource

    public init(flavour: Flavour, base: Double, factor: Double, randomize: Bool = false,
                randomizationFactor: Double = 0.5, cap: Double = .infinity, maxAttempts: Int, random: RandomSource) {
        self.flavour = flavour; self.base = base; self.factor = factor; self.randomize = randomize
        self.randomizationFactor = randomizationFactor; self.cap = cap; self.maxAttempts = maxAttempts
        self.random = random
    }

    /// The sleep after failed attempt `attempt` (1-based), seconds, ignoring the stop rules.
    public func backoff(attempt: Int) -> Double {
        let ms: Double
        switch flavour {
        case .pRetry:
            let r = randomize ? 1 + random.uniform() : 1
            // JavaScript Math.round: halves round up.
            ms = (r * Swift.max(base * 1000, 1) * pow(factor, Double(attempt - 1)) + 0.5).rounded(.down)
        case .resilience4j:
            // LongStream.iterate(initial, x -> (long)(x * multiplier)).skip(attempt - 1).
            var x = (base * 1000).rounded(.towardZero)
            var k = 1
            while k < attempt && x.isFinite && x < RetryRules.maxWait * 1000 {
                x = (x * factor).rounded(.towardZero)
                k += 1
            }
            let f = randomizationFactor
            let low = x - f * x, high = x + f * x
            ms = (low + random.uniform() * (high - low)).rounded(.towardZero)
        }
        return RetryRules.finite(Swift.min(ms / 1000, cap))
    }

}

/// A retry policy defined by its backoff curve and an attempt limit: stop on the shared rules
/// (not retryable, attempts exhausted), else wait `backoff(attempt:)`.
public protocol BackoffCurvePolicy: RetryPolicy {
    var maxAttempts: Int { get }
    /// The wait after failed attempt `attempt` (1-based), ignoring the stop rules.
    func backoff(attempt: Int) -> Double
}

extension BackoffCurvePolicy {
    public mutating func decide(after outcome: AttemptOutcome, attempt: Int, now: Double) -> RetryDecision {
        if let stop = RetryRules.stop(outcome, attempt: attempt, maxAttempts: maxAttempts) { return stop }
        return .wait(backoff(attempt: attempt))
    }
}
