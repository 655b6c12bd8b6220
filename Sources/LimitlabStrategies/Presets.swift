public import LimitlabCore

/// The presets of strategies.md §8.3: compositions that mirror what people ship. A preset
/// expands to a spec; a scenario's `retry:`/`budget:`/`concurrency:`/`shed:` override the
/// preset's own.
public enum Presets {
    /// Whether `name` is a preset.
    public static func isPreset(_ name: String) -> Bool {
        StrategyRegistry.descriptors.contains { $0.name == name && $0.role == .preset }
    }

    /// The expansion of a preset spec against the scenario's limits, or nil when `spec` is not
    /// a preset.
    public static func expand(_ spec: StrategySpec, limits: LimitConfig) throws(StrategyError) -> StrategySpec? {
        guard isPreset(spec.name) else { return nil }
        let sdk = RoleSpec(name: "sdk-default")
        let fullJitter = RoleSpec(name: "full-jitter")
        var e: StrategySpec
        switch spec.name {
        case "bottleneck-typical":
            e = StrategySpec(name: "bottleneck", params: [
                "max_concurrent": .number(1), "min_time": .number(60 / Swift.max(limits.rpm, 1e-9)),
            ], retry: sdk)
        case "bottleneck-reservoir":
            let rpm = Double(Int(limits.rpm.rounded(.down)))
            e = StrategySpec(name: "bottleneck", params: [
                "reservoir": .number(rpm), "reservoir_refresh_amount": .number(rpm),
                "reservoir_refresh_interval": .number(60),
            ], retry: sdk)
        case "tenacity-cookbook":
            // wait_random_exponential(max=60) draws U(0, 2^n) s from n = 0; full-jitter's first
            // ceiling is 2·base, so base 0.5 s gives tenacity's U(0, 1) s first wait.
            e = StrategySpec(name: "none", retry: RoleSpec(name: "full-jitter", params: [
                "base": .number(0.5), "cap": .number(60), "max_attempts": .number(6),
            ]))
        case "token-bucket+jitter":
            e = StrategySpec(name: "token-bucket", retry: RoleSpec(name: "retry-after", params: [
                "backoff": .string("full-jitter"), "mode": .string("max"),
            ]))
        case "adaptive":
            e = StrategySpec(name: "aimd-rate", retry: fullJitter, budget: RoleSpec(name: "grpc"),
                             concurrency: RoleSpec(name: "aimd"))
        case "sre":
            e = StrategySpec(name: "token-bucket", retry: RoleSpec(name: "full-jitter", params: ["max_attempts": .number(3)]),
                             budget: RoleSpec(name: "percentage", params: ["percent": .number(0.1)]),
                             shed: RoleSpec(name: "sre"))
        case "header-paced+jitter":
            e = StrategySpec(name: "header-paced", retry: RoleSpec(name: "retry-after", params: [
                "backoff": .string("full-jitter"), "mode": .string("exact+jitter"),
            ]))
        default:
            throw StrategyError(message: "preset \(spec.name) is listed but not defined; this is a bug")
        }
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
