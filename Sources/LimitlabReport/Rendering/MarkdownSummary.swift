import Foundation
import LimitlabStats

/// `summary.md`: tables a person pastes into a pull request.
public enum MarkdownSummary {
    public static func render(_ report: Report) -> String {
        let sc = report.scenario
        var md = "# limitlab: \(sc.name)\n\n"
        var limits = "\(num(sc.limits.rpm)) RPM / \(num(sc.limits.itpm)) ITPM / \(num(sc.limits.otpm)) OTPM"
        if let tier = sc.limits.tier { limits += " (\(tier), \(sc.limits.modelClass ?? sc.model))" }
        md += "Model `\(sc.model)`, limits \(limits), seed \(sc.seed), target \(sc.target). "
        md += "\(report.arrivals.offered) requests over \(duration(report.arrivals.windowS)) "
        md += "(realised \(fixed(report.arrivals.realisedRatePerMin, 1))/min).\n\n"

        let withSLO = report.runs.contains { $0.summary.slo != nil }
        var header = ["strategy", "success", "429s", "attempts/success", "p50", "p99 (95% CI)", "goodput/min", "cost"]
        if withSLO { header.insert("SLO", at: 1) }
        var rows: [[String]] = []
        for run in report.runs {
            let s = run.summary
            var p99 = seconds(s.latencyS.p99, s.latencyS.count)
            if let ci = s.confidence?.latencyP99S, s.latencyS.count > 1 {
                p99 += " (\(seconds(ci.low, 1))–\(seconds(ci.high, 1)))"
            }
            var row = [
                "`\(run.strategy)`", pct(s.successRate), String(s.statusCounts["429"] ?? 0), fixed(s.attemptsPerSuccess, 2),
                seconds(s.latencyS.p50, s.latencyS.count), p99, fixed(s.goodput.requestsPerMin, 1),
                s.cost.map { "$" + fixed($0.totalUSD, 2) } ?? "n/a",
            ]
            if withSLO {
                row.insert(s.slo.map(SummaryTable.sloCell) ?? "", at: 1)
            }
            rows.append(row)
        }
        md += table(header, rows)

        md += "\n## Failures and drops\n\n"
        var failRows: [[String]] = []
        for run in report.runs {
            let s = run.summary
            let causes = s.failedByCause.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            let reasons = s.failedByReason.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            let drops = s.droppedByReason.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
            failRows.append(["`\(run.strategy)`", String(s.requests.failed), causes.isEmpty ? "–" : causes,
                             reasons.isEmpty ? "–" : reasons, String(s.requests.dropped), drops.isEmpty ? "–" : drops])
        }
        md += table(["strategy", "failed", "last answer", "gave up because", "dropped", "drop reasons"], failRows)

        md += "\n## Latency spans (p50 / p99)\n\n"
        var spanRows: [[String]] = []
        for run in report.runs {
            let s = run.summary
            func pair(_ p: Percentiles) -> String { "\(seconds(p.p50, p.count)) / \(seconds(p.p99, p.count))" }
            spanRows.append(["`\(run.strategy)`", pair(s.latencyS), pair(s.ttftS), pair(s.serviceLatencyS),
                             pair(s.queueWaitS), pair(s.backoffS)])
        }
        md += table(["strategy", "latency", "TTFT", "service", "limiter queue", "backoff"], spanRows)

        if report.runs.contains(where: { $0.summary.utilisation != nil }) {
            md += "\n## Utilisation of the limits\n\n"
            md += table(["strategy", "RPM", "ITPM", "OTPM"], report.runs.map { run in
                let u = run.summary.utilisation
                return ["`\(run.strategy)`", u.map { pct($0.rpm) } ?? "–", u.map { pct($0.itpm) } ?? "–", u.map { pct($0.otpm) } ?? "–"]
            })
        }
        md += workers(report)
        md += DeferralTables.markdown(report)
        md += routing(report)
        md += RecordingSection.markdown(report)
        md += "\nLatency is measured from each request's intended arrival. \(report.quantileDefinition). "
        md += "Confidence intervals: percentile bootstrap, seeded.\n"
        return md
    }

    /// Per-worker counts, Jain's index and overshoot; empty for single-worker runs without fallback.
    static func workers(_ report: Report) -> String {
        guard report.runs.contains(where: { $0.summary.workers != nil || $0.summary.fallback != nil }) else { return "" }
        var md = "\n## Workers\n\n"
        var rows: [[String]] = []
        for run in report.runs {
            let s = run.summary
            let fallback = s.fallback.map { "\($0.attempts) admitted, \($0.dropped) dropped" } ?? "–"
            guard let w = s.workers else {
                rows.append(["`\(run.strategy)`", "all", String(s.requests.offered), String(s.requests.succeeded),
                             String(s.statusCounts["429"] ?? 0), fixed(s.goodput.requestsPerMin, 1), fallback, "–", "–"])
                continue
            }
            for (k, ws) in w.perWorker.enumerated() {
                rows.append([k == 0 ? "`\(run.strategy)`" : "", String(ws.worker), String(ws.offered), String(ws.succeeded),
                             String(ws.status429), fixed(ws.goodputRequestsPerMin, 1), String(ws.fallbackAttempts),
                             k == 0 ? (w.jainIndex.map { fixed($0, 3) } ?? "n/a") : "",
                             k == 0 ? fixed(w.overshoot.ratio, 2) + "×" : ""])
            }
        }
        md += table(["strategy", "worker", "offered", "succeeded", "429s", "goodput/min", "via fallback", "Jain", "overshoot"], rows)
        md += "\nJain's index over goodput ÷ offered share per worker (1 = proportional); overshoot = peak sends in any "
        md += "60 s over the organisation's limits (docs/metrics.md).\n"
        return md
    }

    static func table(_ header: [String], _ rows: [[String]]) -> String {
        var out = "| " + header.joined(separator: " | ") + " |\n"
        out += "|" + header.enumerated().map { i, _ in i == 0 ? "---" : "---:" }.joined(separator: "|") + "|\n"
        for r in rows { out += "| " + r.joined(separator: " | ") + " |\n" }
        return out
    }

    static func num(_ v: Double) -> String {
        let i = Int(v.rounded())
        return Double(i) == v ? grouped(i) : fixed(v, 1)
    }

    static func grouped(_ v: Int) -> String { NumberFormat.grouped(Double(v)) }

    static func fixed(_ v: Double, _ digits: Int) -> String { NumberFormat.fixed(v, digits) }
    static func pct(_ v: Double) -> String { NumberFormat.percent(v) }
    static func seconds(_ v: Double, _ count: Int) -> String {
        NumberFormat.seconds(v, count: count, space: true, placeholder: "–")
    }
    static func duration(_ s: Double) -> String {
        s >= 3600 ? fixed(s / 3600, 1) + " h" : s >= 60 ? fixed(s / 60, 1) + " min" : fixed(s, 1) + " s"
    }
}
