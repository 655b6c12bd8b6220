public import Foundation
public import LimitlabCore

/// Why runs could not be merged. `mismatch`: the runs are readable but do not belong together
/// (another scenario, model, limits or strategy list); `unreadable`: a directory, report or
/// event file is missing or malformed; `invalid`: the request itself is wrong (the same run
/// given twice, which would count every request twice).
public struct RunMergeError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable { case unreadable, mismatch, invalid }
    public var kind: Kind
    public var message: String
    public init(_ kind: Kind, _ message: String) { self.kind = kind; self.message = message }
    public var description: String { message }
}

/// The union of several runs of one scenario: everything `ReportWriter.write` needs.
public struct MergedRun: Sendable {
    public var report: Report
    public var stream: ArrivalStream
    public var runs: [(spec: StrategySpec, log: RunLog)]
}

/// `limitlab merge`: rebuilds the raw logs of runs made on several machines (or by several
/// worker processes) from their `report.json` and `events-<strategy>.csv` files, aligns their
/// clocks, and summarises the union as one run of the organisation, like vegeta's mergeable
/// results. Each directory is what `limitlab run --out DIR` writes.
///
/// Rules: every report must be of the same scenario name, model, limits and strategy labels.
/// Times are shifted by each run's `time_origin_epoch_s` (absent: 0) minus the earliest one.
/// Requests are renumbered 0… in order of aligned intended arrival (ties: directory order,
/// then the original id). Worker indices are kept when the directories' worker sets are
/// disjoint (processes that were told their index); otherwise each directory's workers are
/// shifted past the previous directory's.
public enum RunMerge {
    /// Merges the runs in `directories`. `scenario`, when given, supplies what the reports do
    /// not echo (the prompt cache TTL for cost, the arrival processes); otherwise it is rebuilt
    /// from the first report.
    public static func merge(directories: [String], scenario: Scenario? = nil) throws(RunMergeError) -> MergedRun {
        guard !directories.isEmpty else { throw RunMergeError(.unreadable, "nothing to merge: give at least one run directory") }
        // The same directory twice (by any spelling or symlink) would count every request twice.
        var seenPaths: [String: String] = [:]
        for dir in directories {
            let canonical = canonicalPath(dir)
            if let other = seenPaths[canonical] {
                throw RunMergeError(.invalid, "\(dir) and \(other) are the same run directory: merging a run with itself "
                                    + "would count every request twice; give each run once")
            }
            seenPaths[canonical] = dir
        }
        var inputs: [Input] = []
        for dir in directories { inputs.append(try Input.read(dir)) }
        // A copy of a run is the same run: report.json carries generated_at and each run's own
        // results, so two runs are never byte-identical unless one is a copy of the other.
        for i in inputs.indices { for j in inputs.indices where j > i && inputs[i].reportData == inputs[j].reportData {
            throw RunMergeError(.invalid, "\(directories[j]) holds the same run as \(directories[i]) (identical "
                                + "report.json): merging it would count every request twice; give each run once")
        } }
        try checkCompatible(inputs, directories: directories)
        let first = inputs[0].report
        if let scenario { try checkScenario(scenario, matches: first, directory: directories[0]) }

        let origins = inputs.map { $0.report.runs.first?.timeOriginEpochS ?? 0 }
        let base = origins.min() ?? 0
        let offsets = origins.map { $0 - base }

        // Worker renumbering, per directory, consistent across its strategies.
        var workerSets: [Set<Int>] = []
        for input in inputs {
            var s = Set<Int>()
            for rows in input.events.values { for row in rows { s.insert(row.worker) } }
            workerSets.append(s.isEmpty ? [0] : s)
        }
        var disjoint = true
        var seen = Set<Int>()
        for s in workerSets {
            if !seen.isDisjoint(with: s) { disjoint = false }
            seen.formUnion(s)
        }
        var workerBase = [Int](repeating: 0, count: inputs.count)
        if !disjoint {
            var next = 0
            for (i, s) in workerSets.enumerated() {
                workerBase[i] = next
                next += (s.max() ?? 0) + 1
            }
        }

        // One request order for every strategy: runs of a scenario share their arrival stream.
        let labels = first.runs.map(\.strategy)
        let anchor = labels[0]
        var requests: [(t: Double, dir: Int, id: Int)] = []
        for (d, input) in inputs.enumerated() {
            for id in input.requestIDs(anchor) {
                requests.append((input.intended(anchor, id) + offsets[d], d, id))
            }
        }
        requests.sort { ($0.t, $0.dir, $0.id) < ($1.t, $1.dir, $1.id) }
        var newID: [[Int: Int]] = Array(repeating: [:], count: inputs.count)
        for (i, r) in requests.enumerated() { newID[r.dir][r.id] = i }

        var stream = ArrivalStream()
        stream.reserveCapacity(requests.count)
        for r in requests {
            let rows = inputs[r.dir].rows(anchor, r.id)
            let total = rows.first.map { $0.inputTokens + $0.cacheCreation + $0.cacheRead } ?? 0
            let output = rows.first(where: { $0.status == 200 })?.outputTokens ?? 0
            stream.append(at: r.t, input: total, output: output, maxTokens: Swift.max(output, 1),
                          prefixTokens: rows.first?.cacheRead ?? 0)
        }
        stream.window = zip(inputs, offsets).map { $0.report.arrivals.windowS + $1 }.max() ?? 0

        var runs: [(spec: StrategySpec, log: RunLog)] = []
        for entry in first.runs {
            var all: [(row: EventRow, request: Int32, dir: Int)] = []
            for (d, input) in inputs.enumerated() {
                guard let rows = input.events[entry.strategy] else { continue }
                for row in rows {
                    guard let id = newID[d][row.requestID] else {
                        throw RunMergeError(.unreadable, "\(input.eventsPath(entry.strategy)): request \(row.requestID) is "
                                            + "not in the events of \(anchor); the run directory is inconsistent")
                    }
                    var shifted = row
                    shifted.shift(offsets[d])
                    shifted.worker += workerBase[d]
                    all.append((shifted, Int32(id), d))
                }
            }
            runs.append((spec: StrategySpec(name: entry.name, label: entry.strategy), log: log(from: all, requests: requests.count)))
        }

        let workerCount = zip(workerSets, workerBase).map { ($0.max() ?? 0) + $1 + 1 }.max() ?? 1
        var sc = scenario ?? rebuildScenario(first)
        if workerCount > 1 { sc.workers = WorkersSpec(count: workerCount, split: sc.workers?.split ?? .roundRobin) }
        var report = ReportWriter.build(scenario: sc, scenarioFile: first.scenario.file, stream: stream, runs: runs)
        // What the events cannot carry comes from the reports.
        let offered = inputs.reduce(0) { $0 + $1.report.arrivals.offered }
        if offered > 0 {
            report.arrivals.outputTokensMean = inputs.reduce(0.0) {
                $0 + $1.report.arrivals.outputTokensMean * Double($1.report.arrivals.offered)
            } / Double(offered)
        }
        for i in report.runs.indices {
            report.runs[i].params = first.runs[i].params
            report.runs[i].roles = first.runs[i].roles
            report.runs[i].name = first.runs[i].name
            report.runs[i].timeOriginEpochS = base == 0 ? nil : base
        }
        return MergedRun(report: report, stream: stream, runs: runs)
    }

    private static func checkCompatible(_ inputs: [Input], directories: [String]) throws(RunMergeError) {
        let a = inputs[0].report
        for (i, input) in inputs.enumerated().dropFirst() {
            let b = input.report
            var differences: [String] = []
            if a.scenario.name != b.scenario.name { differences.append("scenario \(a.scenario.name) vs \(b.scenario.name)") }
            if a.scenario.model != b.scenario.model { differences.append("model \(a.scenario.model) vs \(b.scenario.model)") }
            if a.scenario.limits != b.scenario.limits || a.scenario.keys != b.scenario.keys {
                differences.append("limits differ")
            }
            let la = a.runs.map(\.strategy), lb = b.runs.map(\.strategy)
            if la != lb {
                differences.append("strategies [\(la.joined(separator: ", "))] vs [\(lb.joined(separator: ", "))]")
            }
            if !differences.isEmpty {
                throw RunMergeError(.mismatch, "\(directories[i]) is not a run of the same experiment as \(directories[0]): "
                                    + differences.joined(separator: "; ")
                                    + "; merge only runs of one scenario (same name, model, limits and strategies)")
            }
        }
    }

    /// `merge --scenario FILE` must name the scenario the runs are of: another one would summarise
    /// them with the wrong SLO, cache TTL and thresholds.
    private static func checkScenario(_ sc: Scenario, matches report: Report, directory: String) throws(RunMergeError) {
        var differences: [String] = []
        if sc.name != report.scenario.name { differences.append("scenario \(sc.name) vs \(report.scenario.name)") }
        if sc.model != report.scenario.model { differences.append("model \(sc.model) vs \(report.scenario.model)") }
        // A subset is fine: a worker of `run --workers` runs one strategy of the scenario.
        let labels = sc.strategies.map(\.label), reported = report.runs.map(\.strategy)
        if !reported.allSatisfy(labels.contains) {
            differences.append("strategies [\(labels.joined(separator: ", "))] vs [\(reported.joined(separator: ", "))]")
        }
        if !differences.isEmpty {
            throw RunMergeError(.mismatch, "--scenario is not the scenario of the runs in \(directory): "
                                + differences.joined(separator: "; ") + "; give the scenario file the runs were made from")
        }
    }

    /// The absolute, symlink-resolved, standardised form of `path`, for telling whether two
    /// spellings name the same directory.
    public static func canonicalPath(_ path: String) -> String {
        var p = URL(fileURLWithPath: path).standardizedFileURL.resolvingSymlinksInPath().path
        while p.count > 1 && p.hasSuffix("/") { p.removeLast() }
        return p
    }

    /// A scenario good enough to summarise: limits, model, SLO, percentiles and thresholds.
    static func rebuildScenario(_ report: Report) -> Scenario {
        let e = report.scenario
        let config = LimitConfig(rpm: e.limits.rpm, itpm: e.limits.itpm, otpm: e.limits.otpm, burst: e.limits.burst,
                                 admission: AdmissionRule(rawValue: e.limits.admission) ?? .positiveBalance,
                                 outputAccounting: OutputAccounting(rawValue: e.limits.outputAccounting) ?? .realtime,
                                 cacheReadsCount: e.limits.cacheReadsCount)
        let keys = (e.keys ?? []).map { k in
            var c = config
            c.rpm = k.rpm; c.itpm = k.itpm; c.otpm = k.otpm
            return c
        }
        let length: RunLength = e.durationS.map { .duration($0) } ?? .requests(e.requests ?? report.arrivals.offered)
        let slo = report.runs.first?.summary.slo.map { SLOSpec(latency: $0.latencyS, attainment: $0.target) }
        var sc = Scenario(
            name: e.name, seed: e.seed, target: e.target == "sim" ? .sim : e.target == "mock" ? .mock : .url(e.target),
            length: length, model: e.model,
            limits: LimitsSpec(config: config, tier: e.limits.tier, modelClass: e.limits.modelClass, source: e.limits.source,
                               keys: keys),
            arrivals: [], workload: WorkloadSpec(inputTokens: Sampled(.constant(0)), outputTokens: Sampled(.constant(0)),
                                                 maxTokens: 1),
            strategies: report.runs.map { StrategySpec(name: $0.name, label: $0.strategy) }, slo: slo)
        sc.thresholds = e.thresholds ?? []
        sc.reportPercentiles = (report.runs.first?.summary.latencyS.extra ?? [:]).keys
            .compactMap { Double($0.dropFirst()).map { $0 / 100 } }.sorted()
        if let w = e.workers { sc.workers = WorkersSpec(count: w.count, split: WorkerSplit(rawValue: w.split) ?? .roundRobin) }
        sc.models = (e.models ?? []).map { m in
            var c = config
            c.rpm = m.rpm; c.itpm = m.itpm; c.otpm = m.otpm
            return ExtraModel(model: m.model, modelClass: m.modelClass, limits: c, source: m.source)
        }
        return sc
    }

    /// A run log from event rows already renumbered and shifted; attempts in send order.
    static func log(from rows: [(row: EventRow, request: Int32, dir: Int)], requests n: Int) -> RunLog {
        var log = RunLog(requests: n)
        let attempts = rows.filter { $0.row.attempt > 0 }.sorted {
            ($0.row.sent, $0.request, $0.row.attempt) < ($1.row.sent, $1.request, $1.row.attempt)
        }
        for (row, r, _) in attempts {
            let a = Int(log.beginAttempt(request: r, readyAt: row.ready, sentAt: row.sent, key: row.key,
                                         viaFallback: row.fallback))
            log.firstTokenAt[a] = row.firstToken
            log.completedAt[a] = row.completed
            log.status[a] = UInt16(clamping: row.status)
            log.errorKind[a] = row.error.rawValue
            log.refusedBy[a] = row.refusedBy.rawValue
            if let ra = row.retryAfter { log.retryAfter[a] = Float(ra) }
            log.cacheCreationTokens[a] = Int32(clamping: row.cacheCreation)
            log.cacheReadTokens[a] = Int32(clamping: row.cacheRead)
            if row.modelClass != 0 { log.setRouting(attempt: Int32(a), modelClass: row.modelClass, trimmed: 0) }
        }
        for (row, r, _) in rows {
            let i = Int(r)
            log.worker[i] = UInt16(clamping: row.worker)
            if row.attempt == 0 && row.fallback { log.dropFallback[i] = 1 }
            // Each request's outcome is on its last row.
            if row.attempt == 0 || row.attempt == Int(log.attemptCount[i]) {
                log.finish(request: i, outcome: row.outcome, reason: row.reason)
            }
        }
        return log
    }
}

/// One row of an `events-<strategy>.csv`.
struct EventRow: Sendable {
    var requestID: Int
    var attempt: Int
    var intended: Double
    var ready: Double
    var sent: Double
    var firstToken: Double
    var completed: Double
    var status: Int
    var error: ErrorKind
    var inputTokens: Int
    var cacheCreation: Int
    var cacheRead: Int
    var outputTokens: Int
    var retryAfter: Double?
    var refusedBy: LimitDimensions
    var outcome: RequestOutcome
    var reason: UInt8
    var key: Int
    var worker: Int
    var fallback: Bool
    /// Model class of the attempt (`model` column; 0 in files written before it).
    var modelClass = 0

    mutating func shift(_ dt: Double) {
        guard dt != 0 else { return }
        intended += dt; ready += dt; sent += dt; firstToken += dt; completed += dt
    }
}

/// One run directory: its report and the event rows of each strategy.
private struct Input {
    var directory: String
    var report: Report
    var reportData: Data
    var events: [String: [EventRow]]
    /// Per strategy: request id → indices of its rows.
    var index: [String: [Int: [Int]]]

    func requestIDs(_ label: String) -> [Int] { index[label].map { Array($0.keys) } ?? [] }
    func rows(_ label: String, _ id: Int) -> [EventRow] { (index[label]?[id] ?? []).map { events[label]![$0] } }
    func intended(_ label: String, _ id: Int) -> Double { rows(label, id).first?.intended ?? 0 }
    func eventsPath(_ label: String) -> String {
        let file = report.runs.first { $0.strategy == label }?.eventsFile ?? "events-\(label).csv"
        return (directory as NSString).appendingPathComponent(file)
    }

    static func read(_ directory: String) throws(RunMergeError) -> Input {
        let reportPath = (directory as NSString).appendingPathComponent("report.json")
        guard let data = FileManager.default.contents(atPath: reportPath) else {
            throw RunMergeError(.unreadable, "\(reportPath): cannot read it; give directories written by `limitlab run --out DIR`")
        }
        let report: Report
        do { report = try JSONDecoder().decode(Report.self, from: data) } catch {
            throw RunMergeError(.unreadable, "\(reportPath): not a limitlab report (\(error)); give directories written by "
                                + "`limitlab run --out DIR`")
        }
        guard report.schema == Report.readableSchema else {
            throw RunMergeError(.unreadable, "\(reportPath): schema \(report.schema) is not one this limitlab reads "
                                + "(\(Report.readableSchema)); merge it with the limitlab version that wrote it")
        }
        guard !report.runs.isEmpty else { throw RunMergeError(.unreadable, "\(reportPath): the report has no runs") }
        var input = Input(directory: directory, report: report, reportData: data, events: [:], index: [:])
        for entry in report.runs {
            let path = input.eventsPath(entry.strategy)
            guard let csv = FileManager.default.contents(atPath: path) else {
                throw RunMergeError(.unreadable, "\(path): cannot read the events of \(entry.strategy)")
            }
            let rows = try parse(csv, path: path)
            input.events[entry.strategy] = rows
            var idx: [Int: [Int]] = [:]
            for (i, row) in rows.enumerated() { idx[row.requestID, default: []].append(i) }
            input.index[entry.strategy] = idx
            if idx.count != report.arrivals.offered {
                throw RunMergeError(.unreadable, "\(path): \(idx.count) requests, but report.json says \(report.arrivals.offered) "
                                    + "were offered; the directory is incomplete")
            }
        }
        return input
    }

    static let required = ["request_id", "attempt", "intended_s", "ready_s", "sent_s", "first_token_s", "completed_s",
                           "status", "error", "input_tokens", "cache_creation_tokens", "cache_read_tokens",
                           "output_tokens", "retry_after_s", "refused_by", "outcome"]

    static func parse(_ data: Data, path: String) throws(RunMergeError) -> [EventRow] {
        let text = String(decoding: data, as: UTF8.self)
        var lines = text.split(separator: "\n", omittingEmptySubsequences: true)
        guard !lines.isEmpty else { throw RunMergeError(.unreadable, "\(path): empty; expected an events CSV with a header") }
        let header = lines.removeFirst().split(separator: ",", omittingEmptySubsequences: false).map(String.init)
        var col: [String: Int] = [:]
        for (i, h) in header.enumerated() { col[h] = i }
        for name in required where col[name] == nil {
            throw RunMergeError(.unreadable, "\(path):1: missing column \(name); expected the header of events-<strategy>.csv")
        }
        let errors = Dictionary(ErrorKind.allCases.map { ($0.label, $0) }, uniquingKeysWith: { a, _ in a })
        let gaveUp = Dictionary(GiveUpReason.allCases.map { ($0.label, $0.rawValue) }, uniquingKeysWith: { a, _ in a })
        let drops = Dictionary(DropReason.allCases.map { ($0.label, $0.rawValue) }, uniquingKeysWith: { a, _ in a })
        var rows: [EventRow] = []
        rows.reserveCapacity(lines.count)
        for (n, line) in lines.enumerated() {
            let f = line.split(separator: ",", omittingEmptySubsequences: false)
            let lineNo = n + 2
            func field(_ name: String) -> Substring? {
                guard let i = col[name], i < f.count else { return nil }
                return f[i]
            }
            func time(_ name: String) -> Double {
                guard let s = field(name), !s.isEmpty, let v = Double(s) else { return .nan }
                return v
            }
            func int(_ name: String) -> Int { field(name).flatMap { Int($0) } ?? 0 }
            guard let id = field("request_id").flatMap({ Int($0) }), id >= 0,
                  let attempt = field("attempt").flatMap({ Int($0) }), attempt >= 0 else {
                throw RunMergeError(.unreadable, "\(path):\(lineNo): expected request_id and attempt as integers ≥ 0")
            }
            let outcomeText = String(field("outcome") ?? "")
            var outcome = RequestOutcome.pending, reason: UInt8 = 0
            if outcomeText == "succeeded" {
                outcome = .succeeded
            } else if outcomeText.hasPrefix("failed:") {
                outcome = .failed
                reason = gaveUp[String(outcomeText.dropFirst(7))] ?? 0
            } else if outcomeText.hasPrefix("dropped:") {
                outcome = .dropped
                reason = drops[String(outcomeText.dropFirst(8))] ?? 0
            }
            var refused = LimitDimensions()
            for part in (field("refused_by") ?? "").split(separator: "+") {
                switch part {
                case "requests": refused.insert(.requests)
                case "input_tokens": refused.insert(.inputTokens)
                case "output_tokens": refused.insert(.outputTokens)
                default: break
                }
            }
            let ra = time("retry_after_s")
            rows.append(EventRow(
                requestID: id, attempt: attempt, intended: time("intended_s"), ready: time("ready_s"), sent: time("sent_s"),
                firstToken: time("first_token_s"), completed: time("completed_s"), status: int("status"),
                error: errors[String(field("error") ?? "")] ?? .none, inputTokens: int("input_tokens"),
                cacheCreation: int("cache_creation_tokens"), cacheRead: int("cache_read_tokens"),
                outputTokens: int("output_tokens"), retryAfter: ra.isNaN ? nil : ra, refusedBy: refused,
                outcome: outcome, reason: reason, key: int("key"), worker: int("worker"), fallback: int("fallback") != 0,
                modelClass: int("model")))
        }
        return rows
    }
}
