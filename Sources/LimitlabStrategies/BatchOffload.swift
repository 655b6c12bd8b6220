public import LimitlabCore

/// The "use the Batch API for non-urgent work" advice: deferrable requests
/// (`workload.deferrable`) are collected and submitted as one Message Batch every
/// `flush_every` seconds (or at once when `max_batch` are waiting), at half the price
/// (Anthropic, "Batch processing", https://docs.anthropic.com/en/docs/build-with-claude/batch-processing);
/// urgent requests go through the `urgent` strategy unchanged. A deferred request whose batch
/// attempt fails (the create refused by the batch RPM or the queue limit, or the request
/// expired or was cancelled) is handed to the urgent strategy as a new arrival, so it still
/// gets its chance in real time.
///
/// Flushes happen at multiples of `flush_every` from time 0. The client polls each batch every
/// `poll_every` seconds; the driver delivers each request's result when a poll first sees its
/// batch ended.
public struct BatchOffloadStrategy: StrategyWrapper {
    /// The registry name.
    public static let name = "batch-offload"

    public let flushEvery: Double
    public let maxBatch: Int
    public let pollEvery: Double
    /// The urgent strategy.
    public var inner: any ClientStrategy
    /// Deferrable requests waiting for the next flush, in arrival order.
    private var pending: [Int32] = []
    /// When the pending requests are flushed (nil when none wait).
    private var flushAt: Double?
    /// Requests submitted in a batch and not yet answered.
    private var inBatch: Set<Int32> = []
    /// Batch attempts per request handed to the urgent strategy, so its attempt numbers
    /// start at 1 as if the request had just arrived.
    private var batchAttempts: [Int32: Int] = [:]
    /// The batches the latest `poll` submitted, by first request (read by the driver then).
    private var flushed: [Int32: [Int32]] = [:]

    /// - Parameters:
    ///   - urgent: the strategy that sends urgent requests (and deferred ones a batch failed).
    ///   - flushEvery: seconds between batch submissions.
    ///   - maxBatch: requests that trigger a submission at once (at most 100,000, the API's cap).
    ///   - pollEvery: seconds between polls of a batch's status.
    public init(urgent: any ClientStrategy, flushEvery: Double, maxBatch: Int, pollEvery: Double) {
        precondition(flushEvery > 0 && maxBatch >= 1 && pollEvery > 0)
        inner = urgent
        self.flushEvery = flushEvery
        self.maxBatch = Swift.min(maxBatch, BatchServerModel.maxRequestsPerBatch)
        self.pollEvery = pollEvery
    }

    /// Requests waiting for the next flush (for tests).
    public var waiting: Int { pending.count }

    public mutating func arrived(_ request: PendingRequest, now: Double) {
        guard request.deferrable else { return inner.arrived(request, now: now) }
        pending.append(request.id)
        if flushAt == nil { flushAt = ((now / flushEvery).rounded(.down) + 1) * flushEvery }
        if pending.count >= maxBatch { flushAt = now }
    }

    public mutating func finished(_ request: PendingRequest, attempt: Int, outcome: AttemptOutcome, now: Double) {
        if inBatch.remove(request.id) != nil {
            batchAttempts[request.id, default: 0] += 1
            // A success is recorded by the driver; anything else goes to the urgent strategy.
            if !outcome.succeeded { inner.arrived(request, now: now) }
            return
        }
        inner.finished(request, attempt: attempt - (batchAttempts[request.id] ?? 0), outcome: outcome, now: now)
    }

    public mutating func poll(now: Double, into commands: inout [StrategyCommand]) {
        if !flushed.isEmpty { flushed.removeAll() }
        inner.poll(now: now, into: &commands)
        guard let due = flushAt, due <= now else { return }
        while !pending.isEmpty {
            let n = Swift.min(maxBatch, pending.count)
            let batch = Array(pending.prefix(n))
            pending.removeFirst(n)
            inBatch.formUnion(batch)
            flushed[batch[0]] = batch
            commands.append(.submitBatch(first: batch[0], pollEvery: pollEvery))
        }
        flushAt = nil
    }

    public func batchRequests(first: Int32) -> [Int32] { flushed[first] ?? [] }

    public var nextWakeup: Double? {
        switch (inner.nextWakeup, flushAt) {
        case (let a?, let b?): return Swift.min(a, b)
        case (let a, let b): return a ?? b
        }
    }

    /// The urgent strategy's gauges, the requests waiting for the next batch and those in
    /// submitted batches.
    public func stateGauges(now: Double) -> [StateGauge] {
        inner.stateGauges(now: now) + [StateGauge("batch.pending", Double(pending.count)),
                                       StateGauge("batch.in_flight", Double(inBatch.count))]
    }
}

extension BatchOffloadStrategy {
    static let parameters = [
        StrategyParameter("urgent", .text, "sdk-default",
                          "The strategy (a baseline, limiter or preset, with its defaults) that sends urgent requests; "
                          + "the entry's retry:, budget:, concurrency:, shed: and pool: apply to it. A preset named "
                          + "with \"+\" cannot be given here: give its limiter and its roles instead."),
        StrategyParameter("flush_every", .duration, "60s", "Seconds between batch submissions."),
        StrategyParameter("max_batch", .integer(min: 1, max: BatchServerModel.maxRequestsPerBatch), "10000",
                          "Waiting deferrable requests that trigger a submission at once."),
        StrategyParameter("poll_every", .duration, "60s", "Seconds between polls of a batch's status."),
    ]

    static let definition = StrategyDefinition.baseline(
        name,
        summary: "Deferrable requests go to the Message Batches API (submitted every flush_every or at max_batch, "
            + "half price); urgent ones through the `urgent` strategy.",
        mirrors: "Anthropic's advice to use the Message Batches API for non-urgent work "
            + "(https://docs.anthropic.com/en/docs/build-with-claude/batch-processing)",
        parameters: parameters,
        retry: { (_, context) throws(StrategyError) in
            throw StrategyError(message: "strategy \(context.label): batch-offload is built by StrategyFactory.make")
        })

    /// Builds `spec` (named `batch-offload`): its `urgent` strategy with the spec's roles and
    /// pool, wrapped.
    /// Why `urgent` cannot send urgent requests (nil when it can); the scenario reader reports
    /// it where the file names it, the factory for specs built in code.
    public static func urgentProblem(_ urgent: String) -> String? {
        guard urgent == name || StrategyRegistry.definition(named: urgent) == nil else { return nil }
        return "urgent: \"\(urgent)\" is not a strategy that can send urgent requests; known: "
            + StrategyRegistry.names.filter { $0 != name && !$0.contains("+") }.joined(separator: ", ")
    }

    static func make(_ spec: StrategySpec, limits: LimitConfig, keys: [LimitConfig], seed: UInt64,
                     placement: WorkerPlacement) throws(StrategyError) -> any ClientStrategy {
        let p = Params(owner: "strategy \(spec.label)", values: spec.params, descriptor: definition.descriptor)
        let urgentName = try p.string("urgent")
        if let problem = urgentProblem(urgentName) {
            throw StrategyError(message: "strategy \(spec.label): \(problem)")
        }
        let flush = try p.double("flush_every"), poll = try p.double("poll_every")
        guard flush > 0, poll > 0 else {
            throw StrategyError(message: "strategy \(spec.label): flush_every and poll_every must be above 0 s")
        }
        var urgent = spec
        urgent.name = urgentName
        urgent.params = [:]
        let inner = try StrategyFactory.make(urgent, limits: limits, keys: keys, seed: seed, placement: placement)
        return BatchOffloadStrategy(urgent: inner, flushEvery: flush, maxBatch: try p.int("max_batch"), pollEvery: poll)
    }
}
