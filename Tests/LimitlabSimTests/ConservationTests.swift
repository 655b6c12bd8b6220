import LimitlabCore
import LimitlabReport
import LimitlabSim
import LimitlabStats
import LimitlabStrategies
import LimitlabTestSupport
import Testing

/// Property: for random scenarios and every registered strategy and role, every offered request
/// ends exactly once — offered = succeeded + failed + dropped — and the run terminates.
@Suite struct ConservationTests {
    /// Every top-level strategy, plus every role entry composed behind the `none` baseline.
    static var specs: [StrategySpec] {
        var specs = StrategyRegistry.names.map { StrategySpec(name: $0) }
        // The shared limiters' fail-closed fallback, with a store that works: nothing dropped for it.
        specs.append(StrategySpec(name: "shared-gcra", label: "shared-gcra-closed",
                                  params: ["fallback": .string("fail-closed"), "max_wait": .number(20)]))
        for name in StrategyRegistry.names(role: .retry) {
            specs.append(StrategySpec(name: "none", label: "retry:\(name)", retry: RoleSpec(name: name)))
        }
        for name in StrategyRegistry.names(role: .budget) {
            specs.append(StrategySpec(name: "none", label: "budget:\(name)", retry: RoleSpec(name: "immediate"),
                                      budget: RoleSpec(name: name)))
        }
        for name in StrategyRegistry.names(role: .concurrency) {
            specs.append(StrategySpec(name: "none", label: "concurrency:\(name)", retry: RoleSpec(name: "sdk-default"),
                                      concurrency: RoleSpec(name: name)))
        }
        // A concurrency role behind an admission limiter with a bounded wait and a retry.
        specs.append(StrategySpec(name: "token-bucket", label: "fixed+token-bucket", params: ["max_wait": .number(5)],
                                  retry: RoleSpec(name: "full-jitter"),
                                  concurrency: RoleSpec(name: "fixed", params: ["limit": .number(3)])))
        specs.append(StrategySpec(name: "guava", label: "guava-warming-up",
                                  params: ["kind": .string("warming-up"), "max_wait": .number(10)],
                                  retry: RoleSpec(name: "retry-after")))
        specs.append(StrategySpec(name: "guava", label: "guava-input-tokens", params: ["permits": .string("input-tokens")]))
        // Reject mode and x/time/rate's refusal of costs above the bucket.
        specs.append(StrategySpec(name: "gcra", label: "gcra-reject", params: ["max_wait": .number(0)],
                                  retry: RoleSpec(name: "sdk-default")))
        specs.append(StrategySpec(name: "token-bucket", label: "token-bucket-refuse",
                                  params: ["oversize": .string("refuse"), "max_wait": .number(0)]))
        for name in StrategyRegistry.names(role: .shed) {
            specs.append(StrategySpec(name: "none", label: "shed:\(name)", retry: RoleSpec(name: "sdk-default"),
                                      shed: RoleSpec(name: name)))
        }
        return specs
    }

    static func randomScenario(_ seed: UInt64) -> Scenario {
        let r = RandomSource(seed: seed, stream: "property")
        let rpm = 20 + Double(r.uniformInt(200))
        let limits = LimitConfig(
            rpm: rpm, itpm: rpm * (200 + Double(r.uniformInt(2000))), otpm: rpm * (20 + Double(r.uniformInt(300))),
            burst: [1.0, 1.0 / 60, 0.25][r.uniformInt(3)],
            admission: r.uniform() < 0.5 ? .positiveBalance : .fullCost,
            outputAccounting: r.uniform() < 0.5 ? .realtime : .reserve,
            cacheReadsCount: r.uniform() < 0.5)
        let load = 0.5 + 2.5 * r.uniform()
        var arrivals = [ArrivalSpec(.poisson(rate: rpm * load / 60))]
        if r.uniform() < 0.5 { arrivals.append(ArrivalSpec(.burst(at: 20 * r.uniform(), count: 1 + r.uniformInt(80), over: 2))) }
        if r.uniform() < 0.3 { arrivals.append(ArrivalSpec(.gamma(rate: rpm / 120, shape: 0.3))) }
        let server = ServerModel(ttft: Sampled(.lognormal(mu: -0.7, sigma: 0.5)), outputTokensPerSecond: 40 + 100 * r.uniform(),
                                 rejectLatency: 0.03,
                                 overload: OverloadModel(probability: r.uniform() < 0.3 ? 0.05 : 0))
        let cache: CacheSpec? = r.uniform() < 0.4 ? CacheSpec(share: 0.7, ttl: 300, prefixes: 1 + r.uniformInt(3), minCacheableTokens: 100) : nil
        var sc = makeScenario(arrivals: arrivals, length: .duration(60 + 120 * r.uniform()), seed: seed, limits: limits,
                              input: Sampled(.lognormal(mu: 6, sigma: 1), min: 1, max: 50_000),
                              output: Sampled(.exponential(mean: 120)), maxTokens: 512, cache: cache, server: server,
                              strategies: specs)
        if r.uniform() < 0.3 {
            sc.limits.keys = [limits, limits]
            // Every listed pool mode, checked against the scenario's own spelling.
            for name in StrategyRegistry.names(role: .pool) {
                guard let mode = KeyPoolMode(rawValue: name) else { Issue.record("pool \(name)"); continue }
                sc.strategies.append(StrategySpec(name: "sdk-default", label: "pool:\(name)", pool: mode))
            }
        }
        // Drawn last, so the scenarios above stay what they were.
        if r.uniform() < 0.5 {
            sc.workers = WorkersSpec(count: 2 + r.uniformInt(4), split: r.uniform() < 0.5 ? .roundRobin : .random)
        }
        // Deferrable requests and a tight batch queue (refused creates, expiries), drawn after
        // everything above.
        if r.uniform() < 0.6 {
            sc.workload.deferrable = DeferrableSpec(share: r.uniform(), latency: 3600)
            sc.server.batch = BatchServerModel(requestsPerSecond: 0.1 + 0.5 * r.uniform(), startDelay: 30 * r.uniform(),
                                               expiry: 5 + 40 * r.uniform(), rpm: 1 + Double(r.uniformInt(4)),
                                               queue: 5 + r.uniformInt(40))
            sc.strategies.append(StrategySpec(name: "batch-offload", label: "batch-offload-tight",
                                              params: ["urgent": .string("token-bucket"), "flush_every": .number(5),
                                                       "max_batch": .number(Double(1 + r.uniformInt(20))),
                                                       "poll_every": .number(3)],
                                              retry: RoleSpec(name: "full-jitter")))
        }
        // Model routing (a second class with its own limits and latency) and prompt trimming.
        if r.uniform() < 0.5 {
            sc.models = [ExtraModel(model: "claude-haiku-4-5", limits: LimitConfig(rpm: rpm, itpm: limits.itpm * 2, otpm: limits.otpm * 2),
                                    server: ServerModel(outputTokensPerSecond: 150))]
            for name in StrategyRegistry.names(role: .route) {
                var spec = StrategySpec(name: "sdk-default", label: "route:\(name)")
                spec.route = RoleSpec(name: name)
                sc.strategies.append(spec)
            }
        }
        for name in StrategyRegistry.names(role: .trim) {
            var spec = StrategySpec(name: "token-bucket", label: "trim:\(name)", params: ["max_wait": .number(10)],
                                    retry: RoleSpec(name: "sdk-default"))
            spec.trim = RoleSpec(name: name, params: ["below_remaining": .number(0.6)])
            sc.strategies.append(spec)
        }
        return sc
    }

    @Test(arguments: 1...12 as ClosedRange<UInt64>)
    func nothingDisappears(seed: UInt64) throws {
        let sc = Self.randomScenario(seed)
        let result = try Simulator.run(sc)
        #expect(result.runs.count == sc.strategies.count)
        for run in result.runs {
            let log = run.log
            let s = Summariser.summarise(log: log, stream: result.stream, slo: nil)
            #expect(s.requests.offered == result.stream.count)
            #expect(s.requests.offered == s.requests.succeeded + s.requests.failed + s.requests.dropped,
                    "\(run.spec.label), seed \(seed)")
            #expect(log.outcome.allSatisfy { $0 != RequestOutcome.pending.rawValue },
                    "\(run.spec.label) left requests unfinished (seed \(seed))")
            #expect(s.failedByReason["unfinished"] == nil)
            for a in 0..<log.attemptCountTotal {
                #expect(log.completedAt[a].isFinite && log.completedAt[a] >= log.sentAt[a])
                #expect(log.sentAt[a] >= log.readyAt[a] - 1e-9, "\(run.spec.label): sent before ready")
                #expect(log.readyAt[a] >= result.stream.intendedAt[Int(log.attemptRequest[a])] - 1e-9)
            }
            for r in 0..<log.requestCount where log.outcome[r] == RequestOutcome.succeeded.rawValue {
                #expect(log.status[Int(log.lastAttempt[r])] == 200)
            }
        }
    }

    /// The batch paths the property runs through: over the seeds above, some batch attempts
    /// succeed, some creates are refused and some requests expire (so the fallback to the
    /// urgent strategy is exercised, not only the happy path).
    @Test func theBatchPathsAreExercised() throws {
        var succeeded = 0, refused = 0, expired = 0
        for seed in 1...12 as ClosedRange<UInt64> {
            let sc = Self.randomScenario(seed)
            guard sc.workload.deferrable != nil else { continue }
            let result = try Simulator.run(sc)
            for run in result.runs where run.spec.label == "batch-offload-tight" {
                let log = run.log
                for a in 0..<log.attemptCountTotal where log.isBatch(attempt: a) {
                    switch log.status[a] {
                    case 200: succeeded += 1
                    case 429: refused += 1
                    default: expired += 1
                    }
                }
            }
        }
        #expect(succeeded > 0 && refused > 0 && expired > 0, "ok \(succeeded), refused \(refused), expired \(expired)")
    }
}
