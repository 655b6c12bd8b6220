extension StrategyRegistry {
    /// Retry-role entries for the baseline policies, so `retry: sdk-default` composes the SDK's
    /// retry behind any limiter.
    static let baselineRetryDescriptors: [StrategyDescriptor] = [
        StrategyDescriptor(name: "none", role: .retry, summary: "Never retry.", mirrors: "control (S0)", parameters: []),
        StrategyDescriptor(
            name: "immediate", role: .retry,
            summary: "Retry retryable failures at once, with no wait.",
            mirrors: "AWS Architecture Blog \"no backoff\" (S1)",
            parameters: [StrategyParameter("max_attempts", .integer(min: 1, max: 1000), "3", "Attempts in all, the first included.")]),
        StrategyDescriptor(
            name: "sdk-default", role: .retry,
            summary: "The official SDK's retry loop (see the sdk-default strategy).",
            mirrors: "anthropic-sdk-python 0.121.0 / anthropic-sdk-typescript 0.120.0 / openai-python 3.3.1 (S2)",
            parameters: sdkParameters),
    ]

    static let sdkParameters: [StrategyParameter] = [
        StrategyParameter(
            name: "variant", kind: .choice(["python", "typescript", "openai-python"]), defaultValue: "python",
            summary: "python: retry-after used when 0 < v ≤ 60 s; typescript: any value; "
                + "openai-python: used when ≤ 120 s, give up above."),
        StrategyParameter(name: "max_retries", kind: .integer(min: 0, max: 100), defaultValue: "2",
                          summary: "Retries after the first attempt."),
        StrategyParameter(name: "initial_delay", kind: .duration, defaultValue: "500ms",
                          summary: "Backoff base: the first retry waits this × (0.75, 1]."),
        StrategyParameter(name: "max_delay", kind: .duration, defaultValue: "8s", summary: "Backoff cap."),
    ]
}
