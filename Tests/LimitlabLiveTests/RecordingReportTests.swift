import Foundation
#if canImport(FoundationXML)
import FoundationXML
#endif
import LimitlabCore
import LimitlabMock
import LimitlabReport
import Testing

/// A report from a hand-made recording: the figures are worked out by hand below.
@Suite struct RecordingReportTests {
    /// 10 RPM / 10,000 ITPM / 1,000 OTPM.
    static let limits = LimitConfig(rpm: 10, itpm: 10_000, otpm: 1_000)

    static func row(_ at: Double, key: String, status: Int = 200, retryAfter: Int? = nil, body: String,
                    retry: Int? = nil, input: Int = 1_000, output: Int = 100) -> RecordingRow {
        RecordingRow(at: at, key: key, org: "org-1", model: "claude-sonnet-4-5", modelClass: "sonnet-4.x",
                     endpoint: "messages", status: status, refusedBy: status == 429 ? "requests" : "",
                     retryAfter: retryAfter, inputTokens: input, outputTokens: status == 200 ? output : 0, maxTokens: 200,
                     ttft: status == 200 ? 0.5 : nil, completedAt: at + (status == 200 ? 1 : 0), requestId: "req",
                     bodyHash: body, retryCount: retry)
    }

    /// Server time starts at 100 s (the first request); key-1 sends 12 distinct requests in
    /// the first 30 s; key-2 has a request refused twice (retried 1 s after a retry-after of
    /// 5: early; then 5 s after a retry-after of 4: on time) and one refused once and retried
    /// on time; a count_tokens row is left out.
    static func recording() -> RecordingFormat.Contents {
        var rows: [RecordingRow] = []
        for i in 0..<12 { rows.append(row(100 + Double(i) * 2.5, key: "key-1", body: "k1-\(i)", retry: 0)) }
        rows.append(row(140, key: "key-2", status: 429, retryAfter: 5, body: "A", retry: 0))
        rows.append(row(141, key: "key-2", status: 429, retryAfter: 4, body: "A", retry: 1))
        rows.append(row(146, key: "key-2", body: "A", retry: 2))
        rows.append(row(150, key: "key-2", status: 429, retryAfter: 2, body: "B"))
        rows.append(row(152.5, key: "key-2", body: "B"))
        var ct = row(151, key: "key-2", body: "C")
        ct.endpoint = "count_tokens"
        rows.append(ct)
        rows.sort { $0.at < $1.at }
        let header = RecordingHeader(epoch: 0, seed: 9, organizations: [
            .init(id: "org-1", classes: ["sonnet-4.x": limits]),
        ])
        return RecordingFormat.Contents(header: header, rows: rows, dropped: 0, truncatedLastLine: false, path: "hand.jsonl")
    }

    static func report() -> (RecordedRun, Report) {
        let c = recording()
        let run = RecordingConversion.run(c)
        let report = RecordingReport.build(
            scenario: run.scenario, scenarioFile: nil, stream: run.stream, log: run.log, keyLabels: run.keyLabels,
            organizations: run.organizations, organizationLimits: run.organizationLimits,
            attemptOutputTokens: run.attemptOutputTokens, source: c.path, messagesRows: run.messagesRows,
            otherRows: run.otherRows, droppedRows: 0, truncatedLastLine: false, originS: run.origin)
        return (run, report)
    }

    @Test func attemptsAreChainedIntoRequests() {
        let (run, report) = Self.report()
        // 12 + 2 requests from 17 Messages attempts.
        #expect(run.messagesRows == 17 && run.otherRows == 1)
        #expect(run.stream.count == 14)
        #expect(run.log.attemptCountTotal == 17)
        #expect(run.origin == 100)
        // Request A: 3 attempts from 40 s (time 0 = the first request).
        #expect(run.stream.intendedAt[12] == 40)
        #expect(run.log.attemptCount[12] == 3 && run.log.attemptCount[13] == 2)
        let s = report.runs[0].summary
        #expect(s.requests.offered == 14 && s.requests.succeeded == 14)
        #expect(s.statusCounts["429"] == 3)
        #expect(s.refusalsByDimension["requests"] == 3)
        // Request A succeeded at 146 + 1 s, first seen at 140: 7 s.
        #expect(s.latencyS.max == 7)
        #expect(report.scenario.target == "recording")
        #expect(report.runs[0].strategy == "client")
    }

    @Test func overshootIsThePeakOfAnyMinuteOverTheLimit() throws {
        let rec = try #require(Self.report().1.recording)
        // 0–60 s holds 17 attempts (12 + 5), each 1,000 input tokens; 14 of them produced 100
        // output tokens. Limits 10 / 10,000 / 1,000 per minute.
        #expect(rec.overshoot.requests == 1.7)
        #expect(rec.overshoot.inputTokens == 1.7)
        #expect(rec.overshoot.outputTokens == 1.4)
        #expect(rec.overshoot.ratio == 1.7)
        #expect(rec.perMinute.count == 1 && rec.perMinute[0].requests == 17 && rec.perMinute[0].status429 == 3)
        #expect(rec.limits.rpm == 10 && rec.limits.itpm == 10_000 && rec.limits.otpm == 1_000)
        // The same peak through the shared overshoot metric (keys as workers).
        let w = try #require(Self.report().1.runs[0].summary.workers)
        #expect(w.overshoot.peakSendsPerWindow == 17)
        #expect(Metric.overshoot.value(in: Self.report().1.runs[0].summary) == 1.7)
    }

    @Test func retryStormsCountRetriesSoonerThanTheirRetryAfter() throws {
        let rec = try #require(Self.report().1.recording)
        #expect(rec.retryStorm.retriesAfter429 == 3)
        #expect(rec.retryStorm.early == 1)
        // Gaps ÷ retry-after: 1/5, 5/4, 2.5/2 → median 1.25.
        #expect(rec.retryStorm.medianGapRatio == 1.25)
        let k2 = try #require(rec.keys.first { $0.key == "key-2" })
        #expect(k2.earlyRetries == 1 && k2.retriesAfter429 == 3 && k2.requests == 2 && k2.attempts == 5)
        let k1 = try #require(rec.keys.first { $0.key == "key-1" })
        #expect(k1.earlyRetries == 0 && k1.requests == 12 && k1.status429 == 0)
    }

    @Test func aFirstTryIsNeverChainedToAnEarlierFailure() {
        var c = Self.recording()
        // The same body again, but the client says it is a first try: a new request.
        c.rows.append(Self.row(160, key: "key-2", status: 429, retryAfter: 1, body: "D", retry: 0))
        c.rows.append(Self.row(170, key: "key-2", body: "D", retry: 0))
        let run = RecordingConversion.run(c)
        #expect(run.stream.count == 16)
        let s = Summariser.summarise(log: run.log, stream: run.stream, slo: nil)
        #expect(s.requests.failed == 1)
    }

    @Test func checkComparesARecordingWithTheNoiseAwareTests() {
        let (_, report) = Self.report()
        var worse = report
        // A slightly lower success rate on 14 requests is inside the noise of a two-proportion test.
        worse.runs[0].summary.successRate = 13.0 / 14
        let results = Gate.regressions(worse, baseline: Baseline(report: report), allowance: RegressionAllowance())
        let success = results.first { $0.metric == "success_rate" }
        #expect(success?.passed == true)
        #expect(success?.detail.contains("within noise") == true)
    }

    @Test func attemptsPerSuccessIsComparedWithANoiseModelToo() {
        let (_, report) = Self.report()
        let baseline = Baseline(report: report)
        // 17 attempts for 14 successes in the baseline; 18 is noise, 40 is a regression.
        for (attempts, passes) in [(18, true), (40, false)] {
            var r = report
            r.runs[0].summary.attempts = attempts
            r.runs[0].summary.attemptsPerSuccess = Double(attempts) / 14
            let check = Gate.regressions(r, baseline: baseline, allowance: RegressionAllowance())
                .first { $0.metric == "attempts_per_success" }
            #expect(check?.passed == passes, "\(attempts) attempts: \(check?.detail ?? "no check")")
        }
    }

    @Test func theRecordingSectionIsInTheHTMLAndMarkdownAndJSON() throws {
        let (_, report) = Self.report()
        let html = HTMLReport.render(report)
        #expect(html.contains("id=\"recording\"") && html.contains("id=\"recording-keys\""))
        #expect(html.contains("1.70×"))
        // Still well-formed XML, as every report.html is.
        let parser = XMLParser(data: Data(html.utf8))
        #expect(parser.parse(), "\(parser.parserError.map { "\($0)" } ?? "")")
        let md = MarkdownSummary.render(report)
        #expect(md.contains("## As the server saw it") && md.contains("| key-2 | 2 | 2 | 5 | 3 | 1 of 3 |"))
        let decoded = try JSONDecoder().decode(Report.self, from: ReportWriter.json(report))
        #expect(decoded.recording == report.recording)
    }
}
