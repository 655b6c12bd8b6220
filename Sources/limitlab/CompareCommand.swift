import ArgumentParser
import Foundation
import LimitlabCore
import LimitlabReport
import LimitlabSim
import LimitlabStats

struct CompareCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "compare",
        abstract: "Rank strategies on the identical seeded arrival stream by SLO attainment, goodput, p99 and cost.",
        discussion: """
            Each strategy's difference from the leader comes with a paired bootstrap 95% interval; \
            differences whose interval includes zero are called not significant. Writes the full report \
            (report.json with a "comparison" section, summary.md, event CSVs) to --out.
            """)

    @Argument(help: "Scenario file (YAML).")
    var scenario: String
    @Option(help: "Compare only these strategies (comma-separated labels).")
    var strategies: String?
    @Option(help: "Seed for every random draw (overrides the scenario's).")
    var seed: UInt64?
    @Option(help: "Report directory, new or empty (default: reports/<scenario>-compare-<timestamp>/).")
    var out: String?
    @Flag(help: "Print the comparison as JSON.")
    var json = false

    func run() throws {
        let sc = try ScenarioInput.load(scenario, seed: seed, strategies: strategies)
        guard sc.strategies.count >= 2 else {
            throw CLIFailure.badInput("compare needs at least two strategies; \(scenario) selects \(sc.strategies.count)")
        }
        let directory = out ?? ScenarioInput.defaultDirectory(for: sc.name, suffix: "-compare")
        try OutputPath.checkNewDirectory(directory)
        let result = try ScenarioInput.simulate(sc, path: scenario)
        let runs = result.runs.map { (spec: $0.spec, log: $0.log) }
        var report = ReportWriter.build(scenario: sc, scenarioFile: scenario, stream: result.stream, runs: runs)
        let comparison = Comparer.compare(report: report, stream: result.stream, logs: result.runs.map(\.log), seed: sc.seed)
        report.comparison = comparison
        do { try ReportWriter.write(report: report, stream: result.stream, runs: runs, to: directory) } catch {
            throw CLIFailure.internalError(error.description)
        }
        if json {
            writeStdout(try ScenarioInput.jsonString(comparison) + "\n")
            return
        }
        var rows: [[String]] = []
        for r in comparison.ranking {
            func diff(_ ci: LimitlabStats.ConfidenceInterval?, _ f: (Double) -> String) -> String {
                guard let ci else { return "leader" }
                let text = "\(f(ci.estimate)) [\(f(ci.low)), \(f(ci.high))]"
                return ci.excludesZero ? text : text + " n.s."
            }
            rows.append([
                String(r.rank), r.strategy, pct(r.sloAttainment), String(format: "%.1f", r.goodputRequestsPerMin),
                r.latencyP99S.map { String(format: "%.2fs", $0) } ?? "-", r.costUSD.map { String(format: "$%.2f", $0) } ?? "n/a",
                diff(r.vsLeader?.sloAttainment) { String(format: "%+.1f pp", $0 * 100) },
                diff(r.vsLeader?.goodputRequestsPerMin) { String(format: "%+.1f", $0) },
                diff(r.vsLeader?.latencyP99S) { String(format: "%+.2fs", $0) },
            ])
        }
        var text = "compare \(sc.name): \(result.stream.count) requests, seed \(sc.seed), SLO latency "
            + Units.formatDuration(comparison.sloLatencyS) + "\n\n"
        text += SummaryTable.table(header: ["#", "strategy", "slo", "goodput/min", "p99", "cost", "Δslo vs #1", "Δgoodput", "Δp99"],
                                   rows: rows, rightAlignFrom: 2)
        text += "\nΔ = this − leader, paired bootstrap 95% interval; n.s. = not significant (interval includes 0).\n"
        text += "report: \(directory)/report.json\n"
        writeStdout(text)
    }

    func pct(_ v: Double) -> String { String(format: "%.1f%%", v * 100) }
}
