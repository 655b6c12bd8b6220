import Foundation
import LimitlabCore
import LimitlabServer
import LimitlabStats

/// A Messages request decided by the organisation's server.
enum MessagesOutcome {
    /// The reply is not admitted (429, 529, 500); `config` names the limits in a 429 message.
    case refused(ServerReply, LimitConfig)
    case admitted(ServerReply)
}

/// One organisation of the mock: its `OrganizationServer` (limits per model class, prompt
/// cache, latency and faults, shared with the simulator) and the mock's counters. Shared by
/// every event loop, so all of it sits behind one lock; each call reads the clock inside the
/// lock so that the server sees non-decreasing times.
final class OrgState: @unchecked Sendable {
    let index: Int
    let org: MockOrganization
    /// Limits per served class (catalog classes and extra model ids), fixed at start.
    let classConfigs: [String: LimitConfig]
    /// Index of each served class in the server's `classes`.
    private let classIndex: [String: Int]
    private let classIds: [String]
    private let lock = NSLock()
    private var server: OrganizationServer
    let countTokensRPM: Double
    private var requestCounts: [CounterKey: Int] = [:]
    private var refusalCounts: [CounterKey: Int] = [:]
    private var faultCounts: [String: Int] = [:]
    /// Classes that have served a request (the metrics list only those).
    private var usedClasses = Set<Int>()
    /// Appends one row per decided request (`serve --record`); nil: not recording.
    let recorder: MockRecorder?

    struct CounterKey: Hashable, Comparable {
        var endpoint: String
        var modelClass: String
        var label: String
        static func < (a: Self, b: Self) -> Bool {
            (a.endpoint, a.modelClass, a.label) < (b.endpoint, b.modelClass, b.label)
        }
    }

    init(index: Int, org: MockOrganization, config: MockConfig, catalog: TierCatalog, recorder: MockRecorder? = nil) {
        self.index = index
        self.org = org
        self.recorder = recorder
        var configs: [String: LimitConfig] = [:]
        for c in catalog.modelClasses {
            if let cfg = org.limits.config(forClass: c.id, catalog: catalog) { configs[c.id] = cfg }
        }
        for id in org.limits.models.keys where configs[id] == nil {
            if let cfg = org.limits.config(forClass: id, catalog: catalog) { configs[id] = cfg }
        }
        classConfigs = configs
        classIds = configs.keys.sorted()
        classIndex = Dictionary(uniqueKeysWithValues: classIds.enumerated().map { ($1, $0) })
        let tierRPM = org.limits.tier.flatMap { catalog.tier(named: $0) }.map { Double($0.countTokensRPM) }
        countTokensRPM = org.countTokensRPM ?? tierRPM ?? 100
        // The simulator's stream names, so the same seed gives the same draws per organisation.
        server = OrganizationServer(
            classes: classIds.map { configs[$0]! }, model: config.server,
            minCacheableTokens: config.cache.minCacheableTokens,
            random: RandomSource(seed: config.seed, stream: index == 0 ? "server" : "server[\(index)]"),
            countTokensRPM: countTokensRPM, spendCapReached: org.spendCapReached)
        // A scenario's `models:` with their own latency, as the simulator serves them.
        if !config.classLatency.isEmpty { server.classLatency = classIds.map { config.classLatency[$0] ?? config.server } }
    }

    /// The class a model id is served under, or nil (404).
    func classId(for model: String, catalog: TierCatalog) -> String? {
        if let c = catalog.modelClass(for: model), classConfigs[c.id] != nil { return c.id }
        if classConfigs[model] != nil && catalog.modelClass(for: model) == nil { return model }
        return nil
    }

    // MARK: Messages

    /// Decides a Messages request with the organisation's server (see `OrganizationServer` for
    /// the order of decisions and draws). Counts it in flight until `finish`.
    func decide(_ request: MessagesRequest, modelClass: String, outputTokens requested: Int?,
                config: MockConfig, tag: RecordTag? = nil, now clock: () -> Double) -> MessagesOutcome {
        let c = classIndex[modelClass]!
        let modelKey = Self.hash(request.model)
        let breakpoints = request.breakpoints.map { bp in
            PromptBreakpoint(key: modelKey ^ bp.hash, tokens: bp.tokens,
                             ttl: bp.ttl == .oneHour ? config.cache.ttl1h : config.cache.ttl5m, longTTL: bp.ttl == .oneHour)
        }
        let serverRequest = ServerRequest(modelClass: c, promptTokens: request.promptTokens, maxTokens: request.maxTokens,
                                          wantedOutputTokens: requested ?? config.defaultOutputTokens,
                                          stream: request.stream, breakpoints: breakpoints,
                                          stopSequenceAfter: request.stopSequenceAfter, tools: request.toolOffer)
        lock.lock()
        defer { lock.unlock() }
        usedClasses.insert(c)
        let arrival = clock()
        let reply = server.decide(serverRequest, at: arrival)
        // Recorded here, inside the lock, so that rows are in arrival order.
        if let recorder, let tag {
            record(recorder, tag, request, modelClass: modelClass, arrival: arrival, reply: reply)
        }
        switch reply.kind {
        case .admitted:
            if reply.fault != .none { faultCounts[reply.fault.label, default: 0] += 1 }
            return .admitted(reply)
        case .rateLimited:
            refusalCounts[CounterKey(endpoint: "messages", modelClass: modelClass, label: reply.refusedBy.label),
                          default: 0] += 1
        case .overloaded:
            faultCounts["overloaded", default: 0] += 1
        case .serverError:
            faultCounts["server_error", default: 0] += 1
        case .spendCap:
            break
        }
        return .refused(reply, classConfigs[modelClass]!)
    }

    private func record(_ recorder: MockRecorder, _ tag: RecordTag, _ request: MessagesRequest, modelClass: String,
                        arrival: Double, reply: ServerReply) {
        let fault: String
        switch reply.kind {
        case .overloaded: fault = "overloaded"
        case .serverError: fault = "server_error"
        default: fault = reply.fault.label
        }
        let u = reply.usage
        let row = RecordingRow(
            at: arrival, key: "", org: org.id, model: request.model, modelClass: modelClass, endpoint: "messages",
            status: Int(reply.status), refusedBy: reply.refusedBy.label,
            retryAfter: reply.kind == .rateLimited ? (reply.retryAfter ?? 1) : nil,
            inputTokens: u.input, cacheWriteTokens: u.cacheCreation, cacheReadTokens: u.cacheRead,
            outputTokens: u.output, maxTokens: request.maxTokens,
            ttft: reply.firstToken.isFinite ? reply.firstToken - arrival : nil, completedAt: reply.completion,
            stream: request.stream, fault: fault, requestId: tag.requestId, retryCount: tag.retryCount)
        recorder.append(row, keyHash: tag.keyHash, bodyHash: tag.bodyHash)
    }

    /// The request has been answered (or its connection closed).
    func finish() {
        lock.lock()
        server.finished()
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
    func admitCountTokens(_ request: MessagesRequest? = nil, modelClass: String = "", tag: RecordTag? = nil,
                          rejectLatency: Double = 0, now clock: () -> Double) -> (AdmissionDecision, rpm: Double) {
        lock.lock()
        defer { lock.unlock() }
        let arrival = clock()
        let d = server.admitCountTokens(at: arrival)!
        if !d.admitted {
            refusalCounts[CounterKey(endpoint: "count_tokens", modelClass: "", label: d.refusedBy.label), default: 0] += 1
        }
        if let recorder, let tag, let request {
            recorder.append(RecordingRow(
                at: arrival, key: "", org: org.id, model: request.model, modelClass: modelClass, endpoint: "count_tokens",
                status: d.admitted ? 200 : 429, refusedBy: d.refusedBy.label,
                retryAfter: d.admitted ? nil : (d.retryAfter ?? 1), inputTokens: request.promptTokens,
                completedAt: d.admitted ? arrival : arrival + rejectLatency, requestId: tag.requestId,
                retryCount: tag.retryCount), keyHash: tag.keyHash, bodyHash: tag.bodyHash)
        }
        return (d, countTokensRPM)
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
        for c in usedClasses.sorted() { buckets.append((classIds[c], server.snapshot(modelClass: c, at: now))) }
        return MetricsSample(
            requests: requestCounts.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
            refusals: refusalCounts.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
            faults: faultCounts.sorted { $0.key < $1.key }.map { ($0.key, $0.value) },
            buckets: buckets, countTokens: server.countTokensSnapshot(at: now)!, inFlight: server.inFlight,
            cacheEntries: server.cacheEntries)
    }
}
