import Foundation
import LimitlabCore
@testable import LimitlabMock
import LimitlabScenario
import Testing

/// The config file: a scenario's vocabulary, located errors, and limit resolution.
@Suite struct ConfigTests {
    @Test func fullConfigReadsEveryValue() throws {
        let yaml = """
            seed: 42
            max_body_bytes: 1_000_000
            default_output_tokens: 20
            orgs:
              - id: team-a
                keys: [sk-a1, sk-a2]
                limits:
                  tier: Tier 1
                  burst: "1/60"
                  output_accounting: reserve
                models:
                  claude-haiku-4-5: {rpm: 10}
                  my-model: {rpm: "2/s", itpm: 1000, otpm: 500}
                count_tokens_rpm: 7
              - keys: [sk-b]
                any_key: true
                spend_cap: true
                limits: {rpm: 5, itpm: "20_000", otpm: 4000/min, admission: full-cost}
            server:
              ttft: {dist: lognormal, median: 500ms, sigma: 0.3, max: 5s}
              output_rate: 80/s
              prefill_rate: 20000/s
              reject_latency: 20ms
              overload: {probability: 0.01, rise_from: 10, rise_to: 20}
            faults: {server_error: 0.1, stream_error: 0.2, connection_reset: 0.05, stall: 0.5, stall_duration: 2s}
            cache: {ttl_5m: 10s, ttl_1h: 1m, min_cacheable_tokens: 0}
            """
        let c = try MockConfig.parse(yaml: yaml, file: "mock.yaml")
        #expect(c.seed == 42)
        #expect(c.maxBodyBytes == 1_000_000)
        #expect(c.defaultOutputTokens == 20)
        #expect(c.organizations.count == 2)
        let a = c.organizations[0]
        #expect(a.id == "team-a")
        #expect(a.keys == ["sk-a1", "sk-a2"])
        #expect(a.limits.tier == "tier-1")
        #expect(abs(a.limits.burst - 1.0 / 60) < 1e-12)
        #expect(a.limits.outputAccounting == .reserve)
        #expect(a.countTokensRPM == 7)
        #expect(a.limits.models["haiku-4.5"]?.rpm == 10)
        #expect(a.limits.models["my-model"]?.rpm == 120)
        let b = c.organizations[1]
        #expect(b.id == MockOrganization.defaultId(index: 1))
        #expect(b.acceptsAnyKey && b.spendCapReached)
        #expect(b.limits.itpm == 20_000 && b.limits.otpm == 4000 && b.limits.admission == .fullCost)
        #expect(c.server.ttft == Sampled(.lognormal(mu: log(0.5), sigma: 0.3), min: nil, max: 5))
        #expect(c.server.outputTokensPerSecond == 80)
        #expect(c.server.prefillTokensPerSecond == 20_000)
        #expect(c.server.rejectLatency == 0.02)
        #expect(c.server.overload == OverloadModel(probability: 0.01, riseFrom: 10, riseTo: 20))
        #expect(c.faults == MockFaults(serverError: 0.1, streamError: 0.2, connectionReset: 0.05, stall: 0.5, stallDuration: 2))
        #expect(c.cache == MockCacheSettings(ttl5m: 10, ttl1h: 60, minCacheableTokens: 0))

        // Limits per class: the tier's row, overrides, extra models, and nothing for classes
        // the tier does not list.
        let catalog = TierCatalog.builtIn
        let sonnet = try #require(a.limits.config(forClass: "sonnet-4.x", catalog: catalog))
        #expect(sonnet.rpm == 50 && sonnet.itpm == 30_000 && sonnet.otpm == 8_000)
        #expect(sonnet.outputAccounting == .reserve)
        let haiku = try #require(a.limits.config(forClass: "haiku-4.5", catalog: catalog))
        #expect(haiku.rpm == 10 && haiku.itpm == 50_000)
        let mine = try #require(a.limits.config(forClass: "my-model", catalog: catalog))
        #expect(mine.rpm == 120 && mine.otpm == 500)
        #expect(a.limits.config(forClass: "opus-5", catalog: catalog) == nil)
        // Explicit numbers apply to every class.
        #expect(b.limits.config(forClass: "opus-5", catalog: catalog)?.rpm == 5)
    }

    /// `serve --config /dev/zero` or a FIFO used to read forever (or block); now refused at once.
    /// The example config of docs/mock-server.md loads as written and sets what its comments say.
    @Test func documentedExampleLoads() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let text = try String(contentsOf: root.appendingPathComponent("docs/mock-server.md"), encoding: .utf8)
        let blocks = text.components(separatedBy: "```yaml\n").dropFirst().map { $0.components(separatedBy: "```")[0] }
        #expect(blocks.count == 1)
        let c = try MockConfig.parse(yaml: try #require(blocks.first), file: "docs/mock-server.md")
        #expect(c.organizations.count == 2)
        #expect(c.batches.requestsPerSecond == 1000 && c.batches.rpm == 50 && c.batches.queue == 100_000)
        #expect(c.server.stalls.count == 1 && c.cache.minCacheableTokens == 1024)
    }

    @Test func specialFilesAreRefusedAsConfigs() {
        for path in ["/dev/zero", "/dev/urandom", "/"] {
            do {
                _ = try MockConfig.load(path: path)
                Issue.record("\(path) was accepted as a config")
            } catch {
                #expect(error.message.contains("not a regular file"), "\(path): \(error.message)")
            }
        }
    }

    @Test func problemsAreLocatedWithKeyPathsAndAllReported() {
        let yaml = """
            orgs:
              - keys: [sk-a]
                limits: {tier: tier-9}
              - keys: [sk-a]
                limits: {rpmm: 5}
            server:
              output_rate: 60
              ttft: {dist: lognormal, median: 1s}
            faults: {stall: 2}
            colour: blue
            """
        do {
            _ = try MockConfig.parse(yaml: yaml, file: "mock.yaml")
            Issue.record("expected errors")
        } catch {
            #expect(error.kind == .config)
            let lines = error.message.split(separator: "\n").map(String.init)
            func has(_ fragment: String) -> Bool { lines.contains { $0.contains(fragment) } }
            #expect(has("mock.yaml:10:1: colour: unknown key \"colour\""), "\(lines)")
            #expect(has("mock.yaml:3:20: orgs[0].limits.tier: unknown tier \"tier-9\"; known tiers: tier-1"), "\(lines)")
            #expect(has("orgs[1].keys[0]: this API key is already listed under orgs[0].keys[0]"), "\(lines)")
            #expect(has("orgs[1].limits.rpmm: unknown key \"rpmm\""), "\(lines)")
            #expect(has("orgs[1].limits: missing required key \"rpm\""), "\(lines)")
            #expect(has("mock.yaml:7:16: server.output_rate: expected a rate like \"60/s\", found \"60\" (add a unit"), "\(lines)")
            #expect(has("server.ttft: missing required key \"sigma\""), "\(lines)")
            #expect(has("faults.stall: expected a number in 0...1, found \"2\""), "\(lines)")
            // An API key is never echoed.
            #expect(!error.message.contains("sk-a"))
        }
    }

    /// Limits are bounded as in a scenario (at most 1e12 per minute): `rpm: 1e308` used to be
    /// accepted and trap in the first request's limit snapshot. Every place a config takes a
    /// per-minute limit: an organisation's limits, a model override, count_tokens, batches.
    @Test func hugeLimitsAreRefusedWhereTheyAreWritten() {
        let yaml = """
            orgs:
              - any_key: true
                limits: {rpm: 1e308, itpm: 1e13, otpm: 8000}
                models:
                  sonnet-4.x: {otpm: 1e308}
                count_tokens_rpm: 1e308
            batches:
              rpm: 1e308
            """
        do {
            _ = try MockConfig.parse(yaml: yaml, file: "mock.yaml")
            Issue.record("expected errors")
        } catch {
            #expect(error.kind == .config)
            let lines = error.message.split(separator: "\n").map(String.init)
            let want = [
                "mock.yaml:3:19: orgs[0].limits.rpm: expected a limit of at most 1e12 per minute, found \"1e308\"",
                "mock.yaml:3:32: orgs[0].limits.itpm: expected a limit of at most 1e12 per minute, found \"1e13\"",
                "mock.yaml:5:26: orgs[0].models.sonnet-4.x.otpm: expected a limit of at most 1e12 per minute, found \"1e308\"",
                "mock.yaml:6:23: orgs[0].count_tokens_rpm: expected a limit of at most 1e12 per minute, found \"1e308\"",
                "mock.yaml:8:8: batches.rpm: expected a limit of at most 1e12 per minute, found \"1e308\"",
            ]
            for w in want { #expect(lines.contains(w), "\(w) not in \(lines)") }
        }
        // The bound itself is accepted.
        #expect(throws: Never.self) {
            _ = try MockConfig.parse(yaml: "orgs:\n  - any_key: true\n    limits: {rpm: 1e12, itpm: 1e12, otpm: 1e12}\n",
                                     file: "mock.yaml")
        }
    }

    /// `server` and `limits` are read by the scenario reader itself: the same block gives the same
    /// values and the same messages in a scenario and in a mock config, `file:` distributions
    /// included (resolved against the config's directory).
    @Test func scenarioVocabularyReadsAsInAScenario() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("limitlab-mock-\(UUID().uuidString)")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try "# measured\n250ms\n1s\n".write(to: dir.appendingPathComponent("ttft.txt"), atomically: true, encoding: .utf8)
        let server = """
            server:
              ttft: {dist: empirical, file: ttft.txt, max: 800ms}
              output_rate: 90/s
              overload: {probability: 0.02}
            """
        let scenarioYAML = """
            name: s
            model: claude-sonnet-4-5
            requests: 1
            limits: {rpm: 1/h, itpm: 2/s, otpm: 4000/min}
            arrivals: [{process: poisson, rate: 1/s}]
            workload: {input_tokens: 1, output_tokens: 1, max_tokens: 1}
            \(server)
            """
        let scenario = try ScenarioLoader.parse(yaml: scenarioYAML, file: "s.yaml", baseDirectory: dir.path)
        let configPath = dir.appendingPathComponent("mock.yaml")
        try """
            orgs: [{keys: [sk-a], limits: {rpm: 1/h, itpm: 2/s, otpm: 4000/min}}]
            \(server)
            """.write(to: configPath, atomically: true, encoding: .utf8)
        let config = try MockConfig.load(path: configPath.path)
        #expect(config.server == scenario.server)
        #expect(config.server.ttft == Sampled(.empirical([0.25, 1]), min: nil, max: 0.8))
        // Per-minute limits as a scenario reads them: `1/h` is exactly 1/60, not rounded.
        let limits = config.organizations[0].limits
        #expect(limits.rpm == scenario.limits.config.rpm && limits.rpm == 1.0 / 60)
        #expect(limits.itpm == 120 && limits.otpm == 4000)

        // The same bad values, the same messages (after the file name).
        let bad = "  output_rate: \"60\\r\"\n  ttft: {dist: empirical, file: missing.txt}\n"
        let scenarioIssues: [String]
        do {
            _ = try ScenarioLoader.parse(yaml: scenarioYAML.replacingOccurrences(of: "  output_rate: 90/s\n", with: bad)
                                            .replacingOccurrences(of: "  ttft: {dist: empirical, file: ttft.txt, max: 800ms}\n", with: ""),
                                         file: "x.yaml", baseDirectory: dir.path)
            Issue.record("expected scenario issues")
            return
        } catch {
            scenarioIssues = error.issues.filter { $0.path.hasPrefix("server") }.map { "\($0.path): \($0.message)" }
        }
        do {
            _ = try MockConfig.parse(yaml: "orgs: [{keys: [k], limits: {tier: tier-1}}]\nserver:\n" + bad,
                                     file: "m.yaml", baseDirectory: dir.path)
            Issue.record("expected config errors")
        } catch {
            let lines = error.message.split(separator: "\n").map { String($0.split(separator: " ", maxSplits: 1)[1]) }
            #expect(lines == scenarioIssues)
            #expect(error.message.contains(#"found "60\r""#), "\(error.message)")
            #expect(error.message.contains("cannot read values file"), "\(error.message)")
        }
    }

    @Test func emptyAndMalformedFiles() {
        for (yaml, fragment) in [("", "the file is empty"), ("orgs: [", "YAML syntax error"),
                                 ("orgs: []", "expected at least one organisation"),
                                 ("orgs:\n  - limits: {tier: tier-1}", "missing required key \"keys\"")] {
            do {
                _ = try MockConfig.parse(yaml: yaml, file: "m.yaml")
                Issue.record("expected an error for \(yaml)")
            } catch {
                #expect(error.message.contains(fragment), "\(error.message)")
                #expect(error.message.hasPrefix("m.yaml:"))
            }
        }
    }

    @Test func scenarioConfigHasOneOrganisationPerKey() throws {
        let limits = LimitsSpec(config: LimitConfig(rpm: 50, itpm: 30_000, otpm: 8_000, burst: 0.5), tier: "tier-1",
                                modelClass: "sonnet-4.x",
                                keys: [LimitConfig(rpm: 50, itpm: 30_000, otpm: 8_000), LimitConfig(rpm: 7, itpm: 700, otpm: 70)])
        var scenario = Scenario(name: "s", seed: 99, length: .requests(1), model: "my-model", limits: limits,
                                server: ServerModel(outputTokensPerSecond: 33), arrivals: [],
                                workload: WorkloadSpec(inputTokens: Sampled(.constant(1)), outputTokens: Sampled(.constant(1)),
                                                       maxTokens: 1, cache: CacheSpec(share: 0.5, ttl: 60, minCacheableTokens: 10)),
                                strategies: [])
        var c = MockConfig(scenario: scenario)
        #expect(c.seed == 99 && c.server.outputTokensPerSecond == 33)
        #expect(c.organizations.map(\.keys) == [[MockConfig.scenarioKey(0)], [MockConfig.scenarioKey(1)]])
        #expect(c.organizations[0].countTokensRPM == 100)
        #expect(c.cache.ttl5m == 60 && c.cache.minCacheableTokens == 10)
        // A model outside the catalog is served with the key's limits.
        let second = c.organizations[1].limits
        #expect(second.config(forClass: "my-model", catalog: .builtIn)?.rpm == 7)
        #expect(second.config(forClass: "sonnet-4.x", catalog: .builtIn)?.itpm == 700)
        scenario.model = "claude-sonnet-4-5"
        c = MockConfig(scenario: scenario)
        #expect(c.organizations[0].limits.models.isEmpty)
    }

    @Test func standardConfigChecksTierAndModel() throws {
        let c = try MockConfig.standard(tier: "build", model: "claude-opus-4-5")
        #expect(c.organizations.count == 1 && c.organizations[0].acceptsAnyKey && c.organizations[0].limits.tier == "build")
        #expect(throws: MockError.self) { try MockConfig.standard(tier: "tier-7") }
        #expect(throws: MockError.self) { try MockConfig.standard(model: "gpt-4") }
    }
}

/// The request reader: JSON edge cases, field errors and the token approximation.
@Suite struct RequestTests {
    @Test func jsonParserHandlesEscapesAndRejectsHostileInput() throws {
        let v = try JSONParser.parse(#"{"a":"x\"\\\/\n\u00e9\ud83d\ude00","b":[1,-2.5e3,true,null],"a":"last"}"#)
        #expect(v["a"] == .string("last"))
        guard case .object(let members) = v else { Issue.record("not an object"); return }
        #expect(members[0].1 == .string("x\"\\/\né😀"))
        #expect(v["b"] == .array([.number(1), .number(-2500), .bool(true), .null]))
        for bad in ["", "{", #"{"a":}"#, "[1,]", #"{"a":1} x"#, "\"\u{1}\"", "01x", #""\x""#] {
            #expect(throws: JSONParseError.self, "\(bad)") { try JSONParser.parse(bad) }
        }
        let deep = String(repeating: "[", count: 100_000)
        #expect(throws: JSONParseError.self) { try JSONParser.parse(deep) }
    }

    @Test func tokenApproximationAndBreakpoints() throws {
        let body = try JSONParser.parse("""
            {"model":"m","max_tokens":10,
             "tools":[{"name":"get","description":"abcd","input_schema":{"type":"object"}}],
             "system":[{"type":"text","text":"\(String(repeating: "a", count: 400))","cache_control":{"type":"ephemeral","ttl":"1h"}}],
             "messages":[{"role":"user","content":[{"type":"text","text":"abcdefgh","cache_control":{"type":"ephemeral"}},
                                                   {"type":"image","source":{"type":"base64","data":"..."}}]},
                         {"role":"assistant","content":"abc"}]}
            """)
        let r = try MessagesRequest.parse(body, countTokens: false)
        // tool: name 4 + "get" 3 + description 11 + "abcd" 4 + input_schema 12 + type 4 + "object" 6 = 44 bytes → 11.
        let tool = 11
        #expect(r.breakpoints.count == 2)
        #expect(r.breakpoints[0] .tokens == tool + 100)
        #expect(r.breakpoints[0].ttl == .oneHour)
        #expect(r.breakpoints[1].tokens == tool + 100 + 4 + 2)
        #expect(r.breakpoints[1].ttl == .fiveMinutes)
        #expect(r.promptTokens == tool + 100 + 4 + 2 + 1600 + 4 + 1 + 3)
        #expect(r.maxTokens == 10 && !r.stream)

        // The same content without markers has the same prefix hashes (markers are not content).
        let moved = try MessagesRequest.parse(try JSONParser.parse("""
            {"model":"m","max_tokens":1,
             "tools":[{"name":"get","description":"abcd","input_schema":{"type":"object"}}],
             "system":[{"type":"text","text":"\(String(repeating: "a", count: 400))","cache_control":{"type":"ephemeral","ttl":"1h"}}],
             "messages":[{"role":"user","content":[{"type":"text","text":"abcdefgh"}]}],"cache_control":{"type":"ephemeral"}}
            """), countTokens: false)
        #expect(moved.breakpoints[0].hash == r.breakpoints[0].hash)
        #expect(moved.breakpoints[1].hash == r.breakpoints[1].hash)
    }

    @Test func fieldErrorsNameTheField() throws {
        func message(_ json: String, countTokens: Bool = false) throws -> String? {
            do {
                _ = try MessagesRequest.parse(try JSONParser.parse(json), countTokens: countTokens)
                return nil
            } catch let e as APIError {
                #expect(e.status == 400 && e.type == "invalid_request_error")
                return e.message
            }
        }
        #expect(try message("[]")?.contains("JSON object") == true)
        #expect(try message(#"{"max_tokens":1,"messages":[]}"#) == "model: Field required")
        #expect(try message(#"{"model":"m","max_tokens":1.5,"messages":[]}"#) == "max_tokens: Input should be a valid integer")
        #expect(try message(#"{"model":"m","max_tokens":-1,"messages":[]}"#)?.hasPrefix("max_tokens:") == true)
        #expect(try message(#"{"model":"m","max_tokens":1,"messages":{}}"#) == "messages: Input should be a valid list")
        #expect(try message(#"{"model":"m","max_tokens":1,"messages":[{"role":"user"}]}"#) == "messages.0.content: Field required")
        #expect(try message(#"{"model":"m","max_tokens":1,"stream":"yes","messages":[{"role":"user","content":"x"}]}"#)
                == "stream: Input should be a valid boolean")
        #expect(try message(#"{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"text":"x"}]}]}"#)
                == "messages.0.content.0.type: Field required")
        #expect(try message(#"{"model":"m","max_tokens":1,"messages":[{"role":"user","content":[{"type":"text","text":"x","cache_control":{"type":"ephemeral","ttl":"2h"}}]}]}"#)
                == "messages.0.content.0.cache_control.ttl: Input should be '5m' or '1h'")
        // count_tokens needs no max_tokens.
        #expect(try message(#"{"model":"m","messages":[{"role":"user","content":"x"}]}"#, countTokens: true) == nil)
    }
}
