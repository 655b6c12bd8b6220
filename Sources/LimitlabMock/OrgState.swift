import Foundation
import LimitlabCore
import LimitlabStats
import LimitlabSim

/// Token usage of one response, as the API reports it.
struct Usage: Equatable {
    /// Prompt tokens after the last cache hit or write (the API's `input_tokens`).
    var input: Int
    var cacheCreation5m: Int
    var cacheCreation1h: Int
    var cacheRead: Int
    var output: Int
    var cacheCreation: Int { cacheCreation5m + cacheCreation1h }
}

/// Faults decided for an admitted request.
enum ResponseFault: Equatable {
    case none
    /// TCP reset when the response would start.
    case reset
    /// A pause of `seconds` (before a non-streaming response; after a stream's first delta).
    case stall(seconds: Double)
    /// Streams: `event: error` once this many output tokens have been sent.
    case streamError(afterTokens: Int)
}

/// An admitted Messages request: what to answer and when, in model time.
struct AdmittedPlan {
    var snapshot: RateLimitSnapshot
    var usage: Usage
    var stopReason: String
    /// First token (a stream's first events; a non-streaming response's first byte is `end`).
    var firstToken: Double
    /// Last output token.
    var end: Double
    var fault: ResponseFault
}

enum MessagesOutcome {
    case overloaded(RateLimitSnapshot)
    case serverError(RateLimitSnapshot)
    case spendCap(RateLimitSnapshot)
    case rateLimited(AdmissionDecision, LimitConfig)
    case admitted(AdmittedPlan)
}

/// One organisation's server-side state: its buckets per model class, the count_tokens bucket,
/// the prompt cache, its random stream and counters. Shared by every event loop, so all of it
/// sits behind one lock; each call reads the clock inside the lock so that `LimitModel` sees
/// non-decreasing times.
final class OrgState: @unchecked Sendable {
    let index: Int
    let org: MockOrganization
    /// Limits per served class (catalog classes and extra model ids), fixed at start.
    let classConfigs: [String: LimitConfig]
    private let lock = NSLock()
    private var classes: [String: LimitModel] = [:]
    private var countTokens: LimitModel
    private let countTokensRPM: Double
    private var cache: [UInt64: CacheEntry] = [:]
    private var cachePruneAt = 1024
    private let random: RandomSource
    private var inFlight = 0
    private var requestCounts: [CounterKey: Int] = [:]
    private var refusalCounts: [CounterKey: Int] = [:]
    private var faultCounts: [String: Int] = [:]

    private struct CacheEntry {
        var readyAt: Double
        var expiresAt: Double
    }

    struct CounterKey: Hashable, Comparable {
        var endpoint: String
        var modelClass: String
        var label: String
        static func < (a: Self, b: Self) -> Bool {
            (a.endpoint, a.modelClass, a.label) < (b.endpoint, b.modelClass, b.label)
        }
    }

    init(index: Int, org: MockOrganization, seed: UInt64, catalog: TierCatalog) {
        self.index = index
        self.org = org
        var configs: [String: LimitConfig] = [:]
        for c in catalog.modelClasses {
            if let cfg = org.limits.config(forClass: c.id, catalog: catalog) { configs[c.id] = cfg }
        }
        for id in org.limits.models.keys where configs[id] == nil {
            if let cfg = org.limits.config(forClass: id, catalog: catalog) { configs[id] = cfg }
        }
        classConfigs = configs
        let tierRPM = org.limits.tier.flatMap { catalog.tier(named: $0) }.map { Double($0.countTokensRPM) }
        countTokensRPM = org.countTokensRPM ?? tierRPM ?? 100
        // Only the requests bucket matters for count_tokens; the token buckets never refuse.
        countTokens = LimitModel(LimitConfig(rpm: countTokensRPM, itpm: 1e15, otpm: 1e15, burst: org.limits.burst), at: 0)
        // The simulator's stream names, so the same seed gives the same draws per organisation.
        random = RandomSource(seed: seed, stream: index == 0 ? "server" : "server[\(index)]")
    }

    /// The class a model id is served under, or nil (404).
    func classId(for model: String, catalog: TierCatalog) -> String? {
        if let c = catalog.modelClass(for: model), classConfigs[c.id] != nil { return c.id }
        if classConfigs[model] != nil && catalog.modelClass(for: model) == nil { return model }
        return nil
    }

    // MARK: Messages

    /// Decides a Messages request: overload, server error, spend cap, the limits, then the
    /// cache, the latency and the post-admission faults. Counts it in flight until `finish`.
    func decide(_ request: MessagesRequest, modelClass: String, outputTokens requested: Int?,
                config: MockConfig, now clock: () -> Double) -> MessagesOutcome {
        lock.lock()
        defer { lock.unlock() }
        let now = clock()
        let limitConfig = classConfigs[modelClass]!
        if classes[modelClass] == nil { classes[modelClass] = LimitModel(limitConfig, at: now) }
        inFlight += 1
        let server = config.server

        // Draw order as in the simulator: overload first (only when it can happen), then TTFT.
        let p = server.overload.probability(inFlight: inFlight - 1)
        if p > 0 && random.uniform() < p {
            faultCounts["overloaded", default: 0] += 1
            return .overloaded(classes[modelClass]!.snapshot(at: now))
        }
        if config.faults.serverError > 0 && random.uniform() < config.faults.serverError {
            faultCounts["server_error", default: 0] += 1
            return .serverError(classes[modelClass]!.snapshot(at: now))
        }
        if org.spendCapReached {
            return .spendCap(classes[modelClass]!.snapshot(at: now))
        }

        let modelKey = Self.hash(request.model)
        let cacheUse = lookUpCache(request, modelKey: modelKey, at: now, settings: config.cache)
        let cost = RequestCost(inputTokens: cacheUse.usage.input, cacheCreationTokens: cacheUse.usage.cacheCreation,
                               cacheReadTokens: cacheUse.usage.cacheRead, maxTokens: request.maxTokens)
        let decision = classes[modelClass]!.admit(cost, at: now, withSnapshot: true)
        guard decision.admitted, let snapshot = decision.snapshot else {
            refusalCounts[CounterKey(endpoint: "messages", modelClass: modelClass, label: decision.refusedBy.label), default: 0] += 1
            return .rateLimited(decision, limitConfig)
        }

        let wanted = requested ?? config.defaultOutputTokens
        let output = Swift.min(wanted, request.maxTokens)
        // Output cut by max_tokens says so; max_tokens 0 (a cache pre-warm) produces nothing.
        let stopReason = wanted > request.maxTokens || request.maxTokens == 0 ? "max_tokens" : "end_turn"
        var ttft = random.draw(server.ttft)
        if let prefill = server.prefillTokensPerSecond, prefill > 0 {
            ttft += Double(request.promptTokens - cacheUse.usage.cacheRead) / prefill
        }
        let firstToken = now + (ttft.isFinite ? Swift.max(0, ttft) : 0)
        let rate = server.outputTokensPerSecond
        let end = rate > 0 && rate.isFinite ? firstToken + Double(Swift.max(0, output - 1)) / rate : firstToken
        classes[modelClass]!.scheduleOutput(tokens: output, maxTokens: request.maxTokens, from: firstToken, to: end)
        storeCache(cacheUse.writes, at: firstToken)

        var fault = ResponseFault.none
        let f = config.faults
        if f.connectionReset > 0 && random.uniform() < f.connectionReset {
            fault = .reset
            faultCounts["connection_reset", default: 0] += 1
        } else if f.stall > 0 && random.uniform() < f.stall {
            fault = .stall(seconds: f.stallDuration)
            faultCounts["stall", default: 0] += 1
        } else if request.stream && f.streamError > 0 && random.uniform() < f.streamError {
            fault = .streamError(afterTokens: output > 0 ? 1 + random.uniformInt(output) : 0)
            faultCounts["stream_error", default: 0] += 1
        }
        var usage = cacheUse.usage
        usage.output = output
        return .admitted(AdmittedPlan(snapshot: snapshot, usage: usage, stopReason: stopReason,
                                      firstToken: firstToken, end: end, fault: fault))
    }

    /// The request has been answered (or its connection closed).
    func finish() {
        lock.lock()
        inFlight -= 1
        lock.unlock()
    }

    /// Counts a response by endpoint, model class and status.
    func count(endpoint: String, modelClass: String, status: Int) {
        lock.lock()
        requestCounts[CounterKey(endpoint: endpoint, modelClass: modelClass, label: String(status)), default: 0] += 1
        lock.unlock()
    }

    // MARK: count_tokens

    /// Admits a count_tokens request against its own RPM bucket.
    func admitCountTokens(now clock: () -> Double) -> (AdmissionDecision, rpm: Double) {
        lock.lock()
        defer { lock.unlock() }
        let d = countTokens.admit(RequestCost(inputTokens: 0, maxTokens: 0), at: clock(), withSnapshot: true)
        if !d.admitted {
            refusalCounts[CounterKey(endpoint: "count_tokens", modelClass: "", label: d.refusedBy.label), default: 0] += 1
        }
        return (d, countTokensRPM)
    }

    // MARK: Prompt cache

    private struct CacheUse {
        var usage: Usage
        var writes: [(key: UInt64, ttl: Double)]
    }

    /// The longest cached breakpoint prefix is read; everything up to the last cacheable
    /// breakpoint beyond it is written, each segment under its breakpoint's TTL.
    private func lookUpCache(_ r: MessagesRequest, modelKey: UInt64, at now: Double,
                             settings: MockCacheSettings) -> CacheUse {
        let eligible = r.breakpoints.filter { $0.tokens >= settings.minCacheableTokens && $0.tokens <= r.promptTokens }
        var usage = Usage(input: r.promptTokens, cacheCreation5m: 0, cacheCreation1h: 0, cacheRead: 0, output: 0)
        guard !eligible.isEmpty else { return CacheUse(usage: usage, writes: []) }
        var hit = -1
        for (i, bp) in eligible.enumerated().reversed() {
            if let e = cache[modelKey ^ bp.hash], e.readyAt <= now, now < e.expiresAt {
                hit = i
                break
            }
        }
        var writes: [(UInt64, Double)] = []
        var covered = 0
        if hit >= 0 {
            covered = eligible[hit].tokens
            usage.cacheRead = covered
            writes.append((modelKey ^ eligible[hit].hash, ttlSeconds(eligible[hit].ttl, settings)))
        }
        for bp in eligible[(hit + 1)...] where bp.tokens > covered {
            let segment = bp.tokens - covered
            if bp.ttl == .oneHour { usage.cacheCreation1h += segment } else { usage.cacheCreation5m += segment }
            covered = bp.tokens
            writes.append((modelKey ^ bp.hash, ttlSeconds(bp.ttl, settings)))
        }
        usage.input = r.promptTokens - usage.cacheRead - usage.cacheCreation
        return CacheUse(usage: usage, writes: writes)
    }

    private func ttlSeconds(_ ttl: CacheTTL, _ s: MockCacheSettings) -> Double {
        ttl == .oneHour ? s.ttl1h : s.ttl5m
    }

    /// Writes (or refreshes) prefixes as of `t`, when the prompt has been processed; a copy is
    /// readable from then on, so concurrent first uses all write, as in the simulator.
    private func storeCache(_ writes: [(key: UInt64, ttl: Double)], at t: Double) {
        for w in writes {
            if var e = cache[w.key], e.readyAt <= t, t < e.expiresAt {
                e.expiresAt = Swift.max(e.expiresAt, t + w.ttl)
                cache[w.key] = e
            } else {
                cache[w.key] = CacheEntry(readyAt: t, expiresAt: t + w.ttl)
            }
        }
        if cache.count >= cachePruneAt {
            // Keep memory flat under a stream of distinct prefixes.
            cache = cache.filter { $0.value.expiresAt > t }
            cachePruneAt = Swift.max(1024, cache.count * 2)
        }
    }

    static func hash(_ s: String) -> UInt64 {
        var h: UInt64 = 0x84222325cbf29ce4
        for b in s.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        return h
    }

    // MARK: Metrics

    struct MetricsSample {
        var requests: [(CounterKey, Int)]
        var refusals: [(CounterKey, Int)]
        var faults: [(String, Int)]
        var buckets: [(modelClass: String, snapshot: RateLimitSnapshot)]
        var countTokens: RateLimitSnapshot
        var inFlight: Int
        var cacheEntries: Int
    }

    func metrics(now clock: () -> Double) -> MetricsSample {
        lock.lock()
        defer { lock.unlock() }
        let now = clock()
        var buckets: [(String, RateLimitSnapshot)] = []
        for id in classes.keys.sorted() { buckets.append((id, classes[id]!.snapshot(at: now))) }
        return MetricsSample(
            requests: requestCounts.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
            refusals: refusalCounts.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
            faults: faultCounts.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
            buckets: buckets, countTokens: countTokens.snapshot(at: now), inFlight: inFlight,
            cacheEntries: cache.count)
    }
}
