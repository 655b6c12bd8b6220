import ArgumentParser
import Foundation
import LimitlabCore
import LimitlabReport
import LimitlabScenario
import LimitlabStrategies

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Run a parameter sweep and find each strategy's knee (goodput and p99 against offered load).",
        discussion: """
            --vary "PATH=FROM..TO step S" runs FROM, FROM+S, … up to TO; --vary "PATH=FROM..TO points N" \
            runs N evenly spaced values, both ends included (PATH=FROM..TO:N is the older spelling), e.g. \
            "arrivals[0].rate=10/min..200/min step 10/min". PATH is arrivals[N].rate (constant, poisson or \
            gamma sources), arrivals[N].count (burst sources), arrivals[N].shape (gamma), limits.rpm, \
            limits.itpm, limits.otpm, limits.burst, limits.tier (catalog tiers: \
            "limits.tier=tier-1..tier-4" or "limits.tier=start..scale"), server.overload.probability, \
            workload.max_tokens, or \
            strategies.LABEL.PARAM: a numeric parameter of the strategies with that label or registry name \
            (durations in seconds), e.g. "strategies.sdk-default.max_retries=0..6 step 1". The knee is \
            judged against the scenario's SLO attainment target when it has one. Writes sweep.json, \
            sweep.md and sweep.html to --out. --shard i/n runs a share of the points × strategies × seeds \
            and `limitlab merge` joins the shards (docs/sharding.md).
            """)

    @Argument(help: "Scenario file (YAML).")
    var scenario: String
    @Option(help: "PATH=FROM..TO step S, or PATH=FROM..TO points N")
    var vary: String
    @Option(help: "Only these strategies (comma-separated labels).")
    var strategies: String?
    @Option(help: "Seed (overrides the scenario's).")
    var seed: UInt64?
    @OptionGroup var replication: ReplicationFlags
    @OptionGroup var sharding: ShardFlags
    @Option(help: "Directory for the sweep files (default: reports/<scenario>-sweep-<timestamp>/, never an existing one).")
    var out: String?
    @Flag(help: "Overwrite an existing --out folder.")
    var force = false
    @Flag(help: "Print the result as JSON.")
    var json = false

    func run() throws {
        let axis: SweepAxis
        do { axis = try SweepAxis.parse(vary) } catch { throw CLIFailure.badInput(error.description) }
        let sc = try ScenarioInput.load(scenario, seed: seed, strategies: strategies)
        try Self.checkParameter(axis, in: sc)
        // Every point must be a scenario `validate` would accept (volume, limits, token bounds):
        // a swept value past them is refused before anything runs.
        for v in axis.values {
            let point: Scenario
            do { point = try axis.apply(v, to: sc) } catch { throw CLIFailure.badInput(error.message) }
            if let problem = ScenarioBounds.problems(in: point).first {
                throw CLIFailure.badInput("--vary \(axis.path) at \(axis.label(v)): \(problem)")
            }
        }
        if let out { try OutputFolder.check(out, force: force) }
        let plan = try replication.plan(base: sc.seed)
        let jobs = try replication.width()
        let seeds = plan.seeds
        if let shard = try sharding.spec() {
            return try Sharding.sweep(sc, file: scenario, axis: axis, seeds: seeds, shard: shard, jobs: jobs, out: out,
                                      force: force, quiet: json)
        }
        let result: SweepResult
        let progress = Progress("sweep", total: Double(axis.values.count * sc.strategies.count * seeds.count), quiet: json)
        do {
            result = try progress.countingSimulations { try blocking { try await Sweeper.run(sc, axis: axis, seeds: seeds, jobs: jobs) } }
        } catch let e as SweepError {
            throw CLIFailure.badInput(e.message)
        } catch {
            throw CLIFailure.badInput("\(scenario): \(error)")
        }
        let directory = try OutputFolder.choose(out: out, force: force, name: sc.name, suffix: "-sweep")
        try Self.write(result, to: directory)
        let md = SweepReport.markdown(result)
        if json {
            writeStdout(try ScenarioInput.jsonString(result) + "\n")
            return
        }
        var text = md
        if let seeds = result.seeds { text += "figures: means over \(seeds.count) seeds (\(seeds.first!)..\(seeds.last!)); sweep.json keeps their 95% intervals\n" }
        writeStdout(text + "\nsweep: \(directory)/sweep.json, sweep.html\n")
    }

    /// sweep.json, sweep.md and sweep.html (also what `merge` of sweep shards writes).
    static func write(_ result: SweepResult, to directory: String) throws {
        try ScenarioInput.writeJSON(result, to: directory + "/sweep.json")
        do {
            try Data(SweepReport.markdown(result).utf8).write(to: URL(fileURLWithPath: directory + "/sweep.md"))
            try Data(SweepReport.html(result).utf8).write(to: URL(fileURLWithPath: directory + "/sweep.html"))
        } catch {
            throw CLIFailure.internalError("cannot write to \(directory): \(error.localizedDescription)")
        }
    }

    /// A strategy parameter must exist and be numeric for every strategy the path names.
    static func checkParameter(_ axis: SweepAxis, in sc: Scenario) throws {
        guard let (who, param) = axis.strategyParameter else { return }
        for spec in sc.strategies where spec.label == who || spec.name == who {
            guard let d = StrategyRegistry.descriptor(named: spec.name) else { continue }
            guard let p = d.parameter(param) else {
                throw CLIFailure.badInput("--vary \(axis.path): \(spec.name) has no parameter \(param); its parameters: "
                                          + d.parameters.map(\.name).joined(separator: ", "))
            }
            switch p.kind {
            case .integer, .number, .duration: continue
            default: throw CLIFailure.badInput("--vary \(axis.path): \(param) is \(p.kind.label), not a number")
            }
        }
    }
}
