/// A strategy that wraps another (`inner`) and changes only part of what it does: routing,
/// trimming, batch offload, the live runner's metrics. Every `ClientStrategy` member it does
/// not implement itself is forwarded to `inner` here, so a member added to `ClientStrategy`
/// reaches every wrapper by being added once below; a wrapper written by hand that missed one
/// would silently answer the protocol's default (a routed attempt sent to class 0).
public protocol StrategyWrapper: ClientStrategy {
    /// The wrapped strategy.
    var inner: any ClientStrategy { get set }
}

extension StrategyWrapper {
    public mutating func arrived(_ request: PendingRequest, now: Double) { inner.arrived(request, now: now) }
    public mutating func finished(_ request: PendingRequest, attempt: Int, outcome: AttemptOutcome, now: Double) {
        inner.finished(request, attempt: attempt, outcome: outcome, now: now)
    }
    public mutating func poll(now: Double, into commands: inout [StrategyCommand]) { inner.poll(now: now, into: &commands) }
    public var nextWakeup: Double? { inner.nextWakeup }
    public var readsRateLimitHeaders: Bool { inner.readsRateLimitHeaders }
    public func key(for request: Int32) -> Int { inner.key(for: request) }
    public func worker(for request: Int32) -> Int { inner.worker(for: request) }
    public func viaFallback(_ request: Int32) -> Bool { inner.viaFallback(request) }
    public func stateGauges(now: Double) -> [StateGauge] { inner.stateGauges(now: now) }
    public func modelClass(for request: Int32) -> Int { inner.modelClass(for: request) }
    public func inputTokens(for request: Int32) -> Int? { inner.inputTokens(for: request) }
    public func batchRequests(first: Int32) -> [Int32] { inner.batchRequests(first: first) }
}
