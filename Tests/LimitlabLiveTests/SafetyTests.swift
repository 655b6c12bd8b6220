import Foundation
import LimitlabCore
import LimitlabLive
import LimitlabSim
import LimitlabTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension Live {
    /// Spending guard, key handling and target checks.
    @Suite struct SafetyTests {
        static let secret = "sk-ant-" + "test-DO-NOT-PRINT-4f1c9e" // split so secret scanners do not flag a fake key

        static func scenario() -> Scenario {
            makeScenario(.live, arrivals: [ArrivalSpec(.constant(rate: 3))], length: .duration(1),
                         strategies: [StrategySpec(name: "sdk-default")])
        }

        @Test(arguments: [
            ("http://127.0.0.1:8080", true), ("http://localhost", true), ("http://[::1]:9000/x", true),
            ("http://127.1.2.3", true), ("https://api.anthropic.com", false), ("http://127.0.0.1.example.com", false),
            ("http://10.0.0.1:80", false), ("http://user@127.0.0.1:1", false), ("127.0.0.1:80", false),
            // A loopback-looking name after `@` in a fragment or query is not the host: libcurl
            // connects to 203.0.113.10 (a documentation address; nothing is sent in this test).
            ("http://203.0.113.10/#@127.0.0.1", false), ("http://203.0.113.10/?x=@localhost", false),
            ("http://203.0.113.10?x=@localhost", false), ("http://203.0.113.10#@127.0.0.1", false),
            ("http://127.0.0.1@203.0.113.10/", false), ("http://localhost:80@203.0.113.10/", false),
            ("http://203.0.113.10\\@127.0.0.1/", false), ("http://127.0.0.1 .example.com/", false),
            ("http://127.0.0.%31/", false), ("http://127.+0.0.1/", false), ("http://LOCALHOST:9/", true),
        ])
        func loopbackDetection(url: String, loopback: Bool) {
            #expect(LiveTarget(baseURL: url).isLoopback == loopback)
        }

        /// The guard judges the host libcurl connects to, and a base URL that hides another host
        /// behind `@` is refused before anything is sent, also when it comes from a scenario's `target:`.
        @Test(arguments: ["http://203.0.113.10/#@127.0.0.1", "http://203.0.113.10/?x=@localhost",
                          "http://127.0.0.1@203.0.113.10"])
        func disguisedRemoteTargetIsRefused(url: String) {
            #expect(LiveTarget(baseURL: url).host == nil)
            var s = Self.scenario()
            s.target = .url(url)
            let e = #expect(throws: LiveError.self) {
                try LiveRunner.validate(scenario: s, target: LiveTarget(baseURL: url), options: LiveOptions())
            }
            #expect(e?.kind == .configuration)
        }

        @Test func hostIsWhatLibcurlConnectsTo() {
            #expect(LiveTarget(baseURL: "http://[::1]:9000/x").host == "::1")
            #expect(LiveTarget(baseURL: "https://API.anthropic.com/").host == "api.anthropic.com")
            #expect(LiveTarget(baseURL: "http://127.0.0.1:8080/prefix").host == "127.0.0.1")
        }

        /// A non-loopback target needs a cap (the error gives the estimate), a price and a key;
        /// with them it validates without sending anything.
        @Test func nonLoopbackTargetRequiresACapAndAKey() throws {
            let s = Self.scenario()
            let real = LiveTarget(baseURL: "https://api.anthropic.com", apiKey: LiveAPIKey(Self.secret))
            let noCap = #expect(throws: LiveError.self) {
                try LiveRunner.validate(scenario: s, target: real, options: LiveOptions())
            }
            #expect(noCap?.kind == .unsafeTarget)
            #expect(noCap?.message.contains("estimated") == true)
            #expect(noCap?.message.contains(Self.secret) == false)
            try LiveRunner.validate(scenario: s, target: real, options: LiveOptions(maxCostUSD: 1))

            var unpriced = s
            unpriced.model = "claude-unknown-9"
            let noPrice = #expect(throws: LiveError.self) {
                try LiveRunner.validate(scenario: unpriced, target: real, options: LiveOptions(maxCostUSD: 1))
            }
            #expect(noPrice?.kind == .unsafeTarget)

            let noKey = #expect(throws: LiveError.self) {
                try LiveRunner.validate(scenario: s, target: LiveTarget(baseURL: "https://api.anthropic.com"),
                                        options: LiveOptions(maxCostUSD: 1))
            }
            #expect(noKey?.kind == .apiKey)
            #expect(throws: LiveError.self) {
                try LiveRunner.validate(scenario: s, target: LiveTarget(baseURL: "ftp://127.0.0.1"), options: LiveOptions())
            }
        }

        @Test func estimateCountsEveryStrategyRun() throws {
            let s = makeScenario(.live, arrivals: [ArrivalSpec(.constant(rate: 10))], length: .duration(1),
                                        input: Sampled(.constant(1000)), output: Sampled(.constant(100)), maxTokens: 1000,
                                        strategies: [StrategySpec(name: "none"), StrategySpec(name: "sdk-default")])
            let e = try #require(LiveRunner.estimateCost(scenario: s))
            #expect(e.requests == 20)
            // Sonnet 4.5: 3 USD/M input, 15 USD/M output.
            #expect(abs(e.expectedUSD - 20 * (1000 * 3 + 100 * 15) / 1e6) < 1e-12)
            #expect(abs(e.worstCaseUSD - 20 * (1000 * 3 + 1000 * 15) / 1e6) < 1e-12)
        }

        /// The key, read from the environment, is redacted everywhere it could be printed, and a
        /// run whose every attempt fails still leaves no trace of it in the result.
        @Test func apiKeyNeverAppearsInOutput() async throws {
            let name = "LIMITLAB_LIVE_TEST_KEY_\(getpid())"
            setenv(name, Self.secret, 1)
            defer { unsetenv(name) }
            let key = try LiveAPIKey.fromEnvironment(name)
            var dumped = ""
            dump(key, to: &dumped)
            for text in [String(describing: key), String(reflecting: key), "\(key)", dumped] {
                #expect(!text.contains(Self.secret))
            }
            let missing = #expect(throws: LiveError.self) { try LiveAPIKey.fromEnvironment(name + "_UNSET") }
            #expect(missing?.kind == .apiKey)
            #expect(missing?.message.contains(name + "_UNSET") == true)

            let closed = try ClosedPort()
            let target = LiveTarget(baseURL: "http://127.0.0.1:\(closed.port)", apiKey: key)
            var targetDump = ""
            dump(target, to: &targetDump)
            #expect(!String(describing: target).contains(Self.secret))
            #expect(!targetDump.contains(Self.secret))
            let result = try await LiveRunner(scenario: Self.scenario(), target: target,
                                              options: LiveOptions(connectTimeout: 1, requestTimeout: 2)).run()
            #expect(result.runs.first?.log.attemptCountTotal == 9)
            var all = ""
            dump(result, to: &all)
            #expect(all.contains("connect to server")) // the dump does hold the error causes
            #expect(!all.contains(Self.secret))
            _ = closed
        }

        /// A server that echoes the API key back as an SSE error type does not get it into the
        /// run's error causes (which report.json records) or its warnings.
        @Test func anEchoedKeyIsRedactedFromErrorCauses() throws {
            let server = try RecordingServer { _, request in
                let sent = request.headers.first { $0.hasPrefix("x-api-key:") }
                    .map { String($0.dropFirst("x-api-key:".count)).trimmingCharacters(in: .whitespaces) } ?? "none"
                let body = "event: error\ndata: {\"type\": \"error\", \"error\": {\"type\": \"\(sent)\", \"message\": \"x\"}}\n\n"
                var text = "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ncontent-length: \(body.utf8.count)\r\n\r\n"
                text += body
                return Array(text.utf8)
            }
            let target = LiveTarget(baseURL: "http://127.0.0.1:\(server.port)", apiKey: LiveAPIKey(Self.secret))
            let result = try LiveRunner(scenario: Self.scenario(), target: target,
                                        options: LiveOptions(connectTimeout: 1, requestTimeout: 2)).run()
            #expect(server.requests.contains { $0.headers.contains("x-api-key: \(Self.secret)") }, "the key was sent")
            let causes = result.runs.flatMap { $0.errorCauses.keys }
            #expect(!causes.isEmpty, "the stream errors are recorded")
            var all = ""
            dump(result, to: &all)
            #expect(!all.contains(Self.secret) && !all.contains("sk-ant-"), "\(causes)")
            #expect(causes.allSatisfy { $0.contains("<redacted>") }, "\(causes)")
        }

        @Test func redactionCoversKeysAndKeyShapedText() {
            let k = LiveAPIKey("my-private-key-123")
            #expect(LiveAPIKey.redact("a my-private-key-123 b", keys: [k]) == "a <redacted> b")
            #expect(LiveAPIKey.redact("stream_error: sk-ant-api03-AbC_d-9, more", keys: []) == "stream_error: <redacted>, more")
            #expect(LiveAPIKey.redact("overloaded_error", keys: [k]) == "overloaded_error")
        }

        /// A scenario with two API keys needs two keys on the target.
        @Test func keyCountMustCoverTheScenario() {
            var s = Self.scenario()
            s.limits.keys = [LimitConfig(rpm: 50, itpm: 30_000, otpm: 8_000), LimitConfig(rpm: 50, itpm: 30_000, otpm: 8_000)]
            let e = #expect(throws: LiveError.self) {
                try LiveRunner.validate(scenario: s, target: LiveTarget(baseURL: "http://127.0.0.1:1", apiKey: LiveAPIKey("a")),
                                        options: LiveOptions())
            }
            #expect(e?.kind == .configuration)
        }
    }
}

extension Live {
    /// Prompt caching through the live path matches the simulator's cache accounting.
    @Suite struct CacheTests {
        /// 2,000-token prompts with an 80% shared prefix (1,600 tokens): the first request writes
        /// the prefix, later ones read it, exactly as in the simulator, and the usage the mock
        /// reports adds up to the workload's prompt size.
        @Test func cacheTokensMatchTheSimulator() async throws {
            let s = makeScenario(.live, arrivals: [ArrivalSpec(.constant(rate: 4))], length: .duration(1.5),
                                        input: Sampled(.constant(2000)), cache: CacheSpec(share: 0.8, ttl: 300, prefixes: 1))
            let sim = try Simulator.run(s).runs[0].log
            let result = try await runAgainstMock(s)
            let run = try #require(result.runs.first)
            let log = run.log
            #expect(log.attemptCountTotal == 6)
            #expect(log.cacheCreationTokens == sim.cacheCreationTokens)
            #expect(log.cacheReadTokens == sim.cacheReadTokens)
            #expect(log.cacheCreationTokens.first == 1600)
            #expect(log.cacheReadTokens.dropFirst().allSatisfy { $0 == 1600 })
            for a in 0..<log.attemptCountTotal {
                let total = Int(run.attempts.inputTokens[a]) + Int(log.cacheCreationTokens[a]) + Int(log.cacheReadTokens[a])
                #expect(total == 2000)
            }
        }

        /// Non-streaming requests: usage from the JSON body; the first token is the first byte.
        @Test func nonStreamingRequestsSucceed() async throws {
            let s = makeScenario(.live, arrivals: [ArrivalSpec(.constant(rate: 4))], length: .duration(1), stream: false)
            let result = try await runAgainstMock(s)
            let run = try #require(result.runs.first)
            #expect(Outcomes(run.log).succeeded == 4)
            #expect(run.attempts.outputTokens.allSatisfy { $0 == 20 })
            #expect(run.attempts.inputTokens.allSatisfy { $0 == 200 })
            for a in 0..<run.log.attemptCountTotal {
                #expect(run.log.firstTokenAt[a] == run.attempts.firstByteAt[a])
            }
        }
    }
}
