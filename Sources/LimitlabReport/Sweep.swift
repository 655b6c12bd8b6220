public import LimitlabCore
import LimitlabSim
import Foundation

/// A parameter to vary: `PATH=FROM..TO:POINTS`.
public struct SweepAxis: Sendable, Equatable, Codable {
    public var path: String
    public var values: [Double]
    /// How values print (`40/min`, `0.5`).
    public var unit: String

    public static let supported = [
        "arrivals[N].rate", "limits.rpm", "limits.itpm", "limits.otpm", "limits.burst",
        "server.overload.probability", "workload.max_tokens",
    ]

    /// Parses `arrivals[0].rate=10/min..200/min:10` (POINTS values, both ends included).
    public static func parse(_ text: String) throws(SweepError) -> SweepAxis {
        let parts = text.split(separator: "=", maxSplits: 1).map(String.init)
        guard parts.count == 2 else { throw SweepError(message: "--vary \(text): expected PATH=FROM..TO:POINTS") }
        let path = parts[0].trimmingCharacters(in: .whitespaces)
        let spec = parts[1]
        let range = spec.split(separator: ":", maxSplits: 1).map(String.init)
        guard range.count == 2, let points = Int(range[1]), points >= 2, points <= 200 else {
            throw SweepError(message: "--vary \(text): expected :POINTS (2–200 values, both ends included) after the range")
        }
        let ends = range[0].components(separatedBy: "..")
        guard ends.count == 2 else { throw SweepError(message: "--vary \(text): expected FROM..TO") }
        let isRate = path.hasPrefix("arrivals[") && path.hasSuffix("].rate")
        guard isRate || supported.contains(path) else {
            throw SweepError(message: "--vary \(text): cannot vary \(path); supported: " + supported.joined(separator: ", "))
        }
        func value(_ s: String) throws(SweepError) -> Double {
            let t = s.trimmingCharacters(in: .whitespaces)
            if isRate {
                guard let r = Units.parseRate(t) else {
                    throw SweepError(message: "--vary \(text): expected a rate like \"40/min\", found \"\(t)\"")
                }
                return r
            }
            guard let v = Double(t) else { throw SweepError(message: "--vary \(text): expected a number, found \"\(t)\"") }
            return v
        }
        let a = try value(ends[0]), b = try value(ends[1])
        let values = (0..<points).map { a + (b - a) * Double($0) / Double(points - 1) }
        return SweepAxis(path: path, values: values, unit: isRate ? "per_min" : "")
    }

    /// The scenario with the axis set to `value`.
    public func apply(_ value: Double, to base: Scenario) throws(SweepError) -> Scenario {
        var s = base
        switch path {
        case "limits.rpm": s.limits.config.rpm = value
        case "limits.itpm": s.limits.config.itpm = value
        case "limits.otpm": s.limits.config.otpm = value
        case "limits.burst": s.limits.config.burst = value
        case "server.overload.probability": s.server.overload.probability = value
        case "workload.max_tokens": s.workload.maxTokens = Int(value)
        default:
            let digits = path.dropFirst("arrivals[".count).prefix { $0.isNumber }
            guard let i = Int(digits), i < s.arrivals.count else {
                throw SweepError(message: "\(path): the scenario has \(s.arrivals.count) arrival source(s)")
            }
            switch s.arrivals[i].process {
            case .constant: s.arrivals[i].process = .constant(rate: value)
            case .poisson: s.arrivals[i].process = .poisson(rate: value)
            case .gamma(_, let shape): s.arrivals[i].process = .gamma(rate: value, shape: shape)
            default:
                throw SweepError(message: "\(path): only constant, poisson and gamma sources have a single rate")
            }
        }
        if !s.limits.keys.isEmpty && path.hasPrefix("limits.") {
            throw SweepError(message: "\(path): scenarios with several keys cannot vary limits yet")
        }
        return s
    }

    public func label(_ v: Double) -> String {
        unit == "per_min" ? Units.formatRate(v) : (v == v.rounded() ? String(Int(v)) : String(format: "%.4g", v))
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
    enum CodingKeys: String, CodingKey {
        case scenario, axis, series, seeds
        case kneeRule = "knee_rule"
    }
}

public enum Sweeper {
    /// Simulates points × strategies × seeds in parallel (results collected by index, so the
    /// result is the same for any `jobs`).
    public static func run(_ base: Scenario, axis: SweepAxis, seeds: [UInt64]? = nil, jobs: Int = 1) async throws -> SweepResult {
        let seeds = seeds ?? [base.seed]
        let scenarios = try axis.values.map { v throws(SweepError) in try axis.apply(v, to: base) }
        let specs = base.strategies
        let (ns, nk) = (specs.count, seeds.count)
        let figures = try await Parallel.map(count: scenarios.count * ns * nk, jobs: jobs) { k -> (ReplicaFigures, Double) in
            let (p, j, i) = (k / (ns * nk), (k / nk) % ns, k % nk)
            var sc = scenarios[p]
            sc.seed = seeds[i]
            sc.strategies = [specs[j]]
            let result = try Simulator.run(sc)
            let sum = Summariser.summarise(log: result.runs[0].log, stream: result.stream, slo: sc.slo)
            let offered = result.stream.window > 0 ? Double(result.stream.count) / result.stream.window * 60 : 0
            return (ReplicaFigures(strategy: specs[j].label, seed: seeds[i], summary: sum), offered)
        }
        var series = specs.map { SweepSeries(strategy: $0.label, points: [], knee: nil) }
        for (p, v) in axis.values.enumerated() {
            for j in 0..<ns {
                let cell = Array(figures[(p * ns + j) * nk..<(p * ns + j + 1) * nk])
                let r = cell.map(\.0)
                let f = ReplicatedFigures(strategy: specs[j].label, replicas: r)
                series[j].points.append(SweepPoint(
                    value: v, offeredPerMin: cell.map(\.1).reduce(0, +) / Double(nk),
                    goodputPerMin: f.goodputRequestsPerMin?.mean ?? 0, successRate: f.successRate?.mean ?? 0,
                    latencyP99S: f.latencyP99S?.mean, status429: Int((f.status429?.mean ?? 0).rounded()),
                    attempts: Int((f.attempts?.mean ?? 0).rounded()), sloAttainment: f.sloAttainment?.mean,
                    intervals: nk > 1 ? f : nil))
            }
        }
        let rule: String
        if let target = base.slo?.attainment {
            rule = "largest value whose SLO attainment (\(Units.formatDuration(base.slo!.latency)) latency)"
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
        return SweepResult(scenario: base.name, axis: axis, series: series, kneeRule: rule, seeds: nk > 1 ? seeds : nil)
    }
}
