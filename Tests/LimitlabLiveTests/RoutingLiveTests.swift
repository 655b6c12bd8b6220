import Foundation
import LimitlabCore
import LimitlabLive
import LimitlabTestSupport
import Testing

extension Live {
    /// The live runner sends each attempt to the model class its strategy chose (`route:`).
    @Suite struct RoutingLiveTests {
        @Test func eachBodyNamesTheRoutedModel() throws {
            let server = try RecordingServer { _, _ in
                RecordingServer.response(status: 200, headers: [],
                                         body: #"{"id":"m","usage":{"input_tokens":3,"output_tokens":4}}"#)
            }
            defer { server.stop() }
            var route = StrategySpec(name: "none", label: "share")
            route.route = RoleSpec(name: "share", params: ["share": .number(0.5)])
            var s = makeScenario(.live, arrivals: [ArrivalSpec(.constant(rate: 20))], length: .requests(12),
                                 input: Sampled(.constant(50)), output: Sampled(.constant(5)), maxTokens: 100,
                                 stream: false, strategies: [route])
            s.models = [ExtraModel(model: "claude-haiku-4-5", modelClass: "haiku-4.5",
                                   limits: LimitConfig(rpm: 50, itpm: 50_000, otpm: 10_000))]
            let result = try LiveRunner.run(scenario: s, target: LiveTarget(baseURL: "http://127.0.0.1:\(server.port)"),
                                            options: LiveOptions(requestTimeout: 5, gracePeriod: 2))
            let log = try #require(result.runs.first).log
            let requests = server.requests
            #expect(requests.count == log.attemptCountTotal && requests.count == 12)
            var seen = Set<Int>()
            for (a, req) in requests.enumerated() where a < log.attemptCountTotal {
                let c = log.modelClass(ofAttempt: a)
                seen.insert(c)
                let model = ["claude-sonnet-4-5", "claude-haiku-4-5"][c]
                #expect(String(decoding: req.body, as: UTF8.self).hasPrefix(#"{"model":"\#(model)","#), "attempt \(a)")
            }
            #expect(seen == [0, 1], "a 50 % share over 12 requests reaches both models (seeded)")
        }
    }
}
