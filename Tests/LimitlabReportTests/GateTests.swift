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

    /// A live run with every request succeeding: the goodput bootstrap interval has zero width.
    func allSucceedLive() throws -> Report {
        let yaml = tierOneBurst.replacingOccurrences(of: "  tier: tier-1\n  burst: \"1/60\"",
                                                     with: "  rpm: 4000\n  itpm: 4000000\n  otpm: 800000")
        var r = try report(yaml)
        r.scenario.target = "http://127.0.0.1:8080"
        return r
    }

    /// The same run measured again: the same requests succeed, the last completion lands `dt`
    /// seconds later (wall-clock jitter), so goodput moves while its interval stays zero-width.
    static func remeasured(_ r: Report, windowShift dt: Double, successScale: Double = 1) -> Report {
        var out = r
        for i in out.runs.indices {
            var s = out.runs[i].summary
            let w = s.goodput.windowS + dt
            let succeeded = (Double(s.requests.succeeded) * successScale).rounded()
            let g = succeeded / (w / 60)
            s.goodput.windowS = w
            s.goodput.requestsPerMin = g
            s.successRate = succeeded / Double(s.requests.offered)
            var c = s.confidence!
            let width = successScale == 1 ? 0 : g * 0.02
            c.goodputRequestsPerMin = ConfidenceInterval(estimate: g, low: g - width, high: g + width, level: 0.95, resamples: 200)
            s.confidence = c
            out.runs[i].summary = s
        }
        return out
    }

    /// A live run checked against its own repeat passes however the window jitters (the flake:
    /// zero-width goodput intervals with windows a few ms apart); a 10 % goodput regression fails.
    @Test func liveRepeatPassesAndAPlantedRegressionFails() throws {
        let live = try allSucceedLive()
        #expect(live.runs.allSatisfy { $0.summary.successRate == 1 })
        let ci = try #require(live.runs[0].summary.confidence?.goodputRequestsPerMin)
        #expect(ci.low == ci.high, "the case of the flake: a zero-width goodput interval")
        let base = Baseline(report: live)
        for dt in [0.001, 0.003, 0.012, 0.05, -0.004, 0.25] {
            let repeated = Gate.regressions(Self.remeasured(live, windowShift: dt), baseline: base, allowance: RegressionAllowance())
            #expect(repeated.allSatisfy { $0.passed }, "window +\(dt) s: \(repeated.filter { !$0.passed })")
        }
        // 10 % less goodput: the same successes over a 10 % longer window, or 10 % fewer successes.
        let w = live.runs[0].summary.goodput.windowS
        for regressed in [Self.remeasured(live, windowShift: w * 0.1), Self.remeasured(live, windowShift: 0, successScale: 0.9)] {
            let failed = Gate.regressions(regressed, baseline: base, allowance: RegressionAllowance()).filter { !$0.passed }
            #expect(failed.contains { $0.metric == Metric.goodputRequests.rawValue }, "\(failed)")
        }
    }

    @Test func windowJitterIsTheTailPlusTheClockResolution() {
        #expect(Gate.windowJitter(overhang: 0.2, tailLatency: 1.5) == 1.5 + Gate.windowResolutionS)
        #expect(Gate.windowJitter(overhang: 3, tailLatency: 1.5) == 3 + Gate.windowResolutionS)
        #expect(Gate.windowJitter(overhang: .nan, tailLatency: 0) == Gate.windowResolutionS)
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
