public import LimitlabCore
public import LimitlabStats

/// What a retry policy decides after a failed attempt.
public enum RetryDecision: Sendable, Equatable {
    /// Retry after this many seconds.
    case wait(Double)
    case giveUp(GiveUpReason)
}

/// The control: send each request at its arrival and never retry — the control every strategy is
/// measured against.
public struct NoRetryStrategy: ClientStrategy {
    private var due: [StrategyCommand] = []

    public init() {}

    public mutating func arrived(_ request: PendingRequest, now: Double) {
        due.append(.send(request: request.id, readyAt: now))
    }

    public mutating func finished(_ request: PendingRequest, attempt: Int, outcome: AttemptOutcome, now: Double) {
        if !outcome.succeeded { due.append(.giveUp(request: request.id, reason: .noRetry)) }
    }

    public mutating func poll(now: Double, into commands: inout [StrategyCommand]) {
        commands.append(contentsOf: due)
        due.removeAll(keepingCapacity: true)
    }

    public var nextWakeup: Double? { nil }
    public var readsRateLimitHeaders: Bool { false }
}

/// The `sdk-default` retry as a policy: the official SDKs' built-in retry, faithful to the cited versions.
///
/// - Retry when `x-should-retry` says true; never when it says false; otherwise on 408, 409,
///   429, any status ≥ 500 (so 529), and on connection errors and timeouts.
/// - Wait: a usable `retry-after` exactly (no jitter), else
///   `min(initial · 2^n, max) · (1 − 0.25·U)` with n = retries already taken, U ∈ [0, 1).
/// - `retry-after` use by variant:
///   - python: anthropic-sdk-python 2.17.0 (the current release on PyPI), any v > 0, capped at
///     4,294,967 s (`_calculate_retry_timeout` in `src/anthropic/_base_client.py`,
///     https://github.com/anthropics/anthropic-sdk-python);
///   - python-0.121.0: the release this preset first mirrored, only when 0 < v ≤ 60 s (longer
///     hints fall back to the backoff);
///   - typescript (anthropic-sdk-typescript ≥ 0.79): any value;
///   - openai-python (3.3.1): when 0 < v ≤ 120 s, and above 120 s it does not retry at all.
public struct SDKRetryPolicy: RetryPolicy {
    public enum Variant: String, Sendable, CaseIterable {
        case python
        case python0121 = "python-0.121.0"
        case typescript
        case openaiPython = "openai-python"
    }

    public let variant: Variant
    public let maxRetries: Int
    public let initialDelay: Double
    public let maxDelay: Double
    private let random: RandomSource

    public init(variant: Variant = .python, maxRetries: Int = 2, initialDelay: Double = 0.5, maxDelay: Double = 8,
                random: RandomSource) {
        self.variant = variant
        self.maxRetries = maxRetries
        self.initialDelay = initialDelay
        self.maxDelay = maxDelay
        self.random = random
    }

    /// Whether the SDK retries this outcome at all (before counting retries).
    public static func isRetryable(_ outcome: AttemptOutcome) -> Bool { Retryability.isRetryable(outcome) }

    /// The SDK's backoff without a usable server hint, for retry number `retriesTaken` (0-based).
    public func backoff(retriesTaken: Int) -> Double {
        let base = Swift.min(initialDelay * Double(1 << Swift.min(retriesTaken, 52)), maxDelay)
        return base * (1 - 0.25 * random.uniform())
    }

    /// The delay before the next attempt, or a reason to stop (retry limit not considered).
    public func delay(after outcome: AttemptOutcome, retriesTaken: Int) -> RetryDecision {
        if let hint = outcome.retryAfter {
            switch variant {
            case .python:
                // `time.sleep` raises above a platform limit, so the SDK waits at most 2^32 ms.
                if hint > 0 { return .wait(Swift.min(hint, 4_294_967)) }
            case .python0121:
                if hint > 0 && hint <= 60 { return .wait(hint) }
            case .typescript:
                if hint >= 0 { return .wait(hint) }
            case .openaiPython:
                if hint > 120 { return .giveUp(.retryAfterTooLong) }
                if hint > 0 { return .wait(hint) }
            }
        }
        return .wait(backoff(retriesTaken: retriesTaken))
    }

    public mutating func decide(after outcome: AttemptOutcome, attempt: Int, now: Double) -> RetryDecision {
        guard Self.isRetryable(outcome) else { return .giveUp(.notRetryable) }
        let retriesTaken = attempt - 1
        guard retriesTaken < maxRetries else { return .giveUp(.attemptsExhausted) }
        return delay(after: outcome, retriesTaken: retriesTaken)
    }
}

/// The control's retry policy: never.
public struct NoRetryPolicy: RetryPolicy {
    public init() {}
    public mutating func decide(after outcome: AttemptOutcome, attempt: Int, now: Double) -> RetryDecision {
        .giveUp(.noRetry)
    }
}

/// Retry at once, up to `maxAttempts` attempts in all (AWS's "no backoff" line), on the
/// outcomes the SDKs retry.
public struct ImmediateRetryPolicy: RetryPolicy {
    public let maxAttempts: Int
    public init(maxAttempts: Int) { self.maxAttempts = maxAttempts }
    public mutating func decide(after outcome: AttemptOutcome, attempt: Int, now: Double) -> RetryDecision {
        guard Retryability.isRetryable(outcome) else { return .giveUp(.notRetryable) }
        return attempt < maxAttempts ? .wait(0) : .giveUp(.attemptsExhausted)
    }
}

/// `sdk-default` on its own: the SDK retry loop with no limiter in front (a fast path of
/// `PipelineStrategy` with only `SDKRetryPolicy`).
public struct SDKDefaultStrategy: ClientStrategy {
    public typealias Variant = SDKRetryPolicy.Variant
    public private(set) var policy: SDKRetryPolicy
    private var timers = RetryTimers()
    private var due: [StrategyCommand] = []

    public var variant: Variant { policy.variant }
    public var maxRetries: Int { policy.maxRetries }
    public var initialDelay: Double { policy.initialDelay }
    public var maxDelay: Double { policy.maxDelay }

    public init(variant: Variant = .python, maxRetries: Int = 2, initialDelay: Double = 0.5, maxDelay: Double = 8,
                random: RandomSource) {
        policy = SDKRetryPolicy(variant: variant, maxRetries: maxRetries, initialDelay: initialDelay,
                                maxDelay: maxDelay, random: random)
    }

    public static func isRetryable(_ outcome: AttemptOutcome) -> Bool { SDKRetryPolicy.isRetryable(outcome) }
    public func backoff(retriesTaken: Int) -> Double { policy.backoff(retriesTaken: retriesTaken) }
    public func delay(after outcome: AttemptOutcome, retriesTaken: Int) -> RetryDecision {
        policy.delay(after: outcome, retriesTaken: retriesTaken)
    }

    public mutating func arrived(_ request: PendingRequest, now: Double) {
        due.append(.send(request: request.id, readyAt: now))
    }

    public mutating func finished(_ request: PendingRequest, attempt: Int, outcome: AttemptOutcome, now: Double) {
        if outcome.succeeded { return }
        switch policy.decide(after: outcome, attempt: attempt, now: now) {
        case .wait(let wait): timers.schedule(request.id, at: now + wait)
        case .giveUp(let reason): due.append(.giveUp(request: request.id, reason: reason))
        }
    }

    public mutating func poll(now: Double, into commands: inout [StrategyCommand]) {
        commands.append(contentsOf: due)
        due.removeAll(keepingCapacity: true)
        timers.emitDue(now: now, into: &commands)
    }

    public var nextWakeup: Double? { timers.next }
    /// The SDKs read `retry-after` and `x-should-retry`, never the `anthropic-ratelimit-*` set.
    public var readsRateLimitHeaders: Bool { false }
}

extension SDKRetryPolicy {
    /// The policy as a complete strategy with no limiter in front.
    func asStrategy() -> SDKDefaultStrategy { SDKDefaultStrategy(wrapping: self) }
}

extension SDKDefaultStrategy {
    init(wrapping policy: SDKRetryPolicy) {
        self.policy = policy
    }
}

// MARK: - Registry entries

extension SDKRetryPolicy {
    /// The parameters of `sdk-default`, as a strategy and as a retry policy.
    static let parameters: [StrategyParameter] = [
        StrategyParameter("variant", .choice(Variant.allCases.map(\.rawValue)), "python",
                          "python (anthropic 2.17.0): retry-after used when > 0 s; python-0.121.0: only when "
                            + "0 < v ≤ 60 s; typescript: any value; openai-python: used when ≤ 120 s, give up above."),
        StrategyParameter("max_retries", .integer(min: 0, max: 100), "2", "Retries after the first attempt."),
        StrategyParameter("initial_delay", .duration, "500ms", "Backoff base: the first retry waits this × (0.75, 1]."),
        StrategyParameter("max_delay", .duration, "8s", "Backoff cap."),
    ]

    init(_ p: Params, _ context: StrategyContext) throws(StrategyError) {
        let variantName = try p.string("variant")
        guard let variant = Variant(rawValue: variantName) else {
            throw StrategyError(message: "\(p.owner): unknown variant \"\(variantName)\"; expected "
                                + Variant.allCases.map(\.rawValue).joined(separator: ", "))
        }
        self.init(variant: variant, maxRetries: try p.int("max_retries"),
                  initialDelay: try p.double("initial_delay"), maxDelay: try p.double("max_delay"),
                  random: context.random)
    }

    /// `retry: sdk-default`: the SDK's retry behind any limiter.
    static let definition = StrategyDefinition.retry(
        "sdk-default",
        summary: "The official SDK's retry loop (see the sdk-default strategy).",
        mirrors: "anthropic-sdk-python 2.17.0 and 0.121.0 / anthropic-sdk-typescript 0.120.0 / openai-python 3.3.1 "
            + "(https://github.com/anthropics/anthropic-sdk-python, https://github.com/anthropics/anthropic-sdk-typescript, "
            + "https://github.com/openai/openai-python)",
        parameters: parameters
    ) { (p, context) throws(StrategyError) in try SDKRetryPolicy(p, context) }
}

extension NoRetryStrategy {
    static let definition = StrategyDefinition.baseline(
        "none",
        summary: "Send every request at its arrival time and never retry (the control).",
        mirrors: "the control: no client-side strategy",
        retry: { (_, _) throws(StrategyError) in NoRetryPolicy() },
        alone: { (_, _) throws(StrategyError) in NoRetryStrategy() })
}

extension NoRetryPolicy {
    static let definition = StrategyDefinition.retry(
        "none", summary: "Never retry.", mirrors: "the control: no client-side strategy", parameters: []
    ) { (_, _) throws(StrategyError) in NoRetryPolicy() }
}

extension ImmediateRetryPolicy {
    static let parameters = [
        StrategyParameter("max_attempts", .integer(min: 1, max: 1000), "3", "Attempts in all, the first included."),
    ]

    /// The `immediate-retry` strategy: this policy with nothing in front.
    static let baselineDefinition = StrategyDefinition.baseline(
        "immediate-retry",
        summary: "Send at arrival; retry retryable failures at once, with no wait.",
        mirrors: "the \"no backoff\" line of the AWS Architecture Blog's \"Exponential Backoff And Jitter\" "
            + "(Brooker 2015, https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/)",
        parameters: parameters,
        retry: { (p, _) throws(StrategyError) in ImmediateRetryPolicy(maxAttempts: try p.int("max_attempts")) })

    static let definition = StrategyDefinition.retry(
        "immediate",
        summary: "Retry retryable failures at once, with no wait.",
        mirrors: "the \"no backoff\" line of the AWS Architecture Blog's \"Exponential Backoff And Jitter\" "
            + "(Brooker 2015, https://aws.amazon.com/blogs/architecture/exponential-backoff-and-jitter/)",
        parameters: parameters
    ) { (p, _) throws(StrategyError) in ImmediateRetryPolicy(maxAttempts: try p.int("max_attempts")) }
}

extension SDKDefaultStrategy {
    static let definition = StrategyDefinition.baseline(
        "sdk-default",
        summary: "The official SDK's built-in retry: 2 retries, min(0.5·2^n, 8) s × (1 − 0.25·U), "
            + "retry on 408/409/429/5xx unless x-should-retry says otherwise; retry-after honoured per variant.",
        mirrors: "anthropic-sdk-python 2.17.0 (python) and 0.121.0 (python-0.121.0), "
            + "https://github.com/anthropics/anthropic-sdk-python; "
            + "anthropic-sdk-typescript 0.120.0 (typescript, https://github.com/anthropics/anthropic-sdk-typescript), "
            + "openai-python 3.3.1 (openai-python, https://github.com/openai/openai-python)",
        parameters: SDKRetryPolicy.parameters,
        retry: { (p, context) throws(StrategyError) in try SDKRetryPolicy(p, context) },
        alone: { (p, context) throws(StrategyError) in SDKDefaultStrategy(policy: try SDKRetryPolicy(p, context)) })
}
