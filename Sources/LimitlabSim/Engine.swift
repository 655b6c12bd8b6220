public import LimitlabCore
import LimitlabClient
import LimitlabStats

/// Server-side state of one simulated organisation: its limits, prompt cache and latency model.
/// The limits are the shared `LimitModel`; the mock server drives the same type.
struct SimulatedServer {
    var limits: LimitModel
    let model: ServerModel
    let cache: CacheSpec?
    let random: RandomSource
    /// Per shared prefix: when the cached copy becomes readable and when it expires.
    var prefixReadyAt: [Double]
    var prefixExpiresAt: [Double]
    var inFlight = 0

    init(scenario: Scenario, limits config: LimitConfig, random: RandomSource) {
        limits = LimitModel(config, at: 0)
        model = scenario.server
        cache = scenario.workload.cache
        self.random = random
        let n = Swift.max(1, scenario.workload.cache?.prefixes ?? 1)
        prefixReadyAt = Array(repeating: .infinity, count: n)
        prefixExpiresAt = Array(repeating: -.infinity, count: n)
    }
}

/// The result of one attempt as the simulated server decides it at send time.
struct SimAttempt {
    var status: UInt16
    var error: ErrorKind
    var firstToken: Double
    var completed: Double
    var retryAfter: Int?
    var refusedBy: LimitDimensions
    var snapshot: RateLimitSnapshot?
    var cacheCreation: Int32
    var cacheRead: Int32
}

extension SimulatedServer {
    /// Decides an attempt sent at `now`: overload, then the limits, then latency.
    /// A 529 is decided before the limits and costs nothing against them.
    mutating func handle(stream: ArrivalStream, request r: Int, now: Double, headers: Bool) -> SimAttempt {
        let p = model.overload.probability(inFlight: inFlight)
        if p > 0 && random.uniform() < p {
            return SimAttempt(status: 529, error: .overloaded, firstToken: .nan, completed: now + model.rejectLatency,
                              retryAfter: nil, refusedBy: [], snapshot: headers ? limits.snapshot(at: now) : nil,
                              cacheCreation: 0, cacheRead: 0)
        }
        let input = Int(stream.inputTokens[r])
        let prefix = Int(stream.prefixTokens[r])
        let pid = Int(stream.prefixId[r])
        var creation = 0, read = 0
        if prefix > 0 {
            if pid < 0 {
                read = prefix
            } else if prefixReadyAt[pid] <= now && now < prefixExpiresAt[pid] {
                read = prefix
            } else {
                creation = prefix
            }
        }
        let cost = RequestCost(inputTokens: input - creation - read, cacheCreationTokens: creation,
                               cacheReadTokens: read, maxTokens: Int(stream.maxTokens[r]))
        let decision = limits.admit(cost, at: now, withSnapshot: headers)
        guard decision.admitted else {
            return SimAttempt(status: 429, error: .rateLimited, firstToken: .nan, completed: now + model.rejectLatency,
                              retryAfter: decision.retryAfter, refusedBy: decision.refusedBy,
                              snapshot: decision.snapshot, cacheCreation: 0, cacheRead: 0)
        }
        var ttft = random.draw(model.ttft)
        if let prefill = model.prefillTokensPerSecond, prefill > 0 {
            ttft += Double(input - read) / prefill
        }
        let firstToken = now + Swift.max(0, ttft)
        let output = Int(stream.outputTokens[r])
        let end = firstToken + Double(Swift.max(0, output - 1)) / model.outputTokensPerSecond
        limits.scheduleOutput(tokens: output, maxTokens: cost.maxTokens, from: firstToken, to: end)
        if prefix > 0 && pid >= 0, let cache {
            if creation > 0 && !(prefixReadyAt[pid] <= firstToken && firstToken < prefixExpiresAt[pid]) {
                prefixReadyAt[pid] = firstToken
            }
            // A write or a read (re)starts the TTL from when the prefix was processed.
            prefixExpiresAt[pid] = Swift.max(prefixExpiresAt[pid], firstToken + cache.ttl)
        }
        return SimAttempt(status: 200, error: .none, firstToken: firstToken, completed: end, retryAfter: nil,
                          refusedBy: [], snapshot: decision.snapshot,
                          cacheCreation: Int32(creation), cacheRead: Int32(read))
    }
}

/// A discrete-event simulation of one strategy against one organisation's limits, in virtual
/// time. Deterministic: the same stream, strategy state and seed give the same log.
public enum Engine {
    /// Runs `strategy` over `stream`. `seed` seeds the server's latency and fault draws (the same
    /// for every strategy of a scenario, so strategies face the same server).
    /// Bucket levels of the first key are sampled every `sampleEvery` seconds (default: the
    /// report's bin width for the arrival window).
    public static func run<S: ClientStrategy>(scenario: Scenario, stream: ArrivalStream, strategy: inout S,
                                              sampleEvery: Double? = nil) -> RunLog {
        var transport = SimTransport(scenario: scenario, stream: stream, headers: strategy.readsRateLimitHeaders,
                                     sampleEvery: sampleEvery)
        var loop = ClientLoop(stream: stream)
        loop.log.bucketSampleInterval = transport.sampleInterval
        if loop.run(&strategy, transport: &transport) == .stalled {
            preconditionFailure("strategy \(S.self) is stalled at t=\(loop.now): it asks to be woken at a past "
                                + "instant and does nothing")
        }
        transport.sampleBuckets(upTo: Swift.max(loop.now, stream.window), log: &loop.log)
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
        static func < (a: Completion, b: Completion) -> Bool {
            a.time < b.time || (a.time == b.time && a.attempt < b.attempt)
        }
    }

    let stream: ArrivalStream
    /// One organisation per API key, each with its own buckets, prompt cache and fault stream.
    var servers: [SimulatedServer]
    var completions = MinHeap<Completion>()
    /// Whether the strategy reads rate-limit headers (computing them costs time).
    let headers: Bool
    let sampleInterval: Double
    var nextSample = 0.0

    init(scenario: Scenario, stream: ArrivalStream, headers: Bool, sampleEvery: Double?) {
        self.stream = stream
        self.headers = headers
        servers = scenario.limits.keyConfigs.enumerated().map { i, config in
            SimulatedServer(scenario: scenario, limits: config,
                            random: RandomSource(seed: scenario.seed, stream: i == 0 ? "server" : "server[\(i)]"))
        }
        completions.reserveCapacity(1024)
        sampleInterval = sampleEvery ?? TimeBins.width(span: Swift.max(stream.window, 1))
    }

    var keyCount: Int { servers.count }
    var nextCompletionTime: Double { completions.min?.time ?? .infinity }
    func acceptsArrivals() -> Bool { true }

    /// Records the first key's bucket levels at every sample instant up to `t`.
    mutating func sampleBuckets(upTo t: Double, log: inout RunLog) {
        while nextSample <= t {
            servers[0].limits.advance(to: nextSample)
            log.bucketRequests.append(Float(servers[0].limits.requests.level))
            log.bucketInputTokens.append(Float(servers[0].limits.input.level))
            log.bucketOutputTokens.append(Float(servers[0].limits.output.level))
            nextSample += sampleInterval
        }
    }

    mutating func advance(to now: Double, log: inout RunLog) { sampleBuckets(upTo: now, log: &log) }

    /// Sends one attempt to its key's server, which decides it at once; the answer is recorded
    /// now and delivered to the strategy at its completion time.
    mutating func send(_ order: SendOrder, log: inout RunLog) {
        let now = order.plannedAt
        let k = order.key
        let a = order.begin(in: &log, sentAt: now)
        let result = servers[k].handle(stream: stream, request: Int(order.request), now: now, headers: headers)
        let ai = Int(a)
        log.status[ai] = result.status
        log.errorKind[ai] = result.error.rawValue
        log.refusedBy[ai] = result.refusedBy.rawValue
        log.firstTokenAt[ai] = result.firstToken
        log.completedAt[ai] = result.completed
        log.cacheCreationTokens[ai] = result.cacheCreation
        log.cacheReadTokens[ai] = result.cacheRead
        if let ra = result.retryAfter { log.retryAfter[ai] = Float(ra) }
        servers[k].inFlight += 1
        completions.push(Completion(time: result.completed, attempt: a,
                                    retryAfter: Int32(result.retryAfter ?? -1), snapshot: result.snapshot))
    }

    mutating func popCompletion(dueBy now: Double, log: inout RunLog) -> (attempt: Int32, outcome: AttemptOutcome)? {
        guard let c = completions.min, c.time <= now else { return nil }
        completions.pop()
        let ai = Int(c.attempt)
        servers[Int(log.key[ai])].inFlight -= 1
        let r = Int(log.attemptRequest[ai])
        let status = Int(log.status[ai])
        let kind = ErrorKind(rawValue: log.errorKind[ai]) ?? .none
        let outcome = AttemptOutcome(
            status: status, error: kind,
            retryAfter: c.retryAfter >= 0 ? Double(c.retryAfter) : nil,
            shouldRetry: status == 429 ? true : nil,
            refusedBy: LimitDimensions(rawValue: log.refusedBy[ai]),
            rateLimits: c.snapshot,
            inputTokens: Int(stream.inputTokens[r]),
            outputTokens: status == 200 ? Int(stream.outputTokens[r]) : 0,
            sentAt: log.sentAt[ai], completedAt: c.time)
        return (c.attempt, outcome)
    }
}
