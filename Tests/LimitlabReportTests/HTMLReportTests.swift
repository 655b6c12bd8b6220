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

    static func scenario(strategies: [StrategySpec] = fiveStrategies, seed: UInt64 = 3, slo: SLOSpec) -> Scenario {
        var sc = scenario(strategies: strategies, seed: seed)
        sc.slo = slo
        return sc
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

    /// The charts a report has, in page order: the two CDFs, throughput, one chart per failure
    /// cause that occurred, then one in-flight and one bucket chart per strategy, and one
    /// limiter-state chart per strategy that reports state gauges.
    static func chartIDs(_ report: Report) -> [String] {
        let causes = Set(report.runs.flatMap { r in (r.timeSeries.failuresByCause ?? [:]).filter { $0.value.contains { $0 > 0 } }.keys })
        return ["c-cdf", "c-ttft", "c-throughput"] + (0..<causes.count).map { "c-fail-\($0)" }
            + report.runs.indices.map { "c-inflight-\($0)" } + report.runs.indices.map { "c-bucket-\($0)" }
            + gaugeRuns(report).map { "c-limiter-\($0)" }
    }

    /// The runs with limiter-state gauges.
    static func gaugeRuns(_ report: Report) -> [Int] {
        report.runs.indices.filter { !(report.runs[$0].timeSeries.limiterState ?? []).isEmpty }
    }

    static func attr(_ node: XMLNode, _ name: String) -> String? {
        (node as? XMLElement)?.attribute(forName: name)?.stringValue
    }

    /// `data-x` of a chart: the x axis' data range.
    static func xRange(_ doc: XMLNode, _ id: String) throws -> (lo: Double, hi: Double) {
        let svg = try #require(try nodes(doc, "//svg[@id='\(id)']").first)
        let v = (attr(svg, "data-x") ?? "").split(separator: " ").compactMap { Double($0) }
        return (v[0], v[1])
    }

    /// Marks every run as meeting the SLO target, so that the ranking rules can be tested alone.
    static func allMeetSLO(_ report: inout Report) {
        for i in report.runs.indices { report.runs[i].summary.slo?.met = true }
    }
}

@Suite struct HTMLReportTests {
    @Test func pageIsWellFormedAndReferencesNothingOutside() throws {
        let html = HTMLReport.render(try HTMLFixture.report())
        #expect(html.hasPrefix("<!DOCTYPE html>\n"))
        let doc = try HTMLFixture.parse(html)
        #expect(doc.rootElement()?.name == "html")
        #expect(try HTMLFixture.nodes(doc, "/html/head/style").count == 1)
        #expect(try HTMLFixture.nodes(doc, "/html/body/main").count == 1)

        let forbidden: Set<String> = ["link", "img", "iframe", "object", "embed", "base", "image", "use", "audio",
                                      "video", "source", "foreignObject"]
        // One script, inline, the page's own; the CSP allows it by hash and nothing else.
        let scripts = try HTMLFixture.nodes(doc, "//script")
        #expect(scripts.count == 1 && (scripts.first as? XMLElement)?.attributes?.isEmpty != false)
        #expect(html.components(separatedBy: ChartKit.scriptElement).count == 2)
        let csp = try HTMLFixture.nodes(doc, "/html/head/meta[@http-equiv='Content-Security-Policy']/@content").first?.stringValue
        let hash = "'sha256-" + Data(SHA256.digest(Array(ChartKit.script.utf8))).base64EncodedString() + "'"
        #expect(csp == "default-src 'none'; style-src 'unsafe-inline'; script-src \(hash)")
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
        let legend = try HTMLFixture.nodes(doc, "//ul[@id='legend']/li[@data-s]")
        #expect(legend.compactMap(\.stringValue) == labels, "the charts' legend lists every strategy in order")
        #expect(legend.compactMap { HTMLFixture.attr($0, "data-s") } == labels.indices.map(String.init))
        let cdfLegend = try HTMLFixture.nodes(doc, "(//figure)[1]/ul[@class='legend']/li").compactMap(\.stringValue)
        #expect(cdfLegend == ["SLO 30 s"], "the CDF's own legend has the SLO line: \(cdfLegend)")
        let paths = try HTMLFixture.nodes(doc, "//svg[@id='c-cdf']//path[@data-s]/title").compactMap(\.stringValue)
        #expect(paths == labels, "each line is titled with its strategy for the tooltip")
    }

    @Test func oneSVGPerChartWithTitlesAndOneLinePerStrategy() throws {
        let report = try HTMLFixture.report()
        let html = HTMLReport.render(report)
        let ids = HTMLFixture.chartIDs(report)
        #expect(ids.contains("c-fail-0"), "the fixture runs into 429s")
        #expect(html.components(separatedBy: "<svg").count - 1 == ids.count)
        let doc = try HTMLFixture.parse(html)
        let svgs = try HTMLFixture.nodes(doc, "//svg")
        #expect(svgs.map { HTMLFixture.attr($0, "id") ?? "" } == ids)
        for (svg, id) in zip(svgs, ids) {
            #expect(HTMLFixture.attr(svg, "aria-labelledby") == "\(id)-t \(id)-d")
            let title = try HTMLFixture.nodes(svg, "title").first?.stringValue ?? ""
            #expect(!title.isEmpty, "\(id) has an accessible title")
            let lines = try HTMLFixture.nodes(svg, ".//path[starts-with(@class,'ln ')]")
            let gauges = id.hasPrefix("c-limiter-")
                ? Swift.min(HTMLReport.maxGaugesDrawn, report.runs[Int(id.split(separator: "-").last!)!].timeSeries.limiterState!.count) : 0
            let expected = id.hasPrefix("c-inflight") ? 1 : id.hasPrefix("c-bucket") ? 3 : id.hasPrefix("c-limiter-") ? gauges
                : report.runs.count + (id == "c-throughput" ? 1 : 0)  // + offered
            #expect(lines.count == expected, "\(id): \(lines.count) lines")
            for line in lines {
                let d = HTMLFixture.attr(line, "d") ?? ""
                #expect(d.hasPrefix("M") && d.contains("L"), "\(id): a drawn path")
            }
            // Every strategy line carries its strategy's key, so the legend can hide it.
            let keys = lines.compactMap { HTMLFixture.attr($0, "data-s") }
            if id.hasPrefix("c-inflight-") || id.hasPrefix("c-bucket-") || id.hasPrefix("c-limiter-") {
                let i = String(id.split(separator: "-").last!)
                #expect(keys == Array(repeating: i, count: expected), "\(id): \(keys)")
            } else {
                #expect(keys == report.runs.indices.map(String.init), "\(id): \(keys)")
            }
            let ticks = try HTMLFixture.nodes(svg, ".//g[@class='ticks']/text")
            #expect(ticks.count >= 4, "\(id) has tick labels")
        }
        // Units on the ticks: time in minutes for a 10-minute run, percent on the CDF and buckets.
        let xTicks = try HTMLFixture.nodes(doc, "//svg[@id='c-throughput']//g[@class='ticks']/text[@class='xt']")
            .compactMap(\.stringValue)
        #expect(xTicks.contains("0 min") && xTicks.contains("10 min"), "\(xTicks)")
        let cdfTicks = try HTMLFixture.nodes(doc, "//svg[@id='c-cdf']//g[@class='ticks']/text").compactMap(\.stringValue)
        #expect(cdfTicks.contains("0%") && cdfTicks.contains("100%"))
        // Small multiples sit in figures the legend can hide as a whole.
        let figures = try HTMLFixture.nodes(doc, "//figure[@class='sm']").compactMap { HTMLFixture.attr($0, "data-s") }
        #expect(figures == (report.runs.indices.map(String.init) + report.runs.indices.map(String.init)
                + HTMLFixture.gaugeRuns(report).map(String.init)))
    }

    @Test func failuresByCauseAreChartedOnePerCause() throws {
        let report = try HTMLFixture.report()
        var causes: [String: Int] = [:]
        for r in report.runs {
            let t = try #require(r.timeSeries.failuresByCause)
            for (c, v) in t {
                #expect(v.count == r.timeSeries.offered.count, "\(c): one count per bin")
                causes[c, default: 0] += v.reduce(0, +)
            }
            // Every 429 answer is in exactly one of the 429 causes.
            let by429 = t.filter { $0.key.hasPrefix("429:") }.values.reduce(0) { $0 + $1.reduce(0, +) }
            #expect(by429 == r.timeSeries.status429.reduce(0, +))
            #expect(by429 == r.summary.statusCounts["429"] ?? 0)
        }
        let doc = try HTMLFixture.parse(HTMLReport.render(report))
        let captions = try HTMLFixture.nodes(doc, "//figure[.//svg[starts-with(@id,'c-fail-')]]/figcaption")
            .compactMap(\.stringValue)
        #expect(captions.count == causes.filter { $0.value > 0 }.count)
        #expect(captions.allSatisfy { $0.hasPrefix("Failed attempts: 429 (") }, "the fixture only hits rate limits: \(captions)")
        // The most frequent 429 dimension comes first.
        let top = causes.max { $0.value < $1.value || ($0.value == $1.value && $0.key > $1.key) }!.key
        let name = top.dropFirst(4).replacingOccurrences(of: "_", with: " ")
        #expect(captions.first?.hasPrefix("Failed attempts: 429 (\(name))") == true, "\(captions)")
        // No 529s, 5xx or timeouts in the fixture: said in a sentence, not drawn.
        #expect(try HTMLFixture.nodes(doc, "//p[starts-with(normalize-space(.),'No attempt ended in 529')]").count == 1)
        // The TTFT CDF is its own chart, from its own data: first tokens come before completions.
        let ttft = try #require(report.runs[0].summary.ttftCDF)
        let latency = try #require(report.runs[0].summary.latencyCDF)
        #expect(ttft.s != latency.s && zip(ttft.s, latency.s).allSatisfy { $0 <= $1 })
        #expect(try HTMLFixture.nodes(doc, "//svg[@id='c-ttft']//path[@data-s]").count == report.runs.count)
    }

    @Test func timeAxesFitTheirOwnData() throws {
        var report = try HTMLFixture.report()
        // The second strategy runs three times as long as the others.
        let t = report.runs[1].timeSeries
        report.runs[1].timeSeries.inFlight = t.inFlight + Array(repeating: 1, count: 2 * t.inFlight.count)
        report.runs[1].timeSeries.succeeded = t.succeeded + Array(repeating: 1, count: 2 * t.succeeded.count)
        let doc = try HTMLFixture.parse(HTMLReport.render(report))
        let own = try HTMLFixture.xRange(doc, "c-inflight-0"), long = try HTMLFixture.xRange(doc, "c-inflight-1")
        #expect(own.lo == 0 && long.lo == 0)
        #expect(abs(long.hi - 3 * Double(t.inFlight.count) * t.binS / 60) < 1e-9, "its own small multiple is three times as long")
        let first = report.runs[0].timeSeries
        #expect(abs(own.hi - Double(first.inFlight.count) * first.binS / 60) < 1e-9,
                "the others end where their data ends, not at a later tick: \(own.hi)")
        // A shared chart spans the longest series and is marked for re-fitting when it is hidden.
        let through = try #require(try HTMLFixture.nodes(doc, "//svg[@id='c-throughput']").first)
        #expect(abs(try HTMLFixture.xRange(doc, "c-throughput").hi - long.hi) < 1e-9)
        #expect(HTMLFixture.attr(through, "data-fit") != nil)
        let ends = try HTMLFixture.nodes(through, ".//path[@data-s]").compactMap { HTMLFixture.attr($0, "data-x1").flatMap(Double.init) }
        #expect(ends.count == report.runs.count && abs(ends.max()! - long.hi) < 1e-9 && ends[0] < long.hi / 2)
    }

    @Test func identicalStrategiesKeepEveryColourVisible() throws {
        let sc = HTMLFixture.scenario(strategies: [StrategySpec(name: "sdk-default"),
                                                   StrategySpec(name: "sdk-default", label: "copy"),
                                                   StrategySpec(name: "token-bucket+jitter")],
                                      slo: SLOSpec(latency: 30, attainment: 0.05))
        let report = try HTMLFixture.report(sc)
        let doc = try HTMLFixture.parse(HTMLReport.render(report))
        var dashed = 0
        for svg in try HTMLFixture.nodes(doc, "//svg[@id='c-cdf' or @id='c-throughput']") {
            let first = try #require(try HTMLFixture.nodes(svg, ".//path[@data-s='0']").first)
            let copy = try #require(try HTMLFixture.nodes(svg, ".//path[@data-s='1']").first)
            #expect(HTMLFixture.attr(first, "d") == HTMLFixture.attr(copy, "d"))
            #expect(HTMLFixture.attr(first, "style") == nil, "the first of a group is drawn whole")
            // The copy is dashed over it, so both colours alternate along the line.
            if HTMLFixture.attr(copy, "style")?.contains("stroke-dasharray:6 6") == true { dashed += 1 }
        }
        #expect(dashed == 2)
        let verdict = try HTMLFixture.nodes(doc, "//ul[@class='verdicts']/li").compactMap(\.stringValue)
        #expect(verdict[1].contains("same results as sdk-default"), "\(verdict[1])")
        #expect(!verdict[0].contains("same results") && !verdict[2].contains("same results"))
        let headline = try #require(try HTMLFixture.nodes(doc, "//p[@class='headline']").first?.stringValue)
        #expect(headline.hasPrefix("Use sdk-default ("), "\(headline)")
        let peers = headline.components(separatedBy: ";").dropFirst().first ?? ""
        #expect(peers.contains("copy") && peers.contains("as good within noise"), "\(headline)")
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

    func tinted(_ col: String, _ r: Report) throws -> [String] {
        let doc = try HTMLFixture.parse(HTMLReport.render(r))
        return try HTMLFixture.nodes(doc, "//table[@id='compare']/tbody/tr[td[@data-col='\(col)' and @class='best']]/th")
            .compactMap { $0.stringValue }.map { label in r.runs.map(\.strategy).first { label.hasPrefix($0) } ?? label }
    }

    func badges(_ r: Report) throws -> [[String]] {
        let doc = try HTMLFixture.parse(HTMLReport.render(r))
        return try HTMLFixture.nodes(doc, "//ul[@class='verdicts']/li").map { li in
            try HTMLFixture.nodes(li, "span[@class='tag']").compactMap(\.stringValue)
        }
    }

    @Test func bestValuePerColumnIsTinted() throws {
        var report = try HTMLFixture.report()
        HTMLFixture.allMeetSLO(&report)
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

    /// "best" only among strategies that meet the SLO target: a strategy that fails most
    /// requests is not "lowest p99" or "cheapest" on the few it served.
    @Test func noBestBadgeBelowTheSLO() throws {
        var report = try HTMLFixture.report()
        HTMLFixture.allMeetSLO(&report)
        // Run 0 misses the SLO but has the lowest p99, the lowest cost and the fewest 429s.
        report.runs[0].summary.slo?.met = false
        report.runs[0].summary.slo?.attainment = 0.357
        report.runs[0].summary.latencyS.p99 = 0.001
        report.runs[0].summary.cost?.perThousandRequestsUSD = 0.0001
        report.runs[0].summary.statusCounts["429"] = 0
        let tags = try badges(report)
        #expect(tags[0].isEmpty, "no badge below the SLO: \(tags[0])")
        for col in ["p99", "cost", "429", "slo", "goodput", "success"] {
            #expect(try !tinted(col, report).contains(report.runs[0].strategy), "\(col) is not tinted below the SLO")
        }
        // The badges go to the best of the rest instead.
        let rest = report.runs.indices.dropFirst()
        let lowest = rest.min { report.runs[$0].summary.latencyS.p99 < report.runs[$1].summary.latencyS.p99 }!
        #expect(tags[lowest].contains("lowest p99 meeting the SLO"), "it does not claim the lowest p99 of all: \(tags)")
        #expect(try tinted("p99", report) == [report.runs[lowest].strategy])

        // One strategy alone meeting the target is best at nothing: the headline names it instead.
        for i in report.runs.indices { report.runs[i].summary.slo?.met = i == 2 }
        let alone = try badges(report)
        let untagged = alone.allSatisfy { $0.isEmpty }
        #expect(untagged, "\(alone)")
        #expect(try tinted("p99", report).isEmpty)
        let only = try HTMLFixture.nodes(try HTMLFixture.parse(HTMLReport.render(report)), "//p[@class='headline']")
        #expect(only.first?.stringValue?.hasPrefix("Use \(report.runs[2].strategy) (") == true)

        // Nobody meets the target: no badges at all, and the headline says so.
        for i in report.runs.indices { report.runs[i].summary.slo?.met = false }
        #expect(try badges(report).allSatisfy(\.isEmpty))
        let doc = try HTMLFixture.parse(HTMLReport.render(report))
        let headline = try HTMLFixture.nodes(doc, "//p[@class='headline']").first?.stringValue ?? ""
        #expect(headline.hasPrefix("No strategy meets the SLO target (90% of requests within 30 s); closest: "), "\(headline)")

        // Without a target everyone competes, and the lowest p99 wins again.
        for i in report.runs.indices { report.runs[i].summary.slo?.target = nil; report.runs[i].summary.slo?.met = nil }
        #expect(try badges(report)[0].contains("lowest p99"))
    }

    @Test func headlineSaysWhatToUse() throws {
        var report = try HTMLFixture.report()
        HTMLFixture.allMeetSLO(&report)
        for i in report.runs.indices {
            report.runs[i].summary.slo?.attainment = 0.95
            report.runs[i].summary.successRate = 0.97
            report.runs[i].summary.confidence = nil
        }
        // Run 3 leads on attainment; run 2 is within binomial noise of it (n = offered), run 4 is far behind.
        let n = Double(report.runs[0].summary.requests.offered)
        report.runs[3].summary.slo?.attainment = 0.99
        report.runs[2].summary.slo?.attainment = 0.99 - 0.5 / n
        report.runs[4].summary.slo?.attainment = 0.80
        func headline(_ r: Report) throws -> String {
            try HTMLFixture.nodes(try HTMLFixture.parse(HTMLReport.render(r)), "//p[@class='headline']").first?.stringValue ?? ""
        }
        let h = try headline(report)
        let names = report.runs.map(\.strategy)
        #expect(h.hasPrefix("Use \(names[3]) (99.0% within 30 s, "), "\(h)")
        let peers = h.components(separatedBy: ";").dropFirst().first ?? ""
        #expect(peers.contains(names[2]) && !peers.contains(names[4]), "\(h)")
        #expect(peers.contains("as good within noise"))
        #expect(h.contains("5 of 5 strategies meet the SLO target"))
        // A leader that misses the target is never recommended.
        report.runs[3].summary.slo?.met = false
        #expect(try headline(report).hasPrefix("Use \(names[2]) ("))
    }

    @Test func sha256KnownAnswers() {
        func hex(_ s: String) -> String { SHA256.digest(Array(s.utf8)).map { String(format: "%02x", $0) }.joined() }
        // FIPS 180-4 examples (NIST CSRC "Examples with Intermediate Values").
        #expect(hex("abc") == "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad")
        #expect(hex("") == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855")
        #expect(hex("abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq")
                == "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1")
    }

    @Test func sweepPageUsesTheReportCharts() throws {
        let axis = try SweepAxis.parse("arrivals[0].rate=20/min..80/min:4")
        func point(_ v: Double, _ g: Double, _ ok: Double, _ p99: Double?) -> SweepPoint {
            SweepPoint(value: v, offeredPerMin: v * 60, goodputPerMin: g, successRate: ok, latencyP99S: p99, status429: Int(100 * (1 - ok)), attempts: Int(100 + 100 * (1 - ok)))
        }
        let v = axis.values
        let result = SweepResult(scenario: "sweep <fixture>", axis: axis, series: [
            SweepSeries(strategy: "none", points: [point(v[0], 20, 1, 2), point(v[1], 40, 1, 3), point(v[2], 45, 0.8, 5),
                                                   point(v[3], 46, 0.6, nil)], knee: v[1]),
            SweepSeries(strategy: "a&b", points: [point(v[0], 20, 1, 2), point(v[1], 40, 1, 2), point(v[2], 60, 1, 3),
                                                  point(v[3], 70, 0.9, 9)], knee: v[2]),
        ])
        let html = SweepReport.html(result)
        let doc = try HTMLFixture.parse(html)
        #expect(try HTMLFixture.nodes(doc, "//svg").compactMap { HTMLFixture.attr($0, "id") } == ["c-goodput", "c-p99", "c-success", "c-429"])
        #expect(html.contains("script-src \(ChartKit.scriptHash)") && html.components(separatedBy: ChartKit.scriptElement).count == 2)
        #expect(try HTMLFixture.nodes(doc, "//ul[@id='legend']/li[@data-s]").compactMap(\.stringValue) == ["none", "a&b"])
        // A dot per simulated point (the p99 of a point without successes is left out), knees marked.
        #expect(try HTMLFixture.nodes(doc, "//svg[@id='c-goodput']//*[@class='mk s0' or @class='mk s1']").count == 8)
        #expect(try HTMLFixture.nodes(doc, "//svg[@id='c-p99']//*[@class='mk s0']").count == 3)
        #expect(try HTMLFixture.nodes(doc, "//svg[@id='c-goodput']//*[starts-with(@class,'knee ')]").count == 2)
        let kneeX = try HTMLFixture.nodes(doc, "//svg[@id='c-goodput']//path[starts-with(@class,'knee ')]")
            .compactMap { HTMLFixture.attr($0, "d") }
        #expect(Set(kneeX).count == 2, "two different knees: \(kneeX)")
        // Ticks on round values with the unit, not 12.4 / 24.7.
        let ticks = try HTMLFixture.nodes(doc, "//svg[@id='c-goodput']//text[@class='xt']").compactMap(\.stringValue)
        #expect(!ticks.isEmpty && ticks.allSatisfy { $0.hasSuffix("/min") && Double($0.dropLast(4))!.truncatingRemainder(dividingBy: 10) == 0 },
                "\(ticks)")
        #expect(try HTMLFixture.nodes(doc, "//p[@class='headline']").first?.stringValue == "a&b holds up to 60/min, the highest knee of the sweep.")
    }

    @Test func emptyDataStillRendersEveryChart() throws {
        var report = try HTMLFixture.report(HTMLFixture.scenario(strategies: [StrategySpec(name: "none"), StrategySpec(name: "sdk-default")]))
        for i in report.runs.indices {
            report.runs[i].summary.latencyCDF = nil
            report.runs[i].summary.ttftCDF = nil
            report.runs[i].timeSeries = TimeSeries(binS: 0, offered: [], sent: [], succeeded: [], status429: [], inFlight: [],
                                                   bucketSampleS: 0, bucketRequests: [], bucketInputTokens: [],
                                                   bucketOutputTokens: [])
        }
        let html = HTMLReport.render(report)
        let doc = try HTMLFixture.parse(html)
        let svgs = try HTMLFixture.nodes(doc, "//svg").count
        #expect(svgs == 3 + 2 * report.runs.count, "CDFs, throughput, and the small multiples")
        #expect(try HTMLFixture.nodes(doc, "//svg//text[@class='nodata']").count == svgs)
        #expect(html.range(of: #"\b(nan|inf|infinity)\b"#, options: [.regularExpression, .caseInsensitive]) == nil)
    }

    @Test func latencyAxisTurnsLogarithmicBeyondTwoDecades() throws {
        var report = try HTMLFixture.report(HTMLFixture.scenario(strategies: [StrategySpec(name: "none")]))
        func cdfTicks(_ r: Report) throws -> [String] {
            let doc = try HTMLFixture.parse(HTMLReport.render(r))
            return try HTMLFixture.nodes(doc, "//svg[@id='c-cdf']//g[@class='ticks']/text")
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
        #expect(try HTMLFixture.nodes(doc, "//svg").compactMap { HTMLFixture.attr($0, "id") } == HTMLFixture.chartIDs(report))
        #expect(html.utf8.count < 150_000, "\(html.utf8.count) bytes for two strategies")

        if let dir = ProcessInfo.processInfo.environment["LIMITLAB_HTML_SAMPLE"] {
            let out = dir.isEmpty || dir == "1" ? "/tmp/limitlab-html-sample" : dir
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            try Data(html.utf8).write(to: URL(fileURLWithPath: out + "/report.html"))
            try Data(HTMLReport.render(try HTMLFixture.report()).utf8).write(to: URL(fileURLWithPath: out + "/five.html"))
        }
    }
}
