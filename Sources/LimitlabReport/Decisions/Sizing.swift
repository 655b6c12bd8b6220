public import LimitlabCore
import LimitlabSim
import Foundation

/// One configuration tried by `limitlab size`.
public struct SizingTrial: Codable, Sendable, Equatable {
    /// Tier id, or `×<factor>` for a custom scaling.
    public var label: String
    public var rpm: Double
    public var itpm: Double
    public var otpm: Double
    /// Metric values, by metric name (absent: not measured).
    public var values: [String: Double]
    /// Headroom per condition (positive: inside the SLO by that share).
    public var headroom: [String: Double]
    public var meets: Bool
}

/// The result of a tier or custom-limit search.
public struct SizingResult: Codable, Sendable, Equatable {
    public var scenario: String
    public var strategy: String
    public var slo: [String]
    public var mode: String
    /// The smallest tier / scaling that meets every condition, nil if none does.
    public var recommendation: SizingTrial?
    public var trials: [SizingTrial]
    public var note: String
}

public struct SizingError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

public enum Sizer {
    static func trial(_ scenario: Scenario, label: String, conditions: [Condition]) throws -> SizingTrial {
        let result = try Simulator.run(scenario)
        let run = result.runs[0]
        let s = Summariser.summarise(log: run.log, stream: result.stream, slo: scenario.slo, scenario: scenario,
                                     options: SummaryOptions())
        var values: [String: Double] = [:], headroom: [String: Double] = [:]
        var meets = true
        for c in conditions {
            let v = c.metric.value(in: s)
            if let v { values[c.metric.rawValue] = v }
            if let h = c.headroom(v) { headroom[c.description] = h }
            if !c.holds(v) { meets = false }
        }
        let config = scenario.limits.config
        return SizingTrial(label: label, rpm: config.rpm, itpm: config.itpm, otpm: config.otpm, values: values,
                           headroom: headroom, meets: meets)
    }

    /// Tries every tier of `scheme` for the scenario's model class, smallest first.
    public static func tiers(_ base: Scenario, strategy: StrategySpec, conditions: [Condition], scheme: String,
                             catalog: TierCatalog = .builtIn) throws -> SizingResult {
        guard let modelClass = catalog.modelClass(for: base.model) else {
            throw SizingError(message: "model \(base.model) is not in the tier catalog; use --custom to scale explicit limits")
        }
        guard let tiers = catalog.schemes.first(where: { $0.id == scheme })?.tiers else {
            throw SizingError(message: "unknown catalog scheme \(scheme); known: " + catalog.schemes.map(\.id).joined(separator: ", "))
        }
        var trials: [SizingTrial] = []
        for tier in tiers {
            guard let row = catalog.limits(tier: tier, modelClass: modelClass.id) else { continue }
            var s = base
            s.strategies = [strategy]
            var c = s.limits.config
            c.rpm = Double(row.rpm); c.itpm = Double(row.itpm); c.otpm = Double(row.otpm)
            c.cacheReadsCount = row.cacheReadsCount
            s.limits = LimitsSpec(config: c, tier: tier, modelClass: modelClass.id, source: "catalog:\(row.source) (\(row.sourceDate))")
            trials.append(try trial(s, label: tier, conditions: conditions))
        }
        guard !trials.isEmpty else {
            throw SizingError(message: "the catalog lists no \(scheme) tier for \(modelClass.id)")
        }
        return SizingResult(scenario: base.name, strategy: strategy.label, slo: conditions.map(\.description),
                            mode: "catalog scheme \(scheme), model class \(modelClass.id)",
                            recommendation: trials.first(where: \.meets), trials: trials,
                            note: "each tier simulated with the scenario's arrivals, workload, seed and strategy")
    }

    /// Finds the smallest factor f (to 2 %) by which the scenario's RPM/ITPM/OTPM can be scaled
    /// and still meet every condition. Assumes more capacity never hurts (checked at the ends).
    public static func custom(_ base: Scenario, strategy: StrategySpec, conditions: [Condition]) throws -> SizingResult {
        var s = base
        s.strategies = [strategy]
        let c0 = base.limits.config
        var trials: [SizingTrial] = []
        func run(_ f: Double) throws -> SizingTrial {
            var sc = s
            var c = c0
            c.rpm = c0.rpm * f; c.itpm = c0.itpm * f; c.otpm = c0.otpm * f
            sc.limits = LimitsSpec(config: c, tier: nil, modelClass: base.limits.modelClass, source: "scaled")
            let t = try trial(sc, label: "×" + String(format: "%.3f", f), conditions: conditions)
            trials.append(t)
            return t
        }
        var lo = 1.0 / 64, hi = 64.0
        let top = try run(hi)
        guard top.meets else {
            return SizingResult(scenario: base.name, strategy: strategy.label, slo: conditions.map(\.description),
                                mode: "custom scaling of \(Int(c0.rpm)) RPM / \(Int(c0.itpm)) ITPM / \(Int(c0.otpm)) OTPM",
                                recommendation: nil, trials: trials,
                                note: "even 64× the limits misses the SLO: the workload or the strategy, not the limits, is the problem")
        }
        var best = top
        if try run(lo).meets {
            best = trials.last!
        } else {
            while hi / lo > 1.02 {
                let mid = (lo * hi).squareRoot()
                let t = try run(mid)
                if t.meets { hi = mid; best = t } else { lo = mid }
            }
        }
        return SizingResult(scenario: base.name, strategy: strategy.label, slo: conditions.map(\.description),
                            mode: "custom scaling of \(Int(c0.rpm)) RPM / \(Int(c0.itpm)) ITPM / \(Int(c0.otpm)) OTPM",
                            recommendation: best, trials: trials,
                            note: "geometric bisection on one factor for all three limits, to 2 %")
    }
}
