/// A confidence interval from resampling.
public struct ConfidenceInterval: Sendable, Equatable, Codable {
    public var estimate: Double
    public var low: Double
    public var high: Double
    /// Coverage, e.g. 0.95.
    public var level: Double
    public var resamples: Int

    public init(estimate: Double, low: Double, high: Double, level: Double, resamples: Int) {
        self.estimate = estimate; self.low = low; self.high = high; self.level = level; self.resamples = resamples
    }

    /// Whether the interval excludes zero (for a difference: the change is significant).
    public var excludesZero: Bool { low > 0 || high < 0 }
}

/// Percentile bootstrap with a seeded GSL generator. A resample is a vector of multiplicities
/// over the original observations (n draws with replacement), so quantiles of a resample are
/// read from the already sorted data in O(n) without sorting again.
public enum Bootstrap {
    /// Resamples used for `n` observations: 200, reduced for very large samples so a report
    /// stays fast (at least 40, at most 2×10⁷ draws in all).
    public static func resamples(for n: Int) -> Int {
        guard n > 0 else { return 0 }
        return Swift.max(40, Swift.min(200, 20_000_000 / n))
    }

    /// The type-7 quantile of the sample in which sorted observation i appears `weights[i]` times.
    public static func weightedQuantile(sorted: [Double], weights: [Int32], total: Int, _ p: Double) -> Double {
        guard total > 0 else { return .nan }
        let h = Double(total - 1) * p
        let lo = Int(h.rounded(.down))
        let frac = h - Double(lo)
        var seen = 0
        var loValue = Double.nan
        for i in 0..<sorted.count where weights[i] > 0 {
            let next = seen + Int(weights[i])
            if loValue.isNaN && lo < next {
                loValue = sorted[i]
                if frac == 0 || lo + 1 < next { return loValue }
            } else if !loValue.isNaN {
                return loValue + frac * (sorted[i] - loValue)
            }
            seen = next
        }
        return loValue
    }

    /// Percentile-bootstrap interval of quantile `p` of `sorted` (ascending).
    public static func quantile(sorted: [Double], _ p: Double, level: Double = 0.95, seed: UInt64) -> ConfidenceInterval {
        let n = sorted.count
        // No data: a zero interval with 0 resamples (JSON has no NaN; readers check resamples).
        guard n > 0 else { return ConfidenceInterval(estimate: 0, low: 0, high: 0, level: level, resamples: 0) }
        let estimate = Stats.quantile(sorted: sorted, p)
        guard n > 1 else { return ConfidenceInterval(estimate: estimate, low: estimate, high: estimate, level: level, resamples: 0) }
        let b = resamples(for: n)
        let random = RandomSource(seed: seed)
        var weights = [Int32](repeating: 0, count: n)
        var stats: [Double] = []
        stats.reserveCapacity(b)
        for _ in 0..<b {
            for i in 0..<n { weights[i] = 0 }
            for _ in 0..<n { weights[random.uniformInt(n)] += 1 }
            stats.append(weightedQuantile(sorted: sorted, weights: weights, total: n, p))
        }
        return interval(estimate: estimate, stats: &stats, level: level)
    }

    /// Interval of a proportion `k/n` (scaled by `scale`, e.g. successes per minute), by
    /// resampling the n Bernoulli observations (binomial draws).
    public static func proportion(successes k: Int, of n: Int, scale: Double = 1, level: Double = 0.95,
                                  seed: UInt64) -> ConfidenceInterval {
        let estimate = n > 0 ? Double(k) / Double(n) * scale : 0
        guard n > 0 else { return ConfidenceInterval(estimate: 0, low: 0, high: 0, level: level, resamples: 0) }
        let random = RandomSource(seed: seed)
        let p = Double(k) / Double(n)
        var stats = (0..<200).map { _ in Double(random.binomial(p: p, n: n)) / Double(n) * scale }
        return interval(estimate: estimate, stats: &stats, level: level, resamples: 200)
    }

    /// Paired interval of a difference between two runs over the same requests: each resample
    /// draws request indices once and evaluates `statistic` on both runs with those weights.
    public static func pairedDifference(count n: Int, level: Double = 0.95, seed: UInt64,
                                        statistic: (_ weights: [Int32], _ run: Int) -> Double) -> ConfidenceInterval {
        let ones = [Int32](repeating: 1, count: n)
        let estimate = statistic(ones, 1) - statistic(ones, 0)
        guard n > 1 else { return ConfidenceInterval(estimate: estimate, low: estimate, high: estimate, level: level, resamples: 0) }
        let b = resamples(for: n)
        let random = RandomSource(seed: seed)
        var weights = [Int32](repeating: 0, count: n)
        var stats: [Double] = []
        for _ in 0..<b {
            for i in 0..<n { weights[i] = 0 }
            for _ in 0..<n { weights[random.uniformInt(n)] += 1 }
            stats.append(statistic(weights, 1) - statistic(weights, 0))
        }
        return interval(estimate: estimate, stats: &stats, level: level)
    }

    static func interval(estimate: Double, stats: inout [Double], level: Double, resamples: Int? = nil) -> ConfidenceInterval {
        stats = stats.filter { !$0.isNaN }
        Stats.sort(&stats)
        let alpha = (1 - level) / 2
        return ConfidenceInterval(estimate: estimate, low: Stats.quantile(sorted: stats, alpha),
                                  high: Stats.quantile(sorted: stats, 1 - alpha), level: level,
                                  resamples: resamples ?? stats.count)
    }
}
