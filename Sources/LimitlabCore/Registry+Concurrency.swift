// Concurrency-role entries (S17). Implementation: Sources/LimitlabStrategies/Limiters.

extension StrategyRegistry {
    static let concurrencyDescriptors: [StrategyDescriptor] = [
        StrategyDescriptor(
            name: "aimd", role: .concurrency,
            summary: "Netflix AIMDLimit on attempts in flight: per finished attempt, on a drop limit = "
                + "floor(limit·backoff_ratio); else if in-flight·2 ≥ limit, limit + 1; clamped to "
                + "[min_limit, max_limit]. The drop signal is a 429 or 529. The anchor's 5 s RTT timeout is off "
                + "by default (harness H), since LLM responses routinely take longer and every one would count "
                + "as a drop, collapsing the limit to min_limit.",
            mirrors: "Netflix/concurrency-limits @78a74b9 AIMDLimit (S17)",
            parameters: [
                StrategyParameter("initial_limit", .integer(min: 1, max: .max), "20", "Starting limit."),
                StrategyParameter("min_limit", .integer(min: 1, max: .max), "20",
                                  "Floor (the anchor's default equals initial_limit, so the limit never goes "
                                  + "below its start)."),
                StrategyParameter("max_limit", .integer(min: 1, max: .max), "200", "Cap."),
                StrategyParameter("backoff_ratio", .number(min: 0.5, max: 0.999), "0.9",
                                  "Multiplicative decrease on a drop (the anchor accepts [0.5, 1))."),
                StrategyParameter("timeout", .duration, "none",
                                  "Also count an attempt slower than this (send to completion) as a drop; none = "
                                  + "only 429/529 are drops."),
            ]),
    ]
}
