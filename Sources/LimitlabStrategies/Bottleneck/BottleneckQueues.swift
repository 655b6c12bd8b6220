import LimitlabCore

/// A job as Bottleneck holds it: the request plus its options and when it became eligible.
struct BottleneckJob {
    var request: PendingRequest
    var weight: Int
    var priority: Int
    /// Submission time (first attempt) or when the resubmitted retry became due.
    var readyAt: Double
}

/// Bottleneck's `Queues`: ten FIFO lists, one per priority, 0 first.
struct BottleneckQueues {
    static let priorities = 10
    private var lists = [RingBuffer<BottleneckJob>](repeating: RingBuffer(), count: priorities)
    private(set) var count = 0

    mutating func push(_ job: BottleneckJob) {
        lists[job.priority].append(job)
        count += 1
    }

    /// `getFirst().first()`: the head of the highest-priority non-empty list.
    var first: BottleneckJob? {
        guard count > 0 else { return nil }
        for list in lists where list.count > 0 { return list.first }
        return nil
    }

    /// Removes `first`.
    @discardableResult
    mutating func removeFirst() -> BottleneckJob? {
        guard count > 0 else { return nil }
        for p in 0..<Self.priorities where lists[p].count > 0 {
            count -= 1
            return lists[p].removeFirst()
        }
        return nil
    }

    /// `shiftLastFrom(priority)`: among the lists of priority ≥ `priority` (as important or
    /// less), take the least important non-empty one and remove its *oldest* job (`shift`).
    mutating func shiftLastFrom(_ priority: Int) -> BottleneckJob? {
        guard priority < Self.priorities else { return nil }
        for p in stride(from: Self.priorities - 1, through: Swift.max(0, priority), by: -1) where lists[p].count > 0 {
            count -= 1
            return lists[p].removeFirst()
        }
        return nil
    }

    /// `shiftAll`: removes every job, list 0 first, each list in FIFO order.
    mutating func removeAll() -> [BottleneckJob] {
        var all: [BottleneckJob] = []
        all.reserveCapacity(count)
        for p in 0..<Self.priorities {
            while let job = lists[p].removeFirst() { all.append(job) }
        }
        count = 0
        return all
    }
}
