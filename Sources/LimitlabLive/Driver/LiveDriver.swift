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
