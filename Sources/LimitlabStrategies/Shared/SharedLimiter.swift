public import LimitlabCore

/// An admission limiter whose state lives in a `SharedQuotaStore` that every worker of the
/// organisation uses (`shared-token-bucket`, `shared-gcra`), so N workers together keep to the
/// organisation's limits instead of each keeping to them on its own.
///
/// The store's take is atomic (check and charge in one step), so unlike the local limiters it
/// happens in `ask`: an allowed take is held as a grant that the `sent` for the same request
/// and attempt consumes without charging again.
///
/// Reservations: when the store is empty, the take asks it to reserve the next free slot if
/// that comes before the queue's deadline for the request (`reserveWithin` = the time left
/// until `deadline`, ∞ without `max_wait`). The store charges it at once and answers with the
/// slot, so slots go out across the organisation in the order the workers ask (FIFO), and
/// workers waiting on an empty bucket do not all wake at one instant to race for it. The
/// reservation is a grant valid from its slot: `ask` answers `.at(slot)`, and `.now` when asked
/// again at or after it, without calling the store again.
///
/// A grant never consumed — the pipeline asked about another request, or dropped the request at
/// its deadline (`abandoned`) — is refunded with `adjustTokens`; GCRA has no refund, so such a
/// grant counts as a send. The slot always comes before the deadline the pipeline drops at
/// (`reserveWindow`), so in the simulator this is a guard; a live worker late past the deadline
/// refunds.
///
/// A store error never escapes: the decision goes to the fallback (`fail-closed` drops the
/// request as `shared_limiter_unavailable`; `local` asks a local limiter of the same kind sized
/// at limit ÷ workers), the request is marked as via fallback, and the store is tried again
/// after `storeRetry` seconds.
public struct SharedLimiter: AdmissionPolicy {
    public enum Fallback: String, Sendable, CaseIterable {
        case failClosed = "fail-closed"
        case local
    }

    /// What the store holds.
    public enum Kind: Sendable, Equatable {
        /// Token buckets sized for the whole organisation.
        case tokenBucket(TokenBucketLimiter.Configuration)
        /// GCRA for the whole organisation: `count` requests per `period` seconds.
        case gcra(count: Double, period: Double, maxBurst: Int)
    }

    public let kind: Kind
    public let key: String
    public let fallback: Fallback
    public let storeRetry: Double
    public let workerCount: Int
    private let store: any SharedQuotaStore
    private var local: any AdmissionPolicy

    // Token-bucket dimensions present (requests, input, output), in that order.
    private enum Dimension { case requests, input, output }
    private var dimensions: [Dimension] = []
    private var capacities: [Double] = []
    private var rates: [Double] = []
    private var scratch: [Double] = []

    /// A take charged for `request`'s `attempt`, valid from `at` (a reservation's slot; else when taken).
    private struct Grant { var request: Int32; var attempt: Int; var costs: [Double]; var viaFallback: Bool; var at: Double }
    private var grant: Grant?
    /// Until when decisions skip the store after an error.
    private var storeDownUntil = -Double.infinity
    /// In-flight attempts: whether the fallback admitted them (their output settles locally).
    private var admittedLocally: [Int32: Bool] = [:]
    /// Requests whose latest admission decision the fallback made.
    private var fallbackDecisions: Set<Int32> = []

    /// Store calls that failed (takes and settlements).
    public private(set) var storeErrors = 0
    /// Output settlements lost because the store failed at completion.
    public private(set) var lostSettlements = 0
    /// The latest store error, for logs.
    public private(set) var lastError: SharedQuotaError?

    /// `kind` is sized for the organisation; the local fallback gets limit ÷ `workerCount`.
    public init(kind: Kind, store: any SharedQuotaStore, key: String, fallback: Fallback, storeRetry: Double,
                workerCount: Int) {
        self.kind = kind; self.store = store; self.key = key; self.fallback = fallback
        self.storeRetry = storeRetry; self.workerCount = Swift.max(1, workerCount)
        let n = Double(self.workerCount)
        switch kind {
        case .tokenBucket(let c):
            var share = c
            share.rpm = c.rpm.map { $0 / n }; share.itpm = c.itpm.map { $0 / n }; share.otpm = c.otpm.map { $0 / n }
            local = TokenBucketLimiter(share)
            func add(_ d: Dimension, _ perMinute: Double?, floor: Double) {
                guard let perMinute, perMinute > 0 else { return }
                dimensions.append(d)
                rates.append(perMinute / 60)
                capacities.append(Swift.max(floor, perMinute / 60 * c.burstSeconds))
            }
            // As on the server and in token-bucket, a request costs 1, so that bucket holds at least 1.
            add(.requests, c.rpm, floor: 1)
            add(.input, c.itpm, floor: 0)
            add(.output, c.otpm, floor: 0)
        case .gcra(let count, let period, let maxBurst):
            local = GCRALimiter(count: count / n, period: period, maxBurst: maxBurst / self.workerCount)
        }
    }

    private var configuration: TokenBucketLimiter.Configuration? {
        if case .tokenBucket(let c) = kind { return c }
        return nil
    }

    /// Costs per present dimension of sending `cost`.
    private func costs(_ cost: RequestCost) -> [Double] {
        guard let c = configuration else { return [] }
        return dimensions.map { d in
            switch d {
            case .requests: return 1
            case .input: return Double(cost.inputTokens + cost.cacheCreationTokens + (c.countCacheReads ? cost.cacheReadTokens : 0))
            case .output: return c.reserveOutput ? Double(cost.maxTokens) : 0
            }
        }
    }

    private func take(_ request: PendingRequest, costs: [Double], now: Double,
                      reserveWithin: Double) throws(SharedQuotaError) -> SharedQuotaDecision {
        switch kind {
        case .tokenBucket:
            return try store.takeTokens(key: key, costs: costs, capacities: capacities, refillPerSecond: rates, now: now,
                                        reserveWithin: reserveWithin)
        case .gcra(let count, let period, let maxBurst):
            let t = period / count
            return try store.takeGCRA(key: key, quantity: 1, emissionInterval: t, tolerance: t * Double(maxBurst + 1),
                                      now: now, reserveWithin: reserveWithin)
        }
    }

    /// The longest wait `w` the store may reserve so that the slot `now + w` comes strictly before
    /// `deadline` in floating point (the pipeline drops at `now ≥ deadline`): ∞ for no deadline,
    /// 0 (no reservation) when none fits. `now + w` grows with `w`, so every wait up to it fits.
    public static func reserveWindow(now: Double, deadline: Double) -> Double {
        if deadline == .infinity { return .infinity }
        guard deadline > now, deadline.isFinite else { return 0 }
        // deadline⁻ − now is exact when now ≥ deadline⁻/2 (Sterbenz); otherwise it is above
        // deadline⁻/2 and a step or two down brings the sum below the deadline.
        var w = deadline.nextDown - now
        var steps = 0
        while w > 0 && now + w >= deadline {
            guard steps < 8 else { return 0 }
            w = w.nextDown
            steps += 1
        }
        return Swift.max(0, w)
    }

    private mutating func refund(_ g: Grant, now: Double) {
        guard !g.viaFallback, configuration != nil, g.costs.contains(where: { $0 != 0 }) else { return }
        do {
            try store.adjustTokens(key: key, amounts: g.costs.map { -$0 }, capacities: capacities, refillPerSecond: rates,
                                   now: now)
        } catch {
            noteError(error, now: now)
        }
    }

    private mutating func noteError(_ error: SharedQuotaError, now: Double) {
        storeErrors += 1
        lastError = error
        storeDownUntil = now + storeRetry
    }

    private mutating func fallbackAsk(_ request: PendingRequest, attempt: Int, now: Double) -> AdmissionAnswer {
        fallbackDecisions.insert(request.id)
        switch fallback {
        case .failClosed:
            return .reject(.sharedLimiterUnavailable)
        case .local:
            let answer = local.ask(request, attempt: attempt, now: now)
            switch answer {
            case .now:
                grant = Grant(request: request.id, attempt: attempt, costs: [], viaFallback: true, at: now)
                return .now
            case .at(let t):
                // Ask the store again as soon as it may be back.
                return .at(Swift.min(t, Swift.max(storeDownUntil, now.nextUp)))
            case .reject:
                return answer
            }
        }
    }

    /// Asked without a deadline: a reservation may be for any future slot.
    public mutating func ask(_ request: PendingRequest, attempt: Int, now: Double) -> AdmissionAnswer {
        ask(request, attempt: attempt, now: now, deadline: .infinity)
    }

    public mutating func ask(_ request: PendingRequest, attempt: Int, now: Double, deadline: Double) -> AdmissionAnswer {
        if let g = grant {
            if g.request == request.id && g.attempt == attempt { return g.at <= now ? .now : .at(g.at) }
            grant = nil
            refund(g, now: now)
        }
        if now < storeDownUntil { return fallbackAsk(request, attempt: attempt, now: now) }
        let c = costs(request.cost)
        let decision: SharedQuotaDecision
        do {
            decision = try take(request, costs: c, now: now,
                                reserveWithin: Self.reserveWindow(now: now, deadline: deadline))
        } catch {
            noteError(error, now: now)
            return fallbackAsk(request, attempt: attempt, now: now)
        }
        fallbackDecisions.remove(request.id)
        // A refusal is never "now" (no grant was taken), however small its retryAfter.
        guard decision.allowed else { return .at(Swift.max(now + decision.retryAfter, now.nextUp)) }
        // A reservation's slot; one that rounds to `now` is due now.
        let at = decision.reserved ? now + decision.retryAfter : now
        grant = Grant(request: request.id, attempt: attempt, costs: c, viaFallback: false, at: at)
        return at <= now ? .now : .at(at)
    }

    public mutating func abandoned(_ request: PendingRequest, attempt: Int, now: Double) {
        guard let g = grant, g.request == request.id, g.attempt == attempt else { return }
        grant = nil
        refund(g, now: now)   // nothing for the local fallback's grants: it charges only at `sent`
    }

    public mutating func sent(_ request: PendingRequest, attempt: Int, now: Double) {
        if grant.map({ $0.request != request.id || $0.attempt != attempt }) ?? true {
            // Sent without a grant (a driver that did not ask): charge it anyway.
            _ = ask(request, attempt: attempt, now: now)
            if grant.map({ $0.request != request.id || $0.attempt != attempt }) ?? true {
                if configuration != nil && now >= storeDownUntil {
                    do {
                        try store.adjustTokens(key: key, amounts: costs(request.cost), capacities: capacities,
                                               refillPerSecond: rates, now: now)
                    } catch {
                        noteError(error, now: now)
                    }
                }
                grant = nil
                admittedLocally[request.id] = false
                return
            }
        }
        let g = grant!
        grant = nil
        admittedLocally[request.id] = g.viaFallback
        if g.viaFallback { local.sent(request, attempt: attempt, now: now) }
    }

    public mutating func finished(_ request: PendingRequest, attempt: Int, outcome: AttemptOutcome, now: Double) {
        let locally = admittedLocally.removeValue(forKey: request.id) ?? false
        fallbackDecisions.remove(request.id)
        if locally {
            local.finished(request, attempt: attempt, outcome: outcome, now: now)
            return
        }
        // Output is settled in the store with the actual tokens, as token-bucket does locally.
        guard let c = configuration, let o = dimensions.firstIndex(of: .output) else { return }
        let amount: Double
        if c.reserveOutput {
            // The reservation was taken only if the attempt got through to the server's answer.
            amount = Double(outcome.outputTokens - request.cost.maxTokens)
        } else {
            amount = Double(outcome.outputTokens)
        }
        guard amount != 0 else { return }
        scratch = Array(repeating: 0, count: dimensions.count)
        scratch[o] = amount
        do {
            try store.adjustTokens(key: key, amounts: scratch, capacities: capacities, refillPerSecond: rates, now: now)
        } catch {
            noteError(error, now: now)
            lostSettlements += 1
        }
    }

    public func viaFallback(_ request: Int32) -> Bool { fallbackDecisions.contains(request) }
}

extension SharedLimiter {
    /// Parameters every shared limiter takes: the store's key, the fallback and its back-off.
    static let commonParameters: [StrategyParameter] = [
        StrategyParameter("key", .text, "none",
                          "Namespace of the limiter's state in the store; none = limitlab:SCENARIO:LABEL, "
                          + "so every worker running the same strategy of the same scenario shares it."),
        StrategyParameter("fallback", .choice(["fail-closed", "local"]), "local",
                          "When the store cannot answer: fail-closed drops the request "
                          + "(shared_limiter_unavailable); local admits it through a local limiter of the same "
                          + "kind sized at limit ÷ workers. Either way the request is marked as via fallback."),
        StrategyParameter("store_retry", .duration, "1s",
                          "After a store error, decisions go straight to the fallback for this long before "
                          + "the store is tried again (no hammering of a store that is down)."),
    ]

    static let tokenBucketDefinition = StrategyDefinition.admission(
        "shared-token-bucket",
        summary: "token-bucket with its buckets in a store shared by every worker of the organisation (one "
            + "Redis key per limiter; the simulator's workers share one in-memory store). The take of "
            + "requests and input (and reserved output) is one atomic all-or-nothing step; output is "
            + "settled at completion with the actual tokens. Sized from the organisation's limits, so N "
            + "workers together stay inside them. An empty bucket reserves the next slot before the "
            + "max_wait deadline (charged at once, sent at the slot), so workers get slots in the order "
            + "they ask.",
        mirrors: "Bottleneck clustering (Redis datastore, shared reservoir; https://github.com/SGrondin/bottleneck); "
            + "the Claude API's token buckets (https://platform.claude.com/docs/en/api/rate-limits)",
        parameters: [
            StrategyParameter("rpm", .number(min: 0, max: .infinity), "none",
                              "Requests per minute for the whole organisation; none = the scenario's RPM; 0 = no "
                              + "requests bucket."),
            StrategyParameter("itpm", .number(min: 0, max: .infinity), "none",
                              "Input tokens per minute; none = the scenario's ITPM; 0 = no input bucket."),
            StrategyParameter("otpm", .number(min: 0, max: .infinity), "none",
                              "Output tokens per minute; none = the scenario's OTPM; 0 = no output bucket."),
            StrategyParameter("burst", .duration, "1s",
                              "Capacity as seconds of refill, as token-bucket (the requests bucket holds at least 1)."),
            StrategyParameter("count_cache_reads", .bool, "false",
                              "Charge the cached prompt prefix to the input bucket."),
            StrategyParameter("reserve_output", .bool, "false",
                              "Take max_tokens from the output bucket at send and refund the unused part at the "
                              + "response, instead of charging output after the fact."),
        ] + SharedLimiter.commonParameters + PipelineStrategy.queueParameters
    ) { (p, context) throws(StrategyError) in
        let burst = try p.double("burst")
        guard burst > 0 else { throw StrategyError(message: "\(p.owner): burst must be longer than 0s") }
        let limits = context.limits
        return try SharedLimiter(p, context, kind: .tokenBucket(TokenBucketLimiter.Configuration(
            rpm: try p.optionalDouble("rpm") ?? limits.rpm,
            itpm: try p.optionalDouble("itpm") ?? limits.itpm,
            otpm: try p.optionalDouble("otpm") ?? limits.otpm,
            burstSeconds: burst, countCacheReads: try p.bool("count_cache_reads"),
            reserveOutput: try p.bool("reserve_output"))))
    }

    static let gcraDefinition = StrategyDefinition.admission(
        "shared-gcra",
        summary: "gcra with its TAT in a store shared by every worker (redis-cell's CL.THROTTLE on one key): "
            + "T = period/count, τ = T·(max_burst + 1), one atomic check-and-set per request. When "
            + "refused it reserves the next slot before the max_wait deadline (TAT advanced at once, "
            + "sent at the slot), so workers get slots in the order they ask.",
        mirrors: "redis-cell CL.THROTTLE key max_burst count period 1 (https://github.com/brandur/redis-cell @4d42338), "
            + "shared by every client",
        parameters: [
            StrategyParameter("count", .number(min: 0, max: .infinity), "none",
                              "Requests per period for the whole organisation; none = the scenario's RPM scaled "
                              + "to the period."),
            StrategyParameter("period", .duration, "1m", "The period count is spread over."),
            StrategyParameter("max_burst", .integer(min: 0, max: .max), "0",
                              "Extra requests allowed at once beyond the first."),
        ] + SharedLimiter.commonParameters + PipelineStrategy.queueParameters
    ) { (p, context) throws(StrategyError) in
        let period = try p.double("period")
        let count = try p.optionalDouble("count") ?? context.limits.rpm * period / 60
        guard period > 0, count > 0 else { throw StrategyError(message: "\(p.owner): count and period must be above 0") }
        return try SharedLimiter(p, context, kind: .gcra(count: count, period: period, maxBurst: try p.int("max_burst")))
    }

    /// A shared limiter of `kind` with the store, key and fallback its parameters and the
    /// context name. Without a store (a single process) it still runs through the store's arithmetic.
    init(_ p: Params, _ context: StrategyContext, kind: Kind) throws(StrategyError) {
        guard let fallback = Fallback(rawValue: try p.string("fallback")) else {
            throw StrategyError(message: "\(p.owner): fallback must be fail-closed or local")
        }
        self.init(kind: kind, store: context.sharedStore ?? InMemoryQuotaStore(),
                  key: try p.optionalString("key") ?? context.sharedNamespace, fallback: fallback,
                  storeRetry: try p.double("store_retry"), workerCount: context.workerCount)
    }
}
