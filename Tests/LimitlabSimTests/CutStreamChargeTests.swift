import LimitlabCore
import LimitlabServer
import LimitlabStats
import Testing

/// A response cut short by a fault (a stream error event mid-stream, a connection reset at the
/// first token) is charged against OTPM for the tokens sent before the cut, not the planned
/// output. The one server decides the cut and the output schedule, so the simulator and the
/// mock charge the same (VirtualTimeDifferentialTests checks they agree end to end).
@Suite struct CutStreamChargeTests {
    let rate = 1000.0
    func server(_ faults: ServerFaults, _ accounting: OutputAccounting, seed: UInt64 = 1) -> OrganizationServer {
        OrganizationServer(
            classes: [LimitConfig(rpm: 1e6, itpm: 1e9, otpm: 600, outputAccounting: accounting)],
            model: ServerModel(ttft: Sampled(.constant(0.2)), outputTokensPerSecond: rate, rejectLatency: 0, faults: faults),
            minCacheableTokens: 1024, random: RandomSource(seed: seed, stream: "server"))
    }
    func request(output: Int) -> ServerRequest {
        ServerRequest(promptTokens: 100, maxTokens: 500, wantedOutputTokens: output, stream: true)
    }
    /// Output bucket levels at times through and after the response.
    func levels(_ s: OrganizationServer) -> [Double] {
        [0.1, 0.25, 0.4, 0.6, 0.8, 2, 30].map { s.bucketLevels(at: $0).output }
    }

    @Test(arguments: [OutputAccounting.realtime, .reserve])
    func aStreamErrorIsChargedForTheTokensSent(_ accounting: OutputAccounting) throws {
        var checked = 0
        for seed in UInt64(1)...20 {
            var cut = server(ServerFaults(streamError: 1), accounting, seed: seed)
            let reply = cut.decide(request(output: 500), at: 0)
            guard case .streamError(let sent) = reply.fault else {
                Issue.record("no stream error drawn: \(reply.fault)")
                continue
            }
            #expect(reply.usage.output == sent)
            guard sent < 400 else { continue } // a cut near the end barely differs from the full charge
            // Charged exactly as a response that planned `sent` tokens and sent them all ...
            var whole = server(ServerFaults(), accounting)
            _ = whole.decide(request(output: sent), at: 0)
            #expect(levels(cut) == levels(whole), "seed \(seed), \(sent) tokens sent")
            // ... and not as the 500 planned.
            var planned = server(ServerFaults(), accounting)
            _ = planned.decide(request(output: 500), at: 0)
            #expect(levels(cut)[4] > levels(planned)[4] + 50, "seed \(seed): \(levels(cut)) vs \(levels(planned))")
            checked += 1
        }
        #expect(checked >= 5)
    }

    @Test(arguments: [OutputAccounting.realtime, .reserve])
    func aResetAtTheFirstTokenIsChargedNoOutput(_ accounting: OutputAccounting) {
        var reset = server(ServerFaults(connectionReset: 1), accounting)
        let reply = reset.decide(request(output: 500), at: 0)
        #expect(reply.fault == .reset && reply.usage.output == 0)
        var nothing = server(ServerFaults(), accounting)
        _ = nothing.decide(request(output: 0), at: 0)
        #expect(levels(reset) == levels(nothing))
        #expect(levels(reset).last == 600)
    }
}
