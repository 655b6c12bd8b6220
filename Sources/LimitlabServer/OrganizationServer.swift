public import LimitlabCore
public import LimitlabStats
import LimitlabWorkload

/// One organisation as the API serves it: its limits per model class, its prompt cache, its
/// latency and fault model, and its own seeded random stream. It decides each attempt at a
/// model time `now`; it reads no clock and does no I/O.
///
/// This is the one server of limitlab: the simulator calls it in virtual time and the mock
/// calls it from its HTTP handler, so a scenario's server behaves the same in both by
/// construction (the same draws in the same order for the same seed).
///
/// Draw order for an attempt (each draw only when its probability can be non-zero):
/// 1. overload (529), from the in-flight count before this attempt;
/// 2. server error (500);
/// then the spend cap and the limits (no draw), and for an admitted attempt:
/// 3. time to first token;
/// 4. (requests offering tools under `tool_use: {probability}` only) whether the model calls one;
/// 5. connection reset, else stall, else (streams) stream error, and the token it breaks at.
public struct OrganizationServer {
    public let model: ServerModel
    /// Every Messages request is refused with `enforced_spend_limit_reached`.
    public var spendCapReached: Bool
    /// Limits per model class (index = `ServerRequest.modelClass`).
    public private(set) var classes: [LimitModel]
    /// Latency of each model class (time to first token, output and prefill rates) where it
    /// differs from `model`'s; a class past the end uses `model`. Overload, faults and stalls are
    /// the organisation's.
    public var classLatency: [ServerModel] = []
    /// `count_tokens` has its own requests-per-minute bucket (nil: not served).
    public private(set) var countTokens: LimitModel?
    /// Attempts decided and not yet `finished()` (429s and 529s included until answered).
    public private(set) var inFlight = 0
    private var cache: PromptCache
    private let random: RandomSource

    /// - Parameters:
    ///   - classes: limits of each model class served.
    ///   - minCacheableTokens: shorter breakpoint prefixes are not cached.
    ///   - random: the organisation's own stream (the simulator and the mock name it `server`,
    ///     `server[1]`, … per organisation, so the same seed gives the same draws).
    ///   - countTokensRPM: the `count_tokens` bucket, if served.
    public init(classes: [LimitConfig], model: ServerModel, minCacheableTokens: Int, random: RandomSource,
                countTokensRPM: Double? = nil, spendCapReached: Bool = false) {
        self.model = model
        self.classes = classes.map { LimitModel($0, at: 0) }
        self.countTokens = countTokensRPM.map { rpm in
            // Only the requests bucket matters for count_tokens; the token buckets never refuse.
            LimitModel(LimitConfig(rpm: rpm, itpm: 1e15, otpm: 1e15, burst: classes.first?.burst ?? 1), at: 0)
        }
        self.cache = PromptCache(minCacheableTokens: minCacheableTokens)
        self.random = random
        self.spendCapReached = spendCapReached
    }

    /// Prompt-cache prefixes held.
    public var cacheEntries: Int { cache.count }

    /// Decides an attempt that reaches the server at `arrival`, and counts it in flight until
    /// `finished()`. `snapshot: false` skips the header values for callers that read none.
    public mutating func decide(_ r: ServerRequest, at arrival: Double, snapshot wantSnapshot: Bool = true) -> ServerReply {
        let now = model.stalls.isEmpty ? arrival : model.decisionTime(arrivingAt: arrival)
        let c = r.modelClass
        let before = inFlight
        inFlight += 1
        var reply = ServerReply(kind: .admitted, decidedAt: now, snapshot: nil, refusedBy: [], retryAfter: nil,
                                usage: TokenUsage(input: r.promptTokens), stopReason: .endTurn,
                                firstToken: .nan, lastToken: .nan, fault: .none, completion: now + model.rejectLatency)

        let p = model.overload.probability(inFlight: before)
        if p > 0 && random.uniform() < p {
            reply.kind = .overloaded
            if wantSnapshot { reply.snapshot = classes[c].snapshot(at: now) }
            return reply
        }
        let faults = model.faults
        if faults.serverError > 0 && random.uniform() < faults.serverError {
            reply.kind = .serverError
            if wantSnapshot { reply.snapshot = classes[c].snapshot(at: now) }
            return reply
        }
        if spendCapReached {
            reply.kind = .spendCap
            if wantSnapshot { reply.snapshot = classes[c].snapshot(at: now) }
            return reply
        }

        let use = cache.lookUp(r.breakpoints, promptTokens: r.promptTokens, at: now)
        let creation = use.creation5m + use.creation1h
        let cost = RequestCost(inputTokens: r.promptTokens - creation - use.read, cacheCreationTokens: creation,
                               cacheReadTokens: use.read, maxTokens: r.maxTokens)
        let decision = classes[c].admit(cost, at: now, withSnapshot: wantSnapshot)
        reply.snapshot = decision.snapshot
        guard decision.admitted else {
            reply.kind = .rateLimited
            reply.refusedBy = decision.refusedBy
            reply.retryAfter = decision.retryAfter
            return reply
        }

        var output = Swift.min(Swift.max(0, r.wantedOutputTokens), Swift.max(0, r.maxTokens))
        // Output cut by max_tokens says so; max_tokens 0 (a cache pre-warm) produces nothing.
        reply.stopReason = r.wantedOutputTokens > r.maxTokens || r.maxTokens == 0 ? .maxTokens : .endTurn
        // The class's latency read field by field: copying a whole ServerModel (it holds
        // arrays) per attempt cost ~260 instructions, 3 % of a simulated request.
        let custom = c < classLatency.count
        var ttft = custom ? random.draw(classLatency[c].ttft) : random.draw(model.ttft)
        if let tools = r.tools, callsTool(tools), tools.callTokens <= r.maxTokens {
            output = Swift.max(1, tools.callTokens)
            reply.stopReason = .toolUse
        } else if let s = r.stopSequenceAfter, s > 0, s <= output {
            output = s
            reply.stopReason = .stopSequence
        }
        if let prefill = custom ? classLatency[c].prefillTokensPerSecond : model.prefillTokensPerSecond, prefill > 0 {
            ttft += Double(r.promptTokens - use.read) / prefill
        }
        let firstToken = now + (ttft.isFinite ? Swift.max(0, ttft) : 0)
        let rate = custom ? classLatency[c].outputTokensPerSecond : model.outputTokensPerSecond
        let paced = rate > 0 && rate.isFinite
        let lastToken = paced ? firstToken + Double(Swift.max(0, output - 1)) / rate : firstToken

        var fault = ResponseFault.none
        var sent = output
        var completion = lastToken
        if faults.connectionReset > 0 && random.uniform() < faults.connectionReset {
            fault = .reset
            sent = 0
            completion = firstToken
        } else if faults.stall > 0 && random.uniform() < faults.stall {
            fault = .stall(seconds: faults.stallDuration)
            // A stream pauses after its first delta: a one-token stream has nothing left to pause.
            if !r.stream || output > 1 { completion = lastToken + faults.stallDuration }
        } else if r.stream && faults.streamError > 0 && random.uniform() < faults.streamError {
            let n = output > 0 ? 1 + random.uniformInt(output) : 0
            fault = .streamError(afterTokens: n)
            sent = n
            completion = n > 0 && paced ? firstToken + Double(n - 1) / rate : firstToken
        }
        // Only the tokens generated before a cut count against the output limit.
        let generatedUntil = sent == output ? lastToken : (sent > 0 && paced ? firstToken + Double(sent - 1) / rate : firstToken)
        classes[c].scheduleOutput(tokens: sent, maxTokens: r.maxTokens, from: firstToken, to: generatedUntil)
        cache.store(r.breakpoints, promptTokens: r.promptTokens, use: use, at: firstToken)

        reply.usage = TokenUsage(input: r.promptTokens - creation - use.read, cacheCreation5m: use.creation5m,
                                 cacheCreation1h: use.creation1h, cacheRead: use.read, output: sent)
        reply.firstToken = firstToken
        reply.lastToken = lastToken
        reply.fault = fault
        reply.completion = completion
        return reply
    }

    /// Whether the model calls a tool: always when forced, never under `none`, else by the
    /// server's policy (a draw only for `probability`).
    private func callsTool(_ t: ToolOffer) -> Bool {
        switch t.choice {
        case .required: return true
        case .none: return false
        case .auto:
            switch model.toolUse {
            case .rounds(let n): return t.completedRounds < n
            case .probability(let p): return p > 0 && random.uniform() < p
            }
        }
    }

    /// The attempt has been answered (or its connection closed).
    public mutating func finished() {
        inFlight -= 1
    }

    /// Admits a `count_tokens` request against its own bucket (nil when not served).
    public mutating func admitCountTokens(at now: Double) -> AdmissionDecision? {
        countTokens?.admit(RequestCost(inputTokens: 0, maxTokens: 0), at: now, withSnapshot: true)
    }

    /// Bucket levels of a model class at `t`, read from a copy so that sampling never changes
    /// the server's own arithmetic (a refill split into more steps rounds differently).
    public func bucketLevels(modelClass c: Int = 0, at t: Double) -> (requests: Double, input: Double, output: Double) {
        var m = classes[c]
        m.advance(to: t)
        return (m.requests.level, m.input.level, m.output.level)
    }

    /// Header values of a model class at `now`.
    public mutating func snapshot(modelClass c: Int, at now: Double) -> RateLimitSnapshot {
        classes[c].snapshot(at: now)
    }

    /// Header values of the `count_tokens` bucket at `now`.
    public mutating func countTokensSnapshot(at now: Double) -> RateLimitSnapshot? {
        countTokens?.snapshot(at: now)
    }
}

extension OrganizationServer {
    /// An organisation whose model classes have their own latency models (`latency[c]` for class
    /// `c`; see `classLatency`).
    public init(classes: [LimitConfig], latency: [ServerModel], model: ServerModel, minCacheableTokens: Int,
                random: RandomSource) {
        self.init(classes: classes, model: model, minCacheableTokens: minCacheableTokens, random: random)
        classLatency = latency
    }
}
