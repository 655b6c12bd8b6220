import Foundation

/// Markdown and HTML renderings of a sweep.
public enum SweepReport {
    /// Every figure through `NumberFormat`: success against the 99 % of the default knee rule,
    /// SLO attainment against the scenario's target, so no value rounds across the line that
    /// decides the knee.
    public static func markdown(_ r: SweepResult) -> String {
        var md = "# sweep \(r.scenario): \(r.axis.path)\n\n"
        let slo = r.series.contains { $0.points.contains { $0.sloAttainment != nil } }
        let successLine = r.sloTarget == nil ? 0.99 : nil
        for s in r.series {
            md += "## `\(s.strategy)` — knee: \(s.knee.map(r.axis.label) ?? "below the swept range")\n\n"
            md += "| \(r.axis.path) | offered/min | goodput/min | success |" + (slo ? " slo |" : "") + " p99 | 429s |\n"
            md += "|---:|---:|---:|---:|" + (slo ? "---:|" : "") + "---:|---:|\n"
            for p in s.points {
                md += "| \(r.axis.label(p.value)) | \(NumberFormat.fixed(p.offeredPerMin, 1)) | "
                    + "\(NumberFormat.fixed(p.goodputPerMin, 1)) | \(NumberFormat.percent(p.successRate, threshold: successLine)) | "
                if slo { md += (p.sloAttainment.map { NumberFormat.percent($0, threshold: r.sloTarget) } ?? "–") + " | " }
                md += "\(p.latencyP99S.map { NumberFormat.seconds($0, space: true) } ?? "–") | \(p.status429) |\n"
            }
            md += "\n"
        }
        md += "Knee: " + (r.kneeRule ?? "the largest swept value at which a strategy still succeeds for ≥ 99 % of requests "
            + "with a p99 no worse than twice its best") + ".\n"
        return md
    }

    /// A self-contained page with goodput, p99, success and 429s against the swept value, drawn
    /// by the chart code of report.html (`LineChart`, `ChartKit`): one colour per strategy, a dot
    /// per simulated point, each strategy's knee marked, and the same legend and tooltips.
    public static func html(_ r: SweepResult) -> String {
        let perMin = r.axis.unit == "per_min"
        let scale = perMin ? 60.0 : 1.0
        // A tier axis is drawn over the tiers' positions; the title names them.
        let tierNames = r.axis.tiers.map { t in " (" + t.enumerated().map { "\($0) = \($1)" }.joined(separator: ", ") + ")" } ?? ""
        let xAxis = LineChart.Axis(title: perMin ? "\(r.axis.path) (per minute)" : r.axis.path + tierNames, unit: perMin ? "/min" : "",
                                   fixed: nil, include: [], short: r.axis.path)
        func series(_ y: (SweepPoint) -> Double?) -> [LineChart.Series] {
            r.series.enumerated().map { i, s in
                LineChart.Series(label: s.strategy, style: HTMLReport.strategyClass(i),
                                 points: s.points.compactMap { p in y(p).map { (p.value * scale, $0) } },
                                 key: i, mark: s.knee.map { $0 * scale })
            }
        }
        func chart(_ id: String, _ title: String, _ caption: String, _ sub: String, _ y: LineChart.Axis,
                   _ s: [LineChart.Series], _ extra: [LineChart.Series] = []) -> String {
            let c = LineChart(id: id, title: title,
                              summary: title + ". " + s.filter { !$0.points.isEmpty }.map { se in
                                  "\(se.label): " + se.points.map { "\(HTMLFormat.trimmed($0.x, 3)) → \(HTMLFormat.trimmed($0.y, 3))" }
                                      .joined(separator: ", ")
                              }.joined(separator: "; ") + ".",
                              x: xAxis, y: y, series: s + extra, emptyMessage: "no data", markers: true)
            var h = "<figure><figcaption>\(HTMLText.escape(caption))<span class=\"sub\">\(HTMLText.escape(sub))</span></figcaption>"
            h += c.svg()
            if !extra.isEmpty {
                h += "<ul class=\"legend\">" + extra.map { "<li><i class=\"sw \($0.style)\"></i>\(HTMLText.escape($0.label))</li>" }.joined() + "</ul>"
            }
            return h + "</figure>"
        }
        let offered = r.series.first.map { s in
            LineChart.Series(label: "offered", style: "offered", points: s.points.map { ($0.value * scale, $0.offeredPerMin) })
        }
        var body = "<header><div class=\"eyebrow\">limitlab sweep · \(r.series.count) strateg\(r.series.count == 1 ? "y" : "ies") · "
        body += "\(r.axis.values.count) values</div>"
        body += "<h1>\(HTMLText.escape(r.scenario)): \(HTMLText.escape(r.axis.path))</h1>"
        body += "<p class=\"headline\">\(headline(r))</p></header>\n"
        body += "<section><h2 id=\"charts\">Charts</h2><p class=\"lede\">Each dot is one simulation at that value; the ring "
        body += "and dashed line mark a strategy's knee.</p>"
        body += ChartKit.legend(r.series.indices.map { (r.series[$0].strategy, $0) }, hint: true, sticky: true)
        body += "<div class=\"charts\">"
        body += chart("c-goodput", "Goodput against \(r.axis.path)", "Goodput", "successful requests per minute",
                      .init(title: "succeeded / min", unit: "", fixed: nil, include: [0]), series { $0.goodputPerMin },
                      offered.map { [$0] } ?? [])
        body += chart("c-p99", "p99 latency against \(r.axis.path)", "p99 latency", "from intended arrival, succeeded requests",
                      .init(title: "p99 latency", unit: " s", fixed: nil, include: [0]), series { $0.latencyP99S })
        body += chart("c-success", "Success rate against \(r.axis.path)", "Success rate", "succeeded of offered",
                      .init(title: "% succeeded", unit: "%", fixed: 0...100), series { $0.successRate * 100 })
        body += chart("c-429", "429 answers against \(r.axis.path)", "429 answers", "attempts refused over the run",
                      .init(title: "429s", unit: "", fixed: nil, include: [0]), series { Double($0.status429) })
        body += "</div></section>\n"
        body += "<section><h2 id=\"knees\">Knees</h2><div class=\"scroll\"><table id=\"knees-table\"><thead><tr>"
        body += "<th class=\"name\" scope=\"col\">strategy</th><th scope=\"col\">knee</th><th scope=\"col\">goodput at knee</th>"
        body += "<th scope=\"col\">p99 at knee</th><th scope=\"col\">success at the largest value</th></tr></thead><tbody>"
        for (i, s) in r.series.enumerated() {
            let at = s.knee.flatMap { k in s.points.first { $0.value == k } }
            body += "<tr><th scope=\"row\"><i class=\"sw \(HTMLReport.strategyClass(i))\"></i>\(HTMLText.escape(s.strategy))</th>"
            body += "<td>\(HTMLText.escape(s.knee.map(r.axis.label) ?? "below the range"))</td>"
            body += "<td>\(at.map { HTMLFormat.fixed($0.goodputPerMin, 1) + "/min" } ?? "–")</td>"
            body += "<td>\(at?.latencyP99S.map(HTMLFormat.seconds) ?? "–")</td>"
            body += "<td>\(s.points.last.map { HTMLFormat.pct($0.successRate) } ?? "–")</td></tr>"
        }
        body += "</tbody></table></div></section>\n"
        body += "<footer><p><strong>Knee:</strong> the largest swept value at which a strategy still succeeds for ≥ 99% of "
        body += "requests with a p99 no worse than twice its best.</p></footer>\n"
        var h = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>"
        h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>"
        h += "<meta http-equiv=\"Content-Security-Policy\" content=\"\(ChartKit.contentSecurityPolicy)\"/>"
        h += "<title>\(HTMLText.escape("limitlab sweep · " + r.scenario))</title>"
        h += "<style>\(HTMLReport.css)\(ChartKit.css)</style></head><body><main>\n"
        return h + body + "</main>\(ChartKit.scriptElement)</body></html>\n"
    }

    /// Which strategy holds the most load before its knee.
    static func headline(_ r: SweepResult) -> String {
        let withKnee = r.series.filter { $0.knee != nil }
        guard let top = withKnee.map({ $0.knee! }).max() else {
            return "No strategy reaches its knee inside the swept range: every value is already past it."
        }
        let best = withKnee.filter { $0.knee == top }.map { "<strong>\(HTMLText.escape($0.strategy))</strong>" }
        return "\(best.joined(separator: ", ")) \(best.count == 1 ? "holds" : "hold") up to "
            + "\(HTMLText.escape(r.axis.label(top))), the highest knee of the sweep."
    }
}
