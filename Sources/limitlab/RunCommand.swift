import ArgumentParser
import Foundation
import LimitlabCore
import LimitlabLive
import LimitlabReport
import LimitlabScenario
import LimitlabSim
import LimitlabStrategies

struct RunCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run a scenario and write report.json and per-strategy event CSVs.",
        discussion: """
            The simulator runs hours of traffic in virtual time, deterministically by seed: the same \
            scenario and seed give a byte-identical report.json apart from generated_at.

            Exit codes: 0 the run completed as asked; 5 a live run that did not (interrupted by \
            SIGINT/SIGTERM, stopped by --max-cost-usd, --max-requests or a failure, or one that sent \
            nothing) — its report is still written, with live.partial true and the stop reason — or a \
            simulation interrupted by SIGINT/SIGTERM, whose report holds the strategies that finished \
            (the others are named; a second signal quits without a report); 3 a \
            --check failed (this takes precedence over 5); 2 bad input; 1 internal error.

            --shard i/n (simulator only, with --replications N ≥ 2 or --seeds A..B) runs a share of the \
            strategies × seeds into a shard folder; `limitlab merge` joins the shards into the files the \
            unsharded run writes (docs/sharding.md).
            """)

    @Argument(help: "Scenario file (YAML).")
    var scenario: String

    @Option(help: "Where to run: sim (the virtual-time simulator), mock (the built-in mock API, in-process on a free loopback port), env (the base URL in ANTHROPIC_BASE_URL, as the official SDKs read it), or a base URL. Overrides the scenario's target.")
    var target: String?

    @Option(name: .customLong("api-key-env"), help: "Environment variable holding the API key for a URL target (default ANTHROPIC_API_KEY). The key is never printed or written.")
    var apiKeyEnv: String?

    @Option(name: .customLong("max-cost-usd"), help: "Spending cap for a non-loopback target: new requests stop before the estimate would pass it. Required there.")
    var maxCostUSD: Double?

    @Option(name: .customLong("max-requests"), help: "Stop sending after this many attempts (live targets).")
    var maxRequests: Int?

    @Option(help: "Seed for every random draw (overrides the scenario's seed).")
    var seed: UInt64?

    @Option(help: "Report directory, new or empty (default: reports/<scenario>-<timestamp>/).")
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

    @OptionGroup var sharding: ShardFlags

    @OptionGroup(title: "Live telemetry") var telemetry: TelemetryFlags

    func run() throws {
        if !check && (gate.baseline != nil || gate.junit != nil || gate.markdown != nil || gate.maxRegression != nil) {
            throw CLIFailure.badInput("--baseline, --max-regression, --junit and --markdown need --check")
        }
        if let maxRequests, maxRequests < 1 {
            throw CLIFailure.badInput("--max-requests \(maxRequests): expected at least 1 (a run that sends nothing is not a run)")
        }
        if let maxRequests, let n = workerFlags.workers, maxRequests < n {
            throw CLIFailure.badInput("--max-requests \(maxRequests) is fewer than --workers \(n): every worker needs at least one")
        }
        var scenario = try ScenarioInput.load(self.scenario, seed: seed, strategies: strategies)
        if let target {
            switch target {
            case "sim": scenario.target = .sim
            case "mock": scenario.target = .mock
            case "env":
                // The official SDKs read their base URL from ANTHROPIC_BASE_URL; so can a run.
                guard let url = ProcessInfo.processInfo.environment["ANTHROPIC_BASE_URL"], !url.isEmpty else {
                    throw CLIFailure.badInput("--target env: ANTHROPIC_BASE_URL is not set; set it to the API's base URL "
                                              + "(as for the official SDKs), or give the URL to --target")
                }
                guard LiveTarget(baseURL: url).host != nil else {
                    throw CLIFailure.badInput("--target env: ANTHROPIC_BASE_URL \(url): expected an http:// or https:// "
                                              + "base URL (scheme://host[:port][/path], no user info, query or fragment)")
                }
                scenario.target = .url(url)
            default:
                // The host the loopback guard judges is the one libcurl connects to (LiveTarget.host).
                guard LiveTarget(baseURL: target).host != nil else {
                    throw CLIFailure.badInput("--target \(target): expected sim, mock or an http:// or https:// base URL "
                                              + "(scheme://host[:port][/path], no user info, query or fragment)")
                }
                scenario.target = .url(target)
            }
        }

        if case .url(let url) = scenario.target, LiveTarget(baseURL: url).host == nil {
            // Also the scenario's own `target:`, before any worker process starts.
            throw CLIFailure.badInput("target \(url): expected an http:// or https:// base URL "
                                      + "(scheme://host[:port][/path], no user info, query or fragment)")
        }
        try workerFlags.check(target: scenario.target)
        try replication.checkTarget(scenario.target)
        try telemetry.check(target: scenario.target, workers: workerFlags.workers)
        if let shard = try sharding.spec() {
            return try Sharding.run(scenario, file: self.scenario, replication: replication, shard: shard, check: check,
                                    out: out, json: json, quiet: quiet)
        }
        // A simulation keeps what it finished: the first SIGINT/SIGTERM lets the strategies in
        // progress finish and skips the rest (SimulationStop); a second one ends the process.
        let simStop = scenario.target == .sim ? SimulationStop() : nil
        let directory = out ?? OutputFolder.unused(for: scenario.name)
        // Everything that can be found wrong with the flags is found before the run (which may be
        // long, or paid for): the output directory, the baseline, the allowance, the gate's files.
        try OutputPath.checkNewDirectory(directory)
        if check { try gate.checkBeforeRun(hasThresholds: !(scenario.thresholds.isEmpty)) }

        let stream: ArrivalStream
        let runs: [(spec: StrategySpec, log: RunLog)]
        var liveEcho: LiveEcho?
        var epochs: [Double] = []
        var replicated: ReplicationSection?
        var notRun: [String] = []
        if let n = workerFlags.workers {
            // N worker processes, merged into one report of the organisation (WorkersCommand.swift).
            let result = try WorkerProcesses.run(scenario, flags: workerFlags, settings: .init(
                scenarioPath: self.scenario, seed: scenario.seed, apiKeyEnv: apiKeyEnv, maxCostUSD: maxCostUSD,
                maxRequests: maxRequests, quiet: quiet || json, directory: directory))
            (stream, runs, liveEcho) = (result.stream, result.runs, result.echo)
            scenario.workers = WorkersSpec(count: n, split: scenario.workers?.split ?? .roundRobin)
        } else if scenario.target == .sim {
            let seeds = try replication.plan(base: scenario.seed).seeds.count
            let progress = Progress("simulating \(scenario.name)", total: Double(scenario.strategies.count * seeds),
                                    quiet: quiet || json)
            var simulated = scenario
            let path = self.scenario
            var stop: (@Sendable () -> Bool)?
            if let simStop { stop = { simStop.requested } }
            let flags = replication
            let result = try progress.countingSimulations { try flags.simulate(&simulated, path: path, stop: stop) }
            simStop?.end()
            scenario = simulated
            (stream, runs, replicated) = (result.stream, result.runs, result.section)
            notRun = result.notRun
        } else {
            let worker = try workerFlags.liveWorker(for: scenario)
            // Live metrics (TelemetryFlags.swift): served and pushed while the run goes.
            let session = try telemetry.start(scenario: scenario, quiet: quiet || json)
            defer { session?.finish() }
            let live = try LiveTargets.run(scenario, target: scenario.target, options: .init(
                apiKeyEnv: apiKeyEnv, maxCostUSD: maxCostUSD, maxRequests: maxRequests, quiet: quiet || json,
                worker: worker, mockKeys: workerFlags.workerMockKeys, metrics: session?.metrics))
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

        var incomplete = Self.incomplete(target: scenario.target, echo: liveEcho, runs: runs, directory: directory)
        if !notRun.isEmpty {
            incomplete = CLIFailure(code: ExitCodes.partial, message: "partial run: interrupted; not run: "
                                    + notRun.joined(separator: ", ") + "; the report in \(directory) has the "
                                    + "strategies that finished (exit \(ExitCodes.partial))")
        }

        if json {
            let data = try ReportWriter.json(report)
            writeStdout(String(decoding: data, as: UTF8.self) + "\n")
            if check { try gate.evaluate(report, quiet: true) }
            if let incomplete { throw incomplete }
            return
        }
        if quiet {
            if check { try gate.evaluate(report, quiet: true) }
            if let incomplete { throw incomplete }
            return
        }
        let a = report.arrivals
        var text = "scenario \(scenario.name) · target \(scenario.target) · seed \(scenario.seed) · model \(scenario.model)"
        if let tier = scenario.limits.tier { text += " · \(tier)" }
        let c = scenario.limits.config
        text += "\nlimits \(fmt(c.rpm)) RPM / \(fmt(c.itpm)) ITPM / \(fmt(c.otpm)) OTPM (\(scenario.limits.source))"
        for m in scenario.models {
            text += "\nmodel \(m.model): \(fmt(m.limits.rpm)) RPM / \(fmt(m.limits.itpm)) ITPM / \(fmt(m.limits.otpm)) OTPM (\(m.source))"
        }
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
        if let incomplete { throw incomplete }
    }

    /// Exit 5 for a live run that did not complete as asked (the report is written first): a stop
    /// (signal, guard, failure) marks it partial, and a run that sent nothing is never a success.
    static func incomplete(target: TargetSpec, echo: LiveEcho?, runs: [(spec: StrategySpec, log: RunLog)],
                           directory: String) -> CLIFailure? {
        guard target != .sim else { return nil }
        let why: String
        if let echo, echo.partial {
            why = "the run stopped early (\(echo.stopReason ?? "stopped"))"
        } else if runs.allSatisfy({ $0.log.sentAt.isEmpty }) {
            why = "no request was sent"
        } else {
            return nil
        }
        return CLIFailure(code: ExitCodes.partial,
                          message: "partial run: \(why); the report in \(directory) is marked partial (exit \(ExitCodes.partial))")
    }
}

func fmt(_ v: Double, _ digits: Int = 0) -> String {
    if digits == 0 && v == v.rounded() && abs(v) < 1e15 { return String(Int(v)) }
    return String(format: "%.\(digits)f", v)
}
