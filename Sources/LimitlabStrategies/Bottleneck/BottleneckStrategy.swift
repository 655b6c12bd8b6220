public import LimitlabCore

/// A faithful port of the Bottleneck v2.19.5 scheduler (local datastore) as a pure state
/// machine. Each request is one Bottleneck job.
///
/// - Submit: a job heavier than `maxConcurrent` is rejected (dropped). If the queue holds exactly
///   `highWater` jobs and the new one could not start at once (capacity or `minTime`), the
///   overflow strategy acts (LEAK, OVERFLOW_PRIORITY, OVERFLOW, BLOCK); else the job joins the
///   list of its priority and the queue drains. While blocked (until `penalty` after the last
///   submission) every submission is dropped and extends the block.
/// - Drain: while the head of the highest-priority list fits the capacity
///   (`min(maxConcurrent − running, reservoir)`), register it: `running += weight`,
///   `reservoir −= weight`, start at `max(nextRequest, now)`, `nextRequest = start + minTime`.
///   A head that does not fit holds every job behind it (head-of-line). `minTime` never holds
///   the queue: a registered job waits out its start outside it, holding its weight.
/// - Drains happen on submit, when a job ends (success or give-up) and on a heartbeat tick that
///   refreshes the reservoir or increases it. Ticks are at `origin + k × heartbeat` (origin =
///   limiter creation, time 0 of a run, not the first submission), so refreshes and increases
///   are late by up to one heartbeat and never early.
/// - Retries (from `retry`): with `retryInside` (Bottleneck's `failed` event returning a delay)
///   the job stays registered, holding its `maxConcurrent` share, and is sent again after the
///   delay without `minTime` or the reservoir. Without it the failed job ends (freeing its share)
///   and the retry is a new submission after the delay, through `highWater`, BLOCK, the queue,
///   `minTime` and the reservoir; if that submission is dropped the request ends dropped.
/// - `readyAt` of a send: when the job was submitted, or when its retry became due.
/// - A head that can never fit (weight above every reservoir the refresh/increase can reach)
///   stays queued for good, as in Bottleneck: its requests never end (the report counts them
///   "unfinished"), and no wakeup is requested for it.
public struct BottleneckStrategy: ClientStrategy {
    /// The limiter's options.
    public let settings: BottleneckSettings
    /// Decides, after a failed attempt, whether and when the job runs again (the `failed`
    /// listener's return value).
    public var retry: any RetryPolicy
    private let jobOptions: ((PendingRequest) -> BottleneckJobOptions)?

    /// Bottleneck's `currentReservoir()`: nil when no reservoir is set.
    public private(set) var reservoir: Int?
    /// Summed weight of registered jobs: waiting out `minTime`, in flight, or waiting for a retry inside.
    public private(set) var running = 0
    /// When BLOCK's block ends (−∞ when it never started); submissions at or before it are dropped.
    public private(set) var blockedUntil = -Double.infinity
    private var nextRequest: Double
    private var heartbeat: BottleneckHeartbeat
    private var queues = BottleneckQueues()
    /// Weight held by each registered request.
    private var held: [Int32: Int] = [:]

    private struct Send: Comparable, Sendable {
        var time: Double
        var sequence: UInt64
        var request: Int32
        var readyAt: Double
        static func < (a: Send, b: Send) -> Bool { a.time < b.time || (a.time == b.time && a.sequence < b.sequence) }
        static func == (a: Send, b: Send) -> Bool { a.time == b.time && a.sequence == b.sequence }
    }
    private struct Resubmission: Comparable, Sendable {
        var time: Double
        var sequence: UInt64
        var request: PendingRequest
        static func < (a: Self, b: Self) -> Bool { a.time < b.time || (a.time == b.time && a.sequence < b.sequence) }
        static func == (a: Self, b: Self) -> Bool { a.time == b.time && a.sequence == b.sequence }
    }
    /// Registered starts and retry-inside sends, by time.
    private var sends = MinHeap<Send>()
    /// Retry-outside resubmissions, by due time.
    private var resubmissions = MinHeap<Resubmission>()
    private var sequence: UInt64 = 0
    private var due: [StrategyCommand] = []

    private struct WakeKey: Equatable {
        var weight: Int, level: Int, lastRefresh: Int, lastIncrease: Int
    }
    private var heartbeatWake: Double?
    private var wakeMemo: (key: WakeKey, tick: Int?)?

    /// A limiter created at `origin` (the heartbeat grid and the first `nextRequest` start
    /// there). `jobOptions` gives each request's weight and priority; nil: `settings.weight`
    /// and `settings.priority` for every job.
    public init(settings: BottleneckSettings, retry: any RetryPolicy = NoRetryPolicy(), origin: Double = 0,
                jobOptions: ((PendingRequest) -> BottleneckJobOptions)? = nil) {
        self.settings = settings
        self.retry = retry
        self.jobOptions = jobOptions
        reservoir = settings.reservoir
        nextRequest = origin
        heartbeat = BottleneckHeartbeat(settings: settings, origin: origin)
    }

    /// Jobs waiting in the queue (Bottleneck's `queued()`), not counting registered ones.
    public var queued: Int { queues.count }

    /// `queue.length` (jobs queued), `running` (Bottleneck's running weight) and, with a
    /// reservoir, `reservoir` (`currentReservoir()`).
    public func stateGauges(now: Double) -> [StateGauge] {
        var out = [StateGauge("queue.length", Double(queues.count)), StateGauge("running", Double(running))]
        if let reservoir { out.append(StateGauge("reservoir", Double(reservoir))) }
        return out
    }

    public mutating func arrived(_ request: PendingRequest, now: Double) {
        advance(to: now)
        submit(job(for: request, readyAt: now), now: now)
        updateHeartbeatWake()
    }

    public mutating func finished(_ request: PendingRequest, attempt: Int, outcome: AttemptOutcome, now: Double) {
        advance(to: now)
        if outcome.succeeded {
            free(request.id, now: now)
        } else {
            switch retry.decide(after: outcome, attempt: attempt, now: now) {
            case .giveUp(let reason):
                due.append(.giveUp(request: request.id, reason: reason))
                free(request.id, now: now)
            case .wait(let delay):
                let at = now + Swift.max(0, delay)
                sequence &+= 1
                if settings.retryInside {
                    // `run(retryAfter)`: a bare timer, no registration, the weight stays held.
                    sends.push(Send(time: at, sequence: sequence, request: request.id, readyAt: at))
                } else {
                    free(request.id, now: now)
                    resubmissions.push(Resubmission(time: at, sequence: sequence, request: request))
                }
            }
        }
        updateHeartbeatWake()
    }

    public mutating func poll(now: Double, into commands: inout [StrategyCommand]) {
        advance(to: now)
        commands.append(contentsOf: due)
        due.removeAll(keepingCapacity: true)
        while let s = sends.min, s.time <= now {
            sends.pop()
            commands.append(.send(request: s.request, readyAt: s.readyAt))
        }
        updateHeartbeatWake()
    }

    public var nextWakeup: Double? {
        let t = Swift.min(sends.min?.time ?? .infinity, resubmissions.min?.time ?? .infinity,
                          heartbeatWake ?? .infinity)
        return t == .infinity ? nil : t
    }

    /// Bottleneck reads no response headers.
    public var readsRateLimitHeaders: Bool { false }

    // MARK: - Scheduler

    private func job(for request: PendingRequest, readyAt: Double) -> BottleneckJob {
        let o = jobOptions?(request) ?? BottleneckJobOptions(weight: settings.weight, priority: settings.priority)
        return BottleneckJob(request: request, weight: Swift.max(0, o.weight),
                             priority: Swift.min(Swift.max(o.priority, 0), BottleneckQueues.priorities - 1),
                             readyAt: readyAt)
    }

    /// Applies, in time order, the heartbeat firings and retry resubmissions due by `now`.
    /// Firings while nothing waits only change the reservoir, so catching up lazily here gives
    /// the state Bottleneck's timer would have; the driver is woken for firings that can start
    /// the queue head (`updateHeartbeatWake`). A firing and a resubmission at the same instant:
    /// the firing first.
    private mutating func advance(to now: Double) {
        while true {
            let tick = heartbeat.nextFiringTick
            let tickTime = tick.map { heartbeat.time(ofTick: $0) } ?? .infinity
            let resubmitTime = resubmissions.min?.time ?? .infinity
            if let tick, tickTime <= now, tickTime <= resubmitTime {
                if heartbeat.fire(tick: tick, reservoir: &reservoir) { drainAll(now: tickTime) }
            } else if resubmitTime <= now, let r = resubmissions.pop() {
                submit(job(for: r.request, readyAt: r.time), now: r.time)
            } else {
                return
            }
        }
    }

    /// `computeCapacity`: nil when neither `maxConcurrent` nor a reservoir limits.
    private var capacity: Int? {
        switch (settings.maxConcurrent, reservoir) {
        case let (m?, r?): return Swift.min(m - running, r)
        case let (m?, nil): return m - running
        case let (nil, r?): return r
        case (nil, nil): return nil
        }
    }

    private func fits(_ weight: Int) -> Bool { capacity.map { weight <= $0 } ?? true }

    /// `check`: could a job of this weight start right now?
    private func check(_ weight: Int, now: Double) -> Bool { fits(weight) && nextRequest - now <= 0 }

    /// `_addToQueue` with `LocalDatastore.__submit__`.
    private mutating func submit(_ job: BottleneckJob, now: Double) {
        if let m = settings.maxConcurrent, job.weight > m {
            // Bottleneck throws a BottleneckError at submit; the job never runs.
            drop(job)
            return
        }
        let reachedHWM = settings.highWater.map { queues.count == $0 } == true && !check(job.weight, now: now)
        if settings.strategy == .block && (reachedHWM || blockedUntil >= now) {
            blockedUntil = now + settings.effectivePenalty
            nextRequest = blockedUntil + settings.minTime
            for queuedJob in queues.removeAll() { drop(queuedJob) }
            drop(job)
            return
        }
        if reachedHWM {
            let shifted: BottleneckJob?
            switch settings.strategy {
            case .leak: shifted = queues.shiftLastFrom(job.priority)
            case .overflowPriority: shifted = queues.shiftLastFrom(job.priority + 1)
            case .overflow, .block: shifted = nil
            }
            guard let shifted else {
                drop(job)
                return
            }
            drop(shifted)
        }
        queues.push(job)
        drainAll(now: now)
    }

    /// `_drainAll` with `__register__`: start queue heads while they fit.
    private mutating func drainAll(now: Double) {
        while let head = queues.first, fits(head.weight) {
            queues.removeFirst()
            running += head.weight
            if let r = reservoir { reservoir = r - head.weight }
            let wait = Swift.max(nextRequest - now, 0)
            nextRequest = now + wait + settings.minTime
            held[head.request.id] = head.weight
            sequence &+= 1
            sends.push(Send(time: now + wait, sequence: sequence, request: head.request.id, readyAt: head.readyAt))
        }
    }

    /// `__free__`: the job is done; its weight returns and the queue drains.
    private mutating func free(_ request: Int32, now: Double) {
        guard let weight = held.removeValue(forKey: request) else { return }
        running -= weight
        drainAll(now: now)
    }

    private mutating func drop(_ job: BottleneckJob) {
        due.append(.drop(request: job.request.id, reason: .queueOverflow))
    }

    /// The heartbeat firing that lets the queue head start, if the head waits on the reservoir
    /// alone (a head held by `maxConcurrent` is drained by a completion instead).
    private mutating func updateHeartbeatWake() {
        heartbeatWake = nil
        guard heartbeat.isActive, let head = queues.first, let level = reservoir, head.weight > level else { return }
        if let m = settings.maxConcurrent, m - running < head.weight { return }
        let key = WakeKey(weight: head.weight, level: level, lastRefresh: heartbeat.lastRefresh,
                          lastIncrease: heartbeat.lastIncrease)
        let tick: Int?
        if let memo = wakeMemo, memo.key == key {
            tick = memo.tick
        } else {
            tick = heartbeat.firstTick(reservoirReaches: head.weight, from: level)
            wakeMemo = (key, tick)
        }
        heartbeatWake = tick.map { heartbeat.time(ofTick: $0) }
    }
}

extension BottleneckStrategy {
    /// Defaults are Bottleneck's own (`storeDefaults`, `localStoreDefaults`, `jobDefaults` in
    /// src/Bottleneck.coffee); "none" is Bottleneck's `null`. Retries come from the scenario's `retry:`.
    static let definition = StrategyDefinition.scheduler(
        "bottleneck",
        summary: "Faithful port of the Bottleneck job scheduler: min_time spacing of job starts, "
            + "max_concurrent, high_water with LEAK/OVERFLOW_PRIORITY/OVERFLOW/BLOCK, a reservoir refreshed or "
            + "increased on a 250 ms heartbeat whose grid starts at time 0 (limiter creation), head-of-line "
            + "blocking by weight. Retries come from retry: (default none); retry_inside: true retries as "
            + "Bottleneck's failed event does, outside min_time and the reservoir.",
        mirrors: "Bottleneck v2.19.5 (https://github.com/SGrondin/bottleneck @b835283)",
        parameters: [
            StrategyParameter(
                "max_concurrent", .integer(min: 1, max: Int.max), "none",
                "Most summed job weight running at once; a job waiting out min_time or a retry_inside wait "
                    + "already holds it. none: unlimited."),
            StrategyParameter(
                "min_time", .duration, "0ms",
                "Least time between two job starts (not scaled by weight, independent of job duration)."),
            StrategyParameter(
                "high_water", .integer(min: 0, max: Int.max), "none",
                "Queue length at which `strategy` acts on a new job that cannot start at once. none: unbounded."),
            StrategyParameter(
                "strategy", .choice(["LEAK", "OVERFLOW_PRIORITY", "OVERFLOW", "BLOCK"]), "LEAK",
                "At high_water: LEAK drops the oldest queued job of the lowest priority ≥ the new job's "
                    + "(else the new job); OVERFLOW_PRIORITY the same among strictly lower priorities; OVERFLOW "
                    + "drops the new job; BLOCK drops the queue and the new job and refuses submissions until "
                    + "`penalty` passes with none."),
            StrategyParameter(
                "penalty", .duration, "none",
                "BLOCK only: how long the block lasts after the last submission; it also delays the next "
                    + "start to its end + min_time. none: 15 × min_time, or 5 s when min_time is 0."),
            StrategyParameter(
                "reservoir", .integer(min: 0, max: Int.max), "none",
                "Initial reservoir: a job starts only when its weight ≤ the reservoir, and takes its weight. "
                    + "none: no reservoir (until a refresh or increase sets one)."),
            StrategyParameter(
                "reservoir_refresh_interval", .duration, "none",
                "Reset the reservoir to reservoir_refresh_amount on the first heartbeat tick at least this "
                    + "long after the previous reset (or time 0); late by up to one heartbeat, never early."),
            StrategyParameter(
                "reservoir_refresh_amount", .integer(min: 0, max: Int.max), "none",
                "The value a refresh resets the reservoir to (a reset, not an addition)."),
            StrategyParameter(
                "reservoir_increase_interval", .duration, "none",
                "Add reservoir_increase_amount on the first heartbeat tick at least this long after the "
                    + "previous increase tick (or time 0)."),
            StrategyParameter(
                "reservoir_increase_amount", .integer(min: 0, max: Int.max), "none",
                "What an increase adds."),
            StrategyParameter(
                "reservoir_increase_maximum", .integer(min: 0, max: Int.max), "none",
                "An increase never lifts the reservoir above this. none: no cap."),
            StrategyParameter(
                "heartbeat", .duration, "250ms",
                "Period of the timer that applies refresh and increase (Bottleneck's heartbeatInterval: "
                    + "250 ms local, 5 s clustered); ticks at k × heartbeat from time 0."),
            StrategyParameter(
                "weight", .integer(min: 0, max: Int.max), "1",
                "Every job's weight: what it takes from max_concurrent and the reservoir."),
            StrategyParameter(
                "priority", .integer(min: 0, max: 9), "5",
                "Every job's priority (0 runs first); with one priority for all, the queue is FIFO."),
            StrategyParameter(
                "retry_inside", .bool, "true",
                "true: a retry is returned from the failed event, so it keeps its max_concurrent share while "
                    + "it waits and is sent after the wait, outside min_time and the reservoir. false: the "
                    + "failed job ends and the retry is a new submission through high_water, the queue, "
                    + "min_time and the reservoir."),
        ]
    ) { (p, retry, _) throws(StrategyError) in
        BottleneckStrategy(settings: try BottleneckStrategy.settings(p), retry: retry)
    }

    static func settings(_ p: Params) throws(StrategyError) -> BottleneckSettings {
        let strategyName = try p.string("strategy")
        guard let strategy = BottleneckSettings.OverflowStrategy(rawValue: strategyName) else {
            throw StrategyError(message: "\(p.owner): unknown strategy \"\(strategyName)\"; expected one of "
                                + BottleneckSettings.OverflowStrategy.allCases.map(\.rawValue).joined(separator: ", "))
        }
        let settings = BottleneckSettings(
            maxConcurrent: try p.optionalInt("max_concurrent"),
            minTime: try p.double("min_time"),
            highWater: try p.optionalInt("high_water"),
            strategy: strategy,
            penalty: try p.optionalDouble("penalty"),
            reservoir: try p.optionalInt("reservoir"),
            reservoirRefreshInterval: try p.optionalDouble("reservoir_refresh_interval"),
            reservoirRefreshAmount: try p.optionalInt("reservoir_refresh_amount"),
            reservoirIncreaseInterval: try p.optionalDouble("reservoir_increase_interval"),
            reservoirIncreaseAmount: try p.optionalInt("reservoir_increase_amount"),
            reservoirIncreaseMaximum: try p.optionalInt("reservoir_increase_maximum"),
            heartbeatInterval: try p.double("heartbeat"),
            weight: try p.int("weight"),
            priority: try p.int("priority"),
            retryInside: try p.bool("retry_inside"))
        let errors = settings.validationErrors()
        guard errors.isEmpty else {
            throw StrategyError(message: "\(p.owner): " + errors.joined(separator: "; "))
        }
        return settings
    }
}
