import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import LimitlabCore
@testable import LimitlabReport
import LimitlabScenario
import LimitlabSim
import Testing

/// report.html's "Batch offload" and "Models" sections: present exactly when a run has the data,
/// and showing the numbers of `summary.deferral`, `summary.models` and `summary.trim`.
@Suite struct HTMLRoutingSectionsTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func shipped(_ name: String) throws -> Report {
        let file = "scenarios/\(name).yaml"
        let sc = try ScenarioLoader.load(path: root.appendingPathComponent(file).path)
        let result = try Simulator.run(sc)
        return ReportWriter.build(scenario: sc, scenarioFile: file, stream: result.stream,
                                  runs: result.runs.map { (spec: $0.spec, log: $0.log) }, generatedAt: HTMLFixture.fixedDate)
    }

    /// The body rows of a table: each row's header text and its cells' main text (before any sub-line).
    static func rows(_ doc: XMLNode, _ table: String) throws -> [(strategy: String?, cells: [String])] {
        try HTMLFixture.nodes(doc, "//table[@id='\(table)']/tbody/tr").map { tr in
            let th = try HTMLFixture.nodes(tr, "th").first?.stringValue
            let cells = try HTMLFixture.nodes(tr, "td").map { td in
                (td.children?.first?.stringValue ?? "").trimmingCharacters(in: .whitespaces)
            }
            return (th, cells)
        }
    }

    static func headings(_ doc: XMLNode) throws -> [String] {
        try HTMLFixture.nodes(doc, "//h2/@id").compactMap(\.stringValue)
    }

    @Test func sectionsAppearOnlyWithTheirData() throws {
        let plain = try HTMLFixture.parse(HTMLReport.render(try HTMLFixture.report()))
        #expect(try !Self.headings(plain).contains("batch-offload") && !Self.headings(plain).contains("models"))
        #expect(try HTMLFixture.nodes(plain, "//table[@id='batch-table' or @id='models-table' or @id='trim-table']").isEmpty)

        let batch = try Self.shipped("batch-offload")
        #expect(batch.runs.allSatisfy { $0.summary.deferral != nil && $0.summary.models == nil })
        let batchDoc = try HTMLFixture.parse(HTMLReport.render(batch))
        #expect(try Self.headings(batchDoc).contains("batch-offload") && !Self.headings(batchDoc).contains("models"))

        let routed = try Self.shipped("fallback")
        let routedDoc = try HTMLFixture.parse(HTMLReport.render(routed))
        #expect(try !Self.headings(routedDoc).contains("batch-offload") && Self.headings(routedDoc).contains("models"))
        #expect(try HTMLFixture.nodes(routedDoc, "//h2[@id='models']").first?.stringValue == "Models")

        // Removing the data removes the section.
        var stripped = batch
        for i in stripped.runs.indices { stripped.runs[i].summary.deferral = nil }
        #expect(try !Self.headings(HTMLFixture.parse(HTMLReport.render(stripped))).contains("batch-offload"))
    }

    @Test func batchOffloadRowsCarryEachRunsDeferralFigures() throws {
        let report = try Self.shipped("batch-offload")
        let doc = try HTMLFixture.parse(HTMLReport.render(report))
        let headers = try HTMLFixture.nodes(doc, "//table[@id='batch-table']/thead/tr[2]/th").compactMap(\.stringValue)
        #expect(headers.count == 12 && headers[2].hasPrefix("SLO ≤ 30 s") && headers[5].hasPrefix("SLO ≤ 2 h"), "\(headers)")
        let rows = try Self.rows(doc, "batch-table")
        #expect(rows.map(\.strategy) == report.runs.map(\.strategy))
        for (row, run) in zip(rows, report.runs) {
            let d = try #require(run.summary.deferral)
            let c = row.cells
            #expect(c.count == 11)
            #expect(c[0] == HTMLFormat.grouped(d.urgent.requests.succeeded))
            #expect(c[1] == HTMLFormat.pct(try #require(d.urgent.slo).attainment))
            #expect(c[2] == "\(HTMLFormat.seconds(d.urgent.latencyS.p50)) / \(HTMLFormat.seconds(d.urgent.latencyS.p99))")
            #expect(c[3] == HTMLFormat.grouped(d.deferrable.requests.succeeded))
            #expect(c[4] == HTMLFormat.pct(try #require(d.deferrable.slo).attainment))
            #expect(c[5] == HTMLFormat.grouped(d.viaBatch))
            #expect(c[6] == "\(HTMLFormat.seconds(d.deferrable.latencyS.p50)) / \(HTMLFormat.seconds(d.deferrable.latencyS.p99))")
            #expect(c[7] == (d.batchTurnaroundS.count > 0
                ? "\(HTMLFormat.seconds(d.batchTurnaroundS.p50)) / \(HTMLFormat.seconds(d.batchTurnaroundS.p99))" : "–"))
            #expect(c[8] == HTMLFormat.usd(try #require(d.costUSD)))
            #expect(c[9] == HTMLFormat.usd(try #require(d.realtimeCostUSD)))
            #expect(c[10] == HTMLFormat.usd(try #require(d.savedUSD)))
        }
        // What the section is for: sdk-default sends nothing through batches and saves nothing;
        // batch-offload serves its deferrable requests by batch, saves money, and pays latency for it.
        let byName = Dictionary(uniqueKeysWithValues: zip(rows.map { $0.strategy ?? "" }, rows.map(\.cells)))
        let sdk = try #require(byName["sdk-default"]), offload = try #require(byName["batch-offload"])
        #expect(sdk[5] == "0" && sdk[7] == "–" && sdk[10] == "$0.00")
        let d = try #require(report.runs.first { $0.strategy == "batch-offload" }?.summary.deferral)
        #expect(d.viaBatch > 0 && (d.savedUSD ?? 0) > 0 && d.batchTurnaroundS.p50 >= 30)
        #expect(offload[5] != "0" && offload[10] != "$0.00")
    }

    @Test func modelsTableHasARowPerStrategyAndModelAndTheTrimmedTokens() throws {
        let report = try Self.shipped("fallback")
        let doc = try HTMLFixture.parse(HTMLReport.render(report))
        let rows = try Self.rows(doc, "models-table")
        let expected = report.runs.flatMap { run in (run.summary.models ?? []).enumerated().map { (run, $0.offset, $0.element) } }
        #expect(rows.count == expected.count && expected.count == 2 * report.runs.count)
        var trimmedRuns = 0
        for (row, (run, k, m)) in zip(rows, expected) {
            #expect(row.strategy == (k == 0 ? run.strategy : nil), "the strategy heads its models' rows")
            let c = row.cells
            #expect(c[0] == m.model)
            #expect(c[1] == HTMLFormat.grouped(m.attempts) && c[2] == HTMLFormat.grouped(m.succeeded))
            #expect(c[3] == HTMLFormat.grouped(m.status429) && c[4] == HTMLFormat.grouped(m.status529))
            #expect(c[5] == HTMLFormat.usd(try #require(m.costUSD)))
            // The trimmed-tokens cell spans the strategy's rows: only its first row has it.
            #expect(c.count == (k == 0 ? 7 : 6))
            if k == 0 {
                if let t = run.summary.trim {
                    trimmedRuns += 1
                    #expect(c[6] == HTMLFormat.grouped(t.tokensTrimmed) && t.tokensTrimmed > 0)
                } else {
                    #expect(c[6] == "–")
                }
            }
        }
        #expect(trimmedRuns == 1, "only fallback+trim trims")
        // The scenario's story: plain sdk-default never reaches Haiku; fallback sends it work.
        let sdk = try #require(report.runs.first { $0.strategy == "sdk-default" }?.summary.models)
        let fallback = try #require(report.runs.first { $0.strategy == "fallback" }?.summary.models)
        #expect(sdk[1].attempts == 0 && fallback[1].attempts > 0 && fallback[0].status429 > 0)
    }

    @Test func trimmingWithoutModelsGetsItsOwnTable() throws {
        var report = try HTMLFixture.report(HTMLFixture.scenario(strategies: [StrategySpec(name: "none"), StrategySpec(name: "sdk-default")]))
        report.runs[1].summary.trim = TrimSummary(tokensTrimmed: 12_345, attemptsTrimmed: 40, requestsTrimmed: 30,
                                                  perRequest: 20.5, perTrimmedRequest: 411.5)
        let doc = try HTMLFixture.parse(HTMLReport.render(report))
        #expect(try HTMLFixture.nodes(doc, "//h2[@id='models']").first?.stringValue == "Prompt trimming")
        #expect(try HTMLFixture.nodes(doc, "//table[@id='models-table']").isEmpty)
        let rows = try Self.rows(doc, "trim-table")
        #expect(rows.map(\.cells) == [["–"], ["12,345"]])
        #expect(try HTMLFixture.nodes(doc, "//table[@id='trim-table']/tbody/tr[2]/td").first?.stringValue == "12,34540 attempts · 20.5/request")
    }

    @Test func tableHelperPlacesCellsUnderTheirColumnsAcrossRowSpans() throws {
        typealias C = HTMLTable.Column
        typealias Cell = HTMLTable.Cell
        let t = HTMLTable(id: "t", columns: [C(header: "s", text: true), C(header: "m", text: true),
                                             C(header: "a", group: "g"), C(header: "b", group: "g")],
                          rows: [[Cell(html: "S", rowSpan: 2, rowHeader: true), Cell(html: "m1"), Cell(html: "1"), Cell(html: "x", rowSpan: 2)],
                                 [Cell(html: "m2"), Cell(html: "2")]])
        let doc = try HTMLFixture.parse("<div>" + t.html() + "</div>")
        #expect(try HTMLFixture.nodes(doc, "//thead/tr[1]/th").map { HTMLFixture.attr($0, "colspan") } == [nil, nil, "2"])
        let second = try HTMLFixture.nodes(doc, "//tbody/tr[2]/td")
        #expect(second.map { HTMLFixture.attr($0, "class") } == ["name", "gs"], "m2 under model, 2 under the group's first column")
        #expect(try HTMLFixture.nodes(doc, "//tbody/tr[1]/td[last()]").first.flatMap { HTMLFixture.attr($0, "rowspan") } == "2")
    }
}
