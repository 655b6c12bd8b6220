import LimitlabClient
import LimitlabCore
internal import CCurl

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
        recordCut(Int(t.attempt), at: time, as: .abandoned, cause: "timeout: \(TransferResult.abandoned.message)",
                  reservedUSD: t.reservedUSD, log: &log)
    }

    /// Records attempt `ai` as cut at `time` before its response was read: a timeout with
    /// libcurl's `result`, billed at its reservation (what it did cost is unknown).
    func recordCut(_ ai: Int, at time: Double, as result: TransferResult, cause what: String, reservedUSD: Double,
                   log: inout RunLog) {
        log.status[ai] = 0
        log.errorKind[ai] = ErrorKind.timeout.rawValue
        log.firstTokenAt[ai] = .nan
        log.completedAt[ai] = time
        live.curlCode[ai] = Int16(result.code)
        cause(what)
        env.spend.settle(reserved: reservedUSD, actual: reservedUSD)
        costUSD += reservedUSD
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
