import LimitlabCore
import LimitlabLive
import LimitlabMock
import LimitlabTestSupport
import Testing

extension Live {
    /// What a live run records per attempt against the mock: SSE timings, usage, cache tokens.
    @Suite struct StreamingTests {
        /// TTFT 0.2 s, 40 tokens at 100 tokens/s: the first content_block_delta arrives ~0.2 s after
        /// the send and the last ~0.39 s later; usage comes from message_start/message_delta.
        @Test func sseFirstTokenAndUsageAreRecorded() async throws {
            let s = makeScenario(.live, arrivals: [ArrivalSpec(.constant(rate: 4))], length: .duration(1.5),
                                        input: Sampled(.constant(300)), output: Sampled(.constant(40)),
                                        server: ServerModel(ttft: Sampled(.constant(0.2)), outputTokensPerSecond: 100,
                                                            rejectLatency: 0.02))
            let result = try await runAgainstMock(s)
            let run = try #require(result.runs.first)
            let log = run.log
            #expect(!result.partial)
            #expect(run.offered == 6)
            #expect(Outcomes(log) == Outcomes(succeededOnly: 6))
            for a in 0..<log.attemptCountTotal {
                let ttft = log.firstTokenAt[a] - log.sentAt[a]
                let generation = log.completedAt[a] - log.firstTokenAt[a]
                #expect(abs(ttft - 0.2) < 0.03, "TTFT \(ttft)")
                // 39 more tokens at 100/s = 0.39 s; the mock writes at most every 20 ms.
                #expect(generation > 0.36 && generation < 0.45, "generation \(generation)")
                #expect(run.attempts.firstByteAt[a] <= log.firstTokenAt[a])
                #expect(run.attempts.outputTokens[a] == 40)
                // The generated prompt counts as the workload's 300 tokens under the mock's rule.
                #expect(run.attempts.inputTokens[a] == 300)
                #expect(log.status[a] == 200)
                #expect(run.attempts.requestId[a].hasPrefix("req_"))
                #expect(run.lag(attempt: a) >= 0 && run.lag(attempt: a) < 0.05)
            }
        }
    }
}

extension Outcomes {
    init(succeededOnly n: Int) {
        self.init(RunLog(requests: 0))
        succeeded = n
    }
}
