public import LimitlabCore

/// One model class of a run with `models:` (`summary.models[i]`): what was sent to it and what
/// it cost.
public struct ModelUsage: Codable, Sendable, Equatable {
    /// The model id (class 0 is the scenario's `model`).
    public var model: String
    public var attempts: Int
    /// Requests whose successful attempt went to this model.
    public var succeeded: Int
    /// Attempts answered 429 / 529.
    public var status429: Int
    public var status529: Int
    /// Estimated spend at the model's list prices (successful attempts), nil when unpriced.
    public var costUSD: Double?

    enum CodingKeys: String, CodingKey {
        case model, attempts, succeeded
        case status429 = "status_429", status529 = "status_529", costUSD = "cost_usd"
    }
}

/// Prompt tokens a trimming strategy removed (`summary.trim`).
public struct TrimSummary: Codable, Sendable, Equatable {
    /// Prompt tokens trimmed over all attempts.
    public var tokensTrimmed: Int
    /// Attempts sent with a trimmed prompt.
    public var attemptsTrimmed: Int
    /// Requests with at least one trimmed attempt.
    public var requestsTrimmed: Int
    /// Tokens trimmed per offered request (total ÷ offered).
    public var perRequest: Double
    /// Tokens trimmed per request that had any trimmed.
    public var perTrimmedRequest: Double

    enum CodingKeys: String, CodingKey {
        case tokensTrimmed = "tokens_trimmed", attemptsTrimmed = "attempts_trimmed"
        case requestsTrimmed = "requests_trimmed", perRequest = "per_request", perTrimmedRequest = "per_trimmed_request"
    }
}

extension Summariser {
    /// Per-model counts and costs of a run of a scenario with `models:` (nil without).
    public static func modelUsage(log: RunLog, stream: ArrivalStream, scenario: Scenario) -> [ModelUsage]? {
        guard !scenario.models.isEmpty else { return nil }
        let ids = scenario.modelIds
        var out = ids.map { ModelUsage(model: $0, attempts: 0, succeeded: 0, status429: 0, status529: 0, costUSD: nil) }
        var cost = [Double](repeating: 0, count: ids.count)
        let prices = ids.map { TierCatalog.builtIn.prices(for: $0) }
        let longTTL = (scenario.workload.cache?.ttl ?? 300) > 300
        for a in 0..<log.attemptCountTotal {
            let c = Swift.min(log.modelClass(ofAttempt: a), ids.count - 1)
            out[c].attempts += 1
            let status = log.status[a]
            if status == 429 { out[c].status429 += 1 }
            if status == 529 { out[c].status529 += 1 }
            guard status == 200, let p = prices[c] else { continue }
            let r = Int(log.attemptRequest[a])
            let read = Double(log.cacheReadTokens[a]), creation = Double(log.cacheCreationTokens[a])
            let uncached = Double(Int(stream.inputTokens[r]) - log.trimmed(ofAttempt: a)) - read - creation
            cost[c] += (uncached * p.input + creation * (longTTL ? p.cacheWrite1h : p.cacheWrite5m)
                        + read * p.cacheRead + Double(stream.outputTokens[r]) * p.output) / 1_000_000
        }
        for r in 0..<log.requestCount where log.outcome[r] == RequestOutcome.succeeded.rawValue {
            let a = Int(log.lastAttempt[r])
            if a >= 0 { out[Swift.min(log.modelClass(ofAttempt: a), ids.count - 1)].succeeded += 1 }
        }
        for c in out.indices where prices[c] != nil { out[c].costUSD = cost[c] }
        return out
    }

    /// Tokens trimmed in a run (nil when no attempt was trimmed).
    public static func trimSummary(log: RunLog) -> TrimSummary? {
        guard log.trimmedInputTokens.contains(where: { $0 > 0 }) else { return nil }
        var total = 0, attempts = 0
        var requests = Set<Int32>()
        for (a, t) in log.trimmedInputTokens.enumerated() where t > 0 {
            total += Int(t)
            attempts += 1
            requests.insert(log.attemptRequest[a])
        }
        let n = log.requestCount
        return TrimSummary(tokensTrimmed: total, attemptsTrimmed: attempts, requestsTrimmed: requests.count,
                           perRequest: n > 0 ? Double(total) / Double(n) : 0,
                           perTrimmedRequest: requests.isEmpty ? 0 : Double(total) / Double(requests.count))
    }
}

extension SummaryTable {
    /// Per-model rows and trimmed tokens under the strategy table (empty when no run has them).
    static func routing(_ report: Report) -> String {
        var out = ""
        if report.runs.contains(where: { $0.summary.models != nil }) {
            var rows: [[String]] = []
            for run in report.runs {
                for (i, m) in (run.summary.models ?? []).enumerated() {
                    rows.append([i == 0 ? run.strategy : "", m.model, String(m.attempts), String(m.succeeded),
                                 String(m.status429), String(m.status529), m.costUSD.map { "$" + fixed($0, 2) } ?? "n/a"])
                }
            }
            out += "\nper model:\n"
            out += table(header: ["strategy", "model", "attempts", "ok", "429s", "529s", "cost"], rows: rows, rightAlignFrom: 2)
        }
        let trimmed = report.runs.compactMap { run in run.summary.trim.map { (run.strategy, $0) } }
        if !trimmed.isEmpty {
            out += "\nprompt tokens trimmed:\n"
            out += table(header: ["strategy", "tokens", "attempts", "requests", "per request"], rows: trimmed.map { s, t in
                [s, String(t.tokensTrimmed), String(t.attemptsTrimmed), String(t.requestsTrimmed), fixed(t.perRequest, 1)]
            })
        }
        return out
    }
}

extension MarkdownSummary {
    /// `## Models` and `## Prompt trimming` sections (empty when no run has them).
    static func routing(_ report: Report) -> String {
        var md = ""
        if report.runs.contains(where: { $0.summary.models != nil }) {
            md += "\n## Models\n\n"
            var rows: [[String]] = []
            for run in report.runs {
                for (i, m) in (run.summary.models ?? []).enumerated() {
                    rows.append([i == 0 ? "`\(run.strategy)`" : "", "`\(m.model)`", String(m.attempts), String(m.succeeded),
                                 String(m.status429), String(m.status529), m.costUSD.map { "$" + fixed($0, 2) } ?? "n/a"])
                }
            }
            md += table(["strategy", "model", "attempts", "succeeded", "429s", "529s", "cost"], rows)
        }
        let trimmed = report.runs.compactMap { run in run.summary.trim.map { (run.strategy, $0) } }
        if !trimmed.isEmpty {
            md += "\n## Prompt trimming\n\n"
            md += table(["strategy", "tokens trimmed", "attempts", "requests", "per request", "per trimmed request"],
                        trimmed.map { s, t in
                            ["`\(s)`", String(t.tokensTrimmed), String(t.attemptsTrimmed), String(t.requestsTrimmed),
                             fixed(t.perRequest, 1), fixed(t.perTrimmedRequest, 1)]
                        })
        }
        return md
    }
}
