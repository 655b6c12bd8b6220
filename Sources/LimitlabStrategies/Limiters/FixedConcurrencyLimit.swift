public import LimitlabCore

/// A fixed number of attempts in flight with the pipeline's FIFO queue in front: N workers
/// taking requests from an `asyncio.Queue`, or an `asyncio.Semaphore(N)` around each call.
/// A retry waits out its backoff outside the limit and then queues again, as a worker that
/// sleeps before retrying still holds its slot only while the call is in flight.
public struct FixedConcurrencyLimit: ConcurrencyPolicy {
    public let limit: Int

    public init(limit: Int) {
        precondition(limit >= 1)
        self.limit = limit
    }

    public mutating func finished(outcome: AttemptOutcome, inFlight: Int, now: Double) {}
}

extension FixedConcurrencyLimit {
    static let definition = StrategyDefinition.concurrency(
        "fixed",
        summary: "At most `limit` attempts in flight; the rest wait in the strategy's FIFO queue (bounded by the "
            + "admission limiter's max_queue and max_wait, unbounded behind a baseline) and go, oldest first, as "
            + "attempts finish. Composes with every admission limiter, retry policy, budget and shedder. A "
            + "retry's backoff is spent outside the limit.",
        mirrors: "N workers on an asyncio.Queue, or asyncio.Semaphore(N) around each call "
            + "(https://docs.python.org/3/library/asyncio-sync.html#asyncio.Semaphore); Bottleneck's maxConcurrent",
        parameters: [
            StrategyParameter("limit", .integer(min: 1, max: .max), "10",
                              "Attempts in flight, the number of workers (limitlab's default 10; set it to "
                              + "the client's worker count)."),
        ]
    ) { (p, _) throws(StrategyError) in
        let limit = try p.int("limit")
        guard limit >= 1 else { throw StrategyError(message: "\(p.owner): limit must be at least 1") }
        return FixedConcurrencyLimit(limit: limit)
    }
}
