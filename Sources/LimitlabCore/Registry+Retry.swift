// Retry policies (S3–S9), retry budgets (S23) and the SRE shedder (S22) of strategies.md §8.2.
// Implementations: Sources/LimitlabStrategies/Retry. Every default lives here, as scenario text.

extension StrategyRegistry {
    static let maxAttemptsSummary = "Attempts in all, the first included; then give up (attempts_exhausted)."

    /// The AWS blog's policies count `attempt` = failures so far, so the first retry uses 2^1.
    static let blogParameters: [StrategyParameter] = [
        StrategyParameter("base", .duration, "500ms",
                          "Backoff base b (harness default: the AWS SDK standard mode's throttling base; "
                            + "the blog's simulation used 5 ms)."),
        StrategyParameter("cap", .duration, "20s",
                          "Largest sleep (harness default: the AWS SDK's 20 s; the blog's simulation used 2 s)."),
        StrategyParameter("max_attempts", .integer(min: 1, max: 1000), "3",
                          maxAttemptsSummary + " Harness default (the AWS SDK's 3); the blog retries until success."),
    ]

    /// tenacity's clamp (min, max) and the harness stop rule, shared by the tenacity-style curves.
    static let tenacityClampAndStop: [StrategyParameter] = [
        StrategyParameter("min", .duration, "0s", "Smallest sleep (tenacity min)."),
        StrategyParameter("cap", .duration, "none",
                          "Largest sleep (tenacity max); unset: tenacity's MAX_WAIT (sys.maxsize/2 s)."),
        StrategyParameter("max_attempts", .integer(min: 1, max: 1000), "3",
                          maxAttemptsSummary + " Harness default; tenacity's own default is stop_never."),
    ]

    static let retryDescriptors: [StrategyDescriptor] = [
        StrategyDescriptor(
            name: "exponential", role: .retry,
            summary: "Exponential backoff without jitter, tenacity wait_exponential: "
                + "clamp(base · multiplier^(n−1), min, cap) after failed attempt n (1 s, 2 s, 4 s, … by default). "
                + "The AWS blog's \"Exponential\" min(cap, b·2^n) is base = 2b. Retries retryable failures only.",
            mirrors: "tenacity 9.1.4 (jd/tenacity@c650fb4) wait_exponential; AWS Architecture Blog \"Exponential\" (S3)",
            parameters: [
                StrategyParameter("base", .duration, "1s", "tenacity multiplier: the first sleep."),
                StrategyParameter("multiplier", .number(min: 1, max: .infinity), "2", "tenacity exp_base."),
            ] + tenacityClampAndStop),
        StrategyDescriptor(
            name: "full-jitter", role: .retry,
            summary: "AWS blog Full Jitter: sleep U(0, min(cap, base · 2^n)) after failure n (n = 1 first), "
                + "on retryable failures.",
            mirrors: "AWS Architecture Blog \"Exponential Backoff And Jitter\" (Brooker 2015), "
                + "aws-samples/aws-arch-backoff-simulator@66cb169 ExpoBackoffFullJitter (S4)",
            parameters: blogParameters),
        StrategyDescriptor(
            name: "equal-jitter", role: .retry,
            summary: "AWS blog Equal Jitter: v/2 + U(0, v/2) with v = min(cap, base · 2^n) after failure n "
                + "(n = 1 first), on retryable failures.",
            mirrors: "AWS Architecture Blog \"Exponential Backoff And Jitter\" (Brooker 2015), "
                + "aws-samples/aws-arch-backoff-simulator@66cb169 ExpoBackoffEqualJitter (S5)",
            parameters: blogParameters),
        StrategyDescriptor(
            name: "decorrelated-jitter", role: .retry,
            summary: "AWS blog Decorrelated Jitter: sleep_k = min(cap, U(base, multiplier · sleep_(k−1))), sleep_0 = base, "
                + "on retryable failures. The policy serves all requests and is not told which one failed, so each "
                + "decision re-draws the chain from sleep_0: the k-th retry's sleep has the chain's distribution, "
                + "but one request's successive sleeps are drawn independently.",
            mirrors: "AWS Architecture Blog \"Exponential Backoff And Jitter\" (Brooker 2015), "
                + "aws-samples/aws-arch-backoff-simulator@66cb169 ExpoBackoffDecorr (S6)",
            parameters: [
                blogParameters[0], blogParameters[1],
                StrategyParameter("multiplier", .number(min: 1, max: .infinity), "3",
                                  "Upper bound of the next draw as a multiple of the previous sleep (the blog's 3)."),
                blogParameters[2],
            ]),
        StrategyDescriptor(
            name: "tenacity", role: .retry,
            summary: "tenacity wait_exponential_jitter: clamp(base · multiplier^(n−1) + U(0, jitter), min, cap) "
                + "after failed attempt n: 1–2 s, 2–3 s, 4–5 s, … by default. Retries retryable failures only.",
            mirrors: "tenacity 9.1.4 (jd/tenacity@c650fb4) wait_exponential_jitter (S7)",
            parameters: [
                StrategyParameter("base", .duration, "1s", "tenacity initial."),
                StrategyParameter("multiplier", .number(min: 1, max: .infinity), "2", "tenacity exp_base."),
                StrategyParameter("jitter", .duration, "1s", "Additive jitter: U(0, jitter) is added before the clamp."),
            ] + tenacityClampAndStop),
        StrategyDescriptor(
            name: "multiplicative-random", role: .retry,
            summary: "Exponential backoff with a multiplicative random factor, on retryable failures. "
                + "p-retry: round(R · max(base, 1 ms) · factor^(n−1)) ms capped, R = 1, or U[1, 2) with randomize. "
                + "resilience4j: x_1 = base, x_(k+1) = trunc(x_k · factor) ms, then trunc(U[x(1−f), x(1+f))), "
                + "then min(…, cap): 500, 750, 1125 ms ± 50 % by default.",
            mirrors: "p-retry 7.0.0 (sindresorhus/p-retry@e11ca9c); resilience4j IntervalFunction."
                + "ofExponentialRandomBackoff (resilience4j@010b8d2) (S8)",
            parameters: [
                StrategyParameter("flavour", .choice(["p-retry", "resilience4j"]), "p-retry",
                                  "Which library's curve and defaults."),
                StrategyParameter("base", .duration, "none",
                                  "First sleep; unset: the flavour's (p-retry minTimeout 1000 ms, resilience4j 500 ms)."),
                StrategyParameter("factor", .number(min: 1, max: .infinity), "none",
                                  "Growth per retry; unset: the flavour's (p-retry 2, resilience4j 1.5)."),
                StrategyParameter("randomize", .bool, "false",
                                  "p-retry only: multiply by U[1, 2) (p-retry's default is false: no jitter)."),
                StrategyParameter("randomization_factor", .number(min: 0, max: 1), "0.5",
                                  "resilience4j only: f in U[x(1−f), x(1+f)); 0 gives plain exponential backoff."),
                StrategyParameter("cap", .duration, "none",
                                  "Largest sleep (p-retry maxTimeout, resilience4j maxInterval); unset: none in either."),
                StrategyParameter("max_attempts", .integer(min: 1, max: 1000), "none",
                                  maxAttemptsSummary + " Unset: the flavour's (p-retry retries 10 → 11, resilience4j 3)."),
            ]),
        StrategyDescriptor(
            name: "retry-after", role: .retry,
            summary: "Wraps a backoff policy and uses the server's retry-after when 0 < v ≤ max_honored: "
                + "ignore it, sleep it exactly, sleep it + U(0, jitter), or max(hint, backoff). Above max_honored "
                + "fall back to the backoff (anthropic-sdk-python, 60 s) or give up (openai-python, 120 s). "
                + "The inner policy decides retryability and max_attempts.",
            mirrors: "anthropic-sdk-python 0.121.0 (exact, ≤ 60 s), openai-python 3.3.1 (≤ 120 s else give up), "
                + "AWS SDK standard mode max(hint, backoff) (S9)",
            parameters: [
                StrategyParameter("backoff",
                                  .choice(["exponential", "full-jitter", "equal-jitter", "decorrelated-jitter",
                                           "tenacity", "multiplicative-random"]),
                                  "full-jitter", "The policy used without a usable hint; its other parameters keep their defaults."),
                StrategyParameter("mode", .choice(["ignore", "exact", "exact+jitter", "max"]), "exact",
                                  "How a usable hint is used (exact: the Anthropic SDKs; max: the AWS SDK)."),
                StrategyParameter("jitter", .duration, "1s",
                                  "exact+jitter: the U(0, jitter) added to the hint (harness default)."),
                StrategyParameter("max_honored", .duration, "60s",
                                  "Largest hint used (anthropic-sdk-python 60 s; openai-python 120 s)."),
                StrategyParameter("give_up_above", .bool, "false",
                                  "Above max_honored, give up (retry_after_too_long) instead of backing off "
                                    + "(openai-python: true)."),
                StrategyParameter("base", .duration, "none", "Passed to the backoff policy; unset: its default."),
                StrategyParameter("cap", .duration, "none", "Passed to the backoff policy; unset: its default."),
                StrategyParameter("max_attempts", .integer(min: 1, max: 1000), "none",
                                  "Passed to the backoff policy; unset: its default."),
            ]),
    ]

    /// `multiplicative-random` parameters left unset take their flavour's value from here (scenario
    /// text, as registry defaults), so the listing and the implementation share one table.
    public static let multiplicativeRandomFlavourDefaults: [String: [String: String]] = [
        "p-retry": ["base": "1000ms", "factor": "2", "max_attempts": "11"],
        "resilience4j": ["base": "500ms", "factor": "1.5", "max_attempts": "3"],
    ]

    static let budgetDescriptors: [StrategyDescriptor] = [
        StrategyDescriptor(
            name: "grpc", role: .budget,
            summary: "gRPC retry throttling: token_count starts at max_tokens; each attempt failing retryably "
                + "(or told not to retry) takes 1, each success adds token_ratio, bounded [0, max_tokens]; "
                + "retries go ahead only while token_count > max_tokens/2 (kept in thousandths, as grpc-java).",
            mirrors: "gRPC A6 retryThrottling (grpc/proposal@0070717) (S23)",
            parameters: [
                StrategyParameter("max_tokens", .number(min: 1, max: 1000), "10",
                                  "Bucket size (A6 has no default; its example uses 10)."),
                StrategyParameter("token_ratio", .number(min: 0.001, max: 1000), "0.1",
                                  "Tokens a success returns (A6 example: 0.1)."),
            ]),
        StrategyDescriptor(
            name: "percentage", role: .budget,
            summary: "Finagle RetryBudget: each new request deposits `percent` of a retry, a retry withdraws "
                + "one, deposits and withdrawals expire after ttl (10 slices), plus a reserve of "
                + "min_retries_per_sec · ttl retries; a retry goes ahead while the balance covers it. Finagle's defaults.",
            mirrors: "Finagle RetryBudget(ttl, minRetriesPerSec, percentCanRetry) (finagle.github.io 2016-02-08; "
                + "RetryBudget scaladoc) (S23)",
            parameters: [
                StrategyParameter("ttl", .duration, "10s", "How long a deposit or withdrawal counts, 1–60 s (Finagle: 10 s)."),
                StrategyParameter("min_retries_per_sec", .integer(min: 0, max: 1_000_000), "10",
                                  "Reserve, in retries per second of ttl (Finagle: 10)."),
                StrategyParameter("percent", .number(min: 0, max: 1000), "0.2",
                                  "Retries allowed per new request (Finagle percentCanRetry: 0.2, i.e. 20 %)."),
            ]),
    ]

    static let shedDescriptors: [StrategyDescriptor] = [
        StrategyDescriptor(
            name: "sre", role: .shed,
            summary: "Google SRE client-side adaptive throttling: reject a new request locally with probability "
                + "max(0, (requests − k·accepts)/(requests + 1)) over the last `window` (1 s buckets); requests "
                + "are new requests offered, accepts are attempts the backend did not refuse with 429/529. "
                + "Harness knobs: max_reject_probability 0.9 and min_requests 10.",
            mirrors: "Google SRE book, \"Handling Overload\", client-side throttling (S22); 0.9 cap after failsafe-go",
            parameters: [
                StrategyParameter("k", .number(min: 1, max: .infinity), "2",
                                  "Multiplier K (the book prefers 2; 1.1 is aggressive)."),
                StrategyParameter("window", .duration, "120s", "History kept (the book: two minutes)."),
                StrategyParameter("max_reject_probability", .number(min: 0, max: 1), "0.9",
                                  "Harness default (after failsafe-go): at 1.0 the client would never see recovery."),
                StrategyParameter("min_requests", .integer(min: 0, max: Int.max), "10",
                                  "Harness default: no local rejection while the window holds fewer requests."),
            ]),
    ]
}
