public import LimitlabCore

/// Paces sends from the `anthropic-ratelimit-*` headers: limitlab's own design (no library does
/// this), after the rule proposed in anthropic-sdk-typescript#357.
///
/// Per dimension (requests, input tokens, output tokens), with `remaining` and `reset` as the
/// headers would show them at the moment of the decision:
/// - `remaining` below one request's cost: wait until `reset` (the bucket is full again), plus
///   `resetMargin`;
/// - otherwise send no faster than `remaining / (reset − now)`: after a send, the next one in
///   that dimension waits `cost · (reset − now) / remaining`.
///
/// Headers arrive only with responses and describe the server at the moment the answered
/// attempt was admitted, so between responses the values are predicted: the latest header's
/// `remaining` (tokens rounded to the nearest `tokenRounding`, requests rounded down, negative
/// shown as 0, as the real API shows them), refilled at `limit/60` per second up to the
/// capacity the header implies (`remaining + (reset − sent) · limit/60`), less the cost of this
/// client's sends after the answered one. A header older than one already used is ignored. A
/// 429 with `retry-after` holds every send until then. Before the first header, requests go
/// freely, or at `initialRate` per second.
public struct HeaderPacedLimiter: AdmissionPolicy {
    public enum OutputCost: String, Sendable, CaseIterable {
        /// The mean output of the successful responses so far (0, not paced, before the first).
        case observed
        /// The request's `max_tokens`.
        case maxTokens = "max_tokens"
    }

    public struct Configuration: Sendable, Equatable {
        /// Requests per second before the first header; nil: unpaced.
        public var initialRate: Double?
        public var outputCost: OutputCost
        /// Whether one request's input cost includes its cached prefix.
        public var countCacheReads: Bool
        /// Token `remaining` is read rounded to the nearest multiple of this (1 = exact).
        public var tokenRounding: Int

        public init(initialRate: Double? = nil, outputCost: OutputCost = .observed, countCacheReads: Bool = false,
                    tokenRounding: Int = 1000) {
            self.initialRate = initialRate; self.outputCost = outputCost; self.countCacheReads = countCacheReads
            self.tokenRounding = tokenRounding
        }
    }

    /// Dimension order: requests, input tokens, output tokens.
    private struct Costs: Sendable {
        var values: (Double, Double, Double)
        subscript(_ d: Int) -> Double { d == 0 ? values.0 : d == 1 ? values.1 : values.2 }
    }

    private struct Sent: Sendable {
        var id: Int32
        var attempt: Int
        var time: Double
        var costs: Costs
        var done = false
    }

    public let configuration: Configuration
    /// The predicted server bucket per dimension; nil before a header.
    private var replicas: [RefillingBucket?] = [nil, nil, nil]
    private var nextAllowed: [Double] = [-.infinity, -.infinity, -.infinity]
    /// Sends not yet covered by the header in use, in send order.
    private var pending: [Sent] = []
    private var holdUntil = -Double.infinity
    private var lastSend: Double?
    private var outputTotal = 0.0
    private var outputCount = 0

    /// A wait for a reset ends this long after the predicted instant. The prediction uses
    /// other arithmetic than the server's bucket, and a request that arrives a rounding error
    /// before the server's bucket holds 1 is refused.
    public static let resetMargin = 1e-6

    public init(_ configuration: Configuration = Configuration()) {
        self.configuration = configuration
    }

    public var readsRateLimitHeaders: Bool { true }

    private func costs(_ cost: RequestCost) -> Costs {
        let input = cost.inputTokens + cost.cacheCreationTokens + (configuration.countCacheReads ? cost.cacheReadTokens : 0)
        let output: Double
        switch configuration.outputCost {
        case .observed: output = outputCount > 0 ? outputTotal / Double(outputCount) : 0
        case .maxTokens: output = Double(cost.maxTokens)
        }
        return Costs(values: (1, Double(input), output))
    }

    /// The value a header shows for this dimension.
    public static func shown(_ remaining: Double, dimension: LimitDimensions, tokenRounding: Int) -> Double {
        let clamped = Swift.max(0, remaining)
        if dimension == .requests || tokenRounding <= 1 { return clamped.rounded(.down) }
        let k = Double(tokenRounding)
        return (clamped / k).rounded(.toNearestOrAwayFromZero) * k
    }

    /// Predicted `remaining` and seconds to `reset` per dimension at `now` (nil before a header).
    public func predicted(at now: Double) -> [(remaining: Double, resetIn: Double)?] {
        replicas.map { b in b.map { ($0.level(at: now), $0.secondsUntilFull(from: now)) } }
    }

    /// `predicted.requests`, `predicted.input`, `predicted.output`: the server's `remaining` as
    /// predicted from the last headers and the sends since (NaN before the first header).
    public func stateGauges(now: Double) -> [StateGauge] {
        let p = predicted(at: now)
        return zip(["requests", "input", "output"], p).map { StateGauge("predicted." + $0, $1?.remaining ?? .nan) }
    }

    public mutating func ask(_ request: PendingRequest, attempt: Int, now: Double) -> AdmissionAnswer {
        var t = Swift.max(now, holdUntil)
        if replicas.allSatisfy({ $0 == nil }) {
            if let rate = configuration.initialRate, rate > 0, let last = lastSend { t = Swift.max(t, last + 1 / rate) }
            return .notBefore(t, now: now)
        }
        let c = costs(request.cost)
        for d in 0..<3 {
            guard let b = replicas[d], c[d] > 0 else { continue }
            // A cost above the bucket waits for a full bucket rather than forever.
            let need = Swift.min(c[d], b.capacity)
            if b.level(at: now) < need - b.tolerance {
                t = Swift.max(t, now + b.secondsUntilFull(from: now) + Self.resetMargin)
            } else {
                t = Swift.max(t, nextAllowed[d])
            }
        }
        return .notBefore(t, now: now)
    }

    public mutating func sent(_ request: PendingRequest, attempt: Int, now: Double) {
        let c = costs(request.cost)
        for d in 0..<3 {
            guard var b = replicas[d] else { continue }
            let remaining = b.level(at: now)
            if c[d] > 0 && remaining > 0 {
                nextAllowed[d] = now + c[d] * b.secondsUntilFull(from: now) / remaining
            }
            b.take(c[d], at: now)
            replicas[d] = b
        }
        pending.append(Sent(id: request.id, attempt: attempt, time: now, costs: c))
        lastSend = now
    }

    public mutating func finished(_ request: PendingRequest, attempt: Int, outcome: AttemptOutcome, now: Double) {
        if outcome.succeeded {
            outputTotal += Double(outcome.outputTokens)
            outputCount += 1
        }
        if outcome.status == 429 || outcome.error == .rateLimited, let wait = outcome.retryAfter {
            holdUntil = Swift.max(holdUntil, now + wait)
        }
        guard let i = pending.firstIndex(where: { $0.id == request.id && $0.attempt == attempt }) else {
            return // its header is older than the one in use
        }
        if let snapshot = outcome.rateLimits {
            pending.removeFirst(i + 1)
            adopt(snapshot, takenAt: outcome.sentAt, answered: outcome)
        } else {
            // Sends at the front whose attempts are over can no longer be needed: any later
            // header comes from a later send, and already counts them.
            pending[i].done = true
            while let first = pending.first, first.done { pending.removeFirst() }
        }
    }

    /// Rebuilds the predicted buckets from a header taken when the answered attempt was admitted.
    private mutating func adopt(_ snapshot: RateLimitSnapshot, takenAt s: Double, answered: AttemptOutcome) {
        let readings = [snapshot.requests, snapshot.inputTokens, snapshot.outputTokens]
        let dims: [LimitDimensions] = [.requests, .inputTokens, .outputTokens]
        for d in 0..<3 {
            let r = readings[d]
            guard r.limit > 0 else { replicas[d] = nil; continue }
            let rate = Double(r.limit) / 60
            let shown = Self.shown(r.remaining, dimension: dims[d], tokenRounding: configuration.tokenRounding)
            var capacity = shown + Swift.max(0, r.resetAt - s) * rate
            // Requests remaining is rounded down, so this can read up to 1 short; the server's
            // requests bucket always holds at least one request.
            if d == 0 { capacity = Swift.max(1, capacity) }
            guard capacity > 0 else { replicas[d] = nil; continue }
            var b = RefillingBucket(rate: rate, capacity: capacity, level: shown, at: s)
            // The answered attempt generated its output after the header was taken.
            if d == 2 && answered.outputTokens > 0 { b.take(Double(answered.outputTokens), at: s) }
            for p in pending { b.take(p.costs[d], at: Swift.max(s, p.time)) }
            replicas[d] = b
        }
    }
}

extension HeaderPacedLimiter {
    static let definition = StrategyDefinition.admission(
        "header-paced",
        summary: "Paces from the anthropic-ratelimit-* headers. Per dimension: when remaining is below one "
            + "request's cost, wait until reset; otherwise send no faster than remaining/(reset − now). "
            + "Token remaining is read rounded to the thousand and requests remaining rounded down, as the "
            + "API shows them; between responses the values are predicted from the latest header and the "
            + "client's own sends since (refill at limit/60 up to the capacity the header implies). A 429 "
            + "with retry-after holds every send until then. Before the first header it sends freely, or "
            + "at initial_rate.",
        mirrors: "the Claude API's rate-limit headers (https://platform.claude.com/docs/en/api/rate-limits) and the "
            + "pacing proposed in https://github.com/anthropics/anthropic-sdk-typescript/issues/357 — limitlab's "
            + "design, no library",
        parameters: [
            StrategyParameter("initial_rate", .number(min: 0, max: .infinity), "none",
                              "Requests per second before the first header arrives; none = no pacing."),
            StrategyParameter("output_cost", .choice(["observed", "max_tokens"]), "observed",
                              "One request's output cost: observed = the mean output of the successful "
                              + "responses so far (the output dimension is not paced before the first); "
                              + "max_tokens = the request's max_tokens."),
            StrategyParameter("count_cache_reads", .bool, "false",
                              "Count the cached prompt prefix in one request's input cost."),
            StrategyParameter("token_rounding", .integer(min: 1, max: .max), "1000",
                              "Token remaining is read rounded to the nearest multiple of this (the real API "
                              + "rounds to 1000); 1 = exact."),
        ] + PipelineStrategy.queueParameters
    ) { (p, _) throws(StrategyError) in
        guard let output = OutputCost(rawValue: try p.string("output_cost")) else {
            throw StrategyError(message: "\(p.owner): output_cost must be observed or max_tokens")
        }
        return HeaderPacedLimiter(Configuration(
            initialRate: try p.optionalDouble("initial_rate"), outputCost: output,
            countCacheReads: try p.bool("count_cache_reads"), tokenRounding: try p.int("token_rounding")))
    }
}
