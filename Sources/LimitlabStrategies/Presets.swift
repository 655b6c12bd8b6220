public import LimitlabCore

/// Named compositions of the roles that mirror what people ship. A preset expands to a spec;
/// a scenario's `retry:`/`budget:`/`concurrency:`/`shed:` override the preset's own.
public enum Presets {
    static let definitions: [StrategyDefinition] = [
        .preset(
            "bottleneck-typical",
            summary: "Bottleneck with max_concurrent 1 and min_time 60000/RPM ms, plus the SDK's retry.",
            mirrors: "the common Bottleneck set-up for an RPM limit + anthropic-sdk-python retry"
        ) { limits in
            StrategySpec(name: "bottleneck", params: [
                "max_concurrent": .number(1), "min_time": .number(60 / Swift.max(limits.rpm, 1e-9)),
            ], retry: RoleSpec(name: "sdk-default"))
        },
        .preset(
            "bottleneck-reservoir",
            summary: "Bottleneck with a reservoir of RPM refreshed every 60 s, plus the SDK's retry "
                + "(expected to show the refresh flood).",
            mirrors: "Bottleneck's reservoir recipe + anthropic-sdk-python retry"
        ) { limits in
            let rpm = Double(Int(limits.rpm.rounded(.down)))
            return StrategySpec(name: "bottleneck", params: [
                "reservoir": .number(rpm), "reservoir_refresh_amount": .number(rpm),
                "reservoir_refresh_interval": .number(60),
            ], retry: RoleSpec(name: "sdk-default"))
        },
        .preset(
            "tenacity-cookbook",
            summary: "No limiter; full-jitter retry as tenacity wait_random_exponential(max=60), stop_after_attempt(6). "
                + "Unverified against the cookbook itself.",
            mirrors: "tenacity 9.1.4 as used in LLM cookbooks"
        ) { limits in
            // wait_random_exponential(max=60) draws U(0, 2^n) s from n = 0; full-jitter's first
            // ceiling is 2·base, so base 0.5 s gives tenacity's U(0, 1) s first wait.
            StrategySpec(name: "none", retry: RoleSpec(name: "full-jitter", params: [
                "base": .number(0.5), "cap": .number(60), "max_attempts": .number(6),
            ]))
        },
        .preset(
            "token-bucket+jitter",
            summary: "Client token buckets for RPM, ITPM and OTPM (output charged after the fact) + full-jitter "
                + "backoff, waiting max(retry-after, backoff).",
            mirrors: "x/time/rate-style reservations + AWS full jitter"
        ) { limits in
            StrategySpec(name: "token-bucket", retry: RoleSpec(name: "retry-after", params: [
                "backoff": .string("full-jitter"), "mode": .string("max"),
            ]))
        },
        .preset(
            "adaptive",
            summary: "AIMD on the send rate and on concurrency (429/529 as the drop signal) + full jitter + gRPC retry budget.",
            mirrors: "TCP AIMD, Netflix AIMDLimit, gRPC A6 retry throttling"
        ) { limits in
            StrategySpec(name: "aimd-rate", retry: RoleSpec(name: "full-jitter"), budget: RoleSpec(name: "grpc"),
                         concurrency: RoleSpec(name: "aimd"))
        },
        .preset(
            "sre",
            summary: "Client token bucket + Google SRE adaptive throttling (K 2) + a 10 % retry budget, 3 attempts.",
            mirrors: "Site Reliability Engineering ch. 21 (https://sre.google/sre-book/handling-overload/)"
        ) { limits in
            StrategySpec(name: "token-bucket", retry: RoleSpec(name: "full-jitter", params: ["max_attempts": .number(3)]),
                         budget: RoleSpec(name: "percentage", params: ["percent": .number(0.1)]),
                         shed: RoleSpec(name: "sre"))
        },
        .preset(
            "workers+sdk",
            summary: "Ten workers on a queue (fixed concurrency 10) with no limiter, each call retried as the SDK "
                + "does: the asyncio.Queue/Semaphore set-up the usual advice suggests.",
            mirrors: "asyncio.Queue with N workers or asyncio.Semaphore(N) + anthropic-sdk-python retry"
        ) { _ in
            StrategySpec(name: "sdk-default", concurrency: RoleSpec(name: "fixed", params: ["limit": .number(10)]))
        },
        .preset(
            "header-paced+jitter",
            summary: "Pace sends from the anthropic-ratelimit-* headers + full jitter, honouring retry-after exactly plus jitter.",
            mirrors: "the proposal in https://github.com/anthropics/anthropic-sdk-typescript/issues/357 + AWS full jitter"
        ) { limits in
            StrategySpec(name: "header-paced", retry: RoleSpec(name: "retry-after", params: [
                "backoff": .string("full-jitter"), "mode": .string("exact+jitter"),
            ]))
        },
    ]

    /// Whether `name` is a preset.
    public static func isPreset(_ name: String) -> Bool {
        StrategyRegistry.definition(named: name, role: .preset) != nil
    }

    /// The expansion of a preset spec against the scenario's limits, or nil when `spec` is not
    /// a preset.
    public static func expand(_ spec: StrategySpec, limits: LimitConfig) throws(StrategyError) -> StrategySpec? {
        guard let definition = StrategyRegistry.definition(named: spec.name, role: .preset) else { return nil }
        guard case .preset(let expansion) = definition.builder else {
            throw StrategyError(message: "preset \(spec.name) is listed but not defined; this is a bug")
        }
        var e = expansion(limits)
        // Parameters written in the scenario refine the preset's limiter.
        for (k, v) in spec.params { e.params[k] = v }
        e.label = spec.label
        if let r = spec.retry { e.retry = r }
        if let b = spec.budget { e.budget = b }
        if let c = spec.concurrency { e.concurrency = c }
        if let s = spec.shed { e.shed = s }
        return e
    }
}
