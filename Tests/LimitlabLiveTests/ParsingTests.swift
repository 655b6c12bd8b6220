import Foundation
import LimitlabCore
@testable import LimitlabLive
import Testing

/// The response parsers and the request body builder, without a server.
@Suite struct ParsingTests {
    static let stream = """
        event: message_start\r
        data: {"type": "message_start", "message": {"id": "msg_1", "usage": {"input_tokens": 25, "cache_creation_input_tokens": 7, "cache_read_input_tokens": 1024, "output_tokens": 1}}}\r
        \r
        event: content_block_start
        data: {"type":"content_block_start","index":0,"content_block":{"type":"text","text":""}}

        : a comment line
        event: ping
        data: {"type": "ping"}

        event: content_block_delta
        data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hello"}}

        event: content_block_delta
        data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":" world"}}

        event: message_delta
        data: {"type": "message_delta", "delta": {"stop_reason": "end_turn"}, "usage": {"output_tokens": 15}}

        event: message_stop
        data: {"type": "message_stop"}


        """

    /// Feeds `text` to a response in chunks cut at `cuts`; chunk k is timestamped k + 1.
    static func feed(_ text: String, cuts: [Int], eventStream: Bool = true, status: Int = 200) -> ResponseState {
        var r = ResponseState()
        r.status = status
        r.isEventStream = eventStream
        let bytes = Array(text.utf8)
        var start = 0
        for (k, end) in (cuts + [bytes.count]).enumerated() where end > start {
            bytes[start..<end].withUnsafeBytes { r.body($0, at: UInt64(k + 1)) }
            start = end
        }
        return r
    }

    /// Whatever the chunking, the parser finds the usage, the stop and the first delta; the
    /// first token is stamped with the chunk that completed the first delta's blank line.
    @Test func sseParsesAcrossEveryChunkBoundary() {
        let bytes = Array(Self.stream.utf8)
        // Index just past the blank line that ends the first delta (its dispatch point).
        let end = Self.stream.range(of: "\"text\":\"Hello\"}}\n\n")!.upperBound
        let firstDeltaEnd = Self.stream.utf8.distance(from: Self.stream.startIndex, to: end)
        for cut in 1..<bytes.count {
            let r = Self.feed(Self.stream, cuts: [cut])
            #expect(r.usage == ReportedUsage(input: 25, cacheCreation: 7, cacheRead: 1024, output: 15), "cut \(cut)")
            #expect(r.sawMessageStop)
            #expect(r.streamError == nil)
            #expect(r.firstTokenNanos == (cut >= firstDeltaEnd ? 1 : 2), "cut \(cut)")
        }
        // One byte at a time.
        let r = Self.feed(Self.stream, cuts: Array(1..<bytes.count))
        #expect(r.firstTokenNanos == UInt64(firstDeltaEnd))
        #expect(r.usage.output == 15 && r.sawMessageStop)
    }

    @Test func sseErrorEventIsParsed() {
        let text = """
            event: message_start
            data: {"type":"message_start","message":{"usage":{"input_tokens":10,"output_tokens":1}}}

            event: content_block_delta
            data: {"type":"content_block_delta","index":0,"delta":{"type":"text_delta","text":"Hi"}}

            event: error
            data: {"type": "error", "error": {"details": null, "type": "overloaded_error", "message": "Overloaded"}}


            """
        let r = Self.feed(text, cuts: [40, 41, 200])
        #expect(r.streamError == "overloaded_error")
        #expect(!r.sawMessageStop)
        #expect(r.firstTokenNanos != 0)
        #expect(r.usage.input == 10 && r.usage.output == -1)
    }

    /// Headers: status, retry-after (seconds or HTTP-date), x-should-retry, request-id and the
    /// rate-limit set, with resets turned into model time.
    @Test func headersBecomeAnOutcomeSnapshot() throws {
        var r = ResponseState()
        func line(_ s: String) { Array((s + "\r\n").utf8).withUnsafeBytes { r.header(line: $0, at: 5) } }
        line("HTTP/1.1 429 Too Many Requests")
        line("Retry-After: 7")
        line("X-Should-Retry: true")
        line("request-id: req_011CABC")
        line("anthropic-ratelimit-requests-limit: 50")
        line("anthropic-ratelimit-requests-remaining: 0")
        line("anthropic-ratelimit-requests-reset: 2026-04-25T23:34:23Z")
        line("anthropic-ratelimit-input-tokens-limit: 30000")
        line("anthropic-ratelimit-input-tokens-remaining: 12000")
        line("anthropic-ratelimit-input-tokens-reset: 2026-04-25T23:34:53Z")
        line("anthropic-ratelimit-tokens-limit: 38000")
        line("")
        #expect(r.status == 429)
        #expect(r.retryAfter == 7)
        #expect(r.shouldRetry == true)
        #expect(r.requestId == "req_011CABC")
        #expect(r.firstByteNanos == 5)
        let epoch = try #require(RFC3339.unixSeconds("2026-04-25T23:34:00Z"))
        let snap = try #require(r.rateLimits.snapshot(epoch: epoch, now: 10))
        #expect(snap.requests == RateLimitReading(limit: 50, remaining: 0, resetAt: 23))
        #expect(snap.inputTokens == RateLimitReading(limit: 30000, remaining: 12000, resetAt: 53))
        // The response left the output group out: limit 0 marks it unknown.
        #expect(snap.outputTokens.limit == 0)

        // A new status line (e.g. after 100 Continue) starts the header set over.
        line("HTTP/1.1 200 OK")
        #expect(r.status == 200 && r.retryAfter == nil && r.rateLimits.snapshot(epoch: 0, now: 0) == nil)

        line("retry-after: Wed, 21 Oct 2099 07:28:00 GMT")
        #expect((r.retryAfter ?? 0) > 365 * 86_400)
    }

    /// Header names match in any case; values that are not plain integers still parse
    /// (through Double's parser), and an unknown group or suffix is ignored.
    @Test func headerNamesAnyCaseAndNumberForms() throws {
        var r = ResponseState()
        func line(_ s: String) { Array((s + "\r\n").utf8).withUnsafeBytes { r.header(line: $0, at: 5) } }
        line("HTTP/2 200")
        line("Content-Type: Text/Event-Stream; charset=utf-8")
        line("ANTHROPIC-RATELIMIT-OUTPUT-TOKENS-LIMIT: 8000")
        line("Anthropic-RateLimit-Output-Tokens-Remaining: 7.5e3")
        line("anthropic-ratelimit-output-tokens-reset: 2026-04-25T23:34:10Z")
        line("anthropic-ratelimit-priority-input-tokens-limit: 1")
        line("anthropic-ratelimit-requests-bogus: 3")
        line("Retry-After-Ms: 1500.25")
        line("x-should-retry: FALSE")
        line("retry-after: soon")
        #expect(r.status == 200 && r.isEventStream)
        #expect(r.retryAfterMs == 1500.25)
        #expect(r.retryAfter == nil)
        #expect(r.shouldRetry == false)
        let epoch = try #require(RFC3339.unixSeconds("2026-04-25T23:34:00Z"))
        let snap = try #require(r.rateLimits.snapshot(epoch: epoch, now: 0))
        #expect(snap.outputTokens == RateLimitReading(limit: 8000, remaining: 7500, resetAt: 10))
        #expect(snap.requests.limit == 0 && snap.inputTokens.limit == 0)
    }

    /// Absurd header values from a misbehaving server saturate or are ignored; none traps.
    @Test func absurdHeaderValuesDoNotTrap() throws {
        var r = ResponseState()
        func line(_ s: String) { Array((s + "\r\n").utf8).withUnsafeBytes { r.header(line: $0, at: 5) } }
        line("HTTP/1.1 429 Too Many Requests")
        line("retry-after: 99999999999999999999")
        #expect(r.retryAfter == ResponseState.maxRetryAfterS)
        line("retry-after-ms: 1e300")
        #expect(r.retryAfterMs == ResponseState.maxRetryAfterS * 1000)
        line("retry-after: -5")
        #expect(r.retryAfter == nil)
        line("retry-after: nan")
        #expect(r.retryAfter == nil)
        line("retry-after: Sun, 06 Nov 99999999999999999 08:49:37 GMT")
        line("retry-after: Sun, 99999999999999999 Nov 1994 99999999999999999:49:37 GMT")
        #expect(r.retryAfter == nil)
        line("HTTP/1.1 200 OK")
        line("anthropic-ratelimit-output-tokens-limit: 99999999999999999999999")
        line("anthropic-ratelimit-output-tokens-remaining: 1e400")
        line("anthropic-ratelimit-requests-limit: 50")
        let snap = try #require(r.rateLimits.snapshot(epoch: 0, now: 0))
        #expect(snap.outputTokens.limit == 0 && snap.outputTokens.remaining == 0)
        #expect(snap.requests.limit == 50)
    }

    @Test func datesParse() {
        #expect(RFC3339.unixSeconds("1970-01-01T00:00:00Z") == 0)
        #expect(RFC3339.unixSeconds("2024-03-26T20:00:00Z") == 1_711_483_200)
        #expect(RFC3339.unixSeconds("2024-03-26T21:00:00.5+01:00") == 1_711_483_200.5)
        #expect(RFC3339.unixSeconds("2024-03-26 20:00") == nil)
        #expect(RFC3339.unixSeconds("2024-13-26T20:00:00Z") == nil)
        // Round trip with the formatter the mock uses.
        #expect(RFC3339.unixSeconds(RFC3339.format(unixSeconds: 1_800_000_000)) == 1_800_000_000)
        #expect(HTTPDate.parse("Sun, 06 Nov 1994 08:49:37 GMT") == 784_111_777)
        #expect(HTTPDate.parse("6 Nov 1994") == nil)
    }

    @Test func nonStreamingAndErrorBodies() {
        let ok = #"{"id":"msg_1","content":[{"type":"text","text":"say \"input_tokens\": 99"}],"usage":{"input_tokens":12,"cache_creation_input_tokens":0,"cache_read_input_tokens":0,"output_tokens":3}}"#
        var r = Self.feed(ok, cuts: [10], eventStream: false)
        r.parseBody()
        #expect(r.usage == ReportedUsage(input: 12, cacheCreation: 0, cacheRead: 0, output: 3))

        let limited = #"{"type":"error","error":{"type":"rate_limit_error","message":"This request would exceed your organization's rate limit of 50 requests per minute (org: x)."},"request_id":"req_1"}"#
        let e = Self.feed(limited, cuts: [], eventStream: false, status: 429).errorBody()
        #expect(e.type == "rate_limit_error")
        #expect(LiveDriver.refusedDimensions(message: e.message) == .requests)
        #expect(LiveDriver.refusedDimensions(message: "… of 30,000 input tokens per minute …") == .inputTokens)
        #expect(LiveDriver.kind(errorType: "overloaded_error", status: 500) == .overloaded)
        #expect(LiveDriver.kind(errorType: nil, status: 529) == .overloaded)
        #expect(LiveDriver.kind(errorType: nil, status: 404) == .clientError)
    }

    /// The builder's prompts count as the workload's tokens under the mock's rule
    /// (ceil(bytes/4) per text, 4 per message, 3 per request), and the cache breakpoint covers
    /// exactly the prefix.
    @Test func requestBodiesHaveTheWorkloadsTokenCounts() throws {
        let b = RequestBodyBuilder(model: "claude-sonnet-4-5", stream: true, longCacheTTL: false, nonce: 42)
        var out: [UInt8] = []
        for (input, prefix) in [(10, 0), (1, 0), (2000, 1600), (5000, 1024), (1100, 1024)] {
            b.write(input: input, prefix: prefix, prefixId: 3, maxTokens: 256, into: &out)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(out)) as? [String: Any])
            #expect(json["model"] as? String == "claude-sonnet-4-5")
            #expect(json["max_tokens"] as? Int == 256)
            #expect(json["stream"] as? Bool == true)
            let message = try #require((json["messages"] as? [[String: Any]])?.first)
            var tokens = 3 + 4
            var breakpoint: Int?
            if let text = message["content"] as? String {
                tokens += (text.utf8.count + 3) / 4
            } else {
                for block in try #require(message["content"] as? [[String: Any]]) {
                    tokens += ((block["text"] as? String ?? "").utf8.count + 3) / 4
                    if block["cache_control"] != nil { breakpoint = tokens - 3 }
                }
            }
            #expect(tokens == max(input, 8), "input \(input) prefix \(prefix)")
            #expect(tokens == RequestBodyBuilder.countedTokens(input: input, prefix: prefix))
            #expect(breakpoint == (prefix > 0 ? prefix : nil))
        }
        // Prefixes differ by id and by run nonce, and are stable otherwise.
        func prefixText(_ nonce: Int, _ id: Int) throws -> String {
            var o: [UInt8] = []
            RequestBodyBuilder(model: "m", stream: false, longCacheTTL: true, nonce: nonce)
                .write(input: 2000, prefix: 1500, prefixId: id, maxTokens: 1, into: &o)
            let json = try #require(try JSONSerialization.jsonObject(with: Data(o)) as? [String: Any])
            let blocks = try #require((json["messages"] as? [[String: Any]])?.first?["content"] as? [[String: Any]])
            #expect((blocks[0]["cache_control"] as? [String: String])?["ttl"] == "1h")
            return try #require(blocks[0]["text"] as? String)
        }
        #expect(try prefixText(1, 1) == prefixText(1, 1))
        #expect(try prefixText(1, 1) != prefixText(1, 2))
        #expect(try prefixText(1, 1) != prefixText(2, 1))
    }
}
