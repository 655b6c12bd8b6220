import Foundation
import LimitlabCore
@testable import LimitlabReport
import LimitlabSim
import Testing

@Suite struct ShardTests {
    @Test func shardSpecsParseAndRefuse() throws {
        #expect(try ShardSpec.parse("0/3") == ShardSpec(index: 0, count: 3))
        #expect(try ShardSpec.parse(" 2 / 3 ") == ShardSpec(index: 2, count: 3))
        for bad in ["3/3", "-1/3", "1/0", "1", "a/b", "1/2/3", "", "0/10001"] {
            #expect(throws: ShardError.self, "\(bad)") { try ShardSpec.parse(bad) }
        }
    }

    /// The shards of a command run every unit exactly once, whatever the counts.
    @Test func shardsPartitionTheUnits() {
        for total in 0...30 {
            for count in 1...7 {
                let all = (0..<count).flatMap { ShardSpec(index: $0, count: count).units(of: total) }
                #expect(all.sorted() == Array(0..<total), "\(total) units over \(count) shards")
            }
        }
        #expect(ShardSpec(index: 1, count: 3).units(of: 8) == [1, 4, 7])
    }

    /// A shard's results go through shard.json: what makes the merged report byte-identical is
    /// that report entries and figures survive the JSON round trip unchanged.
    @Test func compareUnitsSurviveShardJSON() async throws {
        let sc = try scenario(tierOneBurst)
        let seeds: [UInt64] = [7, 8, 9]
        let units = ShardSpec(index: 0, count: 2).units(of: sc.strategies.count * seeds.count)
        let parts = try units.map { try Replicator.replica(sc, unit: $0, seeds: seeds, slo: sc.slo) }
        var first = sc
        first.seed = seeds[0]
        let stream = try #require(parts.compactMap(\.stream).first)
        let entries = zip(units, parts).compactMap { u, p in
            p.run.map { CompareShard.Entry(strategy: u / seeds.count, entry: Replicator.entry(first: first, scenarioFile: "t.yaml",
                                                                                              stream: stream, run: $0)) }
        }
        let record = ShardRecord(command: "compare", commandLine: ["limitlab"], scenarioFile: "t.yaml", scenarioSHA256: "x",
                                 shard: ShardSpec(index: 0, count: 2), unitsTotal: 6, unitOrder: "", units: [], seeds: seeds,
                                 strategies: sc.strategies.map(\.label), settings: [:])
        let file = ShardFile(record: record, compare: CompareShard(
            base: Replicator.base(first: first, scenarioFile: "t.yaml", stream: stream, generatedAt: Date(timeIntervalSince1970: 0)),
            sloLatencyS: 30, entries: entries, figures: zip(units, parts).map { .init(unit: $0, figures: $1.figures) }))
        let back = try JSONDecoder().decode(ShardFile.self, from: try file.json())
        #expect(back.compare!.base == file.compare!.base)
        #expect(back.compare!.entries.map(\.entry) == entries.map(\.entry) && !entries.isEmpty)
        #expect(back.compare!.figures.map(\.figures) == parts.map(\.figures))
        // The units are the unsharded run's: the same figures at the same indices.
        let whole = try Simulator.run(first)
        #expect(whole.runs.count == 2)
        let sim = try await Replicator.simulate(sc, seeds: seeds, jobs: 1, slo: sc.slo)
        let flat = sim.figures.flatMap { $0 }
        for (u, p) in zip(units, parts) { #expect(flat[u] == p.figures) }
    }

    /// `run --replications` builds its report with `ReportWriter.build` over the first seed's runs;
    /// the merge of run shards from the report head, per-run entries and every unit's figures,
    /// taken through shard.json. Both must give the same report.json bytes.
    @Test func runReportFromShardsEqualsTheRunsReport() async throws {
        let sc = try scenario(tierOneBurst)
        let seeds: [UInt64] = [7, 8, 9]
        let at = Date(timeIntervalSince1970: 0)
        let sim = try await Replicator.simulate(sc, seeds: seeds, jobs: 1)
        var direct = ReportWriter.build(scenario: sim.scenario, scenarioFile: "t.yaml", stream: sim.stream,
                                        runs: sim.runs.map { (spec: $0.spec, log: $0.log) }, generatedAt: at)
        direct.replication = ReplicationSection(seeds: seeds, figures: sim.figures, labels: sc.strategies.map(\.label))

        let (ns, n) = (sc.strategies.count, seeds.count)
        var first = sc
        first.seed = seeds[0]
        var shards: [ShardFile] = []
        for i in 0..<2 {
            let units = ShardSpec(index: i, count: 2).units(of: ns * n)
            let parts = try units.map { try Replicator.replica(sc, unit: $0, seeds: seeds, slo: sc.slo) }
            let entries = zip(units, parts).compactMap { u, p in
                p.run.map { CompareShard.Entry(strategy: u / n, entry: Replicator.entry(first: first, scenarioFile: "t.yaml",
                                                                                        stream: sim.stream, run: $0)) }
            }
            let record = ShardRecord(command: "run", commandLine: [], scenarioFile: "t.yaml", scenarioSHA256: "x",
                                     shard: ShardSpec(index: i, count: 2), unitsTotal: ns * n, unitOrder: "",
                                     units: units.map { ShardUnit(unit: $0, strategy: "", seed: 0, point: nil) }, seeds: seeds,
                                     strategies: sc.strategies.map(\.label), settings: [:])
            let file = ShardFile(record: record, run: CompareShard(
                base: Replicator.base(first: first, scenarioFile: "t.yaml", stream: sim.stream, generatedAt: at),
                sloLatencyS: nil, entries: entries, figures: zip(units, parts).map { .init(unit: $0, figures: $1.figures) }))
            shards.append(try JSONDecoder().decode(ShardFile.self, from: try file.json()))
        }
        #expect(shards.allSatisfy { $0.compare == nil && $0.run?.sloLatencyS == nil })
        let figures = try ShardMerge.collect(shards, total: ns * n) { s in s.run!.figures.map { ($0.unit, $0.figures) } }
        var merged = shards[0].run!.base
        merged.runs = (0..<ns).map { j in shards[(j * n) % 2].run!.entries.first { $0.strategy == j }!.entry }
        merged.replication = ReplicationSection(seeds: seeds, figures: (0..<ns).map { j in Array(figures[(j * n)..<(j * n + n)]) },
                                                labels: shards[0].record.strategies)
        #expect(try ReportWriter.json(merged) == ReportWriter.json(direct))
    }

    /// Sweeper.run is its units assembled in order; assembling them in shards' pieces gives the same.
    @Test func sweepAssembledFromUnitsEqualsTheRun() async throws {
        let sc = try scenario(tierOneBurst)
        let axis = try SweepAxis.parse("arrivals[0].rate=40/min..80/min step 40/min")
        let seeds: [UInt64] = [7, 8]
        let run = try await Sweeper.run(sc, axis: axis, seeds: seeds, jobs: 2)
        let points = try Sweeper.points(sc, axis: axis)
        let total = points.count * sc.strategies.count * seeds.count
        var slots = [(ReplicaFigures, Double)?](repeating: nil, count: total)
        for i in 0..<3 {
            for k in ShardSpec(index: i, count: 3).units(of: total) { slots[k] = try Sweeper.unit(k, scenarios: points, seeds: seeds) }
        }
        let merged = Sweeper.assemble(name: sc.name, axis: axis, labels: sc.strategies.map(\.label), slo: sc.slo, seeds: seeds,
                                      figures: slots.map { $0! })
        #expect(merged == run)
    }

    func record(_ index: Int, of count: Int, sha: String = "abc", total: Int = 5) -> ShardFile {
        let spec = ShardSpec(index: index, count: count)
        return ShardFile(record: ShardRecord(
            command: "sweep", commandLine: [], scenarioFile: "s.yaml", scenarioSHA256: sha, shard: spec, unitsTotal: total,
            unitOrder: "", units: spec.units(of: total).map { ShardUnit(unit: $0, strategy: "a", seed: 1, point: nil) },
            seeds: [1], strategies: ["a"], settings: ["axis": "x"]))
    }

    @Test func mergeChecksNameWhatIsWrong() throws {
        let dirs = ["d0", "d1", "d2"]
        #expect(try ShardMerge.check([record(2, of: 3), record(0, of: 3), record(1, of: 3)], directories: dirs)
            .map(\.record.shard.index) == [0, 1, 2])
        func failure(_ shards: [ShardFile]) -> ShardError? {
            do { _ = try ShardMerge.check(shards, directories: Array(dirs.prefix(shards.count))); return nil } catch { return error }
        }
        let missing = try #require(failure([record(0, of: 3), record(2, of: 3)]))
        #expect(missing.kind == .invalid && missing.message.contains("missing shard(s) 1/3"))
        let twice = try #require(failure([record(0, of: 2), record(0, of: 2), record(1, of: 2)]))
        #expect(twice.kind == .invalid && twice.message.contains("d0 and d1") == false && twice.message.contains("both shard 0/2"))
        let other = try #require(failure([record(0, of: 2), record(1, of: 2, sha: "def")]))
        #expect(other.kind == .mismatch && other.message.contains("another scenario file"))
        let counts = try #require(failure([record(0, of: 2), record(1, of: 3)]))
        #expect(counts.kind == .mismatch && counts.message.contains("shard count"))
        var tampered = record(1, of: 2)
        tampered.record.units.removeLast()
        #expect(failure([record(0, of: 2), tampered])?.kind == .mismatch)
    }
}

@Suite struct ThresholdDigitsTests {
    @Test func generalNeverRoundsOntoTheThreshold() {
        #expect(NumberFormat.general(0.98999995) == "0.99")
        let under = NumberFormat.general(0.98999995, threshold: 0.99)
        #expect(under != "0.99" && Double(under)! < 0.99, "\(under)")
        let over = NumberFormat.general(30.0000004, threshold: 30)
        #expect(Double(over)! > 30, "\(over)")
        #expect(NumberFormat.general(0.99, threshold: 0.99) == "0.99")
        #expect(NumberFormat.general(1_250_000) == "1.25e+06")
    }

    /// A check whose value is just under its limit prints digits that show it, in the table,
    /// the Markdown and the JUnit failure.
    @Test func checkOutputShowsTheDecidingDigits() {
        let r = CheckResult(kind: .threshold, strategy: "none", metric: "success_rate", check: "success_rate >= 0.99",
                            value: 0.98999995, limit: 0.99, passed: false, detail: "x")
        let (value, limit) = GateOutput.numbers(r)
        #expect(Double(value)! < 0.99 && limit == "0.99", "\(value) vs \(limit)")
        #expect(GateOutput.table([r]).contains(value))
        #expect(GateOutput.markdown([r], title: "t").contains("| \(value) | 0.99 |"))
        #expect(GateOutput.junit([r], suite: "s").contains("success_rate = \(value) (limit 0.99)"))
        // A limit just under a passing value is printed on its own side too.
        let pass = CheckResult(kind: .regression, strategy: "none", metric: "goodput", check: "goodput ≥ baseline",
                               value: 40.0000001, limit: 40.00000005, passed: true, detail: "ok")
        let n = GateOutput.numbers(pass)
        #expect(Double(n.value)! > Double(n.limit)!, "\(n)")
    }

    @Test func thresholdDetailShowsTheDecidingDigits() throws {
        let sc = try scenario(tierOneBurst)
        let sim = try Simulator.run(sc)
        var report = ReportWriter.build(scenario: sc, scenarioFile: nil, stream: sim.stream,
                                        runs: sim.runs.map { (spec: $0.spec, log: $0.log) })
        let v = report.runs[0].summary.successRate
        let limit = v + v * 1e-7
        report.scenario.thresholds = [ThresholdSpec(condition: try Condition.parse("success_rate >= \(limit)"), strategy: report.runs[0].strategy)]
        let result = try #require(Gate.thresholds(report).first)
        #expect(!result.passed)
        let shown = try #require(result.detail.split(separator: " ").first.flatMap { Double($0) })
        #expect(shown < limit, "\(result.detail)")
    }

    @Test func sweepMarkdownShowsTheDecidingDigits() throws {
        let axis = try SweepAxis.parse("arrivals[0].rate=20/min..40/min:2")
        func point(_ v: Double, success: Double, slo: Double?) -> SweepPoint {
            SweepPoint(value: v, offeredPerMin: 30, goodputPerMin: 29.96, successRate: success, latencyP99S: 0.4, status429: 1,
                       attempts: 31, sloAttainment: slo)
        }
        let plain = SweepResult(scenario: "s", axis: axis, series: [
            SweepSeries(strategy: "a", points: [point(axis.values[0], success: 0.98996, slo: nil)], knee: nil)])
        let md = SweepReport.markdown(plain)
        #expect(md.contains("| 98.996") && !md.contains("99.0%"), "\(md)")
        var target = SweepResult(scenario: "s", axis: axis, series: [
            SweepSeries(strategy: "a", points: [point(axis.values[0], success: 1, slo: 0.94996)], knee: nil)])
        target.sloTarget = 0.95
        let md2 = SweepReport.markdown(target)
        #expect(md2.contains("| 94.996") && !md2.contains("95.0%") && md2.contains("| slo |"), "\(md2)")
    }
}

@Suite struct ReplicatedHTMLTests {
    /// report.html of a replicated compare: each listed figure's across-seed mean and interval in
    /// the strategy table, and the paired differences with "n.s." where the interval includes 0.
    @Test func strategyTableShowsTheIntervals() async throws {
        let sc = try scenario(tierOneBurst)
        let seeds: [UInt64] = [7, 8, 9]
        let sim = try await Replicator.simulate(sc, seeds: seeds, jobs: 2, slo: sc.slo)
        var report = try await Replicator.report(sim, scenarioFile: nil, jobs: 2)
        report.comparison = Comparer.compare(figures: sim.figures, seeds: seeds, sloLatencyS: 30)
        let html = HTMLReport.render(report)
        let spans = html.components(separatedBy: "<span class=\"sub rep\"").count - 1
        #expect(spans == 2 * 6, "success, slo, 429, p50, p99 and goodput for each strategy: \(spans)")
        let goodput = try #require(report.replication?.summary[0].goodputRequestsPerMin)
        #expect(html.contains("data-rep=\"goodput\">x̄ \(NumberFormat.fixed(goodput.mean, 1))<br/>["
                              + "\(NumberFormat.fixed(goodput.low, 1))–\(NumberFormat.fixed(goodput.high, 1))]"))
        #expect(html.contains("id=\"significance\""))
        let d = try #require(report.comparison?.ranking[1].vsLeader)
        let nsCount = [d.sloAttainment, d.goodputRequestsPerMin, d.latencyP99S].filter { !$0.excludesZero }.count
        #expect(html.components(separatedBy: "<span class=\"ns\">n.s.</span>").count - 1 == nsCount)
        // One seed: no interval lines, no significance table.
        let single = HTMLReport.render(ReportWriter.build(scenario: sc, scenarioFile: nil, stream: sim.stream,
                                                          runs: sim.runs.map { (spec: $0.spec, log: $0.log) }))
        #expect(!single.contains("sub rep") && !single.contains("id=\"significance\""))
    }
}

@Suite struct TierSweepTests {
    @Test func tierAxisSweepsCatalogTiers() throws {
        let axis = try SweepAxis.parse("limits.tier=Tier 1..tier-3")
        #expect(axis.tiers == ["tier-1", "tier-2", "tier-3"] && axis.values == [0, 1, 2])
        #expect(axis.label(1) == "tier-2")
        let sc = try scenario(tierOneBurst)
        let point = try axis.apply(1, to: sc)
        let catalog = TierCatalog.builtIn
        let modelClass = try #require(catalog.modelClass(for: sc.model))
        let row = try #require(catalog.limits(tier: "tier-2", modelClass: modelClass.id))
        #expect(point.limits.tier == "tier-2" && point.limits.config.rpm == Double(row.rpm) && point.limits.config.itpm == Double(row.itpm))
        #expect(point.limits.config.burst == sc.limits.config.burst, "the scenario's burst setting stays")
        #expect(try SweepAxis.parse("limits.tier=start..scale").tiers == ["start", "build", "scale"])
        for bad in ["limits.tier=tier-3..tier-1", "limits.tier=start..tier-2", "limits.tier=tier-1", "limits.tier=tier-9..tier-10"] {
            #expect(throws: SweepError.self, "\(bad)") { try SweepAxis.parse(bad) }
        }
        var other = sc
        other.model = "not-a-model"
        #expect(throws: SweepError.self) { try axis.apply(0, to: other) }
    }
}
