public import LimitlabCore
import LimitlabSim
import Foundation

/// A parameter to vary: `PATH=FROM..TO step S` or `PATH=FROM..TO points N` (`:N` is the
/// older spelling of `points N`).
public struct SweepAxis: Sendable, Equatable, Codable {
    public var path: String
    public var values: [Double]
    /// How values print (`40/min`, `0.5`).
    public var unit: String
    /// `limits.tier`: the catalog tiers swept, in order; the values are their indices.
    public var tiers: [String]? = nil

    public static let supported = [
        "arrivals[N].rate", "arrivals[N].count", "arrivals[N].shape", "limits.rpm", "limits.itpm", "limits.otpm",
        "limits.burst", "limits.tier", "server.overload.probability", "workload.max_tokens", "strategies.LABEL.PARAM",
    ]

    /// What a path names, once parsed.
    enum Target: Equatable {
        case arrival(Int, String)
        case limit(String)
        case tier
        case overload
        case maxTokens
        case strategy(String, String)
    }

    static func target(_ path: String) -> Target? {
        if path.hasPrefix("arrivals["), let close = path.firstIndex(of: "]"),
           let i = Int(path[path.index(path.startIndex, offsetBy: 9)..<close]) {
            let field = String(path[path.index(after: close)...])
            return [".rate", ".count", ".shape"].contains(field) ? .arrival(i, String(field.dropFirst())) : nil
        }
        if path.hasPrefix("strategies.") {
            let rest = path.dropFirst("strategies.".count)
            guard let dot = rest.lastIndex(of: "."), dot != rest.startIndex else { return nil }
            let param = String(rest[rest.index(after: dot)...])
            return param.isEmpty ? nil : .strategy(String(rest[..<dot]), param)
        }
        switch path {
        case "limits.tier": return .tier
        case "limits.rpm", "limits.itpm", "limits.otpm", "limits.burst": return .limit(String(path.dropFirst(7)))
        case "server.overload.probability": return .overload
        case "workload.max_tokens": return .maxTokens
        default: return nil
        }
    }

    /// Parses `arrivals[0].rate=10/min..200/min step 10/min`, `strategies.sdk-default.max_retries=0..6 step 1`,
    /// `arrivals[1].count=10..80 points 8`.
    public static func parse(_ text: String) throws(SweepError) -> SweepAxis {
        let usage = "expected PATH=FROM..TO step S or PATH=FROM..TO points N"
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw SweepError(message: "--vary \(text): \(usage)") }
        let path = parts[0].trimmingCharacters(in: .whitespaces)
        guard let target = target(path) else {
            throw SweepError(message: "--vary \(text): cannot vary \(path); supported: " + supported.joined(separator: ", "))
        }
        var spec = parts[1].trimmingCharacters(in: .whitespaces)
        if target == .tier { return try tierAxis(text, spec) }
        var points: Int?, stepText: String?
        if let r = spec.range(of: " points ") {
            guard let n = Int(spec[r.upperBound...].trimmingCharacters(in: .whitespaces)) else {
                throw SweepError(message: "--vary \(text): expected a whole number after points")
            }
            points = n; spec = String(spec[..<r.lowerBound])
        } else if let r = spec.range(of: " step ") {
            stepText = spec[r.upperBound...].trimmingCharacters(in: .whitespaces); spec = String(spec[..<r.lowerBound])
        } else if let colon = spec.lastIndex(of: ":") {
            guard let n = Int(spec[spec.index(after: colon)...]) else {
                throw SweepError(message: "--vary \(text): \(usage)")
            }
            points = n; spec = String(spec[..<colon])
        } else {
            throw SweepError(message: "--vary \(text): \(usage)")
        }
        let ends = spec.components(separatedBy: "..")
        guard ends.count == 2 else { throw SweepError(message: "--vary \(text): \(usage)") }
        let isRate: Bool = {
            if case .arrival(_, "rate") = target { return true }
            return false
        }()
        let whole: Bool = {
            switch target {
            case .arrival(_, "count"), .maxTokens: return true
            default: return false
            }
        }()
        func value(_ s: String) throws(SweepError) -> Double {
            let t = s.trimmingCharacters(in: .whitespaces)
            if isRate {
                guard let r = Units.parseRate(t) else {
                    throw SweepError(message: "--vary \(text): expected a rate like \"40/min\", found \"\(t)\"")
                }
                return r
            }
            guard let v = Double(t), v.isFinite else { throw SweepError(message: "--vary \(text): expected a number, found \"\(t)\"") }
            return v
        }
        let a = try value(ends[0]), b = try value(ends[1])
        var values: [Double]
        if let points {
            guard points >= 2, points <= 200 else {
                throw SweepError(message: "--vary \(text): points takes 2–200 values (both ends included)")
            }
            values = (0..<points).map { a + (b - a) * Double($0) / Double(points - 1) }
        } else {
            let step = try value(stepText ?? "")
            guard step > 0, b >= a else {
                throw SweepError(message: "--vary \(text): expected FROM <= TO and a positive step")
            }
            let n = Int(((b - a) / step * (1 + 1e-12)).rounded(.down)) + 1
            guard n <= 200 else { throw SweepError(message: "--vary \(text): \(n) values; at most 200 (take a larger step)") }
            values = (0..<n).map { a + step * Double($0) }
        }
        if whole {
            guard values.allSatisfy({ $0 == $0.rounded() }) else {
                throw SweepError(message: "--vary \(text): \(path) takes whole numbers; choose ends and a step (or points) that give them")
            }
        }
        return SweepAxis(path: path, values: values, unit: isRate ? "per_min" : "")
    }

    /// `limits.tier=tier-1..tier-4` (or `start..scale`): the catalog scheme's tiers from FROM to TO.
    static func tierAxis(_ text: String, _ spec: String, catalog: TierCatalog = .builtIn) throws(SweepError) -> SweepAxis {
        let ends = spec.components(separatedBy: "..").map { TierCatalog.normaliseTier($0.trimmingCharacters(in: .whitespaces)) }
        let known = catalog.schemes.map { "\($0.tiers.first!)..\($0.tiers.last!)" }.joined(separator: " or ")
        guard ends.count == 2 else {
            throw SweepError(message: "--vary \(text): expected limits.tier=FROM..TO over catalog tiers, e.g. \(known)")
        }
        guard let scheme = catalog.schemes.first(where: { $0.tiers.contains(ends[0]) && $0.tiers.contains(ends[1]) }),
              let a = scheme.tiers.firstIndex(of: ends[0]), let b = scheme.tiers.firstIndex(of: ends[1]), a < b else {
            throw SweepError(message: "--vary \(text): expected two tiers of one catalog scheme, the smaller first: \(known)")
        }
        let tiers = Array(scheme.tiers[a...b])
        return SweepAxis(path: "limits.tier", values: tiers.indices.map(Double.init), unit: "", tiers: tiers)
    }

    /// The scenario with the axis set to `value`.
    public func apply(_ value: Double, to base: Scenario) throws(SweepError) -> Scenario {
        var s = base
        /// A whole-number field: refused past what a run can use, never a trapping conversion.
        func whole(_ v: Double) throws(SweepError) -> Int {
            guard v.isFinite, v >= 0, v <= 1e9 else {
                throw SweepError(message: "\(path): \(label(v)) is not a whole number from 0 to 1,000,000,000")
            }
            return Int(v.rounded())
        }
        guard let target = Self.target(path) else { throw SweepError(message: "\(path): cannot be varied") }
        switch target {
        case .limit(let field):
            if !s.limits.keys.isEmpty { throw SweepError(message: "\(path): scenarios with several keys cannot vary limits yet") }
            switch field {
            case "rpm": s.limits.config.rpm = value
            case "itpm": s.limits.config.itpm = value
            case "otpm": s.limits.config.otpm = value
            default: s.limits.config.burst = value
            }
        case .tier:
            guard let tiers, value.isFinite, value >= 0, value < Double(tiers.count) else {
                throw SweepError(message: "\(path): no tier at \(value)")
            }
            if !s.limits.keys.isEmpty { throw SweepError(message: "\(path): scenarios with several keys cannot vary the tier yet") }
            let catalog = TierCatalog.builtIn
            guard let modelClass = catalog.modelClass(for: s.model) else {
                throw SweepError(message: "\(path): model \(s.model) is not in the tier catalog; sweep limits.rpm/itpm/otpm instead")
            }
            let tier = tiers[Int(value)]
            guard let row = catalog.limits(tier: tier, modelClass: modelClass.id) else {
                throw SweepError(message: "\(path): the catalog lists no \(tier) limits for \(modelClass.id)")
            }
            var c = s.limits.config
            c.rpm = Double(row.rpm); c.itpm = Double(row.itpm); c.otpm = Double(row.otpm)
            c.cacheReadsCount = row.cacheReadsCount
            s.limits = LimitsSpec(config: c, tier: tier, modelClass: modelClass.id, source: "catalog:\(row.source) (\(row.sourceDate))")
        case .overload: s.server.overload.probability = value
        case .maxTokens: s.workload.maxTokens = try whole(value)
        case .arrival(let i, let field):
            guard i < s.arrivals.count else {
                throw SweepError(message: "\(path): the scenario has \(s.arrivals.count) arrival source(s), numbered from 0")
            }
            switch (s.arrivals[i].process, field) {
            case (.constant, "rate"): s.arrivals[i].process = .constant(rate: value)
            case (.poisson, "rate"): s.arrivals[i].process = .poisson(rate: value)
            case (.gamma(_, let shape), "rate"): s.arrivals[i].process = .gamma(rate: value, shape: shape)
            case (.gamma(let rate, _), "shape"): s.arrivals[i].process = .gamma(rate: rate, shape: value)
            case (.burst(let at, _, let over), "count"): s.arrivals[i].process = .burst(at: at, count: try whole(value), over: over)
            case (_, "rate"): throw SweepError(message: "\(path): only constant, poisson and gamma sources have a single rate")
            case (_, "count"): throw SweepError(message: "\(path): only burst sources have a count")
            default: throw SweepError(message: "\(path): only gamma sources have a shape")
            }
        case .strategy(let who, let param):
            let hits = s.strategies.indices.filter { s.strategies[$0].label == who || s.strategies[$0].name == who }
            guard !hits.isEmpty else {
                throw SweepError(message: "\(path): no strategy labelled or named \(who); the scenario's strategies: "
                                 + s.strategies.map(\.label).joined(separator: ", "))
            }
            for i in hits { s.strategies[i].params[param] = .number(value) }
        }
        return s
    }

    /// The strategy and parameter a `strategies.LABEL.PARAM` path names (nil for other paths).
    public var strategyParameter: (strategy: String, parameter: String)? {
        if case .strategy(let who, let param) = Self.target(path) { return (who, param) }
        return nil
    }

    public func label(_ v: Double) -> String {
        if let tiers, v.isFinite, v >= 0, v < Double(tiers.count), v == v.rounded() { return tiers[Int(v)] }
        return unit == "per_min" ? Units.formatRate(v)
            : (v == v.rounded() && Swift.abs(v) < 1e15 ? String(Int(v)) : String(format: "%.4g", v))
    }
}

public struct SweepError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// One strategy at one point of a sweep (across-seed means when several seeds ran).
public struct SweepPoint: Codable, Sendable, Equatable {
    public var value: Double
    public var offeredPerMin: Double
    public var goodputPerMin: Double
    public var successRate: Double
    public var latencyP99S: Double?
    public var status429: Int
    /// Attempts sent (first tries and retries).
    public var attempts: Int
    /// nil without an SLO.
    public var sloAttainment: Double?
    /// With several seeds: 95 % Student t intervals of the figures over the seeds.
    public var intervals: ReplicatedFigures?
    enum CodingKeys: String, CodingKey {
        case value, attempts, intervals
        case offeredPerMin = "offered_per_min", goodputPerMin = "goodput_per_min", successRate = "success_rate"
        case latencyP99S = "latency_p99_s", status429 = "status_429", sloAttainment = "slo_attainment"
    }
}

public struct SweepSeries: Codable, Sendable, Equatable {
    public var strategy: String
    public var points: [SweepPoint]
    /// The largest swept value at which the strategy still holds: with an SLO attainment target,
    /// its attainment (with several seeds, the interval's lower bound) meets the target;
    /// without one, it succeeds for ≥ 99 % of requests with a p99 no worse than twice its best.
    public var knee: Double?
}

public struct SweepResult: Codable, Sendable, Equatable {
    public var scenario: String
    public var axis: SweepAxis
    public var series: [SweepSeries]
    /// How the knee was judged.
    public var kneeRule: String? = nil
    /// The seeds every point ran (absent: the scenario's one seed).
    public var seeds: [UInt64]? = nil
    /// The scenario's SLO attainment target the knee was judged against (absent: none).
    public var sloTarget: Double? = nil
    enum CodingKeys: String, CodingKey {
        case scenario, axis, series, seeds
        case kneeRule = "knee_rule", sloTarget = "slo_target"
    }
}

public enum Sweeper {
    /// Simulates points × strategies × seeds in parallel (results collected by index, so the
    /// result is the same for any `jobs`).
    public static func run(_ base: Scenario, axis: SweepAxis, seeds: [UInt64]? = nil, jobs: Int = 1) async throws -> SweepResult {
        let seeds = seeds ?? [base.seed]
        let scenarios = try points(base, axis: axis)
        let figures = try await Parallel.map(count: scenarios.count * base.strategies.count * seeds.count, jobs: jobs) { k in
            try unit(k, scenarios: scenarios, seeds: seeds)
        }
        return assemble(name: base.name, axis: axis, labels: base.strategies.map(\.label), slo: base.slo, seeds: seeds,
                        figures: figures)
    }

    /// The scenario at each swept value.
    public static func points(_ base: Scenario, axis: SweepAxis) throws(SweepError) -> [Scenario] {
        try axis.values.map { v throws(SweepError) in try axis.apply(v, to: base) }
    }

    /// Unit `k` of points × strategies × seeds (point-major, then strategy, then seed: point
    /// `k / (s·n)`, strategy `(k / n) % s`, seed `k % n`): one independent simulation, its
    /// figures and offered load per minute. `run` and `--shard` both run exactly these units.
    public static func unit(_ k: Int, scenarios: [Scenario], seeds: [UInt64]) throws -> (ReplicaFigures, Double) {
        let (ns, nk) = (scenarios[0].strategies.count, seeds.count)
        let (p, j, i) = (k / (ns * nk), (k / nk) % ns, k % nk)
        var sc = scenarios[p]
        sc.seed = seeds[i]
        sc.strategies = [scenarios[p].strategies[j]]
        let result = try Simulator.run(sc)
        let sum = Summariser.summarise(log: result.runs[0].log, stream: result.stream, slo: sc.slo)
        let offered = result.stream.window > 0 ? Double(result.stream.count) / result.stream.window * 60 : 0
        return (ReplicaFigures(strategy: sc.strategies[0].label, seed: seeds[i], summary: sum), offered)
    }

    /// The sweep result from every unit's figures and offered load (in unit order).
    public static func assemble(name: String, axis: SweepAxis, labels: [String], slo: SLOSpec?, seeds: [UInt64],
                                figures: [(ReplicaFigures, Double)]) -> SweepResult {
        let (ns, nk) = (labels.count, seeds.count)
        var series = labels.map { SweepSeries(strategy: $0, points: [], knee: nil) }
        for (p, v) in axis.values.enumerated() {
            for j in 0..<ns {
                let cell = Array(figures[(p * ns + j) * nk..<(p * ns + j + 1) * nk])
                let r = cell.map(\.0)
                let f = ReplicatedFigures(strategy: labels[j], replicas: r)
                series[j].points.append(SweepPoint(
                    value: v, offeredPerMin: cell.map(\.1).reduce(0, +) / Double(nk),
                    goodputPerMin: f.goodputRequestsPerMin?.mean ?? 0, successRate: f.successRate?.mean ?? 0,
                    latencyP99S: f.latencyP99S?.mean, status429: Int((f.status429?.mean ?? 0).rounded()),
                    attempts: Int((f.attempts?.mean ?? 0).rounded()), sloAttainment: f.sloAttainment?.mean,
                    intervals: nk > 1 ? f : nil))
            }
        }
        let rule: String
        if let slo, let target = slo.attainment {
            rule = "largest value whose SLO attainment (\(Units.formatDuration(slo.latency)) latency)"
                + (nk > 1 ? ", at its 95% interval's lower bound," : "") + " meets the scenario's target \(target)"
            for i in series.indices {
                series[i].knee = series[i].points.filter { p in
                    let a = nk > 1 ? (p.intervals?.sloAttainment?.low ?? 0) : (p.sloAttainment ?? 0)
                    return a >= target
                }.map(\.value).max()
            }
        } else {
            rule = "no SLO attainment target in the scenario: largest value with success ≥ 99% and p99 ≤ 2× the best p99"
            for i in series.indices {
                let best = series[i].points.compactMap(\.latencyP99S).min() ?? .infinity
                series[i].knee = series[i].points.filter { p in
                    p.successRate >= 0.99 && (p.latencyP99S ?? .infinity) <= 2 * best
                }.map(\.value).max()
            }
        }
        return SweepResult(scenario: name, axis: axis, series: series, kneeRule: rule, seeds: nk > 1 ? seeds : nil,
                           sloTarget: slo?.attainment)
    }
}
