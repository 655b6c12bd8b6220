public import Foundation
public import LimitlabCore
public import LimitlabSim

/// One strategy under one seed: the figures a replicated command aggregates.
public struct ReplicaFigures: Codable, Sendable, Equatable {
    public var strategy: String
    public var seed: UInt64
    public var offered: Int
    public var succeeded: Int
    public var attempts: Int
    public var status429: Int
    public var successRate: Double
    public var rate429: Double
    /// nil without an SLO.
    public var sloAttainment: Double?
    public var goodputRequestsPerMin: Double
    /// nil when nothing succeeded.
    public var latencyP50S: Double?
    public var latencyP99S: Double?
    public var costUSD: Double?

    enum CodingKeys: String, CodingKey {
        case strategy, seed, offered, succeeded, attempts
        case status429 = "status_429", successRate = "success_rate", rate429 = "rate_429"
        case sloAttainment = "slo_attainment", goodputRequestsPerMin = "goodput_requests_per_min"
        case latencyP50S = "latency_p50_s", latencyP99S = "latency_p99_s", costUSD = "cost_usd"
    }

    public init(strategy: String, seed: UInt64, summary s: RunSummary) {
        self.strategy = strategy; self.seed = seed
        offered = s.requests.offered; succeeded = s.requests.succeeded; attempts = s.attempts
        status429 = s.statusCounts["429"] ?? 0; successRate = s.successRate; rate429 = s.rate429
        sloAttainment = s.slo?.attainment; goodputRequestsPerMin = s.goodput.requestsPerMin
        latencyP50S = s.latencyS.count > 0 ? s.latencyS.p50 : nil
        latencyP99S = s.latencyS.count > 0 ? s.latencyS.p99 : nil
        costUSD = s.cost?.totalUSD
    }
}

/// One strategy's figures across the seeds: means with 95 % Student t intervals.
public struct ReplicatedFigures: Codable, Sendable, Equatable {
    public var strategy: String
    public var successRate: ReplicatedValue?
    public var rate429: ReplicatedValue?
    public var sloAttainment: ReplicatedValue?
    public var goodputRequestsPerMin: ReplicatedValue?
    public var latencyP50S: ReplicatedValue?
    public var latencyP99S: ReplicatedValue?
    public var attempts: ReplicatedValue?
    public var status429: ReplicatedValue?
    public var costUSD: ReplicatedValue?

    enum CodingKeys: String, CodingKey {
        case strategy, attempts
        case successRate = "success_rate", rate429 = "rate_429", sloAttainment = "slo_attainment"
        case goodputRequestsPerMin = "goodput_requests_per_min", latencyP50S = "latency_p50_s"
        case latencyP99S = "latency_p99_s", status429 = "status_429", costUSD = "cost_usd"
    }

    public init(strategy: String, replicas r: [ReplicaFigures]) {
        self.strategy = strategy
        successRate = .of(r.map(\.successRate), bounds: 0...1); rate429 = .of(r.map(\.rate429), bounds: 0...1)
        sloAttainment = .of(r.map(\.sloAttainment), bounds: 0...1)
        let counts = ReplicatedValue.nonNegative
        goodputRequestsPerMin = .of(r.map(\.goodputRequestsPerMin), bounds: counts)
        latencyP50S = .of(r.map(\.latencyP50S), bounds: counts); latencyP99S = .of(r.map(\.latencyP99S), bounds: counts)
        attempts = .of(r.map { Double($0.attempts) }, bounds: counts)
        status429 = .of(r.map { Double($0.status429) }, bounds: counts)
        costUSD = .of(r.map(\.costUSD), bounds: counts)
    }
}

/// `report.json` → `replication`: the seeds, the method, each strategy's intervals and every
/// replication's figures (docs/report-schema.md).
public struct ReplicationSection: Codable, Sendable, Equatable {
    public var seeds: [UInt64]
    public var method: String
    /// One per strategy, in the report's order.
    public var summary: [ReplicatedFigures]
    /// Every (strategy, seed) run: strategy-major, seeds in order.
    public var replications: [ReplicaFigures]

    public init(seeds: [UInt64], figures: [[ReplicaFigures]], labels: [String]) {
        self.seeds = seeds
        method = ReplicatedValue.method
        summary = zip(labels, figures).map { ReplicatedFigures(strategy: $0, replicas: $1) }
        replications = figures.flatMap { $0 }
    }
}

/// Every strategy of a scenario under every seed, the first seed kept whole for the report.
public struct ReplicatedSimulation: Sendable {
    public var scenario: Scenario
    public var seeds: [UInt64]
    /// The first seed's arrival stream and runs (scenario order): the report's events and charts.
    public var stream: ArrivalStream
    public var runs: [StrategyRun]
    /// `figures[strategy][seed]`.
    public var figures: [[ReplicaFigures]]
}

/// Runs strategies × seeds as independent simulations in parallel. Each simulation owns its
/// generators (the simulator creates them from the scenario seed inside `Simulator.run`), so
/// nothing random is shared between tasks, and results are collected by index: the output is
/// the same for any `jobs`.
public enum Replicator {
    /// `slo` overrides the scenario's SLO for the figures (compare's 30 s default).
    public static func simulate(_ scenario: Scenario, seeds: [UInt64], jobs: Int,
                                slo: SLOSpec? = nil) async throws -> ReplicatedSimulation {
        let specs = scenario.strategies
        let n = seeds.count
        let parts = try await Parallel.map(count: specs.count * n, jobs: jobs) { k in
            try replica(scenario, unit: k, seeds: seeds, slo: slo)
        }
        var first = scenario
        first.seed = seeds[0]
        guard let stream = parts.first?.stream else {
            throw ReplicationError(message: "\(scenario.name): no strategy to run")
        }
        return ReplicatedSimulation(
            scenario: first, seeds: seeds, stream: stream, runs: parts.compactMap(\.run),
            figures: (0..<specs.count).map { j in (0..<n).map { parts[j * n + $0].figures } })
    }

    /// Unit `k` of strategies × seeds, strategy-major (strategy `k / n`, seed `k % n` for `n`
    /// seeds): one independent simulation. The first seed's unit keeps its run and stream for
    /// the report. `simulate` and `--shard` both run exactly these units.
    public static func replica(_ scenario: Scenario, unit k: Int, seeds: [UInt64], slo: SLOSpec?) throws
        -> (run: StrategyRun?, stream: ArrivalStream?, figures: ReplicaFigures) {
        let specs = scenario.strategies, n = seeds.count
        let (j, i) = (k / n, k % n)
        var sc = scenario
        sc.seed = seeds[i]
        sc.strategies = [specs[j]]
        let result = try Simulator.run(sc)
        let run = result.runs[0]
        let summary = Summariser.summarise(log: run.log, stream: result.stream, slo: slo ?? scenario.slo, scenario: sc,
                                           options: SummaryOptions())
        let figures = ReplicaFigures(strategy: specs[j].label, seed: seeds[i], summary: summary)
        return i == 0 ? (run, result.stream, figures) : (nil, nil, figures)
    }

    /// The first seed's report (its runs summarised in parallel, identical to a serial build),
    /// with the replication section when there is more than one seed.
    public static func report(_ sim: ReplicatedSimulation, scenarioFile: String?, jobs: Int,
                              generatedAt: Date = Date()) async throws -> Report {
        let sc = sim.scenario, stream = sim.stream
        let runs = sim.runs
        let entries = try await Parallel.map(count: runs.count, jobs: jobs) { j in
            entry(first: sc, scenarioFile: scenarioFile, stream: stream, run: runs[j])
        }
        var report = base(first: sc, scenarioFile: scenarioFile, stream: stream, generatedAt: generatedAt)
        report.runs = entries
        if sim.seeds.count > 1 {
            report.replication = ReplicationSection(seeds: sim.seeds, figures: sim.figures, labels: runs.map(\.spec.label))
        }
        return report
    }
}

extension Replicator {
    /// The report without runs: the scenario echo and the first seed's arrivals.
    public static func base(first: Scenario, scenarioFile: String?, stream: ArrivalStream, generatedAt: Date) -> Report {
        ReportWriter.build(scenario: first, scenarioFile: scenarioFile, stream: stream, runs: [], generatedAt: generatedAt)
    }

    /// One first-seed run's report entry (summary and time series).
    public static func entry(first: Scenario, scenarioFile: String?, stream: ArrivalStream, run: StrategyRun) -> RunEntry {
        ReportWriter.build(scenario: first, scenarioFile: scenarioFile, stream: stream,
                           runs: [(spec: run.spec, log: run.log)], generatedAt: Date(timeIntervalSince1970: 0)).runs[0]
    }

    /// `ReportWriter.write` with the event files rendered in parallel (the same bytes): events
    /// first, then summary.md, report.html and report.json.
    public static func write(report: Report, stream: ArrivalStream, runs: [StrategyRun], to directory: String,
                             jobs: Int) async throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw ReportError(message: "cannot create report directory \(directory): \(error.localizedDescription); choose another --out")
        }
        let csv = try await Parallel.map(count: runs.count, jobs: jobs) { j in
            EventCSV.render(log: runs[j].log, stream: stream)
        }
        try write(report: report, events: csv, to: directory)
    }

    /// The report's files from already rendered event files (one per run, in the report's
    /// order): what `write` and `limitlab merge` of compare shards write.
    public static func write(report: Report, events csv: [Data], to directory: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw ReportError(message: "cannot create report directory \(directory): \(error.localizedDescription); choose another --out")
        }
        for (entry, data) in zip(report.runs, csv) {
            try ReportWriter.writeFile(data, to: (directory as NSString).appendingPathComponent(entry.eventsFile))
        }
        try ReportWriter.writeFile(Data(MarkdownSummary.render(report).utf8),
                                   to: (directory as NSString).appendingPathComponent("summary.md"))
        try ReportWriter.writeFile(Data(HTMLReport.render(report).utf8),
                                   to: (directory as NSString).appendingPathComponent("report.html"))
        try ReportWriter.writeFile(ReportWriter.json(report), to: (directory as NSString).appendingPathComponent("report.json"))
    }
}
