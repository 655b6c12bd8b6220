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
            With one seed, each strategy's difference from the leader comes with a paired bootstrap 95% \
            interval over the requests. With --replications N or --seeds A..B, strategies are ranked by \
            their across-seed means and each difference is paired per seed, with a 95% Student t interval \
            on the per-seed differences. Differences whose interval includes zero are called not \
            significant. Writes the full report (report.json with a "comparison" section and, over \
            several seeds, a "replication" section; summary.md; event CSVs of the first seed) to --out. \
            --shard i/n runs a share of the strategies × seeds and `limitlab merge` joins the shards \
            (docs/sharding.md).
            """)

    @Argument(help: "Scenario file (YAML).")
    var scenario: String
    @Option(help: "Compare only these strategies (comma-separated labels).")
    var strategies: String?
    @Option(help: "Seed for every random draw (overrides the scenario's).")
    var seed: UInt64?
    @OptionGroup var replication: ReplicationFlags
    @OptionGroup var sharding: ShardFlags
    @Option(help: "Report directory (default: reports/<scenario>-compare-<timestamp>/, never an existing one).")
    var out: String?
    @Flag(help: "Overwrite an existing --out folder.")
    var force = false
    @Flag(help: "Print the comparison as JSON.")
    var json = false

    func run() throws {
        let sc = try ScenarioInput.load(scenario, seed: seed, strategies: strategies)
        guard sc.strategies.count >= 2 else {
            throw CLIFailure.badInput("compare needs at least two strategies; \(scenario) selects \(sc.strategies.count)")
        }
        if let out { try OutputFolder.check(out, force: force) }
        let plan = try replication.plan(base: sc.seed)
        let jobs = try replication.width()
        let sloLatency = sc.slo?.latency ?? 30
        if let shard = try sharding.spec() {
            // A shard stops like any process: its shard.json is written last, so an interrupted
            // shard leaves no record and merge names it as missing.
            StopSignals.release()
            return try Sharding.compare(sc, file: scenario, seeds: plan.seeds, command: .compare(sloLatency: sloLatency), shard: shard, jobs: jobs,
                                        out: out, force: force, quiet: json)
        }
        var simulated: ReplicatedSimulation
        // SIGINT/SIGTERM: the strategies in progress finish (a group at a time, at least two),
        // the rest are not run and named, and the comparison covers those that finished.
        let stop = SimulationStop()
        var notRun: [String] = []
        do {
            let seeds = plan.seeds
            let progress = Progress("compare", total: Double(sc.strategies.count * seeds.count), quiet: json)
            let specs = sc.strategies
            let group = Swift.max(2, (jobs + seeds.count - 1) / seeds.count)
            var done: ReplicatedSimulation?
            var next = 0
            try progress.countingSimulations {
                while next < specs.count {
                    if next > 0 && stop.requested { break }
                    var part = sc
                    part.strategies = Array(specs[next..<Swift.min(specs.count, next + group)])
                    let p = part
                    let s = try blocking {
                        try await Replicator.simulate(p, seeds: seeds, jobs: jobs, slo: p.slo ?? SLOSpec(latency: sloLatency))
                    }
                    if done == nil { done = s } else { done!.runs += s.runs; done!.figures += s.figures }
                    next += p.strategies.count
                }
            }
            simulated = done!
            simulated.scenario.strategies = Array(specs[..<next])
            notRun = specs[next...].map(\.label)
        } catch { throw CLIFailure.badInput("\(scenario): \(error)") }
        stop.end()
        let file = scenario
        let sim = simulated
        var report = try blocking { try await Replicator.report(sim, scenarioFile: file, jobs: jobs) }
        let comparison = plan.seeds.count > 1
            ? Comparer.compare(figures: sim.figures, seeds: plan.seeds, sloLatencyS: sloLatency)
            : Comparer.compare(report: report, stream: sim.stream, logs: sim.runs.map(\.log), seed: sc.seed)
        report.comparison = comparison
        let directory = try OutputFolder.choose(out: out, force: force, name: sc.name, suffix: "-compare")
        let finished = report
        do { try blocking { try await Replicator.write(report: finished, stream: sim.stream, runs: sim.runs, to: directory, jobs: jobs) } } catch {
            throw CLIFailure.internalError("\(error)")
        }
        let partial = notRun.isEmpty ? nil : CLIFailure(
            code: ExitCodes.partial, message: "partial comparison: interrupted; not run: " + notRun.joined(separator: ", ")
                + "; the report in \(directory) compares the strategies that finished (exit \(ExitCodes.partial))")
        if json {
            writeStdout(try ScenarioInput.jsonString(comparison) + "\n")
            if let partial { throw partial }
            return
        }
        writeStdout(Self.render(comparison, scenario: sim.scenario, requests: sim.stream.count, seeds: plan.seeds)
                    + "report: \(directory)/report.json\n")
        if let partial { throw partial }
    }

    /// The ranking table; every figure through NumberFormat (decisive against the SLO target).
    static func render(_ comparison: Comparison, scenario sc: Scenario, requests: Int, seeds: [UInt64]) -> String {
        let target = sc.slo?.attainment
        let replicated = seeds.count > 1
        func ranged(_ v: ReplicatedValue?, _ f: (Double) -> String) -> String {
            guard replicated, let v, v.n > 1 else { return "" }
            return " [\(f(v.low)), \(f(v.high))]"
        }
        var rows: [[String]] = []
        for r in comparison.ranking {
            func diff(_ ci: LimitlabStats.ConfidenceInterval?, _ f: (Double) -> String) -> String {
                guard let ci else { return "leader" }
                let text = "\(f(ci.estimate)) [\(f(ci.low)), \(f(ci.high))]"
                return ci.excludesZero ? text : text + " n.s."
            }
            func signed(_ scale: Double, _ digits: Int, _ unit: String) -> (Double) -> String {
                { NumberFormat.decisive($0, digits: digits, scale: scale, threshold: 0, signed: true) + unit }
            }
            let iv = r.intervals
            rows.append([
                String(r.rank), r.strategy,
                NumberFormat.percent(r.sloAttainment, threshold: target)
                    + ranged(iv?.sloAttainment) { NumberFormat.decisive($0, digits: 1, scale: 100, threshold: target) },
                NumberFormat.fixed(r.goodputRequestsPerMin, 1) + ranged(iv?.goodputRequestsPerMin) { NumberFormat.fixed($0, 1) },
                r.latencyP99S.map { NumberFormat.seconds($0, threshold: nil) } ?? "-",
                r.costUSD.map { "$" + NumberFormat.fixed($0, 2) } ?? "n/a",
                diff(r.vsLeader?.sloAttainment, signed(100, 1, " pp")),
                diff(r.vsLeader?.goodputRequestsPerMin, signed(1, 1, "")),
                diff(r.vsLeader?.latencyP99S, signed(1, 2, "s")),
            ])
        }
        var text = "compare \(sc.name): \(requests) requests, "
        text += replicated ? "\(seeds.count) seeds (\(seeds.first!)..\(seeds.last!))" : "seed \(sc.seed)"
        text += ", SLO latency " + Units.formatDuration(comparison.sloLatencyS)
        if let target { text += ", target " + NumberFormat.percent(target) }
        text += "\n\n"
        text += SummaryTable.table(header: ["#", "strategy", "slo", "goodput/min", "p99", "cost", "Δslo vs #1", "Δgoodput", "Δp99"],
                                   rows: rows, rightAlignFrom: 2)
        if replicated {
            text += "\nfigures: across-seed means [95% Student t interval]; Δ = this − leader, paired per seed, "
                + "95% Student t interval on the per-seed differences; n.s. = not significant (interval includes 0).\n"
        } else {
            text += "\nΔ = this − leader, paired bootstrap 95% interval; n.s. = not significant (interval includes 0).\n"
        }
        return text
    }
}
