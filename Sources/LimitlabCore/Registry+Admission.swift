// Admission limiters (S11, S13–S16, S18). Implementations: Sources/LimitlabStrategies/Limiters.
// Defaults are written as a scenario would write them; "none" means unset (the implementation
// then sizes the limiter from the scenario's limits, or leaves the knob off).

extension StrategyRegistry {
    static let admissionLimiterDescriptors: [StrategyDescriptor] = [
        StrategyDescriptor(
            name: "token-bucket", role: .admission,
            summary: "Client token buckets for requests, input and output tokens, each refilled at limit/60 per "
                + "second up to `burst` seconds' worth. The request at the head of the queue waits until every "
                + "bucket holds its cost (the wait is computed exactly, as x/time/rate reservations do); a cost "
                + "larger than a bucket waits for a full bucket and leaves it in debt. Input is charged at send "
                + "from the prompt; output is charged after the response with the actual tokens, and the debt "
                + "blocks the next request until refill repays it.",
            mirrors: "golang.org/x/time/rate @2b4e439 (reserveN: tokens may go negative, wait = −tokens/r); "
                + "the Claude API's documented token bucket (S11)",
            parameters: [
                StrategyParameter("rpm", .number(min: 0, max: .infinity), "none",
                                  "Requests per minute; none = the scenario's RPM; 0 = no requests bucket."),
                StrategyParameter("itpm", .number(min: 0, max: .infinity), "none",
                                  "Input tokens per minute; none = the scenario's ITPM; 0 = no input bucket."),
                StrategyParameter("otpm", .number(min: 0, max: .infinity), "none",
                                  "Output tokens per minute; none = the scenario's OTPM; 0 = no output bucket."),
                StrategyParameter("burst", .duration, "1s",
                                  "Capacity as seconds of refill. 1s (harness default H) holds one second's worth, "
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
            ] + limiterQueueParameters),
        StrategyDescriptor(
            name: "gcra", role: .admission,
            summary: "Generic cell rate algorithm on requests, as redis-cell: emission interval T = period/count, "
                + "tolerance τ = T·(max_burst + 1); a request is allowed when max(now, TAT) + T − τ ≤ now, and "
                + "then TAT = max(now, TAT) + T. So max_burst + 1 requests pass at once, then one every T.",
            mirrors: "brandur/redis-cell @4d42338 (CL.THROTTLE, quantity 1); throttled/throttled @9e814f2 GCRA (S13)",
            parameters: [
                StrategyParameter("count", .number(min: 0, max: .infinity), "none",
                                  "Requests per period; none = the scenario's RPM scaled to the period."),
                StrategyParameter("period", .duration, "1m", "The period count is spread over."),
                StrategyParameter("max_burst", .integer(min: 0, max: .max), "0",
                                  "Extra requests allowed at once beyond the first (harness default H: 0, one "
                                  + "request per T, safe against a server bucket of one second's worth)."),
            ] + limiterQueueParameters),
        StrategyDescriptor(
            name: "leaky-bucket", role: .admission,
            summary: "aiolimiter's AsyncLimiter on requests: the level starts at 0 and leaks at max_rate/time_period "
                + "per second; a request passes when level + 1 ≤ max_rate and adds 1. So max_rate requests pass "
                + "at once from an idle start, then one every time_period/max_rate.",
            mirrors: "mjpieters/aiolimiter 1.2.1 @01c52ea (S14)",
            parameters: [
                StrategyParameter("max_rate", .number(min: 0, max: .infinity), "none",
                                  "Requests per time_period and the bucket's capacity; none = the scenario's RPM "
                                  + "scaled to time_period. Below 1 is refused, as aiolimiter raises ValueError "
                                  + "for an acquire larger than max_rate."),
                StrategyParameter("time_period", .duration, "1m", "The period max_rate is counted over."),
            ] + limiterQueueParameters),
        StrategyDescriptor(
            name: "window", role: .admission,
            summary: "Python limits' window counters on requests: fixed (a window starts at the first hit and "
                + "resets when it expires; up to 2× limit across a boundary), sliding-log (moving window: "
                + "pass when fewer than limit sends are younger than the window), sliding-counter (pass when "
                + "floor(current + previous·(window − elapsed)/window) < limit, windows aligned to time 0).",
            mirrors: "alisaifee/limits 5.8.0 @f7d1eef: FixedWindowRateLimiter, MovingWindowRateLimiter, "
                + "SlidingWindowCounterRateLimiter (S15)",
            parameters: [
                StrategyParameter("kind", .choice(["fixed", "sliding-log", "sliding-counter"]), "fixed",
                                  "Which counter."),
                StrategyParameter("limit", .integer(min: 1, max: .max), "none",
                                  "Requests per window; none = the scenario's RPM scaled to the window, rounded down."),
                StrategyParameter("window", .duration, "1m", "The window length."),
            ] + limiterQueueParameters),
        StrategyDescriptor(
            name: "header-paced", role: .admission,
            summary: "Paces from the anthropic-ratelimit-* headers. Per dimension: when remaining is below one "
                + "request's cost, wait until reset; otherwise send no faster than remaining/(reset − now). "
                + "Token remaining is read rounded to the thousand and requests remaining rounded down, as the "
                + "API shows them; between responses the values are predicted from the latest header and the "
                + "client's own sends since (refill at limit/60 up to the capacity the header implies). A 429 "
                + "with retry-after holds every send until then. Before the first header it sends freely, or "
                + "at initial_rate.",
            mirrors: "Claude API rate-limit headers (rate-limits docs; anthropic-sdk-typescript#357) — harness "
                + "design, no library (S16)",
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
            ] + limiterQueueParameters),
        StrategyDescriptor(
            name: "aimd-rate", role: .admission,
            summary: "Paces requests at a rate (per second) that grows by `increase` once per `interval` in which a "
                + "response succeeded without throttling, and is multiplied by `decrease` on a 429 or 529 (at most "
                + "once per interval), kept within [min_rate, max_rate]. Sends are spaced 1/rate apart at the "
                + "current rate. Growth is clocked by successes, as TCP grows its window on ACKs, so an idle "
                + "limiter does not drift to max_rate.",
            mirrors: "TCP AIMD (RFC 5681; Chiu & Jain 1989) applied to a request rate (S18)",
            parameters: [
                StrategyParameter("initial_rate", .number(min: 0, max: .infinity), "none",
                                  "Starting rate, requests per second; none = the scenario's RPM/60."),
                StrategyParameter("increase", .number(min: 0, max: .infinity), "none",
                                  "Additive increase per interval, requests per second; none = 5% of the "
                                  + "initial rate (harness default H)."),
                StrategyParameter("decrease", .number(min: 0.01, max: 0.99), "0.5",
                                  "Multiplicative decrease on throttling (0.5 like TCP, 0.7 like AWS adaptive)."),
                StrategyParameter("interval", .duration, "1s",
                                  "Period of the additive increase and least time between two decreases."),
                StrategyParameter("min_rate", .number(min: 0, max: .infinity), "0.01",
                                  "Floor, requests per second (a floor above 0 keeps probing)."),
                StrategyParameter("max_rate", .number(min: 0, max: .infinity), "none",
                                  "Cap, requests per second; none = no cap."),
            ] + limiterQueueParameters),
    ]

    /// The queue bounds every admission limiter takes; `PipelineStrategy` enforces them.
    static let limiterQueueParameters: [StrategyParameter] = [
        // "none" cannot stand for unlimited in an integer parameter (Params reads it as text), so
        // the unlimited default of max_queue is "inf".
        StrategyParameter("max_queue", .integer(min: 1, max: .max), "inf",
                          "Most requests waiting for the limiter; arrivals beyond it are dropped "
                          + "(queue_overflow); inf = unlimited."),
        StrategyParameter("max_wait", .duration, "none",
                          "Longest a request may wait in the queue before it is dropped (deadline); none = no limit."),
    ]
}
