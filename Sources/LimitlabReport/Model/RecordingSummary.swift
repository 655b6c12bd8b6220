public import LimitlabCore

/// What a report made from a server recording adds (`report.json` → `recording`): the traffic
/// as the server saw it against the organisation's limits, retry storms and per-key shares.
public struct RecordingSummary: Codable, Sendable, Equatable {
    /// The recording read (`DIR/recording.jsonl`).
    public var source: String
    /// Messages requests used; other rows (count_tokens) left out; rows the server dropped
    /// because the disk could not keep up; whether a cut-off last line was skipped.
    public var messagesRows: Int
    public var otherRows: Int
    public var droppedRows: Int
    public var truncatedLastLine: Bool
    /// Server time (seconds since it started) of the first request: time 0 of this report.
    public var originS: Double
    /// Limits summed over the organisations the requests used.
    public var limits: Limits
    /// Offered load per minute k = [60k, 60k+60): attempts, ITPM-counted input tokens and
    /// output tokens sent, and 429s.
    public var perMinute: [Minute]
    /// Peak over any sliding 60 s window ÷ the per-minute limit, per dimension.
    public var overshoot: DimensionOvershoot
    /// Retries of a 429 and how many came back sooner than the `retry-after` they were given.
    public var retryStorm: RetryStorm
    /// Per redacted key.
    public var keys: [KeyShare]

    public struct Limits: Codable, Sendable, Equatable {
        public var rpm: Double
        public var itpm: Double
        public var otpm: Double
    }

    public struct Minute: Codable, Sendable, Equatable {
        public var minute: Int
        public var requests: Int
        public var inputTokens: Double
        public var outputTokens: Double
        public var status429: Int
        enum CodingKeys: String, CodingKey {
            case minute, requests
            case inputTokens = "input_tokens", outputTokens = "output_tokens", status429 = "status_429"
        }
    }

    public struct DimensionOvershoot: Codable, Sendable, Equatable {
        public var requests: Double
        public var inputTokens: Double
        public var outputTokens: Double
        /// Start of the window with the most requests.
        public var peakRequestsAtS: Double
        /// The largest of the three.
        public var ratio: Double
        enum CodingKeys: String, CodingKey {
            case requests, ratio
            case inputTokens = "input_tokens", outputTokens = "output_tokens", peakRequestsAtS = "peak_requests_at_s"
        }
    }

    public struct RetryStorm: Codable, Sendable, Equatable {
        /// Retries that followed a 429 carrying `retry-after`.
        public var retriesAfter429: Int
        /// Of those, retries that arrived before the `retry-after` had passed.
        public var early: Int
        /// early ÷ retries_after_429 (0 when none).
        public var earlyShare: Double
        /// Median of (retry gap ÷ retry-after) over the retries of a 429 (1 = exactly on time).
        public var medianGapRatio: Double?
        enum CodingKeys: String, CodingKey {
            case early
            case retriesAfter429 = "retries_after_429", earlyShare = "early_share", medianGapRatio = "median_gap_ratio"
        }
    }

    public struct KeyShare: Codable, Sendable, Equatable {
        public var key: String
        public var organization: String
        public var requests: Int
        public var succeeded: Int
        public var attempts: Int
        public var status429: Int
        public var retriesAfter429: Int
        public var earlyRetries: Int
        public var goodputRequestsPerMin: Double
        enum CodingKeys: String, CodingKey {
            case key, organization, requests, succeeded, attempts
            case status429 = "status_429", retriesAfter429 = "retries_after_429", earlyRetries = "early_retries"
            case goodputRequestsPerMin = "goodput_requests_per_min"
        }
    }

    enum CodingKeys: String, CodingKey {
        case source, limits, overshoot, keys
        case messagesRows = "messages_rows", otherRows = "other_rows", droppedRows = "dropped_rows"
        case truncatedLastLine = "truncated_last_line", originS = "origin_s", perMinute = "per_minute"
        case retryStorm = "retry_storm"
    }
}

extension RecordingSummary {
    /// Slack on "sooner than retry-after": the server rounds retry-after up to whole seconds
    /// and times are recorded to the microsecond.
    static let earlySlack = 0.001

    /// Computes the recording's figures from the run built from it.
    /// - Parameters:
    ///   - keyLabels: label of each `log.worker` value; `organizations` / `organizationLimits`:
    ///     id and limits of each `log.key` value; `attemptOutputTokens`: output sent per attempt.
    public static func compute(log: RunLog, stream: ArrivalStream, keyLabels: [String], organizations: [String],
                               organizationLimits: [LimitConfig], attemptOutputTokens: [Int32],
                               source: String, messagesRows: Int, otherRows: Int, droppedRows: Int,
                               truncatedLastLine: Bool, originS: Double, goodputWindowS: Double) -> RecordingSummary {
        let n = log.attemptCountTotal
        var used = Set<Int>()
        for a in 0..<n { used.insert(Int(log.key[a])) }
        if used.isEmpty { used.insert(0) }
        func sum(_ f: (LimitConfig) -> Double) -> Double {
            used.reduce(0.0) { $0 + ($1 < organizationLimits.count ? f(organizationLimits[$1]) : 0) }
        }
        let limits = Limits(rpm: sum(\.rpm), itpm: sum(\.itpm), otpm: sum(\.otpm))

        // Per attempt: ITPM-counted input (refused attempts too: that is the offered load) and
        // output tokens generated.
        var input = [Double](repeating: 0, count: n), output = [Double](repeating: 0, count: n)
        for a in 0..<n {
            let r = Int(log.attemptRequest[a])
            let k = Int(log.key[a])
            let countsReads = k < organizationLimits.count ? organizationLimits[k].cacheReadsCount : false
            input[a] = Double(stream.inputTokens[r]) - (countsReads ? 0 : Double(log.cacheReadTokens[a]))
            output[a] = a < attemptOutputTokens.count ? Double(attemptOutputTokens[a]) : 0
        }

        var minutes: [Minute] = []
        for a in 0..<n {
            let m = Swift.max(0, Int(log.sentAt[a] / 60))
            while minutes.count <= m {
                minutes.append(Minute(minute: minutes.count, requests: 0, inputTokens: 0, outputTokens: 0, status429: 0))
            }
            minutes[m].requests += 1
            minutes[m].inputTokens += input[a]
            minutes[m].outputTokens += output[a]
            if log.status[a] == 429 { minutes[m].status429 += 1 }
        }

        // Sliding 60 s windows [t, t+60) starting at each send (attempts are in send order).
        var peakRequests = 0, peakAt = 0.0, peakInput = 0.0, peakOutput = 0.0
        var j = 0, inSum = 0.0, outSum = 0.0
        for i in 0..<n {
            while j < n && log.sentAt[j] < log.sentAt[i] + 60 { inSum += input[j]; outSum += output[j]; j += 1 }
            if j - i > peakRequests { peakRequests = j - i; peakAt = log.sentAt[i] }
            peakInput = Swift.max(peakInput, inSum)
            peakOutput = Swift.max(peakOutput, outSum)
            inSum -= input[i]; outSum -= output[i]
        }
        let ro = limits.rpm > 0 ? Double(peakRequests) / limits.rpm : 0
        let io = limits.itpm > 0 ? peakInput / limits.itpm : 0
        let oo = limits.otpm > 0 ? peakOutput / limits.otpm : 0
        let overshoot = DimensionOvershoot(requests: ro, inputTokens: io, outputTokens: oo, peakRequestsAtS: peakAt,
                                           ratio: Swift.max(ro, io, oo))

        // Retry storms: consecutive attempts of a request after a 429 with retry-after.
        let workers = Swift.max(keyLabels.count, (log.worker.max().map(Int.init) ?? 0) + 1)
        var keyRetries = [Int](repeating: 0, count: workers), keyEarly = keyRetries
        var previous = [Int](repeating: -1, count: log.requestCount)
        var ratios: [Double] = []
        for a in 0..<n {
            let r = Int(log.attemptRequest[a])
            let p = previous[r]
            previous[r] = a
            guard p >= 0, log.status[p] == 429, log.retryAfter[p].isFinite, log.retryAfter[p] > 0 else { continue }
            let w = Int(log.worker[r])
            let given = Double(log.retryAfter[p])
            let gap = log.sentAt[a] - log.completedAt[p]
            keyRetries[w] += 1
            ratios.append(gap / given)
            if gap < given - earlySlack { keyEarly[w] += 1 }
        }
        ratios.sort()
        let retries = keyRetries.reduce(0, +), early = keyEarly.reduce(0, +)
        let median: Double? = ratios.isEmpty ? nil
            : ratios.count % 2 == 1 ? ratios[ratios.count / 2] : (ratios[ratios.count / 2 - 1] + ratios[ratios.count / 2]) / 2

        // Per key.
        var shares = (0..<workers).map { w in
            KeyShare(key: w < keyLabels.count ? keyLabels[w] : "key-\(w + 1)", organization: "", requests: 0,
                     succeeded: 0, attempts: 0, status429: 0, retriesAfter429: keyRetries[w], earlyRetries: keyEarly[w],
                     goodputRequestsPerMin: 0)
        }
        for r in 0..<log.requestCount {
            let w = Int(log.worker[r])
            shares[w].requests += 1
            if log.outcome[r] == RequestOutcome.succeeded.rawValue { shares[w].succeeded += 1 }
        }
        for a in 0..<n {
            let w = Int(log.worker[Int(log.attemptRequest[a])])
            shares[w].attempts += 1
            if log.status[a] == 429 { shares[w].status429 += 1 }
            let k = Int(log.key[a])
            if shares[w].organization.isEmpty && k < organizations.count { shares[w].organization = organizations[k] }
        }
        let mins = goodputWindowS / 60
        for w in shares.indices { shares[w].goodputRequestsPerMin = mins > 0 ? Double(shares[w].succeeded) / mins : 0 }

        return RecordingSummary(
            source: source, messagesRows: messagesRows, otherRows: otherRows, droppedRows: droppedRows,
            truncatedLastLine: truncatedLastLine, originS: originS, limits: limits, perMinute: minutes,
            overshoot: overshoot,
            retryStorm: RetryStorm(retriesAfter429: retries, early: early,
                                   earlyShare: retries > 0 ? Double(early) / Double(retries) : 0, medianGapRatio: median),
            keys: shares)
    }
}

/// The recording's section of report.html and summary.md.
enum RecordingSection {
    /// Each limit dimension: its name, per-minute limit and overshoot (both renderings' rows).
    static func dimensions(_ rec: RecordingSummary) -> [(name: String, limit: Double, overshoot: Double)] {
        [("requests", rec.limits.rpm, rec.overshoot.requests),
         ("input tokens", rec.limits.itpm, rec.overshoot.inputTokens),
         ("output tokens", rec.limits.otpm, rec.overshoot.outputTokens)]
    }

    static func html(_ report: Report) -> String {
        guard let rec = report.recording else { return "" }
        let esc = HTMLText.escape
        func f(_ v: Double, _ d: Int) -> String { MarkdownSummary.fixed(v, d) }
        var h = "<section><h2 id=\"recording\">As the server saw it</h2>"
        h += "<p class=\"lede\">From the recording \(esc(rec.source)): \(rec.messagesRows) Messages requests"
        if rec.otherRows > 0 { h += " (\(rec.otherRows) count_tokens left out)" }
        if rec.droppedRows > 0 { h += "; \(rec.droppedRows) rows dropped by the server (disk too slow)" }
        if rec.truncatedLastLine { h += "; a cut-off last line was skipped" }
        h += ". Time 0 is the first request. Overshoot is the peak of any 60-second window over the per-minute limit "
        h += "(sends, refused ones included); an early retry came back sooner than the retry-after it was given.</p>"
        h += "<div class=\"scroll\"><table id=\"recording-limits\"><thead><tr><th scope=\"col\">dimension</th>"
        h += "<th scope=\"col\">limit/min</th><th scope=\"col\">peak 60 s ÷ limit</th></tr></thead><tbody>"
        for d in dimensions(rec) {
            h += "<tr><td>\(d.name)</td><td>\(f(d.limit, 0))</td><td>\(f(d.overshoot, 2))×</td></tr>"
        }
        h += "</tbody></table></div>"
        let s = rec.retryStorm
        h += "<p>Retries after a 429: \(s.retriesAfter429), of which early: \(s.early) (\(f(s.earlyShare * 100, 1))%)"
        if let m = s.medianGapRatio { h += "; median gap \(f(m, 2))× the retry-after" }
        h += ".</p>"
        h += "<div class=\"scroll\"><table id=\"recording-keys\"><thead><tr><th scope=\"col\">key</th>"
        h += "<th scope=\"col\">organisation</th><th scope=\"col\">requests</th><th scope=\"col\">succeeded</th>"
        h += "<th scope=\"col\">attempts</th><th scope=\"col\">429s</th><th scope=\"col\">early retries</th>"
        h += "<th scope=\"col\">goodput/min</th></tr></thead><tbody>"
        for k in rec.keys {
            h += "<tr><td>\(esc(k.key))</td><td class=\"mono\">\(esc(k.organization))</td><td>\(k.requests)</td>"
            h += "<td>\(k.succeeded)</td><td>\(k.attempts)</td><td>\(k.status429)</td>"
            h += "<td>\(k.earlyRetries) of \(k.retriesAfter429)</td><td>\(f(k.goodputRequestsPerMin, 1))</td></tr>"
        }
        h += "</tbody></table></div>"
        h += "<div class=\"scroll\"><table id=\"recording-minutes\"><thead><tr><th scope=\"col\">minute</th>"
        h += "<th scope=\"col\">requests</th><th scope=\"col\">input tokens</th><th scope=\"col\">output tokens</th>"
        h += "<th scope=\"col\">429s</th></tr></thead><tbody>"
        for m in rec.perMinute.prefix(240) {
            h += "<tr><td>\(m.minute)</td><td>\(m.requests) (\(f(Double(m.requests) / Swift.max(rec.limits.rpm, 1e-9) * 100, 0))%)</td>"
            h += "<td>\(f(m.inputTokens, 0)) (\(f(m.inputTokens / Swift.max(rec.limits.itpm, 1e-9) * 100, 0))%)</td>"
            h += "<td>\(f(m.outputTokens, 0)) (\(f(m.outputTokens / Swift.max(rec.limits.otpm, 1e-9) * 100, 0))%)</td>"
            h += "<td>\(m.status429)</td></tr>"
        }
        return h + "</tbody></table></div></section>\n"
    }

    static func markdown(_ report: Report) -> String {
        guard let rec = report.recording else { return "" }
        let f = MarkdownSummary.fixed
        var md = "\n## As the server saw it\n\n"
        md += "From `\(rec.source)`: \(rec.messagesRows) Messages requests"
        if rec.droppedRows > 0 { md += ", \(rec.droppedRows) rows dropped by the server" }
        if rec.truncatedLastLine { md += ", a cut-off last line skipped" }
        md += ".\n\n"
        md += MarkdownSummary.table(["dimension", "limit/min", "peak 60 s ÷ limit"],
                                    dimensions(rec).map { [$0.name, f($0.limit, 0), f($0.overshoot, 2) + "×"] })
        let s = rec.retryStorm
        md += "\nRetries after a 429: \(s.retriesAfter429), early (before the retry-after): \(s.early)"
        if let m = s.medianGapRatio { md += "; median gap \(f(m, 2))× the retry-after" }
        md += ".\n\n"
        md += MarkdownSummary.table(["key", "requests", "succeeded", "attempts", "429s", "early retries", "goodput/min"],
                                    rec.keys.map { k in
                                        [k.key, String(k.requests), String(k.succeeded), String(k.attempts),
                                         String(k.status429), "\(k.earlyRetries) of \(k.retriesAfter429)",
                                         f(k.goodputRequestsPerMin, 1)]
                                    })
        return md
    }
}

/// A report from a server recording: one run (the user's own client) built from the recorded
/// attempts, marked as measured on the wall clock so that `check` compares it with a baseline
/// through the noise-aware tests of live runs.
public enum RecordingReport {
    /// The target a recording's report names (anything but `sim` is compared with noise).
    public static let target = "recording"

    /// Builds the report: the usual summary of `log` under `scenario` (whose first strategy
    /// labels the run), per-key fairness and overshoot (keys as workers, even for one), and
    /// the `recording` section.
    public static func build(scenario: Scenario, scenarioFile: String?, stream: ArrivalStream, log: RunLog,
                             keyLabels: [String], organizations: [String], organizationLimits: [LimitConfig],
                             attemptOutputTokens: [Int32], source: String, messagesRows: Int, otherRows: Int,
                             droppedRows: Int, truncatedLastLine: Bool, originS: Double) -> Report {
        let spec = scenario.strategies.first ?? StrategySpec(name: "client")
        var report = ReportWriter.build(scenario: scenario, scenarioFile: scenarioFile, stream: stream,
                                        runs: [(spec: spec, log: log)])
        report.scenario.target = target
        var summary = report.runs[0].summary
        summary.workers = WorkerStatistics.summarise(log: log, stream: stream, scenario: scenario,
                                                     windowS: summary.goodput.windowS, force: true)
        report.runs[0].summary = summary
        report.recording = RecordingSummary.compute(
            log: log, stream: stream, keyLabels: keyLabels, organizations: organizations,
            organizationLimits: organizationLimits, attemptOutputTokens: attemptOutputTokens, source: source,
            messagesRows: messagesRows, otherRows: otherRows, droppedRows: droppedRows,
            truncatedLastLine: truncatedLastLine, originS: originS, goodputWindowS: summary.goodput.windowS)
        return report
    }
}
