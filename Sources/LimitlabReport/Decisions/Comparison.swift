public import LimitlabCore
public import LimitlabStats

/// One strategy's place in a comparison, with its differences from the leader.
public struct RankedStrategy: Codable, Sendable, Equatable {
    public var rank: Int
    public var strategy: String
    public var sloAttainment: Double
    public var goodputRequestsPerMin: Double
    /// nil when nothing succeeded.
    public var latencyP99S: Double?
    public var costUSD: Double?
    /// This strategy minus the leader, with paired intervals (nil for the leader).
    public var vsLeader: Differences?
    /// With several seeds: each figure's across-seed mean and 95 % interval (the figures above
    /// are these means).
    public var intervals: ReplicatedFigures? = nil

    enum CodingKeys: String, CodingKey {
        case rank, strategy, intervals
        case sloAttainment = "slo_attainment", goodputRequestsPerMin = "goodput_requests_per_min"
        case latencyP99S = "latency_p99_s", costUSD = "cost_usd", vsLeader = "vs_leader"
    }
}

/// Paired differences (this − leader) over the identical arrival stream.
public struct Differences: Codable, Sendable, Equatable {
    public var sloAttainment: ConfidenceInterval
    public var goodputRequestsPerMin: ConfidenceInterval
    public var latencyP99S: ConfidenceInterval
    /// Metrics whose interval includes 0: the data cannot tell the two apart on them.
    public var notSignificant: [String]

    enum CodingKeys: String, CodingKey {
        case sloAttainment = "slo_attainment", goodputRequestsPerMin = "goodput_requests_per_min"
        case latencyP99S = "latency_p99_s", notSignificant = "not_significant"
    }
}

/// `limitlab compare`: strategies ranked by SLO attainment, then goodput, then p99, then cost.
public struct Comparison: Codable, Sendable, Equatable {
    /// The latency SLO used for attainment (the scenario's, or 30 s).
    public var sloLatencyS: Double
    public var ranking: [RankedStrategy]
    public var method: String
    /// The seeds ranked over (absent: the scenario's one seed).
    public var seeds: [UInt64]? = nil

    enum CodingKeys: String, CodingKey {
        case ranking, method, seeds
        case sloLatencyS = "slo_latency_s"
    }
}

public enum Comparer {
    /// Per-request view of one run, for paired resampling.
    struct RunView {
        var success: [Bool]
        var withinSLO: [Bool]
        /// Succeeded requests' latencies, ascending, with their request index.
        var sortedLatency: [Double]
        var sortedIndex: [Int32]
        var minutes: Double

        /// `deferrableSLO`: the latency a deferrable request must meet (`workload.deferrable`).
        init(log: RunLog, stream: ArrivalStream, slo: Double, minutes: Double, deferrableSLO: Double? = nil) {
            let n = log.requestCount
            success = [Bool](repeating: false, count: n)
            withinSLO = success
            var pairs: [(Double, Int32)] = []
            for r in 0..<n where log.outcome[r] == RequestOutcome.succeeded.rawValue {
                let l = log.completedAt[Int(log.lastAttempt[r])] - stream.intendedAt[r]
                success[r] = true
                withinSLO[r] = l <= (deferrableSLO != nil && stream.isDeferrable(r) ? deferrableSLO! : slo)
                pairs.append((l, Int32(r)))
            }
            pairs.sort { $0.0 < $1.0 || ($0.0 == $1.0 && $0.1 < $1.1) }
            sortedLatency = pairs.map(\.0)
            sortedIndex = pairs.map(\.1)
            self.minutes = minutes
        }

        func attainment(_ w: [Int32]) -> Double {
            var hit = 0, total = 0
            for i in 0..<w.count {
                total += Int(w[i])
                if withinSLO[i] { hit += Int(w[i]) }
            }
            return total > 0 ? Double(hit) / Double(total) : 0
        }

        func goodput(_ w: [Int32]) -> Double {
            var hit = 0, total = 0
            for i in 0..<w.count {
                total += Int(w[i])
                if success[i] { hit += Int(w[i]) }
            }
            // Resampled successes scaled back to the run's size.
            return minutes > 0 && total > 0 ? Double(hit) / Double(total) * Double(w.count) / minutes : 0
        }

        func p99(_ w: [Int32]) -> Double {
            var weights = [Int32](repeating: 0, count: sortedIndex.count)
            var total = 0
            for (k, r) in sortedIndex.enumerated() {
                weights[k] = w[Int(r)]
                total += Int(w[Int(r)])
            }
            return Bootstrap.weightedQuantile(sorted: sortedLatency, weights: weights, total: total, 0.99)
        }
    }

    /// Ranks the runs of one simulation (same arrival stream) and bounds each one's difference
    /// from the leader with a paired bootstrap.
    public static func compare(report: Report, stream: ArrivalStream, logs: [RunLog], seed: UInt64) -> Comparison {
        let sloLatency = report.runs.first?.summary.slo?.latencyS ?? 30
        let deferrableSLO = report.runs.first?.summary.deferral?.deferrable.slo?.latencyS
        let summaries = report.runs.map(\.summary)
        let attainments = zip(logs, summaries).map { log, s -> Double in
            RunView(log: log, stream: stream, slo: sloLatency, minutes: s.goodput.windowS / 60, deferrableSLO: deferrableSLO).attainment(
                [Int32](repeating: 1, count: log.requestCount))
        }
        var order = Array(report.runs.indices)
        order.sort { a, b in
            let sa = summaries[a], sb = summaries[b]
            if attainments[a] != attainments[b] { return attainments[a] > attainments[b] }
            if sa.goodput.requestsPerMin != sb.goodput.requestsPerMin { return sa.goodput.requestsPerMin > sb.goodput.requestsPerMin }
            let pa = sa.latencyS.count > 0 ? sa.latencyS.p99 : .infinity, pb = sb.latencyS.count > 0 ? sb.latencyS.p99 : .infinity
            if pa != pb { return pa < pb }
            return (sa.cost?.totalUSD ?? 0) < (sb.cost?.totalUSD ?? 0)
        }
        let leader = order[0]
        let views = logs.enumerated().map { i, log in
            RunView(log: log, stream: stream, slo: sloLatency, minutes: summaries[i].goodput.windowS / 60,
                    deferrableSLO: deferrableSLO)
        }
        var ranking: [RankedStrategy] = []
        for (rank, i) in order.enumerated() {
            let s = summaries[i]
            var diff: Differences?
            if i != leader {
                let pair = [views[leader], views[i]]
                let base = SeedDerivation.seed(seed, stream: "compare:\(report.runs[i].strategy)")
                let slo = Bootstrap.pairedDifference(count: stream.count, seed: base) { w, run in pair[run].attainment(w) }
                let goodput = Bootstrap.pairedDifference(count: stream.count, seed: base &+ 1) { w, run in pair[run].goodput(w) }
                var p99 = Bootstrap.pairedDifference(count: stream.count, seed: base &+ 2) { w, run in pair[run].p99(w) }
                if p99.estimate.isNaN || p99.low.isNaN || p99.high.isNaN {
                    // One of the two has no successes: no latency to compare.
                    p99 = ConfidenceInterval(estimate: 0, low: 0, high: 0, level: p99.level, resamples: 0)
                }
                var flat: [String] = []
                if !slo.excludesZero { flat.append("slo_attainment") }
                if !goodput.excludesZero { flat.append("goodput") }
                if !p99.excludesZero { flat.append("latency_p99") }
                diff = Differences(sloAttainment: slo, goodputRequestsPerMin: goodput, latencyP99S: p99, notSignificant: flat)
            }
            ranking.append(RankedStrategy(rank: rank + 1, strategy: report.runs[i].strategy, sloAttainment: attainments[i],
                                          goodputRequestsPerMin: s.goodput.requestsPerMin,
                                          latencyP99S: s.latencyS.count > 0 ? s.latencyS.p99 : nil,
                                          costUSD: s.cost?.totalUSD, vsLeader: diff))
        }
        return Comparison(sloLatencyS: sloLatency, ranking: ranking,
                          method: "ranked by SLO attainment, goodput, p99, cost; differences from the leader are paired "
                              + "percentile-bootstrap 95% intervals over the identical arrival stream (resampled requests, seeded)")
    }

    /// Ranks strategies over several seeds by their across-seed means (SLO attainment, goodput,
    /// p99, cost) and bounds each one's difference from the leader with a Student t interval
    /// on the per-seed paired differences (same seed = same arrival stream for both).
    /// `figures[strategy][seed]`, every strategy with the same seeds in the same order.
    public static func compare(figures: [[ReplicaFigures]], seeds: [UInt64], sloLatencyS: Double) -> Comparison {
        let summaries = figures.map { ReplicatedFigures(strategy: $0.first?.strategy ?? "", replicas: $0) }
        func mean(_ v: ReplicatedValue?, _ missing: Double) -> Double { v?.mean ?? missing }
        var order = Array(figures.indices)
        order.sort { a, b in
            let sa = summaries[a], sb = summaries[b]
            let xa = mean(sa.sloAttainment, 0), xb = mean(sb.sloAttainment, 0)
            if xa != xb { return xa > xb }
            let ga = mean(sa.goodputRequestsPerMin, 0), gb = mean(sb.goodputRequestsPerMin, 0)
            if ga != gb { return ga > gb }
            let pa = mean(sa.latencyP99S, .infinity), pb = mean(sb.latencyP99S, .infinity)
            if pa != pb { return pa < pb }
            return mean(sa.costUSD, 0) < mean(sb.costUSD, 0)
        }
        let leader = order[0]
        func paired(_ i: Int, _ metric: (ReplicaFigures) -> Double?) -> ConfidenceInterval {
            let d = zip(figures[i], figures[leader]).map { x, l -> Double? in
                guard let a = metric(x), let b = metric(l) else { return nil }
                return a - b
            }
            guard let v = ReplicatedValue.of(d) else {
                return ConfidenceInterval(estimate: 0, low: 0, high: 0, level: 0.95, resamples: 0)
            }
            return ConfidenceInterval(estimate: v.mean, low: v.low, high: v.high, level: 0.95, resamples: v.n)
        }
        var ranking: [RankedStrategy] = []
        for (rank, i) in order.enumerated() {
            let s = summaries[i]
            var diff: Differences?
            if i != leader {
                let slo = paired(i) { $0.sloAttainment ?? 0 }
                let goodput = paired(i) { $0.goodputRequestsPerMin }
                let p99 = paired(i) { $0.latencyP99S }
                var flat: [String] = []
                if !slo.excludesZero { flat.append("slo_attainment") }
                if !goodput.excludesZero { flat.append("goodput") }
                if !p99.excludesZero { flat.append("latency_p99") }
                diff = Differences(sloAttainment: slo, goodputRequestsPerMin: goodput, latencyP99S: p99, notSignificant: flat)
            }
            ranking.append(RankedStrategy(rank: rank + 1, strategy: s.strategy, sloAttainment: mean(s.sloAttainment, 0),
                                          goodputRequestsPerMin: mean(s.goodputRequestsPerMin, 0),
                                          latencyP99S: s.latencyP99S?.mean, costUSD: s.costUSD?.mean, vsLeader: diff,
                                          intervals: s))
        }
        return Comparison(sloLatencyS: sloLatencyS, ranking: ranking,
                          method: "ranked by the across-seed mean SLO attainment, goodput, p99, cost over \(seeds.count) seeds; "
                              + "differences from the leader are paired per seed (same arrival stream) with a 95% Student t "
                              + "interval on the per-seed differences (n − 1 degrees of freedom; resamples = seeds that "
                              + "measured the metric)",
                          seeds: seeds)
    }
}
