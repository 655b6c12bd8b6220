import ArgumentParser
import Foundation
import LimitlabCore
import LimitlabReport

struct SizeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "size",
        abstract: "Find the smallest tier (or, with --custom, the smallest scaling of the limits) that meets an SLO, for every strategy.",
        discussion: """
            The SLO is --slo, or else the scenario's slo: (its attainment target at its latency). \
            Conditions: METRIC OP VALUE joined by commas, e.g. "p99<30s,success>=0.99". Metrics: \
            latency.p50 … latency.p999 (or p50 … p999), ttft.p50, ttft.p99, success_rate (success), \
            rate_429, slo.attainment (slo), goodput.requests_per_min (goodput), attempts_per_success, \
            cost.total_usd. Latencies take units (30s, 500ms); rates take 0.99 or 99%. A metric that \
            is not measured (no successes) never meets its condition. With --replications or --seeds a \
            configuration meets the SLO only when each condition holds at its 95% interval's bound. \
            Exit codes: 0 some strategy fits, 3 no configuration tried meets the SLO, 2 bad input. \
            --shard i/n runs a share of the tiers × strategies × seeds and `limitlab merge` joins the \
            shards (docs/sharding.md; not with --custom).
            """)

    @Argument(help: "Scenario file (YAML).")
    var scenario: String
    @Option(help: "The SLO, e.g. \"p99<30s,success>=0.99\" (default: the scenario's slo:).")
    var slo: String?
    @Option(name: .customLong("catalog-scheme"), help: "Tier scheme to search: classic (Tier 1-4) or 2026 (Start/Build/Scale).")
    var catalogScheme = "classic"
    @Flag(help: "Search a scaling factor of the scenario's own RPM/ITPM/OTPM instead of catalog tiers.")
    var custom = false
    @Option(help: "Size only these strategies (comma-separated labels; default: every strategy of the scenario).")
    var strategies: String?
    @Option(help: "Seed (overrides the scenario's).")
    var seed: UInt64?
    @OptionGroup var replication: ReplicationFlags
    @OptionGroup var sharding: ShardFlags
    @Option(help: "Directory for size.json (default: reports/<scenario>-size-<timestamp>/, never an existing one).")
    var out: String?
    @Flag(help: "Overwrite an existing --out folder.")
    var force = false
    @Flag(help: "Print the result as JSON.")
    var json = false

    func run() throws {
        let sc = try ScenarioInput.load(scenario, seed: seed, strategies: strategies)
        guard !sc.strategies.isEmpty else { throw CLIFailure.badInput("\(scenario) has no strategy") }
        let conditions: [Condition]
        let source: String
        if let slo {
            do { conditions = try Condition.parseList(slo) } catch { throw CLIFailure.badInput("--slo \(error)") }
            source = "--slo"
        } else {
            do { conditions = try Sizer.conditions(from: sc) } catch { throw CLIFailure.badInput("\(scenario): \(error.message)") }
            source = "the scenario's slo:"
        }
        if !custom && !TierCatalog.builtIn.schemes.contains(where: { $0.id == catalogScheme }) {
            throw CLIFailure.badInput("--catalog-scheme \(catalogScheme): expected one of "
                                      + TierCatalog.builtIn.schemes.map(\.id).joined(separator: ", "))
        }
        if let out { try OutputFolder.check(out, force: force) }
        let plan = try replication.plan(base: sc.seed)
        let jobs = try replication.width()
        if let shard = try sharding.spec() {
            if custom {
                throw CLIFailure.badInput("--shard cannot split size --custom (a search: each step depends on the last); "
                                          + "shard the catalog tiers, or run --custom on one machine")
            }
            let settings = ["catalog_scheme": catalogScheme, "slo": slo ?? "", "seed": seed.map(String.init) ?? "",
                            "strategies": strategies ?? ""]
            return try Sharding.size(sc, file: scenario, conditions: conditions, scheme: catalogScheme, seeds: plan.seeds,
                                     settings: settings, shard: shard, jobs: jobs, out: out, force: force, quiet: json)
        }
        let result: SizingResult
        do {
            let (custom, scheme, seeds) = (self.custom, catalogScheme, plan.seeds)
            result = try Progress("size", total: nil, quiet: json).countingSimulations { try blocking {
                custom
                    ? try await Sizer.custom(sc, conditions: conditions, seeds: seeds, jobs: jobs, sloSource: source)
                    : try await Sizer.tiers(sc, conditions: conditions, scheme: scheme, seeds: seeds, jobs: jobs,
                                            sloSource: source)
            } }
        } catch let e as SizingError {
            throw CLIFailure.badInput(e.message)
        } catch {
            throw CLIFailure.badInput("\(scenario): \(error)")
        }
        let directory = try OutputFolder.choose(out: out, force: force, name: sc.name, suffix: "-size")
        try ScenarioInput.writeJSON(result, to: directory + "/size.json")
        if json {
            writeStdout(try ScenarioInput.jsonString(result) + "\n")
        } else {
            writeStdout(Self.render(result, conditions: conditions, custom: custom) + "search: \(directory)/size.json\n")
        }
        if !result.fits {
            throw CLIFailure(code: ExitCodes.checkFailed, message: "no configuration tried meets the SLO with any strategy")
        }
    }

    /// The per-tier table: each strategy's decisive values and margin, and which meet the SLO.
    static func render(_ result: SizingResult, conditions: [Condition], custom: Bool) -> String {
        let replicated = result.seeds.count > 1
        func value(_ c: Condition, _ cell: SizingCell) -> String {
            guard let v = cell.values[c.metric.rawValue] else { return "not measured" }
            func show(_ x: Double) -> String {
                c.metric.isLatency ? NumberFormat.seconds(x, threshold: c.threshold)
                    : [.successRate, .sloAttainment, .rate429].contains(c.metric)
                        ? NumberFormat.percent(x, threshold: c.threshold)
                        : NumberFormat.decisive(x, digits: 2, threshold: c.threshold)
            }
            var text = show(v)
            if let iv = cell.intervals?[c.metric.rawValue], iv.n > 1 { text += " [\(show(iv.low)), \(show(iv.high))]" }
            return text
        }
        func margin(_ cell: SizingCell) -> String {
            guard let m = cell.margin else { return "" }
            return " (" + NumberFormat.decisive(m, digits: 0, scale: 100, threshold: 0, signed: true) + "%)"
        }
        var header = ["config", "RPM", "ITPM", "OTPM", "strategy"]
        header += conditions.map(\.description)
        header += ["meets (margin)"]
        let trials = custom ? result.trials.sorted { ($0.cells[0].strategy, $0.rpm) < ($1.cells[0].strategy, $1.rpm) } : result.trials
        var rows: [[String]] = []
        for t in trials {
            for (k, cell) in t.cells.enumerated() {
                let first = k == 0
                var row = first ? [t.label, NumberFormat.grouped(t.rpm), NumberFormat.grouped(t.itpm), NumberFormat.grouped(t.otpm)]
                    : ["", "", "", ""]
                row.append(cell.strategy)
                row += conditions.map { value($0, cell) }
                row.append((cell.meets ? "yes" : "no") + margin(cell))
                rows.append(row)
            }
        }
        var text = "size \(result.scenario): \(result.mode)\n"
        text += "SLO (from \(result.sloSource)): \(result.slo.joined(separator: ", "))\n"
        text += replicated ? "seeds: \(result.seeds.count) (\(result.seeds.first!)..\(result.seeds.last!))\n\n" : "seed: \(result.seeds[0])\n\n"
        text += SummaryTable.table(header: header, rows: rows, rightAlignFrom: 1)
        text += "\nmargin: the smallest headroom over the conditions, as a share of each threshold (+ inside, − outside)"
        text += replicated ? "; values are across-seed means [95% Student t interval], judged at the bound on the failing side\n" : "\n"
        if !custom {
            for t in result.trials where t.meets {
                text += "\(t.label): meets the SLO with " + t.cells.filter(\.meets).map { "\($0.strategy)\(margin($0))" }
                    .joined(separator: ", ") + "\n"
            }
        }
        for s in result.byStrategy {
            if let smallest = s.smallest {
                text += "\(s.strategy): smallest that meets the SLO: \(smallest) — \(NumberFormat.grouped(s.rpm ?? 0)) RPM / "
                    + "\(NumberFormat.grouped(s.itpm ?? 0)) ITPM / \(NumberFormat.grouped(s.otpm ?? 0)) OTPM\n"
            } else {
                text += "\(s.strategy): no configuration tried meets the SLO\n"
            }
        }
        if let r = result.recommendation {
            text += "smallest that meets the SLO: \(r.label) — \(NumberFormat.grouped(r.rpm)) RPM / \(NumberFormat.grouped(r.itpm)) ITPM / "
                + "\(NumberFormat.grouped(r.otpm)) OTPM, with \(r.meeting.joined(separator: ", "))\n"
        } else {
            text += "no configuration tried meets the SLO with any strategy. \(result.note)\n"
        }
        return text
    }
}
