import ArgumentParser
import Foundation
import LimitlabCore
import LimitlabReport
import LimitlabScenario
import LimitlabSim
import LimitlabStrategies

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a scenario and write report.json and per-strategy event CSVs.",
        discussion: """
            The simulator runs hours of traffic in virtual time, deterministically by seed: the same
            scenario and seed give a byte-identical report.json apart from generated_at.
            """)

    @Argument(help: "Scenario file (YAML).")
    var scenario: String

    @Option(help: "Where to run: sim (the virtual-time simulator). Overrides the scenario's target.")
    var target: String?

    @Option(help: "Seed for every random draw (overrides the scenario's seed).")
    var seed: UInt64?

    @Option(help: "Report directory (default: reports/<scenario>-<timestamp>/).")
    var out: String?

    @Option(help: "Run only these strategies (comma-separated labels from the scenario).")
    var strategies: String?

    @Flag(help: "Print nothing but errors.")
    var quiet = false

    @Flag(help: "Print report.json to standard output instead of the table.")
    var json = false

    @Flag(help: "After the run, check the scenario's thresholds (and --baseline); exit 3 on failure.")
    var check = false

    @OptionGroup var gate: GateOptions

    func run() throws {
        if !check && (gate.baseline != nil || gate.junit != nil || gate.markdown != nil || gate.maxRegression != nil) {
            throw CLIFailure.badInput("--baseline, --max-regression, --junit and --markdown need --check")
        }
        var scenario = try ScenarioInput.load(self.scenario, seed: seed, strategies: strategies)
        if let target {
            switch target {
            case "sim": scenario.target = .sim
            case "mock":
                throw CLIFailure.badInput("--target mock: the built-in mock server is not part of this build yet; use --target sim")
            default:
                throw CLIFailure.badInput("--target \(target): only \"sim\" is supported in this build (live HTTP targets come with the live runner)")
            }
        }
        guard scenario.target == .sim else {
            throw CLIFailure.badInput("\(self.scenario): target \(scenario.target) is not supported in this build yet; pass --target sim to simulate it")
        }

        let result = try ScenarioInput.simulate(scenario, path: self.scenario)
        let runs = result.runs.map { (spec: $0.spec, log: $0.log) }
        let report = ReportWriter.build(scenario: scenario, scenarioFile: self.scenario, stream: result.stream, runs: runs)
        let directory = out ?? ScenarioInput.defaultDirectory(for: scenario.name)
        do {
            try ReportWriter.write(report: report, stream: result.stream, runs: runs, to: directory)
        } catch {
            throw CLIFailure.internalError(error.description)
        }

        if json {
            let data = try ReportWriter.json(report)
            writeStdout(String(decoding: data, as: UTF8.self) + "\n")
            if check { try gate.evaluate(report, quiet: true) }
            return
        }
        if quiet {
            if check { try gate.evaluate(report, quiet: true) }
            return
        }
        let a = report.arrivals
        var text = "scenario \(scenario.name) · target sim · seed \(scenario.seed) · model \(scenario.model)"
        if let tier = scenario.limits.tier { text += " · \(tier)" }
        let c = scenario.limits.config
        text += "\nlimits \(fmt(c.rpm)) RPM / \(fmt(c.itpm)) ITPM / \(fmt(c.otpm)) OTPM (\(scenario.limits.source))"
        text += "\narrivals \(a.offered) requests over \(Units.formatDuration(a.windowS)) (realised \(fmt(a.realisedRatePerMin, 1))/min)\n\n"
        text += SummaryTable.render(report)
        text += "\nlatency is measured from each request's intended arrival; quantiles: GSL type 7 (numpy linear)\n"
        text += "report: \(directory)/report.html (report.json, summary.md, events-*.csv beside it)\n"
        writeStdout(text)
        if check {
            writeStdout("\n")
            try gate.evaluate(report, quiet: false)
        }
    }
}

func fmt(_ v: Double, _ digits: Int = 0) -> String {
    if digits == 0 && v == v.rounded() && abs(v) < 1e15 { return String(Int(v)) }
    return String(format: "%.\(digits)f", v)
}
