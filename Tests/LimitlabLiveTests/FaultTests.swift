import LimitlabCore
import LimitlabLive
import LimitlabMock
import LimitlabSim
import LimitlabTestSupport
import Testing

extension Live {
    /// Error paths against the mock's fault injection and a port nothing listens on.
    @Suite struct FaultTests {
        /// Every attempt gets 529: sdk-default retries twice with its backoff (0.375–0.5 s, then
        /// 0.75–1 s; 529s carry no retry-after) and gives up; the simulator agrees attempt for attempt.
        @Test func overloaded529sAreRecordedAndRetriedBySDKDefault() async throws {
            let s = makeScenario(.live, arrivals: [ArrivalSpec(.constant(rate: 2))], length: .duration(2),
                                        server: ServerModel(ttft: Sampled(.constant(0.05)), outputTokensPerSecond: 2000,
                                                            rejectLatency: 0.02, overload: OverloadModel(probability: 1)),
                                        strategies: [StrategySpec(name: "sdk-default")])
            let result = try await runAgainstMock(s)
            let log = try #require(result.runs.first).log
            #expect(log.requestCount == 4)
            #expect(log.attemptCountTotal == 12)
            #expect(log.status.allSatisfy { $0 == 529 })
            #expect(log.errorKind.allSatisfy { $0 == ErrorKind.overloaded.rawValue })
            #expect(log.attemptCount.allSatisfy { $0 == 3 })
            #expect(log.outcome.allSatisfy { $0 == RequestOutcome.failed.rawValue })
            #expect(log.reason.allSatisfy { $0 == GiveUpReason.attemptsExhausted.rawValue })
            for a in 0..<log.attemptCountTotal where log.attemptNumber[a] > 1 {
                let previous = (0..<a).last { log.attemptRequest[$0] == log.attemptRequest[a] }!
                let wait = log.sentAt[a] - log.completedAt[previous]
                let range = log.attemptNumber[a] == 2 ? 0.375...0.51 : 0.75...1.01
                #expect(range.contains(wait), "retry \(log.attemptNumber[a]) waited \(wait) s")
            }
            let sim = try Simulator.run(s).runs[0].log
            #expect(sim.attemptCountTotal == log.attemptCountTotal)
            #expect(sim.status == log.status)
        }

        /// A port that refuses connections: connection errors with their cause, retried like the
        /// SDK retries them, and no crash.
        @Test func connectionRefusedIsRecordedAsConnectionError() async throws {
            let closed = try ClosedPort()
            let s = makeScenario(.live, arrivals: [ArrivalSpec(.constant(rate: 3))], length: .duration(1),
                                        strategies: [StrategySpec(name: "sdk-default")])
            let runner = LiveRunner(scenario: s, target: LiveTarget(baseURL: "http://127.0.0.1:\(closed.port)"),
                                    options: LiveOptions(connectTimeout: 2, requestTimeout: 5))
            let result = try await runner.run()
            let run = try #require(result.runs.first)
            let log = run.log
            #expect(!result.partial)
            #expect(log.requestCount == 3)
            #expect(log.attemptCountTotal == 9)
            #expect(log.status.allSatisfy { $0 == 0 })
            #expect(log.errorKind.allSatisfy { $0 == ErrorKind.connection.rawValue })
            #expect(run.attempts.curlCode.allSatisfy { $0 == 7 }) // CURLE_COULDNT_CONNECT
            #expect(log.completedAt.allSatisfy { $0.isFinite })
            #expect(log.firstTokenAt.allSatisfy { $0.isNaN })
            #expect(Outcomes(log).failed == 3)
            #expect(run.errorCauses.keys.contains { $0.hasPrefix("connection: ") }, "\(run.errorCauses)")
            #expect(run.errorCauses.values.reduce(0, +) == 9)
            _ = closed
        }

        /// The mock stalls 30 s after the first text delta; a 1 s request timeout ends the attempt
        /// as a timeout (status 200 was already received, the first token too).
        @Test func stalledStreamHitsTheRequestTimeout() async throws {
            let s = makeScenario(.live, arrivals: [ArrivalSpec(.constant(rate: 4))], length: .duration(0.5),
                                        output: Sampled(.constant(50)),
                                        server: ServerModel(ttft: Sampled(.constant(0.05)), outputTokensPerSecond: 100,
                                                            rejectLatency: 0.02))
            let result = try await runAgainstMock(s, faults: MockFaults(stall: 1, stallDuration: 30),
                                                  options: LiveOptions(requestTimeout: 1, gracePeriod: 5))
            let run = try #require(result.runs.first)
            let log = run.log
            #expect(log.attemptCountTotal == 2)
            for a in 0..<log.attemptCountTotal {
                #expect(log.errorKind[a] == ErrorKind.timeout.rawValue)
                #expect(log.status[a] == 200)
                #expect(run.attempts.curlCode[a] == 28) // CURLE_OPERATION_TIMEDOUT
                #expect(log.firstTokenAt[a].isFinite)
                let duration = log.completedAt[a] - log.sentAt[a]
                #expect(duration > 0.95 && duration < 1.3, "attempt took \(duration) s")
            }
            #expect(Outcomes(log).failed == 2)
            #expect(run.errorCauses.keys.contains { $0.hasPrefix("timeout: ") }, "\(run.errorCauses)")
        }

        /// A non-streaming response stalled before it starts: no status, a timeout; the idle timeout
        /// (no byte for 1 s) fires well before the 20 s request timeout.
        @Test func stallBeforeTheResponseHitsTheIdleTimeout() async throws {
            let s = makeScenario(.live, arrivals: [ArrivalSpec(.constant(rate: 4))], length: .duration(0.25), stream: false)
            let result = try await runAgainstMock(s, faults: MockFaults(stall: 1, stallDuration: 30),
                                                  options: LiveOptions(requestTimeout: 20, idleTimeout: 1, gracePeriod: 5))
            let run = try #require(result.runs.first)
            let log = run.log
            #expect(log.attemptCountTotal == 1)
            #expect(log.status[0] == 0)
            #expect(log.errorKind[0] == ErrorKind.timeout.rawValue)
            #expect(run.attempts.curlCode[0] == -2)
            let duration = log.completedAt[0] - log.sentAt[0]
            #expect(duration > 0.99 && duration < 1.2, "attempt took \(duration) s")
        }

        /// `event: error` after some tokens: a failure with the error's type, not a success, and
        /// not retried (the SDKs retry only the initial HTTP response).
        @Test func midStreamErrorIsAFailure() async throws {
            let s = makeScenario(.live, arrivals: [ArrivalSpec(.constant(rate: 4))], length: .duration(1),
                                        output: Sampled(.constant(20)), strategies: [StrategySpec(name: "sdk-default")])
            let result = try await runAgainstMock(s, faults: MockFaults(streamError: 1))
            let run = try #require(result.runs.first)
            let log = run.log
            #expect(log.attemptCountTotal == 4)
            for a in 0..<log.attemptCountTotal {
                #expect(log.status[a] == 200)
                #expect(log.errorKind[a] == ErrorKind.overloaded.rawValue)
                #expect(log.firstTokenAt[a].isFinite) // the error comes after at least one token
                #expect(run.attempts.curlCode[a] == 0)
            }
            #expect(log.outcome.allSatisfy { $0 == RequestOutcome.failed.rawValue })
            #expect(log.reason.allSatisfy { $0 == GiveUpReason.notRetryable.rawValue })
            #expect(run.errorCauses["stream_error: overloaded_error"] == 4)
        }

        /// The mock resets the connection when the response would start.
        @Test func connectionResetIsAConnectionError() async throws {
            let s = makeScenario(.live, arrivals: [ArrivalSpec(.constant(rate: 4))], length: .duration(0.75))
            let result = try await runAgainstMock(s, faults: MockFaults(connectionReset: 1))
            let run = try #require(result.runs.first)
            #expect(run.log.attemptCountTotal == 3)
            #expect(run.log.status.allSatisfy { $0 == 0 })
            #expect(run.log.errorKind.allSatisfy { $0 == ErrorKind.connection.rawValue })
            // 56: "Recv failure" (reset), 52: "Empty reply" — either way a transport failure.
            #expect(run.attempts.curlCode.allSatisfy { $0 == 56 || $0 == 52 }, "\(run.attempts.curlCode)")
        }
    }
}
