public import LimitlabCore
import LimitlabClient
import LimitlabServer
import LimitlabStats

/// A discrete-event simulation of one strategy against one organisation's limits, in virtual
/// time. Deterministic: the same stream, strategy state and seed give the same log.
public enum SimDriver {
    /// Runs `strategy` over `stream`. `seed` seeds the server's latency and fault draws (the same
    /// for every strategy of a scenario, so strategies face the same server).
    /// Bucket levels of the first key are sampled every `sampleEvery` seconds (default: the
    /// report's bin width for the arrival window).
    public static func run<S: ClientStrategy>(scenario: Scenario, stream: ArrivalStream, strategy: inout S,
                                              sampleEvery: Double? = nil) -> RunLog {
        var transport = SimTransport(scenario: scenario, stream: stream, headers: strategy.readsRateLimitHeaders,
                                     sampleEvery: sampleEvery)
        transport.progress = Simulator.progress?.strategyProgress
        var loop = ClientLoop(stream: stream)
        loop.log.bucketSampleInterval = transport.sampleInterval
        if loop.run(&strategy, transport: &transport) == .stalled {
            preconditionFailure("strategy \(S.self) is stalled at t=\(loop.now): it asks to be woken at a past "
                                + "instant and does nothing")
        }
        transport.sampleBuckets(upTo: Swift.max(loop.now, stream.window), log: &loop.log)
        loop.sampleStateGauges(strategy)
        return loop.log
    }
}

/// The simulator's side of a `ClientLoop`: one simulated server per API key, answering in
/// virtual time, and the completions it has scheduled.
struct SimTransport: ClientTransport {
    struct Completion: Comparable {
        var time: Double
        var attempt: Int32
        var retryAfter: Int32
        /// What the response headers said, carried to the completion that delivers them.
        var snapshot: RateLimitSnapshot?
        /// Refused by validation before the server decided (not in flight there).
        var invalid = false
        static func < (a: Completion, b: Completion) -> Bool {
            a.time < b.time || (a.time == b.time && a.attempt < b.attempt)
        }
    }

    let stream: ArrivalStream
    /// One organisation per API key, each with its own buckets, prompt cache and fault stream.
    var servers: [OrganizationServer]
    let streaming: Bool
    /// One reusable breakpoint: the workload's requests have at most one cached prefix.
    var breakpoint: [PromptBreakpoint]
    var completions = MinHeap<Completion>()
    /// Whether the strategy reads rate-limit headers (computing them costs time).
    let headers: Bool
    var sampleInterval: Double
    var nextSample = 0.0
    /// Most bucket samples kept: a run that lasts far past its arrival window (a 10-hour
    /// latency) coarsens its samples instead of writing one every quarter second of it.
    static let maxSamples = 2048
    /// Told the share of the arrival window simulated so far at each bucket sample.
    var progress: (@Sendable (Double) -> Void)?
    /// Each key's organisation's Message Batches queue, made on the first batch.
    var batchQueues: [BatchQueue] = []
    let scenario: Scenario
    /// Each model class's caps (index 0: the scenario's `model`), of the model the mock
    /// resolves its id to: a request past its maximum output or context window is answered 400
    /// `invalid_request_error` at once, before the server decides (no draw, nothing charged),
    /// by the rule the mock validates with. nil: an id the mock does not serve either.
    let modelCaps: [ServedModels.Caps?]

    init(scenario: Scenario, stream: ArrivalStream, headers: Bool, sampleEvery: Double?) {
        self.stream = stream
        self.headers = headers
        self.scenario = scenario
        servers = scenario.limits.keyConfigs.enumerated().map { i, config in
            OrganizationServer(classes: [config], model: scenario.server,
                               minCacheableTokens: (scenario.workload.cache ?? CacheSpec(share: 0)).minCacheableTokens,
                               random: RandomSource(seed: scenario.seed, stream: i == 0 ? "server" : "server[\(i)]"))
        }
        if !scenario.models.isEmpty { servers = Self.routedServers(scenario) }
        streaming = scenario.workload.stream
        let ttl = scenario.workload.cache?.ttl ?? 300
        breakpoint = [PromptBreakpoint(key: 0, tokens: 0, ttl: ttl, longTTL: ttl >= 3600)]
        completions.reserveCapacity(1024)
        sampleInterval = sampleEvery ?? TimeBins.width(span: Swift.max(stream.window, 1))
        // The models the mock built from this scenario (`MockConfig(scenario:)`) serves: the
        // catalog's, and every model id outside it.
        let catalog = TierCatalog.builtIn
        let served = ServedModels(catalog: catalog, extraModels: scenario.modelIds.filter { catalog.modelClass(for: $0) == nil })
        modelCaps = scenario.modelIds.map { served.resolve($0)?.caps }
    }

    var keyCount: Int { servers.count }
    var nextCompletionTime: Double { completions.min?.time ?? .infinity }
    func acceptsArrivals() -> Bool { true }

    /// Records the first key's bucket levels at every sample instant up to `t`.
    mutating func sampleBuckets(upTo t: Double, log: inout RunLog) {
        guard t.isFinite else { return }
        // A jump far ahead (a response taking years) coarsens first, so the samples taken on
        // the way are bounded too, not only those kept.
        while nextSample <= t, (t - nextSample) / sampleInterval > Double(Self.maxSamples) {
            coarsenSamples(&log)
        }
        while nextSample <= t {
            if log.bucketRequests.count >= Self.maxSamples {
                coarsenSamples(&log)
                continue
            }
            let levels = servers[0].bucketLevels(at: nextSample)
            log.bucketRequests.append(Float(levels.requests))
            log.bucketInputTokens.append(Float(levels.input))
            log.bucketOutputTokens.append(Float(levels.output))
            nextSample += sampleInterval
            progress?(Swift.min(1, nextSample / Swift.max(stream.window, 1e-9)))
        }
    }

    /// Keeps every other sample and doubles the interval (the kept ones are at multiples of it).
    mutating func coarsenSamples(_ log: inout RunLog) {
        func half(_ a: [Float]) -> [Float] { stride(from: 0, to: a.count, by: 2).map { a[$0] } }
        log.bucketRequests = half(log.bucketRequests)
        log.bucketInputTokens = half(log.bucketInputTokens)
        log.bucketOutputTokens = half(log.bucketOutputTokens)
        sampleInterval *= 2
        log.bucketSampleInterval = sampleInterval
        nextSample = Double(log.bucketRequests.count) * sampleInterval
    }

    /// Inlined so that an event before the next sample instant (nearly all) costs one compare.
    @inline(__always)
    mutating func advance(to now: Double, log: inout RunLog) {
        if now >= nextSample { sampleBuckets(upTo: now, log: &log) }
    }

    /// Sends one attempt to its key's server, which decides it at once; the answer is recorded
    /// now and delivered to the strategy at its completion time.
    mutating func send(_ order: SendOrder, log: inout RunLog) {
        let now = order.plannedAt
        let k = order.key
        let a = order.begin(in: &log, sentAt: now)
        let ai = Int(a)
        let r = Int(order.request)
        if let caps = modelCaps[order.modelClass],
           caps.refuses(maxTokens: Int(stream.maxTokens[r]), promptTokens: order.inputTokens ?? Int(stream.inputTokens[r])) {
            log.status[ai] = 400
            log.errorKind[ai] = ErrorKind.clientError.rawValue
            log.completedAt[ai] = now
            completions.push(Completion(time: now, attempt: a, retryAfter: -1, snapshot: nil, invalid: true))
            return
        }
        var request = serverRequest(r)
        if order.modelClass != 0 || order.inputTokens != nil { route(&request, order) }
        let reply = servers[k].decide(request, at: now, snapshot: headers)
        log.status[ai] = reply.status
        log.errorKind[ai] = reply.error.rawValue
        log.refusedBy[ai] = reply.refusedBy.rawValue
        log.firstTokenAt[ai] = reply.firstToken
        log.completedAt[ai] = reply.completion
        log.cacheCreationTokens[ai] = Int32(clamping: reply.usage.cacheCreation)
        log.cacheReadTokens[ai] = Int32(clamping: reply.usage.cacheRead)
        if let ra = reply.retryAfter { log.retryAfter[ai] = Float(ra) }
        completions.push(Completion(time: reply.completion, attempt: a,
                                    retryAfter: Int32(reply.retryAfter ?? -1), snapshot: reply.snapshot))
    }

    /// The server's view of request `r` (inlined into `send`: one call fewer per attempt).
    @inline(__always)
    private mutating func serverRequest(_ r: Int) -> ServerRequest {
        let prefix = Int(stream.prefixTokens[r])
        var request = ServerRequest(promptTokens: Int(stream.inputTokens[r]), maxTokens: Int(stream.maxTokens[r]),
                                    wantedOutputTokens: Int(stream.outputTokens[r]), stream: streaming)
        if prefix > 0 {
            // A prefix is its content: a workload prefix id, or (trace rows that recorded a cache
            // read, id −1) the recorded length, as the live runner's request bodies make them.
            let id = Int(stream.prefixId[r])
            breakpoint[0].key = id >= 0 ? UInt64(id) : 0x8000_0000_0000_0000 | UInt64(prefix)
            breakpoint[0].tokens = prefix
            request.breakpoints = breakpoint
        }
        return request
    }

    mutating func popCompletion(dueBy now: Double, log: inout RunLog) -> (attempt: Int32, outcome: AttemptOutcome)? {
        guard let c = completions.min, c.time <= now else { return nil }
        completions.pop()
        let ai = Int(c.attempt)
        if !c.invalid && !log.isBatch(attempt: ai) { servers[Int(log.key[ai])].finished() }
        let r = Int(log.attemptRequest[ai])
        let status = Int(log.status[ai])
        let kind = ErrorKind(rawValue: log.errorKind[ai]) ?? .none
        let outcome = AttemptOutcome(
            status: status, error: kind,
            retryAfter: c.retryAfter >= 0 ? Double(c.retryAfter) : nil,
            // A limit refusal says `x-should-retry: true`; a spend-cap 429 says nothing.
            shouldRetry: status == 429 && c.retryAfter >= 0 ? true : nil,
            refusedBy: LimitDimensions(rawValue: log.refusedBy[ai]),
            rateLimits: c.snapshot,
            inputTokens: Int(stream.inputTokens[r]) - log.trimmed(ofAttempt: ai),
            outputTokens: status == 200 && kind == .none ? Int(stream.outputTokens[r]) : 0,
            sentAt: log.sentAt[ai], completedAt: c.time)
        return (c.attempt, outcome)
    }
}

// MARK: Message Batches

extension SimTransport {
    /// Submits a batch to its key's organisation's `BatchQueue`: the create call against the
    /// batch RPM and the queue limit, then one attempt per request, completed when a client
    /// polling every `pollEvery` seconds first sees the batch ended. A request processed
    /// before the batch ended succeeded (status 200); one that expired or was cancelled ends
    /// as a timeout; a refused create answers every request with 429 after `reject_latency`.
    /// The polls themselves are not charged to the batch RPM here.
    mutating func submitBatch(_ order: BatchOrder, log: inout RunLog) {
        if batchQueues.isEmpty {
            let tier = scenario.limits.tier.flatMap { TierCatalog.builtIn.tier(named: $0) }
            batchQueues = scenario.limits.keyConfigs.indices.map { i in
                BatchQueue(model: scenario.server.batch, tier: tier, burst: scenario.limits.keyConfigs[i].burst,
                           random: RandomSource(seed: scenario.seed, stream: i == 0 ? "batches" : "batches[\(i)]"))
            }
        }
        let now = order.plannedAt
        let k = order.key
        var refusedAfter: Int?
        var index: Int?
        let call = batchQueues[k].admitCall(at: now)
        if !call.admitted {
            refusedAfter = call.retryAfter ?? 1
        } else {
            switch batchQueues[k].create(count: order.requests.count, at: now) {
            case .success(let i): index = i
            // The real API's answer to a full queue is not documented; a 429 with a retry-after
            // of one minute is assumed.
            case .failure(.rateLimited(let after)): refusedAfter = after
            case .failure: refusedAfter = 60
            }
        }
        let seen = index.map { batchQueues[k].resultSeen($0, pollEvery: order.pollEvery) } ?? now + scenario.server.rejectLatency
        let processed = index.map { batchQueues[k].outcome($0).processed } ?? 0
        for (n, id) in order.requests.enumerated() {
            let a = log.beginAttempt(request: id, readyAt: now, sentAt: now, key: k)
            let ai = Int(a)
            log.markBatch(attempt: ai)
            if let after = refusedAfter {
                log.status[ai] = 429
                log.errorKind[ai] = ErrorKind.rateLimited.rawValue
                log.refusedBy[ai] = LimitDimensions.requests.rawValue
                log.retryAfter[ai] = Float(after)
            } else if n < processed {
                let r = Int(id)
                if let caps = modelCaps[0],
                   caps.refuses(maxTokens: Int(stream.maxTokens[r]), promptTokens: Int(stream.inputTokens[r])) {
                    // Past the model's caps: the mock's batch results say `errored` with an
                    // invalid_request_error, as for a Messages request.
                    log.status[ai] = 400
                    log.errorKind[ai] = ErrorKind.clientError.rawValue
                } else {
                    log.status[ai] = 200
                    log.firstTokenAt[ai] = seen
                }
            } else {
                log.errorKind[ai] = ErrorKind.timeout.rawValue
            }
            log.completedAt[ai] = seen
            completions.push(Completion(time: seen, attempt: a, retryAfter: Int32(refusedAfter ?? -1), snapshot: nil))
        }
    }
}

// Model routing and prompt trimming (`route:`, `trim:`).
extension SimTransport {
    /// One organisation per API key serving every model class of the scenario (its `model`,
    /// then `models`), each class with its own limits and latency model.
    static func routedServers(_ scenario: Scenario) -> [OrganizationServer] {
        let latency = (0...scenario.models.count).map { scenario.server(modelClass: $0) }
        return scenario.limits.keyConfigs.indices.map { i in
            OrganizationServer(classes: (0...scenario.models.count).map { scenario.limits(modelClass: $0, key: i) },
                               latency: latency, model: scenario.server,
                               minCacheableTokens: (scenario.workload.cache ?? CacheSpec(share: 0)).minCacheableTokens,
                               random: RandomSource(seed: scenario.seed, stream: i == 0 ? "server" : "server[\(i)]"))
        }
    }

    /// Sends the request to the attempt's model class with the prompt the strategy trimmed it to.
    func route(_ request: inout ServerRequest, _ order: SendOrder) {
        precondition(order.modelClass >= 0 && order.modelClass < servers[order.key].classes.count,
                     "strategy chose model class \(order.modelClass) of \(servers[order.key].classes.count)")
        request.modelClass = order.modelClass
        if let n = order.inputTokens { request.promptTokens = n }
        // A cached prefix belongs to one model: another class has its own cache entry.
        if order.modelClass != 0 {
            for i in request.breakpoints.indices { request.breakpoints[i].key ^= UInt64(order.modelClass) << 56 }
        }
    }
}
