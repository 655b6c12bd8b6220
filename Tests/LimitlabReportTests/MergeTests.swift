import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import LimitlabCore
@testable import LimitlabReport
import LimitlabSim
import LimitlabStats
import Testing

@Suite("limitlab merge")
struct MergeTests {
    static func scenario(seed: UInt64, name: String = "merge", workers: WorkersSpec? = WorkersSpec(count: 2)) -> Scenario {
        var sc = Scenario(
            name: name, seed: seed, length: .duration(180), model: "claude-sonnet-4-5",
            limits: LimitsSpec(config: LimitConfig(rpm: 50, itpm: 30_000, otpm: 8_000), tier: "tier-1",
                               modelClass: "sonnet-4.x", source: "test"),
            arrivals: [ArrivalSpec(.poisson(rate: 70.0 / 60))],
            workload: WorkloadSpec(inputTokens: Sampled(.lognormal(mu: log(400), sigma: 0.8), max: 8000),
                                   outputTokens: Sampled(.lognormal(mu: log(150), sigma: 0.6)), maxTokens: 1024),
            strategies: [StrategySpec(name: "sdk-default"),
                         StrategySpec(name: "shared-token-bucket", params: ["max_wait": .number(30)])],
            slo: SLOSpec(latency: 30, attainment: 0.9))
        sc.workers = workers
        return sc
    }

    /// Simulates and writes a run directory; `origin` is recorded as its wall-clock start.
    static func write(_ sc: Scenario, origin: Double? = nil) throws -> (dir: String, result: SimulationResult) {
        let result = try Simulator.run(sc)
        let runs = result.runs.map { (spec: $0.spec, log: $0.log) }
        var report = ReportWriter.build(scenario: sc, scenarioFile: nil, stream: result.stream, runs: runs)
        for i in report.runs.indices { report.runs[i].timeOriginEpochS = origin }
        let dir = FileManager.default.temporaryDirectory
            .appendingPathComponent("limitlab-merge-\(getpid())-\(UUID().uuidString)").path
        try ReportWriter.write(report: report, stream: result.stream, runs: runs, to: dir)
        return (dir, result)
    }

    static func latencies(_ log: RunLog, _ stream: ArrivalStream, shift: Double = 0) -> [Double] {
        (0..<log.requestCount).filter { log.outcome[$0] == RequestOutcome.succeeded.rawValue }.map {
            log.completedAt[Int(log.lastAttempt[$0])] - stream.intendedAt[$0]
        }
    }

    @Test func theMergeOfTwoRunsIsTheReportOfTheirUnion() throws {
        let (a, ra) = try Self.write(Self.scenario(seed: 1), origin: 1_000)
        let (b, rb) = try Self.write(Self.scenario(seed: 2), origin: 1_030)
        defer { try? FileManager.default.removeItem(atPath: a); try? FileManager.default.removeItem(atPath: b) }
        let merged = try RunMerge.merge(directories: [a, b])
        #expect(merged.report.arrivals.offered == ra.stream.count + rb.stream.count)
        for (i, run) in merged.report.runs.enumerated() {
            let la = ra.runs[i].log, lb = rb.runs[i].log
            let sa = Summariser.summarise(log: la, stream: ra.stream, slo: nil)
            let sb = Summariser.summarise(log: lb, stream: rb.stream, slo: nil)
            let s = run.summary
            #expect(s.requests.succeeded == sa.requests.succeeded + sb.requests.succeeded)
            #expect(s.requests.failed == sa.requests.failed + sb.requests.failed)
            #expect(s.requests.dropped == sa.requests.dropped + sb.requests.dropped)
            #expect(s.attempts == sa.attempts + sb.attempts)
            for (code, n) in s.statusCounts { #expect(n == (sa.statusCounts[code] ?? 0) + (sb.statusCounts[code] ?? 0)) }
            #expect(s.droppedByReason.values.reduce(0, +) == s.requests.dropped)
            // Percentiles of the union of the latency samples (the CSV keeps microseconds).
            var union = Self.latencies(la, ra.stream) + Self.latencies(lb, rb.stream)
            let expected = Percentiles.of(&union)
            #expect(s.latencyS.count == expected.count)
            for (x, y) in [(s.latencyS.p50, expected.p50), (s.latencyS.p99, expected.p99), (s.latencyS.max, expected.max)] {
                #expect(abs(x - y) < 1e-5, "\(run.strategy): \(x) vs \(y)")
            }
            // Both runs had workers 0 and 1: the second one's become 2 and 3.
            #expect(s.workers?.perWorker.map(\.offered) == [0, 1].map { w in ra.runs[i].log.worker.filter { $0 == w }.count }
                + [0, 1].map { w in rb.runs[i].log.worker.filter { $0 == w }.count })
        }
        // The second run started 30 s later on the wall clock.
        #expect(abs((merged.stream.intendedAt.max() ?? 0) - Swift.max(ra.stream.intendedAt.last!, rb.stream.intendedAt.last! + 30)) < 1e-5)
        #expect(merged.report.runs[0].timeOriginEpochS == 1_000)
    }

    @Test func mergedDirectoriesRoundTrip() throws {
        // One directory merged alone gives back its own counts and percentiles.
        let (a, ra) = try Self.write(Self.scenario(seed: 3, workers: nil))
        defer { try? FileManager.default.removeItem(atPath: a) }
        let merged = try RunMerge.merge(directories: [a])
        let original = ReportWriter.build(scenario: Self.scenario(seed: 3, workers: nil), scenarioFile: nil, stream: ra.stream,
                                          runs: ra.runs.map { ($0.spec, $0.log) })
        for (m, o) in zip(merged.report.runs, original.runs) {
            #expect(m.summary.requests == o.summary.requests)
            #expect(m.summary.statusCounts == o.summary.statusCounts)
            #expect(m.summary.failedByReason == o.summary.failedByReason)
            #expect(abs(m.summary.latencyS.p99 - o.summary.latencyS.p99) < 1e-5)
            #expect(abs(m.summary.queueWaitS.p99 - o.summary.queueWaitS.p99) < 1e-5)
            #expect(m.summary.slo?.attainment == o.summary.slo?.attainment)
        }
        #expect(merged.report.arrivals == original.arrivals)
    }

    @Test func runsOfAnotherScenarioAreRefused() throws {
        let (a, _) = try Self.write(Self.scenario(seed: 1))
        let (b, _) = try Self.write(Self.scenario(seed: 1, name: "other"))
        defer { try? FileManager.default.removeItem(atPath: a); try? FileManager.default.removeItem(atPath: b) }
        #expect {
            _ = try RunMerge.merge(directories: [a, b])
        } throws: { error in
            guard let e = error as? RunMergeError else { return false }
            return e.kind == .mismatch && e.message.contains("scenario merge vs other")
        }
        #expect {
            _ = try RunMerge.merge(directories: [a, a + "-missing"])
        } throws: { ($0 as? RunMergeError)?.kind == .unreadable }
    }

    /// The same run twice (by another spelling, or a copy) would count every request twice;
    /// a --scenario of another scenario would summarise with the wrong SLO and thresholds.
    @Test func theSameRunTwiceAndAnotherScenarioAreRefused() throws {
        let (a, _) = try Self.write(Self.scenario(seed: 1))
        let copy = a + "-copy"
        try FileManager.default.copyItem(atPath: a, toPath: copy)
        defer { try? FileManager.default.removeItem(atPath: a); try? FileManager.default.removeItem(atPath: copy) }
        for pair in [[a, a], [a, a + "/."], [a, copy]] {
            #expect {
                _ = try RunMerge.merge(directories: pair)
            } throws: { error in
                guard let e = error as? RunMergeError else { return false }
                return e.kind == .invalid && e.message.contains("count every request twice")
            }
        }
        #expect {
            _ = try RunMerge.merge(directories: [a], scenario: Self.scenario(seed: 1, name: "other"))
        } throws: { ($0 as? RunMergeError)?.kind == .mismatch }
        _ = try RunMerge.merge(directories: [a], scenario: Self.scenario(seed: 1))
    }

    @Test func theHTMLReportShowsTheWorkersTable() throws {
        let sc = Self.scenario(seed: 1, workers: WorkersSpec(count: 3))
        let result = try Simulator.run(sc)
        let report = ReportWriter.build(scenario: sc, scenarioFile: nil, stream: result.stream,
                                        runs: result.runs.map { ($0.spec, $0.log) })
        let doc = try XMLDocument(xmlString: HTMLReport.render(report), options: [])
        let rows = try doc.nodes(forXPath: "//table[@id='workers-table']/tbody/tr")
        #expect(rows.count == 3 * report.runs.count)
        #expect(MarkdownSummary.render(report).contains("## Workers"))
        let single = try HTMLReport.render(ReportWriter.build(scenario: Self.scenario(seed: 1, workers: nil), scenarioFile: nil,
                                                              stream: result.stream, runs: []))
        #expect(!single.contains("workers-table"))
    }
}
