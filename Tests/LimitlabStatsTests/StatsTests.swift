import LimitlabStats
import Testing

/// Reference values from numpy; the generator script is in the comment below so they can be
/// regenerated: for each data set, numpy.quantile(numpy.array(x), p, method="linear").
enum NumpyReference {
    // Expected values computed with numpy 2.4.6: numpy.quantile(x, p, method="linear").
    static let probabilities: [Double] = [0, 0.001, 0.1, 0.25, 0.5, 0.9, 0.95, 0.99, 0.999, 1]
    static let cases: [(name: String, data: [Double], expected: [Double])] = [
        ("tiny", [1000.0, 2000.0, 3000.0, 4000.0, 123456.0], [1000.0, 1004.0, 1400.0, 2000.0, 3000.0, 75673.6, 99564.79999999997, 118677.76, 122978.176, 123456.0]),
        ("two", [1.0, 2.0], [1.0, 1.001, 1.1, 1.25, 1.5, 1.9, 1.95, 1.99, 1.999, 2.0]),
        ("one", [42.0], [42.0, 42.0, 42.0, 42.0, 42.0, 42.0, 42.0, 42.0, 42.0, 42.0]),
        ("lognormal", [1.001231, 1.348167, 0.760227, 0.410413, 0.634657, 0.370965, 1.061989, 3.819866, 0.611276, 0.537689, 1.632058, 1.428874, 1.111171, 0.394369, 0.971172, 2.004317, 0.260744, 0.632791, 0.149386, 0.275398, 0.158542, 0.790499, 0.28155, 1.311622, 1.169704, 0.829501, 0.080721, 0.58351, 0.952656, 1.119978, 0.216506, 0.620175, 0.375867, 0.445376, 2.888966, 0.445956, 0.968001, 2.421507, 0.557886, 0.894311, 1.116796, 1.06586, 0.293741, 1.079114, 3.891612, 0.212855, 2.361702, 1.126769, 0.526518, 7.392135, 2.143114, 0.301408, 1.077363, 1.780136, 0.827967, 1.979631, 0.935647, 1.948866, 4.214465, 0.508819, 1.225242, 0.629199, 1.135722, 0.305076, 0.56029, 0.821851, 2.456565, 3.143139, 0.266195, 0.451743, 1.909618, 0.136365, 0.629286, 0.907296, 3.514914, 1.992527, 0.72093, 0.691719, 0.778649, 4.588391, 0.651795, 0.738097, 1.422746, 0.886237, 0.820957, 0.328221, 0.988545, 0.641734, 3.20954, 1.921466, 0.976146, 1.951076, 0.711863, 2.863734, 0.994615, 1.79209, 0.275025, 1.414364, 0.184851, 0.130638, 0.737509], [0.080721, 0.0857127, 0.275025, 0.526518, 0.886237, 2.456565, 3.514914, 4.588391, 7.111760600000015, 7.392135]),
        ("ties", [1.0, 1.0, 1.0, 2.0, 2.0, 3.0, 3.0, 3.0, 3.0, 10.0], [1.0, 1.0, 1.0, 1.25, 2.5, 3.6999999999999975, 6.8499999999999925, 9.370000000000001, 9.936999999999998, 10.0]),
    ]
}

@Suite struct QuantileTests {
    @Test func matchesNumpyLinearToOneInABillion() {
        for c in NumpyReference.cases {
            var data = c.data.reversed().map { $0 } // unsorted input: Stats.sort must order it
            Stats.sort(&data)
            for (p, want) in zip(NumpyReference.probabilities, c.expected) {
                let got = Stats.quantile(sorted: data, p)
                let tolerance = Swift.max(abs(want) * 1e-9, 1e-12)
                #expect(abs(got - want) <= tolerance, "\(c.name) p=\(p): got \(got), numpy \(want)")
            }
        }
    }

    @Test func percentileSummaryOfAKnownSample() {
        var v = (1...1000).map(Double.init).shuffled()
        let p = Percentiles.of(&v)
        #expect(p.count == 1000)
        #expect(p.p50 == 500.5)
        #expect(abs(p.p99 - 990.01) < 1e-9)
        #expect(abs(p.p999 - 999.001) < 1e-9)
        #expect(p.mean == 500.5)
        #expect(p.max == 1000)
    }

    @Test func emptySampleGivesZeroCount() {
        var v: [Double] = []
        let p = Percentiles.of(&v)
        #expect(p.count == 0 && p.p99 == 0)
    }
}

@Suite struct RandomSourceTests {
    @Test func sameSeedSameDrawsDifferentStreamsDiffer() {
        let a = RandomSource(seed: 42, stream: "x"), b = RandomSource(seed: 42, stream: "x")
        let c = RandomSource(seed: 42, stream: "y"), d = RandomSource(seed: 43, stream: "x")
        let da = (0..<100).map { _ in a.uniform() }
        #expect(da == (0..<100).map { _ in b.uniform() })
        #expect(da != (0..<100).map { _ in c.uniform() })
        #expect(da != (0..<100).map { _ in d.uniform() })
    }

    @Test func exponentialDrawsFitTheirDistribution() {
        let r = RandomSource(seed: 9)
        var v = (0..<20_000).map { _ in r.exponential(mean: 0.01) }
        Stats.sort(&v)
        #expect(abs(Stats.mean(v) - 0.01) < 0.0003)
        let ks = Stats.kolmogorovSmirnov(sorted: v) { Stats.exponentialP($0, mean: 0.01) }
        #expect(ks.p > 0.001, "KS D=\(ks.d)")
        let wrong = Stats.kolmogorovSmirnov(sorted: v) { Stats.exponentialP($0, mean: 0.012) }
        #expect(wrong.p < 1e-6, "KS must reject the wrong mean")
    }

    @Test func uniformIntStaysInRange() {
        let r = RandomSource(seed: 3)
        var seen = Set<Int>()
        for _ in 0..<10_000 {
            let x = r.uniformInt(7)
            #expect((0..<7).contains(x))
            seen.insert(x)
        }
        #expect(seen.count == 7)
    }

    @Test func lognormalMedian() {
        let r = RandomSource(seed: 5)
        var v = (0..<20_001).map { _ in r.lognormal(zeta: 2, sigma: 0.5) }
        Stats.sort(&v)
        #expect(abs(Stats.quantile(sorted: v, 0.5) - 7.389) < 0.15)
    }
}
