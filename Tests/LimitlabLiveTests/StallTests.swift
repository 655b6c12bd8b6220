import Foundation
import LimitlabCore
@testable import LimitlabLive
import LimitlabTestSupport
import LimitlabWorkload
import Testing

extension Live {
    /// The live engine's reaction to a strategy the shared client loop reports stalled.
    @Suite struct StallTests {
        /// Takes every arrival, never sends, and asks to be woken at t = 0 forever.
        struct StuckStrategy: ClientStrategy {
            mutating func arrived(_ request: PendingRequest, now: Double) {}
            mutating func finished(_ request: PendingRequest, attempt: Int, outcome: AttemptOutcome, now: Double) {}
            mutating func poll(now: Double, into commands: inout [StrategyCommand]) {}
            var nextWakeup: Double? { 0 }
        }

        /// The run ends promptly as a partial run with reason `strategy_stalled` instead of
        /// spinning (the simulator stops such a strategy with an error).
        @Test func stalledStrategyEndsTheRun() throws {
            let s = makeScenario(.live, arrivals: [ArrivalSpec(.constant(rate: 2))], length: .requests(4))
            let stream = ArrivalGenerator.generate(s)
            let env = RunEnvironment(
                scenario: s, stream: stream, target: LiveTarget(baseURL: "http://127.0.0.1:1"), model: s.model,
                options: LiveOptions(requestTimeout: 5, gracePeriod: 1), control: RunControl(),
                spend: SpendGuard(prices: nil, cap: nil, longCacheTTL: false), counters: SharedCounters(),
                runIndex: 0, runCount: 1, nonce: 0)
            var strategy = StuckStrategy()
            let started = Date()
            let run = try LiveDriver.run(&strategy, spec: StrategySpec(name: "stuck"), env: env)
            #expect(run.partial)
            #expect(run.stopReason == .strategyStalled)
            #expect(run.log.attemptCountTotal == 0)
            #expect(run.offered < stream.count, "the stall is seen before the 2 s of arrivals are over")
            #expect(Date().timeIntervalSince(started) < 1.5)
        }
    }
}
