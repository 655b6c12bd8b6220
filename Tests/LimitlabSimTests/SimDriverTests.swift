import Foundation
import LimitlabCore
import LimitlabReport
import LimitlabSim
import LimitlabStats
import LimitlabTestSupport
import Testing

@Suite struct EngineTests {
    func runOne(_ sc: Scenario) throws -> (ArrivalStream, RunLog, RunSummary) {
        let result = try Simulator.run(sc)
        let log = result.runs[0].log
        return (result.stream, log, Summariser.summarise(log: log, stream: result.stream, slo: sc.slo))
    }

    @Test func unconstrainedRunSucceedsWithTheLatencyModel() throws {
        let (_, log, s) = try runOne(makeScenario(arrivals: [ArrivalSpec(.poisson(rate: 1))], length: .requests(500)))
        #expect(s.requests.succeeded == 500 && s.attempts == 500)
        // TTFT 0.5 s, then 49 more tokens at 50/s.
        #expect(abs(s.latencyS.p50 - (0.5 + 49.0 / 50)) < 1e-9)
        #expect(abs(s.latencyS.max - s.latencyS.p50) < 1e-9)
        #expect(abs(s.ttftS.p99 - 0.5) < 1e-9)
        #expect(log.status.allSatisfy { $0 == 200 })
    }

    /// 60 RPM enforced as 1 per second (burst 1/60), arrivals every 0.5 s: every other request fits.
    @Test func shortIntervalEnforcementRefusesEveryOtherRequest() throws {
        let sc = makeScenario(arrivals: [ArrivalSpec(.constant(rate: 2))], length: .duration(10),
                              limits: LimitConfig(rpm: 60, itpm: 1e9, otpm: 1e9, burst: 1.0 / 60))
        let (_, log, s) = try runOne(sc)
        #expect(s.requests.offered == 20)
        #expect(s.statusCounts["200"] == 10 && s.statusCounts["429"] == 10)
        #expect(s.refusalsByDimension == ["requests": 10])
        for a in 0..<log.attemptCountTotal where log.status[a] == 429 {
            #expect(log.retryAfter[a] == 1)
            #expect(log.refusedBy[a] == LimitDimensions.requests.rawValue)
        }
        #expect(s.failedByReason == ["no_retry": 10])
    }

    /// A tier-1-like org: 50 RPM with a full-minute bucket takes a burst of 50 then refuses.
    @Test func fullMinuteBucketAbsorbsABurstOfItsLimit() throws {
        let sc = makeScenario(arrivals: [ArrivalSpec(.burst(at: 0, count: 80, over: 0))], length: .duration(60),
                              limits: LimitConfig(rpm: 50, itpm: 1e9, otpm: 1e9))
        let (_, _, s) = try runOne(sc)
        #expect(s.statusCounts["200"] == 50 && s.statusCounts["429"] == 30)
    }

    @Test func sdkDefaultHonoursRetryAfterAndRecoversWhatNoneLoses() throws {
        let sc = makeScenario(arrivals: [ArrivalSpec(.constant(rate: 2))], length: .duration(30),
                              limits: LimitConfig(rpm: 60, itpm: 1e9, otpm: 1e9, burst: 1.0 / 60),
                              strategies: [StrategySpec(name: "none"), StrategySpec(name: "sdk-default")])
        let result = try Simulator.run(sc)
        let none = Summariser.summarise(log: result.runs[0].log, stream: result.stream, slo: nil)
        let sdk = Summariser.summarise(log: result.runs[1].log, stream: result.stream, slo: nil)
        #expect(sdk.requests.succeeded > none.requests.succeeded)
        #expect(sdk.requests.offered == sdk.requests.succeeded + sdk.requests.failed + sdk.requests.dropped)
        let log = result.runs[1].log
        for r in 0..<log.requestCount { #expect(log.attemptCount[r] <= 3) }
        // Every retry after a 429 waited exactly retry-after (1 s here, in (0, 60]).
        var previousEnd: [Int32: Double] = [:]
        for a in 0..<log.attemptCountTotal {
            let r = log.attemptRequest[a]
            if let end = previousEnd[r] { #expect(abs(log.sentAt[a] - (end + 1)) < 1e-9) }
            previousEnd[r] = log.completedAt[a]
        }
    }

    @Test func overloadEverywhereMeansThreeAttemptsEachForPython() throws {
        let server = ServerModel(ttft: Sampled(.constant(0.5)), outputTokensPerSecond: 50, rejectLatency: 0.05,
                                 overload: OverloadModel(probability: 1))
        let sc = makeScenario(arrivals: [ArrivalSpec(.constant(rate: 1))], length: .requests(10), server: server,
                              strategies: [StrategySpec(name: "sdk-default")])
        let (_, log, s) = try runOne(sc)
        #expect(s.statusCounts == ["529": 30])
        #expect(s.failedByReason == ["attempts_exhausted": 10])
        #expect(log.attemptCount.allSatisfy { $0 == 3 })
        #expect(s.attemptsPerSuccess == 0)
    }

    @Test func overloadRisesWithInFlightLoad() {
        let m = OverloadModel(probability: 0.01, riseFrom: 100, riseTo: 300, maxProbability: 0.51)
        #expect(m.probability(inFlight: 50) == 0.01)
        #expect(abs(m.probability(inFlight: 200) - 0.26) < 1e-12)
        #expect(m.probability(inFlight: 1000) == 0.51)
    }

    @Test func promptCacheWritesThenReadsWithinTTLAndAgainAfterExpiry() throws {
        // One request every 200 s with a 300 s TTL: write, read, read...; every 400 s: always write.
        for (gap, expectReads) in [(200.0, true), (400.0, false)] {
            let sc = makeScenario(arrivals: [ArrivalSpec(.constant(rate: 1 / gap))], length: .requests(5),
                                  input: Sampled(.constant(10_000)),
                                  cache: CacheSpec(share: 0.8, ttl: 300, prefixes: 1, minCacheableTokens: 1024))
            let (_, log, _) = try runOne(sc)
            #expect(log.cacheCreationTokens[0] == 8000 && log.cacheReadTokens[0] == 0)
            for a in 1..<5 {
                #expect(log.cacheReadTokens[a] == (expectReads ? 8000 : 0), "gap \(gap) attempt \(a)")
                #expect(log.cacheCreationTokens[a] == (expectReads ? 0 : 8000))
            }
        }
    }

    @Test func shortPrefixesAreNotCached() throws {
        let sc = makeScenario(arrivals: [ArrivalSpec(.constant(rate: 1))], length: .requests(3),
                              input: Sampled(.constant(1000)), cache: CacheSpec(share: 0.5))
        let (_, log, _) = try runOne(sc)
        #expect(log.cacheCreationTokens.allSatisfy { $0 == 0 } && log.cacheReadTokens.allSatisfy { $0 == 0 })
    }

    @Test func cacheReadsDoNotSpendITPMUnlessTheClassSaysSo() throws {
        // 10 requests of 10k input, 90% cached, one per second; ITPM refills 5k/s into a 10k bucket.
        for (counts, expect429) in [(false, false), (true, true)] {
            let sc = makeScenario(arrivals: [ArrivalSpec(.constant(rate: 1))], length: .requests(10),
                                  limits: LimitConfig(rpm: 1e6, itpm: 300_000, otpm: 1e9, burst: 1.0 / 30,
                                                      cacheReadsCount: counts),
                                  input: Sampled(.constant(10_000)), cache: CacheSpec(share: 0.9))
            let (_, _, s) = try runOne(sc)
            #expect(((s.statusCounts["429"] ?? 0) > 0) == expect429, "cache reads count: \(counts)")
        }
    }

    @Test func sloAttainmentCountsFailuresAsMisses() throws {
        let sc = makeScenario(arrivals: [ArrivalSpec(.constant(rate: 2))], length: .duration(10),
                              limits: LimitConfig(rpm: 60, itpm: 1e9, otpm: 1e9, burst: 1.0 / 60),
                              slo: SLOSpec(latency: 30, attainment: 0.99))
        let (_, _, s) = try runOne(sc)
        #expect(s.slo?.attainment == 0.5)
        #expect(s.slo?.met == false)
        #expect(s.successRate == 0.5)
    }

    @Test func goodputIsPerMinuteOfTheMakespan() throws {
        let (_, _, s) = try runOne(makeScenario(arrivals: [ArrivalSpec(.constant(rate: 1))], length: .duration(60)))
        // 60 successes; last completes at 59 + 1.48 s.
        #expect(abs(s.goodput.windowS - 60.48) < 1e-9)
        #expect(abs(s.goodput.requestsPerMin - 60 / (60.48 / 60)) < 1e-9)
        #expect(abs(s.goodput.outputTokensPerMin - 50 * 60 / (60.48 / 60)) < 1e-6)
    }

    @Test func sameSeedGivesByteIdenticalReport() throws {
        let sc = makeScenario(arrivals: [ArrivalSpec(.poisson(rate: 2)), ArrivalSpec(.burst(at: 30, count: 40, over: 2))],
                              length: .duration(120), limits: LimitConfig(rpm: 50, itpm: 30_000, otpm: 8_000),
                              input: Sampled(.lognormal(mu: 6, sigma: 0.7)), output: Sampled(.exponential(mean: 150)),
                              server: ServerModel(), strategies: [StrategySpec(name: "none"), StrategySpec(name: "sdk-default")])
        func report() throws -> Data {
            let r = try Simulator.run(sc)
            let runs = r.runs.map { (spec: $0.spec, log: $0.log) }
            return try ReportWriter.json(ReportWriter.build(scenario: sc, scenarioFile: nil, stream: r.stream, runs: runs,
                                                            generatedAt: Date(timeIntervalSince1970: 0)))
        }
        let a = try report(), b = try report()
        #expect(a == b)
        var other = sc
        other.seed = 99
        let r = try Simulator.run(other)
        let c = try ReportWriter.json(ReportWriter.build(scenario: other, scenarioFile: nil, stream: r.stream,
                                                         runs: r.runs.map { (spec: $0.spec, log: $0.log) },
                                                         generatedAt: Date(timeIntervalSince1970: 0)))
        #expect(a != c)
    }

    @Test func eventCSVHasOneRowPerAttemptWithTheDocumentedColumns() throws {
        let sc = makeScenario(arrivals: [ArrivalSpec(.constant(rate: 2))], length: .duration(5),
                              limits: LimitConfig(rpm: 60, itpm: 1e9, otpm: 1e9, burst: 1.0 / 60),
                              strategies: [StrategySpec(name: "sdk-default")])
        let r = try Simulator.run(sc)
        let csv = String(decoding: EventCSV.render(log: r.runs[0].log, stream: r.stream), as: UTF8.self)
        let lines = csv.split(separator: "\n")
        #expect(lines[0].hasPrefix("request_id,attempt,intended_s,ready_s,sent_s,first_token_s,completed_s,status,"))
        #expect(lines[0].contains("input_tokens") && lines[0].contains("retry_after_s,refused_by"))
        #expect(lines.count - 1 == r.runs[0].log.attemptCountTotal)
        let refused = lines.first { $0.contains(",429,") }
        let fields = try #require(refused).split(separator: ",", omittingEmptySubsequences: false)
        #expect(fields.count == 20)
        #expect(fields[17] == "0" && fields[18] == "0" && fields[19] == "0", "one worker, no fallback, the scenario's model")
        #expect(fields[13] == "1" && fields[14] == "requests" && fields[15] == "retried")
        #expect(fields[5].isEmpty, "no first token on a 429")
    }
}

/// Requests the API refuses for the model (max_tokens above its maximum output, a prompt past
/// its context window) are answered 400 invalid_request_error at once, as the API and the mock
/// answer them, not retried and not charged.
@Suite struct InvalidRequestTests {
    @Test func maxTokensAboveTheModelsMaximumFailsWith400NotRetried() throws {
        // claude-sonnet-4-5: at most 64,000 output tokens (catalog.json).
        let tight = LimitConfig(rpm: 60, itpm: 1e9, otpm: 1e9)
        let bad = makeScenario(arrivals: [ArrivalSpec(.constant(rate: 1))], length: .requests(30), limits: tight,
                               maxTokens: 64_001, strategies: [StrategySpec(name: "sdk-default")])
        let result = try Simulator.run(bad)
        let log = result.runs[0].log
        let s = Summariser.summarise(log: log, stream: result.stream, slo: nil)
        #expect(s.requests.offered == 30 && s.requests.failed == 30 && s.attempts == 30)
        #expect(s.statusCounts == ["400": 30], "\(s.statusCounts)")
        #expect((0..<log.attemptCountTotal).allSatisfy { ErrorKind(rawValue: log.errorKind[$0]) == .clientError })
        // Nothing was charged: the requests bucket stays full.
        #expect(log.bucketRequests.allSatisfy { $0 == 60 }, "\(log.bucketRequests.prefix(5))")

        let edge = makeScenario(arrivals: [ArrivalSpec(.constant(rate: 1))], length: .requests(30), limits: tight,
                                maxTokens: 64_000, strategies: [StrategySpec(name: "sdk-default")])
        let ok = try Simulator.run(edge)
        #expect(Summariser.summarise(log: ok.runs[0].log, stream: ok.stream, slo: nil).statusCounts == ["200": 30])
    }

    @Test func aPromptPastTheContextWindowFailsWith400() throws {
        // claude-sonnet-4-5: a 1,000,000-token window; half the prompts are past it.
        let sc = makeScenario(arrivals: [ArrivalSpec(.constant(rate: 1))], length: .requests(40),
                              input: Sampled(.empirical([1000, 1_000_001])), strategies: [StrategySpec(name: "sdk-default")])
        let result = try Simulator.run(sc)
        let log = result.runs[0].log
        let s = Summariser.summarise(log: log, stream: result.stream, slo: nil)
        #expect(s.requests.offered == 40 && s.attempts == 40)
        for a in 0..<log.attemptCountTotal {
            let r = Int(log.attemptRequest[a])
            #expect(log.status[a] == (result.stream.inputTokens[r] > 1_000_000 ? 400 : 200))
        }
        #expect((s.statusCounts["400"] ?? 0) > 0 && (s.statusCounts["200"] ?? 0) > 0, "\(s.statusCounts)")
    }
}
