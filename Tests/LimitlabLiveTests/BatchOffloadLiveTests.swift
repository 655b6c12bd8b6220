import Foundation
import LimitlabCore
@testable import LimitlabLive
import LimitlabMock
import LimitlabReport
import LimitlabScenario
import LimitlabSim
import LimitlabWorkload
import Testing

extension Live {
    /// batch-offload against the in-process mock: the live runner creates Message Batches over
    /// HTTP, polls them and reads their results, as the simulator does against the same
    /// `BatchQueue`.
    @Suite struct BatchOffloadLiveTests {
        /// Half the requests deferrable, within the limits; batches start after a short seeded
        /// delay and are processed fast, so the run takes seconds of wall clock.
        static let yaml = """
            name: batch-offload-live
            model: claude-sonnet-4-5
            seed: 3
            duration: 4s
            limits: {tier: tier-2}
            arrivals: [{process: constant, rate: 5/s}]
            workload:
              input_tokens: 300
              output_tokens: 8
              max_tokens: 64
              stream: true
              deferrable: {share: 0.5, latency: 1h}
            server:
              ttft: 50ms
              output_rate: 1000/s
              batch: {start_delay: 300ms, requests_per_second: 200}
            strategies:
              - sdk-default
              - {name: batch-offload, params: {flush_every: 1s, poll_every: 250ms}}
            slo: {latency: 10s}
            """

        @Test func batchOffloadCostsLessLiveAndAgreesWithTheSimulator() async throws {
            let sc = try ScenarioLoader.parse(yaml: Self.yaml, file: "batch-offload-live.yaml", baseDirectory: "/tmp")
            let result = try await runAgainstMock(sc)
            #expect(!result.partial, "\(result.warnings)")
            let stream = result.stream
            let deferrable = (0..<stream.count).filter { stream.pendingRequest($0).deferrable }
            #expect(!deferrable.isEmpty && deferrable.count < stream.count, "the seed gives both kinds")

            var summaries: [String: RunSummary] = [:]
            for run in result.runs {
                let log = run.log
                // Every request ends once (none left pending) and succeeds.
                #expect(Outcomes(log) == {
                    var o = Outcomes(log); o.succeeded = stream.count; o.failed = 0; o.dropped = 0; o.pending = 0; return o
                }(), "\(run.spec.label): \(Outcomes(log))")
                summaries[run.spec.label] = Summariser.summarise(log: log, stream: stream, slo: sc.slo, scenario: sc,
                                                                 options: SummaryOptions())
            }
            let offloadRun = try #require(result.runs.first { $0.spec.label == "batch-offload" })
            let sdkRun = try #require(result.runs.first { $0.spec.label == "sdk-default" })
            // Deferred requests succeed through a batch attempt; urgent ones never use a batch.
            let olog = offloadRun.log
            var batchSuccesses = 0
            for a in 0..<olog.attemptCountTotal where olog.isBatch(attempt: a) {
                let r = Int(olog.attemptRequest[a])
                #expect(stream.pendingRequest(r).deferrable, "attempt \(a) of urgent request \(r) went by batch")
                if olog.status[a] == 200 && olog.errorKind[a] == ErrorKind.none.rawValue { batchSuccesses += 1 }
            }
            #expect(batchSuccesses == deferrable.count)
            #expect(!(0..<sdkRun.log.attemptCountTotal).contains { sdkRun.log.isBatch(attempt: $0) })
            // Batch results carry usage: billed, at half price.
            #expect(deferrable.allSatisfy { r in
                (0..<olog.attemptCountTotal).contains { olog.isBatch(attempt: $0) && Int(olog.attemptRequest[$0]) == r
                    && offloadRun.attempts.outputTokens[$0] > 0 }
            })

            // The bar: cheaper, and the urgent requests meet the SLO at least as well.
            let sdk = try #require(summaries["sdk-default"]?.deferral)
            let offload = try #require(summaries["batch-offload"]?.deferral)
            let sdkCost = try #require(sdk.costUSD), offloadCost = try #require(offload.costUSD)
            #expect(offloadCost < sdkCost, "batch-offload $\(offloadCost) vs sdk-default $\(sdkCost)")
            #expect(offloadRun.costUSD < sdkRun.costUSD, "the live spend: \(offloadRun.costUSD) vs \(sdkRun.costUSD)")
            let sdkSLO = try #require(sdk.urgent.slo), offloadSLO = try #require(offload.urgent.slo)
            #expect(offloadSLO.attainment >= sdkSLO.attainment)
            #expect(offload.viaBatch == deferrable.count && sdk.viaBatch == 0)

            // The simulator, same scenario: the same batches succeed.
            let sim = try Simulator.run(sc)
            let simLog = try #require(sim.runs.first { $0.spec.label == "batch-offload" }).log
            var simBatchSuccesses = 0, simBatchAttempts = 0, liveBatchAttempts = 0
            for a in 0..<simLog.attemptCountTotal where simLog.isBatch(attempt: a) {
                simBatchAttempts += 1
                if simLog.status[a] == 200 && simLog.errorKind[a] == ErrorKind.none.rawValue { simBatchSuccesses += 1 }
            }
            for a in 0..<olog.attemptCountTotal where olog.isBatch(attempt: a) { liveBatchAttempts += 1 }
            #expect(simBatchSuccesses == batchSuccesses)
            #expect(simBatchAttempts == liveBatchAttempts)
        }

        /// A create the mock refuses (a queue that holds nothing) answers every request of the
        /// batch with 429 and the retry-after; the strategy sends them in real time instead,
        /// and all succeed.
        @Test func aRefusedCreateAnswersEachRequestWith429() async throws {
            let yaml = Self.yaml.replacingOccurrences(of: "batch: {start_delay: 300ms, requests_per_second: 200}",
                                                      with: "batch: {queue: 0}")
            let sc = try ScenarioLoader.parse(yaml: yaml, file: "refused.yaml", baseDirectory: "/tmp")
            var only = sc
            only.strategies = sc.strategies.filter { $0.label == "batch-offload" }
            let result = try await runAgainstMock(only)
            let run = try #require(result.runs.first)
            let log = run.log
            #expect(Outcomes(log).succeeded == result.stream.count, "\(Outcomes(log))")
            var refused = 0
            for a in 0..<log.attemptCountTotal where log.isBatch(attempt: a) {
                #expect(log.status[a] == 429 && log.retryAfter[a] > 0, "attempt \(a)")
                refused += 1
            }
            #expect(refused > 0 && refused == (0..<result.stream.count).filter { result.stream.pendingRequest($0).deferrable }.count)
            // The simulator refuses the same batches.
            let sim = try Simulator.run(only)
            let simLog = try #require(sim.runs.first).log
            let simRefused = (0..<simLog.attemptCountTotal).filter { simLog.isBatch(attempt: $0) && simLog.status[$0] == 429 }
            #expect(simRefused.count == refused)
        }
    

        /// The spend guard reserves half a batch attempt's worst case (batches cost half): a cap
        /// between the batch's halved and full worst case lets the whole batch go, and its spend
        /// stays under the cap.
        @Test func theSpendGuardReservesHalfForBatchAttempts() async throws {
            let yaml = """
                name: batch-spend
                model: claude-sonnet-4-5
                duration: 2s
                limits: {tier: tier-2}
                arrivals: [{process: constant, rate: 5/s}]
                workload:
                  input_tokens: 300
                  output_tokens: 8
                  max_tokens: 64
                  deferrable: {share: 1, latency: 1h}
                server:
                  batch: {requests_per_second: 200}
                strategies:
                  - {name: batch-offload, params: {flush_every: 3s, poll_every: 250ms}}
                """
            let sc = try ScenarioLoader.parse(yaml: yaml, file: "batch-spend.yaml", baseDirectory: "/tmp")
            let prices = try #require(TierCatalog.builtIn.prices(for: sc.model))
            let guardrail = SpendGuard(prices: prices, cap: nil, longCacheTTL: false)
            let n = ArrivalGenerator.generate(sc).count
            let full = Double(n) * guardrail.worstCase(input: 300, prefix: 0, maxTokens: 64)
            let cap = full * 0.75
            let (runner, fleet) = mockRunner(sc, options: LiveOptions(maxCostUSD: cap, requestTimeout: 20, gracePeriod: 5))
            let result = try await runner.run()
            await fleet.stop()
            let run = try #require(result.runs.first)
            #expect(result.stopReason == nil && !result.partial, "\(String(describing: result.stopReason))")
            #expect(Outcomes(run.log).succeeded == n)
            #expect(run.costUSD > 0 && run.costUSD <= cap)
        }
    }
}
