import Foundation
import LimitlabCore
@testable import LimitlabMock
import Testing

/// Replies real applications run on, through the handler in virtual time: validation as the
/// API answers it, model resolution and the Models API's pages, stop sequences, tool calls and
/// structured output.
@Suite struct ReplyTests {
    static func mock(_ extra: String = "") throws -> VirtualTimeMock {
        VirtualTimeMock(config: try MockConfig.parse(yaml: orgConfig(extra: extra), file: "test.yaml"))
    }

    static let headers = [("x-api-key", "sk-test"), ("anthropic-version", "2023-06-01"),
                          ("content-type", "application/json")]

    /// Sends one request and runs the mock until its reply is complete.
    static func send(_ m: VirtualTimeMock, _ body: String, method: String = "POST", uri: String = "/v1/messages",
                     headers: [(String, String)] = headers) -> VirtualExchange {
        let i = m.send(at: m.now, method: method, uri: uri, headers: headers, body: Array(body.utf8))
        m.advance(to: m.now + 600)
        return m.exchange(i)
    }

    static func json(_ x: VirtualExchange) throws -> [String: Any] {
        try #require(try JSONSerialization.jsonObject(with: Data(x.body)) as? [String: Any], "\(String(decoding: x.body, as: UTF8.self))")
    }

    /// The error type and message of a refused request.
    static func error(_ x: VirtualExchange) throws -> (status: Int?, type: String?, message: String) {
        let e = try json(x)["error"] as? [String: Any]
        return (x.status, e?["type"] as? String, e?["message"] as? String ?? "")
    }

    /// Server-sent events of a stream, as (event, data object) pairs.
    static func events(_ x: VirtualExchange) -> [(String, [String: Any])] {
        String(decoding: x.body, as: UTF8.self).components(separatedBy: "\n\n").compactMap { block in
            let lines = block.split(separator: "\n")
            guard let e = lines.first(where: { $0.hasPrefix("event: ") }), let d = lines.first(where: { $0.hasPrefix("data: ") }),
                  let obj = try? JSONSerialization.jsonObject(with: Data(d.dropFirst(6).utf8)) as? [String: Any]
            else { return nil }
            return (String(e.dropFirst(7)), obj)
        }
    }

    static func body(model: String = "claude-sonnet-4-5", maxTokens: Int = 256, _ more: String = "",
                     messages: String = #"[{"role":"user","content":"Hello"}]"#) -> String {
        #"{"model":"\#(model)","max_tokens":\#(maxTokens),"messages":\#(messages)\#(more.isEmpty ? "" : "," + more)}"#
    }

    // MARK: Validation

    @Test(arguments: [
        (body(maxTokens: 1_000_000),
         "max_tokens: 1000000 > 64000, which is the maximum allowed number of output tokens for claude-sonnet-4-5-20250929"),
        (body(#""temperature":1.5"#), "temperature: Input should be less than or equal to 1"),
        (body(#""temperature":-0.5"#), "temperature: Input should be greater than or equal to 0"),
        (body(#""top_p":2"#), "top_p: Input should be less than or equal to 1"),
        (body(#""foo":1"#), "foo: Extra inputs are not permitted"),
        (body(#""tool_choice":{"type":"auto"}"#), "tool_choice may only be specified while providing tools."),
        (body(messages: #"[{"role":"user","content":[{"type":"tool_result","tool_use_id":"toolu_x","content":"42"}]}]"#),
         "messages.0.content.0: unexpected `tool_use_id` found in `tool_result` blocks: toolu_x. Each `tool_result` block "
            + "must have a corresponding `tool_use` block in the previous message."),
        (body(messages: #"[{"role":"user","content":"hi"},{"role":"assistant","content":[{"type":"tool_use","id":"toolu_a","name":"f","input":{}}]},{"role":"user","content":"no result"}]"#),
         "messages.1: `tool_use` ids were found without `tool_result` blocks immediately after: toolu_a. Each `tool_use` "
            + "block must have a corresponding `tool_result` block in the next message."),
        (body(maxTokens: 2000, #""thinking":{"type":"enabled","budget_tokens":512}"#),
         "thinking.enabled.budget_tokens: Input should be greater than or equal to 1024"),
        (body(maxTokens: 2000, #""thinking":{"type":"enabled","budget_tokens":4096}"#),
         "`max_tokens` must be greater than `thinking.budget_tokens`."),
        (body(maxTokens: 8000, #""thinking":{"type":"enabled","budget_tokens":4096},"temperature":0.5"#),
         "`temperature` may only be set to 1 when thinking is enabled."),
        (body(#""tools":[{"name":"bad name","input_schema":{"type":"object"}}]"#),
         "tools.0.custom.name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'"),
        (body(#""tools":[{"name":"f"}]"#), "tools.0.custom.input_schema: Field required"),
    ])
    func commonMistakesGetTheRealErrors(body: String, message: String) throws {
        let m = try Self.mock()
        let e = try Self.error(Self.send(m, body))
        #expect(e.status == 400)
        #expect(e.type == "invalid_request_error")
        #expect(e.message.hasPrefix(message), "\(e.message)")
    }

    @Test func promptPastTheContextWindow() throws {
        let m = try Self.mock()
        // Haiku 4.5 has a 200,000-token window; 800,400 bytes of text are 200,100 tokens, and the
        // message and request overheads 7 more.
        let text = String(repeating: "abcd", count: 200_100)
        let e = try Self.error(Self.send(m, Self.body(model: "claude-haiku-4-5", messages: #"[{"role":"user","content":"\#(text)"}]"#)))
        #expect(e.status == 400 && e.type == "invalid_request_error")
        #expect(e.message == "prompt is too long: 200107 tokens > 200000 maximum", "\(e.message)")
        // Just inside the window is served.
        let fits = String(repeating: "abcd", count: 199_000)
        #expect(Self.send(m, Self.body(model: "claude-haiku-4-5", messages: #"[{"role":"user","content":"\#(fits)"}]"#)).status == 200)
    }

    @Test func loneSurrogatesAreRefusedAsTheAPIRefusesThem() throws {
        let m = try Self.mock()
        let e = try Self.error(Self.send(m, Self.body(messages: #"[{"role":"user","content":"ab\ud83dz"}]"#)))
        #expect(e.status == 400 && e.type == "invalid_request_error")
        // "\ud83d" starts at character 86 of the body (0-based).
        #expect(e.message == "The request body is not valid JSON: no low surrogate in string: line 1 column 87 (char 86)",
                "\(e.message)")
        let low = try Self.error(Self.send(m, Self.body(messages: #"[{"role":"user","content":"\udc00"}]"#)))
        #expect(low.status == 400 && low.message.contains("surrogate"))
        // A proper pair is one character.
        #expect(Self.send(m, Self.body(messages: #"[{"role":"user","content":"\ud83d\ude00"}]"#)).status == 200)
    }

    @Test func badAnthropicVersion() throws {
        let m = try Self.mock()
        for bad in ["latest", "2022-12-01", "2023-6-1", "2023-13-01", "2023-06-01x"] {
            let e = try Self.error(Self.send(m, Self.body(), headers: [("x-api-key", "sk-test"), ("anthropic-version", bad)]))
            #expect(e.status == 400 && e.type == "invalid_request_error")
            #expect(e.message.hasPrefix(#"anthropic-version: "\#(bad)" is not a valid version"#), "\(e.message)")
        }
        // 2023-06-01, and the later dated versions current SDKs send, are served.
        for good in ["2023-06-01", "2026-10-21"] {
            #expect(Self.send(m, Self.body(), headers: [("x-api-key", "sk-test"), ("anthropic-version", good)]).status == 200)
        }
    }

    /// Issue #17 finding 5: a huge max_tokens or output header with a fast output rate trapped
    /// in NIO's buffer check. Now max_tokens is refused above the model's maximum and the header
    /// is capped by max_tokens.
    @Test func hugeOutputRequestsNeverAllocateHugeReplies() throws {
        let m = try Self.mock()
        let big = Self.send(m, Self.body(maxTokens: 2_000_000_000),
                            headers: Self.headers + [("x-limitlab-output-tokens", "2000000000")])
        #expect(big.status == 400)
        for stream in [false, true] {
            let x = Self.send(m, Self.body(maxTokens: 64_000, stream ? #""stream":true"# : ""),
                              headers: Self.headers + [("x-limitlab-output-tokens", "1500000000")])
            #expect(x.status == 200)
            // 64,000 tokens of 4 bytes, plus the events' framing when streamed.
            #expect(x.body.count < 64_000 * 4 * 3)
        }
    }

    // MARK: Models

    @Test func modelIdsResolveAsTheAPIResolvesThem() throws {
        let m = try Self.mock()
        for id in ["claude-sonnet-4-5", "claude-sonnet-4-5-20250929", "claude-3-5-haiku-latest", "claude-opus-4-0"] {
            #expect(Self.send(m, Self.body(model: id)).status == 200, "\(id)")
            #expect(Self.send(m, "", method: "GET", uri: "/v1/models/\(id)").status == 200, "\(id)")
        }
        // A model the tier does not serve is still a model (Tier 4 of the classic scheme has no Opus 5).
        #expect(Self.send(m, "", method: "GET", uri: "/v1/models/claude-opus-5").status == 200)
        // Retrieve answers the canonical object for an alias.
        let alias = try Self.json(Self.send(m, "", method: "GET", uri: "/v1/models/claude-sonnet-4-5"))
        #expect(alias["id"] as? String == "claude-sonnet-4-5-20250929")
        #expect(alias["max_tokens"] as? Int == 64_000)
        for id in ["claude-sonnet-4-9", "Claude-Sonnet-4-5", "claude-sonnet-4-5-2025", "claude-sonnet-4-5-20250929-x", "gpt-4o"] {
            let e = try Self.error(Self.send(m, Self.body(model: id)))
            #expect(e.status == 404 && e.type == "not_found_error" && e.message == "model: \(id)", "\(id): \(e)")
            #expect(Self.send(m, "", method: "GET", uri: "/v1/models/\(id)").status == 404, "\(id)")
        }
    }

    @Test func catalogModelsAreConsistent() {
        let catalog = TierCatalog.builtIn
        var names = Set<String>()
        for m in catalog.models {
            #expect(catalog.modelClasses.contains { $0.id == m.modelClass }, "\(m.id): class \(m.modelClass)")
            #expect(catalog.modelClass(for: m.id)?.id == m.modelClass, "\(m.id) is limited under another class")
            #expect(m.maxTokens > 0 && m.maxInputTokens > m.maxTokens, "\(m.id)")
            #expect(m.source.hasPrefix("https://") || m.source.hasPrefix("unverified"), "\(m.id): \(m.source)")
            for n in [m.id] + m.aliases { #expect(names.insert(n).inserted, "\(n) names two models") }
        }
        // Every short id a scenario may name resolves to a model of its class.
        let resolver = ModelResolver(catalog: catalog, extraModels: [])
        for c in catalog.modelClasses {
            for short in c.models {
                let m = resolver.resolve(short)
                #expect(m.flatMap { catalog.modelClass(for: $0.id)?.id } == c.id, "\(short)")
            }
        }
    }

    @Test func modelsListPaginates() throws {
        let m = try Self.mock()
        let all = try Self.json(Self.send(m, "", method: "GET", uri: "/v1/models?limit=1000"))
        let ids = try #require(all["data"] as? [[String: Any]]).compactMap { $0["id"] as? String }
        #expect(ids.count == TierCatalog.builtIn.models.count)
        #expect(all["has_more"] as? Bool == false)
        // Walking forward with after_id visits every model once, in order.
        var seen: [String] = []
        var cursor: String?
        var pages: [[String: Any]] = []
        repeat {
            let page = try Self.json(Self.send(m, "", method: "GET",
                                               uri: "/v1/models?limit=5" + (cursor.map { "&after_id=\($0)" } ?? "")))
            pages.append(page)
            let data = try #require(page["data"] as? [[String: Any]]).compactMap { $0["id"] as? String }
            #expect(data.count <= 5)
            #expect(page["first_id"] as? String == data.first && page["last_id"] as? String == data.last)
            seen += data
            cursor = page["has_more"] as? Bool == true ? data.last : nil
        } while cursor != nil && seen.count <= ids.count
        #expect(seen == ids)
        #expect(pages.count == (ids.count + 4) / 5)
        // before_id of the second page gives the first page back.
        let second = try #require(pages[1]["first_id"] as? String)
        let back = try Self.json(Self.send(m, "", method: "GET", uri: "/v1/models?limit=5&before_id=\(second)"))
        #expect((back["data"] as? [[String: Any]])?.compactMap { $0["id"] as? String } == Array(ids.prefix(5)))
        #expect(back["has_more"] as? Bool == false)
        #expect(Self.send(m, "", method: "GET", uri: "/v1/models?limit=0").status == 400)
        #expect(Self.send(m, "", method: "GET", uri: "/v1/models?after_id=claude-nope").status == 400)
    }

    @Test func batchRequestsResolveModelsAndValidateAsMessagesDoes() throws {
        let m = try Self.mock()
        let items = [("ok", Self.body()), ("typo", Self.body(model: "claude-sonnet-4-9")),
                     ("huge", Self.body(maxTokens: 1_000_000))]
            .map { #"{"custom_id":"\#($0.0)","params":\#($0.1)}"# }
        let created = try Self.json(Self.send(m, #"{"requests":["# + items.joined(separator: ",") + "]}",
                                              uri: "/v1/messages/batches"))
        let id = try #require(created["id"] as? String)
        m.advance(to: m.now + 3600)
        let x = Self.send(m, "", method: "GET", uri: "/v1/messages/batches/\(id)/results")
        var results: [String: [String: Any]] = [:]
        for line in String(decoding: x.body, as: UTF8.self).split(separator: "\n") {
            let o = try #require(try JSONSerialization.jsonObject(with: Data(line.utf8)) as? [String: Any])
            results[o["custom_id"] as? String ?? ""] = o["result"] as? [String: Any]
        }
        #expect(results["ok"]?["type"] as? String == "succeeded")
        func message(_ r: [String: Any]?) -> String {
            ((r?["error"] as? [String: Any])?["error"] as? [String: Any])?["message"] as? String ?? ""
        }
        #expect(results["typo"]?["type"] as? String == "errored" && message(results["typo"]).contains("claude-sonnet-4-9"))
        #expect(results["huge"]?["type"] as? String == "errored"
                && message(results["huge"]).contains("maximum allowed number of output tokens"), "\(results)")
    }

    // MARK: Stop sequences

    static func text(_ x: VirtualExchange) throws -> String {
        let content = try #require(try json(x)["content"] as? [[String: Any]])
        return content.compactMap { $0["text"] as? String }.joined()
    }

    @Test func stopSequencesEndTheReplyWhereTheyOccur() throws {
        let m = try Self.mock()
        let full = try Self.text(Self.send(m, Self.body()))
        #expect(full.utf8.count == 64 * 4)
        // A piece of the text from the middle: the reply stops where it first occurs.
        let seq = String(Array(full)[100..<107])
        let p = full.range(of: seq)!.lowerBound.utf16Offset(in: full)
        let x = Self.send(m, Self.body(#""stop_sequences":["zzz","\#(seq)"]"#))
        let j = try Self.json(x)
        #expect(j["stop_reason"] as? String == "stop_sequence")
        #expect(j["stop_sequence"] as? String == seq)
        #expect(try Self.text(x) == String(full.prefix(p)))
        #expect((j["usage"] as? [String: Any])?["output_tokens"] as? Int == (p + seq.utf8.count + 3) / 4)
        // Streamed: the same text in deltas, and the stop sequence in message_delta.
        let s = Self.events(Self.send(m, Self.body(#""stream":true,"stop_sequences":["\#(seq)"]"#)))
        let streamed = s.filter { $0.0 == "content_block_delta" }
            .compactMap { ($0.1["delta"] as? [String: Any])?["text"] as? String }.joined()
        #expect(streamed == String(full.prefix(p)))
        let delta = try #require(s.first { $0.0 == "message_delta" }?.1["delta"] as? [String: Any])
        #expect(delta["stop_reason"] as? String == "stop_sequence" && delta["stop_sequence"] as? String == seq)
        // A sequence that never occurs, or occurs only past max_tokens, leaves the reply alone.
        let none = try Self.json(Self.send(m, Self.body(#""stop_sequences":["Human:"]"#)))
        #expect(none["stop_reason"] as? String == "end_turn")
        #expect(none["stop_sequence"] is NSNull)
        let late = try Self.json(Self.send(m, Self.body(maxTokens: 20, #""stop_sequences":["\#(seq)"]"#)))
        #expect(late["stop_reason"] as? String == "max_tokens")
    }

    // MARK: Tool use

    static let weatherTool = #"""
        {"name":"get_weather","description":"Weather","input_schema":{"type":"object","properties":{
        "location":{"type":"string","minLength":3},"unit":{"enum":["celsius","fahrenheit"]},
        "days":{"type":"integer","minimum":1,"maximum":7},"detail":{"type":["boolean","null"]},
        "tags":{"type":"array","items":{"type":"string"},"minItems":2},
        "where":{"$ref":"#/$defs/place"},"optional":{"type":"string"}},
        "required":["location","unit","days","detail","tags","where"],
        "$defs":{"place":{"type":"object","properties":{"lat":{"type":"number","exclusiveMinimum":10}},"required":["lat"]}}}}
        """#

    /// Checks `input` against the weather tool's schema.
    static func checkWeatherInput(_ input: [String: Any]) {
        #expect((input["location"] as? String).map { $0.count >= 3 } == true)
        #expect(["celsius", "fahrenheit"].contains(input["unit"] as? String ?? ""))
        #expect((input["days"] as? Int).map { (1...7).contains($0) } == true)
        #expect(input["detail"] is Bool)
        #expect((input["tags"] as? [String])?.count == 2)
        #expect(((input["where"] as? [String: Any])?["lat"] as? Double).map { $0 > 10 } == true)
        #expect(input["optional"] == nil)
    }

    static let toolUseId = #"toolu_01"#

    @Test func offeredToolsAreCalledWithSchemaValidInput() throws {
        let m = try Self.mock()
        let x = try Self.json(Self.send(m, Self.body(#""tools":[\#(Self.weatherTool)]"#)))
        #expect(x["stop_reason"] as? String == "tool_use")
        let block = try #require((x["content"] as? [[String: Any]])?.first)
        #expect(block["type"] as? String == "tool_use" && block["name"] as? String == "get_weather")
        let id = try #require(block["id"] as? String)
        #expect(id.hasPrefix("toolu_01"))
        Self.checkWeatherInput(try #require(block["input"] as? [String: Any]))
        let inputText = String(decoding: try JSONSerialization.data(withJSONObject: block["input"]!), as: UTF8.self)

        // The agent's next turn answers the call: one round done, the model answers in text.
        let messages = #"[{"role":"user","content":"Weather?"},{"role":"assistant","content":[{"type":"tool_use","id":"\#(id)","name":"get_weather","input":\#(inputText)}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"\#(id)","content":"sunny"}]}]"#
        let done = try Self.json(Self.send(m, Self.body(#""tools":[\#(Self.weatherTool)]"#, messages: messages)))
        #expect(done["stop_reason"] as? String == "end_turn")
        #expect((done["content"] as? [[String: Any]])?.first?["type"] as? String == "text")

        // Streamed: the call's input arrives as input_json_delta pieces that join to the same JSON.
        let s = Self.events(Self.send(m, Self.body(#""stream":true,"tools":[\#(Self.weatherTool)]"#)))
        let start = try #require(s.first { $0.0 == "content_block_start" }?.1["content_block"] as? [String: Any])
        #expect(start["type"] as? String == "tool_use" && start["name"] as? String == "get_weather")
        let deltas = s.filter { $0.0 == "content_block_delta" }.compactMap { $0.1["delta"] as? [String: Any] }
        #expect(!deltas.isEmpty && deltas.allSatisfy { $0["type"] as? String == "input_json_delta" })
        let joined = deltas.compactMap { $0["partial_json"] as? String }.joined()
        let streamedInput = try #require(try JSONSerialization.jsonObject(with: Data(joined.utf8)) as? [String: Any])
        Self.checkWeatherInput(streamedInput)
        let delta = try #require(s.first { $0.0 == "message_delta" }?.1["delta"] as? [String: Any])
        #expect(delta["stop_reason"] as? String == "tool_use")
    }

    /// An agent loop: call, answer with the result, repeat until the model answers in text.
    /// Returns the number of requests it made.
    static func agentLoop(_ m: VirtualTimeMock, toolChoice: String = "", limit: Int = 20) throws -> Int {
        var messages = [#"{"role":"user","content":"Go"}"#]
        for n in 1...limit {
            let x = try json(send(m, body(#""tools":[\#(weatherTool)]\#(toolChoice)"#,
                                          messages: "[" + messages.joined(separator: ",") + "]")))
            guard x["stop_reason"] as? String == "tool_use" else { return n }
            let block = try #require((x["content"] as? [[String: Any]])?.first)
            let id = try #require(block["id"] as? String)
            let input = String(decoding: try JSONSerialization.data(withJSONObject: block["input"]!), as: UTF8.self)
            messages.append(#"{"role":"assistant","content":[{"type":"tool_use","id":"\#(id)","name":"get_weather","input":\#(input)}]}"#)
            messages.append(#"{"role":"user","content":[{"type":"tool_result","tool_use_id":"\#(id)","content":"ok"}]}"#)
        }
        return limit + 1
    }

    @Test func toolRoundsSetTheNumberOfRequestsAnAgentMakes() throws {
        #expect(try Self.agentLoop(Self.mock()) == 2) // default: one round
        #expect(try Self.agentLoop(Self.mock("  tool_use: {rounds: 3}")) == 4)
        #expect(try Self.agentLoop(Self.mock("  tool_use: {rounds: 0}")) == 1)
        // tool_choice none never calls; any must call even past the rounds.
        #expect(try Self.agentLoop(Self.mock(), toolChoice: #","tool_choice":{"type":"none"}"#) == 1)
        #expect(try Self.agentLoop(Self.mock("  tool_use: {rounds: 0}"), toolChoice: #","tool_choice":{"type":"any"}"#,
                                   limit: 5) == 6)
        #expect(try Self.agentLoop(Self.mock("  tool_use: {probability: 0}")) == 1)
        #expect(try Self.agentLoop(Self.mock("  tool_use: {probability: 1}"), limit: 5) == 6)
    }

    @Test func toolChoiceToolCallsTheNamedTool() throws {
        let m = try Self.mock()
        let other = #"{"name":"other","input_schema":{"type":"object","properties":{"q":{"type":"string"}},"required":["q"]}}"#
        let x = try Self.json(Self.send(m, Self.body(#""tools":[\#(Self.weatherTool),\#(other)],"tool_choice":{"type":"tool","name":"other"}"#)))
        let block = try #require((x["content"] as? [[String: Any]])?.first)
        #expect(block["name"] as? String == "other")
        #expect((block["input"] as? [String: Any])?["q"] as? String == "example")
        let e = try Self.error(Self.send(m, Self.body(#""tools":[\#(other)],"tool_choice":{"type":"tool","name":"nope"}"#)))
        #expect(e.status == 400 && e.type == "invalid_request_error")
    }

    @Test func badToolConfigIsAScenarioError() throws {
        #expect(throws: (any Error).self) { try Self.mock("  tool_use: {rounds: 1, probability: 0.5}") }
        #expect(throws: (any Error).self) { try Self.mock("  tool_use: {probability: 2}") }
        #expect(throws: (any Error).self) { try Self.mock("  tool_use: {rounds: -1}") }
    }

    // MARK: Extended thinking

    @Test func thinkingComesFirstWithASignature() throws {
        let m = try Self.mock()
        let thinking = #""thinking":{"type":"enabled","budget_tokens":1024}"#
        let x = try Self.json(Self.send(m, Self.body(maxTokens: 4096, thinking)))
        let content = try #require(x["content"] as? [[String: Any]])
        #expect(content.map { $0["type"] as? String } == ["thinking", "text"])
        let thought = try #require(content[0]["thinking"] as? String)
        #expect(!thought.isEmpty && !(content[0]["signature"] as? String ?? "").isEmpty)
        // Thinking counts in the output: 64 thinking tokens (the default length) and the answer's 64.
        #expect((x["usage"] as? [String: Any])?["output_tokens"] as? Int == thought.utf8.count / 4 + 64)
        #expect(x["stop_reason"] as? String == "end_turn")

        // Streamed: thinking_delta, then signature_delta, then the text block at index 1.
        let s = Self.events(Self.send(m, Self.body(maxTokens: 4096, #""stream":true,"# + thinking)))
        let starts = s.filter { $0.0 == "content_block_start" }.map { ($0.1["index"] as? Int, ($0.1["content_block"] as? [String: Any])?["type"] as? String) }
        #expect(starts.map(\.0) == [0, 1] && starts.map(\.1) == ["thinking", "text"])
        let deltas = s.filter { $0.0 == "content_block_delta" }.compactMap { ($0.1["index"] as? Int, ($0.1["delta"] as? [String: Any])?["type"] as? String) }
        let kinds = deltas.map { "\($0.0!):\($0.1!)" }
        let lastThinking = try #require(kinds.lastIndex(of: "0:thinking_delta"))
        #expect(kinds[lastThinking + 1] == "0:signature_delta")
        #expect(kinds.suffix(from: lastThinking + 2).allSatisfy { $0 == "1:text_delta" })
        let streamedThought = s.compactMap { ($0.1["delta"] as? [String: Any])?["thinking"] as? String }.joined()
        #expect(streamedThought == thought)
        #expect(s.filter { $0.0 == "content_block_stop" }.compactMap { $0.1["index"] as? Int } == [0, 1])

        // With a tool offered, the call follows the thinking block.
        let t = try Self.json(Self.send(m, Self.body(maxTokens: 4096, thinking + #","tools":[\#(Self.weatherTool)]"#)))
        #expect((t["content"] as? [[String: Any]])?.map { $0["type"] as? String } == ["thinking", "tool_use"])
        #expect(t["stop_reason"] as? String == "tool_use")
    }

    // MARK: Structured output

    @Test func structuredOutputIsSchemaValidJSON() throws {
        let m = try Self.mock()
        let schema = #"{"type":"object","properties":{"name":{"type":"string"},"age":{"type":"integer","minimum":18},"tags":{"type":"array","items":{"type":"string"}},"kind":{"type":"string","enum":["a","é"]}},"required":["name","age","tags","kind"],"additionalProperties":false}"#
        for field in [#""output_config":{"format":{"type":"json_schema","schema":\#(schema)}}"#,
                      #""output_format":{"type":"json_schema","schema":\#(schema)}"#] {
            let x = try Self.json(Self.send(m, Self.body(field)))
            #expect(x["stop_reason"] as? String == "end_turn")
            let text = try Self.textOf(x)
            let value = try #require(try JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any])
            #expect(value["name"] is String && (value["age"] as? Int ?? 0) >= 18 && value["tags"] is [Any])
            #expect(value["kind"] as? String == "a")
            #expect((x["usage"] as? [String: Any])?["output_tokens"] as? Int == (text.utf8.count + 3) / 4)
            let s = Self.events(Self.send(m, Self.body(#""stream":true,"# + field)))
            let streamed = s.compactMap { ($0.1["delta"] as? [String: Any])?["text"] as? String }.joined()
            #expect(streamed == text)
        }
    }

    static func textOf(_ x: [String: Any]) throws -> String {
        try #require(x["content"] as? [[String: Any]]).compactMap { $0["text"] as? String }.joined()
    }

    @Test func schemaInstancesFollowTheSchema() {
        func make(_ s: String) -> JSONValue { SchemaInstance.make(try! JSONParser.parse(s)) }
        #expect(make(#"{"type":"string","format":"date-time"}"#) == .string("2026-01-01T00:00:00Z"))
        #expect(make(#"{"type":"string","maxLength":3}"#) == .string("exa"))
        #expect(make(#"{"type":"integer","minimum":5,"maximum":9}"#) == .number(5))
        #expect(make(#"{"type":"number","maximum":-2}"#) == .number(-2))
        #expect(make(#"{"anyOf":[{"type":"null"},{"type":"string"}]}"#) == .null)
        #expect(make(#"{"const":"x"}"#) == .string("x"))
        #expect(make(#"{"type":"object","properties":{"a":{"type":"boolean"}}}"#) == .object([]))
        // A self-referencing schema ends (depth bound) instead of recursing forever.
        let deep = make(##"{"$ref":"#/$defs/n","$defs":{"n":{"type":"object","properties":{"next":{"$ref":"#/$defs/n"}},"required":["next"]}}}"##)
        #expect(String(decoding: deep.asciiJSON, as: UTF8.self).hasPrefix(#"{"next":{"next":"#))
    }
}
