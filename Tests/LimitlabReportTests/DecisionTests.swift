import Foundation
import LimitlabCore
@testable import LimitlabReport
import LimitlabScenario
import LimitlabSim
import LimitlabStats
import Testing

func scenario(_ yaml: String) throws -> Scenario {
    try ScenarioLoader.parse(yaml: yaml, file: "t.yaml", baseDirectory: "/tmp")
}

let tierOneBurst = """
    name: decide
    seed: 7
    duration: 10m
    model: claude-sonnet-4-5
    limits:
      tier: tier-1
      burst: "1/60"
    arrivals:
      - process: poisson
        rate: 80/min
    workload:
      input_tokens: 200
      output_tokens: 50
      max_tokens: 256
    strategies: [none, sdk-default]
    slo:
      latency: 30s
    """

@Suite struct ConditionTests {
    @Test func parsesAliasesUnitsAndPercent() throws {
        let c = try Condition.parseList("p99<30s, success>=99%,goodput > 40, rate_429<=0.01")
        #expect(c.map(\.metric) == [.latencyP99, .successRate, .goodputRequests, .rate429])
        #expect(c[0].threshold == 30 && c[1].threshold == 0.99 && c[2].op == .gt && c[3].op == .le)
        #expect(c[0].holds(29.9) && !c[0].holds(30))
        #expect(!c[1].holds(nil), "not measured never passes")
        #expect(abs(c[0].headroom(15)! - 0.5) < 1e-12)
        #expect(abs(c[1].headroom(0.9)! - (0.9 - 0.99) / 0.99) < 1e-12)
    }

    @Test func rejectsWithAClearMessage() {
        #expect(throws: ConditionError.self) { try Condition.parseList("p99<fast") }
        #expect(throws: ConditionError.self) { try Condition.parseList("latency.p98<3s") }
        #expect(throws: ConditionError.self) { try Condition.parseList("p99 = 3s") }
        do { _ = try Condition.parse("p99<fast") } catch {
            #expect(error.message.contains("expected a duration like 30s"))
        }
    }
}

@Suite struct SizingTests {
    /// 80/min against tier 1's 50 RPM fails without retries; tier 2's 1,000 RPM meets the SLO.
    @Test func smallestTierThatMeetsTheSLOForEveryStrategy() async throws {
        let sc = try scenario(tierOneBurst)
        let conditions = try Condition.parseList("p99<30s,success>=0.99")
        let r = try await Sizer.tiers(sc, conditions: conditions, scheme: "classic")
        #expect(r.trials.map(\.label) == ["tier-1", "tier-2", "tier-3", "tier-4"])
        #expect(r.strategies == ["none", "sdk-default"])
        #expect(r.trials.allSatisfy { $0.cells.map(\.strategy) == ["none", "sdk-default"] }, "every strategy at every tier")
        #expect(!r.trials[0].cells[0].meets && r.trials[1].cells[0].meets)
        #expect(r.byStrategy[0].smallest == "tier-2")
        #expect(r.recommendation?.label == r.trials.first(where: \.meets)?.label)
        #expect((r.trials[0].cells[0].headroom["success_rate >= 0.99"] ?? 0) < 0)
        // The margin is the worst condition's headroom.
        let c = r.trials[1].cells[0]
        #expect(c.margin == c.headroom.values.min())
    }

    @Test func theScenarioSLOIsUsedWhenNoneIsGiven() throws {
        let sc = try scenario(tierOneBurst + "\n  attainment: 0.97")
        let conditions = try Sizer.conditions(from: sc)
        #expect(conditions.map(\.description) == ["slo.attainment >= 0.97"])
        #expect(throws: SizingError.self) { try Sizer.conditions(from: try scenario(tierOneBurst)) }
    }

    @Test func withSeveralSeedsTheIntervalBoundDecides() async throws {
        let sc = try scenario(tierOneBurst)
        let result = try Simulator.run(sc)
        let base = Summariser.summarise(log: result.runs[0].log, stream: result.stream, slo: sc.slo, scenario: sc,
                                        options: SummaryOptions())
        let summaries = [1.0, 0.999, 0.975].map { a -> RunSummary in
            var s = base
            s.slo?.attainment = a
            return s
        }
        let condition = try Condition.parseList("slo>=0.99")
        // Mean 0.9913 clears 0.99, but the 95% interval's lower bound does not.
        let replicated = Sizer.cell(strategy: "x", summaries: summaries, conditions: condition)
        let iv = try #require(replicated.intervals?["slo.attainment"])
        #expect(iv.mean > 0.99 && iv.low < 0.99 && iv.n == 3)
        #expect(!replicated.meets)
        #expect((replicated.margin ?? 0) < 0, "the margin is taken at the failing bound")
        #expect(Sizer.cell(strategy: "x", summaries: [summaries[0]], conditions: condition).meets)
        // Over real seeds: every cell that meets has every lower bound at or above the target.
        let r = try await Sizer.tiers(sc, conditions: condition, scheme: "classic", seeds: [1, 2, 3], jobs: 2)
        for t in r.trials { for c in t.cells where c.meets { #expect(c.intervals!["slo.attainment"]!.low >= 0.99) } }
        let serial = try await Sizer.tiers(sc, conditions: condition, scheme: "classic", seeds: [1, 2, 3], jobs: 1)
        #expect(r == serial,
                "parallel and serial agree")
    }

    @Test func nothingFitsIsReported() async throws {
        let sc = try scenario(tierOneBurst)
        let r = try await Sizer.tiers(sc, conditions: try Condition.parseList("p99<1ms"), scheme: "classic")
        #expect(!r.fits && r.recommendation == nil && r.byStrategy.allSatisfy { $0.smallest == nil })
    }

    @Test func customScalingFindsTheThresholdPerStrategy() async throws {
        let sc = try scenario(tierOneBurst)
        let r = try await Sizer.custom(sc, conditions: try Condition.parseList("success>=0.99"), jobs: 2)
        for (j, label) in ["none", "sdk-default"].enumerated() {
            let s = r.byStrategy[j]
            #expect(s.strategy == label)
            let best = try #require(s.rpm)
            // Just below the strategy's factor the SLO must fail (the search brackets it to 2 %).
            let mine = r.trials.filter { $0.cells[0].strategy == label }
            let below = mine.filter { !$0.cells[0].meets }.map(\.rpm).max() ?? 0
            #expect(below < best && best / below < 1.03)
        }
        #expect(r.byStrategy[0].rpm! > 80, "80/min Poisson needs more than 80 RPM at 1-second buckets without retries")
        #expect(r.recommendation?.rpm == r.byStrategy.compactMap(\.rpm).min())
    }
}

@Suite struct ComparisonTests {
    @Test func ranksAndBoundsDifferences() throws {
        let sc = try scenario(tierOneBurst)
        let result = try Simulator.run(sc)
        let runs = result.runs.map { (spec: $0.spec, log: $0.log) }
        let report = ReportWriter.build(scenario: sc, scenarioFile: nil, stream: result.stream, runs: runs,
                                        generatedAt: Date(timeIntervalSince1970: 0))
        let c = Comparer.compare(report: report, stream: result.stream, logs: result.runs.map(\.log), seed: 1)
        #expect(c.ranking.map(\.strategy) == ["sdk-default", "none"], "retries recover 429s at 1-second buckets")
        let diff = try #require(c.ranking[1].vsLeader)
        #expect(diff.sloAttainment.estimate < 0 && diff.sloAttainment.excludesZero)
        #expect(!diff.notSignificant.contains("slo_attainment"))
        let again = Comparer.compare(report: report, stream: result.stream, logs: result.runs.map(\.log), seed: 1)
        #expect(again == c, "deterministic by seed")
    }

    @Test func identicalStrategiesAreNotSignificantlyDifferent() throws {
        var sc = try scenario(tierOneBurst)
        sc.strategies = [StrategySpec(name: "none", label: "a"), StrategySpec(name: "none", label: "b")]
        let result = try Simulator.run(sc)
        let runs = result.runs.map { (spec: $0.spec, log: $0.log) }
        let report = ReportWriter.build(scenario: sc, scenarioFile: nil, stream: result.stream, runs: runs)
        let c = Comparer.compare(report: report, stream: result.stream, logs: result.runs.map(\.log), seed: 1)
        let diff = try #require(c.ranking[1].vsLeader)
        #expect(Set(diff.notSignificant) == ["slo_attainment", "goodput", "latency_p99"])
    }
}

@Suite struct SweepTests {
    @Test func parsesAndAppliesAxes() throws {
        let axis = try SweepAxis.parse("arrivals[0].rate=10/min..200/min:20")
        #expect(axis.values.count == 20)
        #expect(abs(axis.values.first! - 10.0 / 60) < 1e-12 && abs(axis.values.last! - 200.0 / 60) < 1e-12)
        let sc = try scenario(tierOneBurst)
        let s = try axis.apply(axis.values[3], to: sc)
        #expect(s.arrivals[0].process == .poisson(rate: axis.values[3]))
        #expect(throws: SweepError.self) { try SweepAxis.parse("arrivals[0].rate=fast..2/min:3") }
        #expect(throws: SweepError.self) { try SweepAxis.parse("limits.rpm=1..2") }
        #expect(throws: SweepError.self) { try SweepAxis.parse("model=1..2:3") }
    }

    @Test func goodputSaturatesAtTheLimitAndTheKneeIsBelowIt() async throws {
        // Full-minute buckets: light load never sees a 429.
        var sc = try scenario(tierOneBurst.replacingOccurrences(of: "  burst: \"1/60\"\n", with: ""))
        sc.strategies = [StrategySpec(name: "none")]
        let r = try await Sweeper.run(sc, axis: try SweepAxis.parse("arrivals[0].rate=10/min..150/min:8"))
        let points = r.series[0].points
        #expect(points.first!.successRate == 1)
        // Tier 1 admits at most ~50/min: goodput stops growing while the offered load does.
        #expect(points.last!.goodputPerMin < 56)
        #expect(points.last!.offeredPerMin > 130)
        let knee = try #require(r.series[0].knee)
        #expect(knee * 60 <= 50 + 1e-9 && knee * 60 > 30, "the knee sits at the tier's 50 RPM")
    }
}

@Suite struct SweepAnythingTests {
    @Test func stepAndPointsSyntaxes() throws {
        let step = try SweepAxis.parse("arrivals[0].rate=10/min..50/min step 10/min")
        #expect(step.values.map { ($0 * 60).rounded() } == [10, 20, 30, 40, 50])
        #expect(step.values.map(step.label) == ["10/min", "20/min", "30/min", "40/min", "50/min"])
        let points = try SweepAxis.parse("limits.rpm=10..40 points 4")
        #expect(points.values == [10, 20, 30, 40])
        #expect(try SweepAxis.parse("limits.rpm=10..40:4").values == points.values, ":N is the older spelling of points N")
        #expect(throws: SweepError.self) { try SweepAxis.parse("limits.rpm=10..40 step 0") }
        #expect(throws: SweepError.self) { try SweepAxis.parse("arrivals[1].count=1..2 points 3") }
        #expect(throws: SweepError.self) { try SweepAxis.parse("limits.rpm=1..100000 step 1") }
    }

    @Test func strategyParametersAndBurstCounts() throws {
        var sc = try scenario(tierOneBurst)
        sc.arrivals.append(ArrivalSpec(.burst(at: 60, count: 10, over: 5)))
        let retries = try SweepAxis.parse("strategies.sdk-default.max_retries=0..4 step 1")
        #expect(retries.values == [0, 1, 2, 3, 4])
        let s = try retries.apply(3, to: sc)
        #expect(s.strategies[1].params["max_retries"] == .number(3) && s.strategies[0].params["max_retries"] == nil)
        #expect(throws: SweepError.self) { try SweepAxis.parse("strategies.nope.x=1..2 step 1").apply(1, to: sc) }
        let count = try SweepAxis.parse("arrivals[1].count=10..40 step 10")
        #expect(try count.apply(30, to: sc).arrivals[1].process == .burst(at: 60, count: 30, over: 5))
        #expect(throws: SweepError.self) { try count.apply(30, to: try scenario(tierOneBurst)) }
        #expect(throws: SweepError.self) { try SweepAxis.parse("arrivals[0].count=10..40 step 10").apply(10, to: sc) }
    }

    /// More retries never hurt the success rate here; the knee is judged against the SLO target,
    /// and sweep.json carries attempts and 429s.
    @Test func sweepOverRetriesJudgesTheKneeAgainstTheSLO() async throws {
        var sc = try scenario(tierOneBurst + "\n  attainment: 0.97")
        sc.strategies = [StrategySpec(name: "sdk-default")]
        let axis = try SweepAxis.parse("strategies.sdk-default.max_retries=0..4 step 2")
        let r = try await Sweeper.run(sc, axis: axis, jobs: 2)
        let pts = r.series[0].points
        #expect(pts.map(\.value) == [0, 2, 4])
        #expect(pts[2].attempts > pts[0].attempts, "retries send more attempts")
        #expect(pts.allSatisfy { $0.sloAttainment != nil })
        let want = pts.filter { $0.sloAttainment! >= 0.97 }.map(\.value).max()
        #expect(r.series[0].knee == want)
        #expect(r.kneeRule?.contains("target 0.97") == true)
        let serial = try await Sweeper.run(sc, axis: axis, jobs: 1)
        #expect(serial == r)
        let data = try JSONEncoder().encode(r)
        let text = String(decoding: data, as: UTF8.self)
        #expect(text.contains("\"attempts\"") && text.contains("\"status_429\""))
    }
}

@Suite struct SummaryMetricTests {
    @Test func timeSeriesAddUpAndCostFollowsThePriceList() throws {
        let sc = try scenario(tierOneBurst)
        let result = try Simulator.run(sc)
        let log = result.runs[0].log
        let ts = Summariser.timeSeries(log: log, stream: result.stream)
        #expect(ts.offered.reduce(0, +) == result.stream.count)
        #expect(ts.sent.reduce(0, +) == log.attemptCountTotal)
        let s = Summariser.summarise(log: log, stream: result.stream, slo: sc.slo, scenario: sc, options: SummaryOptions())
        #expect(ts.succeeded.reduce(0, +) == s.requests.succeeded)
        #expect(ts.status429.reduce(0, +) == (s.statusCounts["429"] ?? 0))
        #expect(ts.inFlight.last == 0, "everything completed by the last bin")
        #expect(!ts.bucketRequests.isEmpty && ts.bucketRequests.allSatisfy { $0 <= 1.0001 })
        // Sonnet 4.x: $3 / $15 per million; every success is 200 in + 50 out.
        let cost = try #require(s.cost)
        let want = Double(s.requests.succeeded) * (200 * 3 + 50 * 15) / 1_000_000
        #expect(abs(cost.totalUSD - want) < 1e-9)
        // RPM utilisation: admitted requests per minute over 50.
        let u = try #require(s.utilisation)
        #expect(abs(u.rpm - Double(s.statusCounts["200"] ?? 0) / (s.goodput.windowS / 60) / 50) < 1e-9)
    }

    @Test func failureCausesNameTheRefusingDimension() throws {
        let sc = try scenario(tierOneBurst)
        let result = try Simulator.run(sc)
        let s = Summariser.summarise(log: result.runs[0].log, stream: result.stream, slo: nil)
        #expect(s.failedByCause == ["429:requests": s.requests.failed])
    }

    @Test func extraPercentilesAreReported() throws {
        var sc = try scenario(tierOneBurst)
        sc.reportPercentiles = [0.75, 0.9999]
        let result = try Simulator.run(sc)
        let report = ReportWriter.build(scenario: sc, scenarioFile: nil, stream: result.stream,
                                        runs: result.runs.map { (spec: $0.spec, log: $0.log) })
        let extra = try #require(report.runs[0].summary.latencyS.extra)
        #expect(Set(extra.keys) == ["p75", "p99.99"])
        #expect(extra["p75"]! >= report.runs[0].summary.latencyS.p50)
    }
}
