import Foundation
import LimitlabCore
import LimitlabReport
import LimitlabSim
import Testing

@Suite struct NumberFormatTests {
    @Test func neverRoundsAcrossOrOntoTheThreshold() {
        #expect(NumberFormat.percent(0.98975, threshold: 0.99) == "98.975%")
        #expect(NumberFormat.percent(0.9904, threshold: 0.99) == "99.040%")
        // Far from the threshold, or on it, or without one: the usual digits.
        #expect(NumberFormat.percent(0.926, threshold: 0.99) == "92.6%")
        #expect(NumberFormat.percent(0.99, threshold: 0.99) == "99.0%")
        #expect(NumberFormat.percent(0.98975) == "99.0%")
        // Latency against a strict limit: 30.004 s is not "30.00s".
        #expect(NumberFormat.seconds(30.004, threshold: 30) == "30.0040s")
        #expect(NumberFormat.seconds(29.996, threshold: 30) == "29.9960s")
        #expect(NumberFormat.seconds(0.8124) == "812ms")
        #expect(NumberFormat.seconds(1, count: 0) == "-")
        // A signed margin keeps its sign: +0.04 % is not "+0%".
        #expect(NumberFormat.decisive(0.0004, digits: 0, scale: 100, threshold: 0, signed: true) == "+0.040")
        #expect(NumberFormat.decisive(-0.0004, digits: 0, scale: 100, threshold: 0, signed: true) == "-0.040")
        #expect(NumberFormat.decisive(0.25, digits: 0, scale: 100, threshold: 0, signed: true) == "+25")
        #expect(NumberFormat.fixed(-0.0001, 2) == "0.00")
        #expect(NumberFormat.grouped(30000) == "30,000" && NumberFormat.grouped(1.5) == "1.5")
        #expect(NumberFormat.grouped(32014.21) == "32,014.2" && NumberFormat.grouped(-1234567) == "-1,234,567")
    }

    @Test func everyPropertyHoldsOnRandomValues() {
        // For any value and threshold: the printed number sits on the value's side of the threshold.
        var rng = SystemRandomNumberGenerator()
        for _ in 0..<2000 {
            let t = Double.random(in: 0.5...0.999, using: &rng)
            let v = t + Double.random(in: -0.001...0.001, using: &rng)
            let s = NumberFormat.percent(v, threshold: t)
            let printed = Double(s.dropLast())! / 100
            #expect((printed < t) == (v < t) && (printed > t) == (v > t), "\(v) vs \(t) printed \(s)")
        }
    }

    @Test func tableAndSummaryShowTheDecidingDigits() throws {
        let sc = try scenario(tierOneBurst)
        let result = try Simulator.run(sc)
        var report = ReportWriter.build(scenario: sc, scenarioFile: nil, stream: result.stream,
                                        runs: result.runs.map { (spec: $0.spec, log: $0.log) })
        try #require(report.runs[0].summary.slo != nil)
        report.runs[0].summary.slo?.attainment = 0.98975
        report.runs[0].summary.slo?.target = 0.99
        report.runs[0].summary.slo?.met = false
        let table = SummaryTable.render(report)
        let md = MarkdownSummary.render(report)
        #expect(table.contains("98.975% ✗") && !table.contains("99.0% ✗"))
        #expect(md.contains("98.975% ✗") && !md.contains("99.0% ✗"))
    }
}
