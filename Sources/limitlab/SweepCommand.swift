import ArgumentParser
import Foundation
import LimitlabCore
import LimitlabReport

struct SweepCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "sweep",
        abstract: "Run a parameter sweep and find each strategy's knee (goodput and p99 against offered load).",
        discussion: """
            --vary PATH=FROM..TO:POINTS runs POINTS evenly spaced values, both ends included, e.g.
            arrivals[0].rate=10/min..200/min:10. PATH is arrivals[N].rate (constant, poisson or gamma
            sources), limits.rpm, limits.itpm, limits.otpm, limits.burst, server.overload.probability
            or workload.max_tokens. Writes sweep.json and sweep.md to --out.
            """)

    @Argument(help: "Scenario file (YAML).")
    var scenario: String
    @Option(help: "PATH=FROM..TO:POINTS")
    var vary: String
    @Option(help: "Only these strategies (comma-separated labels).")
    var strategies: String?
    @Option(help: "Seed (overrides the scenario's).")
    var seed: UInt64?
    @OptionGroup var replication: ReplicationFlags
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
        if let out { try OutputFolder.check(out, force: force) }
        let plan = try replication.plan(base: sc.seed)
        let jobs = try replication.width()
        let result: SweepResult
        let seeds = plan.seeds
        do { result = try blocking { try await Sweeper.run(sc, axis: axis, seeds: seeds, jobs: jobs) } } catch let e as SweepError {
            throw CLIFailure.badInput(e.message)
        } catch {
            throw CLIFailure.badInput("\(scenario): \(error)")
        }
        let directory = try OutputFolder.choose(out: out, force: force, name: sc.name, suffix: "-sweep")
        try ScenarioInput.writeJSON(result, to: directory + "/sweep.json")
        let md = SweepReport.markdown(result)
        do {
            try Data(md.utf8).write(to: URL(fileURLWithPath: directory + "/sweep.md"))
            try Data(SweepReport.html(result).utf8).write(to: URL(fileURLWithPath: directory + "/sweep.html"))
        } catch {
            throw CLIFailure.internalError("cannot write to \(directory): \(error.localizedDescription)")
        }
        if json {
            writeStdout(try ScenarioInput.jsonString(result) + "\n")
            return
        }
        var text = md
        if let rule = result.kneeRule { text += "\nknee: \(rule)\n" }
        if let seeds = result.seeds { text += "figures: means over \(seeds.count) seeds (\(seeds.first!)..\(seeds.last!)); sweep.json keeps their 95% intervals\n" }
        writeStdout(text + "\nsweep: \(directory)/sweep.json, sweep.html\n")
    }
}
