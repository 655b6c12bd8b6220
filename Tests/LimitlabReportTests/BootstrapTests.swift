import LimitlabStats
import Testing

@Suite struct BootstrapTests {
    /// The weighted quantile equals the type-7 quantile of the expanded sample.
    @Test func weightedQuantileMatchesTheExpandedSample() {
        let r = RandomSource(seed: 11)
        for trial in 0..<200 {
            let n = 1 + r.uniformInt(30)
            var values = (0..<n).map { _ in r.exponential(mean: 3) }
            Stats.sort(&values)
            let weights = (0..<n).map { _ in Int32(r.uniformInt(4)) }
            var expanded: [Double] = []
            for (v, w) in zip(values, weights) { expanded += Array(repeating: v, count: Int(w)) }
            guard !expanded.isEmpty else { continue }
            for p in [0.0, 0.1, 0.5, 0.9, 0.99, 1.0] {
                let want = Stats.quantile(sorted: expanded, p)
                let got = Bootstrap.weightedQuantile(sorted: values, weights: weights, total: expanded.count, p)
                #expect(abs(got - want) <= 1e-12 * max(1, abs(want)), "trial \(trial) p \(p)")
            }
        }
    }

    @Test func quantileIntervalCoversTheTruthAndIsSeeded() {
        let r = RandomSource(seed: 5)
        var sample = (0..<4000).map { _ in r.exponential(mean: 1) }
        Stats.sort(&sample)
        let ci = Bootstrap.quantile(sorted: sample, 0.5, seed: 9)
        #expect(ci.low < 0.6931 && 0.6931 < ci.high, "true median ln 2 inside [\(ci.low), \(ci.high)]")
        #expect(ci.high - ci.low < 0.12)
        #expect(ci == Bootstrap.quantile(sorted: sample, 0.5, seed: 9))
        #expect(ci != Bootstrap.quantile(sorted: sample, 0.5, seed: 10))
    }

    @Test func proportionIntervalIsNearTheNormalApproximation() {
        let ci = Bootstrap.proportion(successes: 900, of: 1000, seed: 3)
        let se = (0.9 * 0.1 / 1000).squareRoot()
        #expect(abs(ci.low - (0.9 - 1.96 * se)) < 0.006)
        #expect(abs(ci.high - (0.9 + 1.96 * se)) < 0.006)
    }

    @Test func pairedDifferenceSeesAShiftAndNotNoise() {
        let r = RandomSource(seed: 8)
        let base = (0..<2000).map { _ in r.exponential(mean: 1) }
        let shifted = base.map { $0 + 0.5 }
        let noisy = base.map { $0 * (1 + 0.001 * r.gaussian(sigma: 1)) }
        func median(_ runs: [[Double]]) -> ([Int32], Int) -> Double {
            { weights, run in
                var expanded: [Double] = []
                for (v, w) in zip(runs[run], weights) where w > 0 { expanded += Array(repeating: v, count: Int(w)) }
                Stats.sort(&expanded)
                return Stats.quantile(sorted: expanded, 0.5)
            }
        }
        let real = Bootstrap.pairedDifference(count: base.count, seed: 1, statistic: median([base, shifted]))
        #expect(real.excludesZero && abs(real.estimate - 0.5) < 1e-9)
        let noise = Bootstrap.pairedDifference(count: base.count, seed: 1, statistic: median([base, noisy]))
        #expect(!noise.excludesZero)
    }
}
