import Foundation
import LimitlabCore
@testable import LimitlabLive
import LimitlabMock
import LimitlabScenario
import LimitlabSim
import LimitlabStrategies
import LimitlabWorkload
import Testing

/// The simulator's batches and the mock's `/v1/messages/batches` run one `BatchQueue`: every
/// batch the simulator created for the shipped batch-offload scenario is created on a virtual
/// mock at the same instant, and the mock must show it still in progress at the poll before
/// the simulator's "result seen" time and ended, with the same number of successes, at it.
/// The scenario's batches start after seeded random delays, so the two agree only when they
/// draw the same delays from the same stream.
extension Live {
    @Suite struct BatchDifferentialTests {
        static func shipped() throws -> Scenario {
            let path = VirtualTimeDifferentialTests.repoRoot.appendingPathComponent("scenarios/batch-offload.yaml").path
            return try ScenarioLoader.load(path: path)
        }

        @Test func shippedBatchOffloadScenarioAgreesBatchByBatch() throws {
            #expect(try Self.compare(Self.shipped()).succeeded > 0)
        }

        /// Requests past the model's maximum output: each batch's results hold them `errored`
        /// on the mock, and the simulator fails them with 400, by the same rule.
        @Test func requestsPastTheModelsCapsErrorAlike() throws {
            var s = try Self.shipped()
            s.workload.maxTokens = 100_000 // claude-sonnet-4-5 takes at most 64,000
            let counts = try Self.compare(s)
            #expect(counts.succeeded == 0 && counts.errored > 0)
        }

        /// Replays the simulator's batches of `s` into a virtual mock; returns the requests both
        /// saw succeed and error.
        static func compare(_ s: Scenario) throws -> (succeeded: Int, errored: Int) {
            var total = (succeeded: 0, errored: 0)
            let spec = try #require(s.strategies.first { $0.name == "batch-offload" })
            let stream = ArrivalGenerator.generate(s)
            let strategy = try StrategyFactory.make(spec, limits: s.limits.config, keys: s.limits.keyConfigs, seed: s.seed)
            let log = Simulator.run(scenario: s, stream: stream, strategy: strategy)
            let pollEvery = 30.0 // the scenario's poll_every

            // The simulator's batches: attempts created at one instant form one batch (the
            // scenario's max_batch is never reached).
            struct Batch { var created: Double; var seen: Double; var attempts: [Int] }
            var batches: [Batch] = []
            for a in 0..<log.attemptCountTotal where log.isBatch(attempt: a) {
                if let last = batches.last, last.created == log.sentAt[a] {
                    batches[batches.count - 1].attempts.append(a)
                } else {
                    batches.append(Batch(created: log.sentAt[a], seen: log.completedAt[a], attempts: [a]))
                }
            }
            #expect(batches.count >= 5)

            // The calls, in time order: each batch's create, then a GET at the poll before the
            // result was seen (when it was after the create) and one at the time it was seen.
            enum Call { case create(Int), poll(Int, before: Bool) }
            var calls: [(t: Double, order: Int, call: Call)] = []
            for (i, b) in batches.enumerated() {
                calls.append((b.created, 0, .create(i)))
                if b.seen - pollEvery > b.created { calls.append((b.seen - pollEvery, 1, .poll(i, before: true))) }
                calls.append((b.seen, 1, .poll(i, before: false)))
            }
            calls.sort { ($0.t, $0.order) < ($1.t, $1.order) }

            let mock = VirtualTimeMock(config: MockConfig(scenario: s))
            let builder = RequestBodyBuilder(model: s.model, stream: false, longCacheTTL: false, nonce: 0)
            let headers = [("x-api-key", MockConfig.scenarioKey(0)), ("anthropic-version", "2023-06-01"),
                           ("content-type", "application/json")]
            var ids: [Int: String] = [:]
            var polls: [(batch: Int, before: Bool, exchange: Int)] = []
            var body: [UInt8] = []
            for c in calls {
                switch c.call {
                case .create(let i):
                    var json = #"{"requests":["#
                    for (k, a) in batches[i].attempts.enumerated() {
                        let r = Int(log.attemptRequest[a])
                        builder.write(input: Int(stream.inputTokens[r]), prefix: 0, prefixId: 0,
                                      maxTokens: Int(stream.maxTokens[r]), into: &body)
                        json += (k > 0 ? "," : "") + #"{"custom_id":"r\#(r)","params":"# + String(decoding: body, as: UTF8.self) + "}"
                    }
                    json += "]}"
                    let x = mock.send(at: c.t, uri: "/v1/messages/batches", headers: headers, body: Array(json.utf8))
                    mock.advance(to: c.t + 1e-6)
                    let e = mock.exchange(x)
                    #expect(e.status == 200, "create at \(c.t): \(String(decoding: e.body, as: UTF8.self))")
                    let object = try JSONSerialization.jsonObject(with: Data(e.body)) as? [String: Any]
                    ids[i] = try #require(object?["id"] as? String)
                case .poll(let i, let before):
                    let id = try #require(ids[i])
                    let x = mock.send(at: c.t, method: "GET", uri: "/v1/messages/batches/\(id)", headers: headers, body: [])
                    polls.append((i, before, x))
                }
            }
            mock.advance(to: (calls.last?.t ?? 0) + 1)
            for p in polls {
                let e = mock.exchange(p.exchange)
                let object = try #require(try JSONSerialization.jsonObject(with: Data(e.body)) as? [String: Any])
                let status = object["processing_status"] as? String
                if p.before {
                    #expect(status == "in_progress", "batch \(p.batch) ended before the simulator's previous poll")
                } else {
                    #expect(status == "ended", "batch \(p.batch) not ended when the simulator saw its results")
                    let counts = object["request_counts"] as? [String: Int]
                    let ok = batches[p.batch].attempts.filter { log.status[$0] == 200 }.count
                    let errored = batches[p.batch].attempts.filter { log.status[$0] == 400 }.count
                    #expect(counts?["succeeded"] == ok, "batch \(p.batch): mock \(counts ?? [:]), simulator \(ok) succeeded")
                    #expect(counts?["errored"] == errored, "batch \(p.batch): mock \(counts ?? [:]), simulator \(errored) errored")
                    total.succeeded += ok
                    total.errored += errored
                }
            }
            return total
        }
    }
}
