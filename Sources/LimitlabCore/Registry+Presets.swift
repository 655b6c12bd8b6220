extension StrategyRegistry {
    /// Presets P2–P8 of strategies.md §8.3 (P1 is the `sdk-default` baseline itself; P8 is
    /// `header-paced+jitter`, as `header-paced` names the bare limiter).
    static let presetEntries: [StrategyDescriptor] = [
        StrategyDescriptor(
            name: "bottleneck-typical", role: .preset,
            summary: "P2: bottleneck with max_concurrent 1 and min_time 60000/RPM ms, plus the SDK's retry.",
            mirrors: "the common Bottleneck set-up for an RPM limit + anthropic-sdk-python retry", parameters: []),
        StrategyDescriptor(
            name: "bottleneck-reservoir", role: .preset,
            summary: "P3: bottleneck with a reservoir of RPM refreshed every 60 s, plus the SDK's retry "
                + "(expected to show the refresh flood).",
            mirrors: "Bottleneck's reservoir recipe + anthropic-sdk-python retry", parameters: []),
        StrategyDescriptor(
            name: "tenacity-cookbook", role: .preset,
            summary: "P4: no limiter; full-jitter retry as tenacity wait_random_exponential(max=60), stop_after_attempt(6). "
                + "Unverified against the cookbook itself.",
            mirrors: "tenacity 9.1.4 as used in LLM cookbooks", parameters: []),
        StrategyDescriptor(
            name: "token-bucket+jitter", role: .preset,
            summary: "P5: client token buckets for RPM, ITPM and OTPM (output charged after the fact) + full-jitter "
                + "backoff, waiting max(retry-after, backoff).",
            mirrors: "x/time/rate-style reservations + AWS full jitter", parameters: []),
        StrategyDescriptor(
            name: "adaptive", role: .preset,
            summary: "P6: AIMD on the send rate and on concurrency (429/529 as the drop signal) + full jitter + gRPC retry budget.",
            mirrors: "TCP AIMD, Netflix AIMDLimit, gRPC A6 retry throttling", parameters: []),
        StrategyDescriptor(
            name: "sre", role: .preset,
            summary: "P7: client token bucket + Google SRE adaptive throttling (K 2) + a 10 % retry budget, 3 attempts.",
            mirrors: "Site Reliability Engineering ch. 21", parameters: []),
        StrategyDescriptor(
            name: "header-paced+jitter", role: .preset,
            summary: "P8: pace sends from the anthropic-ratelimit-* headers + full jitter, honouring retry-after exactly plus jitter.",
            mirrors: "anthropic-sdk-typescript#357 proposal + AWS full jitter", parameters: []),
    ]
}
