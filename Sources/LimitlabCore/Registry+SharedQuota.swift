// Shared-state admission limiters (issue #9): the limiter state lives in a `SharedQuotaStore`
// that every worker of the organisation uses. Implementations: Sources/LimitlabStrategies/Shared.

extension StrategyRegistry {
    /// Parameters every shared limiter takes: the store's key, the fallback and its back-off.
    static let sharedLimiterCommonParameters: [StrategyParameter] = [
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

    static let sharedLimiterDescriptors: [StrategyDescriptor] = [
        StrategyDescriptor(
            name: "shared-token-bucket", role: .admission,
            summary: "token-bucket with its buckets in a store shared by every worker of the organisation (one "
                + "Redis key per limiter; the simulator's workers share one in-memory store). The take of "
                + "requests and input (and reserved output) is one atomic all-or-nothing step; output is "
                + "settled at completion with the actual tokens. Sized from the organisation's limits, so N "
                + "workers together stay inside them. An empty bucket reserves the next slot before the "
                + "max_wait deadline (charged at once, sent at the slot), so workers get slots in the order "
                + "they ask.",
            mirrors: "Bottleneck clustering (Redis datastore, shared reservoir); the Claude API's token buckets (S11)",
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
            ] + sharedLimiterCommonParameters + limiterQueueParameters),
        StrategyDescriptor(
            name: "shared-gcra", role: .admission,
            summary: "gcra with its TAT in a store shared by every worker (redis-cell's CL.THROTTLE on one key): "
                + "T = period/count, τ = T·(max_burst + 1), one atomic check-and-set per request. When "
                + "refused it reserves the next slot before the max_wait deadline (TAT advanced at once, "
                + "sent at the slot), so workers get slots in the order they ask.",
            mirrors: "brandur/redis-cell @4d42338 (CL.THROTTLE key max_burst count period 1), shared by every client",
            parameters: [
                StrategyParameter("count", .number(min: 0, max: .infinity), "none",
                                  "Requests per period for the whole organisation; none = the scenario's RPM scaled "
                                  + "to the period."),
                StrategyParameter("period", .duration, "1m", "The period count is spread over."),
                StrategyParameter("max_burst", .integer(min: 0, max: .max), "0",
                                  "Extra requests allowed at once beyond the first."),
            ] + sharedLimiterCommonParameters + limiterQueueParameters),
    ]
}
