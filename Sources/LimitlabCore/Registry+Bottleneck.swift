extension StrategyRegistry {
    /// S10: the Bottleneck scheduler. Defaults are Bottleneck's own (`storeDefaults`,
    /// `localStoreDefaults`, `jobDefaults` in src/Bottleneck.coffee); "none" is Bottleneck's `null`.
    static let bottleneckDescriptors: [StrategyDescriptor] = [
        StrategyDescriptor(
            name: "bottleneck", role: .admission,
            summary: "Faithful port of the Bottleneck job scheduler: min_time spacing of job starts, "
                + "max_concurrent, high_water with LEAK/OVERFLOW_PRIORITY/OVERFLOW/BLOCK, a reservoir refreshed or "
                + "increased on a 250 ms heartbeat whose grid starts at time 0 (limiter creation), head-of-line "
                + "blocking by weight. Retries come from retry: (default none); retry_inside: true retries as "
                + "Bottleneck's failed event does, outside min_time and the reservoir.",
            mirrors: "SGrondin/bottleneck v2.19.5 (b835283)",
            parameters: [
                StrategyParameter(
                    "max_concurrent", .integer(min: 1, max: Int.max), "none",
                    "Most summed job weight running at once; a job waiting out min_time or a retry_inside wait "
                        + "already holds it. none: unlimited."),
                StrategyParameter(
                    "min_time", .duration, "0ms",
                    "Least time between two job starts (not scaled by weight, independent of job duration)."),
                StrategyParameter(
                    "high_water", .integer(min: 0, max: Int.max), "none",
                    "Queue length at which `strategy` acts on a new job that cannot start at once. none: unbounded."),
                StrategyParameter(
                    "strategy", .choice(["LEAK", "OVERFLOW_PRIORITY", "OVERFLOW", "BLOCK"]), "LEAK",
                    "At high_water: LEAK drops the oldest queued job of the lowest priority ≥ the new job's "
                        + "(else the new job); OVERFLOW_PRIORITY the same among strictly lower priorities; OVERFLOW "
                        + "drops the new job; BLOCK drops the queue and the new job and refuses submissions until "
                        + "`penalty` passes with none."),
                StrategyParameter(
                    "penalty", .duration, "none",
                    "BLOCK only: how long the block lasts after the last submission; it also delays the next "
                        + "start to its end + min_time. none: 15 × min_time, or 5 s when min_time is 0."),
                StrategyParameter(
                    "reservoir", .integer(min: 0, max: Int.max), "none",
                    "Initial reservoir: a job starts only when its weight ≤ the reservoir, and takes its weight. "
                        + "none: no reservoir (until a refresh or increase sets one)."),
                StrategyParameter(
                    "reservoir_refresh_interval", .duration, "none",
                    "Reset the reservoir to reservoir_refresh_amount on the first heartbeat tick at least this "
                        + "long after the previous reset (or time 0); late by up to one heartbeat, never early."),
                StrategyParameter(
                    "reservoir_refresh_amount", .integer(min: 0, max: Int.max), "none",
                    "The value a refresh resets the reservoir to (a reset, not an addition)."),
                StrategyParameter(
                    "reservoir_increase_interval", .duration, "none",
                    "Add reservoir_increase_amount on the first heartbeat tick at least this long after the "
                        + "previous increase tick (or time 0)."),
                StrategyParameter(
                    "reservoir_increase_amount", .integer(min: 0, max: Int.max), "none",
                    "What an increase adds."),
                StrategyParameter(
                    "reservoir_increase_maximum", .integer(min: 0, max: Int.max), "none",
                    "An increase never lifts the reservoir above this. none: no cap."),
                StrategyParameter(
                    "heartbeat", .duration, "250ms",
                    "Period of the timer that applies refresh and increase (Bottleneck's heartbeatInterval: "
                        + "250 ms local, 5 s clustered); ticks at k × heartbeat from time 0."),
                StrategyParameter(
                    "weight", .integer(min: 0, max: Int.max), "1",
                    "Every job's weight: what it takes from max_concurrent and the reservoir."),
                StrategyParameter(
                    "priority", .integer(min: 0, max: 9), "5",
                    "Every job's priority (0 runs first); with one priority for all, the queue is FIFO."),
                StrategyParameter(
                    "retry_inside", .bool, "true",
                    "true: a retry is returned from the failed event, so it keeps its max_concurrent share while "
                        + "it waits and is sent after the wait, outside min_time and the reservoir. false: the "
                        + "failed job ends and the retry is a new submission through high_water, the queue, "
                        + "min_time and the reservoir."),
            ]),
    ]
}
