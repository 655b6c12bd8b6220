public import LimitlabCore

/// One attempt the loop asks a transport to send, as the strategy commanded it.
public struct SendOrder: Sendable {
    public var request: Int32
    /// The API key (index into the scenario's keys) the strategy chose.
    public var key: Int
    /// When the request became eligible for this attempt (after any backoff).
    public var readyAt: Double
    /// The model time of the event that caused the send (the planned send time).
    public var plannedAt: Double
    /// Whether a fallback limiter admitted the attempt because a shared store failed.
    public var viaFallback: Bool
    /// The model class the strategy chose for the attempt (0: the scenario's model).
    public var modelClass = 0
    /// The prompt tokens the strategy trimmed the attempt to (nil: the request's own).
    public var inputTokens: Int? = nil
    /// Prompt tokens trimmed from the request's own (0 when not trimmed).
    public var trimmedTokens = 0

    @inlinable
    public init(request: Int32, key: Int, readyAt: Double, plannedAt: Double, viaFallback: Bool) {
        self.request = request; self.key = key; self.readyAt = readyAt; self.plannedAt = plannedAt
        self.viaFallback = viaFallback
    }

    /// Starts the attempt in `log` as sent at `sentAt`; returns its index.
    @inlinable
    public func begin(in log: inout RunLog, sentAt: Double) -> Int32 {
        let a = log.beginAttempt(request: request, readyAt: readyAt, sentAt: sentAt, key: key, viaFallback: viaFallback)
        if modelClass != 0 || inputTokens != nil { recordRouting(attempt: a, in: &log) }
        return a
    }

    /// Records the attempt's model class and the prompt tokens trimmed in `log`.
    @usableFromInline
    func recordRouting(attempt a: Int32, in log: inout RunLog) {
        log.setRouting(attempt: a, modelClass: modelClass, trimmed: trimmedTokens)
    }
}

/// Where a `ClientLoop`'s attempts go and come back from: the simulated server in virtual time,
/// or libcurl against a real endpoint in wall-clock time. The loop owns the order of events and
/// the strategy; the transport owns sending, completions and what only it can measure.
public protocol ClientTransport {
    /// How many API keys there are; a strategy choosing another key is a bug.
    var keyCount: Int { get }
    /// The model time of the earliest completion the transport holds, or +infinity. Every
    /// completion the transport holds is handled, whatever the loop's time limit.
    var nextCompletionTime: Double { get }
    /// Whether new arrivals may be admitted. Asked once per event, before the event is chosen
    /// (the live runner closes arrivals when a stop begins).
    mutating func acceptsArrivals() -> Bool
    /// Called with the model time of each event before it is handled (never decreasing).
    mutating func advance(to now: Double, log: inout RunLog)
    /// Removes the earliest completion due by `now`, records its end in `log` and returns its
    /// attempt index and outcome; nil when none is due.
    mutating func popCompletion(dueBy now: Double, log: inout RunLog) -> (attempt: Int32, outcome: AttemptOutcome)?
    /// Sends an attempt at model time `order.plannedAt`. A transport that sends starts the
    /// attempt with `order.begin(in:sentAt:)`; one that cannot (a live stop, a spend cap) may
    /// skip it.
    mutating func send(_ order: SendOrder, log: inout RunLog)
    /// Submits `order.requests` as one Message Batch at `order.plannedAt`: one attempt per
    /// request, each completing when its result is seen. Default: no batch API, every request
    /// is dropped (`batch_unavailable`).
    mutating func submitBatch(_ order: BatchOrder, log: inout RunLog)
}

/// A Message Batch the loop asks a transport to submit, as the strategy commanded it.
public struct BatchOrder: Sendable {
    public var requests: [Int32]
    /// The API key (index into the scenario's keys) the batch is created with.
    public var key: Int
    /// How often the client looks for the batch's results, seconds.
    public var pollEvery: Double
    /// The model time of the event that caused the submission.
    public var plannedAt: Double
    public init(requests: [Int32], key: Int, pollEvery: Double, plannedAt: Double) {
        self.requests = requests; self.key = key; self.pollEvery = pollEvery; self.plannedAt = plannedAt
    }
}

extension ClientTransport {
    public mutating func submitBatch(_ order: BatchOrder, log: inout RunLog) {
        for id in order.requests {
            log.finish(request: Int(id), outcome: .dropped, reason: DropReason.batchUnavailable.rawValue)
        }
    }
}

/// Why `ClientLoop.run` returned.
public enum ClientLoopExit: Sendable, Equatable {
    /// No event is due by the time limit (with no limit: the run is over).
    case idle
    /// The strategy keeps asking to be woken at an instant that has passed and does nothing.
    case stalled
}

/// The client side of a run, shared by the simulator and the live runner: arrivals of an
/// `ArrivalStream` go to a `ClientStrategy`, its commands go to a transport, outcomes come back,
/// and everything is recorded in a `RunLog`. Time and transport come from outside.
///
/// Events are handled in time order — completions first (they free capacity that arrivals at
/// the same instant may use), then arrivals, then strategy wakeups — each followed by `poll`
/// and the commands it returned, executed at the model time of that event.
///
/// The strategy is passed to each call rather than stored, and the methods are inlined into
/// their callers: the simulator opens strategies from existentials, so its strategy type is
/// generic at run time, and a loop generic over it would neither be specialised to the
/// transport nor have a fixed layout (the simulator handles ~1M requests/s through here).
public struct ClientLoop {
    /// The requests of the run, in arrival order.
    public let stream: ArrivalStream
    /// What the run recorded so far; the transport fills in what only it knows.
    public var log: RunLog
    /// The next request of `stream` to arrive.
    public var nextArrival = 0
    /// The model time of the latest event handled.
    public var now = 0.0
    /// Whether arrivals record the strategy's worker in `log.worker` (a worker process of a
    /// shared-quota run has its column set by its runner instead).
    public var recordsWorker = true
    /// Idle wakeups at a past instant in a row (see `ClientLoopExit.stalled`).
    @usableFromInline var idleWakeups = 0
    @usableFromInline var commands: [StrategyCommand] = []
    /// The bucket sample interval the gauge samples in `log.limiterState` were taken at.
    @usableFromInline var gaugeInterval = 0.0
    /// Gauge samples taken (the length of every `log.limiterState` series).
    @usableFromInline var gaugeSamples = 0

    /// Stale wakeups in a row after which a strategy counts as stalled.
    public static var stallLimit: Int { 100_000 }

    /// A loop over `stream`, recording into `log` (default: an empty log sized for the stream).
    @inlinable
    public init(stream: ArrivalStream, log: RunLog? = nil) {
        self.stream = stream
        self.log = log ?? RunLog(requests: stream.count)
        commands.reserveCapacity(64)
    }

    /// Whether every request has arrived and `strategy` has no timer set.
    @inlinable
    public func isDrained<S: ClientStrategy>(_ strategy: S) -> Bool {
        nextArrival >= stream.count && strategy.nextWakeup == nil
    }

    /// The intended time of the next arrival, or +infinity.
    @inlinable
    public var nextArrivalTime: Double { nextArrival < stream.count ? stream.intendedAt[nextArrival] : .infinity }

    /// Handles every event due by `limit` (arrivals and wakeups after it wait; completions the
    /// transport holds are all handled). Returns `.idle` when none is left, `.stalled` when the
    /// strategy spins (the caller decides: the simulator stops, the live runner ends the run).
    @inlinable @inline(__always)
    public mutating func run<S: ClientStrategy, T: ClientTransport>(
        _ strategy: inout S, until limit: Double = .infinity, transport: inout T
    ) -> ClientLoopExit {
        while true {
            var tArrival = Double.infinity
            if transport.acceptsArrivals() {
                let a = nextArrivalTime
                if a <= limit { tArrival = a }
            }
            let tCompletion = transport.nextCompletionTime
            var tWake = Double.infinity
            if let w = strategy.nextWakeup, w <= limit { tWake = w }
            let t = Swift.min(tArrival, tCompletion, tWake)
            if t == .infinity { return .idle }
            // A strategy that keeps asking to be woken at an instant that has passed, without
            // doing anything, would spin forever.
            if t <= now && tWake == t && tArrival > t && tCompletion > t {
                idleWakeups += 1
                if idleWakeups > Self.stallLimit { return .stalled }
            } else {
                idleWakeups = 0
            }
            now = Swift.max(now, t)
            transport.advance(to: now, log: &log)
            // Off the hot path: two comparisons per event, work only at a new bucket sample.
            if log.bucketRequests.count != gaugeSamples || log.bucketSampleInterval != gaugeInterval {
                sampleStateGauges(strategy)
            }
            if tCompletion <= t {
                while let (attempt, outcome) = transport.popCompletion(dueBy: now, log: &log) {
                    complete(&strategy, attempt: attempt, outcome: outcome)
                }
            } else if tArrival <= t {
                admitArrivals(&strategy)
            }
            poll(&strategy, transport: &transport)
        }
    }

    /// Samples the strategy's state gauges at every bucket sample the transport has taken since
    /// the last call, so the two series share times, interval and cap: when the transport has
    /// coarsened its samples (doubled the interval, kept every other), the gauge samples are
    /// thinned the same way first. The state sampled is the strategy's as of now, which is its
    /// state at each such instant: no event was handled between them. Drivers call it once
    /// more after their last bucket samples.
    public mutating func sampleStateGauges<S: ClientStrategy>(_ strategy: S) {
        let target = log.bucketRequests.count
        let interval = log.bucketSampleInterval
        if interval != gaugeInterval {
            if gaugeInterval > 0 && gaugeSamples > 0 {
                // 2^m after m halvings; a run stretched by a response that takes ~10^300 s
                // halves so often that only the first sample is left (and the ratio overflows Int).
                let ratio = (interval / gaugeInterval).rounded()
                let step = ratio >= Double(gaugeSamples) ? gaugeSamples : Swift.max(1, Int(ratio))
                for i in log.limiterState.indices {
                    log.limiterState[i] = stride(from: 0, to: log.limiterState[i].count, by: step).map { log.limiterState[i][$0] }
                }
                gaugeSamples = (gaugeSamples + step - 1) / step
            }
            gaugeInterval = interval
        }
        if gaugeSamples > target {
            for i in log.limiterState.indices { log.limiterState[i].removeLast(gaugeSamples - target) }
            gaugeSamples = target
        }
        while gaugeSamples < target {
            let at = Double(gaugeSamples) * interval
            for g in strategy.stateGauges(now: at) {
                var i = log.limiterStateNames.firstIndex(of: g.name) ?? -1
                if i < 0 {
                    i = log.limiterStateNames.count
                    log.limiterStateNames.append(g.name)
                    log.limiterState.append([Float](repeating: .nan, count: gaugeSamples))
                }
                // A name reported twice at one instant keeps its first value.
                if log.limiterState[i].count == gaugeSamples { log.limiterState[i].append(Float(g.value)) }
            }
            gaugeSamples += 1
            for i in log.limiterState.indices where log.limiterState[i].count < gaugeSamples {
                log.limiterState[i].append(.nan)
            }
        }
    }

    /// Tells the strategy that `attempt` ended with `outcome` (already recorded by the
    /// transport) at the current model time; marks the request succeeded when it did.
    @inlinable @inline(__always)
    public mutating func complete<S: ClientStrategy>(_ strategy: inout S, attempt: Int32, outcome: AttemptOutcome) {
        let ai = Int(attempt)
        let r = Int(log.attemptRequest[ai])
        if outcome.succeeded { log.finish(request: r, outcome: .succeeded) }
        strategy.finished(stream.pendingRequest(r), attempt: Int(log.attemptNumber[ai]), outcome: outcome, now: now)
    }

    /// Hands every request intended by the current model time to the strategy.
    @inlinable @inline(__always)
    public mutating func admitArrivals<S: ClientStrategy>(_ strategy: inout S) {
        let n = stream.count
        while nextArrival < n, stream.intendedAt[nextArrival] <= now {
            strategy.arrived(stream.pendingRequest(nextArrival), now: now)
            if recordsWorker {
                log.worker[nextArrival] = UInt16(clamping: strategy.worker(for: Int32(nextArrival)))
            }
            nextArrival += 1
        }
    }

    /// Collects the strategy's due commands and executes them at the current model time.
    @inlinable @inline(__always)
    public mutating func poll<S: ClientStrategy, T: ClientTransport>(_ strategy: inout S, transport: inout T) {
        strategy.poll(now: now, into: &commands)
        guard !commands.isEmpty else { return }
        idleWakeups = 0
        var i = 0
        while i < commands.count {
            switch commands[i] {
            case .send(let id, let readyAt):
                let k = strategy.key(for: id)
                guard k >= 0 && k < transport.keyCount else {
                    preconditionFailure("strategy chose key \(k) of \(transport.keyCount)")
                }
                var order = SendOrder(request: id, key: k, readyAt: readyAt, plannedAt: now,
                                      viaFallback: strategy.viaFallback(id))
                routeOrder(&order, strategy)
                transport.send(order, log: &log)
            case .giveUp(let id, let reason):
                log.finish(request: Int(id), outcome: .failed, reason: reason.rawValue)
            case .drop(let id, let reason):
                log.finish(request: Int(id), outcome: .dropped, reason: reason.rawValue)
                if strategy.viaFallback(id) { log.dropFallback[Int(id)] = 1 }
            case .submitBatch(let first, let pollEvery):
                submitBatch(strategy.batchRequests(first: first), pollEvery: pollEvery, strategy: strategy,
                            transport: &transport)
            }
            i += 1
        }
        commands.removeAll(keepingCapacity: true)
    }

    /// Fills in the model class and trimmed prompt the strategy chose for the attempt; the
    /// trimmed prompt is capped at the request's own and never below its cached prefix.
    @inlinable @inline(__always)
    public func routeOrder<S: ClientStrategy>(_ order: inout SendOrder, _ strategy: S) {
        order.modelClass = strategy.modelClass(for: order.request)
        if let n = strategy.inputTokens(for: order.request) {
            let r = Int(order.request)
            let own = Int(stream.inputTokens[r])
            let n = Swift.min(own, Swift.max(Int(stream.prefixTokens[r]), n))
            if n < own {
                order.inputTokens = n
                order.trimmedTokens = own - n
            }
        }
    }
}

// MARK: Message Batches

extension ClientLoop {
    /// Hands a batch to the transport, created with the key of its first request.
    @inlinable
    public mutating func submitBatch<S: ClientStrategy, T: ClientTransport>(
        _ ids: [Int32], pollEvery: Double, strategy: S, transport: inout T
    ) {
        guard let first = ids.first else {
            preconditionFailure("strategy \(S.self) submitted a batch and lists no requests for it (batchRequests(first:))")
        }
        let k = strategy.key(for: first)
        guard k >= 0 && k < transport.keyCount else { preconditionFailure("strategy chose key \(k) of \(transport.keyCount)") }
        transport.submitBatch(BatchOrder(requests: ids, key: k, pollEvery: pollEvery, plannedAt: now), log: &log)
    }
}
