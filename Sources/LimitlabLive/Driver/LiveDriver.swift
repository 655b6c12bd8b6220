import LimitlabClient
import LimitlabCore
internal import CCurl

/// What one strategy run needs besides the strategy itself.
struct RunEnvironment {
    let scenario: Scenario
    let stream: ArrivalStream
    let target: LiveTarget
    let model: String
    let options: LiveOptions
    let control: RunControl
    let spend: SpendGuard
    let counters: SharedCounters
    let runIndex: Int
    let runCount: Int
    /// Distinguishes this run's cache prefixes from other runs'.
    let nonce: Int
    /// This run's live metrics (LiveOptions.metrics), or nil.
    var metrics: LiveRunMetrics? = nil
}

/// Counts that span strategy runs (the request cap is for the whole live run).
final class SharedCounters {
    var attemptsSent = 0
}

/// The engine: drives one strategy over one arrival stream in wall-clock time on the calling
/// thread, with libcurl's multi interface on the same thread.
///
/// The client side is the simulator's own `ClientLoop`: events are handled in time order —
/// completions, then arrivals, then strategy wakeups — each followed by `poll`; a send is made
/// at the model time of the event that caused it. Here an event's model time is its scheduled
/// time (an arrival's intended time, a wakeup's time) or its measured time (a completion), so
/// the strategy sees the schedule it asked for; the send itself happens when the engine gets to
/// it, and the difference (actual − planned) is the schedule lag, recorded per attempt. Nothing
/// waits for a response before sending the next request, so a slow server cannot slow the
/// schedule (no coordinated omission); if the engine falls behind, the lag shows it.
enum LiveDriver {
    static func run<S: ClientStrategy>(_ strategy: inout S, spec: StrategySpec,
                                       env: RunEnvironment) throws(LiveError) -> LiveRun {
        let stream = env.stream
        let options = env.options
        let n = stream.count
        // Timed waits may otherwise end up to 50 µs late (the default timer slack): schedule lag.
        _ = limitlab_set_timer_slack(1000)
        var transport = try LiveTransport(env: env)
        let multi = transport.multi
        let clock = transport.clock
        env.control.attach(wakeupFD: multi.wakeupFD)

        var loop = ClientLoop(stream: stream)
        // Several workers in one process (a `workers:` block) fill the worker column here; a
        // worker process's own column is set by LiveRunner.
        loop.recordsWorker = options.worker == nil
        loop.log.bucketSampleInterval = transport.sampleInterval

        var nextProgress = options.progress == nil ? Double.infinity : Swift.max(0.05, options.progressInterval)
        var lastProgress = 0.0
        var sentAtLastProgress = 0
        func reportProgress(at t: Double) {
            guard let progress = options.progress else { return }
            let span = Swift.max(1e-9, t - lastProgress)
            progress(LiveProgress(run: env.runIndex, runs: env.runCount, strategy: spec.label, elapsed: t,
                                  arrived: loop.nextArrival, total: n, sent: transport.sent,
                                  completed: transport.completed, inFlight: multi.activeCount,
                                  status429: transport.status429, errors: transport.errors,
                                  sendRate: Double(transport.sent - sentAtLastProgress) / span,
                                  maxLag: transport.maxLag, stopping: transport.stopping))
            sentAtLastProgress = transport.sent
            lastProgress = t
        }

        // The idle timeout is checked here rather than with CURLOPT_LOW_SPEED_TIME, whose speed
        // is a ~5 s moving average (a stall was detected 5 s late).
        let idleNanos = options.idleTimeout.map { UInt64(Swift.max(0.001, $0) * 1e9) }
        let idleCheckEvery = options.idleTimeout.map { Swift.min(0.1, Swift.max(0.001, $0) / 4) } ?? .infinity
        var nextIdleCheck = idleCheckEvery

        /// Monotonic nanoseconds of a model time (saturating; .max for infinity).
        @inline(__always) func nanos(_ t: Double) -> UInt64 {
            guard t < 1e9 else { return .max }
            return t <= 0 ? clock.originNanos : clock.originNanos &+ UInt64(t * 1e9)
        }

        /// When the schedule next wants the engine (an arrival or the strategy's wakeup), as
        /// monotonic nanoseconds. It changes only when events are handled.
        var scheduleDueNanos = UInt64.max
        func refreshSchedule() {
            var due = Double.infinity
            if !transport.stopping { due = loop.nextArrivalTime }
            if let w = strategy.nextWakeup { due = Swift.min(due, w) }
            due = Swift.min(due, transport.nextBatchPoll)
            scheduleDueNanos = nanos(due)
        }

        // The watchdog (RunControl.watch) sees each libcurl call that can do I/O as entered and
        // left; one that does not return within `watchdogTimeout` makes it abandon this engine
        // and build the partial run below on its own thread. So the sections bracketed here
        // must not change what that snapshot reads (the log, the attempts, `done`, the active
        // set): libcurl's callbacks only touch their own transfer's response.
        let control = env.control
        let hooks = options.hooks
        @inline(__always) func timers() throws(LiveError) {
            control.enterCurl()
            multi.runTimers()
            hooks.insideTimers?(transport.sent)
            guard control.leaveCurl() else { throw LiveDriver.abandoned }
            transport.unstarted = 0
        }
        @inline(__always) func socketEvent(_ i: Int) throws(LiveError) {
            control.enterCurl()
            multi.socketEvent(i)
            guard control.leaveCurl() else { throw LiveDriver.abandoned }
        }
        let snapshotTransport = transport
        control.setSnapshot {
            // On the watchdog's thread, the engine stuck inside libcurl: transfers in flight are
            // cut without reading their responses (libcurl may still be writing them), ended ones
            // are recorded in full (libcurl no longer has them).
            let tr = snapshotTransport
            let cutAt = clock.now()
            for d in tr.done { _ = tr.record(d.transfer, d.result, at: d.time, log: &loop.log) }
            tr.done.removeAll()
            for t in multi.inFlight where t.kind == .message { tr.recordAbandoned(t, at: cutAt, log: &loop.log) }
            tr.cutBatches(at: cutAt, log: &loop.log)
            tr.beginStop(.engineStuck, at: Swift.max(loop.now, cutAt))
            tr.failure = LiveError(.curl, "the engine was stuck inside libcurl (curl_multi_socket_action) for "
                                   + "\(options.watchdogTimeout ?? 0) s and was abandoned")
            return LiveDriver.finish(spec: spec, env: env, loop: loop, transport: tr, end: cutAt)
        }

        /// Handles every event due now and puts the sends it made on the wire.
        func pump() throws(LiveError) {
            transport.collect()
            let t = clock.now()
            if transport.runBatchPolls(at: t) { try timers() }
            transport.beginEvents()
            if loop.run(&strategy, until: t, transport: &transport) == .stalled {
                // Woken at a past instant with nothing to do: the simulator stops such a
                // strategy too, rather than spin.
                transport.beginStop(.strategyStalled, at: loop.now)
            }
            if transport.endEvents() { try timers() } // libcurl starts new transfers on its timer
            refreshSchedule()
        }

        var cutShort = false
        defer { control.setWorking(false) } // also when the loop throws
        running: while true {
            guard control.beat() else { throw LiveDriver.abandoned }
            control.setWorking(true)
            hooks.eachLoop?(env.runIndex, transport.sent)
            if let idleNanos, clock.now() >= nextIdleCheck {
                let nowNanos = Clock.monotonicNanos()
                if nowNanos > idleNanos {
                    for tr in multi.idle(since: nowNanos - idleNanos) {
                        multi.abort(tr)
                        transport.ended(tr, .idle, at: clock.seconds(nowNanos))
                    }
                }
                nextIdleCheck = clock.now() + idleCheckEvery
            }
            if !transport.stopping && env.control.isStopRequested {
                transport.beginStop(.interrupted, at: Swift.max(loop.now, clock.now()))
            }
            try pump()
            let t = clock.now()
            if t >= nextProgress {
                reportProgress(at: t)
                nextProgress = t + Swift.max(0.05, options.progressInterval)
            }

            if transport.stopping {
                if multi.activeCount == 0 && transport.done.isEmpty && !transport.batchesPending
                    && transport.batchReady.isEmpty { break running }
                if clock.now() >= transport.graceDeadline {
                    cutShort = true
                    break running
                }
            } else if loop.isDrained(strategy) && multi.activeCount == 0 && transport.done.isEmpty
                        && !transport.batchesPending && transport.batchReady.isEmpty {
                break running
            }
            // Completions that arrived while sending are handled before sleeping.
            transport.collect()
            if !transport.done.isEmpty || !transport.batchReady.isEmpty { continue }

            // Sleep until the next due event, libcurl's timer, socket activity or a wakeup.
            var due = scheduleDueNanos
            if transport.stopping { due = Swift.min(due, nanos(transport.graceDeadline)) }
            due = Swift.min(due, nanos(nextProgress))
            due = Swift.min(due, nanos(transport.nextBatchPoll))
            if multi.activeCount > 0 { due = Swift.min(due, nanos(nextIdleCheck)) }
            due = Swift.min(due, multi.timerDueNanos)
            let now = Clock.monotonicNanos()
            if due > now {
                // Every wait has a bound (1 s), whatever is due.
                let wait = Int64(clamping: Swift.min(due - now, 1_000_000_000))
                control.setWorking(false) // a bounded wait is not being stuck
                let events = multi.wait(timeoutNanos: wait)
                control.setWorking(true)
                for i in 0..<events {
                    try socketEvent(i)
                    // A send that falls due while a batch of responses is read goes out first:
                    // this bounds its lag by one socket's work, not a whole batch's.
                    if scheduleDueNanos <= Clock.monotonicNanos() { try pump() }
                }
                if events == 0 && !multi.preciseWaits {
                    // epoll_wait rounds its timeout down to whole milliseconds: sleep the rest.
                    let left = Int64(clamping: due) - Int64(clamping: Clock.monotonicNanos())
                    if left > 0 && left < 1_000_000 { Clock.sleep(Double(left) / 1e9) }
                }
            }
            if multi.timerDueNanos <= Clock.monotonicNanos() { try timers() }
        }
        control.setWorking(false)
        control.setSnapshot(nil)
        if cutShort {
            // In-flight attempts past the grace period are cut and recorded as timeouts; their
            // strategy is not told, so their requests stay unfinished.
            transport.collect()
            let cutAt = clock.now()
            for tr in multi.abortAll() where tr.kind == .message {
                _ = transport.record(tr, .aborted, at: cutAt, log: &loop.log)
                multi.recycle(tr)
            }
            transport.cutBatches(at: cutAt, log: &loop.log)
            for d in transport.done {
                _ = transport.record(d.transfer, d.result, at: d.time, log: &loop.log)
                multi.recycle(d.transfer)
            }
            transport.done.removeAll()
        }
        let end = clock.now()
        if options.progress != nil { reportProgress(at: end) }
        env.control.detach()
        multi.close()
        let final = strategy
        return finish(spec: spec, env: env, loop: loop, transport: transport, end: end,
                      gauges: { $0.sampleStateGauges(final) })
    }

    /// Thrown out of the engine when the watchdog has abandoned it (nobody catches it for a
    /// result: the watchdog delivered one).
    static let abandoned = LiveError(.state, "the engine was abandoned by the watchdog")

    /// The run as recorded, once no transfer is left to record. `gauges` samples the strategy's
    /// limiter state at the final bucket samples (nil on the watchdog's thread, which must not
    /// touch the strategy the stuck engine owns).
    static func finish(spec: StrategySpec, env: RunEnvironment, loop: ClientLoop, transport: LiveTransport,
                       end: Double, gauges: ((inout ClientLoop) -> Void)? = nil) -> LiveRun {
        var loop = loop
        transport.sampleBuckets(upTo: Swift.max(loop.now, Swift.min(end, env.stream.window)), log: &loop.log)
        gauges?(&loop)
        let log = loop.log
        if let m = env.metrics {
            // The report counts an arrived request the run left unfinished as failed; so do the
            // metrics (a partial report may count fewer: only what every strategy was offered).
            var unfinished = 0
            for r in 0..<Swift.min(loop.nextArrival, log.requestCount)
            where RequestOutcome(rawValue: log.outcome[r]) ?? .pending == .pending {
                unfinished += 1
            }
            m.requestsUnfinished(unfinished)
            m.finish()
        }
        let live = transport.live
        var lags: [Double] = []
        lags.reserveCapacity(live.count)
        for i in 0..<live.count { lags.append(log.sentAt[i] - live.plannedAt[i]) }
        return LiveRun(spec: spec, log: log, attempts: live, offered: loop.nextArrival, lag: LagSummary.of(lags),
                       partial: transport.stopping, stopReason: transport.stopReason, stoppedAt: transport.stoppedAt,
                       epoch: transport.clock.epoch, baseURL: env.target.baseURL, errorCauses: transport.errorCauses,
                       costUSD: transport.costUSD, failure: transport.failure?.message)
    }

    /// The error kind of an error type (body or stream), falling back to the status.
    static func kind(errorType: String?, status: Int) -> ErrorKind {
        switch errorType {
        case "rate_limit_error"?: return .rateLimited
        case "overloaded_error"?: return .overloaded
        case "timeout_error"?: return .serverError
        case "api_error"?: return .serverError
        default: break
        }
        switch status {
        case 429: return .rateLimited
        case 529: return .overloaded
        case 500...599: return .serverError
        default: return .clientError
        }
    }

    /// The dimensions a 429 names. The message names the first refusing limit
    /// ("… of 50 requests per minute …"), so a multi-dimension refusal shows one dimension.
    static func refusedDimensions(message: String?) -> LimitDimensions {
        guard let m = message?.lowercased() else { return [] }
        var d: LimitDimensions = []
        if m.contains("requests per minute") { d.insert(.requests) }
        if m.contains("input tokens per minute") { d.insert(.inputTokens) }
        if m.contains("output tokens per minute") { d.insert(.outputTokens) }
        return d
    }
}

/// The live runner's side of a `ClientLoop`: sends go out over libcurl at once, completions are
/// measured on the wall clock, and what only a live run has is kept here — schedule lag, the
/// spend guard and request cap, stops, error causes, and bucket levels read from headers.
final class LiveTransport: ClientTransport {
    let env: RunEnvironment
    let stream: ArrivalStream
    let clock = ModelClock()
    let multi: CurlMulti
    let keys: [LiveAPIKey]
    let headerLists: HeaderLists
    let builder: RequestBodyBuilder
    /// Bodies for the scenario's other model classes (`models:`; class i uses element i − 1).
    let routedBuilders: [RequestBodyBuilder]
    /// Whether to send the `x-limitlab-output-tokens` hint (a loopback mock or a target that asks).
    let hint: Bool
    var scratch: [UInt8] = []
    /// Message Batch `params` (never streamed: batch requests cannot be).
    let batchBuilder: RequestBodyBuilder
    /// Transfer settings of batch calls (their URL is set per call).
    let batchSettings: TransferSettings
    /// The Message Batches submitted (see LiveBatches.swift).
    var batches: [LiveBatchJob] = []
    /// Batch attempts whose end is known, not yet handed to the strategy.
    var batchReady: [LiveBatchCompletion] = []

    var live = LiveAttempts()
    /// Ended transfers not yet handed to the strategy, with their end time.
    var done: [(transfer: Transfer, result: TransferResult, time: Double)] = []
    /// The next entry of `done` to deliver during `ClientLoop.run` (see `beginEvents`).
    var doneIndex = 0
    var sendsAdded = false

    var stopping = false
    var stopReason: LiveStopReason?
    var stoppedAt: Double?
    var graceDeadline = Double.infinity
    var failure: LiveError?
    var errorCauses: [String: Int] = [:]
    var costUSD = 0.0
    /// The model time of the latest event (where the schedule had got to).
    var scheduleNow = 0.0
    var eventsHandled = 0

    // Progress counters.
    var sent = 0, completed = 0, status429 = 0, errors = 0
    var maxLag = 0.0

    // Bucket levels of the first key, as its latest headers show them (remaining is clamped at
    // 0 and tokens rounded by the server, so debt is invisible), projected forward by refill.
    let sampleInterval: Double
    var nextSample = 0.0
    var latestHeaders: (time: Double, snapshot: RateLimitSnapshot)?

    init(env: RunEnvironment) throws(LiveError) {
        self.env = env
        stream = env.stream
        let n = stream.count
        hint = env.target.outputTokensHint ?? env.target.isLoopback
        // Constant headers per key, one shared libcurl list each; `Expect:` turns off curl's
        // 100-continue round trip for bodies over 1 KiB.
        keys = env.target.apiKeys.isEmpty
            ? (0..<env.scenario.limits.keyConfigs.count).map { LiveAPIKey(LiveTarget.placeholderKey($0)) }
            : env.target.apiKeys
        headerLists = HeaderLists(perKey: keys.map { key in
            ["content-type: application/json", "anthropic-version: \(env.target.anthropicVersion)",
             "x-api-key: \(key.secret)", "Expect:"]
        })
        let options = env.options
        let settings = TransferSettings(url: env.target.messagesURL, connectTimeout: options.connectTimeout,
                                        requestTimeout: options.requestTimeout,
                                        http2: env.target.baseURL.lowercased().hasPrefix("https:"))
        batchSettings = settings
        multi = try CurlMulti(settings: settings, headers: headerLists, maxConnections: options.maxConnections)
        batchBuilder = RequestBodyBuilder(model: env.model, stream: false,
                                          longCacheTTL: (env.scenario.workload.cache?.ttl ?? 300) >= 3600,
                                          nonce: env.nonce)
        builder = RequestBodyBuilder(model: env.model, stream: env.scenario.workload.stream,
                                     longCacheTTL: (env.scenario.workload.cache?.ttl ?? 300) >= 3600,
                                     nonce: env.nonce)
        routedBuilders = env.scenario.models.map {
            RequestBodyBuilder(model: $0.model, stream: env.scenario.workload.stream,
                               longCacheTTL: (env.scenario.workload.cache?.ttl ?? 300) >= 3600, nonce: env.nonce)
        }
        scratch.reserveCapacity(4096)
        live.plannedAt.reserveCapacity(n); live.firstByteAt.reserveCapacity(n); live.connectSeconds.reserveCapacity(n)
        live.inputTokens.reserveCapacity(n)
        live.outputTokens.reserveCapacity(n); live.curlCode.reserveCapacity(n); live.requestId.reserveCapacity(n)
        live.stopReason.reserveCapacity(n)
        sampleInterval = TimeBins.width(span: Swift.max(stream.window, 1))
    }

    /// Transfers added since libcurl last ran its timers (which is when it starts them).
    var unstarted = 0
    /// Most transfers libcurl is asked to start in one call. It starts every added transfer in
    /// the one `curl_multi_socket_action(CURL_SOCKET_TIMEOUT)` that follows, each a connection
    /// (~0.65 ms of CPU when new) and a walk over the open connections for one to reuse. An
    /// engine behind schedule adds thousands at once: one call then took seconds, more arrivals
    /// fell due meanwhile, the next call was longer still — at 10,000/s a run whose engine
    /// fell 3 s behind sat 20 s in one call (bench/soak.sh). Starting them 64 at a time keeps
    /// each call short, so the engine stays responsive (stop, grace period, progress) and
    /// its lag shows how far behind it is.
    static let startBatch = 64

    /// Lets libcurl start the transfers added so far (from inside the event handling).
    func startAdded() {
        env.control.enterCurl()
        multi.runTimers()
        env.options.hooks.insideTimers?(sent)
        guard env.control.leaveCurl() else {
            // The watchdog has taken this run over and is reading the log: this thread is
            // inside the strategy's event handling and cannot unwind without touching it, so it
            // stops here for good (the process, or the test, ends it).
            while true { Clock.sleep(3600) }
        }
        unstarted = 0
    }

    func beginStop(_ reason: LiveStopReason, at t: Double) {
        guard !stopping else { return }
        stopping = true
        stopReason = reason
        stoppedAt = t
        graceDeadline = clock.now() + Swift.max(0, env.options.gracePeriod)
    }

    func cause(_ text: String) { errorCauses[text, default: 0] += 1 }

    func sampleBuckets(upTo t: Double, log: inout RunLog) {
        while nextSample <= t {
            func level(_ r: RateLimitReading?) -> Float {
                guard let r, let h = latestHeaders else { return .nan }
                let rate = Double(r.limit) / 60
                let full = r.remaining + Swift.max(0, r.resetAt - h.time) * rate
                return Float(Swift.min(full, r.remaining + Swift.max(0, nextSample - h.time) * rate))
            }
            let s = latestHeaders?.snapshot
            log.bucketRequests.append(level(s?.requests))
            log.bucketInputTokens.append(level(s?.inputTokens))
            log.bucketOutputTokens.append(level(s?.outputTokens))
            nextSample += sampleInterval
        }
    }

    /// Moves ended transfers from libcurl to `done`.
    func collect() {
        multi.collectDone { t, result in
            // A clean finish ends at its last byte; a failure when libcurl reported it.
            let ns = result.isOK && t.response.lastByteNanos != 0 ? t.response.lastByteNanos
                : Clock.monotonicNanos()
            if t.kind != .message {
                batchCallEnded(t, result, at: clock.seconds(ns))
            } else {
                done.append((t, result, clock.seconds(ns)))
            }
        }
    }

    /// Hands a transfer the engine ended (the idle check) to where its kind is recorded.
    func ended(_ t: Transfer, _ result: TransferResult, at time: Double) {
        if t.kind != .message { batchCallEnded(t, result, at: time) } else { done.append((t, result, time)) }
    }

    /// Before a `ClientLoop.run`: completions are delivered in end-time order.
    func beginEvents() {
        done.sort { $0.time < $1.time }
        batchReady.sort { $0.time < $1.time }
        doneIndex = 0
        sendsAdded = false
        eventsHandled = 0
    }

    /// After a `ClientLoop.run`: drops the delivered completions; true when sends were added.
    func endEvents() -> Bool {
        done.removeSubrange(0..<Swift.min(doneIndex, done.count))
        doneIndex = 0
        return sendsAdded
    }

    // MARK: ClientTransport

    var keyCount: Int { keys.count }

    var nextCompletionTime: Double {
        let t = doneIndex < done.count ? done[doneIndex].time : .infinity
        return batchReady.isEmpty ? t : Swift.min(t, batchReady[0].time)
    }

    func acceptsArrivals() -> Bool {
        // A runner far behind schedule can have a backlog of seconds to handle; a stop must
        // still end it promptly (it turns the remaining arrivals into "not offered").
        eventsHandled += 1
        if eventsHandled & 63 == 0 && !stopping && env.control.isStopRequested {
            beginStop(.interrupted, at: scheduleNow)
        }
        return !stopping
    }

    func advance(to now: Double, log: inout RunLog) {
        scheduleNow = now
        sampleBuckets(upTo: now, log: &log)
    }

    func popCompletion(dueBy now: Double, log: inout RunLog) -> (attempt: Int32, outcome: AttemptOutcome)? {
        if let c = batchReady.first, c.time <= now, doneIndex >= done.count || c.time <= done[doneIndex].time {
            batchReady.removeFirst()
            return (c.attempt, recordBatch(c, log: &log))
        }
        guard doneIndex < done.count, done[doneIndex].time <= now else { return nil }
        let d = done[doneIndex]
        doneIndex += 1
        let outcome = record(d.transfer, d.result, at: d.time, log: &log)
        let attempt = d.transfer.attempt
        if outcome.succeeded, let m = env.metrics {
            let intended = stream.intendedAt[Int(d.transfer.request)]
            m.requestSucceeded(latency: d.time - intended, ttft: log.firstTokenAt[Int(attempt)] - intended)
        }
        multi.recycle(d.transfer)
        return (attempt, outcome)
    }

    func send(_ order: SendOrder, log: inout RunLog) {
        do {
            try start(order, log: &log)
        } catch {
            // Keep what was recorded: end the run as a stop and say why.
            failure = error
            beginStop(.failed, at: order.plannedAt)
        }
    }

    private func start(_ order: SendOrder, log: inout RunLog) throws(LiveError) {
        if stopping { return }
        let now = order.plannedAt
        if let cap = env.options.maxRequests, env.counters.attemptsSent >= cap {
            beginStop(.maxRequests, at: now)
            return
        }
        let r = Int(order.request)
        let worst = env.spend.worstCase(input: order.inputTokens ?? Int(stream.inputTokens[r]),
                                        prefix: Int(stream.prefixTokens[r]), maxTokens: Int(stream.maxTokens[r]),
                                        modelClass: order.modelClass)
        guard env.spend.allows(worst) else {
            beginStop(.maxCost, at: now)
            return
        }
        try routedBuilder(order).write(input: order.inputTokens ?? Int(stream.inputTokens[r]),
                                       prefix: Int(stream.prefixTokens[r]), prefixId: Int(stream.prefixId[r]),
                                       maxTokens: Int(stream.maxTokens[r]), into: &scratch)
        let t = try multi.checkout()
        scratch.withUnsafeBytes {
            t.prepare(body: $0, headers: headerLists.list(key: order.key),
                      outputTokensHint: hint ? Int(stream.outputTokens[r]) : nil)
        }
        t.request = order.request
        t.plannedAt = now
        t.reservedUSD = worst
        env.spend.reserve(worst)
        // The send time is taken last, just before libcurl gets the transfer.
        let sentNanos = Clock.monotonicNanos()
        let sentAt = clock.seconds(sentNanos)
        t.response.lastActivityNanos = sentNanos
        t.attempt = order.begin(in: &log, sentAt: sentAt)
        live.appendSent(plannedAt: now)
        env.counters.attemptsSent += 1
        env.metrics?.attemptSent(lag: sentAt - now)
        sent += 1
        maxLag = Swift.max(maxLag, sentAt - now)
        if multi.start(t) {
            sendsAdded = true
            unstarted += 1
            if unstarted >= Self.startBatch { startAdded() }
        } else {
            done.append((t, .couldNotStart, sentAt))
        }
    }

    /// Records an attempt in flight when the watchdog abandoned the engine: cut as a timeout
    /// (libcurl code -3), its response not read, billed at its reservation (what it did cost is
    /// unknown). Its request stays unfinished, as after the grace period.
    func recordAbandoned(_ t: Transfer, at time: Double, log: inout RunLog) {
        let ai = Int(t.attempt)
        log.status[ai] = 0
        log.errorKind[ai] = ErrorKind.timeout.rawValue
        log.firstTokenAt[ai] = .nan
        log.completedAt[ai] = time
        live.curlCode[ai] = Int16(TransferResult.abandoned.code)
        cause("timeout: \(TransferResult.abandoned.message)")
        env.spend.settle(reserved: t.reservedUSD, actual: t.reservedUSD)
        costUSD += t.reservedUSD
        completed += 1
        errors += 1
    }

    /// Records an attempt's end in the log; returns the outcome for the strategy.
    func record(_ t: Transfer, _ result: TransferResult, at time: Double, log: inout RunLog) -> AttemptOutcome {
        let ai = Int(t.attempt)
        let r = Int(t.request)
        t.response.parseBody()
        let resp = t.response
        let status = result == .couldNotStart ? 0 : t.responseCode
        var kind = ErrorKind.none
        var refused: LimitDimensions = []
        if !result.isOK {
            kind = result.isTimeout ? .timeout : .connection
            cause("\(kind == .timeout ? "timeout" : "connection"): \(result.message)")
        } else if status >= 200 && status < 300 {
            if let why = resp.invalid {
                // Not a Messages response (finding: `{not json` was counted as a success and
                // its "usage" priced): a server fault, never a success.
                kind = .serverError
                cause("invalid_response: \(why)")
            } else if resp.isEventStream {
                if let e = resp.streamError {
                    kind = LiveDriver.kind(errorType: e, status: 500)
                    cause("stream_error: \(e)")
                } else if !resp.sawMessageStop {
                    kind = .connection
                    cause("stream_error: the stream ended without message_stop")
                }
            }
        } else {
            let body = resp.errorBody()
            kind = status == 0 ? .connection : LiveDriver.kind(errorType: body.type, status: status)
            if status == 429 { refused = LiveDriver.refusedDimensions(message: body.message) }
        }
        let firstByte = resp.firstByteNanos == 0 ? Double.nan : clock.seconds(resp.firstByteNanos)
        var firstToken = Double.nan
        if resp.firstTokenNanos != 0 {
            firstToken = clock.seconds(resp.firstTokenNanos)
        } else if status >= 200 && status < 300 && !resp.isEventStream {
            // Non-streaming: the first token is not observable apart from the first byte.
            firstToken = firstByte
        }
        // An invalid response's usage is not trusted: it is billed at the attempt's worst case.
        let u = resp.invalid == nil ? resp.usage : ReportedUsage()
        log.status[ai] = UInt16(clamping: status)
        log.errorKind[ai] = kind.rawValue
        log.refusedBy[ai] = refused.rawValue
        log.firstTokenAt[ai] = firstToken
        log.completedAt[ai] = time
        log.cacheCreationTokens[ai] = Int32(clamping: Swift.max(0, u.cacheCreation))
        log.cacheReadTokens[ai] = Int32(clamping: Swift.max(0, u.cacheRead))
        let retryAfter = resp.retryAfterMs.map { $0 / 1000 } ?? resp.retryAfter
        if let ra = retryAfter { log.retryAfter[ai] = Float(ra) }
        live.firstByteAt[ai] = firstByte
        live.connectSeconds[ai] = Float(t.connectSeconds)
        live.inputTokens[ai] = Int32(clamping: u.input)
        live.outputTokens[ai] = Int32(clamping: u.output)
        live.curlCode[ai] = Int16(clamping: result.code)
        live.requestId[ai] = resp.requestId
        live.stopReason[ai] = resp.stopReason ?? ""

        // Billing: 2xx responses only; output not reported (cut stream) is charged at worst.
        var actual = 0.0
        if status >= 200 && status < 300 {
            let input = u.input >= 0 ? u.input : Int(stream.inputTokens[r] - stream.prefixTokens[r])
            let output = u.output >= 0 && kind == .none ? u.output : Int(stream.maxTokens[r])
            actual = env.spend.actual(input: input, cacheCreation: Swift.max(0, u.cacheCreation),
                                      cacheRead: Swift.max(0, u.cacheRead), output: output,
                                      modelClass: log.modelClass(ofAttempt: ai))
        }
        env.spend.settle(reserved: t.reservedUSD, actual: actual)
        costUSD += actual

        completed += 1
        if status == 429 { status429 += 1 }
        if kind != .none || status < 200 || status >= 300 { errors += 1 }
        let snapshot = resp.rateLimits.snapshot(epoch: clock.epoch, now: time)
        if let snapshot, log.key[ai] == 0, log.modelClass(ofAttempt: ai) == 0 { latestHeaders = (time, snapshot) }
        env.metrics?.attemptEnded(status: status, kind: kind, refused: refused, key: Int(log.key[ai]),
                                  rateLimits: snapshot, costUSD: actual)
        let succeeded = kind == .none && status >= 200 && status < 300
        let totalInput = u.input >= 0 ? u.input + Swift.max(0, u.cacheCreation) + Swift.max(0, u.cacheRead)
            : Int(stream.inputTokens[r]) - log.trimmed(ofAttempt: ai)
        return AttemptOutcome(
            status: status, error: kind, retryAfter: retryAfter, shouldRetry: resp.shouldRetry, refusedBy: refused,
            rateLimits: snapshot, inputTokens: totalInput,
            outputTokens: succeeded ? (u.output >= 0 ? u.output : Int(stream.outputTokens[r])) : 0,
            sentAt: log.sentAt[ai], completedAt: time)
    }
}

// Model routing (`route:`): the attempt's model class picks the body's `model`.
extension LiveTransport {
    /// The body builder of the attempt's model class.
    func routedBuilder(_ order: SendOrder) throws(LiveError) -> RequestBodyBuilder {
        if order.modelClass == 0 { return builder }
        guard order.modelClass > 0 && order.modelClass <= routedBuilders.count else {
            throw LiveError(.strategy, "strategy chose model class \(order.modelClass) of \(routedBuilders.count + 1)")
        }
        return routedBuilders[order.modelClass - 1]
    }
}
