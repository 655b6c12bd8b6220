import LimitlabWorkload
import LimitlabCore
import LimitlabSim
import LimitlabStats
import LimitlabTestSupport
import Testing

/// Statistical checks of each arrival process: realised rate within a few standard errors,
/// inter-arrival CV, and a distribution fit where the law is known.
@Suite struct ArrivalTests {
    @Test func poissonRateCVAndExponentialGaps() {
        let s = ArrivalGenerator.generate(makeScenario(arrivals: [ArrivalSpec(.poisson(rate: 10))], length: .duration(2000)))
        // 20,000 expected, sd √20000 ≈ 141.
        #expect(abs(s.count - 20_000) < 600, "count \(s.count)")
        let g = gaps(s)
        #expect(abs(cv(g) - 1) < 0.03)
        var sorted = g
        Stats.sort(&sorted)
        let ks = Stats.kolmogorovSmirnov(sorted: sorted) { Stats.exponentialP($0, mean: 0.1) }
        #expect(ks.p > 0.001, "gaps are exponential(0.1): D=\(ks.d) p=\(ks.p)")
        #expect(s.intendedAt.allSatisfy { $0 >= 0 && $0 < 2000 })
    }

    @Test func constantIsEvenlySpaced() {
        let s = ArrivalGenerator.generate(makeScenario(arrivals: [ArrivalSpec(.constant(rate: 2))], length: .duration(10)))
        #expect(s.count == 20)
        #expect(s.intendedAt == (0..<20).map { Double($0) / 2 })
    }

    @Test(arguments: [0.25, 1.0, 4.0])
    func gammaBurstinessSetsTheCV(shape: Double) {
        let s = ArrivalGenerator.generate(makeScenario(
            arrivals: [ArrivalSpec(.gamma(rate: 20, shape: shape))], length: .requests(40_000)))
        #expect(s.count == 40_000)
        let g = gaps(s)
        let want = 1 / shape.squareRoot()
        #expect(abs(cv(g) - want) / want < 0.05, "shape \(shape): CV \(cv(g)), expected \(want)")
        #expect(abs(Stats.mean(g) - 0.05) / 0.05 < 0.03)
        var sorted = g
        Stats.sort(&sorted)
        let ks = Stats.kolmogorovSmirnov(sorted: sorted) { Stats.gammaP($0, shape: shape, scale: 1 / (20 * shape)) }
        #expect(ks.p > 0.001, "D=\(ks.d)")
    }

    @Test func onOffLongRunRateAndBurstiness() {
        // On 10/s for 30 s on average, off 0/s for 90 s: long-run 2.5/s, strongly clustered.
        let spec = ArrivalSpec(.onOff(rateOn: 10, rateOff: 0, meanOn: 30, meanOff: 90))
        let s = ArrivalGenerator.generate(makeScenario(arrivals: [spec], length: .duration(200_000)))
        let rate = Double(s.count) / 200_000
        #expect(abs(rate - 2.5) / 2.5 < 0.06, "rate \(rate)")
        #expect(cv(gaps(s)) > 2, "on-off gaps are far burstier than Poisson")
    }

    @Test func burstPlacesCountEvenlyInItsWindow() {
        let spec = ArrivalSpec(.burst(at: 120, count: 60, over: 5), start: 10)
        let s = ArrivalGenerator.generate(makeScenario(arrivals: [spec], length: .duration(600)))
        #expect(s.count == 60)
        #expect(s.intendedAt.first == 130)
        #expect(s.intendedAt.allSatisfy { $0 >= 130 && $0 < 135 })
        #expect(abs(s.intendedAt[1] - s.intendedAt[0] - 5.0 / 60) < 1e-12)
    }

    @Test func rampFollowsTheLinearIntensity() {
        // 0 → 20/s over 1000 s: expected 10,000 arrivals, a quarter of them in the first half.
        let spec = ArrivalSpec(.ramp(from: 0, to: 20, over: 1000))
        let s = ArrivalGenerator.generate(makeScenario(arrivals: [spec], length: .duration(1000)))
        #expect(abs(s.count - 10_000) < 400, "count \(s.count)")
        let firstHalf = s.intendedAt.filter { $0 < 500 }.count
        #expect(abs(Double(firstHalf) / Double(s.count) - 0.25) < 0.02)
        // After the ramp it holds the final rate.
        let held = ArrivalGenerator.generate(makeScenario(arrivals: [ArrivalSpec(.ramp(from: 0, to: 20, over: 100))],
                                                          length: .duration(1100)))
        let after = held.intendedAt.filter { $0 >= 100 }.count
        #expect(abs(after - 20_000) < 600)
    }

    @Test func traceReplaysTimesAndTokens() {
        let rows = [TraceRow(at: 0.5, inputTokens: 10, outputTokens: 5, maxTokens: 8),
                    TraceRow(at: 1.5, inputTokens: 20, outputTokens: 50, maxTokens: 30, cacheReadTokens: 4)]
        let s = ArrivalGenerator.generate(makeScenario(arrivals: [ArrivalSpec(.trace(path: "t.csv", rows: rows), start: 1)],
                                                       length: .requests(2)))
        #expect(s.intendedAt == [1.5, 2.5])
        #expect(s.inputTokens == [10, 20])
        #expect(s.outputTokens == [5, 30], "output is capped by max_tokens")
        #expect(s.prefixTokens == [0, 4])
        #expect(s.prefixId[1] < 0, "a trace's cache reads are forced reads")
    }

    @Test func sourcesSuperposeAndStartEndWindowsHold() {
        let a = ArrivalSpec(.constant(rate: 1), start: 0, end: 100)
        let b = ArrivalSpec(.constant(rate: 2), start: 50)
        let s = ArrivalGenerator.generate(makeScenario(arrivals: [a, b], length: .duration(200)))
        #expect(s.count == 100 + 300)
        #expect(zip(s.intendedAt.dropFirst(), s.intendedAt).allSatisfy { $0 >= $1 }, "merged in time order")
    }

    @Test func requestsLengthStopsAtTheCountAndRateIsNotRescaled() {
        let s = ArrivalGenerator.generate(makeScenario(arrivals: [ArrivalSpec(.poisson(rate: 5))], length: .requests(1000)))
        #expect(s.count == 1000)
        #expect(s.window == s.intendedAt.last)
        let realised = Double(s.count) / s.window
        #expect(realised != 5, "gaps are not rescaled to hit the nominal rate exactly")
        #expect(abs(realised - 5) < 0.5)
    }

    @Test func sameSeedSameStreamOtherSeedOtherStream() {
        let sc = makeScenario(arrivals: [ArrivalSpec(.poisson(rate: 3))], input: Sampled(.lognormal(mu: 6, sigma: 1)))
        let a = ArrivalGenerator.generate(sc), b = ArrivalGenerator.generate(sc)
        #expect(a.intendedAt == b.intendedAt && a.inputTokens == b.inputTokens)
        var other = sc
        other.seed = 2
        #expect(ArrivalGenerator.generate(other).intendedAt != a.intendedAt)
    }

    @Test func addingASourceDoesNotShiftAnotherSourcesTimes() {
        let base = makeScenario(arrivals: [ArrivalSpec(.poisson(rate: 3))], length: .duration(100))
        var more = base
        more.arrivals.append(ArrivalSpec(.burst(at: 50, count: 10, over: 0)))
        let a = ArrivalGenerator.generate(base), b = ArrivalGenerator.generate(more)
        let bWithoutBurst = b.intendedAt.filter { $0 != 50 }
        #expect(bWithoutBurst == a.intendedAt)
    }

    @Test func workloadDrawsRespectDistributionsAndMaxTokens() {
        let sc = makeScenario(arrivals: [ArrivalSpec(.poisson(rate: 10))], length: .requests(20_001),
                              input: Sampled(.lognormal(mu: 7, sigma: 0.5)),
                              output: Sampled(.uniform(min: 100, max: 2000)), maxTokens: 1000)
        let s = ArrivalGenerator.generate(sc)
        var input = s.inputTokens.map(Double.init)
        Stats.sort(&input)
        #expect(abs(Stats.quantile(sorted: input, 0.5) - 1096.6) < 30, "lognormal median e^7")
        #expect(s.outputTokens.allSatisfy { $0 >= 100 && $0 <= 1000 })
        let capped = s.outputTokens.filter { $0 == 1000 }.count
        #expect(abs(Double(capped) / Double(s.count) - 1001.0 / 1901.0) < 0.02, "uniform mass above max_tokens lands on the cap")
    }
}
