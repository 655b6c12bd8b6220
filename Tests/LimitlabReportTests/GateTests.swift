import Foundation
import LimitlabCore
import LimitlabReport
import LimitlabSim
import LimitlabStats
import Testing

@Suite struct GateTests {
    func report(_ yaml: String = tierOneBurst) throws -> Report {
        let sc = try scenario(yaml)
        let r = try Simulator.run(sc)
        return ReportWriter.build(scenario: sc, scenarioFile: nil, stream: r.stream, runs: r.runs.map { (spec: $0.spec, log: $0.log) },
                                  generatedAt: Date(timeIntervalSince1970: 0))
    }

    @Test func thresholdsPassFailAndNotMeasured() throws {
        var r = try report()
        r.scenario.thresholds = [
            ThresholdSpec(condition: try Condition.parse("success_rate >= 0.1")),
            ThresholdSpec(condition: try Condition.parse("latency.p99 < 1ms"), strategy: "none"),
            ThresholdSpec(condition: try Condition.parse("cost.total_usd < 1"), strategy: "ghost"),
        ]
        let results = Gate.thresholds(r)
        #expect(results.count == 4) // 2 strategies × first, 1 × second, 1 for the missing strategy
        #expect(results.filter(\.passed).count == 2)
        #expect(results.contains { !$0.passed && $0.detail.contains("not in this report") })
    }

    @Test func simulatedRunsCompareExactly() throws {
        let r = try report()
        let base = Baseline(report: r)
        let same = Gate.regressions(r, baseline: base, allowance: RegressionAllowance())
        #expect(same.allSatisfy { $0.passed })
        var worse = r
        worse.runs[1].summary.latencyS.p99 *= 1.0001
        let results = Gate.regressions(worse, baseline: base, allowance: RegressionAllowance())
        #expect(results.filter { !$0.passed }.map(\.metric) == ["latency.p99"])
        let loose = try RegressionAllowance.parse("p99=1%")
        let allowed = Gate.regressions(worse, baseline: base, allowance: loose)
        #expect(allowed.allSatisfy { $0.passed })
    }

    /// Live runs: a repeat inside the noise passes; a shift outside it fails.
    @Test func liveRunsUseTheNoise() throws {
        var live = try report()
        live.scenario.target = "http://127.0.0.1:8080"
        let base = Baseline(report: live)
        var repeatRun = live
        let ci = repeatRun.runs[0].summary.confidence!.latencyP99S
        repeatRun.runs[0].summary.latencyS.p99 = ci.estimate + (ci.high - ci.estimate) * 0.5
        repeatRun.runs[0].summary.successRate -= 0.002
        let repeated = Gate.regressions(repeatRun, baseline: base, allowance: RegressionAllowance())
        #expect(repeated.allSatisfy { $0.passed }, "\(repeated.filter { !$0.passed })")

        var regressed = live
        let shift = (ci.high - ci.low) * 3 + 1
        regressed.runs[0].summary.latencyS.p99 += shift
        var c = regressed.runs[0].summary.confidence!
        c.latencyP99S = ConfidenceInterval(estimate: ci.estimate + shift, low: ci.low + shift, high: ci.high + shift,
                                           level: 0.95, resamples: ci.resamples)
        regressed.runs[0].summary.confidence = c
        regressed.runs[0].summary.successRate -= 0.2
        let failed = Gate.regressions(regressed, baseline: base, allowance: RegressionAllowance()).filter { !$0.passed }.map(\.metric)
        #expect(failed.contains("latency.p99") && failed.contains("success_rate"))
    }

    @Test func baselinesRoundTripAndReportsServeAsBaselines() throws {
        let r = try report()
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("gate-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        let enc = JSONEncoder()
        try enc.encode(Baseline(report: r)).write(to: dir.appendingPathComponent("b.json"))
        try ReportWriter.json(r).write(to: dir.appendingPathComponent("r.json"))
        let fromBaseline = try Baseline.load(path: dir.appendingPathComponent("b.json").path)
        let fromReport = try Baseline.load(path: dir.appendingPathComponent("r.json").path)
        #expect(fromBaseline == fromReport)
        try Data("{}".utf8).write(to: dir.appendingPathComponent("x.json"))
        #expect(throws: GateError.self) { try Baseline.load(path: dir.appendingPathComponent("x.json").path) }
    }

    @Test func junitEscapesAndCounts() {
        let results = [CheckResult(kind: .threshold, strategy: "a<b", metric: "latency.p99", check: "latency.p99 < 30s",
                                   value: 40, limit: 30, passed: false, detail: "40 > \"30\"")]
        let xml = GateOutput.junit(results, suite: "s&t")
        #expect(xml.contains("failures=\"1\"") && xml.contains("a&lt;b") && xml.contains("s&amp;t") && xml.contains("&quot;30&quot;"))
    }
}
