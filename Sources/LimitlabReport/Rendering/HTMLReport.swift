import Foundation
import LimitlabStats

/// `report.html`: one self-contained page (inline CSS, SVG and one small script, no network) that
/// compares the strategies of a run at a glance, with exact values in cell tooltips. The script
/// (`ChartKit`) only adds interaction; the page reads the same without it.
///
/// The output is well-formed XML as well as HTML5, so it can be checked with an XML parser.
public enum HTMLReport {
    /// Most gauges drawn in one strategy's limiter-state chart (a worker pool has each worker's).
    static let maxGaugesDrawn = 8

    /// Renders the page. Deterministic: the same report gives the same bytes.
    public static func render(_ report: Report) -> String {
        let page = Page(report: report)
        var h = "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"/>"
        h += "<meta name=\"viewport\" content=\"width=device-width, initial-scale=1\"/>"
        h += "<meta name=\"color-scheme\" content=\"light\"/>"
        // The page must never reach the network and runs no script but its own (allowed by hash):
        // the browser enforces it, and a violation shows up as a console error in tests/html-check.sh.
        h += "<meta http-equiv=\"Content-Security-Policy\" content=\"\(ChartKit.contentSecurityPolicy)\"/>"
        h += "<meta name=\"generator\" content=\"\(HTMLText.escape(report.generator))\"/>"
        h += "<title>\(HTMLText.escape("limitlab · " + report.scenario.name))</title>"
        h += "<style>\(css)\(ChartKit.css)\(HTMLTable.css)</style></head><body><main>\n"
        h += page.header()
        h += page.comparison()
        h += page.charts()
        h += page.failures()
        h += HTMLRoutingSections.batchOffload(report)
        h += HTMLRoutingSections.models(report)
        h += page.workers()
        h += RecordingSection.html(report)
        h += page.spans()
        h += page.footer()
        h += "</main>\(ChartKit.scriptElement)</body></html>\n"
        return h
    }

    /// Colour-blind-safe strategy colours (Okabe & Ito 2008), most distinct on white first.
    static let palette = ["#0072B2", "#E69F00", "#009E73", "#D55E00", "#CC79A7", "#56B4E9", "#000000", "#F0E442"]

    /// CSS class of the i-th strategy: a palette colour, plus a dash pattern once colours repeat.
    static func strategyClass(_ i: Int) -> String {
        let dash = (i / palette.count) % 3
        return "s\(i % palette.count)" + (dash > 0 ? " d\(dash)" : "")
    }

    static let css = """
        :root{--fg:#1f2328;--muted:#59636e;--faint:#818b98;--line:#d1d9e0;--soft:#f6f8fa;--best:#dafbe1;--best-fg:#116329;--ok:#1a7f37;--bad:#c4432b}
        *{box-sizing:border-box}
        html{background:#fff;color:var(--fg)}
        body{margin:0;font:14px/1.5 system-ui,-apple-system,"Segoe UI",Roboto,"Helvetica Neue",Arial,"Noto Sans",sans-serif;-webkit-text-size-adjust:100%}
        main{max-width:1240px;margin:0 auto;padding:28px 28px 40px}
        h1{font-size:26px;line-height:1.25;margin:2px 0 10px;font-weight:650;overflow-wrap:anywhere}
        h2{font-size:17px;margin:34px 0 4px;font-weight:650}
        h2+p.lede{margin:0 0 12px;color:var(--muted)}
        .eyebrow{color:var(--muted);font-size:12px;letter-spacing:.06em;text-transform:uppercase;font-weight:600}
        .meta{display:grid;grid-template-columns:repeat(auto-fill,minmax(270px,1fr));gap:8px 28px;margin:14px 0 0;padding:14px 16px;background:var(--soft);border:1px solid var(--line);border-radius:8px}
        .meta div{min-width:0}
        .meta dt{font-size:12px;color:var(--muted);font-weight:600}
        .meta dd{margin:0;overflow-wrap:anywhere}
        code,.mono{font-family:ui-monospace,SFMono-Regular,"SF Mono",Menlo,Consolas,"Liberation Mono",monospace;font-size:12.5px}
        .headline{margin:18px 0 0;font-size:15px}
        .verdicts{list-style:none;margin:10px 0 0;padding:0;display:grid;gap:6px}
        .verdicts li{display:flex;flex-wrap:wrap;align-items:baseline;gap:4px 10px;padding:8px 12px;border:1px solid var(--line);border-radius:8px}
        .verdicts .who{font-weight:650;overflow-wrap:anywhere}
        .verdicts .facts{color:var(--muted);font-variant-numeric:tabular-nums}
        .tag{display:inline-block;font-size:12px;font-weight:600;color:var(--best-fg);background:var(--best);border-radius:10px;padding:0 8px}
        .tag.miss{color:var(--bad);background:#fff1ee}
        .tag.same{color:var(--muted);background:#eaeef2}
        .scroll{overflow-x:auto;border:1px solid var(--line);border-radius:8px}
        table{border-collapse:collapse;width:100%;font-size:13px;font-variant-numeric:tabular-nums}
        th,td{padding:6px 7px;text-align:right;vertical-align:top;border-top:1px solid var(--line)}
        thead th{border-top:0;background:var(--soft);font-size:12px;font-weight:600;color:var(--muted);white-space:nowrap;vertical-align:bottom}
        thead tr.group th{padding-bottom:0;text-align:center}
        thead tr.group th.g{border-bottom:1px solid var(--line)}
        #spans-table .gs{border-left:1px solid var(--line)}
        th.name,td.name{text-align:left}
        tbody th{font-weight:600;text-align:left;min-width:140px;max-width:240px;overflow-wrap:anywhere}
        td{white-space:nowrap}
        td.best{background:var(--best);color:var(--best-fg);font-weight:650}
        .sub{display:block;font-size:11.5px;font-weight:400;color:var(--muted)}
        td.best .sub{color:var(--best-fg)}
        .ns{font-style:italic;color:var(--muted)}
        .sub.rep{font-size:11px;line-height:1.3;margin-top:2px}
        .none{color:var(--faint)}
        .ok{color:var(--ok);font-weight:700}
        .bad{color:var(--bad);font-weight:700}
        .kv{display:block}.kv .mono{overflow-wrap:anywhere}
        .kv b{font-weight:600;margin-left:6px}
        td.list{text-align:left;white-space:normal;min-width:90px}
        .bar{display:flex;width:88px;height:5px;margin:4px 0 0 auto;border-radius:3px;overflow:hidden;background:#d8dee4}
        .bar i{display:block;height:100%;background:#2da44e}
        .bar b{display:block;height:100%;background:#cf4a2f}
        footer{margin-top:36px;padding-top:14px;border-top:1px solid var(--line);color:var(--muted);font-size:12.5px}
        footer p{margin:4px 0}
        h3{font-size:15px;margin:26px 0 2px;font-weight:650}
        h3+p.lede{margin:0 0 8px;color:var(--muted)}
        @media (max-width:900px){main{padding:18px 14px}}
        @media print{main{max-width:none}tr{break-inside:avoid}}

        """
}

/// Text escaping for HTML that is also valid XML.
enum HTMLText {
    /// Escapes the five XML specials; control characters XML forbids become U+FFFD.
    static func escape(_ s: String) -> String {
        var out = ""
        out.reserveCapacity(s.utf8.count)
        for u in s.unicodeScalars {
            switch u {
            case "&": out += "&amp;"
            case "<": out += "&lt;"
            case ">": out += "&gt;"
            case "\"": out += "&quot;"
            case "'": out += "&#39;"
            case "\t", "\n", "\r": out.unicodeScalars.append(u)
            case _ where u.value < 0x20 || (0x7F...0x9F).contains(u.value) || u.value == 0xFFFE || u.value == 0xFFFF:
                out += "\u{FFFD}"
            default: out.unicodeScalars.append(u)
            }
        }
        return out
    }
}

/// Number formatting for people (cells) and for tooltips (exact).
enum HTMLFormat {
    static func fixed(_ v: Double, _ digits: Int) -> String {
        let s = String(format: "%.\(digits)f", v)
        // "-0.0" reads as a sign error.
        return s.hasPrefix("-") && s.dropFirst().allSatisfy({ $0 == "0" || $0 == "." }) ? String(s.dropFirst()) : s
    }

    static func grouped(_ v: Int) -> String {
        let digits = String(v.magnitude)
        var out = ""
        for (i, ch) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return (v < 0 ? "-" : "") + out
    }

    static func fixedGrouped(_ v: Double, _ digits: Int) -> String {
        let s = fixed(v, digits)
        let negative = s.hasPrefix("-")
        let body = negative ? String(s.dropFirst()) : s
        let parts = body.split(separator: ".", maxSplits: 1)
        let whole = Int(parts[0]).map(grouped) ?? String(parts[0])
        return (negative ? "-" : "") + whole + (parts.count > 1 ? "." + parts[1] : "")
    }

    /// At most `digits` decimals, trailing zeros removed.
    static func trimmed(_ v: Double, _ digits: Int) -> String {
        var s = fixed(v, digits)
        if s.contains(".") {
            while s.hasSuffix("0") { s.removeLast() }
            if s.hasSuffix(".") { s.removeLast() }
        }
        return s
    }

    /// A count or rate: grouped integer when whole, else one decimal.
    static func amount(_ v: Double) -> String {
        v == v.rounded() && abs(v) < 1e15 ? grouped(Int(v)) : fixedGrouped(v, 1)
    }

    static func pct(_ v: Double, _ digits: Int = 1) -> String { fixed(v * 100, digits) + "%" }

    /// Seconds with three significant figures, milliseconds below one second.
    static func seconds(_ v: Double) -> String {
        let a = abs(v)
        if a == 0 { return "0 s" }
        if a < 0.001 { return trimmed(v * 1000, 2) + " ms" }
        if a < 1 { return fixed(v * 1000, a < 0.01 ? 1 : 0) + " ms" }
        if a < 10 { return fixed(v, 2) + " s" }
        if a < 100 { return fixed(v, 1) + " s" }
        return fixedGrouped(v, 0) + " s"
    }

    /// A threshold as written: `30 s`, `1.5 s`, `250 ms`.
    static func secondsShort(_ v: Double) -> String {
        abs(v) < 1 && v != 0 ? trimmed(v * 1000, 1) + " ms" : trimmed(v, 2) + " s"
    }

    static func duration(_ s: Double) -> String {
        s >= 3600 ? trimmed(s / 3600, 2) + " h" : s >= 60 ? trimmed(s / 60, 1) + " min" : trimmed(s, 1) + " s"
    }

    static func usd(_ v: Double) -> String {
        "$" + (abs(v) >= 100 ? fixedGrouped(v, 0) : abs(v) >= 0.1 || v == 0 ? fixed(v, 2) : fixed(v, 4))
    }

    /// Shortest round-trip decimal: what the tooltip shows as the exact value.
    static func exact(_ v: Double) -> String { v.isFinite ? "\(v)" : "n/a" }
}

/// Renders the sections of one report.
private struct Page {
    typealias Fmt = HTMLFormat
    func esc(_ s: String) -> String { HTMLText.escape(s) }

    let report: Report
    let runs: [RunEntry]
    let withSLO: Bool
    /// Runs that may be called best: those meeting the SLO target when the report has one.
    /// A strategy that fails most requests must not win "lowest p99" or "cheapest" on the few it served.
    let eligible: Set<Int>
    /// For each run, the first earlier run with the very same results (nil: none).
    let sameAs: [Int?]

    init(report: Report) {
        self.report = report
        let runs = report.runs
        self.runs = runs
        self.withSLO = runs.contains { $0.summary.slo != nil }
        self.eligible = Page.eligible(runs)
        self.sameAs = runs.indices.map { i in
            runs.indices.prefix(i).first { j in runs[j].summary == runs[i].summary && runs[j].timeSeries == runs[i].timeSeries }
        }
    }

    static func eligible(_ runs: [RunEntry]) -> Set<Int> {
        guard runs.contains(where: { $0.summary.slo?.target != nil }) else { return Set(runs.indices) }
        return Set(runs.indices.filter { runs[$0].summary.slo?.met == true })
    }

    func swatch(_ i: Int) -> String { "<i class=\"sw \(HTMLReport.strategyClass(i))\"></i>" }
    func label(_ i: Int) -> String { esc(runs[i].strategy) }

    // MARK: Header

    func header() -> String {
        let sc = report.scenario, l = sc.limits, a = report.arrivals
        var h = "<header><div class=\"eyebrow\">limitlab report · \(runs.count) strateg\(runs.count == 1 ? "y" : "ies")</div>"
        h += "<h1>\(esc(sc.name))</h1><dl class=\"meta\">"
        func item(_ term: String, _ html: String) { h += "<div><dt>\(term)</dt><dd>\(html)</dd></div>" }
        item("Model", "<code>\(esc(sc.model))</code>" + (l.modelClass.map { " <span class=\"none\">(\(esc($0)))</span>" } ?? ""))
        var limits = "\(Fmt.amount(l.rpm)) RPM · \(Fmt.amount(l.itpm)) ITPM · \(Fmt.amount(l.otpm)) OTPM"
        if let keys = sc.keys, keys.count > 1 { limits = "\(keys.count) keys; first: " + limitsText(keys[0]) }
        item("Limits" + (l.tier.map { " · " + esc($0) } ?? ""), esc(limits)
             + "<span class=\"sub\">burst \(Fmt.trimmed(l.burst, 2))× · \(esc(l.admission)) · output "
             + "\(esc(l.outputAccounting))\(l.cacheReadsCount ? " · cache reads count" : "")</span>")
        item("Arrivals", "\(Fmt.grouped(a.offered)) requests over \(Fmt.duration(a.windowS))"
             + "<span class=\"sub\">realised \(Fmt.fixed(a.realisedRatePerMin, 1))/min · mean "
             + "\(Fmt.amount(a.inputTokensMean.rounded())) in / \(Fmt.amount(a.outputTokensMean.rounded())) out tokens</span>")
        if let slo = runs.lazy.compactMap(\.summary.slo).first {
            let target = slo.target.map { "<span class=\"sub\">target: \(Fmt.trimmed($0 * 100, 2))% of offered requests</span>" }
            item("SLO", "succeed within \(Fmt.secondsShort(slo.latencyS)) of arrival" + (target ?? ""))
        }
        let length = sc.durationS.map { "duration " + Fmt.duration($0) } ?? sc.requests.map { "\(Fmt.grouped($0)) requests" }
        item("Seed · target", "\(sc.seed) · <code>\(esc(sc.target))</code><span class=\"sub\">\(length ?? "")</span>")
        item("Generated", esc(report.generatedAt) + "<span class=\"sub\">\(esc(report.generator))"
             + (sc.file.map { " · " + esc($0) } ?? "") + "</span>")
        h += "</dl>"
        h += verdicts()
        return h + "</header>\n"
    }

    func limitsText(_ k: ScenarioEcho.KeyLimits) -> String {
        "\(Fmt.amount(k.rpm)) RPM · \(Fmt.amount(k.itpm)) ITPM · \(Fmt.amount(k.otpm)) OTPM"
    }

    func verdicts() -> String {
        guard !runs.isEmpty else { return "<p class=\"none\">No strategies ran.</p>" }
        let cols = columns()
        var h = "<p class=\"headline\">\(headline())</p><ul class=\"verdicts\">"
        for (i, run) in runs.enumerated() {
            let s = run.summary
            var facts = ["\(Fmt.pct(s.successRate)) succeeded"]
            if let slo = s.slo {
                facts.append("SLO \(Fmt.pct(slo.attainment))" + (slo.met == true ? " <span class=\"ok\">✓</span>"
                                                                  : slo.met == false ? " <span class=\"bad\">✗</span>" : ""))
            }
            if s.latencyS.count > 0 { facts.append("p99 \(Fmt.seconds(s.latencyS.p99))") }
            facts.append("\(Fmt.fixed(s.goodput.requestsPerMin, 1)) good req/min")
            facts.append("\(Fmt.grouped(s.statusCounts["429"] ?? 0)) × 429")
            if s.requests.succeeded > 0 { facts.append("\(Fmt.fixed(s.attemptsPerSuccess, 2)) attempts/success") }
            h += "<li><span class=\"who\">\(swatch(i))\(label(i))</span><span class=\"facts\">\(facts.joined(separator: " · "))</span>"
            for c in cols {
                guard let v = c.verdict, c.best(runs, eligible).contains(i) else { continue }
                // A strategy below the SLO did better on this column: the badge says whom it beats.
                let outdone = runs.indices.contains { j in
                    !eligible.contains(j) && c.value(runs[j].summary).map { x in
                        c.value(s).map { c.better == .higher ? x > $0 : x < $0 } ?? false
                    } ?? false
                }
                h += "<span class=\"tag\"\(outdone ? " title=\"a strategy that misses the SLO target does better here\"" : "")>"
                h += v + (outdone ? " meeting the SLO" : "") + "</span>"
            }
            if s.slo?.met == false { h += "<span class=\"tag miss\">misses SLO target</span>" }
            if let j = sameAs[i] { h += "<span class=\"tag same\">same results as \(label(j))</span>" }
            h += "</li>"
        }
        return h + "</ul>"
    }

    /// What to do, in one or two sentences: "Use X; Y is as good within noise." The leader is
    /// the first of the strategies that meet the SLO target (all of them when there is none) in
    /// the order of `limitlab compare`: SLO attainment, goodput, p99, cost.
    func headline() -> String {
        func names(_ idx: [Int]) -> String {
            let n = idx.map { "<strong>\(label($0))</strong>" }
            return n.count <= 2 ? n.joined(separator: " and ") : n.dropLast().joined(separator: ", ") + " and " + n.last!
        }
        let slo = runs.lazy.compactMap(\.summary.slo).first
        let goal = slo.map { s in
            (s.target.map { "\(Fmt.trimmed($0 * 100, 2))% of requests" } ?? "requests") + " within \(Fmt.secondsShort(s.latencyS))"
        }
        let order = rankOrder()
        if slo?.target != nil && eligible.isEmpty {
            let closest = order.first.map { "; closest: \(names([$0])) at \(Fmt.pct(runs[$0].summary.slo?.attainment ?? 0))" } ?? ""
            return "No strategy meets the SLO target (\(goal ?? ""))\(closest). Lower the load, raise the limits, or relax the SLO."
        }
        let candidates = order.filter { eligible.contains($0) }
        guard let leader = candidates.first else { return "" }
        let s = runs[leader].summary
        var facts: [String] = []
        if let o = s.slo { facts.append("\(Fmt.pct(o.attainment)) \(o.target != nil ? "within" : "of requests within") \(Fmt.secondsShort(o.latencyS))") }
        facts.append("\(Fmt.fixed(s.goodput.requestsPerMin, 1)) succeeded/min")
        if s.latencyS.count > 0 { facts.append("p99 \(Fmt.seconds(s.latencyS.p99))") }
        var out = "Use \(names([leader])) (\(facts.joined(separator: ", ")))"
        let peers = candidates.dropFirst().filter { asGoodWithinNoise(leader, $0) }
        if !peers.isEmpty {
            out += "; \(names(Array(peers))) \(peers.count == 1 ? "is" : "are") as good within noise"
        }
        out += "."
        if slo == nil { out += " The scenario sets no SLO, so this ranks by goodput, then p99; set <code>slo:</code> to rank by success within a latency." }
        if slo?.target != nil {
            let missing = runs.count - eligible.count
            out += " \(eligible.count) of \(runs.count) strategies meet the SLO target (\(goal ?? ""))"
            out += missing > 0 && eligible.count > 1 ? "; badges go only to those." : "."
        }
        return out
    }

    /// Run indices by SLO attainment, goodput, p99 and cost (the order of `limitlab compare`).
    func rankOrder() -> [Int] {
        runs.indices.sorted { a, b in
            let x = runs[a].summary, y = runs[b].summary
            let ax = x.slo?.attainment ?? 0, ay = y.slo?.attainment ?? 0
            if ax != ay { return ax > ay }
            if x.goodput.requestsPerMin != y.goodput.requestsPerMin { return x.goodput.requestsPerMin > y.goodput.requestsPerMin }
            let px = x.latencyS.count > 0 ? x.latencyS.p99 : .infinity, py = y.latencyS.count > 0 ? y.latencyS.p99 : .infinity
            if px != py { return px < py }
            let cx = x.cost?.perThousandRequestsUSD ?? .infinity, cy = y.cost?.perThousandRequestsUSD ?? .infinity
            if cx != cy { return cx < cy }
            return a < b
        }
    }

    /// Whether run `j` is indistinguishable from run `i` on SLO attainment, success (goodput over
    /// the same offered requests) and p99. With `compare`'s paired differences in the report (same
    /// leader), those decide; otherwise 95% intervals: for shares of the offered requests the normal
    /// approximation of two binomial proportions (|a − b| ≤ 1.96 · √(a(1−a)/n + b(1−b)/n)), which
    /// ignores the pairing and so errs towards "as good"; for p99, overlapping bootstrap intervals.
    func asGoodWithinNoise(_ i: Int, _ j: Int) -> Bool {
        if sameAs[j] == i || sameAs[j] == sameAs[i] && sameAs[i] != nil { return true }
        if let c = report.comparison, c.ranking.first?.strategy == runs[i].strategy,
           let r = c.ranking.first(where: { $0.strategy == runs[j].strategy }), let d = r.vsLeader {
            return d.notSignificant.contains("slo_attainment") && d.notSignificant.contains("goodput")
        }
        let a = runs[i].summary, b = runs[j].summary
        func sameShare(_ p: Double, _ q: Double, _ n: Int) -> Bool {
            guard n > 0 else { return p == q }
            return abs(p - q) <= 1.96 * ((p * (1 - p) + q * (1 - q)) / Double(n)).squareRoot() + 1e-12
        }
        func overlap(_ x: ConfidenceInterval?, _ y: ConfidenceInterval?) -> Bool? {
            guard let x, let y else { return nil }
            return x.low <= y.high && y.low <= x.high
        }
        let n = a.requests.offered
        if let sa = a.slo, let sb = b.slo, !sameShare(sa.attainment, sb.attainment, n) { return false }
        if !sameShare(a.successRate, b.successRate, n) { return false }
        if let p = overlap(a.confidence?.latencyP99S, b.confidence?.latencyP99S), !p { return false }
        return true
    }

    // MARK: Comparison table

    enum Better { case higher, lower, unranked }

    struct Column {
        var key: String
        var group: String?
        var header: String
        var note: String?
        var better: Better
        /// The ranked value; nil: not applicable for this run (shown as a dash, never best).
        var value: (RunSummary) -> Double?
        var cell: (RunSummary) -> String
        var exact: (RunSummary) -> String?
        /// Tag in the header verdicts when a run is best in this column.
        var verdict: String?

        /// Indices of the best runs among `eligible`; empty when fewer than two eligible runs
        /// have a value (one alone is best at nothing) or all runs tie.
        func best(_ runs: [RunEntry], _ eligible: Set<Int>) -> Set<Int> {
            guard better != .unranked else { return [] }
            let values = runs.enumerated().compactMap { i, r in value(r.summary).flatMap { $0.isFinite ? (i, $0) : nil } }
            let candidates = values.filter { eligible.contains($0.0) }
            guard candidates.count > 1 else { return [] }
            let target = better == .higher ? candidates.map(\.1).max()! : candidates.map(\.1).min()!
            func same(_ v: Double) -> Bool { abs(v - target) <= 1e-9 * Swift.max(1, abs(target)) }
            if values.allSatisfy({ same($0.1) }) { return [] }
            return Set(candidates.filter { same($0.1) }.map(\.0))
        }
    }

    func columns() -> [Column] {
        var cols: [Column] = []
        cols.append(Column(
            key: "success", group: nil, header: "success", note: "of offered", better: .higher,
            value: { $0.requests.offered > 0 ? $0.successRate : nil },
            cell: { s in
                let n = Double(Swift.max(1, s.requests.offered))
                let ok = Double(s.requests.succeeded) / n * 100, bad = Double(s.requests.failed) / n * 100
                return Fmt.pct(s.successRate) + "<span class=\"bar\"><i style=\"width:\(Fmt.fixed(ok, 1))%\"></i>"
                    + "<b style=\"width:\(Fmt.fixed(bad, 1))%\"></b></span>"
            },
            exact: { s in
                "\(s.requests.succeeded) of \(s.requests.offered) succeeded, \(s.requests.failed) failed, "
                    + "\(s.requests.dropped) dropped (bar: green succeeded, red failed, grey dropped)"
            },
            verdict: "highest success rate"))
        if withSLO {
            let slo = runs.lazy.compactMap(\.summary.slo).first
            cols.append(Column(
                key: "slo", group: nil, header: "SLO ≤ " + (slo.map { Fmt.secondsShort($0.latencyS) } ?? ""),
                note: slo?.target.map { "target \(Fmt.trimmed($0 * 100, 2))%" } ?? "attained", better: .higher,
                value: { $0.slo?.attainment },
                cell: { s in
                    guard let o = s.slo else { return "<span class=\"none\">–</span>" }
                    return Fmt.pct(o.attainment) + (o.met == true ? " <span class=\"ok\">✓</span>"
                                                     : o.met == false ? " <span class=\"bad\">✗</span>" : "")
                },
                exact: { s in
                    s.slo.map { "attainment \(Fmt.exact($0.attainment))" + ($0.met.map { $0 ? ", meets target" : ", misses target" } ?? "") }
                },
                verdict: "best SLO attainment"))
        }
        cols.append(Column(
            key: "429", group: "answers", header: "429s", note: "of attempts", better: .lower,
            value: { Double($0.statusCounts["429"] ?? 0) },
            cell: { s in Fmt.grouped(s.statusCounts["429"] ?? 0) + "<span class=\"sub\">\(Fmt.pct(s.rate429))</span>" },
            exact: { s in "rate_429 \(Fmt.exact(s.rate429))" }, verdict: "fewest 429s"))
        cols.append(Column(
            key: "529", group: "answers", header: "529s", note: nil, better: .lower,
            value: { Double($0.statusCounts["529"] ?? 0) },
            cell: { s in Fmt.grouped(s.statusCounts["529"] ?? 0) }, exact: { _ in nil }, verdict: nil))
        cols.append(Column(
            key: "amp", group: "answers", header: "attempts", note: "per success", better: .lower,
            value: { $0.requests.succeeded > 0 ? $0.attemptsPerSuccess : nil },
            cell: { s in s.requests.succeeded > 0 ? Fmt.fixed(s.attemptsPerSuccess, 2) : "<span class=\"none\">–</span>" },
            exact: { s in "\(s.attempts) attempts, \(s.requests.succeeded) succeeded" }, verdict: nil))
        func latency(_ key: String, _ header: String, _ p: @escaping (RunSummary) -> Percentiles,
                     _ q: @escaping (Percentiles) -> Double, _ ci: ((RunSummary) -> ConfidenceInterval?)?,
                     _ verdict: String?) -> Column {
            Column(
                key: key, group: "latency", header: header, note: nil, better: .lower,
                value: { p($0).count > 0 ? q(p($0)) : nil },
                cell: { s in
                    guard p(s).count > 0 else { return "<span class=\"none\">–</span>" }
                    var c = Fmt.seconds(q(p(s)))
                    if let ci = ci?(s), p(s).count > 1 { c += "<span class=\"sub\">\(ciText(ci, Fmt.seconds))</span>" }
                    return c
                },
                exact: { s in
                    guard p(s).count > 0 else { return nil }
                    var t = "\(Fmt.exact(q(p(s)))) s over \(p(s).count) requests"
                    if let ci = ci?(s) { t += "; \(Fmt.pct(ci.level, 0)) CI \(Fmt.exact(ci.low))–\(Fmt.exact(ci.high)) s" }
                    return t
                },
                verdict: verdict)
        }
        cols.append(latency("p50", "p50", { $0.latencyS }, { $0.p50 }, nil, nil))
        cols.append(latency("p99", "p99", { $0.latencyS }, { $0.p99 }, { $0.confidence?.latencyP99S }, "lowest p99"))
        cols.append(latency("ttft", "TTFT p50", { $0.ttftS }, { $0.p50 }, nil, nil))
        cols.append(Column(
            key: "goodput", group: nil, header: "goodput", note: "succeeded/min", better: .higher,
            value: { $0.goodput.requestsPerMin },
            cell: { s in
                Fmt.fixed(s.goodput.requestsPerMin, 1)
                    + (s.confidence.map { "<span class=\"sub\">\(ciText($0.goodputRequestsPerMin) { Fmt.fixed($0, 1) })</span>" } ?? "")
            },
            exact: { s in
                var t = "\(Fmt.exact(s.goodput.requestsPerMin)) requests/min over \(Fmt.exact(s.goodput.windowS)) s; "
                t += "\(Fmt.amount(s.goodput.inputTokensPerMin.rounded())) input, "
                t += "\(Fmt.amount(s.goodput.outputTokensPerMin.rounded())) output tokens/min"
                if let ci = s.confidence?.goodputRequestsPerMin {
                    t += "; \(Fmt.pct(ci.level, 0)) CI \(Fmt.exact(ci.low))–\(Fmt.exact(ci.high))"
                }
                return t
            },
            verdict: "most goodput"))
        // Utilisation is shown, not ranked: using more of a limit is not better in itself.
        let dims: [(String, String, KeyPath<Utilisation, Double>)] = [("rpm", "RPM", \.rpm), ("itpm", "ITPM", \.itpm),
                                                                     ("otpm", "OTPM", \.otpm)]
        for (key, header, get) in dims {
            cols.append(Column(
                key: key, group: "utilisation", header: header, note: nil, better: .unranked,
                value: { $0.utilisation?[keyPath: get] },
                cell: { s in s.utilisation.map { Fmt.pct($0[keyPath: get], 0) } ?? "<span class=\"none\">–</span>" },
                exact: { s in s.utilisation.map { Fmt.exact($0[keyPath: get]) } }, verdict: nil))
        }
        cols.append(Column(
            key: "cost", group: nil, header: "cost", note: "per 1k succeeded", better: .lower,
            value: { s in s.requests.succeeded > 0 ? s.cost?.perThousandRequestsUSD : nil },
            cell: { s in
                guard let c = s.cost else { return "<span class=\"none\">n/a</span>" }
                return (s.requests.succeeded > 0 ? Fmt.usd(c.perThousandRequestsUSD) : "<span class=\"none\">–</span>")
                    + "<span class=\"sub\">total \(Fmt.usd(c.totalUSD))</span>"
            },
            exact: { s in
                s.cost.map { "total \(Fmt.exact($0.totalUSD)) USD; per 1k \(Fmt.exact($0.perThousandRequestsUSD)) USD; \($0.priceSource)" }
            },
            verdict: "cheapest per request"))
        return cols
    }

    /// `11.8–17.5 s`: the unit once when both ends share it.
    func ciText(_ ci: ConfidenceInterval, _ f: (Double) -> String) -> String {
        let lo = f(ci.low), hi = f(ci.high)
        for unit in [" ms", " s"] where lo.hasSuffix(unit) && hi.hasSuffix(unit) {
            return String(lo.dropLast(unit.count)) + "–" + hi
        }
        return lo + "–" + hi
    }

    func comparison() -> String {
        let cols = columns()
        var h = "<section><h2 id=\"comparison\">Strategy comparison</h2>"
        let among = eligible.count < runs.count ? " among the strategies that meet the SLO target" : ""
        h += "<p class=\"lede\">The best value in each ranked column\(among) is tinted. Hover a cell for the exact value. "
        h += "Latency brackets are 95% bootstrap confidence intervals.</p>"
        let rep = report.replication
        if let rep, rep.seeds.count > 1 {
            h += "<p class=\"lede\" id=\"replication-note\">Over \(rep.seeds.count) seeds (\(rep.seeds.first!)–\(rep.seeds.last!)): "
            h += "the line marked x̄ in a cell is the across-seed mean with its 95% Student t interval [low–high]; the "
            h += "rest of the row, the charts and the tints are seed \(report.scenario.seed)'s run.</p>"
        }
        h += "<div class=\"scroll\"><table id=\"compare\"><thead><tr class=\"group\"><th class=\"name\"></th>"
        var k = 0
        while k < cols.count {
            var span = 1
            while k + span < cols.count, let g = cols[k].group, cols[k + span].group == g { span += 1 }
            if let g = cols[k].group { h += "<th class=\"g\" colspan=\"\(span)\">\(g)</th>" } else { h += "<th></th>" }
            k += span
        }
        h += "</tr><tr><th class=\"name\" scope=\"col\">strategy</th>"
        for c in cols {
            h += "<th scope=\"col\">\(esc(c.header))"
            if let note = c.note { h += "<span class=\"sub\">\(esc(note))</span>" }
            h += "</th>"
        }
        h += "</tr></thead><tbody>"
        let bests = cols.map { $0.best(runs, eligible) }
        for (i, run) in runs.enumerated() {
            h += "<tr><th scope=\"row\">\(swatch(i))\(label(i))"
            let about = describe(run)
            if !about.isEmpty { h += "<span class=\"sub\">\(esc(about))</span>" }
            h += "</th>"
            for (c, best) in zip(cols, bests) {
                h += "<td data-col=\"\(c.key)\"\(best.contains(i) ? " class=\"best\"" : "")"
                if let t = c.exact(run.summary) { h += " title=\"\(esc(t))\"" }
                h += ">\(c.cell(run.summary))"
                if let f = rep?.summary.first(where: { $0.strategy == run.strategy }), rep!.seeds.count > 1,
                   let text = replicated(c.key, f) {
                    h += "<span class=\"sub rep\" data-rep=\"\(c.key)\">x̄ \(text)</span>"
                }
                h += "</td>"
            }
            h += "</tr>"
        }
        return h + "</tbody></table></div>" + significance() + "</section>\n"
    }

    /// A column's across-seed mean and 95% interval, through NumberFormat (the SLO attainment
    /// decisive against its target, so no mean or bound reads as meeting it when it does not).
    func replicated(_ key: String, _ f: ReplicatedFigures) -> String? {
        let target = runs.lazy.compactMap(\.summary.slo?.target).first
        func show(_ v: ReplicatedValue?, _ fmt: (Double) -> String) -> String? {
            guard let v else { return nil }
            guard v.n > 1 else { return fmt(v.mean) }
            // Every figure listed is ≥ 0 (shares are clipped already); the symmetric t interval of
            // a few widely spread seeds can reach below zero.
            var lo = fmt(Swift.max(v.low, 0))
            let hi = fmt(v.high)
            for unit in ["%", " ms", " s"] where lo.hasSuffix(unit) && hi.hasSuffix(unit) {
                lo = String(lo.dropLast(unit.count))
                break
            }
            return "\(fmt(v.mean))<br/>[\(lo)–\(hi)]"
        }
        switch key {
        case "success": return show(f.successRate) { NumberFormat.percent($0) }
        case "slo": return show(f.sloAttainment) { NumberFormat.percent($0, threshold: target) }
        case "429": return show(f.status429) { NumberFormat.fixed($0, 0) }
        // Latencies as the table prints them (three significant figures), in the mean's unit.
        case "p50", "p99":
            let v = key == "p50" ? f.latencyP50S : f.latencyP99S
            let ms = (v?.mean ?? 1) < 1
            return show(v) { x in
                let a = Swift.abs(x)
                return ms ? NumberFormat.fixed(x * 1000, 0) + " ms"
                    : (a < 10 ? NumberFormat.fixed(x, 2) : a < 100 ? NumberFormat.fixed(x, 1) : NumberFormat.grouped(x.rounded())) + " s"
            }
        case "goodput": return show(f.goodputRequestsPerMin) { NumberFormat.fixed($0, 1) }
        default: return nil
        }
    }

    /// compare over several seeds: each strategy's paired difference from the leader with its 95%
    /// interval; "n.s." where the interval includes zero.
    func significance() -> String {
        guard let c = report.comparison, let seeds = c.seeds, seeds.count > 1, c.ranking.count > 1 else { return "" }
        var h = "<p class=\"lede\">Ranked over \(seeds.count) seeds by the across-seed means. Δ = this − the leader, paired "
        h += "per seed, with the 95% Student t interval of the per-seed differences; <b>n.s.</b>: not significant (the "
        h += "interval includes 0).</p>"
        h += "<div class=\"scroll\"><table id=\"significance\"><thead><tr><th scope=\"col\">#</th>"
        h += "<th class=\"name\" scope=\"col\">strategy</th><th scope=\"col\">Δ SLO attainment</th>"
        h += "<th scope=\"col\">Δ goodput/min</th><th scope=\"col\">Δ p99</th></tr></thead><tbody>"
        func diff(_ ci: ConfidenceInterval?, _ f: (Double) -> String) -> String {
            guard let ci else { return "<span class=\"none\">leader</span>" }
            let text = "\(f(ci.estimate)) [\(f(ci.low)), \(f(ci.high))]"
            return ci.excludesZero ? esc(text) : esc(text) + " <span class=\"ns\">n.s.</span>"
        }
        func signed(_ scale: Double, _ digits: Int, _ unit: String) -> (Double) -> String {
            { NumberFormat.decisive($0, digits: digits, scale: scale, threshold: 0, signed: true) + unit }
        }
        for r in c.ranking {
            let i = runs.firstIndex { $0.strategy == r.strategy }
            h += "<tr><td>\(r.rank)</td><th scope=\"row\">\(i.map(swatch) ?? "")\(esc(r.strategy))</th>"
            h += "<td>\(diff(r.vsLeader?.sloAttainment, signed(100, 1, " pp")))</td>"
            h += "<td>\(diff(r.vsLeader?.goodputRequestsPerMin, signed(1, 1, "")))</td>"
            h += "<td>\(diff(r.vsLeader?.latencyP99S, signed(1, 2, " s")))</td></tr>"
        }
        return h + "</tbody></table></div>"
    }

    /// The registry name when the label differs, then roles and parameters as written.
    func describe(_ run: RunEntry) -> String {
        var parts: [String] = []
        if run.name != run.strategy { parts.append(run.name) }
        parts += run.roles.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }
        parts += run.params.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        return parts.joined(separator: " · ")
    }

    // MARK: Charts

    func charts() -> String {
        let span = Swift.max(timeSpan(), 1)
        let minutes = span >= 180
        let div = minutes ? 60.0 : 1.0
        // Rates over a trailing window: a minute (the limits' own unit) unless the run is short.
        let window = span >= 300 ? 60 : Swift.max(runs.first?.timeSeries.binS ?? 1, (span / 5).rounded())
        let over = "over a trailing \(Fmt.duration(window)) window"
        func perMinute(_ counts: [Int], _ bin: Double) -> [(x: Double, y: Double)] {
            self.perMinute(counts, bin: bin, window: window, div: div)
        }
        var h = "<section><h2 id=\"charts\">Charts</h2>"
        h += "<p class=\"lede\">One colour per strategy throughout. Time is from the start of the run, and each time "
        h += "axis ends with the data it shows; rates are per minute \(over), drawn once a full window has passed.</p>"
        h += ChartKit.legend(runs.indices.map { (runs[$0].strategy, $0) }, hint: true, fitHint: true, sticky: true)
        h += "<div class=\"charts\">"
        // Each chart's time axis fits its own data (the script re-fits it when strategies are hidden).
        let xTime = LineChart.Axis(title: minutes ? "time (min)" : "time (s)", unit: minutes ? " min" : " s",
                                   fixed: nil, include: [0], fit: true, short: "at")

        h += cdfChart(id: "c-cdf", what: "Latency", of: { $0.latencyCDF }, withSLO: true)
        h += cdfChart(id: "c-ttft", what: "TTFT", of: { $0.ttftCDF }, withSLO: false)

        // Throughput and failures are per minute, so bins of different widths stay comparable.
        let bin = runs.first.map { Fmt.trimmed($0.timeSeries.binS, 2) + " s" } ?? ""
        var through = runs.enumerated().map { i, r in
            LineChart.Series(label: r.strategy, style: HTMLReport.strategyClass(i),
                             points: perMinute(r.timeSeries.succeeded, r.timeSeries.binS), key: i)
        }
        var throughRefs: [LineChart.Reference] = []
        if let first = runs.first {
            through.append(LineChart.Series(label: "offered", style: "offered",
                                            points: perMinute(first.timeSeries.offered, first.timeSeries.binS)))
            let rpm = report.scenario.keys.map { $0.reduce(0) { $0 + $1.rpm } } ?? report.scenario.limits.rpm
            let peak = through.flatMap { $0.points.map(\.y) }.max() ?? 0
            // A limit far above the traffic would flatten every line to the floor.
            if rpm > 0 && rpm <= Swift.max(peak, 1) * 2 {
                throughRefs.append(.init(orientation: .horizontal, value: rpm, label: "RPM limit \(Fmt.amount(rpm))", style: "limit"))
            }
        }
        h += figure(
            LineChart(id: "c-throughput", title: "Succeeded requests per minute over time",
                      summary: "Requests that succeeded, by completion time, per minute \(over) (bins of \(bin)); dashed grey: offered arrivals. "
                          + seriesSummary(through) { "peak \(Fmt.fixed($0.map(\.y).max() ?? 0, 1))/min" },
                      x: xTime, y: .init(title: "succeeded / min", unit: "", fixed: nil, include: [0]),
                      series: through, references: throughRefs),
            caption: "Throughput", sub: "succeeded per minute, by completion; dashed: offered arrivals")

        // Failed attempts by cause, one chart per cause that occurred.
        let causes = failureCauses()
        for (k, cause) in causes.enumerated() {
            let series = runs.enumerated().map { i, r in
                LineChart.Series(label: r.strategy, style: HTMLReport.strategyClass(i),
                                 points: perMinute(failures(r.timeSeries, cause), r.timeSeries.binS), key: i)
            }
            let name = causeName(cause)
            h += figure(
                LineChart(id: k == 0 && cause == "429" ? "c-429" : "c-fail-\(k)", title: "\(name) per minute over time",
                          summary: "Attempts answered \(name), by answer time, per minute \(over). "
                              + seriesSummary(series) { "peak \(Fmt.fixed($0.map(\.y).max() ?? 0, 1))/min" },
                          x: xTime, y: .init(title: "attempts / min", unit: "", fixed: nil, include: [0]), series: series),
                caption: "Failed attempts: \(name)", sub: causeNote(cause))
        }
        h += "</div>"
        let quiet = ["429", "529", "5xx", "timeout"].filter { c in !causes.contains { $0 == c || $0.hasPrefix(c + ":") } }
        if !quiet.isEmpty && !runs.isEmpty {
            h += "<p class=\"lede\">No attempt ended in \(quiet.map(causeName).joined(separator: ", ")).</p>"
        }
        h += inFlightMultiples(div: div, xTime: xTime)
        h += bucketMultiples(div: div, xTime: xTime)
        h += limiterStateMultiples(div: div, xTime: xTime)
        return h + "</section>\n"
    }

    /// Causes in the time series, 429s (by dimension) first; just "429" for reports without them.
    func failureCauses() -> [String] {
        guard runs.contains(where: { $0.timeSeries.failuresByCause != nil }) else {
            return runs.contains { $0.timeSeries.status429.contains { $0 > 0 } } || runs.isEmpty ? ["429"] : []
        }
        var totals: [String: Int] = [:]
        for r in runs { for (c, v) in r.timeSeries.failuresByCause ?? [:] { totals[c, default: 0] += v.reduce(0, +) } }
        func rank(_ c: String) -> Int {
            c.hasPrefix("429") ? 0 : c == "529" ? 1 : c == "5xx" ? 2 : c == "timeout" ? 3 : c == "connection_error" ? 4 : 5
        }
        // 429s first, the most frequent dimension first; then 529, 5xx, timeouts, the rest.
        return totals.filter { $0.value > 0 }.keys.sorted {
            (rank($0), -totals[$0]!, $0) < (rank($1), -totals[$1]!, $1)
        }
    }

    func failures(_ t: TimeSeries, _ cause: String) -> [Int] {
        if let f = t.failuresByCause { return f[cause] ?? t.offered.map { _ in 0 } }
        return cause == "429" ? t.status429 : []
    }

    func causeName(_ cause: String) -> String {
        if cause.hasPrefix("429:") {
            return "429 (" + cause.dropFirst(4).replacingOccurrences(of: "_", with: " ") + ")"
        }
        if cause.hasPrefix("stream_error:") {
            return "broken streams (" + cause.dropFirst(13).replacingOccurrences(of: "_", with: " ") + ")"
        }
        switch cause {
        case "5xx": return "other 5xx"
        case "timeout": return "timeouts"
        case "connection_error": return "connection errors"
        default: return cause.replacingOccurrences(of: "_", with: " ")
        }
    }

    func causeNote(_ cause: String) -> String {
        if cause.hasPrefix("429:") { return "refused by the server's " + cause.dropFirst(4).replacingOccurrences(of: "_", with: " ") + " bucket" }
        if cause.hasPrefix("stream_error:") { return "a 200 whose stream ended in an error event" }
        switch cause {
        case "429": return "refused attempts"
        case "529": return "overloaded_error answers"
        case "5xx": return "api_error and other 5xx answers"
        case "timeout": return "attempts the client timed out"
        case "connection_error": return "connections refused, reset or closed early"
        default: return "attempts per minute"
        }
    }

    /// Attempts in flight, one small chart per strategy on one y scale, each time axis its own run.
    func inFlightMultiples(div: Double, xTime: LineChart.Axis) -> String {
        let peak = Double(runs.map { $0.timeSeries.inFlight.max() ?? 0 }.max() ?? 0)
        var h = "<h3>Attempts in flight</h3><p class=\"lede\">Attempts sent and not yet answered at the end of each bin; "
        h += "one chart per strategy, all on one vertical scale.</p><div class=\"charts three small\">"
        for (i, r) in runs.enumerated() {
            let s = LineChart.Series(label: r.strategy, style: HTMLReport.strategyClass(i),
                                     points: r.timeSeries.inFlight.enumerated().map { k, v in
                                         (Double(k + 1) * r.timeSeries.binS / div, Double(v))
                                     }, key: i)
            h += smallFigure(
                LineChart(id: "c-inflight-\(i)", title: "Attempts in flight over time: \(r.strategy)",
                          summary: "Attempts sent and not yet answered, at the end of each bin. "
                              + seriesSummary([s]) { "peak \(Fmt.amount($0.map(\.y).max() ?? 0))" },
                          x: xTime, y: .init(title: "in flight", unit: "", fixed: nil, include: [0, peak]),
                          series: [s], width: 380, height: 190),
                index: i)
        }
        return h + "</div>"
    }

    /// Server buckets as a share of capacity (limit × burst), so the three dimensions and any tier
    /// read on one scale; below zero is debt from tokens charged after admission. One small chart
    /// per strategy, its colour throughout, the dimensions told apart by dashes.
    func bucketMultiples(div: Double, xTime: LineChart.Axis) -> String {
        let l = report.scenario.limits
        let key0 = report.scenario.keys?.first
        let dims: [(String, String, Double, (TimeSeries) -> [Double])] = [
            ("requests", "requests", (key0?.rpm ?? l.rpm) * l.burst, { $0.bucketRequests }),
            ("input", "input tokens", (key0?.itpm ?? l.itpm) * l.burst, { $0.bucketInputTokens }),
            ("output", "output tokens", (key0?.otpm ?? l.otpm) * l.burst, { $0.bucketOutputTokens }),
        ]
        var h = "<h3>Server bucket levels</h3><p class=\"lede\">What remains in the first key's buckets as a share of "
        h += "capacity (" + dims.map { "\($0.1) \(Fmt.amount($0.2))" }.joined(separator: ", ") + "); below 0 is debt.</p>"
        h += "<ul class=\"legend\"><li><i class=\"sw dim-requests\"></i>requests</li><li><i class=\"sw dim-input\"></i>input tokens</li>"
        h += "<li><i class=\"sw dim-output\"></i>output tokens</li></ul><div class=\"charts three small\">"
        for (i, r) in runs.enumerated() {
            let series = dims.map { key, name, capacity, get in
                LineChart.Series(label: name, style: HTMLReport.strategyClass(i) + " dim-" + key,
                                 points: capacity > 0 && capacity.isFinite
                                     ? get(r.timeSeries).enumerated().map { k, v in
                                         (Double(k) * r.timeSeries.bucketSampleS / div, v / capacity * 100)
                                     }
                                     : [], key: i)
            }
            h += smallFigure(
                LineChart(id: "c-bucket-\(i)", title: "Server bucket levels over time: \(r.strategy)",
                          summary: "Remaining in the server's buckets as a percentage of capacity; below 0 is debt. "
                              + seriesSummary(series) { "minimum \(Fmt.fixed($0.map(\.y).min() ?? 0, 1))%" },
                          x: xTime, y: .init(title: "% of capacity", unit: "%", fixed: nil, include: [0, 100]),
                          series: series,
                          references: [.init(orientation: .horizontal, value: 0, label: "", style: "zero")],
                          belowZero: "debt", emptyMessage: "no bucket samples (live runs cannot see them)",
                          width: 380, height: 190),
                index: i)
        }
        return h + "</div>"
    }

    /// The strategies' state gauges (`time_series.limiter_state`), one small chart per strategy
    /// that has any, sampled with the bucket levels. Gauges of different units share a chart,
    /// so each is drawn as a percentage of its own largest magnitude in the run, which its
    /// label states; the strategy's colour throughout, the gauges told apart by dashes.
    func limiterStateMultiples(div: Double, xTime: LineChart.Axis) -> String {
        let withGauges = runs.indices.filter { !(runs[$0].timeSeries.limiterState ?? []).isEmpty }
        guard !withGauges.isEmpty else { return "" }
        var h = "<h3 id=\"limiter-state\">Limiter state</h3><p class=\"lede\">What each strategy's limiter holds over time "
        h += "(tokens, remaining, limits, probabilities; the names are listed in docs/strategies.md), sampled with the "
        h += "bucket levels. Each gauge is a percentage of its own largest magnitude in the run, stated in its label; "
        h += "report.json has the values.</p><div class=\"charts three small\">"
        for i in withGauges {
            let r = runs[i]
            let all = r.timeSeries.limiterState ?? []
            let gauges = all.prefix(HTMLReport.maxGaugesDrawn)
            let series = gauges.enumerated().map { g, gauge in
                let peak = gauge.values.compactMap { $0.map(Swift.abs) }.max() ?? 0
                let scale = peak > 0 && peak.isFinite ? 100 / peak : 0
                return LineChart.Series(
                    label: "\(gauge.name) (100% = \(Fmt.amount(peak)))",
                    style: HTMLReport.strategyClass(i) + " g\(g % 6)",
                    points: gauge.values.enumerated().compactMap { k, v in
                        v.map { (Double(k) * r.timeSeries.bucketSampleS / div, $0 * scale) }
                    }, key: i)
            }
            let chart = LineChart(
                id: "c-limiter-\(i)", title: "Limiter state over time: \(r.strategy)",
                summary: "The strategy's state gauges as a percentage of each one's largest magnitude. "
                    + seriesSummary(series) { "last \(Fmt.fixed($0.last?.y ?? 0, 1))%" },
                x: xTime, y: .init(title: "% of peak", unit: "%", fixed: nil, include: [0, 100]),
                series: series, references: [.init(orientation: .horizontal, value: 0, label: "", style: "zero")],
                emptyMessage: "no limiter state samples", width: 380, height: 190)
            var legend = gauges.indices.map { g in
                "<li><i class=\"sw \(HTMLReport.strategyClass(i)) g\(g % 6)\"></i>\(esc(gauges[g].name))</li>"
            }.joined()
            if all.count > gauges.count { legend += "<li>… \(all.count - gauges.count) more in report.json</li>" }
            h += "<figure class=\"sm\" data-s=\"\(i)\"><figcaption>\(swatch(i))\(label(i))</figcaption>\(chart.svg())"
            h += "<ul class=\"legend gauges\">\(legend)</ul></figure>"
        }
        return h + "</div>"
    }

    func smallFigure(_ chart: LineChart, index i: Int) -> String {
        "<figure class=\"sm\" data-s=\"\(i)\"><figcaption>\(swatch(i))\(label(i))</figcaption>\(chart.svg())</figure>"
    }

    func cdfChart(id: String, what: String, of cdf: (RunSummary) -> CDFPoints?, withSLO: Bool) -> String {
        let series = runs.enumerated().map { i, r in
            LineChart.Series(label: r.strategy, style: HTMLReport.strategyClass(i),
                             points: cdf(r.summary).map { c in zip(c.s, c.p).map { ($0, $1 * 100) } } ?? [], key: i)
        }
        let values = series.flatMap { $0.points.map(\.x) }.filter { $0 > 0 && $0.isFinite }
        // Log scale only when the times span more than two decades.
        let log = (values.max() ?? 1) / (values.min() ?? 1) > 100
        var refs: [LineChart.Reference] = []
        if withSLO, let slo = runs.lazy.compactMap(\.summary.slo).first {
            // An SLO far right of every success would squash the curves into the left edge.
            let near = slo.latencyS <= 2 * (values.max() ?? 0)
            refs.append(.init(orientation: .vertical, value: slo.latencyS,
                              label: "SLO \(Fmt.secondsShort(slo.latencyS))" + (near ? "" : " (off the axis: every success is within it)"),
                              style: "slo", extendsDomain: near))
        }
        let lower = what == "TTFT" ? "time to first token" : "latency"
        let chart = LineChart(
            id: id, title: "\(what) CDF of succeeded requests",
            summary: "Share of succeeded requests with a \(lower) from intended arrival within a given time"
                + (log ? " (log time axis). " : ". ")
                + seriesSummary(series) { pts in
                    let p50 = pts.first { $0.y >= 50 }?.x, p99 = pts.first { $0.y >= 99 }?.x
                    return "p50 \(p50.map(Fmt.seconds) ?? "–"), p99 \(p99.map(Fmt.seconds) ?? "–")"
                },
            x: .init(title: "\(lower) from intended arrival" + (log ? " (log scale)" : ""), unit: " s", fixed: nil,
                     include: log ? [] : [0], log: log, short: "within"),
            y: .init(title: "% of succeeded requests", unit: "%", fixed: 0...100),
            series: series, references: refs, emptyMessage: "no succeeded requests", holdsLast: true)
        return figure(chart, caption: "\(what) CDF",
                      sub: what == "TTFT" ? "intended arrival → first token, succeeded requests"
                          : "succeeded requests only; failures and drops count against the SLO column")
    }

    /// A chart with a legend of what is not a strategy (the strategies' legend heads the section).
    func figure(_ chart: LineChart, caption: String, sub: String) -> String {
        var h = "<figure><figcaption>\(esc(caption))<span class=\"sub\">\(esc(sub))</span></figcaption>"
        h += chart.svg()
        var extra = ""
        for s in chart.series where s.key == nil { extra += "<li><i class=\"sw \(s.style)\"></i>\(esc(s.label))</li>" }
        for r in chart.references where !r.label.isEmpty && r.style != "zero" {
            extra += "<li><i class=\"sw \(r.style)\"></i>\(esc(r.label))</li>"
        }
        if !extra.isEmpty { h += "<ul class=\"legend\">\(extra)</ul>" }
        return h + "</figure>"
    }

    /// "label: fact; label: fact." for a chart's `<desc>`.
    func seriesSummary(_ series: [LineChart.Series], _ fact: ([(x: Double, y: Double)]) -> String) -> String {
        series.filter { !$0.points.isEmpty }.map { "\($0.label): \(fact($0.points))" }.joined(separator: "; ") + "."
    }

    /// Counts as a rate per minute over a trailing window, plotted at each bin's end from the
    /// first full window on. Scaling single short bins instead turns noise into spikes, and a
    /// partial window at the start would overstate the first few arrivals.
    func perMinute(_ counts: [Int], bin: Double, window: Double, div: Double) -> [(x: Double, y: Double)] {
        guard bin > 0 else { return [] }
        let m = Swift.max(1, Int((window / bin).rounded()))
        var sum = 0
        var out: [(x: Double, y: Double)] = []
        out.reserveCapacity(counts.count)
        for k in counts.indices {
            sum += counts[k]
            if k >= m { sum -= counts[k - m] }
            if k + 1 >= Swift.min(m, counts.count) {
                out.append((Double(k + 1) * bin / div, Double(sum) / (Double(Swift.min(k + 1, m)) * bin) * 60))
            }
        }
        return out
    }

    /// The end of the longest time series: picks the time unit and the rate window for every chart.
    func timeSpan() -> Double {
        runs.reduce(report.arrivals.windowS) { end, r in
            let t = r.timeSeries
            let samples = Swift.max(t.bucketRequests.count, t.limiterState?.first?.values.count ?? 0)
            return Swift.max(end, Double(t.offered.count) * t.binS, Double(Swift.max(0, samples - 1)) * t.bucketSampleS)
        }
    }

    // MARK: Tables

    func failures() -> String {
        var h = "<section><h2 id=\"failures\">Failures and drops</h2>"
        h += "<p class=\"lede\">Failed: gave up after at least one attempt. Dropped: never sent, or abandoned by the client.</p>"
        h += "<div class=\"scroll\"><table id=\"failures-table\"><thead><tr><th class=\"name\" scope=\"col\">strategy</th>"
        h += "<th scope=\"col\">failed</th><th class=\"name\" scope=\"col\">last answer</th>"
        h += "<th class=\"name\" scope=\"col\">gave up because</th><th scope=\"col\">dropped</th>"
        h += "<th class=\"name\" scope=\"col\">drop reasons</th><th class=\"name\" scope=\"col\">429s by dimension</th>"
        h += "<th class=\"name\" scope=\"col\">attempts by status</th></tr></thead><tbody>"
        for (i, run) in runs.enumerated() {
            let s = run.summary
            h += "<tr><th scope=\"row\">\(swatch(i))\(label(i))</th>"
            h += "<td title=\"\(Fmt.pct(Double(s.requests.failed) / Double(Swift.max(1, s.requests.offered)), 2)) of offered\">"
            h += "\(Fmt.grouped(s.requests.failed))</td>"
            h += "<td class=\"list\">\(kv(s.failedByCause))</td><td class=\"list\">\(kv(s.failedByReason))</td>"
            h += "<td title=\"\(Fmt.pct(Double(s.requests.dropped) / Double(Swift.max(1, s.requests.offered)), 2)) of offered\">"
            h += "\(Fmt.grouped(s.requests.dropped))</td>"
            h += "<td class=\"list\">\(kv(s.droppedByReason))</td><td class=\"list\">\(kv(s.refusalsByDimension))</td>"
            h += "<td class=\"list\">\(kv(s.statusCounts, numericKeys: true))</td></tr>"
        }
        return h + "</tbody></table></div></section>\n"
    }

    func kv(_ d: [String: Int], numericKeys: Bool = false) -> String {
        guard !d.isEmpty else { return "<span class=\"none\">–</span>" }
        let keys = d.keys.sorted { a, b in
            if numericKeys, let x = Int(a), let y = Int(b) { return x < y }
            return a < b
        }
        return keys.map { "<span class=\"kv\"><span class=\"mono\">\(esc($0))</span><b>\(Fmt.grouped(d[$0]!))</b></span>" }.joined()
    }

    func spans() -> String {
        let spans: [(String, String, (RunSummary) -> Percentiles)] = [
            ("latency", "intended arrival → success", { $0.latencyS }),
            ("TTFT", "intended arrival → first token", { $0.ttftS }),
            ("service", "last send → completion", { $0.serviceLatencyS }),
            ("limiter queue", "held by the client, per request", { $0.queueWaitS }),
            ("backoff", "retry waits, per request", { $0.backoffS }),
        ]
        var h = "<section><h2 id=\"spans\">Latency spans</h2>"
        h += "<p class=\"lede\">Latency, TTFT and service time over succeeded requests; limiter queue and backoff over all requests.</p>"
        h += "<div class=\"scroll\"><table id=\"spans-table\"><thead><tr class=\"group\"><th class=\"name\"></th>"
        for (name, what, _) in spans { h += "<th class=\"g gs\" colspan=\"3\" title=\"\(esc(what))\">\(esc(name))</th>" }
        h += "</tr><tr><th class=\"name\" scope=\"col\">strategy</th>"
        for _ in spans { h += "<th class=\"gs\" scope=\"col\">p50</th><th scope=\"col\">p90</th><th scope=\"col\">p99</th>" }
        h += "</tr></thead><tbody>"
        for (i, run) in runs.enumerated() {
            h += "<tr><th scope=\"row\">\(swatch(i))\(label(i))</th>"
            for (_, _, get) in spans {
                let p = get(run.summary)
                for (name, v) in [("p50", p.p50), ("p90", p.p90), ("p99", p.p99)] {
                    let open = name == "p50" ? "<td class=\"gs\"" : "<td"
                    if p.count == 0 { h += open + "><span class=\"none\">–</span></td>"; continue }
                    h += open + " title=\"\(name) \(Fmt.exact(v)) s · mean \(Fmt.exact(p.mean)) s · max \(Fmt.exact(p.max)) s"
                    h += " · n \(p.count)\">"
                    h += "\(Fmt.seconds(v))</td>"
                }
            }
            h += "</tr>"
        }
        return h + "</tbody></table></div></section>\n"
    }

    /// Per-worker table, fairness and collective overshoot; nothing for single-worker runs.
    func workers() -> String {
        guard runs.contains(where: { $0.summary.workers != nil || $0.summary.fallback != nil }) else { return "" }
        var h = "<section><h2 id=\"workers\">Workers of the organisation</h2>"
        h += "<p class=\"lede\">Each worker is a client process with its own copy of the strategy; the limits belong to "
        h += "the organisation. Jain's index (1 = every worker served in proportion to its offered load) and overshoot "
        h += "(peak sends per minute over the limits) are defined in docs/metrics.md.</p>"
        h += "<div class=\"scroll\"><table id=\"workers-table\"><thead><tr><th class=\"name\" scope=\"col\">strategy</th>"
        h += "<th scope=\"col\">worker</th><th scope=\"col\">offered</th><th scope=\"col\">succeeded</th>"
        h += "<th scope=\"col\">429s</th><th scope=\"col\">goodput/min</th><th scope=\"col\">via fallback</th>"
        h += "<th scope=\"col\">Jain's index</th><th scope=\"col\">overshoot</th></tr></thead><tbody>"
        for (i, run) in runs.enumerated() {
            let s = run.summary
            guard let w = s.workers else {
                let f = s.fallback
                h += "<tr><th scope=\"row\">\(swatch(i))\(label(i))</th><td>all</td>"
                h += "<td>\(Fmt.grouped(s.requests.offered))</td><td>\(Fmt.grouped(s.requests.succeeded))</td>"
                h += "<td>\(Fmt.grouped(s.statusCounts["429"] ?? 0))</td><td>\(Fmt.fixed(s.goodput.requestsPerMin, 1))</td>"
                h += "<td>\(Fmt.grouped((f?.attempts ?? 0) + (f?.dropped ?? 0)))</td>"
                h += "<td><span class=\"none\">–</span></td><td><span class=\"none\">–</span></td></tr>"
                continue
            }
            let o = w.overshoot
            let overshootTitle = "peak \(o.peakSendsPerWindow) sends in 60 s from \(Fmt.fixed(o.peakAtS, 1)) s; "
                + "requests \(Fmt.fixed(o.requestsRatio, 2))×, input tokens \(Fmt.fixed(o.inputTokensRatio, 2))× the limits"
            for (k, ws) in w.perWorker.enumerated() {
                h += "<tr>" + (k == 0 ? "<th scope=\"row\" rowspan=\"\(w.perWorker.count)\">\(swatch(i))\(label(i))</th>" : "")
                h += "<td>\(ws.worker)</td><td>\(Fmt.grouped(ws.offered))</td><td>\(Fmt.grouped(ws.succeeded))</td>"
                h += "<td>\(Fmt.grouped(ws.status429))</td><td>\(Fmt.fixed(ws.goodputRequestsPerMin, 1))</td>"
                h += "<td>\(Fmt.grouped(ws.fallbackAttempts))</td>"
                if k == 0 {
                    let jain = w.jainIndex.map { Fmt.fixed($0, 3) } ?? "<span class=\"none\">n/a</span>"
                    h += "<td rowspan=\"\(w.perWorker.count)\">\(jain)</td>"
                    h += "<td rowspan=\"\(w.perWorker.count)\" title=\"\(esc(overshootTitle))\">\(Fmt.fixed(o.ratio, 2))×</td>"
                }
                h += "</tr>"
            }
        }
        return h + "</tbody></table></div></section>\n"
    }

    // MARK: Footer

    func footer() -> String {
        var h = "<footer>"
        h += "<p><strong>Latency</strong> is measured from each request's intended arrival (not from when it was sent), "
        h += "so client-side queueing and retry backoff are included.</p>"
        h += "<p><strong>Quantiles:</strong> \(esc(report.quantileDefinition)).</p>"
        if let ci = runs.lazy.compactMap(\.summary.confidence).first {
            h += "<p><strong>Confidence intervals:</strong> \(Fmt.pct(ci.latencyP99S.level, 0)) percentile bootstrap"
            if ci.latencyP99S.resamples > 0 { h += " (\(Fmt.grouped(ci.latencyP99S.resamples)) resamples)" }
            h += ", seeded from the scenario seed: latency quantiles resample the succeeded requests; goodput resamples "
            h += "each offered request's success (binomial).</p>"
        } else {
            h += "<p><strong>Confidence intervals:</strong> not computed for this report.</p>"
        }
        h += "<p><strong>Utilisation</strong> is achieved throughput over the limit of the keys used, across the goodput window. "
        h += "<strong>Cost</strong> uses the catalog's list prices for successful attempts only"
        if let src = runs.lazy.compactMap(\.summary.cost).first?.priceSource { h += " (\(esc(src)))" }
        h += ".</p>"
        h += "<p>\(esc(report.generator)) · schema \(esc(report.schema)) · \(esc(report.generatedAt))</p>"
        return h + "</footer>\n"
    }
}
