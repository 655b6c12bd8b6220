import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import LimitlabCore
@testable import LimitlabReport
import LimitlabScenario
import LimitlabSim
import LimitlabStats
import Testing

/// Reports from real simulations for the HTML tests, built in code.
enum HTMLFixture {
    /// Needs escaping everywhere it appears.
    static let hostileLabel = "none <&> \"quoted\" 'single'"
    /// A URL in user text is fine as text, never as a reference.
    static let scenarioName = "html <fixture> & see https://example.com/x"
    static let fixedDate = Date(timeIntervalSince1970: 1_700_000_000)

    /// Five strategies on a Tier-1-like workload that runs into the output limit (like quickstart).
    static let fiveStrategies: [StrategySpec] = [
        StrategySpec(name: "none", label: hostileLabel),
        StrategySpec(name: "sdk-default"),
        StrategySpec(name: "token-bucket+jitter"),
        StrategySpec(name: "adaptive"),
        StrategySpec(name: "tenacity-cookbook"),
    ]

    static func scenario(strategies: [StrategySpec] = fiveStrategies, seed: UInt64 = 3) -> Scenario {
        Scenario(
            name: scenarioName, seed: seed, length: .duration(600), model: "claude-sonnet-4-5",
            limits: LimitsSpec(config: LimitConfig(rpm: 50, itpm: 30_000, otpm: 8_000), tier: "tier-1",
                               modelClass: "sonnet-4.x", source: "test"),
            arrivals: [ArrivalSpec(.poisson(rate: 60.0 / 60))],
            workload: WorkloadSpec(inputTokens: Sampled(.lognormal(mu: log(400), sigma: 1), max: 8000),
                                   outputTokens: Sampled(.lognormal(mu: log(150), sigma: 0.8)), maxTokens: 1024),
            strategies: strategies, slo: SLOSpec(latency: 30, attainment: 0.9))
    }

    static func report(_ sc: Scenario = scenario(), at date: Date = fixedDate) throws -> Report {
        let result = try Simulator.run(sc)
        return ReportWriter.build(scenario: sc, scenarioFile: nil, stream: result.stream,
                                  runs: result.runs.map { (spec: $0.spec, log: $0.log) }, generatedAt: date)
    }

    static func parse(_ html: String) throws -> XMLDocument {
        try XMLDocument(xmlString: html, options: [])
    }

    static func nodes(_ doc: XMLNode, _ xpath: String) throws -> [XMLNode] {
        try doc.nodes(forXPath: xpath)
    }

    /// Every element below `node`, depth first.
    static func elements(_ node: XMLNode) -> [XMLElement] {
        var out: [XMLElement] = []
        for child in node.children ?? [] {
            if let e = child as? XMLElement { out.append(e) }
            out += elements(child)
        }
        return out
    }

    static let chartIDs = ["c-cdf", "c-throughput", "c-429", "c-inflight", "c-bucket-requests", "c-bucket-input",
                           "c-bucket-output"]
}

@Suite struct HTMLReportTests {
    @Test func pageIsWellFormedAndReferencesNothingOutside() throws {
        let html = HTMLReport.render(try HTMLFixture.report())
        #expect(html.hasPrefix("<!DOCTYPE html>\n"))
        let doc = try HTMLFixture.parse(html)
        #expect(doc.rootElement()?.name == "html")
        #expect(try HTMLFixture.nodes(doc, "/html/head/style").count == 1)
        #expect(try HTMLFixture.nodes(doc, "/html/body/main").count == 1)

        let forbidden: Set<String> = ["script", "link", "img", "iframe", "object", "embed", "base", "image", "use", "audio",
                                      "video", "source", "foreignObject"]
        for element in HTMLFixture.elements(doc.rootElement()!) {
            let name = element.name ?? ""
            #expect(!forbidden.contains(name), "no <\(name)>: nothing may be loaded")
            for attribute in element.attributes ?? [] {
                let key = attribute.name ?? "", value = attribute.stringValue ?? ""
                #expect(!["href", "src", "srcset", "xlink:href", "action", "poster", "data"].contains(key),
                        "<\(name) \(key)=…> would load or link something")
                #expect(!value.contains("://") && !value.hasPrefix("//"), "<\(name) \(key)=\"\(value)\">")
                if value.contains("url(") { #expect(value.hasPrefix("url(#"), "only in-page url(#id) references: \(value)") }
            }
        }
        let style = try HTMLFixture.nodes(doc, "/html/head/style").first?.stringValue ?? ""
        #expect(!style.contains("url(") && !style.contains("@import") && !style.contains("@font-face"))
        // The scenario name's URL survives as text only.
        #expect(try HTMLFixture.nodes(doc, "//h1").first?.stringValue == HTMLFixture.scenarioName)
        #expect(html.components(separatedBy: "https://").count == 1 + 2, "once in <title>, once in <h1>")
    }

    @Test func everyStrategyLabelAppearsEscaped() throws {
        let report = try HTMLFixture.report()
        let html = HTMLReport.render(report)
        #expect(!html.contains("<&>") && !html.contains("<fixture>"), "raw user text never reaches the markup")
        #expect(html.contains("none &lt;&amp;&gt; &quot;quoted&quot; &#39;single&#39;"))
        let doc = try HTMLFixture.parse(html)
        let labels = report.runs.map(\.strategy)
        for table in ["compare", "failures-table", "spans-table"] {
            let rows = try HTMLFixture.nodes(doc, "//table[@id='\(table)']/tbody/tr/th")
            #expect(rows.count == labels.count, "\(table): one row per strategy")
            for (row, label) in zip(rows, labels) {
                #expect(row.stringValue?.hasPrefix(label) == true, "\(table): \(row.stringValue ?? "") starts with \(label)")
            }
        }
        let legend = try HTMLFixture.nodes(doc, "(//figure)[1]/ul[@class='legend']/li").compactMap(\.stringValue)
        #expect(Array(legend.prefix(labels.count)) == labels, "the CDF legend lists every strategy in order")
        #expect(legend.dropFirst(labels.count).allSatisfy { $0.hasPrefix("SLO 30 s") }, "then the SLO line: \(legend)")
    }

    @Test func oneSVGPerChartWithTitlesAndOneLinePerStrategy() throws {
        let report = try HTMLFixture.report()
        let html = HTMLReport.render(report)
        #expect(html.components(separatedBy: "<svg").count - 1 == HTMLFixture.chartIDs.count)
        let doc = try HTMLFixture.parse(html)
        let svgs = try HTMLFixture.nodes(doc, "//svg")
        #expect(svgs.count == HTMLFixture.chartIDs.count)
        for (svg, id) in zip(svgs, HTMLFixture.chartIDs) {
            let e = try #require(svg as? XMLElement)
            #expect(e.attribute(forName: "aria-labelledby")?.stringValue == "\(id)-t \(id)-d")
            let title = try HTMLFixture.nodes(svg, "title").first?.stringValue ?? ""
            #expect(!title.isEmpty, "\(id) has an accessible title")
            let lines = try HTMLFixture.nodes(svg, ".//path[starts-with(@class,'ln ')]")
            let expected = report.runs.count + (id == "c-throughput" ? 1 : 0)  // + offered
            #expect(lines.count == expected, "\(id): \(lines.count) lines")
            for line in lines {
                let d = (line as? XMLElement)?.attribute(forName: "d")?.stringValue ?? ""
                #expect(d.hasPrefix("M") && d.contains("L"), "\(id): a drawn path")
            }
            let ticks = try HTMLFixture.nodes(svg, ".//g[@class='ticks']/text")
            #expect(ticks.count >= 5, "\(id) has tick labels")
        }
        // Units on the ticks: time in minutes for a 10-minute run, percent on the CDF and buckets.
        let xTicks = try HTMLFixture.nodes(doc, "//svg[@aria-labelledby='c-429-t c-429-d']//g[@class='ticks']/text")
            .compactMap(\.stringValue)
        #expect(xTicks.contains("0 min") && xTicks.contains("10 min"), "\(xTicks)")
        let cdfTicks = try HTMLFixture.nodes(doc, "//svg[@aria-labelledby='c-cdf-t c-cdf-d']//g[@class='ticks']/text")
            .compactMap(\.stringValue)
        #expect(cdfTicks.contains("0%") && cdfTicks.contains("100%"))
    }

    @Test func renderingIsDeterministicForAFixedTimestamp() throws {
        let a = HTMLReport.render(try HTMLFixture.report())
        let b = HTMLReport.render(try HTMLFixture.report())
        #expect(a == b, "two simulations of the same scenario give the same page")
        let later = try HTMLFixture.report(at: HTMLFixture.fixedDate.addingTimeInterval(3600))
        let c = HTMLReport.render(later)
        #expect(c != a)
        let t1 = try HTMLFixture.report().generatedAt
        #expect(c.replacingOccurrences(of: later.generatedAt, with: t1) == a, "only the timestamp differs")
    }

    @Test func fiveStrategiesStaySmall() throws {
        let html = HTMLReport.render(try HTMLFixture.report())
        #expect(html.utf8.count < 300_000, "\(html.utf8.count) bytes")
    }

    @Test func bestValuePerColumnIsTinted() throws {
        var report = try HTMLFixture.report()
        func tinted(_ col: String, _ r: Report) throws -> [String] {
            let doc = try HTMLFixture.parse(HTMLReport.render(r))
            return try HTMLFixture.nodes(doc, "//table[@id='compare']/tbody/tr[td[@data-col='\(col)' and @class='best']]/th")
                .compactMap { $0.stringValue }.map { label in report.runs.map(\.strategy).first { label.hasPrefix($0) } ?? label }
        }
        let bestGoodput = report.runs.max { $0.summary.goodput.requestsPerMin < $1.summary.goodput.requestsPerMin }!.strategy
        #expect(try tinted("goodput", report) == [bestGoodput])
        let fewest429 = report.runs.min { ($0.summary.statusCounts["429"] ?? 0) < ($1.summary.statusCounts["429"] ?? 0) }!
        #expect(try tinted("429", report).contains(fewest429.strategy))
        #expect(try tinted("rpm", report).isEmpty, "utilisation is not ranked")

        // Ties are all tinted; a column where everyone ties has no winner.
        for i in report.runs.indices { report.runs[i].summary.successRate = 0.5 }
        report.runs[1].summary.successRate = 0.9
        report.runs[3].summary.successRate = 0.9
        #expect(try tinted("success", report) == [report.runs[1].strategy, report.runs[3].strategy])
        for i in report.runs.indices { report.runs[i].summary.successRate = 0.7 }
        #expect(try tinted("success", report).isEmpty)
    }

    @Test func verdictsNameTheWinners() throws {
        let report = try HTMLFixture.report()
        let doc = try HTMLFixture.parse(HTMLReport.render(report))
        let items = try HTMLFixture.nodes(doc, "//ul[@class='verdicts']/li")
        #expect(items.count == report.runs.count)
        let bestSLO = report.runs.max { $0.summary.slo!.attainment < $1.summary.slo!.attainment }!.strategy
        let line = try #require(items.first { $0.stringValue?.hasPrefix(bestSLO) == true })
        #expect(line.stringValue?.contains("best SLO attainment") == true, "\(line.stringValue ?? "")")
        let best = report.runs.map { $0.summary.slo!.attainment }.max()!
        let winners = report.runs.filter { $0.summary.slo!.attainment == best }.map(\.strategy)
        let tagged = items.filter { $0.stringValue?.contains("best SLO attainment") == true }
        #expect(tagged.count == (winners.count == report.runs.count ? 0 : winners.count))
    }

    @Test func emptyDataStillRendersEveryChart() throws {
        var report = try HTMLFixture.report(HTMLFixture.scenario(strategies: [StrategySpec(name: "none"), StrategySpec(name: "sdk-default")]))
        for i in report.runs.indices {
            report.runs[i].summary.latencyCDF = nil
            report.runs[i].timeSeries = TimeSeries(binS: 0, offered: [], sent: [], succeeded: [], status429: [], inFlight: [],
                                                   bucketSampleS: 0, bucketRequests: [], bucketInputTokens: [],
                                                   bucketOutputTokens: [])
        }
        let html = HTMLReport.render(report)
        let doc = try HTMLFixture.parse(html)
        #expect(try HTMLFixture.nodes(doc, "//svg").count == HTMLFixture.chartIDs.count)
        #expect(try HTMLFixture.nodes(doc, "//svg//text[@class='nodata']").count == HTMLFixture.chartIDs.count)
        #expect(html.range(of: #"\b(nan|inf|infinity)\b"#, options: [.regularExpression, .caseInsensitive]) == nil)
    }

    @Test func latencyAxisTurnsLogarithmicBeyondTwoDecades() throws {
        var report = try HTMLFixture.report(HTMLFixture.scenario(strategies: [StrategySpec(name: "none")]))
        func cdfTicks(_ r: Report) throws -> [String] {
            let doc = try HTMLFixture.parse(HTMLReport.render(r))
            return try HTMLFixture.nodes(doc, "//svg[@aria-labelledby='c-cdf-t c-cdf-d']//g[@class='ticks']/text")
                .compactMap(\.stringValue).filter { $0.hasSuffix(" s") }
        }
        let p = CDFPoints.probabilities
        report.runs[0].summary.latencyCDF = CDFPoints(p: p, s: p.map { 0.05 * pow(1000, $0) })  // 0.05 s … 50 s
        #expect(try cdfTicks(report) == ["0.01 s", "0.1 s", "1 s", "10 s", "100 s"])
        report.runs[0].summary.latencyCDF = CDFPoints(p: p, s: p.map { 1 + 9 * $0 })  // 1 s … 10 s
        #expect(try cdfTicks(report) == ["0 s", "2 s", "4 s", "6 s", "8 s", "10 s"])
    }

    @Test func niceTicks() {
        #expect(Ticks.linear(0, 97).ticks == [0, 20, 40, 60, 80, 100])
        let debt = Ticks.linear(-23, 100)
        #expect(debt.lo == -25 && debt.hi == 100 && debt.ticks.first == -25 && debt.ticks.contains(0))
        #expect(Ticks.linear(0, 0).ticks == [0, 0.2, 0.4, 0.6, 0.8, 1.0], "a flat zero line gets a unit band")
        #expect(Ticks.linear(0.3, 0.9, target: 3).ticks == [0.2, 0.4, 0.6, 0.8, 1.0])
        #expect(Ticks.linear(100, 100.00000000000001).ticks == [40, 60, 80, 100, 120, 140, 160], "a rounding error apart is flat")
        let l = Ticks.log(0.35, 42)
        #expect(l.major == [0.1, 1, 10, 100] && l.minor.count == 24)
        #expect(Ticks.decimals(step: 0.25) == 2 && Ticks.decimals(step: 2.5) == 1 && Ticks.decimals(step: 20) == 0)
        #expect(Ticks.decimals(step: 0.5) == 1)
    }

    @Test func escapingAndFormatting() {
        #expect(HTMLText.escape("a\u{1}b<c>&\"'") == "a\u{FFFD}b&lt;c&gt;&amp;&quot;&#39;")
        #expect(HTMLText.escape("tab\tand\nnewline") == "tab\tand\nnewline")
        #expect(HTMLFormat.seconds(0.4567) == "457 ms" && HTMLFormat.seconds(1.234) == "1.23 s" && HTMLFormat.seconds(12.34) == "12.3 s")
        #expect(HTMLFormat.seconds(1234.6) == "1,235 s" && HTMLFormat.secondsShort(30) == "30 s")
        #expect(HTMLFormat.fixedGrouped(-1234567.891, 1) == "-1,234,567.9" && HTMLFormat.fixed(-0.0001, 1) == "0.0")
        #expect(HTMLFormat.amount(30_000) == "30,000" && HTMLFormat.amount(12.5) == "12.5")
    }

    /// The shipped quickstart renders; with LIMITLAB_HTML_SAMPLE set, samples go to
    /// /tmp/limitlab-html-sample/ for tests/html-check.sh and for looking at.
    @Test func quickstartSample() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let path = root.appendingPathComponent("scenarios/quickstart.yaml").path
        let sc = try ScenarioLoader.load(path: path)
        let result = try Simulator.run(sc)
        let report = ReportWriter.build(scenario: sc, scenarioFile: "scenarios/quickstart.yaml", stream: result.stream,
                                        runs: result.runs.map { (spec: $0.spec, log: $0.log) },
                                        generatedAt: HTMLFixture.fixedDate)
        let html = HTMLReport.render(report)
        let doc = try HTMLFixture.parse(html)
        #expect(try HTMLFixture.nodes(doc, "//svg").count == HTMLFixture.chartIDs.count)
        #expect(html.utf8.count < 150_000, "\(html.utf8.count) bytes for two strategies")

        if let dir = ProcessInfo.processInfo.environment["LIMITLAB_HTML_SAMPLE"] {
            let out = dir.isEmpty || dir == "1" ? "/tmp/limitlab-html-sample" : dir
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            try Data(html.utf8).write(to: URL(fileURLWithPath: out + "/report.html"))
            try Data(HTMLReport.render(try HTMLFixture.report()).utf8).write(to: URL(fileURLWithPath: out + "/five.html"))
        }
    }
}
