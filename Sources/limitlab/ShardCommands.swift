import ArgumentParser
import Foundation
import LimitlabCore
import LimitlabReport
import LimitlabSim

/// `--shard i/n` on compare, sweep and size (docs/sharding.md).
struct ShardFlags: ParsableArguments {
    @Option(help: ArgumentHelp(
        "Run only shard INDEX/COUNT (INDEX from 0) of the command's independent simulations and write a shard folder (shard.json) for `limitlab merge`.",
        valueName: "INDEX/COUNT"))
    var shard: String?

    func spec() throws -> ShardSpec? {
        guard let shard else { return nil }
        do { return try ShardSpec.parse(shard) } catch { throw CLIFailure.badInput(error.message) }
    }
}

/// Running one shard and merging shards, for each command that can be sharded.
enum Sharding {
    static func scenarioHash(_ path: String) throws -> String {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw CLIFailure.badInput("\(path): cannot read the scenario file")
        }
        return ShardRecord.sha256Hex(data)
    }

    static func folder(out: String?, force: Bool, name: String, command: String, shard: ShardSpec) throws -> String {
        try OutputFolder.choose(out: out, force: force, name: name, suffix: "-\(command)-shard\(shard.index)of\(shard.count)")
    }

    static func write(_ file: ShardFile, to directory: String) throws {
        do {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            try file.json().write(to: URL(fileURLWithPath: (directory as NSString).appendingPathComponent(ShardFile.fileName)),
                                  options: .atomic)
        } catch {
            throw CLIFailure.internalError("cannot write \(directory)/\(ShardFile.fileName): \(error.localizedDescription)")
        }
    }

    /// What a shard prints: a line naming its units and folder, or with --json the record.
    static func announce(_ record: ShardRecord, directory: String, quiet json: Bool) throws {
        if json {
            writeStdout(try ScenarioInput.jsonString(record) + "\n")
            return
        }
        writeStdout("\(record.command) shard \(record.shard): \(record.units.count) of \(record.unitsTotal) simulations "
                    + "(units \(record.units.map { String($0.unit) }.joined(separator: ",")))\n"
                    + "shard: \(directory)/\(ShardFile.fileName); merge every shard with "
                    + "`limitlab merge SHARD_DIR... --out DIR`\n")
    }

    /// The commands whose units are strategies × seeds (`Replicator.replica`).
    enum Replicated {
        /// compare: figures judged against the scenario's SLO or, without one, `sloLatency`.
        case compare(sloLatency: Double)
        /// `run --replications`: figures judged against the scenario's own SLO, as the unsharded
        /// run does; its shards also keep the first seed's HdrHistogram logs, which run writes.
        case run

        var name: String { if case .run = self { "run" } else { "compare" } }
    }

    /// `run --target sim --replications N --shard i/n`: the compare shard path with the run's
    /// figures (`Replicated.run`). A live run is one replication, and a single seed leaves
    /// nothing to split: both are refused before any work.
    static func run(_ sc: Scenario, file: String, replication: ReplicationFlags, shard: ShardSpec, check: Bool,
                    out: String?, json: Bool, quiet: Bool) throws {
        guard sc.target == .sim else {
            throw CLIFailure.badInput("--shard splits the replications of a simulation, and target \(sc.target) is live (a live "
                                      + "run is one replication): add --target sim, or drop --shard")
        }
        guard !check else {
            throw CLIFailure.badInput("--check judges a whole report, which a shard is not: merge the shards, then run "
                                      + "`limitlab check MERGED_DIR/report.json`")
        }
        let seeds = try replication.plan(base: sc.seed).seeds
        guard seeds.count > 1 else {
            throw CLIFailure.badInput("--shard on run splits the replications: add --replications N (N ≥ 2) or --seeds A..B "
                                      + "(a single-seed run is one simulation per strategy; run it on one machine)")
        }
        StopSignals.release()
        try compare(sc, file: file, seeds: seeds, command: .run, shard: shard, jobs: try replication.width(), out: out,
                    force: false, quiet: json, silent: quiet && !json)
    }

    /// compare and `run --replications`: units strategy-major over the seeds (`Replicator.replica`).
    /// `quiet` prints the shard record as JSON instead of the line; `silent` prints nothing.
    static func compare(_ sc: Scenario, file: String, seeds: [UInt64], command: Replicated, shard: ShardSpec, jobs: Int,
                        out: String?, force: Bool, quiet: Bool, silent: Bool = false) throws {
        guard seeds.count > 1 else {
            throw CLIFailure.badInput("--shard on compare splits the replications: add --replications N (N ≥ 2) or --seeds A..B "
                                      + "(with one seed the paired bootstrap needs every strategy's requests on one machine)")
        }
        let hash = try scenarioHash(file)
        let directory = try folder(out: out, force: force, name: sc.name, command: command.name, shard: shard)
        let n = seeds.count
        let units = shard.units(of: sc.strategies.count * n)
        var sloLatency: Double?
        if case .compare(let latency) = command { sloLatency = latency }
        let slo = sc.slo ?? sloLatency.map { SLOSpec(latency: $0) }
        let parts: [(run: StrategyRun?, stream: ArrivalStream?, figures: ReplicaFigures)]
        do {
            parts = try Progress("\(command.name) shard \(shard)", total: Double(units.count), quiet: quiet || silent).countingSimulations {
                try blocking {
                    try await Parallel.map(count: units.count, jobs: jobs) { try Replicator.replica(sc, unit: units[$0], seeds: seeds, slo: slo) }
                }
            }
        } catch { throw CLIFailure.badInput("\(file): \(error)") }
        var first = sc
        first.seed = seeds[0]
        // The report head needs the first seed's arrivals, which a shard without a first-seed
        // unit has not generated: the stream does not depend on the strategies.
        let stream: ArrivalStream
        if let s = parts.compactMap(\.stream).first { stream = s } else {
            var bare = first
            bare.strategies = []
            do { stream = try Simulator.run(bare).stream } catch { throw CLIFailure.badInput("\(file): \(error)") }
        }
        var entries: [CompareShard.Entry] = []
        for (u, part) in zip(units, parts) {
            guard let run = part.run else { continue }
            let entry = Replicator.entry(first: first, scenarioFile: file, stream: stream, run: run)
            entries.append(.init(strategy: u / n, entry: entry))
            do {
                try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
                try EventCSV.render(log: run.log, stream: stream)
                    .write(to: URL(fileURLWithPath: (directory as NSString).appendingPathComponent(entry.eventsFile)), options: .atomic)
                if case .run = command {
                    // The same <label>.latency.hlog / .ttft.hlog the unsharded run writes; merge copies them.
                    var head = Replicator.base(first: first, scenarioFile: file, stream: stream, generatedAt: Date())
                    head.runs = [entry]
                    try HdrExport.write(report: head, stream: stream, runs: [(spec: run.spec, log: run.log)], to: directory)
                }
            } catch { throw CLIFailure.internalError("cannot write to \(directory): \(error)") }
        }
        let record = ShardRecord(
            command: command.name, commandLine: CommandLine.arguments, scenarioFile: file, scenarioSHA256: hash, shard: shard,
            unitsTotal: sc.strategies.count * n, unitOrder: "strategy-major: unit k = strategy (k / seeds) under seed (k mod seeds)",
            units: units.map { ShardUnit(unit: $0, strategy: sc.strategies[$0 / n].label, seed: seeds[$0 % n], point: nil) },
            seeds: seeds, strategies: sc.strategies.map(\.label),
            settings: sloLatency.map { ["slo_latency_s": String($0)] } ?? [:])
        let data = CompareShard(base: Replicator.base(first: first, scenarioFile: file, stream: stream, generatedAt: Date()),
                                sloLatencyS: sloLatency, entries: entries,
                                figures: zip(units, parts).map { .init(unit: $0, figures: $1.figures) })
        if case .run = command {
            try write(ShardFile(record: record, run: data), to: directory)
        } else {
            try write(ShardFile(record: record, compare: data), to: directory)
        }
        if !silent { try announce(record, directory: directory, quiet: quiet) }
    }

    /// sweep: units point-major, then strategy, then seed (`Sweeper.unit`).
    static func sweep(_ sc: Scenario, file: String, axis: SweepAxis, seeds: [UInt64], shard: ShardSpec, jobs: Int,
                      out: String?, force: Bool, quiet: Bool) throws {
        let hash = try scenarioHash(file)
        let directory = try folder(out: out, force: force, name: sc.name, command: "sweep", shard: shard)
        let scenarios: [Scenario]
        do { scenarios = try Sweeper.points(sc, axis: axis) } catch { throw CLIFailure.badInput(error.message) }
        let (ns, nk) = (sc.strategies.count, seeds.count)
        let units = shard.units(of: scenarios.count * ns * nk)
        let parts: [(ReplicaFigures, Double)]
        do {
            parts = try Progress("sweep shard \(shard)", total: Double(units.count), quiet: quiet).countingSimulations {
                try blocking {
                    try await Parallel.map(count: units.count, jobs: jobs) { try Sweeper.unit(units[$0], scenarios: scenarios, seeds: seeds) }
                }
            }
        } catch { throw CLIFailure.badInput("\(file): \(error)") }
        let record = ShardRecord(
            command: "sweep", commandLine: CommandLine.arguments, scenarioFile: file, scenarioSHA256: hash, shard: shard,
            unitsTotal: scenarios.count * ns * nk,
            unitOrder: "point-major: unit k = point (k / (strategies·seeds)), strategy ((k / seeds) mod strategies), seed (k mod seeds)",
            units: units.map { k in
                ShardUnit(unit: k, strategy: sc.strategies[(k / nk) % ns].label, seed: seeds[k % nk],
                          point: axis.label(axis.values[k / (ns * nk)]))
            },
            seeds: seeds, strategies: sc.strategies.map(\.label),
            settings: ["axis": axis.path, "values": axis.values.map { String($0) }.joined(separator: ",")])
        let data = SweepShard(scenario: sc.name, axis: axis, sloLatencyS: sc.slo?.latency, sloAttainment: sc.slo?.attainment,
                              results: zip(units, parts).map { .init(unit: $0, figures: $1.0, offeredPerMin: $1.1) })
        try write(ShardFile(record: record, sweep: data), to: directory)
        try announce(record, directory: directory, quiet: quiet)
    }

    /// size over catalog tiers: units tier-major, then strategy, then seed (`Sizer.unit`).
    /// `settings` keeps what reloading the scenario for the merge needs (--slo, --seed,
    /// --strategies, --catalog-scheme).
    static func size(_ sc: Scenario, file: String, conditions: [Condition], scheme: String, seeds: [UInt64],
                     settings: [String: String], shard: ShardSpec, jobs: Int, out: String?, force: Bool, quiet: Bool) throws {
        let hash = try scenarioHash(file)
        let tiers: (configs: [Scenario], labels: [String], modelClass: String)
        do { tiers = try Sizer.tierConfigs(sc, scheme: scheme) } catch { throw CLIFailure.badInput(error.message) }
        let directory = try folder(out: out, force: force, name: sc.name, command: "size", shard: shard)
        let (ns, nk) = (sc.strategies.count, seeds.count)
        let total = tiers.configs.count * ns * nk
        let units = shard.units(of: total)
        let specs = sc.strategies
        let parts: [RunSummary]
        do {
            parts = try Progress("size shard \(shard)", total: Double(units.count), quiet: quiet).countingSimulations {
                try blocking {
                    try await Parallel.map(count: units.count, jobs: jobs) {
                        try Sizer.unit(units[$0], configs: tiers.configs, strategies: specs, seeds: seeds)
                    }
                }
            }
        } catch { throw CLIFailure.badInput("\(file): \(error)") }
        var all = settings
        all["conditions"] = conditions.map(\.description).joined(separator: ",")
        let record = ShardRecord(
            command: "size", commandLine: CommandLine.arguments, scenarioFile: file, scenarioSHA256: hash, shard: shard,
            unitsTotal: total,
            unitOrder: "tier-major: unit k = tier (k / (strategies·seeds)), strategy ((k / seeds) mod strategies), seed (k mod seeds)",
            units: units.map { k in
                ShardUnit(unit: k, strategy: specs[(k / nk) % ns].label, seed: seeds[k % nk], point: tiers.labels[k / (ns * nk)])
            },
            seeds: seeds, strategies: specs.map(\.label), settings: all)
        try write(ShardFile(record: record, size: SizeShard(results: zip(units, parts).map { .init(unit: $0, summary: $1) })),
                  to: directory)
        try announce(record, directory: directory, quiet: quiet)
    }

    /// `limitlab merge` of shard folders: the files the unsharded command writes, into `out`.
    static func merge(_ directories: [String], out: String, scenario: String?, quiet: Bool) throws {
        func fail(_ e: ShardError) -> CLIFailure {
            switch e.kind {
            case .mismatch: return CLIFailure(code: ExitCodes.mismatch, message: e.message)
            case .invalid, .unreadable: return CLIFailure.badInput(e.message)
            }
        }
        let notShards = directories.filter { !ShardMerge.isShard($0) }
        if !notShards.isEmpty {
            throw CLIFailure.badInput("\(notShards.joined(separator: ", ")): no \(ShardFile.fileName); merge either shard folders "
                                      + "(written with --shard) or run folders, not both")
        }
        // The same folder twice by another spelling: its units would count twice.
        var seen: [String: String] = [:]
        for d in directories {
            let c = RunMerge.canonicalPath(d)
            if let other = seen[c] {
                throw CLIFailure.badInput("\(d) and \(other) are the same shard folder; give each shard once")
            }
            seen[c] = d
        }
        let shards: [ShardFile]
        var dirOf: [Int: String] = [:]
        do {
            var read: [ShardFile] = []
            for d in directories { read.append(try ShardMerge.read(d)) }
            shards = try ShardMerge.check(read, directories: directories)
            for (d, s) in zip(directories, read) { dirOf[s.record.shard.index] = d }
        } catch { throw fail(error) }
        let record = shards[0].record
        if let scenario {
            let hash = try scenarioHash(scenario)
            if hash != record.scenarioSHA256 {
                throw CLIFailure(code: ExitCodes.mismatch, message: "--scenario \(scenario) is not the scenario the shards ran "
                                 + "(SHA-256 \(hash) vs \(record.scenarioSHA256)); give the file the shards were made from")
            }
        }
        do {
            switch record.command {
            case "compare", "run": try mergeCompare(shards, dirOf: dirOf, out: out, quiet: quiet)
            case "sweep": try mergeSweep(shards, out: out, quiet: quiet)
            case "size": try mergeSize(shards, scenario: scenario, out: out, quiet: quiet)
            default: throw ShardError(.unreadable, "shard of an unknown command \(record.command)")
            }
        } catch let e as ShardError { throw fail(e) }
    }

    /// compare and `run --replications` shards: the first seed's runs, every unit's figures, and
    /// for compare the comparison, for run the HdrHistogram logs the shards wrote.
    static func mergeCompare(_ shards: [ShardFile], dirOf: [Int: String], out: String, quiet: Bool) throws {
        let record = shards[0].record
        let isRun = record.command == "run"
        let parts = try shards.map { s throws(ShardError) -> CompareShard in
            guard let c = isRun ? s.run : s.compare else {
                throw ShardError(.unreadable, "shard \(s.record.shard) has no \(record.command) results")
            }
            return c
        }
        // Every shard built the same report head; one that differs came from other inputs.
        var base = parts[0].base
        for (s, p) in zip(shards, parts) {
            var b = p.base
            b.generatedAt = base.generatedAt
            if b != base {
                throw ShardError(.mismatch, "shard \(s.record.shard) describes another scenario or arrival stream than shard "
                                 + "\(record.shard) (report head differs); merge only the shards of one command")
            }
        }
        let seeds = record.seeds, n = seeds.count, labels = record.strategies
        let figures = try ShardMerge.collect(shards, total: record.unitsTotal) { s in
            ((isRun ? s.run : s.compare)?.figures ?? []).map { ($0.unit, $0.figures) }
        }
        var entries: [RunEntry] = [], events: [Data] = [], hlogs: [(name: String, data: Data)] = []
        for j in labels.indices {
            // The first seed's unit of strategy j is unit j·n, run by shard (j·n) mod count.
            let index = (j * n) % record.shard.count
            guard let e = parts[index].entries.first(where: { $0.strategy == j }), let dir = dirOf[index] else {
                throw ShardError(.unreadable, "shard \(index)/\(record.shard.count) lacks the first seed's run of \(labels[j]); run it again")
            }
            let path = (dir as NSString).appendingPathComponent(e.entry.eventsFile)
            guard let csv = FileManager.default.contents(atPath: path) else {
                throw ShardError(.unreadable, "\(path): missing; run shard \(index)/\(record.shard.count) again")
            }
            entries.append(e.entry)
            events.append(csv)
            if isRun {
                for what in ["latency", "ttft"] {
                    let name = "\(ReportWriter.fileSafe(labels[j])).\(what).hlog"
                    let path = (dir as NSString).appendingPathComponent(name)
                    guard let data = FileManager.default.contents(atPath: path) else {
                        throw ShardError(.unreadable, "\(path): missing; run shard \(index)/\(record.shard.count) again")
                    }
                    hlogs.append((name, data))
                }
            }
        }
        base.generatedAt = ISO8601DateFormatter().string(from: Date())
        var report = base
        report.runs = entries
        let grid = (0..<labels.count).map { j in (0..<n).map { figures[j * n + $0] } }
        report.replication = ReplicationSection(seeds: seeds, figures: grid, labels: labels)
        if !isRun { report.comparison = Comparer.compare(figures: grid, seeds: seeds, sloLatencyS: parts[0].sloLatencyS ?? 30) }
        do {
            // The logs before report.json, which Replicator.write writes last (as ReportWriter.write does).
            try FileManager.default.createDirectory(atPath: out, withIntermediateDirectories: true)
            for h in hlogs {
                try h.data.write(to: URL(fileURLWithPath: (out as NSString).appendingPathComponent(h.name)), options: .atomic)
            }
            try Replicator.write(report: report, events: events, to: out)
        } catch {
            throw CLIFailure.internalError("\(error)")
        }
        if isRun {
            if !quiet {
                writeStdout("merged \(shards.count) run shards: \(record.unitsTotal) simulations, \(labels.count) strategies × "
                            + "\(n) seeds\n\n" + SummaryTable.render(report) + "\n"
                            + SummaryTable.render(report.replication!, target: entries.first?.summary.slo?.target)
                            + "\nreport: \(out)/report.html (report.json, summary.md, events-*.csv, *.hlog beside it)\n")
            }
            return
        }
        if !quiet {
            writeStdout("merged \(shards.count) compare shards: \(record.unitsTotal) simulations, \(labels.count) strategies × "
                        + "\(n) seeds\n\n" + SummaryTable.render(report)
                        + "\nreport: \(out)/report.json (summary.md, report.html, events-*.csv beside it)\n")
        }
    }

    static func mergeSweep(_ shards: [ShardFile], out: String, quiet: Bool) throws {
        let record = shards[0].record
        guard let head = shards[0].sweep else { throw ShardError(.unreadable, "shard \(record.shard) has no sweep results") }
        let figures = try ShardMerge.collect(shards, total: record.unitsTotal) { s in
            (s.sweep?.results ?? []).map { ($0.unit, ($0.figures, $0.offeredPerMin)) }
        }
        let slo = head.sloLatencyS.map { SLOSpec(latency: $0, attainment: head.sloAttainment) }
        let result = Sweeper.assemble(name: head.scenario, axis: head.axis, labels: record.strategies, slo: slo,
                                      seeds: record.seeds, figures: figures)
        try SweepCommand.write(result, to: out)
        if !quiet {
            writeStdout("merged \(shards.count) sweep shards: \(record.unitsTotal) simulations\n\n" + SweepReport.markdown(result)
                        + "\nsweep: \(out)/sweep.json, sweep.md, sweep.html\n")
        }
    }

    /// size shards carry only summaries: the tiers, conditions and strategies come from the
    /// scenario file again (checked against the record's SHA-256 by the caller when given as
    /// --scenario, here when taken from the record).
    static func mergeSize(_ shards: [ShardFile], scenario: String?, out: String, quiet: Bool) throws {
        let record = shards[0].record
        let file = scenario ?? record.scenarioFile
        guard FileManager.default.fileExists(atPath: file) else {
            throw CLIFailure.badInput("size shards are merged with their scenario file, and \(file) (from shard.json) does not "
                                      + "exist here; pass --scenario FILE")
        }
        if try scenarioHash(file) != record.scenarioSHA256 {
            throw CLIFailure(code: ExitCodes.mismatch, message: "\(file) is not the scenario the size shards ran (its SHA-256 "
                             + "differs); pass --scenario with the file the shards were made from")
        }
        let set = record.settings
        let seed = set["seed"].flatMap { UInt64($0) }
        let sc = try ScenarioInput.load(file, seed: seed, strategies: set["strategies"].flatMap { $0.isEmpty ? nil : $0 })
        let conditions: [Condition]
        let source: String
        if let slo = set["slo"], !slo.isEmpty {
            do { conditions = try Condition.parseList(slo) } catch { throw CLIFailure.badInput("--slo \(error)") }
            source = "--slo"
        } else {
            do { conditions = try Sizer.conditions(from: sc) } catch { throw CLIFailure.badInput("\(file): \(error.message)") }
            source = "the scenario's slo:"
        }
        let scheme = set["catalog_scheme"] ?? "classic"
        let tiers: (configs: [Scenario], labels: [String], modelClass: String)
        do { tiers = try Sizer.tierConfigs(sc, scheme: scheme) } catch { throw CLIFailure.badInput(error.message) }
        guard sc.strategies.map(\.label) == record.strategies,
              tiers.configs.count * sc.strategies.count * record.seeds.count == record.unitsTotal else {
            throw CLIFailure(code: ExitCodes.mismatch, message: "\(file) with the shards' settings gives other units than the shards ran")
        }
        let summaries = try ShardMerge.collect(shards, total: record.unitsTotal) { s in (s.size?.results ?? []).map { ($0.unit, $0.summary) } }
        let result = Sizer.tierResult(sc, conditions: conditions, scheme: scheme, seeds: record.seeds, sloSource: source,
                                      tiers: tiers, summaries: summaries)
        try ScenarioInput.writeJSON(result, to: out + "/size.json")
        if !quiet {
            writeStdout("merged \(shards.count) size shards: \(record.unitsTotal) simulations\n\n"
                        + SizeCommand.render(result, conditions: conditions, custom: false) + "search: \(out)/size.json\n")
        }
        if !result.fits {
            throw CLIFailure(code: ExitCodes.checkFailed, message: "no configuration tried meets the SLO with any strategy")
        }
    }
}
