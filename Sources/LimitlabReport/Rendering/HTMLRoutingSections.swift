import LimitlabStats

/// The sections of report.html for deferred and routed work: "Batch offload" (`summary.deferral`)
/// and "Models" (`summary.models`, with `summary.trim`). Each is empty when no run has its data.
enum HTMLRoutingSections {
    typealias Fmt = HTMLFormat
    typealias Cell = HTMLTable.Cell

    static func strategyCell(_ report: Report, _ i: Int, rows: Int = 1) -> Cell {
        Cell(html: "<i class=\"sw \(HTMLReport.strategyClass(i))\"></i>\(HTMLText.escape(report.runs[i].strategy))",
             rowSpan: rows, rowHeader: true)
    }

    /// `30 s`, `2 h`: a latency limit as the scenario writes it.
    static func limitText(_ s: Double) -> String { s >= 60 ? Fmt.duration(s) : Fmt.secondsShort(s) }

    static func usd(_ v: Double?) -> Cell {
        guard let v else { return Cell(html: "<span class=\"none\">n/a</span>", title: "no list price for the model") }
        return Cell(html: Fmt.usd(v), title: "\(Fmt.exact(v)) USD")
    }

    /// Succeeded, the share of offered underneath (the count offered on hover).
    static func succeeded(_ c: RequestCounts) -> Cell {
        let share = c.offered > 0 ? Fmt.pct(Double(c.succeeded) / Double(c.offered)) : "none offered"
        return Cell(html: Fmt.grouped(c.succeeded) + "<span class=\"sub\">\(share)</span>",
                    title: "\(c.succeeded) of \(c.offered) succeeded, \(c.failed) failed, \(c.dropped) dropped")
    }

    static func slo(_ o: SLOResult?) -> Cell {
        guard let o else { return .none }
        let mark = o.met == true ? " <span class=\"ok\">✓</span>" : o.met == false ? " <span class=\"bad\">✗</span>" : ""
        return Cell(html: Fmt.pct(o.attainment) + mark,
                    title: "attainment \(Fmt.exact(o.attainment)) within \(Fmt.exact(o.latencyS)) s"
                        + (o.target.map { ", target \(Fmt.exact($0))" } ?? ""))
    }

    /// `p50 / p99` of a span; a dash without samples.
    static func pair(_ p: Percentiles) -> Cell {
        guard p.count > 0 else { return .none }
        return Cell(html: "\(Fmt.seconds(p.p50)) / \(Fmt.seconds(p.p99))",
                    title: "p50 \(Fmt.exact(p.p50)) s · p99 \(Fmt.exact(p.p99)) s · max \(Fmt.exact(p.max)) s · n \(p.count)")
    }

    // MARK: Batch offload

    /// Per strategy: urgent and deferrable requests against their own SLOs with their latency,
    /// requests served through the Message Batches API, the batch turnaround, and the cost
    /// against sending every request in real time.
    static func batchOffload(_ report: Report) -> String {
        let runs = report.runs
        guard let first = runs.lazy.compactMap(\.summary.deferral).first else { return "" }
        let urgentLimit = first.urgent.slo.map { " ≤ " + limitText($0.latencyS) } ?? ""
        let deferLimit = first.deferrable.slo.map { " ≤ " + limitText($0.latencyS) } ?? ""
        let target = (first.urgent.slo?.target ?? first.deferrable.slo?.target).map { "target \(Fmt.trimmed($0 * 100, 2))%" }
        typealias C = HTMLTable.Column
        let columns = [
            C(header: "strategy", text: true),
            C(header: "succeeded", note: "of offered", group: "urgent requests"),
            C(header: "SLO" + urgentLimit, note: target, group: "urgent requests"),
            C(header: "p50 / p99", group: "urgent requests"),
            C(header: "succeeded", note: "of offered", group: "deferrable requests"),
            C(header: "SLO" + deferLimit, note: target, group: "deferrable requests"),
            C(header: "via batch", group: "deferrable requests"),
            C(header: "p50 / p99", group: "deferrable requests"),
            C(header: "p50 / p99", group: "batch turnaround"),
            C(header: "this strategy", group: "cost"),
            C(header: "all real-time", note: "standard price", group: "cost"),
            C(header: "saved", group: "cost"),
        ]
        var rows: [[Cell]] = []
        for (i, run) in runs.enumerated() {
            guard let d = run.summary.deferral else { continue }
            let ok = d.deferrable.requests.succeeded
            let via = Cell(html: Fmt.grouped(d.viaBatch) + (ok > 0 ? "<span class=\"sub\">\(Fmt.pct(Double(d.viaBatch) / Double(ok)))</span>" : ""),
                           title: "\(d.viaBatch) of \(ok) succeeded deferrable requests through a Message Batch")
            var saved = usd(d.savedUSD)
            if let s = d.savedUSD, let rt = d.realtimeCostUSD, rt > 0 {
                saved.html += "<span class=\"sub\">\(Fmt.pct(s / rt))</span>"
            }
            rows.append([
                strategyCell(report, i),
                succeeded(d.urgent.requests), slo(d.urgent.slo), pair(d.urgent.latencyS),
                succeeded(d.deferrable.requests), slo(d.deferrable.slo), via, pair(d.deferrable.latencyS),
                pair(d.batchTurnaroundS), usd(d.costUSD), usd(d.realtimeCostUSD), saved,
            ])
        }
        var h = "<section><h2 id=\"batch-offload\">Batch offload</h2>"
        h += "<p class=\"lede\">Urgent requests are judged against the scenario's SLO, deferrable ones against "
        h += "<code>workload.deferrable.latency</code>; latency runs from intended arrival to success. Via batch: "
        h += "deferrable requests whose successful attempt went through the Message Batches API (at the batch price), "
        h += "with their share of the deferrable successes; batch turnaround: from a batch's creation to its result being seen. "
        h += "All real-time prices the same successful requests at the standard price; saved is the difference.</p>"
        h += HTMLTable(id: "batch-table", columns: columns, rows: rows).html()
        return h + "</section>\n"
    }

    // MARK: Models

    /// Per strategy and model class: attempts, successes, 429s, 529s and cost; the prompt tokens
    /// a `trim:` policy removed, per strategy, when any run trimmed. Without `models:` but with
    /// trimming, only the trimming table.
    static func models(_ report: Report) -> String {
        let runs = report.runs
        let withModels = runs.contains { $0.summary.models != nil }
        let withTrim = runs.contains { $0.summary.trim != nil }
        guard withModels || withTrim else { return "" }
        typealias C = HTMLTable.Column
        func trimCell(_ t: TrimSummary?, rows: Int) -> Cell {
            guard let t else { var c = Cell.none; c.rowSpan = rows; return c }
            return Cell(html: Fmt.grouped(t.tokensTrimmed)
                            + "<span class=\"sub\">\(Fmt.grouped(t.attemptsTrimmed)) attempts · \(Fmt.fixedGrouped(t.perRequest, 1))/request</span>",
                        title: "\(t.tokensTrimmed) prompt tokens trimmed in \(t.attemptsTrimmed) attempts of \(t.requestsTrimmed) "
                            + "requests; \(Fmt.exact(t.perRequest)) per offered request, \(Fmt.exact(t.perTrimmedRequest)) per trimmed request",
                        rowSpan: rows)
        }
        var h = "<section><h2 id=\"models\">\(withModels ? "Models" : "Prompt trimming")</h2>"
        guard withModels else {
            h += "<p class=\"lede\">Prompt tokens a <code>trim:</code> policy removed before sending, over all attempts.</p>"
            let columns = [C(header: "strategy", text: true), C(header: "tokens trimmed", note: "attempts · per offered request")]
            let rows = runs.indices.map { [strategyCell(report, $0), trimCell(runs[$0].summary.trim, rows: 1)] }
            return h + HTMLTable(id: "trim-table", columns: columns, rows: rows).html() + "</section>\n"
        }
        h += "<p class=\"lede\">Where each strategy's attempts went, per model class (the scenario's model first). "
        h += "Succeeded: requests whose successful attempt went to the model. Cost: successful attempts at that "
        h += "model's list prices."
        if withTrim { h += " Tokens trimmed: prompt tokens a <code>trim:</code> policy removed, over all attempts." }
        h += "</p>"
        var columns = [
            C(header: "strategy", text: true), C(header: "model", text: true),
            C(header: "attempts", note: "share of the strategy's"), C(header: "succeeded"),
            C(header: "429s", note: "of attempts"), C(header: "529s"), C(header: "cost"),
        ]
        if withTrim { columns.append(C(header: "tokens trimmed", note: "attempts · per offered request")) }
        var rows: [[Cell]] = []
        for (i, run) in runs.enumerated() {
            let models = run.summary.models ?? []
            guard !models.isEmpty else { continue }
            let total = models.reduce(0) { $0 + $1.attempts }
            for (k, m) in models.enumerated() {
                var row = k == 0 ? [strategyCell(report, i, rows: models.count)] : []
                let rate = m.attempts > 0 ? Fmt.pct(Double(m.status429) / Double(m.attempts)) : "–"
                row += [
                    Cell(html: "<span class=\"mono\">\(HTMLText.escape(m.model))</span>"),
                    Cell(html: Fmt.grouped(m.attempts)
                             + (total > 0 ? "<span class=\"sub\">\(Fmt.pct(Double(m.attempts) / Double(total)))</span>" : ""),
                         title: "\(m.attempts) of \(total) attempts"),
                    Cell(html: Fmt.grouped(m.succeeded)),
                    Cell(html: Fmt.grouped(m.status429) + "<span class=\"sub\">\(rate)</span>"),
                    Cell(html: Fmt.grouped(m.status529)),
                    usd(m.costUSD),
                ]
                if withTrim && k == 0 { row.append(trimCell(run.summary.trim, rows: models.count)) }
                rows.append(row)
            }
        }
        return h + HTMLTable(id: "models-table", columns: columns, rows: rows).html() + "</section>\n"
    }
}
