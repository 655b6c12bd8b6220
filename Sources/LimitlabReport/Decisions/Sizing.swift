public import LimitlabCore
import LimitlabSim
import Foundation

/// One strategy at one configuration tried by `limitlab size`.
public struct SizingCell: Codable, Sendable, Equatable {
    public var strategy: String
    /// Metric values by metric name (across-seed means with several seeds; absent: not measured).
    public var values: [String: Double]
    /// With several seeds: each metric's 95 % Student t interval over the seeds.
    public var intervals: [String: ReplicatedValue]?
    /// Headroom per condition (positive: inside the SLO by that share of the threshold), taken
    /// at the interval's bound on the failing side when there are several seeds.
    public var headroom: [String: Double]
    /// The smallest headroom over the conditions: how far inside (+) or outside (−) the SLO.
    public var margin: Double?
    /// Every condition holds (with several seeds: at its interval bound).
    public var meets: Bool
}

/// One configuration tried by `limitlab size`: a tier, or a scaling of the limits.
public struct SizingTrial: Codable, Sendable, Equatable {
    /// Tier id, or `×<factor>` for a custom scaling.
    public var label: String
    public var rpm: Double
    public var itpm: Double
    public var otpm: Double
    public var cells: [SizingCell]
    /// Strategies that meet the SLO here, in the order given.
    public var meeting: [String] { cells.filter(\.meets).map(\.strategy) }
    public var meets: Bool { cells.contains(where: \.meets) }

    enum CodingKeys: String, CodingKey { case label, rpm, itpm, otpm, cells, meeting }

    public init(label: String, rpm: Double, itpm: Double, otpm: Double, cells: [SizingCell]) {
        self.label = label; self.rpm = rpm; self.itpm = itpm; self.otpm = otpm; self.cells = cells
    }

    public init(from decoder: any Decoder) throws {
        let c = try decoder.container(keyedBy: CodingKeys.self)
        label = try c.decode(String.self, forKey: .label)
        rpm = try c.decode(Double.self, forKey: .rpm); itpm = try c.decode(Double.self, forKey: .itpm)
        otpm = try c.decode(Double.self, forKey: .otpm); cells = try c.decode([SizingCell].self, forKey: .cells)
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(label, forKey: .label); try c.encode(rpm, forKey: .rpm); try c.encode(itpm, forKey: .itpm)
        try c.encode(otpm, forKey: .otpm); try c.encode(cells, forKey: .cells); try c.encode(meeting, forKey: .meeting)
    }
}

/// One strategy's answer: the smallest configuration at which it meets the SLO.
public struct StrategySizing: Codable, Sendable, Equatable {
    public var strategy: String
    /// nil: no configuration tried meets the SLO with this strategy.
    public var smallest: String?
    public var rpm: Double?
    public var itpm: Double?
    public var otpm: Double?
    public var margin: Double?
}

/// The result of a tier or custom-limit search over every strategy.
public struct SizingResult: Codable, Sendable, Equatable {
    public var scenario: String
    public var strategies: [String]
    public var slo: [String]
    /// Where the SLO came from: `--slo` or the scenario's `slo:`.
    public var sloSource: String
    public var mode: String
    public var seeds: [UInt64]
    public var method: String
    /// The smallest configuration at which some strategy meets the SLO; nil if none does.
    public var recommendation: SizingTrial?
    /// Per strategy, its smallest configuration.
    public var byStrategy: [StrategySizing]
    /// Tiers smallest first; for a custom scaling every factor tried, per strategy.
    public var trials: [SizingTrial]
    public var note: String

    enum CodingKeys: String, CodingKey {
        case scenario, strategies, slo, mode, seeds, method, recommendation, trials, note
        case sloSource = "slo_source", byStrategy = "by_strategy"
    }

    /// Whether any strategy met the SLO anywhere (`size` exits 3 when not).
    public var fits: Bool { recommendation != nil }
}

public struct SizingError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

public enum Sizer {
    /// The conditions of a scenario's own SLO: its attainment target at its latency.
    public static func conditions(from scenario: Scenario) throws(SizingError) -> [Condition] {
        guard let slo = scenario.slo else {
            throw SizingError(message: "--slo was not given and \(scenario.name) has no slo:; pass --slo \"p99<30s,success>=0.99\" "
                              + "or add slo: {latency: 30s, attainment: 0.99} to the scenario")
        }
        guard let target = slo.attainment else {
            throw SizingError(message: "--slo was not given and \(scenario.name)'s slo: has no attainment: target; add "
                              + "attainment: 0.99 under slo:, or pass --slo \"p99<30s,success>=0.99\"")
        }
        do { return [try Condition.parse("slo.attainment>=\(target)")] } catch {
            throw SizingError(message: "slo.attainment \(target): \(error.message)")
        }
    }

    /// One strategy's cell from its per-seed summaries.
    static func cell(strategy: String, summaries: [RunSummary], conditions: [Condition]) -> SizingCell {
        let replicated = summaries.count > 1
        var values: [String: Double] = [:], intervals: [String: ReplicatedValue] = [:], headroom: [String: Double] = [:]
        var meets = true
        for c in conditions {
            let perSeed = summaries.map { c.metric.value(in: $0) }
            // Not measured in some seed (no successes): the condition cannot be shown to hold.
            let complete = !perSeed.contains { $0 == nil || $0!.isNaN }
            let shares: Set<Metric> = [.successRate, .sloAttainment, .rate429, .fallbackShare]
            let rv = ReplicatedValue.of(perSeed, bounds: shares.contains(c.metric) ? 0...1 : ReplicatedValue.nonNegative)
            if let rv {
                values[c.metric.rawValue] = rv.mean
                if replicated { intervals[c.metric.rawValue] = rv }
            }
            // The bound on the failing side decides: low for ≥ / >, high for ≤ / <.
            let decisive = rv.map { replicated ? (c.op == .ge || c.op == .gt ? $0.low : $0.high) : $0.mean }
            if let h = c.headroom(decisive) { headroom[c.description] = h }
            if !complete || !c.holds(decisive) { meets = false }
        }
        return SizingCell(strategy: strategy, values: values, intervals: replicated ? intervals : nil, headroom: headroom,
                          margin: headroom.values.min(), meets: meets)
    }

    /// Simulates configurations × strategies × seeds in parallel; `cells[config][strategy]`.
    static func evaluate(_ configs: [Scenario], strategies: [StrategySpec], seeds: [UInt64], conditions: [Condition],
                         jobs: Int) async throws -> [[SizingCell]] {
        let (ns, nk) = (strategies.count, seeds.count)
        let summaries = try await Parallel.map(count: configs.count * ns * nk, jobs: jobs) { k in
            try unit(k, configs: configs, strategies: strategies, seeds: seeds)
        }
        return grid(configs.count, strategies: strategies, seeds: seeds, conditions: conditions, summaries: summaries)
    }

    /// Unit `k` of configurations × strategies × seeds (configuration `k / (s·n)`, strategy
    /// `(k / n) mod s`, seed `k mod n`): one independent simulation. `evaluate` and `--shard`
    /// both run exactly these units.
    public static func unit(_ k: Int, configs: [Scenario], strategies: [StrategySpec], seeds: [UInt64]) throws -> RunSummary {
        let (ns, nk) = (strategies.count, seeds.count)
        let (c, j, i) = (k / (ns * nk), (k / nk) % ns, k % nk)
        var sc = configs[c]
        sc.seed = seeds[i]
        sc.strategies = [strategies[j]]
        let result = try Simulator.run(sc)
        return Summariser.summarise(log: result.runs[0].log, stream: result.stream, slo: sc.slo, scenario: sc,
                                    options: SummaryOptions())
    }

    /// `cells[config][strategy]` from every unit's summary (in unit order).
    static func grid(_ configs: Int, strategies: [StrategySpec], seeds: [UInt64], conditions: [Condition],
                      summaries: [RunSummary]) -> [[SizingCell]] {
        let (ns, nk) = (strategies.count, seeds.count)
        return (0..<configs).map { c in
            (0..<ns).map { j in
                let base = (c * ns + j) * nk
                return cell(strategy: strategies[j].label, summaries: Array(summaries[base..<base + nk]), conditions: conditions)
            }
        }
    }

    static func method(_ seeds: [UInt64]) -> String {
        seeds.count > 1
            ? "\(seeds.count) seeds; a configuration meets the SLO only when every condition holds at its 95% interval's "
                + "bound on the failing side (lower bound for ≥, upper for ≤). " + ReplicatedValue.method
            : "one seed (\(seeds[0])): the run's value against each condition"
    }

    /// Tries every tier of `scheme` for the scenario's model class, smallest first, with every
    /// strategy of the scenario.
    public static func tiers(_ base: Scenario, conditions: [Condition], scheme: String, seeds: [UInt64]? = nil,
                             jobs: Int = 1, sloSource: String = "--slo", catalog: TierCatalog = .builtIn) async throws -> SizingResult {
        let seeds = seeds ?? [base.seed]
        let tiers = try tierConfigs(base, scheme: scheme, catalog: catalog)
        let cells = try await evaluate(tiers.configs, strategies: base.strategies, seeds: seeds, conditions: conditions, jobs: jobs)
        return tierResult(base, conditions: conditions, scheme: scheme, seeds: seeds, sloSource: sloSource, tiers: tiers, cells: cells)
    }

    /// The scenario at every tier of `scheme` for its model class, smallest first.
    public static func tierConfigs(_ base: Scenario, scheme: String, catalog: TierCatalog = .builtIn) throws(SizingError)
        -> (configs: [Scenario], labels: [String], modelClass: String) {
        guard let modelClass = catalog.modelClass(for: base.model) else {
            throw SizingError(message: "model \(base.model) is not in the tier catalog; use --custom to scale explicit limits")
        }
        guard let tiers = catalog.schemes.first(where: { $0.id == scheme })?.tiers else {
            throw SizingError(message: "unknown catalog scheme \(scheme); known: " + catalog.schemes.map(\.id).joined(separator: ", "))
        }
        var configs: [Scenario] = [], labels: [String] = []
        for tier in tiers {
            guard let row = catalog.limits(tier: tier, modelClass: modelClass.id) else { continue }
            var s = base
            var c = s.limits.config
            c.rpm = Double(row.rpm); c.itpm = Double(row.itpm); c.otpm = Double(row.otpm)
            c.cacheReadsCount = row.cacheReadsCount
            s.limits = LimitsSpec(config: c, tier: tier, modelClass: modelClass.id, source: "catalog:\(row.source) (\(row.sourceDate))")
            configs.append(s)
            labels.append(tier)
        }
        guard !configs.isEmpty else {
            throw SizingError(message: "the catalog lists no \(scheme) tier for \(modelClass.id)")
        }
        return (configs, labels, modelClass.id)
    }

    /// The tier search's result from the units' summaries (in unit order): what `merge` of size
    /// shards calls.
    public static func tierResult(_ base: Scenario, conditions: [Condition], scheme: String, seeds: [UInt64],
                                  sloSource: String, tiers: (configs: [Scenario], labels: [String], modelClass: String),
                                  summaries: [RunSummary]) -> SizingResult {
        let cells = grid(tiers.configs.count, strategies: base.strategies, seeds: seeds, conditions: conditions,
                          summaries: summaries)
        return tierResult(base, conditions: conditions, scheme: scheme, seeds: seeds, sloSource: sloSource, tiers: tiers,
                          cells: cells)
    }

    static func tierResult(_ base: Scenario, conditions: [Condition], scheme: String, seeds: [UInt64], sloSource: String,
                           tiers: (configs: [Scenario], labels: [String], modelClass: String),
                           cells: [[SizingCell]]) -> SizingResult {
        let (configs, labels) = (tiers.configs, tiers.labels)
        let trials = zip(configs, zip(labels, cells)).map { s, lc in
            SizingTrial(label: lc.0, rpm: s.limits.config.rpm, itpm: s.limits.config.itpm, otpm: s.limits.config.otpm, cells: lc.1)
        }
        let byStrategy = base.strategies.enumerated().map { j, spec -> StrategySizing in
            guard let t = trials.first(where: { $0.cells[j].meets }) else { return StrategySizing(strategy: spec.label) }
            return StrategySizing(strategy: spec.label, smallest: t.label, rpm: t.rpm, itpm: t.itpm, otpm: t.otpm,
                                  margin: t.cells[j].margin)
        }
        return SizingResult(scenario: base.name, strategies: base.strategies.map(\.label), slo: conditions.map(\.description),
                            sloSource: sloSource, mode: "catalog scheme \(scheme), model class \(tiers.modelClass)", seeds: seeds,
                            method: method(seeds), recommendation: trials.first(where: \.meets), byStrategy: byStrategy,
                            trials: trials,
                            note: "each tier simulated with the scenario's arrivals, workload and every strategy")
    }

    /// Per strategy, the smallest factor f (to 2 %) by which the scenario's RPM/ITPM/OTPM can be
    /// scaled and still meet every condition: geometric bisection in lockstep over the
    /// strategies, each round's simulations in parallel. Assumes more capacity never hurts.
    public static func custom(_ base: Scenario, conditions: [Condition], seeds: [UInt64]? = nil, jobs: Int = 1,
                              sloSource: String = "--slo") async throws -> SizingResult {
        let seeds = seeds ?? [base.seed]
        let c0 = base.limits.config
        let specs = base.strategies
        var trials: [SizingTrial] = []
        @Sendable func scaled(_ f: Double) -> Scenario {
            var sc = base
            var c = c0
            c.rpm = c0.rpm * f; c.itpm = c0.itpm * f; c.otpm = c0.otpm * f
            sc.limits = LimitsSpec(config: c, tier: nil, modelClass: base.limits.modelClass, source: "scaled")
            return sc
        }
        /// Runs each (strategy, factor) pair; returns the cells in the same order.
        func round(_ asks: [(j: Int, f: Double)]) async throws -> [SizingCell] {
            // One configuration per ask, one strategy each: the same parallel grid as tiers.
            let ns = seeds.count
            let summaries = try await Parallel.map(count: asks.count * ns, jobs: jobs) { k -> RunSummary in
                var sc = scaled(asks[k / ns].f)
                sc.seed = seeds[k % ns]
                sc.strategies = [specs[asks[k / ns].j]]
                let result = try Simulator.run(sc)
                return Summariser.summarise(log: result.runs[0].log, stream: result.stream, slo: sc.slo, scenario: sc,
                                            options: SummaryOptions())
            }
            return asks.enumerated().map { a, ask in
                let c = cell(strategy: specs[ask.j].label, summaries: Array(summaries[a * ns..<(a + 1) * ns]),
                             conditions: conditions)
                let s = scaled(ask.f).limits.config
                trials.append(SizingTrial(label: "×" + NumberFormat.fixed(ask.f, 3), rpm: s.rpm, itpm: s.itpm, otpm: s.otpm,
                                          cells: [c]))
                return c
            }
        }
        var lo = [Double](repeating: 1.0 / 64, count: specs.count), hi = [Double](repeating: 64, count: specs.count)
        var best = [SizingTrial?](repeating: nil, count: specs.count)
        var open = Array(specs.indices)
        let top = try await round(open.map { (j: $0, f: 64.0) })
        for (j, c) in zip(open, top) where c.meets { best[j] = trials[trials.count - open.count + j] }
        open = open.filter { top[$0].meets }
        let bottom = try await round(open.map { (j: $0, f: 1.0 / 64) })
        let bottomTrials = trials.suffix(open.count)
        for (k, j) in open.enumerated() where bottom[k].meets { best[j] = Array(bottomTrials)[k]; hi[j] = lo[j] }
        open = open.filter { j in hi[j] / lo[j] > 1.02 }
        while !open.isEmpty {
            let mids = open.map { (lo[$0] * hi[$0]).squareRoot() }
            let cells = try await round(zip(open, mids).map { (j: $0, f: $1) })
            let made = Array(trials.suffix(open.count))
            for (k, j) in open.enumerated() {
                if cells[k].meets { hi[j] = mids[k]; best[j] = made[k] } else { lo[j] = mids[k] }
            }
            open = open.filter { hi[$0] / lo[$0] > 1.02 }
        }
        let byStrategy = specs.enumerated().map { j, spec -> StrategySizing in
            guard let t = best[j] else { return StrategySizing(strategy: spec.label) }
            return StrategySizing(strategy: spec.label, smallest: t.label, rpm: t.rpm, itpm: t.itpm, otpm: t.otpm,
                                  margin: t.cells[0].margin)
        }
        let recommendation = best.compactMap { $0 }.min { $0.rpm < $1.rpm }
        let mode = "custom scaling of \(Int(c0.rpm)) RPM / \(Int(c0.itpm)) ITPM / \(Int(c0.otpm)) OTPM"
        return SizingResult(scenario: base.name, strategies: specs.map(\.label), slo: conditions.map(\.description),
                            sloSource: sloSource, mode: mode, seeds: seeds, method: method(seeds),
                            recommendation: recommendation, byStrategy: byStrategy, trials: trials,
                            note: recommendation == nil
                                ? "even 64× the limits misses the SLO: the workload or the strategy, not the limits, is the problem"
                                : "geometric bisection on one factor for all three limits, per strategy, to 2 %")
    }
}
