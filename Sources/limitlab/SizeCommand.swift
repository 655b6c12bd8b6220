import ArgumentParser
import Foundation
import LimitlabCore
import LimitlabReport

struct SizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "size",
        abstract: "Find the smallest tier (or, with --custom, the smallest scaling of the limits) that meets an SLO.",
        discussion: """
            Conditions: METRIC OP VALUE joined by commas, e.g. "p99<30s,success>=0.99". Metrics:
            latency.p50 … latency.p999 (or p50 … p999), ttft.p50, ttft.p99, success_rate (success),
            rate_429, slo.attainment (slo), goodput.requests_per_min (goodput), attempts_per_success,
            cost.total_usd. Latencies take units (30s, 500ms); rates take 0.99 or 99%. A metric that
            is not measured (no successes) never meets its condition.
            """)

    @Argument(help: "Scenario file (YAML).")
    var scenario: String
    @Option(help: "The SLO, e.g. \"p99<30s,success>=0.99\".")
    var slo: String
    @Option(name: .customLong("catalog-scheme"), help: "Tier scheme to search: classic (Tier 1-4) or 2026 (Start/Build/Scale).")
    var catalogScheme = "classic"
    @Flag(help: "Search a scaling factor of the scenario's own RPM/ITPM/OTPM instead of catalog tiers.")
    var custom = false
    @Option(help: "Strategy label to size for (default: the scenario's first).")
    var strategy: String?
    @Option(help: "Seed (overrides the scenario's).")
    var seed: UInt64?
    @Option(help: "Directory for size.json, new or empty (default: reports/<scenario>-size-<timestamp>/).")
    var out: String?
    @Flag(help: "Print the result as JSON.")
    var json = false

    func run() throws {
        let conditions: [Condition]
        do { conditions = try Condition.parseList(slo) } catch { throw CLIFailure.badInput("--slo \(error)") }
        let sc = try ScenarioInput.load(scenario, seed: seed, strategies: strategy)
        let directory = out ?? ScenarioInput.defaultDirectory(for: sc.name, suffix: "-size")
        try OutputPath.checkNewDirectory(directory)
        guard let spec = sc.strategies.first else { throw CLIFailure.badInput("\(scenario) has no strategy") }
        if !custom && !TierCatalog.builtIn.schemes.contains(where: { $0.id == catalogScheme }) {
            throw CLIFailure.badInput("--catalog-scheme \(catalogScheme): expected one of "
                                      + TierCatalog.builtIn.schemes.map(\.id).joined(separator: ", "))
        }
        let result: SizingResult
        do {
            result = try Progress("size", total: nil, quiet: json).countingSimulations { custom ? try Sizer.custom(sc, strategy: spec, conditions: conditions)
                : try Sizer.tiers(sc, strategy: spec, conditions: conditions, scheme: catalogScheme) }
        } catch let e as SizingError {
            throw CLIFailure.badInput(e.message)
        } catch {
            throw CLIFailure.badInput("\(scenario): \(error)")
        }
        try ScenarioInput.writeJSON(result, to: directory + "/size.json")
        if json {
            writeStdout(try ScenarioInput.jsonString(result) + "\n")
            return
        }
        var header = ["config", "RPM", "ITPM", "OTPM"]
        header += conditions.map(\.description)
        header.append("meets")
        let trials = custom ? result.trials.sorted { $0.rpm < $1.rpm } : result.trials
        let rows = trials.map { t -> [String] in
            var row = [t.label, grouped(t.rpm), grouped(t.itpm), grouped(t.otpm)]
            for c in conditions {
                let v = t.values[c.metric.rawValue]
                var cell = v.map { c.metric.isLatency ? String(format: "%.2fs", $0) : String(format: "%.4g", $0) } ?? "not measured"
                if let h = t.headroom[c.description] { cell += String(format: " (%+.0f%%)", h * 100) }
                row.append(cell)
            }
            row.append(t.meets ? "yes" : "no")
            return row
        }
        var text = "size \(sc.name) for strategy \(result.strategy): \(result.mode)\nSLO: \(result.slo.joined(separator: ", "))\n\n"
        text += SummaryTable.table(header: header, rows: rows, rightAlignFrom: 1)
        text += "\n(headroom in brackets: how far inside (+) or outside (−) each condition, as a share of its threshold)\n"
        if let r = result.recommendation {
            text += "smallest that meets the SLO: \(r.label) — \(grouped(r.rpm)) RPM / \(grouped(r.itpm)) ITPM / \(grouped(r.otpm)) OTPM\n"
        } else {
            text += "no configuration tried meets the SLO. \(result.note)\n"
        }
        text += "search: \(directory)/size.json\n"
        writeStdout(text)
    }

    func grouped(_ v: Double) -> String {
        let s = String(Int(v.rounded()))
        var out = ""
        for (i, ch) in s.reversed().enumerated() {
            if i > 0 && i % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return String(out.reversed())
    }
}
