public import LimitlabCore

/// Client-side token buckets for the three server dimensions (requests, input tokens,
/// output tokens), refilled at limit/60 per second up to `burst` seconds' worth.
///
/// The request at the head of the queue is told the earliest time at which every bucket holds
/// its cost, computed in closed form as `golang.org/x/time/rate` does for a reservation
/// (`wait = deficit / rate`). By default (`oversize: .debt`), unlike x/time/rate, which refuses
/// a cost above the burst (`n > b`), a cost larger than a bucket is capped at the capacity: the
/// request waits for a full bucket and leaves it in debt, which the next request then waits
/// out. `oversize: .refuse` is the library's behaviour: such a request is dropped at once.
/// There is nothing to cancel (x/time/rate's `Reservation.Cancel`): the buckets are charged
/// when the request is sent, never at `ask`, so a request dropped from the queue took nothing. Input is charged
/// at send from the client's estimate; output is charged after the response with the actual
/// tokens (or, with `reserveOutput`, `max_tokens` is reserved at send and the unused part
/// refunded), so a long answer puts the output bucket in debt and blocks later requests until
/// refill repays it.
public struct TokenBucketLimiter: AdmissionPolicy {
    public enum InitialFill: String, Sendable, CaseIterable {
        case full, empty
    }

    /// What happens to a cost larger than its bucket's capacity.
    public enum Oversize: String, Sendable, CaseIterable {
        /// Wait for a full bucket, then go and leave the bucket in debt (limitlab's default: the
        /// API admits a request on a positive balance, and a 1 s bucket of ITPM/60 tokens is
        /// smaller than many prompts, which refusing would drop every time).
        case debt
        /// Drop it at once as `oversize`: x/time/rate's `ReserveN`/`WaitN` with `n > burst`,
        /// which can never succeed.
        case refuse
    }

    /// Limits per minute; nil leaves a dimension unlimited.
    public struct Configuration: Sendable, Equatable {
        public var rpm: Double?
        public var itpm: Double?
        public var otpm: Double?
        /// Capacity in seconds of refill (1 = one second's worth, 60 = a full minute).
        public var burstSeconds: Double
        public var initialFill: InitialFill
        public var countCacheReads: Bool
        public var reserveOutput: Bool
        public var oversize: Oversize

        public init(rpm: Double?, itpm: Double?, otpm: Double?, burstSeconds: Double = 1,
                    initialFill: InitialFill = .full, countCacheReads: Bool = false, reserveOutput: Bool = false,
                    oversize: Oversize = .debt) {
            self.rpm = rpm; self.itpm = itpm; self.otpm = otpm; self.burstSeconds = burstSeconds
            self.initialFill = initialFill; self.countCacheReads = countCacheReads; self.reserveOutput = reserveOutput
            self.oversize = oversize
        }
    }

    public let configuration: Configuration
    private var requests: RefillingBucket?
    private var input: RefillingBucket?
    private var output: RefillingBucket?

    /// Buckets start at model time `start` (0 for a run).
    public init(_ configuration: Configuration, start: Double = 0) {
        self.configuration = configuration
        func bucket(_ perMinute: Double?, floor: Double) -> RefillingBucket? {
            guard let perMinute, perMinute > 0 else { return nil }
            let rate = perMinute / 60
            let capacity = Swift.max(floor, rate * configuration.burstSeconds)
            return RefillingBucket(rate: rate, capacity: capacity,
                                   level: configuration.initialFill == .full ? capacity : 0, at: start)
        }
        // As on the server, a request always costs 1, so the requests bucket holds at least 1.
        requests = bucket(configuration.rpm, floor: 1)
        input = bucket(configuration.itpm, floor: 0)
        output = bucket(configuration.otpm, floor: 0)
    }

    /// Input tokens this request is charged at send.
    public func inputCost(_ cost: RequestCost) -> Double {
        Double(cost.inputTokens + cost.cacheCreationTokens + (configuration.countCacheReads ? cost.cacheReadTokens : 0))
    }

    private func outputReservation(_ cost: RequestCost) -> Double {
        configuration.reserveOutput ? Double(cost.maxTokens) : 0
    }

    /// The earliest time ≥ `now` at which every bucket admits `cost`.
    public func earliestAdmission(_ cost: RequestCost, now: Double) -> Double {
        var t = now
        if let b = requests { t = Swift.max(t, b.timeToReach(1, from: now)) }
        let inCost = inputCost(cost)
        // A request without input passes a bucket in debt, as on the server.
        if let b = input, inCost > 0 { t = Swift.max(t, b.timeToReach(Swift.min(inCost, b.capacity), from: now)) }
        // Without a reservation the output bucket only needs its debt repaid.
        if let b = output { t = Swift.max(t, b.timeToReach(Swift.min(outputReservation(cost), b.capacity), from: now)) }
        return t
    }

    /// Whether `cost` exceeds a bucket's capacity (input at send, or the output reservation).
    public func exceedsCapacity(_ cost: RequestCost) -> Bool {
        if let b = input, inputCost(cost) > b.capacity { return true }
        if let b = output, outputReservation(cost) > b.capacity { return true }
        return false
    }

    public mutating func ask(_ request: PendingRequest, attempt: Int, now: Double) -> AdmissionAnswer {
        if configuration.oversize == .refuse && exceedsCapacity(request.cost) { return .reject(.oversize) }
        return .notBefore(earliestAdmission(request.cost, now: now), now: now)
    }

    public mutating func sent(_ request: PendingRequest, attempt: Int, now: Double) {
        let inCost = inputCost(request.cost), reserve = outputReservation(request.cost)
        requests?.take(1, at: now)
        input?.take(inCost, at: now)
        output?.take(reserve, at: now)
    }

    public mutating func finished(_ request: PendingRequest, attempt: Int, outcome: AttemptOutcome, now: Double) {
        // Requests and input stay charged after a 429: the refusal says the server is shorter
        // than this client thought, so giving them back would only hasten the next refusal.
        if configuration.reserveOutput {
            let unused = request.cost.maxTokens - outcome.outputTokens
            if unused > 0 { output?.give(Double(unused), at: now) }
            else if unused < 0 { output?.take(Double(-unused), at: now) }
        } else if outcome.outputTokens > 0 {
            output?.take(Double(outcome.outputTokens), at: now)
        }
    }

    /// Bucket levels at `now` (nil for a dimension without a bucket), for tests and reports.
    public func levels(at now: Double) -> (requests: Double?, input: Double?, output: Double?) {
        (requests?.level(at: now), input?.level(at: now), output?.level(at: now))
    }

    /// `tokens.requests`, `tokens.input`, `tokens.output`: what each bucket holds at `now`
    /// (negative = debt), one gauge per bucket the limiter has.
    public func stateGauges(now: Double) -> [StateGauge] {
        var out: [StateGauge] = []
        if let b = requests { out.append(StateGauge("tokens.requests", b.level(at: now))) }
        if let b = input { out.append(StateGauge("tokens.input", b.level(at: now))) }
        if let b = output { out.append(StateGauge("tokens.output", b.level(at: now))) }
        return out
    }

    /// Capacities (nil for a dimension without a bucket).
    public var capacities: (requests: Double?, input: Double?, output: Double?) {
        (requests?.capacity, input?.capacity, output?.capacity)
    }
}

extension TokenBucketLimiter {
    static let definition = StrategyDefinition.admission(
        "token-bucket",
        summary: "Client token buckets for requests, input and output tokens, each refilled at limit/60 per "
            + "second up to `burst` seconds' worth. The request at the head of the queue waits until every "
            + "bucket holds its cost (the wait is computed exactly, as x/time/rate reservations do); a cost "
            + "larger than a bucket waits for a full bucket and leaves it in debt (oversize: debt) or is dropped "
            + "at once (oversize: refuse, x/time/rate's n > burst). Input is charged at send "
            + "from the prompt; output is charged after the response with the actual tokens, and the debt "
            + "blocks the next request until refill repays it.",
        mirrors: "golang.org/x/time/rate @2b4e439 (https://pkg.go.dev/golang.org/x/time/rate; reserveN: tokens may go "
            + "negative, wait = −tokens/r); the Claude API's documented token bucket (https://platform.claude.com/docs/en/api/rate-limits)",
        parameters: [
            StrategyParameter("rpm", .number(min: 0, max: .infinity), "none",
                              "Requests per minute; none = the scenario's RPM; 0 = no requests bucket."),
            StrategyParameter("itpm", .number(min: 0, max: .infinity), "none",
                              "Input tokens per minute; none = the scenario's ITPM; 0 = no input bucket."),
            StrategyParameter("otpm", .number(min: 0, max: .infinity), "none",
                              "Output tokens per minute; none = the scenario's OTPM; 0 = no output bucket."),
            StrategyParameter("burst", .duration, "1s",
                              "Capacity as seconds of refill. 1s (limitlab's default) holds one second's worth, "
                              + "for a server that enforces \"60 RPM as 1 request per second\"; 1m holds a full "
                              + "minute's limit. The requests bucket always holds at least 1."),
            StrategyParameter("initial_fill", .choice(["full", "empty"]), "full",
                              "full: start full, like x/time/rate's NewLimiter (a burst of `burst` at start); "
                              + "empty: start at 0, like Guava's stored permits."),
            StrategyParameter("count_cache_reads", .bool, "false",
                              "Charge the cached prompt prefix to the input bucket (true for the model classes "
                              + "whose cache reads count toward ITPM)."),
            StrategyParameter("reserve_output", .bool, "false",
                              "Take max_tokens from the output bucket at send and refund the unused part at "
                              + "the response (the 2024–2025 OTPM accounting) instead of charging output after "
                              + "the fact."),
            StrategyParameter("oversize", .choice(["debt", "refuse"]), "debt",
                              "A cost above a bucket's capacity: debt (limitlab's default) waits for a full "
                              + "bucket and leaves it in debt, as the API admits on a positive balance and a 1 s "
                              + "bucket is smaller than many prompts; refuse drops it at once as `oversize`, like "
                              + "x/time/rate, where ReserveN/WaitN with n > burst never succeed."),
        ] + PipelineStrategy.queueParameters
    ) { (p, context) throws(StrategyError) in
        guard let fill = InitialFill(rawValue: try p.string("initial_fill")) else {
            throw StrategyError(message: "\(p.owner): initial_fill must be full or empty")
        }
        let burst = try p.double("burst")
        guard burst > 0 else { throw StrategyError(message: "\(p.owner): burst must be longer than 0s") }
        guard let oversize = Oversize(rawValue: try p.string("oversize")) else {
            throw StrategyError(message: "\(p.owner): oversize must be debt or refuse")
        }
        let limits = context.limits
        return TokenBucketLimiter(Configuration(
            rpm: try p.optionalDouble("rpm") ?? limits.rpm,
            itpm: try p.optionalDouble("itpm") ?? limits.itpm,
            otpm: try p.optionalDouble("otpm") ?? limits.otpm,
            burstSeconds: burst, initialFill: fill,
            countCacheReads: try p.bool("count_cache_reads"), reserveOutput: try p.bool("reserve_output"),
            oversize: oversize))
    }
}
