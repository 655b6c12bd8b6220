public import LimitlabCore
import LimitlabStats

/// A strategy composed of roles: optional shedder → FIFO queue → optional concurrency limit →
/// optional admission limiter → send; on failure the retry policy (and budget) decide whether
/// and when the request re-enters the queue. The queue is head-of-line: a request the limiter
/// holds holds everything behind it, as in the libraries the limiters mirror.
public struct PipelineStrategy: ClientStrategy {
    public var admission: (any AdmissionPolicy)?
    public var concurrency: (any ConcurrencyPolicy)?
    public var retry: any RetryPolicy
    public var budget: (any RetryBudget)?
    public var shedder: (any LoadShedder)?
    /// Most requests allowed to wait in the queue; arrivals beyond it are dropped
    /// (`queue_overflow`). Retries re-entering the queue are never dropped for space.
    public var maxQueue: Int
    /// Longest a request may wait in the queue before it is dropped (`deadline`). 0 is reject
    /// mode: the request at the head is sent if the roles admit it at once, else dropped.
    public var maxQueueWait: Double

    private struct Waiting {
        var request: PendingRequest
        var attempt: Int
        var readyAt: Double
    }
    private var queue = RingBuffer<Waiting>()
    private var timers = MinHeap<TimerEntry>()
    private struct TimerEntry: Comparable {
        var time: Double
        var sequence: UInt64
        var request: PendingRequest
        var attempt: Int
        static func < (a: TimerEntry, b: TimerEntry) -> Bool {
            a.time < b.time || (a.time == b.time && a.sequence < b.sequence)
        }
        static func == (a: TimerEntry, b: TimerEntry) -> Bool { a.time == b.time && a.sequence == b.sequence }
    }
    private var sequence: UInt64 = 0
    private var due: [StrategyCommand] = []
    private var inFlight = 0
    private var admissionWake: Double?

    public init(admission: (any AdmissionPolicy)? = nil, concurrency: (any ConcurrencyPolicy)? = nil,
                retry: any RetryPolicy, budget: (any RetryBudget)? = nil, shedder: (any LoadShedder)? = nil,
                maxQueue: Int = .max, maxQueueWait: Double = .infinity) {
        self.admission = admission; self.concurrency = concurrency; self.retry = retry
        self.budget = budget; self.shedder = shedder; self.maxQueue = maxQueue; self.maxQueueWait = maxQueueWait
    }

    public mutating func arrived(_ request: PendingRequest, now: Double) {
        if shedder?.shouldReject(now: now) == true {
            due.append(.drop(request: request.id, reason: .shed))
            return
        }
        if queue.count >= maxQueue {
            due.append(.drop(request: request.id, reason: .queueOverflow))
            return
        }
        queue.append(Waiting(request: request, attempt: 1, readyAt: now))
    }

    public mutating func finished(_ request: PendingRequest, attempt: Int, outcome: AttemptOutcome, now: Double) {
        admission?.finished(request, attempt: attempt, outcome: outcome, now: now)
        concurrency?.finished(outcome: outcome, inFlight: inFlight, now: now)
        inFlight -= 1
        budget?.attemptFinished(outcome, now: now)
        shedder?.record(accepted: !Retryability.isThrottled(outcome), now: now)
        if outcome.succeeded { return }
        switch retry.decide(after: outcome, attempt: attempt, now: now) {
        case .giveUp(let reason):
            due.append(.giveUp(request: request.id, reason: reason))
        case .wait(let delay):
            if budget?.allowRetry(now: now) == false {
                due.append(.giveUp(request: request.id, reason: .budgetExhausted))
                return
            }
            sequence &+= 1
            timers.push(TimerEntry(time: now + Swift.max(0, delay), sequence: sequence, request: request,
                                   attempt: attempt + 1))
        }
    }

    public mutating func poll(now: Double, into commands: inout [StrategyCommand]) {
        commands.append(contentsOf: due)
        due.removeAll(keepingCapacity: true)
        while let t = timers.min, t.time <= now {
            timers.pop()
            queue.append(Waiting(request: t.request, attempt: t.attempt, readyAt: t.time))
        }
        admissionWake = nil
        while let head = queue.first {
            // The same expression as the wake-up below and the deadline the limiter is told, so a
            // wake at the deadline always drops and a slot the limiter reserved comes before it.
            let deadline = head.readyAt + maxQueueWait
            // `max_wait: 0` is reject mode (x/time/rate's `Allow`): the head goes now or is dropped,
            // so a request that could go at once is sent rather than found past its deadline.
            let sendNowOrDrop = maxQueueWait <= 0
            if now >= deadline && !sendNowOrDrop {
                queue.removeFirst()
                // A limiter holding a reservation for it gives it back.
                admission?.abandoned(head.request, attempt: head.attempt, now: now)
                commands.append(.drop(request: head.request.id, reason: .deadline))
                continue
            }
            if let concurrency, inFlight >= concurrency.limit {
                guard sendNowOrDrop else { break } // a completion wakes us
                queue.removeFirst()
                commands.append(.drop(request: head.request.id, reason: .deadline))
                continue
            }
            if admission != nil {
                // In reject mode only a slot at `now` itself will do.
                let askDeadline = sendNowOrDrop ? now.nextUp : deadline
                switch admission!.ask(head.request, attempt: head.attempt, now: now, deadline: askDeadline) {
                case .now:
                    admission!.sent(head.request, attempt: head.attempt, now: now)
                case .at where sendNowOrDrop:
                    queue.removeFirst()
                    admission!.abandoned(head.request, attempt: head.attempt, now: now)
                    commands.append(.drop(request: head.request.id, reason: .deadline))
                    continue
                case .at(let t):
                    // Wake at the limiter's time, or at the deadline if that comes first. A time
                    // not after `now` breaks the contract; step past it rather than spin.
                    admissionWake = Swift.min(Swift.max(t, now.nextUp), deadline)
                    return
                case .reject(let reason):
                    queue.removeFirst()
                    commands.append(.drop(request: head.request.id, reason: reason))
                    continue
                }
            }
            queue.removeFirst()
            inFlight += 1
            budget?.attemptSent(isRetry: head.attempt > 1, now: now)
            commands.append(.send(request: head.request.id, readyAt: head.readyAt))
        }
    }

    public var nextWakeup: Double? {
        let t = timers.min?.time
        switch (t, admissionWake) {
        case let (a?, b?): return Swift.min(a, b)
        case let (a?, nil): return a
        case let (nil, b?): return b
        case (nil, nil): return nil
        }
    }

    public var readsRateLimitHeaders: Bool { admission?.readsRateLimitHeaders ?? false }

    public func viaFallback(_ request: Int32) -> Bool { admission?.viaFallback(request) ?? false }

    /// `queue.length` and `in_flight`, then `concurrency.limit` and each role's gauges under its
    /// role's name (`limiter.`, `budget.`, `shedder.`).
    public func stateGauges(now: Double) -> [StateGauge] {
        var out = [StateGauge("queue.length", Double(queue.count)), StateGauge("in_flight", Double(inFlight))]
        if let concurrency { out.append(StateGauge("concurrency.limit", Double(concurrency.limit))) }
        func add(_ role: String, _ gauges: [StateGauge]?) {
            for g in gauges ?? [] { out.append(StateGauge(role + "." + g.name, g.value)) }
        }
        add("limiter", admission?.stateGauges(now: now))
        add("budget", budget?.stateGauges(now: now))
        add("shedder", shedder?.stateGauges(now: now))
        return out
    }
}

/// A growable FIFO ring buffer: O(1) append and removeFirst without shifting.
struct RingBuffer<Element> {
    private var storage: [Element?] = Array(repeating: nil, count: 16)
    private var head = 0
    private(set) var count = 0

    var first: Element? { count == 0 ? nil : storage[head] }

    mutating func append(_ e: Element) {
        if count == storage.count {
            var grown = [Element?](repeating: nil, count: storage.count * 2)
            for i in 0..<count { grown[i] = storage[(head + i) % storage.count] }
            storage = grown
            head = 0
        }
        storage[(head + count) % storage.count] = e
        count += 1
    }

    @discardableResult
    mutating func removeFirst() -> Element? {
        guard count > 0 else { return nil }
        let e = storage[head]
        storage[head] = nil
        head = (head + 1) % storage.count
        count -= 1
        return e
    }
}

extension PipelineStrategy {
    /// The queue bounds every admission limiter takes; the pipeline enforces them.
    static let queueParameters: [StrategyParameter] = [
        // "none" cannot stand for unlimited in an integer parameter (Params reads it as text), so
        // the unlimited default of max_queue is "inf".
        StrategyParameter("max_queue", .integer(min: 1, max: .max), "inf",
                          "Most requests waiting for the limiter; arrivals beyond it are dropped "
                          + "(queue_overflow); inf = unlimited."),
        StrategyParameter("max_wait", .duration, "none",
                          "Longest a request may wait in the queue before it is dropped (deadline); none = no "
                          + "limit; 0s = send now or drop (reject mode, like x/time/rate's Allow): a request the "
                          + "limiter admits at once is sent, any other is dropped."),
    ]
}
