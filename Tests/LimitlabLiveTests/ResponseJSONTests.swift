import Foundation
import LimitlabCore
@testable import LimitlabLive
import LimitlabSim
import LimitlabTestSupport
import Testing

/// The JSON reader behind response parsing: fields only at their real place, escapes decoded,
/// invalid JSON refused (recorded as `invalid_response`).
@Suite struct ResponseJSONTests {
    static func parse(_ text: String) -> MessageFields? {
        Array(text.utf8).withUnsafeBytes { MessageJSON.parse($0) }
    }

    static func body(_ text: String, status: Int = 200) -> ResponseState {
        var r = ParsingTests.feed(text, cuts: text.utf8.count > 7 ? [7] : [], eventStream: false, status: status)
        r.parseBody()
        return r
    }

    @Test(arguments: [
        "{}", "[]", "0", "-0.5e+3", "\"x\"", "true", "null", " { \"a\" : [1, 2.5, {\"b\": null}] } \n",
        #"{"s":"\u00e9\ud83d\ude00\n\"\\\/"}"#, #"{"lone":"\ud800"}"#, "[[[[[[[[[[]]]]]]]]]]",
    ])
    func validJSONParses(text: String) {
        #expect(Self.parse(text) != nil, "\(text)")
    }

    @Test(arguments: [
        "", " ", "{not json", "{", "}", "{\"a\":1,}", "[1,]", "{\"a\" 1}", "{'a':1}", "01", "1.", ".5", "-",
        "1e", "+1", "\"unterminated", "\"tab\there\"", #""\x""#, #""\u12G4""#, "{\"a\":1} x", "{}{}",
        "tru", "nul", "[1 2]", "{\"a\":1 \"b\":2}", "NaN", "{\"a\":[}",
    ])
    func invalidJSONIsRefused(text: String) {
        #expect(Self.parse(text) == nil, "\(text)")
    }

    @Test func nestingBeyondTheLimitIsRefusedNotCrashed() {
        let ok = String(repeating: "[", count: MessageJSON.maxDepth) + String(repeating: "]", count: MessageJSON.maxDepth)
        #expect(Self.parse(ok) != nil)
        let deep = String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000)
        #expect(Self.parse(deep) == nil)
        let deepObjects = String(repeating: "{\"a\":", count: 100_000) + "1" + String(repeating: "}", count: 100_000)
        #expect(Self.parse(deepObjects) == nil)
    }

    /// A key named `usage` in content text, in a tool's input, or one level too deep is not the
    /// usage; the top-level one is, wherever it sits among the keys.
    @Test func usageIsReadOnlyAtItsPlace() {
        let text = #"""
            {"usage":{"input_tokens":12,"cache_creation_input_tokens":5,"cache_read_input_tokens":0,"output_tokens":3},
             "id":"msg_1","type":"message","role":"assistant",
             "content":[{"type":"text","text":"say \"usage\": {\"input_tokens\": 99, \"output_tokens\": 98}"},
                        {"type":"tool_use","id":"t","name":"f","input":{"usage":{"input_tokens":77,"output_tokens":76},
                         "stop_reason":"tool_said"}}],
             "stop_reason":"end_turn","meta":{"usage":{"output_tokens":55}}}
            """#
        let r = Self.body(text)
        #expect(r.invalid == nil)
        #expect(r.usage == ReportedUsage(input: 12, cacheCreation: 5, cacheRead: 0, output: 3))
        #expect(r.stopReason == "end_turn")
        // The byte scan this replaces took the last `"usage"` key in the body: the nested one.
        let last = #"{"content":[{"type":"text","text":"x"}],"usage":{"input_tokens":1,"output_tokens":2},"#
            + #""tail":{"usage":{"input_tokens":900,"output_tokens":901}}}"#
        #expect(Self.body(last).usage == ReportedUsage(input: 1, cacheCreation: -1, cacheRead: -1, output: 2))
    }

    @Test func usageAtTheWrongDepthIsNotReported() {
        let r = Self.body(#"{"type":"message","content":[],"metadata":{"usage":{"input_tokens":40,"output_tokens":41}}}"#)
        #expect(r.invalid == nil)
        #expect(r.usage == ReportedUsage())
        // Not an object, null, negative, fractional: not reported.
        let odd = Self.body(#"{"usage":{"input_tokens":null,"output_tokens":-4,"cache_read_input_tokens":2.5,"cache_creation_input_tokens":"7"}}"#)
        #expect(odd.invalid == nil && odd.usage == ReportedUsage())
        #expect(Self.body(#"{"usage":[1,2]}"#).usage == ReportedUsage())
        // Absurd counts saturate rather than overflow.
        #expect(Self.body(#"{"usage":{"output_tokens":99999999999999999999999}}"#).usage.output == Int(Int32.max))
    }

    /// Escapes are decoded: in keys, in the error type, in the stop reason.
    @Test func escapedStringsAreDecoded() {
        let e = Self.body(#"{"type":"error","error":{"type":"rate\u005flimit_error","message":"of 50 requests per minute \"x\""}}"#,
                          status: 429).errorBody()
        #expect(e.type == "rate_limit_error")
        #expect(e.message == #"of 50 requests per minute "x""#)
        let r = Self.body(#"{"us\u0061ge":{"output_t\u006fkens":9},"stop\u005freason":"max\u005ftokens"}"#)
        #expect(r.usage.output == 9 && r.stopReason == "max_tokens")
        // A quote escaped inside a key does not end it.
        #expect(Self.body(#"{"x\"usage":{"output_tokens":8}}"#).usage.output == -1)
        #expect(Self.parse(#"{"s":"\ud83d\ude00 \ud800 \u00e9"}"#) != nil)
        let text = Array(#""\ud83d\ude00 \ud800 \u00e9""#.utf8)
        let decoded = text.withUnsafeBytes { b -> String? in
            var reader = JSONReader(b)
            return reader.stringRange().map { reader.decode($0) }
        }
        #expect(decoded == "\u{1F600} \u{FFFD} é")
    }

    @Test func invalidBodiesAreMarked() {
        #expect(Self.body("{not json").invalid == "body is not JSON")
        #expect(Self.body("").invalid == "empty body")
        #expect(Self.body(#"{"usage":{"output_tokens":3}} trailing"#).invalid == "body is not JSON")
        // Error statuses are failures already: an unparseable error body just has no type.
        let e = Self.body("<html>bad gateway</html>", status: 502)
        #expect(e.invalid == nil && e.errorBody().type == nil)
        // A body over the cap cannot be parsed.
        var big = ResponseState()
        big.status = 200
        let chunk = [UInt8](repeating: 0x20, count: 1 << 20)
        for _ in 0...(ResponseState.bodyCap >> 20) { chunk.withUnsafeBytes { big.body($0, at: 1) } }
        big.parseBody()
        #expect(big.body.count == ResponseState.bodyCap)
        #expect(big.invalid?.hasPrefix("body longer than") == true)
    }

    /// Stream events: usage only from `message.usage` (message_start) and the top-level `usage`
    /// of message_delta; the stop reason from `delta`; invalid data in an event that carries
    /// fields marks the response invalid.
    @Test func streamEventsReadFieldsAtTheirPlace() {
        let stream = """
            event: message_start
            data: {"type":"message_start","message":{"content":[{"type":"text","text":"\\"usage\\": {\\"input_tokens\\": 5}"}],"usage":{"input_tokens":25,"output_tokens":1},"meta":{"usage":{"input_tokens":26}}}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":0,"delta":{"type":"input_json_delta","partial_json":"{\\"usage\\": {\\"output_tokens\\": 7"}}

            event: message_delta
            data: {"type":"message_delta","delta":{"stop_reason":"tool_use","usage":{"output_tokens":999}},"usage":{"output_tokens":15}}

            event: message_stop
            data: {"type":"message_stop"}


            """
        let r = ParsingTests.feed(stream, cuts: [40, 200])
        #expect(r.invalid == nil)
        #expect(r.usage == ReportedUsage(input: 25, cacheCreation: -1, cacheRead: -1, output: 15))
        #expect(r.stopReason == "tool_use")
        #expect(r.sawMessageStop)
    }

    @Test(arguments: [
        ("event: message_delta\ndata: {\"usage\":{\"output_tokens\":3}\n\n", "message_delta data is not JSON"),
        ("event: message_start\ndata: {not json\n\n", "message_start data is not JSON"),
        ("event: error\ndata: {\"error\":{\"type\":\"overloaded_error\"}}}\n\n", "error data is not JSON"),
        ("event: message_stop\ndata: stop\n\n", "message_stop data is not JSON"),
        ("data: {not json\n\n", "unnamed event data is not JSON"),
    ])
    func invalidEventDataIsMarked(text: String, why: String) {
        let r = ParsingTests.feed(text, cuts: [3])
        #expect(r.invalid == why)
    }

    @Test func unnamedEventsAreNamedByTheirType() {
        let r = ParsingTests.feed("data: {\"type\":\"message_stop\"}\n\n", cuts: [])
        #expect(r.sawMessageStop && r.invalid == nil)
        let d = ParsingTests.feed("data: {\"type\":\"message_delta\",\"x\":{\"type\":\"message_stop\"},\"usage\":{\"output_tokens\":4}}\n\n", cuts: [])
        #expect(!d.sawMessageStop && d.usage.output == 4)
    }
}

extension Live {
    /// A 200 whose body or stream is not JSON is a failure with cause `invalid_response`, never a
    /// success, and its "usage" is not billed at face value.
    @Suite struct InvalidResponseTests {
        @Test(arguments: [
            ("application/json", "{not json", "invalid_response: body is not JSON"),
            ("application/json", #"{"usage":{"input_tokens":1000000000000000,"output_tokens":1000000000000000}"#,
             "invalid_response: body is not JSON"),
            ("text/event-stream",
             "event: message_start\ndata: {\"type\":\"message_start\",\"message\":{\"usage\":{\"input_tokens\":10}}}\n\nevent: message_delta\ndata: {\"usage\":{\"output_tokens\":99999999999}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n",
             "invalid_response: message_delta data is not JSON"),
        ])
        func invalidTwoHundredIsAFailure(contentType: String, body: String, cause: String) throws {
            let server = try RecordingServer { _, _ in
                var text = "HTTP/1.1 200 OK\r\ncontent-type: \(contentType)\r\ncontent-length: \(body.utf8.count)\r\n\r\n"
                text += body
                return Array(text.utf8)
            }
            defer { server.stop() }
            let scenario = makeScenario(.live, arrivals: [ArrivalSpec(.constant(rate: 4))], length: .duration(1),
                                        strategies: [StrategySpec(name: "none")])
            let result = try LiveRunner(scenario: scenario, target: LiveTarget(baseURL: "http://127.0.0.1:\(server.port)"),
                                        options: LiveOptions(connectTimeout: 2, requestTimeout: 5)).run()
            let run = try #require(result.runs.first)
            #expect(run.attempts.count > 0)
            #expect(run.errorCauses == [cause: run.attempts.count], "\(run.errorCauses)")
            for a in 0..<run.attempts.count {
                #expect(run.log.status[a] == 200)
                #expect(run.log.errorKind[a] == ErrorKind.serverError.rawValue)
                #expect(run.attempts.outputTokens[a] == -1 && run.attempts.inputTokens[a] == -1)
            }
            // Billed at the request's worst case, not at the body's claims (1e15 tokens).
            #expect(run.costUSD < 1, "\(run.costUSD)")
        }
    }
}
