import Foundation
import LimitlabMock
import Testing

/// 1,000 seeded random request bodies through the mock's handler (in virtual time): random JSON
/// shapes, valid bodies with one field made wrong, huge and odd numbers, deep nesting, bad
/// UTF-8, truncation, hostile schemas and stop sequences. None may get a 5xx or crash the
/// process; each must get a response.
@Suite struct FuzzTests {
    /// SplitMix64: the inputs are the same on every run.
    struct Rng {
        var state: UInt64
        mutating func next() -> UInt64 {
            state &+= 0x9e37_79b9_7f4a_7c15
            var z = state
            z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
            z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
            return z ^ (z >> 31)
        }
        mutating func int(_ n: Int) -> Int { Int(next() % UInt64(n)) }
        mutating func pick<T>(_ xs: [T]) -> T { xs[int(xs.count)] }
        mutating func chance(_ p: Double) -> Bool { Double(next() >> 11) / Double(1 << 53) < p }
    }

    static let keys = ["model", "max_tokens", "messages", "stream", "system", "tools", "tool_choice", "stop_sequences",
                       "temperature", "top_p", "top_k", "thinking", "output_config", "output_format", "metadata",
                       "cache_control", "role", "content", "type", "text", "name", "input_schema", "tool_use_id", "id",
                       "input", "budget_tokens", "schema", "format", "properties", "required", "items", "minItems",
                       "$ref", "enum", "anyOf", "ttl", "x", "", "\u{0}", "é", "🦊"]
    static let numbers = ["0", "-1", "1", "1.5", "1e308", "-1e308", "1e19", "9223372036854775807",
                          "9223372036854775808", "-9223372036854775809", "2147483648", "1e-320", "4.9e-324", "1024",
                          "64000", "1000000", "2000000000", "1E400", "-0", "0.0000001"]
    static let strings = ["claude-sonnet-4-5", "claude-haiku-4-5", "claude-sonnet-4-9", "user", "assistant", "text",
                          "tool_use", "tool_result", "image", "ephemeral", "1h", "5m", "auto", "any", "tool", "none",
                          "enabled", "json_schema", "object", "array", "string", "integer", "#", "#/$defs/a", "the",
                          " and", "", "\\ud800", "\\udc00x", "\\u0000", "a\\\"b", "\\\\"]

    static func value(_ r: inout Rng, depth: Int) -> String {
        let k = depth > 5 ? r.int(4) : r.int(7)
        switch k {
        case 0: return r.pick(numbers)
        case 1: return "\"" + r.pick(strings) + "\""
        case 2: return r.pick(["true", "false", "null"])
        case 3: return "\"" + String(repeating: r.pick(["a", " the", "é", "x"]), count: r.int(50)) + "\""
        case 4, 5:
            let n = r.int(5)
            return "{" + (0..<n).map { _ in "\"" + r.pick(keys) + "\":" + value(&r, depth: depth + 1) }
                .joined(separator: ",") + "}"
        default:
            let n = r.int(5)
            return "[" + (0..<n).map { _ in value(&r, depth: depth + 1) }.joined(separator: ",") + "]"
        }
    }

    static let tool = ##"{"name":"t","input_schema":{"type":"object","properties":{"a":{"type":"array","minItems":8,"items":{"$ref":"#"}}},"required":["a"]}}"##

    static func validBody(_ r: inout Rng) -> String {
        var fields = [#""model":"\#(r.pick(["claude-sonnet-4-5", "claude-haiku-4-5", "claude-3-5-haiku-latest"]))""#,
                      #""max_tokens":\#(r.pick(["1", "16", "256", "0", "64000"]))"#,
                      #""messages":[{"role":"user","content":"hi"}]"#]
        if r.chance(0.3) { fields.append(#""stream":true"#) }
        if r.chance(0.3) { fields.append(#""tools":[\#(tool)]"#) }
        if r.chance(0.3) { fields.append(#""stop_sequences":["\#(r.pick(strings))"," the","and"]"#) }
        if r.chance(0.2) { fields.append(#""output_config":{"format":{"type":"json_schema","schema":\#(value(&r, depth: 2))}}"#) }
        return "{" + fields.joined(separator: ",") + "}"
    }

    static func body(_ i: Int, _ r: inout Rng) -> [UInt8] {
        switch i % 8 {
        case 0: return Array(value(&r, depth: 0).utf8)
        case 1:
            // A valid body with one field replaced by a random value.
            var b = validBody(&r)
            let key = r.pick(["model", "max_tokens", "messages", "stream", "tools", "tool_choice", "stop_sequences",
                              "thinking", "temperature", "output_config", "system", "cache_control", "top_k"])
            b.removeLast()
            b += #","\#(key)":\#(value(&r, depth: 1))}"#
            return Array(b.utf8)
        case 2:
            // Deep nesting, past the parser's bound or just inside it.
            let n = r.pick([100, 255, 256, 257, 400, 5000])
            let inner = String(repeating: "[", count: n) + String(repeating: "]", count: n)
            return Array(#"{"model":"claude-sonnet-4-5","max_tokens":10,"messages":[{"role":"user","content":\#(inner)}]}"#.utf8)
        case 3:
            // Bad UTF-8 inside strings.
            var bytes = Array(validBody(&r).utf8)
            for _ in 0..<(1 + r.int(4)) {
                let at = r.int(bytes.count)
                bytes.insert(contentsOf: r.pick([[0xFF], [0xC0, 0x80], [0x80], [0xED, 0xA0, 0x80], [0xF4, 0x90, 0x80, 0x80], [0xE2, 0x82]]), at: at)
            }
            return bytes
        case 4:
            let b = Array(validBody(&r).utf8)
            return Array(b.prefix(r.int(b.count)))
        case 5:
            // Tools, tool choices and conversations with random shapes.
            let choice = r.pick([#"{"type":"any"}"#, #"{"type":"tool","name":"t"}"#, #"{"type":"none"}"#, value(&r, depth: 2)])
            let msgs = r.pick([
                #"[{"role":"user","content":"a"},{"role":"assistant","content":[{"type":"tool_use","id":"x","name":"t","input":{}}]},{"role":"user","content":[{"type":"tool_result","tool_use_id":"x"}]}]"#,
                #"[{"role":"user","content":[{"type":"tool_result","tool_use_id":\#(value(&r, depth: 3))}]}]"#,
                #"[{"role":"assistant","content":[{"type":"tool_use","id":\#(value(&r, depth: 3))}]}]"#,
                value(&r, depth: 1),
            ])
            let tools = r.pick([#"[\#(tool)]"#, "[" + value(&r, depth: 2) + "]", #"[{"type":"web_search_20250305","name":"web_search"}]"#])
            return Array(#"{"model":"claude-sonnet-4-5","max_tokens":\#(r.pick(numbers)),"tools":\#(tools),"tool_choice":\#(choice),"messages":\#(msgs)}"#.utf8)
        case 6:
            // Huge and odd numbers where integers are expected.
            let field = r.pick(["max_tokens", "temperature", "top_p", "top_k"])
            var b = #"{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"x"}],"thinking":{"type":"enabled","budget_tokens":\#(r.pick(numbers))}"#
            if field != "max_tokens" { b += #","max_tokens":\#(r.pick(numbers))"# }
            return Array((b + #","\#(field)":\#(r.pick(numbers))}"#).utf8)
        default:
            // Random bytes, or a valid body with random extras (stream, tools, stop sequences).
            if i % 16 == 7 { return Array(validBody(&r).utf8) }
            return (0..<r.int(200)).map { _ in UInt8(truncatingIfNeeded: r.next()) }
        }
    }

    @Test func thousandRandomBodiesNeverGetA5xx() throws {
        let yaml = """
            orgs:
              - id: org-test
                keys: [sk-test]
                limits: {rpm: 1000000, itpm: 1000000000, otpm: 1000000000}
            server:
              ttft: 0ms
              output_rate: 100000/s
              reject_latency: 0ms
            """
        let m = VirtualTimeMock(config: try MockConfig.parse(yaml: yaml, file: "fuzz.yaml"))
        var r = Rng(state: 20_261_206)
        var statuses: [Int: Int] = [:]
        for i in 0..<1000 {
            let bytes = Self.body(i, &r)
            var headers = [("x-api-key", "sk-test"), ("anthropic-version", "2023-06-01"), ("content-type", "application/json")]
            if r.chance(0.1) {
                headers.append(("x-limitlab-output-tokens", r.pick(["2000000000", "99999999999999999999", "-1", "1e9", "64", " 5 "])))
            }
            let uri = i % 5 == 4 ? "/v1/messages/count_tokens" : "/v1/messages"
            let k = m.send(at: m.now, uri: uri, headers: headers, body: bytes)
            m.advance(to: m.now + 3600)
            let x = m.exchange(k)
            let status = try #require(x.status, "body \(i) got no response: \(String(decoding: bytes.prefix(300), as: UTF8.self))")
            #expect(status < 500, "body \(i) → \(status): \(String(decoding: bytes.prefix(300), as: UTF8.self))")
            #expect(x.endAt != nil, "body \(i): the response did not end")
            statuses[status, default: 0] += 1
        }
        // The inputs reach both sides: some are served, most are refused as invalid.
        #expect(statuses[200, default: 0] >= 50, "\(statuses)")
        #expect(statuses[400, default: 0] >= 300, "\(statuses)")
    }
}
