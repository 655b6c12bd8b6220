import LimitlabCore
#if canImport(Glibc)
import Glibc
#endif

/// The `anthropic-ratelimit-*` values of one response (`tokens-*` is derived, so not kept).
struct RateLimitHeaders {
    /// limit, remaining, reset (Unix seconds) for requests, input tokens, output tokens.
    var values = [Double](repeating: .nan, count: 9)
    var any = false

    mutating func set(group: Int, field: Int, _ v: Double) {
        values[group * 3 + field] = v
        any = true
    }

    /// The snapshot in model time (`epoch` = Unix time of model time 0). A group the response
    /// left out reads limit 0, which header-driven strategies treat as unknown.
    func snapshot(epoch: Double, now: Double) -> RateLimitSnapshot? {
        guard any else { return nil }
        func reading(_ g: Int) -> RateLimitReading {
            let limit = values[g * 3], remaining = values[g * 3 + 1], reset = values[g * 3 + 2]
            return RateLimitReading(limit: limit.isFinite ? Int(limit) : 0,
                                    remaining: remaining.isFinite ? remaining : 0,
                                    resetAt: reset.isFinite ? reset - epoch : now)
        }
        return RateLimitSnapshot(requests: reading(0), inputTokens: reading(1), outputTokens: reading(2))
    }

    mutating func reset() {
        for i in values.indices { values[i] = .nan }
        any = false
    }
}
