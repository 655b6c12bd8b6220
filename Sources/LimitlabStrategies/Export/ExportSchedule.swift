/// A scenario's arrivals for an exported client's `__main__` to replay, so that a live run of
/// the client offers the load the simulator was given (open loop: each request at its time,
/// whatever the earlier ones are doing).
public struct ExportSchedule: Sendable, Equatable {
    public struct Arrival: Sendable, Equatable {
        /// Seconds from the start.
        public var at: Double
        /// Prompt tokens as the mock counts them.
        public var inputTokens: Int
        public var maxTokens: Int
        public init(at: Double, inputTokens: Int, maxTokens: Int) {
            self.at = at; self.inputTokens = inputTokens; self.maxTokens = maxTokens
        }
    }

    public var scenario: String
    public var seed: UInt64
    public var model: String
    public var arrivals: [Arrival]
    /// Whether the scenario's requests stream (the replay sends them without streaming).
    public var stream: Bool

    public init(scenario: String, seed: UInt64, model: String, arrivals: [Arrival], stream: Bool = false) {
        self.scenario = scenario; self.seed = seed; self.model = model; self.arrivals = arrivals; self.stream = stream
    }

    /// What the replay does differently from the scenario.
    var gaps: [ExportGap] {
        stream ? [ExportGap("workload.stream", "the scenario streams; the replay in this file's main sends "
                            + "non-streaming requests (the same limits and 429s, no time to first token)")] : []
    }

    /// The most arrivals a file embeds; a longer scenario is refused rather than cut, since a
    /// cut schedule would no longer be the scenario's load.
    public static let maxArrivals = 100_000
}

/// Renders a plan in a format.
public enum ExportRenderer {
    /// The file for `plan` in `format`, replaying `schedule` in its `__main__` when given.
    /// Throws when the format cannot carry the strategy's defining role.
    public static func render(_ plan: ExportPlan, as format: ExportFormat,
                              schedule: ExportSchedule?) throws(ExportError) -> ExportedFile {
        var plan = plan
        plan.gaps += schedule?.gaps ?? []
        switch format {
        case .anthropicPython, .tenacity, .aiolimiter:
            return try PythonExport(plan: plan, format: format, schedule: schedule).render()
        case .bottleneck:
            return try BottleneckExport(plan: plan, schedule: schedule).render()
        }
    }
}
