public import LimitlabCore

/// The values `makeScenario` uses for what a test does not give: one set for simulator tests,
/// one for live runs against the mock.
public struct ScenarioDefaults: Sendable {
    public var name: String
    public var target: TargetSpec
    public var length: RunLength
    public var seed: UInt64
    public var limits: LimitConfig
    public var input: Sampled
    public var output: Sampled
    public var maxTokens: Int
    public var server: ServerModel

    /// For the simulator: generous limits, constant latency, ten minutes.
    public static let sim = ScenarioDefaults(
        name: "test", target: .sim, length: .duration(600), seed: 1,
        limits: LimitConfig(rpm: 1e9, itpm: 1e12, otpm: 1e12), input: Sampled(.constant(100)),
        output: Sampled(.constant(50)), maxTokens: 1000,
        server: ServerModel(ttft: Sampled(.constant(0.5)), outputTokensPerSecond: 50, rejectLatency: 0.05))

    /// For a live run against the mock (`target: mock`): generous limits and fast constant
    /// latency, five seconds.
    public static let live = ScenarioDefaults(
        name: "live-test", target: .mock, length: .duration(5), seed: 7,
        limits: LimitConfig(rpm: 1e6, itpm: 1e9, otpm: 1e9), input: Sampled(.constant(200)),
        output: Sampled(.constant(20)), maxTokens: 256,
        server: ServerModel(ttft: Sampled(.constant(0.05)), outputTokensPerSecond: 2000, rejectLatency: 0.02))
}

/// A scenario built in code for model `claude-sonnet-4-5`; what is not given comes from
/// `defaults`.
public func makeScenario(_ defaults: ScenarioDefaults = .sim, arrivals: [ArrivalSpec], length: RunLength? = nil,
                         seed: UInt64? = nil, limits: LimitConfig? = nil, input: Sampled? = nil, output: Sampled? = nil,
                         maxTokens: Int? = nil, cache: CacheSpec? = nil, stream: Bool = true, server: ServerModel? = nil,
                         strategies: [StrategySpec] = [StrategySpec(name: "none")], slo: SLOSpec? = nil) -> Scenario {
    let d = defaults
    return Scenario(name: d.name, seed: seed ?? d.seed, target: d.target, length: length ?? d.length,
                    model: "claude-sonnet-4-5", limits: LimitsSpec(config: limits ?? d.limits), server: server ?? d.server,
                    arrivals: arrivals,
                    workload: WorkloadSpec(inputTokens: input ?? d.input, outputTokens: output ?? d.output,
                                           maxTokens: maxTokens ?? d.maxTokens, cache: cache, stream: stream),
                    strategies: strategies, slo: slo)
}
