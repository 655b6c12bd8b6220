import Foundation
import LimitlabCore
import LimitlabScenario
import Testing

@Suite("Scenario values")
struct ScenarioValueTests {
    @Test func defaults() throws {
        let s = try scenario(minimalYAML)
        #expect(s.name == "minimal")
        #expect(s.description == nil)
        #expect(s.seed == 1)
        #expect(s.target == .sim)
        #expect(s.length == .duration(600))
        #expect(s.server == ServerModel())
        #expect(s.server.ttft == Sampled(.lognormal(mu: log(0.6), sigma: 0.4)))
        #expect(s.server.outputTokensPerSecond == 60)
        #expect(s.server.rejectLatency == 0.05)
        #expect(s.strategies == [StrategySpec(name: "none"), StrategySpec(name: "sdk-default")])
        #expect(s.strategies.map(\.label) == ["none", "sdk-default"])
        #expect(s.slo == nil)
        #expect(s.arrivals == [ArrivalSpec(.poisson(rate: 40.0 / 60), start: 0, end: nil)])
        #expect(s.workload == WorkloadSpec(inputTokens: Sampled(.constant(400)), outputTokens: Sampled(.constant(150)),
                                           maxTokens: 1024, cache: nil, stream: true))
        #expect(s.limits.config.burst == 1)
        #expect(s.limits.config.admission == .positiveBalance)
        #expect(s.limits.config.outputAccounting == .realtime)
    }

    @Test func tierResolution() throws {
        let sonnet = try scenario(minimalYAML)
        #expect(sonnet.limits == LimitsSpec(
            config: LimitConfig(rpm: 50, itpm: 30000, otpm: 8000, cacheReadsCount: false),
            tier: "tier-1", modelClass: "sonnet-4.x", source: "catalog:https://platform.claude.com/docs/en/api/rate-limits (2026-04-23)"))

        let haiku = try scenario(replacing("model: claude-sonnet-4-5", with: "model: claude-3-5-haiku-20241022"))
        #expect(haiku.limits.modelClass == "haiku-3.5")
        #expect(haiku.limits.config.cacheReadsCount == true)
        #expect((haiku.limits.config.rpm, haiku.limits.config.itpm, haiku.limits.config.otpm) == (50, 50000, 10000))

        for spelling in ["Tier 1", "tier1", "TIER-1", "tier_1"] {
            let s = try scenario(replacing("  tier: tier-1", with: "  tier: \(spelling)"))
            #expect(s.limits.tier == "tier-1")
        }
        let build = try scenario(replacing("  tier: tier-1", with: "  tier: Build"))
        #expect(build.limits.tier == "build")
        #expect(build.limits.config.rpm == 5000)
        #expect(build.limits.source == "catalog:https://platform.claude.com/docs/en/api/rate-limits (2026-09-01)")
    }

    @Test func overrides() throws {
        let s = try scenario(replacing("  tier: tier-1", with: """
              tier: tier-1
              rpm: "100/min"
              otpm: 1000/s
              burst: "1/60"
              admission: full-cost
              output_accounting: reserve
              cache_reads_count: true
            """))
        #expect(s.limits.config == LimitConfig(rpm: 100, itpm: 30000, otpm: 60000, burst: 1.0 / 60,
                                               admission: .fullCost, outputAccounting: .reserve, cacheReadsCount: true))
        #expect(s.limits.source == "catalog:https://platform.claude.com/docs/en/api/rate-limits (2026-04-23) with overrides")
        #expect(s.limits.tier == "tier-1")
    }

    @Test func explicitLimits() throws {
        let s = try scenario(replacing("  tier: tier-1", with: "  rpm: 30\n  itpm: \"20_000\"\n  otpm: 4000/min\n  burst: 0.5"))
        #expect(s.limits == LimitsSpec(config: LimitConfig(rpm: 30, itpm: 20000, otpm: 4000, burst: 0.5),
                                       tier: nil, modelClass: "sonnet-4.x", source: "explicit"))
        // Without a tier, cache reads count when every catalog row of the class says so (Haiku 3.5).
        let haiku = try scenario(replacing("  tier: tier-1", with: "  rpm: 30\n  itpm: 20000\n  otpm: 4000")
            .replacingOccurrences(of: "model: claude-sonnet-4-5", with: "model: claude-3-5-haiku"))
        #expect(haiku.limits.config.cacheReadsCount == true)
    }

    @Test func quotedAndPlainNumbersReadTheSame() throws {
        let quoted = try scenario(replacing("  max_tokens: 1024", with: "  max_tokens: \"1024\"")
            .replacingOccurrences(of: "  input_tokens: 400", with: "  input_tokens: '400'"))
        let plain = try scenario(minimalYAML)
        #expect(quoted.workload == plain.workload)
    }

    @Test func lognormalMeanAndSdConvertToMuAndSigma() throws {
        let s = try scenario(replacing("  input_tokens: 400", with: "  input_tokens: {dist: lognormal, mean: 200, sd: 100}"))
        guard case .lognormal(let mu, let sigma) = s.workload.inputTokens.distribution else {
            Issue.record("not lognormal: \(s.workload.inputTokens)")
            return
        }
        let s2 = log(1.25) // 1 + 100²/200²
        #expect(abs(sigma - s2.squareRoot()) < 1e-12)
        #expect(abs(mu - (log(200) - s2 / 2)) < 1e-12)
        #expect(abs(sigma - 0.4723807270) < 1e-9)
        #expect(abs(mu - 5.1867455907) < 1e-9)
        #expect(abs(s.workload.inputTokens.distribution.mean - 200) < 1e-9)

        let median = try scenario(replacing("  input_tokens: 400", with: "  input_tokens: {dist: lognormal, median: 400, sigma: 0.6, min: 10, max: 8000}"))
        #expect(median.workload.inputTokens == Sampled(.lognormal(mu: log(400), sigma: 0.6), min: 10, max: 8000))
    }

    @Test func latencyDistributionsUseDurations() throws {
        let s = try scenario(minimalYAML + """

            server:
              ttft: {dist: lognormal, mean: 800ms, sd: 400ms, max: 10s}
              output_rate: 3600/min
              prefill_rate: 5000/s
              reject_latency: 0s
              overload: {probability: 0.01, rise_from: 10, rise_to: 40, max_probability: 0.5}
            """)
        let p = (s2: log(1.25), mean: 0.8)
        #expect(s.server.ttft.max == 10)
        if case .lognormal(let mu, let sigma) = s.server.ttft.distribution {
            #expect(abs(sigma - p.s2.squareRoot()) < 1e-12)
            #expect(abs(mu - (log(0.8) - p.s2 / 2)) < 1e-12)
        } else {
            Issue.record("ttft is not lognormal")
        }
        #expect(s.server.outputTokensPerSecond == 60)
        #expect(s.server.prefillTokensPerSecond == 5000)
        #expect(s.server.rejectLatency == 0)
        #expect(s.server.overload == OverloadModel(probability: 0.01, riseFrom: 10, riseTo: 40, maxProbability: 0.5))

        let constant = try scenario(minimalYAML + "\nserver: {ttft: 250ms}")
        #expect(constant.server.ttft == Sampled(.constant(0.25)))
        let uniform = try scenario(minimalYAML + "\nserver: {ttft: {dist: uniform, min: 100ms, max: 1.5s}}")
        #expect(uniform.server.ttft == Sampled(.uniform(min: 0.1, max: 1.5)))
    }

    @Test func otherDistributions() throws {
        let s = try scenario(replacing("  input_tokens: 400", with: """
              input_tokens: {dist: uniform, min: 100, max: 300}
              output_tokens: {dist: exponential, mean: 120, max: 1024}
            """).replacingOccurrences(of: "  output_tokens: 150\n", with: ""))
        #expect(s.workload.inputTokens == Sampled(.uniform(min: 100, max: 300)))
        #expect(s.workload.outputTokens == Sampled(.exponential(mean: 120), max: 1024))

        let empirical = try scenario(replacing("  input_tokens: 400", with: "  input_tokens: {dist: empirical, values: [10, 20, 30], min: 15}"))
        #expect(empirical.workload.inputTokens == Sampled(.empirical([10, 20, 30]), min: 15))

        let constant = try scenario(replacing("  input_tokens: 400", with: "  input_tokens: {dist: constant, value: 42}"))
        #expect(constant.workload.inputTokens == Sampled(.constant(42)))

        let fromFile = try scenario(minimalYAML + "\nserver:\n  ttft: {dist: empirical, file: ttft-values.txt}")
        #expect(fromFile.server.ttft == Sampled(.empirical([0.45, 0.6, 1.2])))
    }

    @Test func durationAndRateUnits() throws {
        let s = try scenario(replacing("duration: 10m", with: "duration: 1h30m")
            .replacingOccurrences(of: """
                  - process: poisson
                    rate: 40/min
                """, with: """
                  - {process: constant, rate: 2/s, start: 250ms, end: 90s}
                  - {process: gamma, rate: 1000/h, shape: 0.25}
                  - {process: on-off, rate_on: 10/s, mean_on: 30s, mean_off: 2m}
                  - {process: on-off, rate_on: 10/s, rate_off: 1/s, mean_on: 1m30s, mean_off: 1500ms}
                  - {process: ramp, from: 0/s, to: 120/min, over: 5m}
                  - {process: burst, count: 60, at: 2m, over: 5s, start: 1m}
                  - {process: burst, count: 5}
                """))
        #expect(s.length == .duration(5400))
        #expect(s.arrivals == [
            ArrivalSpec(.constant(rate: 2), start: 0.25, end: 90),
            ArrivalSpec(.gamma(rate: 1000.0 / 3600, shape: 0.25)),
            ArrivalSpec(.onOff(rateOn: 10, rateOff: 0, meanOn: 30, meanOff: 120)),
            ArrivalSpec(.onOff(rateOn: 10, rateOff: 1, meanOn: 90, meanOff: 1.5)),
            ArrivalSpec(.ramp(from: 0, to: 2, over: 300)),
            ArrivalSpec(.burst(at: 120, count: 60, over: 5), start: 60),
            ArrivalSpec(.burst(at: 0, count: 5, over: 0)),
        ])
    }

    @Test func requestsRunLengthAndCountOnlySources() throws {
        let requests = try scenario(replacing("duration: 10m", with: "requests: 500"))
        #expect(requests.length == .requests(500))

        let counted = try scenario(replacing("duration: 10m\n", with: "")
            .replacingOccurrences(of: """
                  - process: poisson
                    rate: 40/min
                """, with: """
                  - {process: burst, count: 60, at: 2m, over: 5s}
                  - {process: trace, file: traces/good.csv}
                """))
        #expect(counted.length == .requests(64))
    }

    @Test func traceRows() throws {
        let s = try scenario(replacing("""
              - process: poisson
                rate: 40/min
            """, with: """
              - process: trace
                file: traces/good.csv
              - process: trace
                file: traces/crlf.csv
                start: 1m
            """))
        guard case .trace(let path, let rows) = s.arrivals[0].process,
              case .trace(_, let crlf) = s.arrivals[1].process
        else {
            Issue.record("not traces: \(s.arrivals)")
            return
        }
        #expect(path == (fixtures as NSString).appendingPathComponent("traces/good.csv"))
        #expect(rows == [
            TraceRow(at: 0, inputTokens: 100, outputTokens: 10, maxTokens: 256, cacheReadTokens: nil),
            TraceRow(at: 0.5, inputTokens: 200, outputTokens: 20, maxTokens: 256, cacheReadTokens: 0),
            TraceRow(at: 0.5, inputTokens: 2000, outputTokens: 30, maxTokens: 256, cacheReadTokens: 1800),
            TraceRow(at: 12.25, inputTokens: 400, outputTokens: 256, maxTokens: 256, cacheReadTokens: nil),
        ])
        #expect(crlf == [TraceRow(at: 0, inputTokens: 1, outputTokens: 1, maxTokens: 1),
                         TraceRow(at: 2, inputTokens: 3, outputTokens: 4, maxTokens: 5)])
        #expect(s.arrivals[1].start == 60)
    }

    @Test func strategiesParamsAndAutoLabels() throws {
        let s = try scenario(minimalYAML + """

            strategies:
              - none
              - sdk-default
              - name: sdk-default
                params: {variant: typescript, max_retries: 4, initial_delay: 250ms, max_delay: 1m}
              - {name: sdk-default, label: openai, params: {variant: openai-python}}
              - sdk-default
            """)
        #expect(s.strategies == [
            StrategySpec(name: "none", label: "none"),
            StrategySpec(name: "sdk-default", label: "sdk-default"),
            StrategySpec(name: "sdk-default", label: "sdk-default#2",
                         params: ["variant": .string("typescript"), "max_retries": .number(4),
                                  "initial_delay": .number(0.25), "max_delay": .number(60)]),
            StrategySpec(name: "sdk-default", label: "openai", params: ["variant": .string("openai-python")]),
            StrategySpec(name: "sdk-default", label: "sdk-default#3"),
        ])
    }

    @Test func topLevelOptions() throws {
        let s = try scenario(minimalYAML + """

            description: A test
            seed: 18446744073709551615
            target: https://api.example.com
            slo: {latency: 1m, attainment: 0.99}
            """)
        #expect(s.description == "A test")
        #expect(s.seed == UInt64.max)
        #expect(s.target == .url("https://api.example.com"))
        #expect(s.slo == SLOSpec(latency: 60, attainment: 0.99))
        let mock = try scenario(minimalYAML + "\ntarget: mock\nseed: 0")
        #expect(mock.target == .mock)
        #expect(mock.seed == 0)
    }

    @Test func workloadCache() throws {
        let s = try scenario(replacing("  max_tokens: 1024", with: """
              max_tokens: 1024
              stream: false
              cache: {share: 0.9, ttl: 1h, prefixes: 3, min_cacheable_tokens: 2048}
            """))
        #expect(s.workload.stream == false)
        #expect(s.workload.cache == CacheSpec(share: 0.9, ttl: 3600, prefixes: 3, minCacheableTokens: 2048))
        let defaults = try scenario(replacing("  max_tokens: 1024", with: "  max_tokens: 1024\n  cache: {share: 0.5}"))
        #expect(defaults.workload.cache == CacheSpec(share: 0.5, ttl: 300, prefixes: 1, minCacheableTokens: 1024))
    }
}
