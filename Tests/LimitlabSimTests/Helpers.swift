import LimitlabCore
import LimitlabSim
import LimitlabStats

/// A scenario built in code: generous limits, constant latency, unless told otherwise.
func makeScenario(arrivals: [ArrivalSpec], length: RunLength = .duration(600), seed: UInt64 = 1,
                  limits: LimitConfig = LimitConfig(rpm: 1e9, itpm: 1e12, otpm: 1e12),
                  input: Sampled = Sampled(.constant(100)), output: Sampled = Sampled(.constant(50)),
                  maxTokens: Int = 1000, cache: CacheSpec? = nil,
                  server: ServerModel = ServerModel(ttft: Sampled(.constant(0.5)), outputTokensPerSecond: 50,
                                                    rejectLatency: 0.05),
                  strategies: [StrategySpec] = [StrategySpec(name: "none")], slo: SLOSpec? = nil) -> Scenario {
    Scenario(name: "test", seed: seed, length: length, model: "claude-sonnet-4-5",
             limits: LimitsSpec(config: limits), server: server, arrivals: arrivals,
             workload: WorkloadSpec(inputTokens: input, outputTokens: output, maxTokens: maxTokens, cache: cache),
             strategies: strategies, slo: slo)
}

func gaps(_ s: ArrivalStream) -> [Double] {
    zip(s.intendedAt.dropFirst(), s.intendedAt).map { $0 - $1 }
}

func cv(_ v: [Double]) -> Double { Stats.standardDeviation(v) / Stats.mean(v) }
