public import LimitlabCore
import LimitlabServer
import LimitlabStats

/// A discrete-event simulation of one strategy against one organisation's limits, in virtual
/// time. Deterministic: the same stream, strategy state and seed give the same log.
public enum Engine {
    private struct Completion: Comparable {
        var time: Double
        var attempt: Int32
        var retryAfter: Int32
        /// What the response headers said, carried to the completion that delivers them.
        var snapshot: RateLimitSnapshot?
        static func < (a: Completion, b: Completion) -> Bool {
            a.time < b.time || (a.time == b.time && a.attempt < b.attempt)
        }
    }

    /// Runs `strategy` over `stream`. `seed` seeds the server's latency and fault draws (the same
    /// for every strategy of a scenario, so strategies face the same server).
    /// Bucket levels of the first key are sampled every `sampleEvery` seconds (default: the
    /// report's bin width for the arrival window).
    public static func run<S: ClientStrategy>(scenario: Scenario, stream: ArrivalStream, strategy: inout S,
                                              sampleEvery: Double? = nil) -> RunLog {
        // One organisation per API key, each with its own buckets, prompt cache and fault stream.
        var servers = scenario.limits.keyConfigs.enumerated().map { i, config in
            OrganizationServer(classes: [config], model: scenario.server,
                               minCacheableTokens: (scenario.workload.cache ?? CacheSpec(share: 0)).minCacheableTokens,
                               random: RandomSource(seed: scenario.seed, stream: i == 0 ? "server" : "server[\(i)]"))
        }
        let cache = scenario.workload.cache
        let stream = stream
        let streaming = scenario.workload.stream
        // One reusable breakpoint: the workload's requests have at most one cached prefix.
        var breakpoint = [PromptBreakpoint(key: 0, tokens: 0, ttl: cache?.ttl ?? 300, longTTL: (cache?.ttl ?? 0) >= 3600)]
        /// The server's view of request `r`.
        func serverRequest(_ r: Int) -> ServerRequest {
            let prefix = Int(stream.prefixTokens[r])
            var request = ServerRequest(promptTokens: Int(stream.inputTokens[r]), maxTokens: Int(stream.maxTokens[r]),
                                        wantedOutputTokens: Int(stream.outputTokens[r]), stream: streaming)
            if prefix > 0 {
                // A prefix is its content: a workload prefix id, or (trace rows that recorded a
                // cache read, id −1) the recorded length, as the live runner's bodies make them.
                let id = Int(stream.prefixId[r])
                breakpoint[0].key = id >= 0 ? UInt64(id) : 0x8000_0000_0000_0000 | UInt64(prefix)
                breakpoint[0].tokens = prefix
                request.breakpoints = breakpoint
            }
            return request
        }
        var log = RunLog(requests: stream.count)
        var completions = MinHeap<Completion>()
        completions.reserveCapacity(1024)
        var commands: [StrategyCommand] = []
        commands.reserveCapacity(64)

        let wantsHeaders = strategy.readsRateLimitHeaders
        let interval = sampleEvery ?? TimeBins.width(span: Swift.max(stream.window, 1))
        log.bucketSampleInterval = interval
        var nextSample = 0.0
        func sampleBuckets(upTo t: Double) {
            while nextSample <= t {
                let levels = servers[0].bucketLevels(at: nextSample)
                log.bucketRequests.append(Float(levels.requests))
                log.bucketInputTokens.append(Float(levels.input))
                log.bucketOutputTokens.append(Float(levels.output))
                nextSample += interval
            }
        }
        let n = stream.count
        var nextArrival = 0
        var now = 0.0

        @inline(__always) func request(_ r: Int) -> PendingRequest { stream.pendingRequest(r) }

        func execute(_ commands: inout [StrategyCommand]) {
            var i = 0
            while i < commands.count {
                switch commands[i] {
                case .send(let id, let readyAt):
                    let r = Int(id)
                    let k = strategy.key(for: id)
                    guard k >= 0 && k < servers.count else {
                        preconditionFailure("strategy chose key \(k) of \(servers.count)")
                    }
                    let a = log.beginAttempt(request: id, readyAt: readyAt, sentAt: now, key: k,
                                             viaFallback: strategy.viaFallback(id))
                    let reply = servers[k].decide(serverRequest(r), at: now, snapshot: wantsHeaders)
                    let ai = Int(a)
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
                case .giveUp(let id, let reason):
                    log.finish(request: Int(id), outcome: .failed, reason: reason.rawValue)
                case .drop(let id, let reason):
                    log.finish(request: Int(id), outcome: .dropped, reason: reason.rawValue)
                    if strategy.viaFallback(id) { log.dropFallback[Int(id)] = 1 }
                }
                i += 1
            }
            commands.removeAll(keepingCapacity: true)
        }

        // A strategy that keeps asking to be woken at an instant that has passed, without doing
        // anything, would spin forever; stop it loudly instead.
        var idleWakeups = 0
        while true {
            let tArrival = nextArrival < n ? stream.intendedAt[nextArrival] : .infinity
            let tCompletion = completions.min?.time ?? .infinity
            let tWake = strategy.nextWakeup ?? .infinity
            let t = Swift.min(tArrival, tCompletion, tWake)
            if t == .infinity { break }
            if t <= now && tWake == t && tArrival > t && tCompletion > t {
                idleWakeups += 1
                if idleWakeups > 100_000 {
                    preconditionFailure("strategy \(S.self) is stalled at t=\(now): it asks to be woken at a past "
                                        + "instant and does nothing")
                }
            } else {
                idleWakeups = 0
            }
            sampleBuckets(upTo: t)
            now = Swift.max(now, t)

            if tCompletion <= t {
                // Completions first: they free capacity that arrivals at the same instant may use.
                while let c = completions.min, c.time <= now {
                    completions.pop()
                    let ai = Int(c.attempt)
                    servers[Int(log.key[ai])].finished()
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
                        inputTokens: Int(stream.inputTokens[r]),
                        outputTokens: status == 200 && kind == .none ? Int(stream.outputTokens[r]) : 0,
                        sentAt: log.sentAt[ai], completedAt: c.time)
                    if outcome.succeeded { log.finish(request: r, outcome: .succeeded) }
                    strategy.finished(request(r), attempt: Int(log.attemptNumber[ai]), outcome: outcome, now: now)
                }
            } else if tArrival <= t {
                while nextArrival < n, stream.intendedAt[nextArrival] <= now {
                    strategy.arrived(request(nextArrival), now: now)
                    log.worker[nextArrival] = UInt16(clamping: strategy.worker(for: Int32(nextArrival)))
                    nextArrival += 1
                }
            }
            strategy.poll(now: now, into: &commands)
            if !commands.isEmpty {
                execute(&commands)
                idleWakeups = 0
            }
        }
        sampleBuckets(upTo: Swift.max(now, stream.window))
        return log
    }
}
