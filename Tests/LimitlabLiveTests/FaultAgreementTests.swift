import Foundation
import LimitlabCore
import LimitlabLive
import LimitlabReport
import LimitlabSim
import LimitlabTestSupport
import Testing

extension Live {
    /// Faults are part of the one server: a scenario's `server.faults` and `server.stalls` give
    /// the same failures by cause in the simulator and live against the mock (over real sockets,
    /// on the wall clock). Exact agreement per attempt is proven in virtual time
    /// (VirtualTimeDifferentialTests); here the tolerance is the transport's timing.
    @Suite struct FaultAgreementTests {
        /// 15 s of Poisson arrivals at 4/s with generous limits, so every failure is a fault:
        /// 500s, 0.3-s stalls, broken streams, and a 1-s outage at 6 s. The mock draws the
        /// simulator's stream (same seed, same draw order), so the same attempts fail the same
        /// way unless wall-clock timing reorders two arrivals.
        ///
        /// Resets are compared in virtual time only: libcurl silently resends a request once when
        /// a reused connection dies before any response byte, so over real sockets an injected
        /// reset can become an invisible retry (and an extra draw at the mock).
        @Test func failuresByCauseMatchTheSimulator() async throws {
            let faults = ServerFaults(serverError: 0.06, streamError: 0.06, stall: 0.05, stallDuration: 0.3)
            let s = makeScenario(.live, arrivals: [ArrivalSpec(.poisson(rate: 4))], length: .duration(15), seed: 21,
                                 output: Sampled(.constant(30)),
                                 server: ServerModel(ttft: Sampled(.constant(0.05)), outputTokensPerSecond: 600,
                                                     rejectLatency: 0.02, faults: faults,
                                                     stalls: [StallWindow(start: 6, duration: 1)]),
                                 strategies: [StrategySpec(name: "none")])
            let sim = try Simulator.run(s)
            let live = try await runAgainstMock(s)
            let input = live.reportInput()
            let simSummary = ReportWriter.build(scenario: s, scenarioFile: nil, stream: sim.stream,
                                                runs: sim.runs.map { ($0.spec, $0.log) }).runs[0].summary
            let liveSummary = ReportWriter.build(scenario: s, scenarioFile: nil, stream: input.stream,
                                                 runs: input.runs).runs[0].summary
            let simCauses = simSummary.failedByCause, liveCauses = liveSummary.failedByCause
            // The scenario must exercise every fault, or the comparison proves little.
            for cause in ["5xx", "stream_error:overloaded_error"] {
                #expect((simCauses[cause] ?? 0) >= 2, "sim causes \(simCauses): no \(cause)")
            }
            for cause in Set(simCauses.keys).union(liveCauses.keys) {
                let a = simCauses[cause] ?? 0, b = liveCauses[cause] ?? 0
                #expect(abs(a - b) <= max(1, a / 10), "\(cause): sim \(a), live \(b) (sim \(simCauses), live \(liveCauses))")
            }
            #expect(abs(simSummary.requests.succeeded - liveSummary.requests.succeeded) <= 2)
            // The outage holds requests: their latency includes the wait for the window's end.
            #expect(simSummary.latencyS.p99 >= 0.5, "the stall window must show in the tail")
        }
    }
}
