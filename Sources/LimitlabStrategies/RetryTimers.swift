import LimitlabCore

/// Requests waiting for a time: backoff timers and immediate sends. Ordered by time, then by
/// insertion, so equal times keep arrival order and runs stay deterministic.
struct RetryTimers {
    private struct Entry: Comparable {
        var time: Double
        var sequence: UInt64
        var request: Int32
        static func < (a: Entry, b: Entry) -> Bool {
            a.time < b.time || (a.time == b.time && a.sequence < b.sequence)
        }
    }
    private var heap = MinHeap<Entry>()
    private var sequence: UInt64 = 0

    mutating func schedule(_ request: Int32, at time: Double) {
        sequence &+= 1
        heap.push(Entry(time: time, sequence: sequence, request: request))
    }

    /// Emits `.send` for every timer due at `now`, with `readyAt` = the timer's time.
    mutating func emitDue(now: Double, into commands: inout [StrategyCommand]) {
        while let top = heap.min, top.time <= now {
            heap.pop()
            commands.append(.send(request: top.request, readyAt: top.time))
        }
    }

    var next: Double? { heap.min?.time }
}
