public import LimitlabCore
public import LimitlabStats
import Foundation

/// Shared rules of the backoff-curve retry policies (exponential … multiplicative-random).
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

/// Exponential backoff without jitter, as tenacity's `wait_exponential`:
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

/// The AWS blog's Full Jitter, `U(0, min(cap, base · 2^n))` with n = failures so far (the
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

/// The AWS blog's Equal Jitter, `v/2 + U(0, v/2)` with `v = min(cap, base · 2^n)` and
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

/// The AWS blog's Decorrelated Jitter, `sleep = min(cap, U(base, multiplier · sleep_prev))`
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

/// tenacity's `wait_exponential_jitter`:
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

/// Exponential backoff scaled by a random factor, in two libraries' arithmetic (both in
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

extension RetryRules {
    static let maxAttemptsSummary = "Attempts in all, the first included; then give up (attempts_exhausted)."

    /// The AWS blog's policies count `attempt` = failures so far, so the first retry uses 2^1.
    static let blogParameters: [StrategyParameter] = [
        StrategyParameter("base", .duration, "500ms",
                          "Backoff base b (limitlab's default: the AWS SDK standard mode's throttling base; "
                            + "the blog's simulation used 5 ms)."),
        StrategyParameter("cap", .duration, "20s",
                          "Largest sleep (limitlab's default: the AWS SDK's 20 s; the blog's simulation used 2 s)."),
        StrategyParameter("max_attempts", .integer(min: 1, max: 1000), "3",
                          maxAttemptsSummary + " limitlab's default (the AWS SDK's 3); the blog retries until success."),
    ]

    /// tenacity's clamp (min, max) and the harness stop rule, shared by the tenacity-style curves.
    static let tenacityClampAndStop: [StrategyParameter] = [
        StrategyParameter("min", .duration, "0s", "Smallest sleep (tenacity min)."),
        StrategyParameter("cap", .duration, "none",
                          "Largest sleep (tenacity max); unset: tenacity's MAX_WAIT (sys.maxsize/2 s)."),
        StrategyParameter("max_attempts", .integer(min: 1, max: 1000), "3",
                          maxAttemptsSummary + " limitlab's default; tenacity's own default is stop_never."),
    ]
}

extension ExponentialBackoffPolicy {
    static let definition = StrategyDefinition.retry(
        "exponential",
        summary: "Exponential backoff without jitter, tenacity wait_exponential: "
            + "clamp(base · multiplier^(n−1), min, cap) after failed attempt n (1 s, 2 s, 4 s, … by default). "
            + "The AWS blog's \"Exponential\" min(cap, b·2^n) is base = 2b. Retries retryable failures only.",
        mirrors: "tenacity 9.1.4 wait_exponential (https://github.com/jd/tenacity @c650fb4); the AWS Architecture Blog's \"Exponential\" "
            + "(https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/)",
        parameters: [
            StrategyParameter("base", .duration, "1s", "tenacity multiplier: the first sleep."),
            StrategyParameter("multiplier", .number(min: 1, max: .infinity), "2", "tenacity exp_base."),
        ] + RetryRules.tenacityClampAndStop
    ) { (p, _) throws(StrategyError) in
        ExponentialBackoffPolicy(base: try p.double("base"), multiplier: try p.double("multiplier"),
                                 minimum: try p.double("min"), cap: try p.optionalDouble("cap") ?? .infinity,
                                 maxAttempts: try p.int("max_attempts"))
    }
}

extension FullJitterPolicy {
    static let definition = StrategyDefinition.retry(
        "full-jitter",
        summary: "AWS blog Full Jitter: sleep U(0, min(cap, base · 2^n)) after failure n (n = 1 first), "
            + "on retryable failures.",
        mirrors: "AWS Architecture Blog \"Exponential Backoff And Jitter\" (Brooker 2015, "
            + "https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/); its simulator's ExpoBackoffFullJitter "
            + "(https://github.com/aws-samples/aws-arch-backoff-simulator @66cb169)",
        parameters: RetryRules.blogParameters
    ) { (p, context) throws(StrategyError) in
        FullJitterPolicy(base: try p.double("base"), cap: try p.double("cap"),
                         maxAttempts: try p.int("max_attempts"), random: context.random)
    }
}

extension EqualJitterPolicy {
    static let definition = StrategyDefinition.retry(
        "equal-jitter",
        summary: "AWS blog Equal Jitter: v/2 + U(0, v/2) with v = min(cap, base · 2^n) after failure n "
            + "(n = 1 first), on retryable failures.",
        mirrors: "AWS Architecture Blog \"Exponential Backoff And Jitter\" (Brooker 2015, "
            + "https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/); its simulator's ExpoBackoffEqualJitter "
            + "(https://github.com/aws-samples/aws-arch-backoff-simulator @66cb169)",
        parameters: RetryRules.blogParameters
    ) { (p, context) throws(StrategyError) in
        EqualJitterPolicy(base: try p.double("base"), cap: try p.double("cap"),
                          maxAttempts: try p.int("max_attempts"), random: context.random)
    }
}

extension DecorrelatedJitterPolicy {
    static let definition = StrategyDefinition.retry(
        "decorrelated-jitter",
        summary: "AWS blog Decorrelated Jitter: sleep_k = min(cap, U(base, multiplier · sleep_(k−1))), sleep_0 = base, "
            + "on retryable failures. The policy serves all requests and is not told which one failed, so each "
            + "decision re-draws the chain from sleep_0: the k-th retry's sleep has the chain's distribution, "
            + "but one request's successive sleeps are drawn independently.",
        mirrors: "AWS Architecture Blog \"Exponential Backoff And Jitter\" (Brooker 2015, "
            + "https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/); its simulator's ExpoBackoffDecorr "
            + "(https://github.com/aws-samples/aws-arch-backoff-simulator @66cb169)",
        parameters: [
            RetryRules.blogParameters[0], RetryRules.blogParameters[1],
            StrategyParameter("multiplier", .number(min: 1, max: .infinity), "3",
                              "Upper bound of the next draw as a multiple of the previous sleep (the blog's 3)."),
            RetryRules.blogParameters[2],
        ]
    ) { (p, context) throws(StrategyError) in
        DecorrelatedJitterPolicy(base: try p.double("base"), cap: try p.double("cap"),
                                 multiplier: try p.double("multiplier"),
                                 maxAttempts: try p.int("max_attempts"), random: context.random)
    }
}

extension TenacityJitterPolicy {
    static let definition = StrategyDefinition.retry(
        "tenacity",
        summary: "tenacity wait_exponential_jitter: clamp(base · multiplier^(n−1) + U(0, jitter), min, cap) "
            + "after failed attempt n: 1–2 s, 2–3 s, 4–5 s, … by default. Retries retryable failures only.",
        mirrors: "tenacity 9.1.4 wait_exponential_jitter (https://github.com/jd/tenacity @c650fb4)",
        parameters: [
            StrategyParameter("base", .duration, "1s", "tenacity initial."),
            StrategyParameter("multiplier", .number(min: 1, max: .infinity), "2", "tenacity exp_base."),
            StrategyParameter("jitter", .duration, "1s", "Additive jitter: U(0, jitter) is added before the clamp."),
        ] + RetryRules.tenacityClampAndStop
    ) { (p, context) throws(StrategyError) in
        TenacityJitterPolicy(base: try p.double("base"), multiplier: try p.double("multiplier"),
                             jitter: try p.double("jitter"), minimum: try p.double("min"),
                             cap: try p.optionalDouble("cap") ?? .infinity,
                             maxAttempts: try p.int("max_attempts"), random: context.random)
    }
}

extension MultiplicativeRandomPolicy {
    /// Parameters left unset take their flavour's value from here (scenario text, as registry
    /// defaults), so the listing and the implementation share one table.
    static let flavourDefaults: [Flavour: [String: String]] = [
        .pRetry: ["base": "1000ms", "factor": "2", "max_attempts": "11"],
        .resilience4j: ["base": "500ms", "factor": "1.5", "max_attempts": "3"],
    ]

    static let definition = StrategyDefinition.retry(
        "multiplicative-random",
        summary: "Exponential backoff with a multiplicative random factor, on retryable failures. "
            + "p-retry: round(R · max(base, 1 ms) · factor^(n−1)) ms capped, R = 1, or U[1, 2) with randomize. "
            + "resilience4j: x_1 = base, x_(k+1) = trunc(x_k · factor) ms, then trunc(U[x(1−f), x(1+f))), "
            + "then min(…, cap): 500, 750, 1125 ms ± 50 % by default.",
        mirrors: "p-retry 7.0.0 (https://github.com/sindresorhus/p-retry @e11ca9c); resilience4j IntervalFunction."
            + "ofExponentialRandomBackoff (https://github.com/resilience4j/resilience4j @010b8d2; "
            + "https://resilience4j.readme.io/docs/retry)",
        parameters: [
            StrategyParameter("flavour", .choice(["p-retry", "resilience4j"]), "p-retry",
                              "Which library's curve and defaults."),
            StrategyParameter("base", .duration, "none",
                              "First sleep; unset: the flavour's (p-retry minTimeout 1000 ms, resilience4j 500 ms)."),
            StrategyParameter("factor", .number(min: 1, max: .infinity), "none",
                              "Growth per retry; unset: the flavour's (p-retry 2, resilience4j 1.5)."),
            StrategyParameter("randomize", .bool, "false",
                              "p-retry only: multiply by U[1, 2) (p-retry's default is false: no jitter)."),
            StrategyParameter("randomization_factor", .number(min: 0, max: 1), "0.5",
                              "resilience4j only: f in U[x(1−f), x(1+f)); 0 gives plain exponential backoff."),
            StrategyParameter("cap", .duration, "none",
                              "Largest sleep (p-retry maxTimeout, resilience4j maxInterval); unset: none in either."),
            StrategyParameter("max_attempts", .integer(min: 1, max: 1000), "none",
                              RetryRules.maxAttemptsSummary + " Unset: the flavour's (p-retry retries 10 → 11, resilience4j 3)."),
        ]
    ) { (p, context) throws(StrategyError) in
        try MultiplicativeRandomPolicy(p, context)
    }

    /// Unset `base`, `factor` and `max_attempts` take the flavour's defaults.
    init(_ p: Params, _ context: StrategyContext) throws(StrategyError) {
        let name = try p.string("flavour")
        guard let flavour = Flavour(rawValue: name), let defaults = Self.flavourDefaults[flavour], var fd = p.descriptor
        else {
            throw StrategyError(message: "\(p.owner): unknown flavour \"\(name)\"; expected "
                                + Flavour.allCases.map(\.rawValue).joined(separator: " or "))
        }
        // Each knob belongs to one library; giving the other's is a scenario mistake, not a no-op.
        if flavour == .resilience4j && p.values["randomize"] != nil {
            throw StrategyError(message: "\(p.owner): randomize is p-retry's; resilience4j uses randomization_factor")
        }
        if flavour == .pRetry && p.values["randomization_factor"] != nil {
            throw StrategyError(message: "\(p.owner): randomization_factor is resilience4j's; p-retry uses randomize")
        }
        fd.parameters = fd.parameters.map { q in
            var q = q
            if let v = defaults[q.name] { q.defaultValue = v }
            return q
        }
        let fp = Params(owner: p.owner, values: p.values, descriptor: fd)
        let base = try fp.double("base")
        if flavour == .resilience4j && base < 0.001 {
            throw StrategyError(message: "\(p.owner): resilience4j needs base ≥ 1ms (IntervalFunction rejects shorter)")
        }
        self.init(flavour: flavour, base: base, factor: try fp.double("factor"),
                  randomize: try fp.bool("randomize"),
                  randomizationFactor: try fp.double("randomization_factor"),
                  cap: try fp.optionalDouble("cap") ?? .infinity,
                  maxAttempts: try fp.int("max_attempts"), random: context.random)
    }
}
