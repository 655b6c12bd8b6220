import Foundation
import LimitlabCore
import LimitlabReport
import LimitlabScenario
import LimitlabSim
import Testing

@Suite struct BatchOffloadReportTests {
    static let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent()

    static func summaries(_ sc: Scenario) throws -> [String: RunSummary] {
        let result = try Simulator.run(sc)
        var out: [String: RunSummary] = [:]
        for run in result.runs {
            out[run.spec.label] = Summariser.summarise(log: run.log, stream: result.stream, slo: sc.slo, scenario: sc,
                                                       options: SummaryOptions())
        }
        return out
    }

    /// The bar: on the shipped scenario, batch-offload costs less than sdk-default while its
    /// urgent requests meet the SLO at least as well.
    @Test func shippedScenarioCostsLessAtTheSameUrgentSLO() throws {
        let sc = try ScenarioLoader.load(path: Self.root.appendingPathComponent("scenarios/batch-offload.yaml").path)
        let s = try Self.summaries(sc)
        let sdk = try #require(s["sdk-default"]?.deferral), offload = try #require(s["batch-offload"]?.deferral)
        let sdkCost = try #require(sdk.costUSD), offloadCost = try #require(offload.costUSD)
        #expect(offloadCost < sdkCost, "batch-offload $\(offloadCost) vs sdk-default $\(sdkCost)")
        let sdkSLO = try #require(sdk.urgent.slo), offloadSLO = try #require(offload.urgent.slo)
        #expect(offloadSLO.met == true && sdkSLO.met == true)
        #expect(offloadSLO.attainment >= sdkSLO.attainment)
        #expect(offload.viaBatch > 0 && offload.viaBatch == offload.deferrable.requests.succeeded)
        #expect(sdk.viaBatch == 0 && sdk.savedUSD == 0)
        // Deferred requests paid latency for it: at least one poll interval, within their 2 h.
        #expect(offload.batchTurnaroundS.p50 >= 30 && offload.deferrable.latencyS.max <= 7200)
        #expect(offload.deferrable.slo?.met == true)
    }

    /// Every request deferrable and within the limits: the batch run costs exactly half the
    /// real-time run (the 50 % batch price), and the real-time run's cost is what the batch
    /// run reports as "all real-time".
    @Test func batchRequestsCostHalf() throws {
        let yaml = """
            name: half
            model: claude-sonnet-4-5
            duration: 5m
            limits: {tier: tier-2}
            arrivals: [{process: poisson, rate: 10/min}]
            workload:
              input_tokens: 500
              output_tokens: 100
              max_tokens: 1024
              deferrable: {share: 1}
            strategies:
              - sdk-default
              - {name: batch-offload, params: {flush_every: 30s}}
            slo: {latency: 30s}
            """
        let sc = try ScenarioLoader.parse(yaml: yaml, file: "half.yaml", baseDirectory: "/tmp")
        let s = try Self.summaries(sc)
        let sdk = try #require(s["sdk-default"]), offload = try #require(s["batch-offload"])
        #expect(sdk.requests.succeeded == sdk.requests.offered && offload.requests.succeeded == offload.requests.offered)
        let realtime = try #require(sdk.cost?.totalUSD), batch = try #require(offload.cost?.totalUSD)
        #expect(abs(batch - realtime * 0.5) < 1e-9, "\(batch) vs \(realtime)")
        #expect(abs((offload.deferral?.realtimeCostUSD ?? 0) - realtime) < 1e-9)
        #expect(offload.deferral?.viaBatch == offload.requests.offered)
        #expect(offload.utilisation?.rpm == 0, "batch requests use none of the Messages limits")
        // The urgent class is empty; the deferrable one holds every request.
        #expect(offload.deferral?.urgent.requests.offered == 0)
    }

    /// A batch queue too small for one flush: the create is refused (429) and the requests go
    /// through the urgent strategy instead; nothing is lost.
    @Test func aRefusedBatchFallsBackToRealTime() throws {
        let yaml = """
            name: refused
            model: claude-sonnet-4-5
            duration: 2m
            limits: {tier: tier-2}
            arrivals: [{process: constant, rate: 20/min}]
            workload:
              input_tokens: 500
              output_tokens: 100
              max_tokens: 1024
              deferrable: {share: 1}
            server:
              batch: {queue: 5}
            strategies:
              - {name: batch-offload, params: {flush_every: 60s}}
            """
        let sc = try ScenarioLoader.parse(yaml: yaml, file: "refused.yaml", baseDirectory: "/tmp")
        let run = try #require(try Self.summaries(sc)["batch-offload"])
        #expect(run.requests.succeeded == run.requests.offered)
        #expect(run.deferral?.viaBatch == 0)
        #expect((run.statusCounts["429"] ?? 0) == run.requests.offered, "each request's batch attempt was refused")
        #expect(run.attempts == 2 * run.requests.offered)
    }
}
