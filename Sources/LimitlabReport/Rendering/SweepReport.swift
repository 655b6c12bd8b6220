import Foundation

/// Markdown and HTML renderings of a sweep.
public enum SweepReport {
    public static func markdown(_ r: SweepResult) -> String {
        var md = "# sweep \(r.scenario): \(r.axis.path)\n\n"
        for s in r.series {
            md += "## `\(s.strategy)` — knee: \(s.knee.map(r.axis.label) ?? "below the swept range")\n\n"
            md += "| \(r.axis.path) | offered/min | goodput/min | success | p99 | 429s |\n|---:|---:|---:|---:|---:|---:|\n"
            for p in s.points {
                md += "| \(r.axis.label(p.value)) | \(String(format: "%.1f", p.offeredPerMin)) | "
                    + "\(String(format: "%.1f", p.goodputPerMin)) | \(String(format: "%.1f%%", p.successRate * 100)) | "
                    + "\(p.latencyP99S.map { String(format: "%.2f s", $0) } ?? "–") | \(p.status429) |\n"
            }
            md += "\n"
        }
        md += "Knee: the largest swept value at which a strategy still succeeds for ≥ 99 % of requests with a p99 "
            + "no worse than twice its best.\n"
        return md
    }

    /// A self-contained page with goodput and p99 against the swept value.
    public static func html(_ r: SweepResult) -> String {
        let xs = r.axis.values
        let xLabel = r.axis.unit == "per_min" ? "\(r.axis.path) (per minute)" : r.axis.path
        let scale = r.axis.unit == "per_min" ? 60.0 : 1.0
        let goodput = r.series.map { s in (s.strategy, s.points.map { ($0.value * scale, $0.goodputPerMin) }) }
        let p99 = r.series.map { s in (s.strategy, s.points.compactMap { p in p.latencyP99S.map { (p.value * scale, $0) } }) }
        _ = xs
        var body = "<h1>Sweep of \(escape(r.axis.path)) — \(escape(r.scenario))</h1>"
        body += SimpleChart.lines(title: "Goodput (successful requests per minute)", xLabel: xLabel, yLabel: "requests/min", series: goodput)
        body += SimpleChart.lines(title: "p99 latency from intended arrival", xLabel: xLabel, yLabel: "seconds", series: p99)
        body += "<ul>" + r.series.map { "<li><b>\(escape($0.strategy))</b>: knee at \(escape($0.knee.map(r.axis.label) ?? "below the range"))</li>" }.joined() + "</ul>"
        return """
            <!doctype html><html lang="en"><head><meta charset="utf-8"><title>limitlab sweep</title>
            <style>body{font-family:system-ui,sans-serif;max-width:960px;margin:2em auto;color:#222}svg{display:block;margin:1em 0}</style>
            </head><body>\(body)</body></html>
            """
    }

    static func escape(_ s: String) -> String {
        s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
    }
}

/// A minimal inline-SVG line chart (no scripts, no network).
enum SimpleChart {
    static let palette = ["#0072B2", "#E69F00", "#009E73", "#CC79A7", "#56B4E9", "#D55E00", "#F0E442", "#000000"]

    static func lines(title: String, xLabel: String, yLabel: String, series: [(String, [(Double, Double)])]) -> String {
        let w = 860.0, h = 320.0, left = 70.0, right = 20.0, top = 30.0, bottom = 50.0
        let all = series.flatMap(\.1)
        guard let xMin = all.map(\.0).min(), let xMax = all.map(\.0).max(), let yMaxRaw = all.map(\.1).max() else {
            return "<p>\(SweepReport.escape(title)): no data</p>"
        }
        let yMax = yMaxRaw > 0 ? yMaxRaw * 1.05 : 1
        func x(_ v: Double) -> Double { left + (xMax > xMin ? (v - xMin) / (xMax - xMin) : 0.5) * (w - left - right) }
        func y(_ v: Double) -> Double { top + (1 - v / yMax) * (h - top - bottom) }
        var svg = "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(Int(w))\" height=\"\(Int(h))\" role=\"img\"><title>\(SweepReport.escape(title))</title>"
        svg += "<text x=\"\(left)\" y=\"18\" font-size=\"14\" font-weight=\"600\">\(SweepReport.escape(title))</text>"
        for i in 0...4 {
            let v = yMax * Double(i) / 4
            svg += "<line x1=\"\(left)\" x2=\"\(w - right)\" y1=\"\(y(v))\" y2=\"\(y(v))\" stroke=\"#ddd\"/>"
            svg += "<text x=\"\(left - 6)\" y=\"\(y(v) + 4)\" font-size=\"11\" text-anchor=\"end\">\(String(format: "%.3g", v))</text>"
        }
        for i in 0...4 {
            let v = xMin + (xMax - xMin) * Double(i) / 4
            svg += "<text x=\"\(x(v))\" y=\"\(h - bottom + 16)\" font-size=\"11\" text-anchor=\"middle\">\(String(format: "%.3g", v))</text>"
        }
        svg += "<text x=\"\((left + w - right) / 2)\" y=\"\(h - 10)\" font-size=\"12\" text-anchor=\"middle\">\(SweepReport.escape(xLabel))</text>"
        svg += "<text x=\"14\" y=\"\((top + h - bottom) / 2)\" font-size=\"12\" transform=\"rotate(-90 14 \((top + h - bottom) / 2))\" text-anchor=\"middle\">\(SweepReport.escape(yLabel))</text>"
        for (i, (name, points)) in series.enumerated() {
            let colour = palette[i % palette.count]
            let path = points.map { "\(x($0.0)),\(y($0.1))" }.joined(separator: " ")
            svg += "<polyline fill=\"none\" stroke=\"\(colour)\" stroke-width=\"2\" points=\"\(path)\"/>"
            svg += "<text x=\"\(w - right - 150)\" y=\"\(top + 14 + Double(i) * 14)\" font-size=\"11\" fill=\"\(colour)\">■ \(SweepReport.escape(name))</text>"
        }
        return svg + "</svg>"
    }
}
