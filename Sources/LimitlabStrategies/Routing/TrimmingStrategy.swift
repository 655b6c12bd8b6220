public import LimitlabCore

/// Prompt trimming (`trim:`): wraps a strategy and, when the input-token bucket the latest
/// `anthropic-ratelimit-input-tokens-*` headers showed runs low, sends attempts with fewer
/// prompt tokens (the "truncate history" advice). Below `belowRemaining` of the limit the
/// prompt shrinks linearly with what remains, down to `floor` of the request's own prompt at
/// an empty bucket; the cached prefix is never trimmed (drivers keep it).
///
/// The bucket is estimated at the send time from the last headers of the attempt's model
/// class, refilled at the limit per minute since they were read (the API's continuous
/// replenishment), so an old reading does not keep trimming after the bucket has refilled.
public struct TrimmingStrategy: StrategyWrapper {
    /// Share of the input limit below which prompts are trimmed, in (0, 1].
    public let belowRemaining: Double
    /// Share of the request's prompt an attempt keeps at an empty bucket, in [0, 1].
    public let floor: Double
    public var inner: any ClientStrategy
    /// Latest input-bucket reading per model class, and when it was read.
    private var latest: [Int: (reading: RateLimitReading, at: Double)] = [:]
    /// Whole prompt of each unfinished request.
    private var prompt: [Int32: Int] = [:]
    /// Prompt tokens of the attempt last sent per request, when trimmed.
    private var trimmedTo: [Int32: Int] = [:]

    public init(belowRemaining: Double, floor: Double, wrapping inner: any ClientStrategy) {
        self.belowRemaining = belowRemaining; self.floor = floor; self.inner = inner
    }

    /// The prompt tokens to send for a prompt of `tokens` when the input bucket holds
    /// `remaining` of `limit` (nil: send it whole).
    public func trimmed(_ tokens: Int, remaining: Double, limit: Double) -> Int? {
        guard limit > 0, belowRemaining > 0 else { return nil }
        let fraction = Swift.max(0, remaining) / limit
        guard fraction < belowRemaining else { return nil }
        let keep = floor + (1 - floor) * fraction / belowRemaining
        let n = Int((Double(tokens) * keep).rounded(.up))
        return n < tokens ? n : nil
    }

    public mutating func arrived(_ request: PendingRequest, now: Double) {
        prompt[request.id] = request.cost.inputTokens + request.cost.cacheCreationTokens + request.cost.cacheReadTokens
        inner.arrived(request, now: now)
    }

    public mutating func finished(_ request: PendingRequest, attempt: Int, outcome: AttemptOutcome, now: Double) {
        if let s = outcome.rateLimits {
            // The class of the attempt that brought the headers (still recorded until forgotten).
            latest[inner.modelClass(for: request.id)] = (s.inputTokens, now)
        }
        inner.finished(request, attempt: attempt, outcome: outcome, now: now)
        if outcome.succeeded { forget(request.id) }
    }

    private mutating func forget(_ id: Int32) {
        prompt.removeValue(forKey: id)
        trimmedTo.removeValue(forKey: id)
    }

    public mutating func poll(now: Double, into commands: inout [StrategyCommand]) {
        let first = commands.count
        inner.poll(now: now, into: &commands)
        var i = first
        while i < commands.count {
            switch commands[i] {
            case .giveUp(let id, _), .drop(let id, _):
                forget(id)
            case .submitBatch: break
            case .send(let id, _):
                trimmedTo.removeValue(forKey: id)
                if let tokens = prompt[id], let seen = latest[inner.modelClass(for: id)] {
                    let limit = Double(seen.reading.limit)
                    let refilled = seen.reading.remaining + limit / 60 * Swift.max(0, now - seen.at)
                    if let n = trimmed(tokens, remaining: Swift.min(limit, refilled), limit: limit) {
                        trimmedTo[id] = n
                    }
                }
            }
            i += 1
        }
    }

    /// Trimming reads the input-token headers.
    public var readsRateLimitHeaders: Bool { true }
    public func inputTokens(for request: Int32) -> Int? { trimmedTo[request] }
}

extension TrimmingStrategy {
    /// The `trim:` entries.
    static let definitions: [StrategyDefinition] = [
        .trim(
            "linear",
            summary: "When the input-token bucket (from the latest anthropic-ratelimit-input-tokens-* headers of the "
                + "attempt's model, refilled at the limit per minute since) holds less than below_remaining of its "
                + "limit, send a shorter prompt: linearly from the whole prompt at that level down to floor of it "
                + "at an empty bucket. The cached prefix is never trimmed; the server is charged the trimmed input.",
            mirrors: "the \"truncate history / keep prompts concise\" advice for input-token limits "
                + "(https://docs.claude.com/en/api/rate-limits); the linear ramp is limitlab's own",
            parameters: [
                StrategyParameter("below_remaining", .number(min: 0, max: 1), "0.2",
                                  "Trim when the input bucket holds less than this share of its limit."),
                StrategyParameter("floor", .number(min: 0, max: 1), "0.5",
                                  "Share of the prompt kept at an empty bucket."),
            ],
            make: { p, _, inner, _ throws(StrategyError) in
                TrimmingStrategy(belowRemaining: try p.double("below_remaining"), floor: try p.double("floor"),
                                 wrapping: inner)
            }),
    ]
}
