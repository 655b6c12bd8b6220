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
    @Option(help: "Directory for the sweep files, new or empty (default: reports/<scenario>-sweep-<timestamp>/).")
    var out: String?
    @Flag(help: "Print the result as JSON.")
    var json = false

    func run() throws {
        let axis: SweepAxis
        do { axis = try SweepAxis.parse(vary) } catch { throw CLIFailure.badInput(error.description) }
        let sc = try ScenarioInput.load(scenario, seed: seed, strategies: strategies)
        let directory = out ?? ScenarioInput.defaultDirectory(for: sc.name, suffix: "-sweep")
        try OutputPath.checkNewDirectory(directory)
        let result: SweepResult
        do { result = try Progress("sweep", total: Double(axis.values.count * sc.strategies.count), quiet: json).countingSimulations { try Sweeper.run(sc, axis: axis) } } catch let e as SweepError {
            throw CLIFailure.badInput(e.message)
        } catch {
            throw CLIFailure.badInput("\(scenario): \(error)")
        }
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
        writeStdout(md + "\nsweep: \(directory)/sweep.json, sweep.html\n")
    }
}
