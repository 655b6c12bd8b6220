/// Aligned plain-text tables for the terminal.
public enum SummaryTable {
    /// The per-strategy summary of a report.
    public static func render(_ report: Report) -> String {
        var header = ["strategy", "offered", "ok", "failed", "dropped", "attempts", "429s", "529s", "success",
                      "p50", "p99", "ttft p50", "goodput/min"]
        let withSLO = report.runs.contains { $0.summary.slo != nil }
        if withSLO { header.append("slo") }
        var rows: [[String]] = []
        for run in report.runs {
            let s = run.summary
            var row = [
                run.strategy, String(s.requests.offered), String(s.requests.succeeded), String(s.requests.failed),
                String(s.requests.dropped), String(s.attempts), String(s.statusCounts["429"] ?? 0),
                String(s.statusCounts["529"] ?? 0), percent(s.successRate),
                seconds(s.latencyS.p50, s.latencyS.count), seconds(s.latencyS.p99, s.latencyS.count),
                seconds(s.ttftS.p50, s.ttftS.count), fixed(s.goodput.requestsPerMin, 1),
            ]
            if withSLO { row.append(s.slo.map(sloCell) ?? "") }
            rows.append(row)
        }
        return table(header: header, rows: rows, rightAlignFrom: 1) + DeferralTables.text(report) + routing(report)
    }

    /// Across-seed means with their 95 % intervals, one row per strategy; attainment decisive
    /// against `target`.
    public static func render(_ r: ReplicationSection, target: Double?) -> String {
        func show(_ v: ReplicatedValue?, _ f: (Double) -> String) -> String {
            guard let v else { return "-" }
            return v.n > 1 ? "\(f(v.mean)) [\(f(v.low)), \(f(v.high))]" : f(v.mean)
        }
        let rows = r.summary.map { s -> [String] in
            [s.strategy, show(s.successRate) { NumberFormat.percent($0) },
             show(s.sloAttainment) { NumberFormat.percent($0, threshold: target) },
             show(s.goodputRequestsPerMin) { NumberFormat.fixed($0, 1) },
             show(s.latencyP99S) { NumberFormat.seconds($0) }, show(s.status429) { NumberFormat.fixed($0, 1) }]
        }
        var out = "over \(r.seeds.count) seeds (\(r.seeds.first ?? 0)..\(r.seeds.last ?? 0)): mean [95% interval]\n"
        out += table(header: ["strategy", "success", "slo", "goodput/min", "p99", "429s"], rows: rows)
        out += "intervals: Student t on the per-seed values (n − 1 degrees of freedom); the table above is seed \(r.seeds.first ?? 0)\n"
        return out
    }

    /// Renders rows under a header with a rule; columns from `rightAlignFrom` are right-aligned.
    public static func table(header: [String], rows: [[String]], rightAlignFrom: Int = 1) -> String {
        var widths = header.map(\.count)
        for row in rows { for (i, cell) in row.enumerated() where i < widths.count { widths[i] = max(widths[i], cell.count) } }
        func line(_ cells: [String]) -> String {
            cells.enumerated().map { i, c in
                let pad = String(repeating: " ", count: max(0, widths[i] - c.count))
                return i >= rightAlignFrom ? pad + c : c + pad
            }.joined(separator: "  ")
        }
        var out = line(header) + "\n"
        out += widths.map { String(repeating: "-", count: $0) }.joined(separator: "  ") + "\n"
        for row in rows { out += line(row) + "\n" }
        return out
    }

    /// Attainment against its target, with the digits that decide it, and ✓ / ✗.
    static func sloCell(_ slo: SLOResult) -> String {
        NumberFormat.percent(slo.attainment, threshold: slo.target) + (slo.met == false ? " ✗" : slo.met == true ? " ✓" : "")
    }

    static func percent(_ v: Double) -> String { NumberFormat.percent(v) }

    static func seconds(_ v: Double, _ count: Int) -> String { NumberFormat.seconds(v, count: count) }

    static func fixed(_ v: Double, _ digits: Int) -> String { NumberFormat.fixed(v, digits) }
}
