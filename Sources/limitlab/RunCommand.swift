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

    @Option(help: "Where to run: sim (the virtual-time simulator), mock (the built-in mock API, in-process on a free loopback port), or a base URL. Overrides the scenario's target.")
    var target: String?

    @Option(name: .customLong("api-key-env"), help: "Environment variable holding the API key for a URL target (default ANTHROPIC_API_KEY). The key is never printed or written.")
    var apiKeyEnv: String?

    @Option(name: .customLong("max-cost-usd"), help: "Spending cap for a non-loopback target: new requests stop before the estimate would pass it. Required there.")
    var maxCostUSD: Double?

    @Option(name: .customLong("max-requests"), help: "Stop sending after this many attempts (live targets).")
    var maxRequests: Int?

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

    @OptionGroup var workerFlags: WorkerFlags

    @OptionGroup var replication: ReplicationFlags

    func run() throws {
        if !check && (gate.baseline != nil || gate.junit != nil || gate.markdown != nil || gate.maxRegression != nil) {
            throw CLIFailure.badInput("--baseline, --max-regression, --junit and --markdown need --check")
        }
        var scenario = try ScenarioInput.load(self.scenario, seed: seed, strategies: strategies)
        if let target {
            switch target {
            case "sim": scenario.target = .sim
            case "mock": scenario.target = .mock
            default:
                guard let url = URL(string: target), ["http", "https"].contains(url.scheme ?? ""), url.host != nil else {
                    throw CLIFailure.badInput("--target \(target): expected sim, mock or an http:// or https:// base URL")
                }
                scenario.target = .url(target)
            }
        }

        try workerFlags.check(target: scenario.target)
        try replication.checkTarget(scenario.target)
        let directory = try out ?? OutputFolder.fresh(for: scenario.name)

        let stream: ArrivalStream
        let runs: [(spec: StrategySpec, log: RunLog)]
        var liveEcho: LiveEcho?
        var epochs: [Double] = []
        var replicated: ReplicationSection?
        if let n = workerFlags.workers {
            // N worker processes, merged into one report of the organisation (WorkersCommand.swift).
            let result = try WorkerProcesses.run(scenario, flags: workerFlags, settings: .init(
                scenarioPath: self.scenario, seed: scenario.seed, apiKeyEnv: apiKeyEnv, maxCostUSD: maxCostUSD,
                maxRequests: maxRequests, quiet: quiet || json, directory: directory))
            (stream, runs, liveEcho) = (result.stream, result.runs, result.echo)
            scenario.workers = WorkersSpec(count: n, split: scenario.workers?.split ?? .roundRobin)
        } else if scenario.target == .sim {
            (stream, runs, replicated) = try replication.simulate(&scenario, path: self.scenario)
        } else {
            let worker = try workerFlags.liveWorker(for: scenario)
            let live = try LiveTargets.run(scenario, target: scenario.target, options: .init(
                apiKeyEnv: apiKeyEnv, maxCostUSD: maxCostUSD, maxRequests: maxRequests, quiet: quiet || json,
                worker: worker, mockKeys: workerFlags.workerMockKeys))
            (stream, runs, liveEcho, epochs) = (live.stream, live.runs, live.echo, live.epochs)
            if worker != nil && workerFlags.redisURL == nil { liveEcho?.warnings.append(WorkerFlags.noStoreWarning) }
        }
        var report = ReportWriter.build(scenario: scenario, scenarioFile: self.scenario, stream: stream, runs: runs)
        report.live = liveEcho
        report.replication = replicated
        if let start = workerFlags.startAt {
            // A worker's clock starts at the common start (or, late, when it got there):
            // `limitlab merge` aligns runs by it.
            for i in report.runs.indices { report.runs[i].timeOriginEpochS = i < epochs.count ? epochs[i] : start }
        }
        do {
            try ReportWriter.write(report: report, stream: stream, runs: runs, to: directory)
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
        var text = "scenario \(scenario.name) · target \(scenario.target) · seed \(scenario.seed) · model \(scenario.model)"
        if let tier = scenario.limits.tier { text += " · \(tier)" }
        let c = scenario.limits.config
        text += "\nlimits \(fmt(c.rpm)) RPM / \(fmt(c.itpm)) ITPM / \(fmt(c.otpm)) OTPM (\(scenario.limits.source))"
        text += "\narrivals \(a.offered) requests over \(Units.formatDuration(a.windowS)) (realised \(fmt(a.realisedRatePerMin, 1))/min)\n\n"
        if let live = liveEcho {
            text += String(format: "schedule lag p50 %.2f ms, p99 %.2f ms, max %.2f ms", live.lagP50S * 1000,
                           live.lagP99S * 1000, live.lagMaxS * 1000)
            text += live.partial ? " · PARTIAL (\(live.stopReason ?? "stopped"))\n\n" : "\n\n"
        }
        text += SummaryTable.render(report)
        if let r = report.replication { text += "\n" + SummaryTable.render(r, target: scenario.slo?.attainment) }
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
