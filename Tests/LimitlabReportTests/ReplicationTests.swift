import Foundation
import LimitlabCore
import LimitlabReport
import LimitlabSim
import LimitlabStats
import Testing

@Suite struct ReplicationTests {
    @Test func seedPlans() throws {
        #expect(try SeedPlan.parse(replications: nil, seeds: nil, base: 7).seeds == [7])
        #expect(try SeedPlan.parse(replications: 3, seeds: nil, base: 7).seeds == [7, 8, 9])
        #expect(try SeedPlan.parse(replications: nil, seeds: "4..6", base: 7).seeds == [4, 5, 6])
        #expect(throws: ReplicationError.self) { try SeedPlan.parse(replications: 2, seeds: "1..2", base: 1) }
        #expect(throws: ReplicationError.self) { try SeedPlan.parse(replications: 0, seeds: nil, base: 1) }
        #expect(throws: ReplicationError.self) { try SeedPlan.parse(replications: nil, seeds: "5..1", base: 1) }
        #expect(throws: ReplicationError.self) { try SeedPlan.parse(replications: nil, seeds: "a..b", base: 1) }
    }

    /// Student t by hand: mean 2, s = 1, n = 3, t(0.975, 2) = 4.302653 (any t table).
    @Test func studentTInterval() throws {
        let v = try #require(ReplicatedValue.of([1, 2, 3]))
        #expect(v.mean == 2 && v.n == 3)
        let half = 4.302652729911275 / 3.0.squareRoot()
        #expect(abs(v.high - (2 + half)) < 1e-9 && abs(v.low - (2 - half)) < 1e-9)
        let single = try #require(ReplicatedValue.of([5]))
        #expect(single.mean == 5 && single.low == 5 && single.high == 5 && single.n == 1)
        #expect(ReplicatedValue.of([nil, nil]) == nil)
        #expect(ReplicatedValue.of([nil, 4, 6])!.n == 2, "seeds that did not measure it are left out")
        let share = try #require(ReplicatedValue.of([0.99, 1, 1], bounds: 0...1))
        #expect(share.high == 1 && share.low < 0.99)
        // 429s in one seed of three: the t interval reaches below zero; a count cannot.
        let unbounded = try #require(ReplicatedValue.of([0, 0, 30]))
        #expect(unbounded.low < 0)
        let count = try #require(ReplicatedValue.of([0, 0, 30], bounds: ReplicatedValue.nonNegative))
        #expect(count.low == 0 && count.high == unbounded.high && count.mean == 10)
    }

    /// A strategy's replicated figures clip every figure that cannot be negative at 0.
    @Test func replicatedCountsNeverGoBelowZero() throws {
        let replicas = try [0, 0, 30].enumerated().map { i, n429 in
            try JSONDecoder().decode(ReplicaFigures.self, from: Data("""
                {"strategy":"s","seed":\(i),"offered":60,"succeeded":60,"attempts":\(60 + n429),"status_429":\(n429),
                 "success_rate":1,"rate_429":\(Double(n429) / Double(60 + n429)),"goodput_requests_per_min":\(i == 2 ? 60 : 1),
                 "latency_p50_s":\(i == 2 ? 9 : 0.1),"latency_p99_s":\(i == 2 ? 30 : 0.2),"cost_usd":\(i == 2 ? 3 : 0)}
                """.utf8))
        }
        let f = ReplicatedFigures(strategy: "s", replicas: replicas)
        for (name, v) in [("status_429", f.status429), ("goodput", f.goodputRequestsPerMin), ("p50", f.latencyP50S),
                          ("p99", f.latencyP99S), ("cost", f.costUSD), ("rate_429", f.rate429)] {
            let v = try #require(v, "\(name)")
            #expect(v.low >= 0 && v.low <= v.mean && v.mean <= v.high, "\(name): \(v)")
        }
        #expect(f.status429?.low == 0 && f.status429?.mean == 10)
    }

    @Test func parallelMapKeepsIndexOrder() async throws {
        // Later indices finish first; the result is still in index order.
        let out = try await Parallel.map(count: 40, jobs: 4) { i -> Int in
            usleep(useconds_t((40 - i) * 200))
            return i * i
        }
        #expect(out == (0..<40).map { $0 * $0 })
        struct Boom: Error, Equatable { var i: Int }
        await #expect(throws: Boom(i: 3)) {
            try await Parallel.map(count: 10, jobs: 3) { i -> Int in
                if i == 3 || i == 7 { throw Boom(i: i) }
                return i
            }
        }
    }

    /// The parallel path gives exactly the serial report, and one seed gives the report the
    /// simulator and ReportWriter give directly.
    @Test func replicatedReportIsIndependentOfJobs() async throws {
        let sc = try scenario(tierOneBurst)
        let at = Date(timeIntervalSince1970: 0)
        let serial = try await Replicator.simulate(sc, seeds: [7, 8, 9], jobs: 1)
        let parallel = try await Replicator.simulate(sc, seeds: [7, 8, 9], jobs: 3)
        let a = try await Replicator.report(serial, scenarioFile: nil, jobs: 1, generatedAt: at)
        let b = try await Replicator.report(parallel, scenarioFile: nil, jobs: 2, generatedAt: at)
        #expect(try ReportWriter.json(a) == ReportWriter.json(b))
        let rep = try #require(a.replication)
        #expect(rep.seeds == [7, 8, 9] && rep.replications.count == 6 && rep.summary.map(\.strategy) == ["none", "sdk-default"])
        #expect(rep.replications.map(\.seed) == [7, 8, 9, 7, 8, 9])

        let one = try await Replicator.simulate(sc, seeds: [sc.seed], jobs: 2)
        let direct = try Simulator.run(sc)
        let viaReplicator = try await Replicator.report(one, scenarioFile: nil, jobs: 2, generatedAt: at)
        let viaWriter = ReportWriter.build(scenario: sc, scenarioFile: nil, stream: direct.stream,
                                           runs: direct.runs.map { (spec: $0.spec, log: $0.log) }, generatedAt: at)
        #expect(try ReportWriter.json(viaReplicator) == ReportWriter.json(viaWriter))
        #expect(viaReplicator.replication == nil)
    }

    /// Over seeds, two copies of one strategy are never told apart; retries against the
    /// control are.
    @Test func replicatedCompareIsPairedPerSeed() async throws {
        var sc = try scenario(tierOneBurst)
        sc.strategies = [StrategySpec(name: "none", label: "a"), StrategySpec(name: "none", label: "b"),
                         StrategySpec(name: "sdk-default")]
        let sim = try await Replicator.simulate(sc, seeds: Array(1...6), jobs: 2)
        let c = Comparer.compare(figures: sim.figures, seeds: Array(1...6), sloLatencyS: 30)
        #expect(c.ranking[0].strategy == "sdk-default")
        let a = try #require(c.ranking.first { $0.strategy == "a" }?.vsLeader)
        #expect(a.sloAttainment.estimate < 0 && a.sloAttainment.excludesZero)
        let same = Comparer.compare(figures: [sim.figures[0], sim.figures[1]], seeds: Array(1...6), sloLatencyS: 30)
        #expect(Set(same.ranking[1].vsLeader!.notSignificant) == ["slo_attainment", "goodput", "latency_p99"])
        #expect(c.ranking.allSatisfy { $0.intervals?.sloAttainment?.n == 6 })
    }
}
