import Foundation
import LimitlabCore
@testable import LimitlabLive
import LimitlabReport
import LimitlabSim
import LimitlabTestSupport
import Testing

/// A gate a test closes to play a libcurl call that never returns, and opens at the end so the
/// abandoned engine thread can finish.
final class StuckGate: @unchecked Sendable {
    private let condition = NSCondition()
    private var open = false
    private var stuckAt: Date?

    /// Blocks (once) until `release`.
    func block() {
        condition.lock()
        if stuckAt == nil {
            stuckAt = Date()
            while !open { condition.wait() }
        }
        condition.unlock()
    }

    var since: Date? { condition.withLock { stuckAt } }

    func release() {
        condition.lock()
        open = true
        condition.broadcast()
        condition.unlock()
    }
}

extension Live {
    /// The watchdog turns an engine stuck inside libcurl into a partial result instead of a hang.
    @Suite struct WatchdogTests {
        /// Runs `s` against the mock with a 0.5-s watchdog and the seam `stick` sets up to block on
        /// `gate`; returns the result and how long after the block `run()` returned.
        private func runStuck(_ s: Scenario, stick: (inout LiveOptions, StuckGate) -> Void) async throws
            -> (LiveResult, Double) {
            let gate = StuckGate()
            var options = LiveOptions(requestTimeout: 20, gracePeriod: 5)
            options.watchdogTimeout = 0.5
            stick(&options, gate)
            let (runner, fleet) = mockRunner(s, options: options)
            let result = try await runner.run()
            let returned = Date()
            gate.release()
            await fleet.stop()
            return (result, returned.timeIntervalSince(try #require(gate.since)))
        }

        /// The engine blocks inside its libcurl section after 10 sends (the seam plays the
        /// `curl_multi_socket_action` call that did not return at 10,000/s): `run()` still
        /// returns, soon after the watchdog timeout, with a partial result (`engine_stuck`) in
        /// which every offered request is accounted for and the second strategy is not run.
        @Test func aStuckEngineEndsAsAPartialRun() async throws {
            let s = makeScenario(.live, arrivals: [ArrivalSpec(.constant(rate: 40))], length: .duration(3),
                                 strategies: [StrategySpec(name: "none"), StrategySpec(name: "sdk-default")])
            let (result, stuckFor) = try await runStuck(s) { options, gate in
                options.hooks.insideTimers = { sent in if sent >= 10 { gate.block() } }
            }
            // The watchdog looks every timeout/4: it gives up between 0.5 and 0.5 + 0.125 s after
            // the last change, plus scheduling delays on a loaded machine.
            #expect(stuckFor >= 0.5 && stuckFor < 5, "returned \(stuckFor) s after the engine got stuck")
            #expect(result.partial)
            #expect(result.stopReason == .engineStuck)
            #expect(result.warnings.first?.hasPrefix("PARTIAL RUN (engine_stuck)") == true, "\(result.warnings)")
            #expect(result.warnings.contains { $0.hasPrefix("ENGINE STUCK") })
            #expect(result.warnings.first?.contains("1 strategy not run") == true, "\(result.warnings)")
            #expect(result.runs.count == 1)
            let run = try #require(result.runs.first)
            #expect(run.partial && run.stopReason == .engineStuck)
            #expect(run.failure?.contains("stuck inside libcurl") == true)
            #expect(run.attempts.count >= 10)
            #expect(run.offered >= run.attempts.count && run.offered < 120)
            // Every attempt has an end, and the offered requests each end exactly one way.
            #expect(run.log.completedAt.allSatisfy { $0.isFinite })
            let o = Outcomes(run.log, upTo: run.offered)
            #expect(o.succeeded + o.failed + o.dropped + o.pending == run.offered)
            // The ones in flight when it stuck were cut with code -3 and stay unfinished.
            let cut = run.attempts.curlCode.filter { $0 == -3 }.count
            #expect(cut >= 1, "\(run.attempts.curlCode)")
            #expect(run.errorCauses["timeout: cut when the watchdog abandoned the stuck engine"] == cut)
            // The report reads it.
            let input = result.reportInput()
            let report = ReportWriter.build(scenario: s, scenarioFile: nil, stream: input.stream, runs: input.runs)
            #expect(report.runs.first?.summary.requests.offered == run.offered)
        }

        /// The engine's main loop stops going round in limitlab's own code (the seam plays a
        /// strategy or client-loop bug that never returns) during the second of three runs:
        /// `run()` still returns soon after the timeout, as a partial run (`engine_stuck`) with
        /// the first strategy's complete run; the stuck run, whose state may be changing under
        /// the watchdog, is named and left out, and the third is not run.
        @Test func anEngineStuckInItsOwnCodeEndsAsAPartialRun() async throws {
            let s = makeScenario(.live, arrivals: [ArrivalSpec(.constant(rate: 40))], length: .duration(1),
                                 strategies: [StrategySpec(name: "none"), StrategySpec(name: "sdk-default"),
                                              StrategySpec(name: "none")])
            let (result, stuckFor) = try await runStuck(s) { options, gate in
                options.hooks.eachLoop = { run, sent in if run == 1 && sent >= 10 { gate.block() } }
            }
            #expect(stuckFor >= 0.3 && stuckFor < 5, "returned \(stuckFor) s after the engine got stuck")
            #expect(result.partial && result.stopReason == .engineStuck)
            #expect(result.warnings.first?.hasPrefix("PARTIAL RUN (engine_stuck)") == true, "\(result.warnings)")
            #expect(result.warnings.first?.contains("2 strategies not run") == true, "\(result.warnings)")
            #expect(result.warnings.contains { $0.hasPrefix("ENGINE STUCK: the engine's main loop") && $0.contains("sdk-default") },
                    "\(result.warnings)")
            #expect(result.runs.map(\.spec.name) == ["none"])
            let first = try #require(result.runs.first)
            #expect(!first.partial && first.offered == 40)
            // The report reads it.
            let input = result.reportInput()
            let report = ReportWriter.build(scenario: s, scenarioFile: nil, stream: input.stream, runs: input.runs)
            #expect(report.runs.count == 1)
        }

        /// 300 requests due at once are handed to libcurl 64 at a time: every libcurl timer run
        /// that starts transfers sees at most 64 new ones (one call once started thousands and
        /// took seconds, see docs/live-runner.md), and all 300 still complete.
        @Test func aBurstIsStartedInBatches() async throws {
            let s = makeScenario(.live, arrivals: [ArrivalSpec(.burst(at: 0, count: 300, over: 0))], length: .duration(1))
            let seen = SentCounts()
            var options = LiveOptions(requestTimeout: 20, gracePeriod: 5)
            options.hooks.insideTimers = { sent in seen.note(sent) }
            let result = try await runAgainstMock(s, options: options)
            let run = try #require(result.runs.first)
            #expect(Outcomes(run.log, upTo: run.offered).succeeded == 300)
            let counts = seen.values
            var previous = 0
            for c in counts where c != previous {
                #expect(c - previous <= LiveTransport.startBatch, "\(counts)")
                previous = c
            }
            #expect(counts.contains(64) && counts.contains(128), "\(counts)")
        }

        /// A short timeout does not fire in an ordinary run whose engine waits ~1 s between
        /// events: waits are not libcurl calls.
        @Test func anIdleEngineIsNotStuck() async throws {
            let s = makeScenario(.live, arrivals: [ArrivalSpec(.constant(rate: 1))], length: .duration(2))
            var options = LiveOptions(requestTimeout: 20, gracePeriod: 5)
            options.watchdogTimeout = 0.3
            let result = try await runAgainstMock(s, options: options)
            #expect(!result.partial, "\(result.warnings)")
            #expect(result.runs.first?.attempts.count == 2)
        }
    }
}

/// The attempts-sent counts the engine passed to its libcurl-timer hook, in order.
final class SentCounts: @unchecked Sendable {
    private let lock = NSLock()
    private var counts: [Int] = []
    func note(_ n: Int) { lock.withLock { counts.append(n) } }
    var values: [Int] { lock.withLock { counts } }
}
