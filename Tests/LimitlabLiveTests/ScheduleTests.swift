import Foundation
import LimitlabCore
import LimitlabLive
import LimitlabMock
import LimitlabReport
import LimitlabTestSupport
import Testing

extension Live {
    /// Open-loop sending, schedule lag, stop and grace period.
    @Suite struct ScheduleTests {
        /// 25 arrivals/s for 3 s against a server that takes 1.5 s per request: a closed-loop
        /// client would fall seconds behind; the open-loop runner sends each request at its
        /// intended time, ~37 requests are in flight at once, and the lag stays small.
        @Test func slowServerDoesNotSlowTheSchedule() async throws {
            let s = makeScenario(.live, arrivals: [ArrivalSpec(.constant(rate: 25))], length: .duration(3),
                                        output: Sampled(.constant(1)),
                                        server: ServerModel(ttft: Sampled(.constant(1.5)), outputTokensPerSecond: 1000,
                                                            rejectLatency: 0.02))
            let samples = ProgressSink()
            let result = try await runAgainstMock(
                s, options: LiveOptions(requestTimeout: 20, gracePeriod: 5, progressInterval: 0.5,
                                        progress: { samples.add($0) }))
            let run = try #require(result.runs.first)
            let log = run.log
            #expect(log.attemptCountTotal == 75)
            #expect(Outcomes(log).succeeded == 75)
            var worst = 0.0
            for a in 0..<log.attemptCountTotal {
                let r = Int(log.attemptRequest[a])
                worst = max(worst, log.sentAt[a] - result.stream.intendedAt[r])
                let service = log.completedAt[a] - log.sentAt[a]
                #expect(service > 1.49 && service < 1.6, "service \(service)")
            }
            #expect(worst < 0.02, "latest send was \(worst * 1000) ms behind its arrival")
            #expect(run.lag.count == 75)
            // Milliseconds, where a closed loop would be seconds behind; not tighter, because a
            // loaded 2-core CI machine put p99 at 7 ms once (5 ms was the bound).
            #expect(run.lag.p99 < 0.02, "lag p99 \(run.lag.p99 * 1000) ms")
            #expect(!result.warnings.contains { $0.contains("SCHEDULE LAG") })
            // Concurrency at t = 2 s: requests sent in (0.5, 2] s are all still waiting.
            let inFlight = (0..<log.attemptCountTotal).filter { log.sentAt[$0] <= 2 && log.completedAt[$0] > 2 }.count
            #expect(inFlight >= 35, "in flight at 2 s: \(inFlight)")

            let seen = samples.all
            #expect(seen.count >= 5)
            #expect(zip(seen, seen.dropFirst()).allSatisfy { $0.sent <= $1.sent && $0.completed <= $1.completed })
            #expect(seen.map(\.inFlight).max() ?? 0 >= 30)
            #expect(seen.last?.sent == 75 && seen.last?.completed == 75 && seen.last?.inFlight == 0)
        }

        /// A stop 1.5 s into a 10 s run: no new arrivals, the in-flight attempts finish within the
        /// grace period, the second strategy is not run, and every offered request is accounted for.
        /// Requests that had not arrived at the stop are not offered.
        @Test func stopGivesAPartialResultWithNothingLost() async throws {
            let s = makeScenario(.live, arrivals: [ArrivalSpec(.constant(rate: 10))], length: .duration(10),
                                        server: ServerModel(ttft: Sampled(.constant(0.5)), outputTokensPerSecond: 1000,
                                                            rejectLatency: 0.02),
                                        strategies: [StrategySpec(name: "sdk-default"), StrategySpec(name: "none")])
            let (runner, fleet) = mockRunner(s, options: LiveOptions(requestTimeout: 10, gracePeriod: 5))
            let started = Date()
            Thread.detachNewThread {
                Thread.sleep(forTimeInterval: 1.5)
                runner.stop()
            }
            let result = try await runner.run()
            await fleet.stop()
            let elapsed = Date().timeIntervalSince(started)

            #expect(result.partial)
            #expect(result.stopReason == .interrupted)
            #expect(result.runs.count == 1)
            #expect(result.warnings.first?.hasPrefix("PARTIAL RUN (interrupted)") == true)
            let run = try #require(result.runs.first)
            #expect(run.partial)
            let stop = try #require(run.stoppedAt)
            #expect(abs(stop - 1.5) < 0.3, "stopped at \(stop)")
            #expect((13...17).contains(run.offered), "offered \(run.offered)")
            #expect(elapsed < 3.5, "took \(elapsed) s")
            let log = run.log
            // Offered requests all ended (the 0.5 s answers fit in the grace period); none of the
            // requests after the stop has an attempt.
            #expect(Outcomes(log, upTo: run.offered).succeeded == run.offered)
            #expect(log.attemptRequest.allSatisfy { Int($0) < run.offered })
            #expect(log.completedAt.allSatisfy { $0.isFinite })
            #expect(log.attemptCountTotal == run.attempts.count)

            // The report sees only the offered requests, with the stop as the window.
            let input = result.reportInput()
            #expect(input.stream.count == run.offered)
            #expect(input.stream.window == stop)
            let report = ReportWriter.build(scenario: s, scenarioFile: nil, stream: input.stream, runs: input.runs)
            let summary = try #require(report.runs.first).summary
            #expect(summary.requests.offered == run.offered)
            #expect(summary.requests.succeeded == run.offered)
        }

        /// In-flight attempts still running when the grace period ends are cut, recorded as
        /// timeouts with curl code -1, and their requests stay unfinished (pending).
        @Test func graceExpiryCutsInFlightAttempts() async throws {
            let s = makeScenario(.live, arrivals: [ArrivalSpec(.constant(rate: 10))], length: .duration(5),
                                        server: ServerModel(ttft: Sampled(.constant(5)), outputTokensPerSecond: 1000,
                                                            rejectLatency: 0.02))
            let (runner, fleet) = mockRunner(s, options: LiveOptions(requestTimeout: 20, gracePeriod: 0.5))
            let started = Date()
            Thread.detachNewThread {
                Thread.sleep(forTimeInterval: 0.45)
                runner.stop()
            }
            let result = try await runner.run()
            await fleet.stop()
            let elapsed = Date().timeIntervalSince(started)
            let run = try #require(result.runs.first)
            #expect(elapsed < 2, "took \(elapsed) s")
            #expect(run.offered == 5)
            #expect(run.log.attemptCountTotal == 5)
            #expect(run.attempts.curlCode.allSatisfy { $0 == -1 })
            #expect(run.log.errorKind.allSatisfy { $0 == ErrorKind.timeout.rawValue })
            #expect(Outcomes(run.log, upTo: run.offered).pending == 5)
            let grace = run.log.completedAt.map { $0 - run.stoppedAt! }
            #expect(grace.allSatisfy { $0 > 0.45 && $0 < 0.8 }, "\(grace)")
        }

        /// The request cap stops the run like a stop; the attempts sent never exceed it.
        @Test func maxRequestsCapsAttempts() async throws {
            let s = makeScenario(.live, arrivals: [ArrivalSpec(.constant(rate: 20))], length: .duration(1))
            let result = try await runAgainstMock(s, options: LiveOptions(maxRequests: 5, requestTimeout: 10, gracePeriod: 5))
            let run = try #require(result.runs.first)
            #expect(result.partial)
            #expect(result.stopReason == .maxRequests)
            #expect(run.log.attemptCountTotal == 5)
            #expect(Outcomes(run.log, upTo: run.offered).succeeded == 5)
        }

        /// The spending cap stops new sends before worst-case spend could pass it. Sonnet 4.5 list
        /// prices: 1,000 input + up to 1,000 output tokens reserve 0.018 USD; 20 output tokens
        /// actually cost 0.0033 USD. One request at a time (5/s, ~70 ms each): ten fit under
        /// 0.05 USD (0.033 spent), the eleventh could reach 0.051, so the run stops there.
        @Test func spendingCapStopsBeforeItCouldBePassed() async throws {
            let s = makeScenario(.live, arrivals: [ArrivalSpec(.constant(rate: 5))], length: .duration(4),
                                        input: Sampled(.constant(1000)), output: Sampled(.constant(20)), maxTokens: 1000)
            let result = try await runAgainstMock(s, options: LiveOptions(maxCostUSD: 0.05, requestTimeout: 10, gracePeriod: 5))
            let run = try #require(result.runs.first)
            #expect(result.partial)
            #expect(result.stopReason == .maxCost)
            #expect(run.log.attemptCountTotal == 10)
            #expect(Outcomes(run.log).succeeded == 10)
            #expect(abs(run.costUSD - 0.033) < 1e-9, "cost \(run.costUSD)")
            #expect(abs(result.costUSD - run.costUSD) < 1e-12)
        }
    }
}

/// Collects progress samples from the engine thread.
final class ProgressSink: @unchecked Sendable {
    private let lock = NSLock()
    private var samples: [LiveProgress] = []
    func add(_ p: LiveProgress) { lock.withLock { samples.append(p) } }
    var all: [LiveProgress] { lock.withLock { samples } }
}
