import LimitlabCore

/// A strategy seen through the live metrics: arrivals and the strategy's own endings of
/// requests (give up, drop) are counted as they happen; everything else is passed through
/// unchanged. Without metrics it only forwards (one nil check per call).
///
/// The loop executes `.giveUp` and `.drop` itself (LimitlabClient's `ClientLoop.poll`), so the
/// commands are read here, right after the strategy wrote them.
struct MeteredStrategy: StrategyWrapper {
    var inner: any ClientStrategy
    let metrics: LiveRunMetrics?

    @inline(__always) mutating func arrived(_ request: PendingRequest, now: Double) {
        metrics?.requestArrived()
        inner.arrived(request, now: now)
    }

    @inline(__always) mutating func poll(now: Double, into commands: inout [StrategyCommand]) {
        let from = commands.count
        inner.poll(now: now, into: &commands)
        guard let metrics else { return }
        for i in from..<commands.count {
            switch commands[i] {
            case .send, .submitBatch: break
            case .giveUp(_, let reason): metrics.requestFailed(reason: reason.rawValue)
            case .drop(_, let reason): metrics.requestDropped(reason: reason.rawValue)
            }
        }
    }
}
