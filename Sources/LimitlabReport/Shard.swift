public import Foundation

/// `--shard i/n`: this machine's share of a command's independent units (docs/sharding.md).
/// Units are numbered as the unsharded command enumerates them (`Replicator.replica`,
/// `Sweeper.unit`, `Sizer.unit`); shard `i` runs the units `k` with `k mod n == i`, so the
/// shards together run exactly the unsharded command's work, each unit once, and neighbouring
/// units (the seeds of one strategy, which cost about the same) spread over the machines.
public struct ShardSpec: Codable, Sendable, Equatable, CustomStringConvertible {
    /// 0 … count − 1 (a Kubernetes Indexed Job's `JOB_COMPLETION_INDEX`).
    public var index: Int
    public var count: Int

    public init(index: Int, count: Int) { self.index = index; self.count = count }

    public var description: String { "\(index)/\(count)" }

    /// Reads `i/n`.
    public static func parse(_ text: String) throws(ShardError) -> ShardSpec {
        let parts = text.split(separator: "/", omittingEmptySubsequences: false).map {
            $0.trimmingCharacters(in: .whitespaces)
        }
        guard parts.count == 2, let i = Int(parts[0]), let n = Int(parts[1]) else {
            throw ShardError(.invalid, "--shard \(text): expected INDEX/COUNT like 0/3 (the index counts from 0)")
        }
        guard n >= 1, n <= 10_000 else {
            throw ShardError(.invalid, "--shard \(text): expected a shard count from 1 to 10000")
        }
        guard i >= 0, i < n else {
            throw ShardError(.invalid, "--shard \(text): the index counts from 0, so it runs from 0/\(n) to \(n - 1)/\(n)")
        }
        return ShardSpec(index: i, count: n)
    }

    /// The units of `total` this shard runs, ascending.
    public func units(of total: Int) -> [Int] { Array(stride(from: index, to: total, by: count)) }
}

/// Why a shard could not be run or merged. `mismatch`: shards of another scenario, command,
/// seed list or limitlab version; `invalid`: a bad `--shard`, a shard given twice, or missing
/// shards; `unreadable`: a shard folder without a readable shard.json.
public struct ShardError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable { case invalid, mismatch, unreadable }
    public var kind: Kind
    public var message: String
    public init(_ kind: Kind, _ message: String) { self.kind = kind; self.message = message }
    public var description: String { message }
}

/// One unit of a shard: its number in the unsharded enumeration and what it simulates.
public struct ShardUnit: Codable, Sendable, Equatable {
    public var unit: Int
    public var strategy: String
    public var seed: UInt64
    /// The swept value (sweep) or the tier label (size).
    public var point: String?

    public init(unit: Int, strategy: String, seed: UInt64, point: String?) {
        self.unit = unit; self.strategy = strategy; self.seed = seed; self.point = point
    }
}

/// The head of `shard.json`: which units this shard ran and what they belong to. Two shards
/// merge only when everything but `shard`, `units`, `generated_at` and `command_line` agrees.
public struct ShardRecord: Codable, Sendable, Equatable {
    public static let currentSchema = "limitlab.shard/1"
    public var schema = ShardRecord.currentSchema
    /// The limitlab version that ran the shard (`ReportWriter.generator`).
    public var generator: String
    public var generatedAt: String
    /// `compare`, `run`, `sweep` or `size`.
    public var command: String
    /// The command line as run, for the record (not compared: paths may differ per machine).
    public var commandLine: [String]
    /// The scenario file as given, and the SHA-256 of its bytes.
    public var scenarioFile: String
    public var scenarioSHA256: String
    public var shard: ShardSpec
    /// Units of the whole command (every shard's together).
    public var unitsTotal: Int
    /// How units are numbered.
    public var unitOrder: String
    public var units: [ShardUnit]
    /// The seeds every unit runs over (the whole command's, not this shard's).
    public var seeds: [UInt64]
    public var strategies: [String]
    /// What else decides the results: `--vary`, `--slo`, `--catalog-scheme`, the SLO latency.
    public var settings: [String: String]

    public init(generatedAt: Date = Date(), command: String, commandLine: [String], scenarioFile: String,
                scenarioSHA256: String, shard: ShardSpec, unitsTotal: Int, unitOrder: String, units: [ShardUnit],
                seeds: [UInt64], strategies: [String], settings: [String: String]) {
        generator = ReportWriter.generator
        self.generatedAt = ISO8601DateFormatter().string(from: generatedAt)
        self.command = command; self.commandLine = commandLine; self.scenarioFile = scenarioFile
        self.scenarioSHA256 = scenarioSHA256; self.shard = shard; self.unitsTotal = unitsTotal
        self.unitOrder = unitOrder; self.units = units; self.seeds = seeds; self.strategies = strategies
        self.settings = settings
    }

    enum CodingKeys: String, CodingKey {
        case schema, generator, command, shard, units, seeds, strategies, settings
        case generatedAt = "generated_at", commandLine = "command_line", scenarioFile = "scenario_file"
        case scenarioSHA256 = "scenario_sha256", unitsTotal = "units_total", unitOrder = "unit_order"
    }

    /// The fields two shards of one command share, with their values, for naming a mismatch.
    var identity: [(String, String)] {
        [("generator (limitlab version)", generator), ("command", command), ("scenario_sha256", scenarioSHA256),
         ("shard count", String(shard.count)), ("units_total", String(unitsTotal)),
         ("seeds", seeds.map(String.init).joined(separator: ",")), ("strategies", strategies.joined(separator: ",")),
         ("settings", settings.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: "; "))]
    }

    /// Lowercase hex SHA-256 (FIPS 180-4) of `data`: the scenario file's fingerprint.
    public static func sha256Hex(_ data: Data) -> String {
        SHA256.digest([UInt8](data)).map { String(format: "%02x", $0) }.joined()
    }
}

/// A compare (or `run --replications`) shard's results: the report head (every shard builds the
/// same one), the first seed's report entries of its strategies (their event files, and for run
/// their HdrHistogram logs, lie beside shard.json), and the figures of each of its units.
public struct CompareShard: Codable, Sendable {
    public struct Entry: Codable, Sendable {
        /// Index of the strategy in the report.
        public var strategy: Int
        public var entry: RunEntry
        public init(strategy: Int, entry: RunEntry) { self.strategy = strategy; self.entry = entry }
    }
    public struct Unit: Codable, Sendable {
        public var unit: Int
        public var figures: ReplicaFigures
        public init(unit: Int, figures: ReplicaFigures) { self.unit = unit; self.figures = figures }
    }
    public var base: Report
    /// compare's SLO latency for the comparison; nil for run, which has no comparison.
    public var sloLatencyS: Double?
    public var entries: [Entry]
    public var figures: [Unit]

    public init(base: Report, sloLatencyS: Double?, entries: [Entry], figures: [Unit]) {
        self.base = base; self.sloLatencyS = sloLatencyS; self.entries = entries; self.figures = figures
    }

    enum CodingKeys: String, CodingKey {
        case base, entries, figures
        case sloLatencyS = "slo_latency_s"
    }
}

/// A sweep shard's results: what `Sweeper.assemble` needs besides the units.
public struct SweepShard: Codable, Sendable {
    public struct Unit: Codable, Sendable {
        public var unit: Int
        public var figures: ReplicaFigures
        public var offeredPerMin: Double
        public init(unit: Int, figures: ReplicaFigures, offeredPerMin: Double) {
            self.unit = unit; self.figures = figures; self.offeredPerMin = offeredPerMin
        }
        enum CodingKeys: String, CodingKey {
            case unit, figures
            case offeredPerMin = "offered_per_min"
        }
    }
    public var scenario: String
    public var axis: SweepAxis
    public var sloLatencyS: Double?
    public var sloAttainment: Double?
    public var results: [Unit]

    public init(scenario: String, axis: SweepAxis, sloLatencyS: Double?, sloAttainment: Double?, results: [Unit]) {
        self.scenario = scenario; self.axis = axis; self.sloLatencyS = sloLatencyS; self.sloAttainment = sloAttainment
        self.results = results
    }

    enum CodingKeys: String, CodingKey {
        case scenario, axis, results
        case sloLatencyS = "slo_latency_s", sloAttainment = "slo_attainment"
    }
}

/// A size shard's results: each unit's run summary (what `Sizer` judges).
public struct SizeShard: Codable, Sendable {
    public struct Unit: Codable, Sendable {
        public var unit: Int
        public var summary: RunSummary
        public init(unit: Int, summary: RunSummary) { self.unit = unit; self.summary = summary }
    }
    public var results: [Unit]
    public init(results: [Unit]) { self.results = results }
}

/// `shard.json`: the record and the command's results.
public struct ShardFile: Codable, Sendable {
    public static let fileName = "shard.json"
    public var record: ShardRecord
    public var compare: CompareShard?
    /// `run --replications`: the same shape as compare's.
    public var run: CompareShard?
    public var sweep: SweepShard?
    public var size: SizeShard?

    public init(record: ShardRecord, compare: CompareShard? = nil, run: CompareShard? = nil, sweep: SweepShard? = nil,
                size: SizeShard? = nil) {
        self.record = record; self.compare = compare; self.run = run; self.sweep = sweep; self.size = size
    }

    /// Stable JSON (sorted keys).
    public func json() throws -> Data {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return try encoder.encode(self)
    }
}

/// `limitlab merge` of shard folders: checks that the shards belong together and are complete,
/// and puts every unit's result back at its index.
public enum ShardMerge {
    /// Whether `directory` holds a shard (its shard.json).
    public static func isShard(_ directory: String) -> Bool {
        FileManager.default.fileExists(atPath: (directory as NSString).appendingPathComponent(ShardFile.fileName))
    }

    public static func read(_ directory: String) throws(ShardError) -> ShardFile {
        let path = (directory as NSString).appendingPathComponent(ShardFile.fileName)
        guard let data = FileManager.default.contents(atPath: path) else {
            throw ShardError(.unreadable, "\(path): cannot read; give the folder a `--shard` command wrote")
        }
        do { return try JSONDecoder().decode(ShardFile.self, from: data) } catch {
            throw ShardError(.unreadable, "\(path) is not a limitlab shard record (\(error)); give the folder a `--shard` "
                             + "command wrote, unchanged")
        }
    }

    /// Checks the shards (read from `directories`, in that order) and returns them ordered by
    /// index: one command, one scenario, one version, each index once, none missing, and each
    /// shard's units the ones its index stands for.
    public static func check(_ shards: [ShardFile], directories: [String]) throws(ShardError) -> [ShardFile] {
        guard let first = shards.first else { throw ShardError(.invalid, "nothing to merge: give the shard folders") }
        for (k, s) in shards.enumerated() {
            guard s.record.schema == ShardRecord.currentSchema else {
                throw ShardError(.mismatch, "\(directories[k]): shard schema \(s.record.schema); this limitlab reads "
                                 + "\(ShardRecord.currentSchema): run every shard and the merge with one limitlab version")
            }
            for ((name, a), (_, b)) in zip(first.record.identity, s.record.identity) where a != b {
                let what = name == "scenario_sha256" ? "another scenario file (its SHA-256 differs)" : "a different \(name)"
                throw ShardError(.mismatch, "\(directories[k]) is a shard of \(what) than \(directories[0]): \(b) vs \(a); "
                                 + "merge only the shards of one command line over one scenario")
            }
        }
        var byIndex: [Int: Int] = [:]
        for (k, s) in shards.enumerated() {
            if let other = byIndex[s.record.shard.index] {
                throw ShardError(.invalid, "\(directories[k]) and \(directories[other]) are both shard \(s.record.shard): "
                                 + "merging a shard twice would count its units twice; give each shard once")
            }
            byIndex[s.record.shard.index] = k
            let expected = s.record.shard.units(of: s.record.unitsTotal)
            guard s.record.units.map(\.unit) == expected else {
                throw ShardError(.mismatch, "\(directories[k]): shard \(s.record.shard) lists units other than the ones "
                                 + "its index stands for; the folder was changed or made by another version")
            }
        }
        let count = first.record.shard.count
        let missing = (0..<count).filter { byIndex[$0] == nil }
        if !missing.isEmpty {
            throw ShardError(.invalid, "missing shard(s) " + missing.map { "\($0)/\(count)" }.joined(separator: ", ")
                             + " of \(count): run the command with --shard for each and give every shard folder")
        }
        return (0..<count).map { shards[byIndex[$0]!] }
    }

    /// Every unit's value at its index; `results` gives a shard's (unit, value) pairs.
    public static func collect<T>(_ shards: [ShardFile], total: Int,
                                  _ results: (ShardFile) -> [(Int, T)]) throws(ShardError) -> [T] {
        var slots = [T?](repeating: nil, count: total)
        for s in shards {
            let mine = results(s)
            guard mine.map(\.0) == s.record.units.map(\.unit) else {
                throw ShardError(.unreadable, "shard \(s.record.shard): its results do not match its units; the shard "
                                 + "did not finish or its shard.json was changed; run that shard again")
            }
            for (k, v) in mine where k >= 0 && k < total { slots[k] = v }
        }
        let filled = slots.compactMap { $0 }
        guard filled.count == total else {
            throw ShardError(.unreadable, "the shards hold \(filled.count) of \(total) units; run the missing shards again")
        }
        return filled
    }
}
