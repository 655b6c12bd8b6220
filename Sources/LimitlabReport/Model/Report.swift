public import Foundation
public import LimitlabCore
import LimitlabStats

/// The scenario as echoed in a report.
public struct ScenarioEcho: Codable, Sendable, Equatable {
    public struct Limits: Codable, Sendable, Equatable {
        public var tier: String?
        public var modelClass: String?
        public var source: String
        public var rpm: Double
        public var itpm: Double
        public var otpm: Double
        public var burst: Double
        public var admission: String
        public var outputAccounting: String
        public var cacheReadsCount: Bool
        enum CodingKeys: String, CodingKey {
            case tier, source, rpm, itpm, otpm, burst, admission
            case modelClass = "model_class", outputAccounting = "output_accounting"
            case cacheReadsCount = "cache_reads_count"
        }
    }
    public var name: String
    public var file: String?
    public var seed: UInt64
    public var target: String
    public var model: String
    public var durationS: Double?
    public var requests: Int?
    public var limits: Limits
    /// The scenario's thresholds, checked by `limitlab check`.
    public var thresholds: [ThresholdSpec]?
    /// Per-key limits when the scenario pools several API keys.
    public var keys: [KeyLimits]?
    /// `workers:` when the scenario has several client processes.
    public var workers: Workers? = nil
    /// `models:`: the model classes strategies may route to, besides `model`.
    public var models: [Model]? = nil
    public struct Model: Codable, Sendable, Equatable {
        public var model: String
        public var modelClass: String?
        public var source: String
        public var rpm: Double
        public var itpm: Double
        public var otpm: Double
        enum CodingKeys: String, CodingKey {
            case model, source, rpm, itpm, otpm
            case modelClass = "model_class"
        }
    }
    public struct Workers: Codable, Sendable, Equatable {
        public var count: Int
        public var split: String
    }
    public struct KeyLimits: Codable, Sendable, Equatable {
        public var rpm: Double
        public var itpm: Double
        public var otpm: Double
    }
    enum CodingKeys: String, CodingKey {
        case name, file, seed, target, model, requests, limits, keys, thresholds, workers, models
        case durationS = "duration_s"
    }
}

/// The realised arrival stream.
public struct ArrivalEcho: Codable, Sendable, Equatable {
    public var offered: Int
    public var windowS: Double
    /// offered / window, per minute: what the processes produced, never rescaled.
    public var realisedRatePerMin: Double
    public var inputTokensMean: Double
    public var outputTokensMean: Double
    enum CodingKeys: String, CodingKey {
        case offered
        case windowS = "window_s", realisedRatePerMin = "realised_rate_per_min"
        case inputTokensMean = "input_tokens_mean", outputTokensMean = "output_tokens_mean"
    }
}

/// What a live run adds: whether it was cut short, the schedule lag, transport errors.
public struct LiveEcho: Codable, Sendable, Equatable {
    /// True when a signal, a cap or a failure ended the run early; the report covers the
    /// requests that had arrived by then.
    public var partial: Bool
    public var stopReason: String?
    public var baseURL: String
    /// Actual send − planned send over all attempts, seconds.
    public var lagP50S: Double
    public var lagP99S: Double
    public var lagMaxS: Double
    public var warnings: [String]
    /// Transport and stream failures by cause.
    public var errorCauses: [String: Int]
    public var costUSD: Double
    enum CodingKeys: String, CodingKey {
        case partial, warnings
        case stopReason = "stop_reason", baseURL = "base_url", lagP50S = "lag_p50_s", lagP99S = "lag_p99_s"
        case lagMaxS = "lag_max_s", errorCauses = "error_causes", costUSD = "cost_usd"
    }
    public init(partial: Bool, stopReason: String?, baseURL: String, lagP50S: Double, lagP99S: Double, lagMaxS: Double,
                warnings: [String], errorCauses: [String: Int], costUSD: Double) {
        self.partial = partial; self.stopReason = stopReason; self.baseURL = baseURL; self.lagP50S = lagP50S
        self.lagP99S = lagP99S; self.lagMaxS = lagMaxS; self.warnings = warnings; self.errorCauses = errorCauses
        self.costUSD = costUSD
    }
}

/// One strategy's entry in `runs[]`.
public struct RunEntry: Codable, Sendable, Equatable {
    /// The unique label (`sdk-default#2`, or the scenario's `label`).
    public var strategy: String
    /// Registry name.
    public var name: String
    public var params: [String: String]
    public var eventsFile: String
    /// The composition as written: `retry`, `budget`, `concurrency`, `shed` names, `pool` mode.
    public var roles: [String: String]
    public var summary: RunSummary
    public var timeSeries: TimeSeries
    /// Wall-clock Unix time (seconds) of the run's time 0, for `limitlab merge` to align runs
    /// made on several machines; absent: 0 (simulated runs, or runs already on a shared clock).
    public var timeOriginEpochS: Double? = nil
    enum CodingKeys: String, CodingKey {
        case strategy, name, params, summary, roles
        case eventsFile = "events_file", timeSeries = "time_series", timeOriginEpochS = "time_origin_epoch_s"
    }
}

/// `report.json`, schema `limitlab.report/1`.
public struct Report: Codable, Sendable, Equatable {
    public var schema = "limitlab.report/1"
    public var generator: String
    /// Wall-clock time of the run; the only field that differs between identical runs.
    public var generatedAt: String
    public var scenario: ScenarioEcho
    public var quantileDefinition: String
    public var arrivals: ArrivalEcho
    public var runs: [RunEntry]
    /// Present for `limitlab compare`.
    public var comparison: Comparison?
    /// Live runs only: how the run went on the wall clock.
    public var live: LiveEcho?
    /// Reports made from a server recording (`limitlab report`, `limitlab test`).
    public var recording: RecordingSummary? = nil
    /// Present when the command ran several seeds (`--replications`, `--seeds`): every
    /// replication's figures and their across-seed intervals (Replication.swift).
    public var replication: ReplicationSection? = nil
    enum CodingKeys: String, CodingKey {
        case schema, generator, scenario, arrivals, runs, comparison, live, recording, replication
        case generatedAt = "generated_at", quantileDefinition = "quantile_definition"
    }
}

/// Errors writing report files; the message names the path and what to do.
public struct ReportError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Builds and writes reports.
public enum ReportWriter {
    public static let generator = "limitlab 0.1.0"

    /// File-name-safe form of a strategy label.
    public static func fileSafe(_ label: String) -> String {
        String(label.map { $0.isLetter || $0.isNumber || $0 == "-" || $0 == "_" || $0 == "." ? $0 : "_" })
    }

    public static func build(scenario: Scenario, scenarioFile: String?, stream: ArrivalStream,
                             runs: [(spec: StrategySpec, log: RunLog)], generatedAt: Date = Date()) -> Report {
        let c = scenario.limits.config
        var duration: Double?, requests: Int?
        switch scenario.length {
        case .duration(let d): duration = d
        case .requests(let n): requests = n
        }
        var echo = ScenarioEcho(
            name: scenario.name, file: scenarioFile, seed: scenario.seed, target: scenario.target.description,
            model: scenario.model, durationS: duration, requests: requests,
            limits: .init(tier: scenario.limits.tier, modelClass: scenario.limits.modelClass, source: scenario.limits.source,
                          rpm: c.rpm, itpm: c.itpm, otpm: c.otpm, burst: c.burst, admission: c.admission.rawValue,
                          outputAccounting: c.outputAccounting.rawValue, cacheReadsCount: c.cacheReadsCount),
            thresholds: scenario.thresholds.isEmpty ? nil : scenario.thresholds,
            keys: scenario.limits.keys.isEmpty ? nil
                : scenario.limits.keys.map { .init(rpm: $0.rpm, itpm: $0.itpm, otpm: $0.otpm) })
        if let w = scenario.workers, w.count > 1 { echo.workers = .init(count: w.count, split: w.split.rawValue) }
        if !scenario.models.isEmpty {
            echo.models = scenario.models.map {
                .init(model: $0.model, modelClass: $0.modelClass, source: $0.source, rpm: $0.limits.rpm,
                      itpm: $0.limits.itpm, otpm: $0.limits.otpm)
            }
        }
        let n = stream.count
        let inSum = stream.inputTokens.reduce(0.0) { $0 + Double($1) }
        let outSum = stream.outputTokens.reduce(0.0) { $0 + Double($1) }
        let arrivals = ArrivalEcho(
            offered: n, windowS: stream.window,
            realisedRatePerMin: stream.window > 0 ? Double(n) / stream.window * 60 : 0,
            inputTokensMean: n > 0 ? inSum / Double(n) : 0, outputTokensMean: n > 0 ? outSum / Double(n) : 0)
        let options = SummaryOptions(percentiles: scenario.reportPercentiles, bootstrap: true, seed: scenario.seed)
        let entries = runs.map { run in
            var roles: [String: String] = [:]
            if let r = run.spec.retry { roles["retry"] = r.name }
            if let b = run.spec.budget { roles["budget"] = b.name }
            if let c = run.spec.concurrency { roles["concurrency"] = c.name }
            if let s = run.spec.shed { roles["shed"] = s.name }
            if let p = run.spec.pool { roles["pool"] = p.rawValue }
            var summary = Summariser.summarise(log: run.log, stream: stream, slo: scenario.slo, scenario: scenario,
                                               options: options)
            summary.workers = WorkerStatistics.summarise(log: run.log, stream: stream, scenario: scenario,
                                                         windowS: summary.goodput.windowS)
            summary.fallback = WorkerStatistics.fallback(log: run.log)
            return RunEntry(strategy: run.spec.label, name: run.spec.name,
                            params: run.spec.params.mapValues(\.description),
                            eventsFile: "events-\(fileSafe(run.spec.label)).csv", roles: roles,
                            summary: summary, timeSeries: Summariser.timeSeries(log: run.log, stream: stream))
        }
        return Report(generator: generator, generatedAt: ISO8601DateFormatter().string(from: generatedAt),
                      scenario: echo, quantileDefinition: quantileDefinition, arrivals: arrivals, runs: entries)
    }

    /// Stable JSON: sorted keys, so the same run gives the same bytes.
    public static func json(_ report: Report) throws(ReportError) -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do { return try encoder.encode(report) } catch {
            throw ReportError(message: "internal error: report does not encode as JSON: \(error)")
        }
    }

    /// Writes `report.json`, `summary.md`, `report.html`, one `events-<strategy>.csv` and the
    /// HdrHistogram logs `<strategy>.latency.hlog` / `<strategy>.ttft.hlog` per run into `directory`.
    public static func write(report: Report, stream: ArrivalStream, runs: [(spec: StrategySpec, log: RunLog)],
                             to directory: String) throws(ReportError) {
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
        } catch {
            throw ReportError(message: "cannot create report directory \(directory): \(error.localizedDescription); choose another --out")
        }
        // Events first: if the JSON fails, the raw data is already safe on disk.
        for (entry, run) in zip(report.runs, runs) {
            let path = (directory as NSString).appendingPathComponent(entry.eventsFile)
            try writeFile(EventCSV.render(log: run.log, stream: stream), to: path)
        }
        try writeFile(Data(MarkdownSummary.render(report).utf8), to: (directory as NSString).appendingPathComponent("summary.md"))
        try writeFile(Data(HTMLReport.render(report).utf8), to: (directory as NSString).appendingPathComponent("report.html"))
        try HdrExport.write(report: report, stream: stream, runs: runs, to: directory)
        try writeFile(json(report), to: (directory as NSString).appendingPathComponent("report.json"))
    }

    static func writeFile(_ data: Data, to path: String) throws(ReportError) {
        do { try data.write(to: URL(fileURLWithPath: path), options: .atomic) } catch {
            throw ReportError(message: "cannot write \(path): \(error.localizedDescription)")
        }
    }
}
