public import LimitlabCore
import LimitlabStats

/// What an admission policy says about the request at the head of the queue.
public enum AdmissionAnswer: Sendable, Equatable {
    /// Send it now (the caller then calls `sent`).
    case now
    /// Not before this time; ask again then (head-of-line: the queue waits behind it).
    case at(Double)
    /// Refuse it locally.
    case reject(DropReason)
}

/// Pre-send limiter: may the request at the head of the queue go now, or when?
/// Pure state machine: never reads a clock; `now` never decreases between calls.
public protocol AdmissionPolicy {
    /// Asks about `request` (attempt number `attempt`, 1-based) without changing state.
    mutating func ask(_ request: PendingRequest, attempt: Int, now: Double) -> AdmissionAnswer
    /// The same, from a queue that drops the request at `deadline` (∞: never): a limiter that
    /// reserves future capacity (the shared limiters) reserves only a slot before it, so that
    /// `.at(slot)` always has `slot < deadline`. The default ignores the deadline.
    mutating func ask(_ request: PendingRequest, attempt: Int, now: Double, deadline: Double) -> AdmissionAnswer
    /// The queue dropped `request` (its deadline passed) after asking about it, without sending
    /// it: release whatever `ask` holds for it (a reservation). The default does nothing.
    mutating func abandoned(_ request: PendingRequest, attempt: Int, now: Double)
    /// The request was sent at `now`: take its cost.
    mutating func sent(_ request: PendingRequest, attempt: Int, now: Double)
    /// An attempt finished: settle charges made after the fact (output tokens) and learn from
    /// the response (headers, 429s).
    mutating func finished(_ request: PendingRequest, attempt: Int, outcome: AttemptOutcome, now: Double)
    /// Whether `finished` reads `outcome.rateLimits`.
    var readsRateLimitHeaders: Bool { get }
    /// Whether the latest decision about `request` was a fallback's (shared limiters whose
    /// store failed); see `ClientStrategy.viaFallback`.
    func viaFallback(_ request: Int32) -> Bool
    /// The role's state at `now` (names relative to the role; the pipeline prefixes them);
    /// pure, never reads a clock. Default: none. The names are listed in docs/strategies.md.
    func stateGauges(now: Double) -> [StateGauge]
}

extension AdmissionPolicy {
    public mutating func ask(_ request: PendingRequest, attempt: Int, now: Double, deadline: Double) -> AdmissionAnswer {
        ask(request, attempt: attempt, now: now)
    }
    public mutating func abandoned(_ request: PendingRequest, attempt: Int, now: Double) {}
    public mutating func finished(_ request: PendingRequest, attempt: Int, outcome: AttemptOutcome, now: Double) {}
    public var readsRateLimitHeaders: Bool { false }
    public func viaFallback(_ request: Int32) -> Bool { false }
    public func stateGauges(now: Double) -> [StateGauge] { [] }
}

/// In-flight limit, possibly adaptive.
public protocol ConcurrencyPolicy {
    /// The current limit on attempts in flight (≥ 1).
    var limit: Int { get }
    /// An attempt finished; `inFlight` counts it as still in flight.
    mutating func finished(outcome: AttemptOutcome, inFlight: Int, now: Double)
}

/// Per-request retry decision after a failed attempt.
public protocol RetryPolicy {
    /// After attempt `attempt` (1-based) failed with `outcome`: wait, or give up.
    mutating func decide(after outcome: AttemptOutcome, attempt: Int, now: Double) -> RetryDecision
}

/// Cross-request retry budget: is a retry affordable right now?
public protocol RetryBudget {
    /// Every attempt, when it is sent.
    mutating func attemptSent(isRetry: Bool, now: Double)
    /// Every attempt, when it ends.
    mutating func attemptFinished(_ outcome: AttemptOutcome, now: Double)
    /// Asked before scheduling a retry; `true` means the retry goes ahead (and is charged).
    mutating func allowRetry(now: Double) -> Bool
    /// The role's state at `now` (names relative to the role; the pipeline prefixes them);
    /// pure, never reads a clock. Default: none. The names are listed in docs/strategies.md.
    func stateGauges(now: Double) -> [StateGauge]
}

extension RetryBudget {
    public func stateGauges(now: Double) -> [StateGauge] { [] }
}

/// Local probabilistic rejection of new requests (client-side throttling).
public protocol LoadShedder {
    /// Whether to reject a new request arriving at `now`.
    mutating func shouldReject(now: Double) -> Bool
    /// Every attempt's result: `accepted` is false for a 429 or 529 (the backend refused).
    mutating func record(accepted: Bool, now: Double)
    /// The role's state at `now` (names relative to the role; the pipeline prefixes them);
    /// pure, never reads a clock. Default: none. The names are listed in docs/strategies.md.
    func stateGauges(now: Double) -> [StateGauge]
}

extension LoadShedder {
    public func stateGauges(now: Double) -> [StateGauge] { [] }
}

/// Failure classification shared by the retry policies: which outcomes are worth retrying at
/// all. Mirrors the official SDKs: `x-should-retry` wins; else 408, 409, 429, ≥ 500 and
/// connection errors and timeouts.
public enum Retryability {
    public static func isRetryable(_ outcome: AttemptOutcome) -> Bool {
        if let header = outcome.shouldRetry { return header }
        switch outcome.status {
        case 0: return outcome.error == .connection || outcome.error == .timeout
        case 408, 409, 429: return true
        default: return outcome.status >= 500
        }
    }

    /// Whether the backend refused for load (429 or 529): the signal adaptive policies react to.
    public static func isThrottled(_ outcome: AttemptOutcome) -> Bool {
        outcome.status == 429 || outcome.status == 529 || outcome.error == .rateLimited || outcome.error == .overloaded
    }
}
