/// What a strategy knows about a request when it arrives.
public struct PendingRequest: Sendable, Equatable {
    /// Index of the request in the run (0-based, in arrival order).
    public var id: Int32
    /// Intended arrival time (model seconds).
    public var intendedAt: Double
    /// The cost the client can know before sending (input from its prompt, `max_tokens`).
    public var cost: RequestCost
    /// Whether the request may wait (`workload.deferrable`): a strategy may batch it.
    public var deferrable = false
    public init(id: Int32, intendedAt: Double, cost: RequestCost) {
        self.id = id; self.intendedAt = intendedAt; self.cost = cost
    }
}

/// The kind of error an attempt ended with, as the client can tell it apart.
public enum ErrorKind: UInt8, Sendable, CaseIterable {
    case none = 0
    /// 429 `rate_limit_error`.
    case rateLimited
    /// 529 `overloaded_error` (or an in-stream overload).
    case overloaded
    /// Another 5xx (`api_error`).
    case serverError
    /// Another 4xx.
    case clientError
    case timeout
    case connection

    public var label: String {
        switch self {
        case .none: return "none"
        case .rateLimited: return "rate_limit_error"
        case .overloaded: return "overloaded_error"
        case .serverError: return "api_error"
        case .clientError: return "invalid_request_error"
        case .timeout: return "timeout"
        case .connection: return "connection_error"
        }
    }
}

/// The result of one attempt, with everything the response told the client.
public struct AttemptOutcome: Sendable {
    /// HTTP status (0 when no response arrived).
    public var status: Int
    public var error: ErrorKind
    /// `retry-after`, seconds, when present.
    public var retryAfter: Double?
    /// `x-should-retry`, when present.
    public var shouldRetry: Bool?
    /// The dimensions that refused a 429 (the simulator knows; a live client parses the message).
    public var refusedBy: LimitDimensions
    /// The `anthropic-ratelimit-*` values, when sent.
    public var rateLimits: RateLimitSnapshot?
    public var inputTokens: Int
    public var outputTokens: Int
    public var sentAt: Double
    public var completedAt: Double

    public init(status: Int, error: ErrorKind, retryAfter: Double? = nil, shouldRetry: Bool? = nil,
                refusedBy: LimitDimensions = [], rateLimits: RateLimitSnapshot? = nil,
                inputTokens: Int = 0, outputTokens: Int = 0, sentAt: Double, completedAt: Double) {
        self.status = status; self.error = error; self.retryAfter = retryAfter; self.shouldRetry = shouldRetry
        self.refusedBy = refusedBy; self.rateLimits = rateLimits; self.inputTokens = inputTokens
        self.outputTokens = outputTokens; self.sentAt = sentAt; self.completedAt = completedAt
    }

    public var succeeded: Bool { status >= 200 && status < 300 && error == .none }
}

/// Why a strategy stopped trying a request.
public enum GiveUpReason: UInt8, Sendable, CaseIterable {
    /// The strategy never retries.
    case noRetry = 1
    /// The retry limit was reached.
    case attemptsExhausted
    /// The response said not to retry (`x-should-retry: false`, or a non-retryable status).
    case notRetryable
    /// The server's `retry-after` was beyond what the strategy accepts (openai-python > 120 s).
    case retryAfterTooLong
    /// A retry budget was spent.
    case budgetExhausted

    public var label: String {
        switch self {
        case .noRetry: return "no_retry"
        case .attemptsExhausted: return "attempts_exhausted"
        case .notRetryable: return "not_retryable"
        case .retryAfterTooLong: return "retry_after_too_long"
        case .budgetExhausted: return "budget_exhausted"
        }
    }
}

/// Why a strategy refused a request locally, before or instead of sending it.
public enum DropReason: UInt8, Sendable, CaseIterable {
    case shed = 1
    case queueOverflow
    case budgetExhausted
    case deadline
    /// A shared limiter's store could not answer and its fallback is `fail-closed`.
    case sharedLimiterUnavailable
    /// The request costs more than a client bucket holds, and the limiter refuses such costs
    /// (x/time/rate's `n > burst`) rather than admitting them into debt.
    case oversize
    /// The driver has no Message Batches API to send a batch to.
    case batchUnavailable

    public var label: String {
        switch self {
        case .shed: return "shed"
        case .queueOverflow: return "queue_overflow"
        case .budgetExhausted: return "budget_exhausted"
        case .deadline: return "deadline"
        case .sharedLimiterUnavailable: return "shared_limiter_unavailable"
        case .oversize: return "oversize"
        case .batchUnavailable: return "batch_unavailable"
        }
    }
}

/// What a strategy tells the driver (simulator or live runner) to do.
public enum StrategyCommand: Sendable, Equatable {
    /// Send an attempt now. `readyAt` is when the request became eligible (after any backoff),
    /// so the driver can split limiter wait (send − ready) from backoff.
    case send(request: Int32, readyAt: Double)
    /// Stop trying after a failed attempt; the request has failed.
    case giveUp(request: Int32, reason: GiveUpReason)
    /// Refuse a request locally; it counts as dropped with this reason.
    case drop(request: Int32, reason: DropReason)
    /// Submit one Message Batch now, and look for its results every `pollEvery` seconds: the
    /// requests `ClientStrategy.batchRequests(first:)` lists, `first` being the first of them
    /// (a request is in at most one batch, so it names the batch). Each request gets one
    /// attempt that completes when its result is seen (a refused create completes at once,
    /// with the refusal). The list is not carried here so that a command stays a plain value:
    /// an array in it made every command list cost ~100 instructions per simulated request.
    case submitBatch(first: Int32, pollEvery: Double)
}

/// A client throttling/retry strategy: a pure state machine. It never reads a clock and never
/// sleeps; the driver feeds it `now` and outcomes, collects commands with `poll`, and calls it
/// again at `nextWakeup`. The simulator and the live runner drive the same objects.
///
/// Contract: every arrived request ends in exactly one of success (reported through
/// `finished` with a 2xx outcome), `.giveUp`, or `.drop`; after a failed attempt the strategy
/// must eventually emit `.send`, `.giveUp` or `.drop` for it (a retry the limiter refuses ends
/// as a drop even though it had attempts).
public protocol ClientStrategy {
    /// A new request arrived at its intended time.
    mutating func arrived(_ request: PendingRequest, now: Double)
    /// An attempt (numbered from 1) completed.
    mutating func finished(_ request: PendingRequest, attempt: Int, outcome: AttemptOutcome, now: Double)
    /// Appends the commands that are due at `now`.
    mutating func poll(now: Double, into commands: inout [StrategyCommand])
    /// The next time the strategy needs `poll` even if nothing else happens (a timer).
    var nextWakeup: Double? { get }
    /// Whether the strategy reads `AttemptOutcome.rateLimits` (default true).
    var readsRateLimitHeaders: Bool { get }
    /// Which API key (index into the scenario's keys) the request's attempts use (default 0).
    func key(for request: Int32) -> Int
    /// Which worker (client process of the organisation, 0-based) handles the request; a
    /// request keeps its worker. Drivers read it right after `arrived` (default 0).
    func worker(for request: Int32) -> Int
    /// Whether the latest admission decision for the request was made by a fallback because a
    /// shared limiter's store failed (a local limiter admitted it, or fail-closed dropped it).
    /// Drivers read it when they execute the `.send` or `.drop` it applies to (default false).
    func viaFallback(_ request: Int32) -> Bool
    /// The strategy's internal state at `now` as named readings (see `StateGauge`), for the
    /// report's limiter-state series; computed from state, never from a clock (default: none).
    func stateGauges(now: Double) -> [StateGauge]

    // Model routing and prompt trimming: drivers read both when they execute a `.send`.
    /// Which model class (0: the scenario's `model`, i: its `models[i - 1]`) the attempt being
    /// sent for the request goes to (default 0).
    func modelClass(for request: Int32) -> Int
    /// The prompt tokens the attempt being sent carries, when the strategy trimmed them (nil:
    /// the request's own; default nil). Drivers never send more than the request's own.
    func inputTokens(for request: Int32) -> Int?
    /// The requests of the batch a `.submitBatch(first:)` of the latest `poll` submits, in
    /// order (default: none). Drivers read it when they execute that command.
    func batchRequests(first: Int32) -> [Int32]
}

extension ClientStrategy {
    /// Whether the strategy reads `AttemptOutcome.rateLimits`; a driver may skip computing
    /// header values for strategies that do not (the simulator does, for speed).
    public var readsRateLimitHeaders: Bool { true }
    public func key(for request: Int32) -> Int { 0 }
    public func worker(for request: Int32) -> Int { 0 }
    public func viaFallback(_ request: Int32) -> Bool { false }
    public func modelClass(for request: Int32) -> Int { 0 }
    public func inputTokens(for request: Int32) -> Int? { nil }
    public func batchRequests(first: Int32) -> [Int32] { [] }
}

// MARK: Limiter state gauges

/// One named reading of a strategy's internal state: what a limiter holds at an instant (tokens
/// in a client bucket, an AIMD limit, a reject probability). Drivers sample them at the bucket
/// sample times into `RunLog.limiterState`; the names are listed in docs/strategies.md.
public struct StateGauge: Sendable, Equatable {
    /// Stable dotted name, the role first: `limiter.tokens.requests`, `budget.tokens`, `queue.length`.
    public var name: String
    public var value: Double

    @inlinable
    public init(_ name: String, _ value: Double) { self.name = name; self.value = value }
}

extension ClientStrategy {
    /// No gauges: a strategy without inspectable state (or one not yet instrumented).
    public func stateGauges(now: Double) -> [StateGauge] { [] }
}
