import LimitlabStats

/// The deferrable-requests table of the terminal summary and summary.md: urgent requests
/// against the scenario's SLO, deferrable ones against their own, the batch turnaround
/// (submitted → result seen) and the cost against sending everything in real time.
enum DeferralTables {
    static let header = ["strategy", "urgent ok", "urgent p99", "urgent slo", "deferrable ok", "via batch",
                         "deferrable p50/p99", "batch turnaround p50/p99", "cost", "all real-time", "saved"]

    static func rows(_ report: Report) -> [[String]] {
        report.runs.compactMap { run -> [String]? in
            guard let d = run.summary.deferral else { return nil }
            func pair(_ p: Percentiles) -> String {
                "\(NumberFormat.seconds(p.p50, count: p.count)) / \(NumberFormat.seconds(p.p99, count: p.count))"
            }
            func usd(_ v: Double?) -> String { v.map { "$" + NumberFormat.fixed($0, 2) } ?? "n/a" }
            return [
                run.strategy,
                "\(d.urgent.requests.succeeded)/\(d.urgent.requests.offered)",
                NumberFormat.seconds(d.urgent.latencyS.p99, count: d.urgent.latencyS.count),
                d.urgent.slo.map(SummaryTable.sloCell) ?? "–",
                "\(d.deferrable.requests.succeeded)/\(d.deferrable.requests.offered)",
                String(d.viaBatch), pair(d.deferrable.latencyS), pair(d.batchTurnaroundS),
                usd(d.costUSD), usd(d.realtimeCostUSD), usd(d.savedUSD),
            ]
        }
    }

    /// The terminal table, preceded by a blank line; empty without deferrable requests.
    static func text(_ report: Report) -> String {
        let rows = rows(report)
        guard !rows.isEmpty else { return "" }
        return "\ndeferrable requests (urgent SLO: the scenario's; deferrable: workload.deferrable.latency)\n"
            + SummaryTable.table(header: header, rows: rows, rightAlignFrom: 1)
    }

    /// The summary.md section; empty without deferrable requests.
    static func markdown(_ report: Report) -> String {
        let rows = rows(report)
        guard !rows.isEmpty else { return "" }
        return "\n## Deferrable requests\n\nUrgent requests are judged against the scenario's SLO, deferrable ones "
            + "against `workload.deferrable.latency`; the batch turnaround runs from the batch's creation to its "
            + "result being seen; \"all real-time\" prices the same successful requests at the standard price.\n\n"
            + MarkdownSummary.table(header, rows.map { ["`\($0[0])`"] + $0.dropFirst() })
    }
}
