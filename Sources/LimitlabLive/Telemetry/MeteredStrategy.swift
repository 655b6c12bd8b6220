import LimitlabCore

/// A strategy seen through the live metrics: arrivals and the strategy's own endings of
/// requests (give up, drop) are counted as they happen; everything else is passed through
/// unchanged. Without metrics it only forwards (one nil check per call).
///
/// The loop executes `.giveUp` and `.drop` itself (LimitlabClient's `ClientLoop.poll`), so the
/// commands are read here, right after the strategy wrote them.
struct MeteredStrategy<Base: ClientStrategy>: ClientStrategy {
    var base: Base
    let metrics: LiveRunMetrics?

    @inline(__always) mutating func arrived(_ request: PendingRequest, now: Double) {
        metrics?.requestArrived()
        base.arrived(request, now: now)
    }

    @inline(__always) mutating func finished(_ request: PendingRequest, attempt: Int, outcome: AttemptOutcome,
                                             now: Double) {
        base.finished(request, attempt: attempt, outcome: outcome, now: now)
    }

    @inline(__always) mutating func poll(now: Double, into commands: inout [StrategyCommand]) {
        let from = commands.count
        base.poll(now: now, into: &commands)
        guard let metrics else { return }
        for i in from..<commands.count {
            switch commands[i] {
            case .send, .submitBatch: break
            case .giveUp(_, let reason): metrics.requestFailed(reason: reason.rawValue)
            case .drop(_, let reason): metrics.requestDropped(reason: reason.rawValue)
            }
        }
    }

    var nextWakeup: Double? { base.nextWakeup }
    var readsRateLimitHeaders: Bool { base.readsRateLimitHeaders }
    func key(for request: Int32) -> Int { base.key(for: request) }
    func worker(for request: Int32) -> Int { base.worker(for: request) }
    func viaFallback(_ request: Int32) -> Bool { base.viaFallback(request) }
    func modelClass(for request: Int32) -> Int { base.modelClass(for: request) }
    func inputTokens(for request: Int32) -> Int? { base.inputTokens(for: request) }
    func stateGauges(now: Double) -> [StateGauge] { base.stateGauges(now: now) }
}
