/// The server-side limit dimensions of the Messages API.
public struct LimitDimensions: OptionSet, Sendable, Hashable {
    public let rawValue: UInt8
    public init(rawValue: UInt8) { self.rawValue = rawValue }
    public static let requests = LimitDimensions(rawValue: 1)
    public static let inputTokens = LimitDimensions(rawValue: 2)
    public static let outputTokens = LimitDimensions(rawValue: 4)

    /// Names used in reports, CSV and headers: `requests`, `input_tokens`, `output_tokens`,
    /// joined with `+` when several refused.
    public var label: String {
        var parts: [String] = []
        if contains(.requests) { parts.append("requests") }
        if contains(.inputTokens) { parts.append("input_tokens") }
        if contains(.outputTokens) { parts.append("output_tokens") }
        return parts.joined(separator: "+")
    }
}

/// When a request is admitted.
public enum AdmissionRule: String, Sendable, CaseIterable, Codable {
    /// Admitted when the requests bucket holds at least 1 and each token bucket holds more than
    /// 0; the full cost is then debited and a bucket may go negative (the default: a real 429
    /// published in 2026 carried `retry-after: 505` on a 30,000 ITPM organisation, about
    /// 250,000 tokens of debt; Anthropic does not document the admission rule).
    case positiveBalance = "positive-balance"
    /// Each bucket must hold the whole cost (capped at the bucket's capacity, so an oversized
    /// request waits for a full bucket rather than forever).
    case fullCost = "full-cost"
}

/// How output tokens are charged to the OTPM bucket.
public enum OutputAccounting: String, Sendable, CaseIterable, Codable {
    /// Debited as they are generated (2026 documentation).
    case realtime
    /// `max_tokens` is reserved at admission and the unused part refunded at completion
    /// (2024–2025 documentation).
    case reserve
}

/// Per-minute limits and the knobs of the bucket model.
public struct LimitConfig: Sendable, Equatable, Codable {
    public var rpm: Double
    public var itpm: Double
    public var otpm: Double
    /// Bucket capacity as a multiple of one minute's limit (1.0 = a full minute; 1/60 = one
    /// second's worth, "60 RPM enforced as 1 request per second").
    public var burst: Double
    public var admission: AdmissionRule
    public var outputAccounting: OutputAccounting
    /// Whether `cache_read_input_tokens` count toward ITPM (catalog rows marked †).
    public var cacheReadsCount: Bool

    public init(rpm: Double, itpm: Double, otpm: Double, burst: Double = 1.0,
                admission: AdmissionRule = .positiveBalance, outputAccounting: OutputAccounting = .realtime,
                cacheReadsCount: Bool = false) {
        self.rpm = rpm; self.itpm = itpm; self.otpm = otpm; self.burst = burst
        self.admission = admission; self.outputAccounting = outputAccounting
        self.cacheReadsCount = cacheReadsCount
    }
}

/// What one request costs the limits, as the server sees it at admission.
public struct RequestCost: Sendable, Equatable {
    /// Uncached input tokens (the API's `input_tokens`: tokens after the last cache breakpoint).
    public var inputTokens: Int
    public var cacheCreationTokens: Int
    public var cacheReadTokens: Int
    public var maxTokens: Int

    public init(inputTokens: Int, cacheCreationTokens: Int = 0, cacheReadTokens: Int = 0, maxTokens: Int) {
        self.inputTokens = inputTokens; self.cacheCreationTokens = cacheCreationTokens
        self.cacheReadTokens = cacheReadTokens; self.maxTokens = maxTokens
    }
}

/// A continuously refilling bucket that may go negative (debt).
public struct Bucket: Sendable, Equatable {
    /// Per-minute limit the bucket enforces (what `*-limit` headers report).
    public let limit: Double
    public let capacity: Double
    public let refillPerSecond: Double
    public internal(set) var level: Double
    public internal(set) var updatedAt: Double

    init(limit: Double, capacity: Double, at start: Double) {
        self.limit = limit
        self.capacity = capacity
        self.refillPerSecond = limit / 60
        self.level = capacity
        self.updatedAt = start
    }

    /// Moves the level to `now` with refill and a constant `drain` (tokens/s). Within one call
    /// the net rate is constant, so the level is monotonic and clamping at capacity is exact.
    mutating func advance(to now: Double, drain: Double = 0) {
        let dt = now - updatedAt
        guard dt > 0 else { return }
        let next = level + (refillPerSecond - drain) * dt
        level = next > capacity ? capacity : next
        updatedAt = now
    }

    mutating func credit(_ amount: Double) { level = Swift.min(capacity, level + amount) }

    /// Seconds until the level reaches `threshold` by refill alone (0 if already there).
    /// `strict`: the level must exceed the threshold, so an exact hit needs one more instant.
    func secondsUntil(_ threshold: Double, strict: Bool) -> Double {
        let deficit = threshold - level
        if deficit < 0 || (!strict && deficit == 0) { return 0 }
        guard refillPerSecond > 0 else { return .infinity }
        // A strict threshold hit exactly on a whole second needs that second to pass too.
        return deficit / refillPerSecond + (strict ? 1e-9 : 0)
    }

    /// Seconds until full, for the `*-reset` header.
    func secondsUntilFull() -> Double {
        guard refillPerSecond > 0 else { return 0 }
        return Swift.max(0, (capacity - level) / refillPerSecond)
    }
}

/// One dimension's values for the `anthropic-ratelimit-*` headers.
public struct RateLimitReading: Sendable, Equatable {
    public init(limit: Int, remaining: Double, resetAt: Double) {
        self.limit = limit; self.remaining = remaining; self.resetAt = resetAt
    }
    public var limit: Int
    /// Exact level (may be negative); headers clamp at 0 and round tokens to the thousand.
    public var remaining: Double
    /// Model time at which the bucket would be full again.
    public var resetAt: Double
}

/// The state behind the `anthropic-ratelimit-*` header set at one instant.
public struct RateLimitSnapshot: Sendable, Equatable {
    public init(requests: RateLimitReading, inputTokens: RateLimitReading, outputTokens: RateLimitReading) {
        self.requests = requests; self.inputTokens = inputTokens; self.outputTokens = outputTokens
    }
    public var requests: RateLimitReading
    public var inputTokens: RateLimitReading
    public var outputTokens: RateLimitReading

    /// The combined `tokens-*` group: input + output (no workspace limit is modelled).
    public var tokens: RateLimitReading {
        RateLimitReading(
            limit: inputTokens.limit + outputTokens.limit,
            remaining: Swift.max(0, inputTokens.remaining) + Swift.max(0, outputTokens.remaining),
            resetAt: Swift.max(inputTokens.resetAt, outputTokens.resetAt))
    }

    /// Header name/value pairs as the real API sends them. `epoch` is the Unix time of model
    /// time 0; `remaining` is exact for requests and rounded to the nearest thousand for
    /// tokens (`tokenRounding` 1 turns rounding off).
    public func headers(epoch: Double, tokenRounding: Int = 1000) -> [(String, String)] {
        // The mock sends this set with every reply: constant names, and each distinct reset
        // second formatted once (the groups usually share it).
        var out: [(String, String)] = []
        out.reserveCapacity(12)
        var lastReset = Double.nan, lastText = ""
        func group(_ names: (String, String, String), _ r: RateLimitReading, round: Int) {
            let clamped = Swift.max(0, r.remaining)
            let shown: Int
            if round > 1 {
                shown = Int((clamped / Double(round)).rounded(.toNearestOrAwayFromZero)) * round
            } else {
                shown = Int(clamped.rounded(.down))
            }
            let at = epoch + r.resetAt
            if !(at.rounded(.up) == lastReset) {
                lastReset = at.rounded(.up)
                lastText = RFC3339.format(unixSeconds: at)
            }
            out.append((names.0, String(r.limit)))
            out.append((names.1, String(shown)))
            out.append((names.2, lastText))
        }
        group(Self.names[0], requests, round: 1)
        group(Self.names[1], tokens, round: tokenRounding)
        group(Self.names[2], inputTokens, round: tokenRounding)
        group(Self.names[3], outputTokens, round: tokenRounding)
        return out
    }

    private static let names = ["requests", "tokens", "input-tokens", "output-tokens"].map {
        ("anthropic-ratelimit-\($0)-limit", "anthropic-ratelimit-\($0)-remaining", "anthropic-ratelimit-\($0)-reset")
    }
}

/// The outcome of asking the limits to admit one request.
public struct AdmissionDecision: Sendable, Equatable {
    public var admitted: Bool
    /// The dimensions that refused (empty when admitted).
    public var refusedBy: LimitDimensions
    /// Whole seconds until every refusing bucket would admit this request by refill alone
    /// (at least 1); nil when admitted.
    public var retryAfter: Int?
    /// Bucket state after the decision, for the rate-limit headers (nil when not asked for).
    public var snapshot: RateLimitSnapshot?
}

/// Anthropic's server-side limits for one organisation and model class, as a pure value: one
/// continuously refilling bucket per dimension (requests, input tokens, output tokens).
/// The simulator and the mock server both drive it; it never reads a clock — every call
/// takes `now` in seconds of model time, and calls must come in non-decreasing time order.
public struct LimitModel: Sendable {
    public let config: LimitConfig
    public private(set) var requests: Bucket
    public private(set) var input: Bucket
    public private(set) var output: Bucket

    /// Realtime output accounting: scheduled linear drains of the output bucket.
    private struct DrainEvent: Comparable, Sendable {
        var time: Double
        var rateDelta: Double
        var lump: Double
        static func < (a: Self, b: Self) -> Bool { a.time < b.time }
    }
    private var drainRate = 0.0
    private var drains = MinHeap<DrainEvent>()

    public init(_ config: LimitConfig, at start: Double = 0) {
        self.config = config
        // A request always costs 1, so the requests bucket never holds less than 1.
        requests = Bucket(limit: config.rpm, capacity: Swift.max(1, config.rpm * config.burst), at: start)
        input = Bucket(limit: config.itpm, capacity: config.itpm * config.burst, at: start)
        output = Bucket(limit: config.otpm, capacity: config.otpm * config.burst, at: start)
    }

    /// Tokens this request charges to ITPM.
    public func inputCost(_ cost: RequestCost) -> Int {
        cost.inputTokens + cost.cacheCreationTokens + (config.cacheReadsCount ? cost.cacheReadTokens : 0)
    }

    /// Brings every bucket to `now`, applying scheduled output drains in time order.
    public mutating func advance(to now: Double) {
        requests.advance(to: now)
        input.advance(to: now)
        while let next = drains.min, next.time <= now {
            output.advance(to: next.time, drain: drainRate)
            drainRate += next.rateDelta
            output.level -= next.lump
            drains.pop()
            // Rates are added and removed in pairs; reset the float residue when none is active.
            if drains.isEmpty || drainRate < 0 { drainRate = drains.isEmpty ? 0 : Swift.max(0, drainRate) }
        }
        output.advance(to: now, drain: drainRate)
    }

    /// Decides whether a request may start at `now`; when admitted, debits its cost (input,
    /// and `max_tokens` in reserve mode). `withSnapshot: false` skips the header values for
    /// callers that do not send or read headers.
    public mutating func admit(_ cost: RequestCost, at now: Double, withSnapshot: Bool = true) -> AdmissionDecision {
        advance(to: now)
        let inCost = Double(inputCost(cost))
        let reserve = config.outputAccounting == .reserve ? Double(cost.maxTokens) : 0
        var refused: LimitDimensions = []
        var wait = 0.0

        // A tolerance of 1e-9 keeps float residue from refill arithmetic (0.99999999999998)
        // from refusing a request that is due.
        let eps = 1e-9
        if requests.level < 1 - eps {
            refused.insert(.requests)
            wait = Swift.max(wait, requests.secondsUntil(1, strict: false))
        }
        switch config.admission {
        case .positiveBalance:
            if input.level <= eps && inCost > 0 {
                refused.insert(.inputTokens)
                wait = Swift.max(wait, input.secondsUntil(0, strict: true))
            }
            if output.level <= eps {
                refused.insert(.outputTokens)
                wait = Swift.max(wait, output.secondsUntil(0, strict: true))
            }
        case .fullCost:
            let needIn = Swift.min(inCost, input.capacity)
            if input.level < needIn - eps {
                refused.insert(.inputTokens)
                wait = Swift.max(wait, input.secondsUntil(needIn, strict: false))
            }
            if reserve > 0 {
                let needOut = Swift.min(reserve, output.capacity)
                if output.level < needOut - eps {
                    refused.insert(.outputTokens)
                    wait = Swift.max(wait, output.secondsUntil(needOut, strict: false))
                }
            } else if output.level <= eps {
                refused.insert(.outputTokens)
                wait = Swift.max(wait, output.secondsUntil(0, strict: true))
            }
        }

        if !refused.isEmpty {
            return AdmissionDecision(admitted: false, refusedBy: refused, retryAfter: Self.wholeSeconds(wait),
                                     snapshot: withSnapshot ? snapshot(at: now) : nil)
        }
        requests.level -= 1
        input.level -= inCost
        output.level -= reserve
        return AdmissionDecision(admitted: true, refusedBy: [], retryAfter: nil,
                                 snapshot: withSnapshot ? snapshot(at: now) : nil)
    }

    /// `retry-after` in whole seconds: the exact wait rounded up, at least 1, capped so that a
    /// bucket with no refill still gives a finite header.
    static func wholeSeconds(_ wait: Double) -> Int {
        guard wait.isFinite else { return 86_400 }
        let up = wait.rounded(.up)
        return Swift.max(1, Int(Swift.min(up, 86_400)))
    }

    /// Records the output of an admitted request. Realtime accounting drains `tokens` linearly
    /// from `start` (first token) to `end` (last token); reserve accounting refunds
    /// `maxTokens − tokens` at `end`. Both take effect as model time passes them.
    public mutating func scheduleOutput(tokens: Int, maxTokens: Int, from start: Double, to end: Double) {
        switch config.outputAccounting {
        case .realtime:
            guard tokens > 0 else { return }
            if end > start {
                let rate = Double(tokens) / (end - start)
                drains.push(DrainEvent(time: start, rateDelta: rate, lump: 0))
                drains.push(DrainEvent(time: end, rateDelta: -rate, lump: 0))
            } else {
                drains.push(DrainEvent(time: start, rateDelta: 0, lump: Double(tokens)))
            }
        case .reserve:
            let unused = maxTokens - tokens
            if unused > 0 { drains.push(DrainEvent(time: end, rateDelta: 0, lump: -Double(unused))) }
        }
    }

    /// Debits output tokens immediately (a server that counts tokens as it streams them).
    public mutating func debitOutput(_ tokens: Int, at now: Double) {
        advance(to: now)
        output.level -= Double(tokens)
    }

    /// Credits unused reserved output immediately (reserve accounting, request ended early).
    public mutating func refundOutput(_ tokens: Int, at now: Double) {
        advance(to: now)
        output.credit(Double(tokens))
    }

    /// Header values at `now`.
    public mutating func snapshot(at now: Double) -> RateLimitSnapshot {
        advance(to: now)
        func reading(_ b: Bucket) -> RateLimitReading {
            RateLimitReading(limit: Int(b.limit.rounded()), remaining: b.level, resetAt: now + b.secondsUntilFull())
        }
        return RateLimitSnapshot(requests: reading(requests), inputTokens: reading(input), outputTokens: reading(output))
    }
}
