import LimitlabCore
import LimitlabServer
import NIOCore

// Response bodies in the real API's shapes, written by concatenation into a ByteBuffer: no
// encoder and no intermediate dictionaries on the request path. Shapes: error bodies from
// https://platform.claude.com/docs/en/api/errors (2026-09), messages from anthropic-sdk-python
// 0.121.0 `types/message.py` and `types/usage.py`, SSE events from
// https://platform.claude.com/docs/en/build-with-claude/streaming (2026).

enum Bodies {
    /// `{"type":"error","error":{…},"request_id":"req_…"}`.
    static func error(type: String, message: String, requestId: String, errorCode: String? = nil) -> String {
        var s = #"{"type":"error","error":{"type":"# + JSONText.quoted(type) + #","message":"# + JSONText.quoted(message)
        if let code = errorCode { s += #","details":{"error_code":"# + JSONText.quoted(code) + "}" }
        return s + #"},"request_id":"# + JSONText.quoted(requestId) + "}"
    }

    /// The 529 body, as the API sends it (`details: null` included).
    static func overloaded(requestId: String) -> String {
        #"{"type":"error","error":{"details":null,"type":"overloaded_error","message":"Overloaded"},"request_id":"\#(requestId)"}"#
    }

    /// The usage object, written piece by piece: building it as one interpolated String cost
    /// ~7 % of a non-streaming reply's instructions.
    static func usage(into b: inout ByteBuffer, _ u: TokenUsage, outputTokens: Int, serviceTier: Bool) {
        b.writeStaticString(#"{"input_tokens":"#)
        b.writeString(String(u.input))
        b.writeStaticString(#","cache_creation_input_tokens":"#)
        b.writeString(String(u.cacheCreation))
        b.writeStaticString(#","cache_read_input_tokens":"#)
        b.writeString(String(u.cacheRead))
        b.writeStaticString(",")
        if serviceTier {
            b.writeStaticString(#""cache_creation":{"ephemeral_5m_input_tokens":"#)
            b.writeString(String(u.cacheCreation5m))
            b.writeStaticString(#","ephemeral_1h_input_tokens":"#)
            b.writeString(String(u.cacheCreation1h))
            b.writeStaticString("},")
        }
        b.writeStaticString(#""output_tokens":"#)
        b.writeString(String(outputTokens))
        if serviceTier { b.writeStaticString(#","service_tier":"standard""#) }
        b.writeStaticString("}")
    }

    /// The non-streaming Message.
    static func message(into buffer: inout ByteBuffer, id: String, model: String, usage u: TokenUsage, stopReason: String,
                        content: ReplyContent = ReplyContent()) {
        buffer.writeStaticString(#"{"id":""#)
        buffer.writeString(id)
        buffer.writeStaticString(#"","type":"message","role":"assistant","model":"#)
        buffer.writeString(JSONText.quoted(model))
        buffer.writeStaticString(#","content":["#)
        let t = content.thinkingTokens
        if t > 0 {
            buffer.writeStaticString(#"{"type":"thinking","thinking":""#)
            GeneratedText.write(tokens: 0..<Swift.min(t, u.output), into: &buffer)
            buffer.writeStaticString(#"","signature":""#)
            buffer.writeStaticString(ReplyContent.signature)
            buffer.writeStaticString(#""}"#)
        }
        let answer = Swift.max(0, u.output - t)
        if case .tool(let toolId, let name, let input) = content.kind {
            if t > 0 { buffer.writeStaticString(",") }
            buffer.writeString(#"{"type":"tool_use","id":"# + JSONText.quoted(toolId) + #","name":"# + JSONText.quoted(name)
                               + #","input":"#)
            buffer.writeBytes(input)
            buffer.writeStaticString("}")
        } else if answer > 0 {
            if t > 0 { buffer.writeStaticString(",") }
            buffer.writeString(#"{"type":"text","text":""#)
            content.write(tokens: 0..<answer, into: &buffer)
            buffer.writeString(#""}"#)
        }
        buffer.writeStaticString(#"],"stop_reason":""#)
        buffer.writeString(stopReason)
        buffer.writeStaticString(#"","stop_sequence":"#)
        buffer.writeString(content.stopSequence.map(JSONText.quoted) ?? "null")
        buffer.writeStaticString(#","usage":"#)
        usage(into: &buffer, u, outputTokens: u.output, serviceTier: true)
        buffer.writeStaticString("}")
    }

    static func countTokens(_ n: Int) -> String { #"{"input_tokens":\#(n)}"# }

    // MARK: Server-sent events

    /// message_start, content_block_start and ping: what a stream opens with.
    static func streamPreamble(into b: inout ByteBuffer, id: String, model: String, usage u: TokenUsage,
                               content: ReplyContent = ReplyContent()) {
        b.writeString("event: message_start\ndata: " + #"{"type":"message_start","message":{"id":"\#(id)","type":"message","#
                      + #""role":"assistant","model":"# + JSONText.quoted(model)
                      + #","content":[],"stop_reason":null,"stop_sequence":null,"usage":"#)
        usage(into: &b, u, outputTokens: u.output > 0 ? 1 : 0, serviceTier: true)
        b.writeStaticString("}}\n\n")
        if content.thinkingTokens > 0 {
            b.writeString("event: content_block_start\ndata: "
                          + #"{"type":"content_block_start","index":0,"content_block":{"type":"thinking","thinking":"","signature":""}}"#
                          + "\n\n")
        } else {
            answerStart(into: &b, content: content)
        }
        b.writeString("event: ping\ndata: " + #"{"type": "ping"}"# + "\n\n")
    }

    /// One content_block_delta carrying output tokens `range`.
    static func delta(into b: inout ByteBuffer, tokens range: Range<Int>, content: ReplyContent = ReplyContent()) {
        let t = content.thinkingTokens
        if range.lowerBound < t {
            let end = Swift.min(range.upperBound, t)
            b.writeStaticString("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"thinking_delta\",\"thinking\":\"")
            GeneratedText.write(tokens: range.lowerBound..<end, into: &b)
            b.writeStaticString("\"}}\n\n")
            if end == t {
                thinkingEnd(into: &b)
                answerStart(into: &b, content: content)
            }
        }
        let lo = Swift.max(range.lowerBound, t)
        guard lo < range.upperBound else { return }
        // Static prefixes: this runs for every write of every stream.
        switch (content.kind, t > 0) {
        case (.tool, false):
            b.writeStaticString("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"")
        case (.tool, true):
            b.writeStaticString("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"input_json_delta\",\"partial_json\":\"")
        case (_, false):
            b.writeStaticString("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":0,\"delta\":{\"type\":\"text_delta\",\"text\":\"")
        case (_, true):
            b.writeStaticString("event: content_block_delta\ndata: {\"type\":\"content_block_delta\",\"index\":1,\"delta\":{\"type\":\"text_delta\",\"text\":\"")
        }
        content.write(tokens: (lo - t)..<(range.upperBound - t), into: &b)
        b.writeStaticString("\"}}\n\n")
    }

    /// The thinking block's signature_delta and content_block_stop.
    private static func thinkingEnd(into b: inout ByteBuffer) {
        b.writeString("event: content_block_delta\ndata: " + #"{"type":"content_block_delta","index":0,"delta":{"type":"signature_delta","signature":""#
                      + ReplyContent.signature.description + #""}}"# + "\n\n")
        b.writeString("event: content_block_stop\ndata: " + #"{"type":"content_block_stop","index":0}"# + "\n\n")
    }

    /// content_block_start of the answer: a text block, or the tool call with empty input.
    private static func answerStart(into b: inout ByteBuffer, content: ReplyContent) {
        let index = content.thinkingTokens > 0 ? "1" : "0"
        if case .tool(let toolId, let name, _) = content.kind {
            b.writeString("event: content_block_start\ndata: "
                          + #"{"type":"content_block_start","index":"# + index + #","content_block":{"type":"tool_use","id":"#
                          + JSONText.quoted(toolId) + #","name":"# + JSONText.quoted(name) + #","input":{}}}"# + "\n\n")
        } else {
            b.writeString("event: content_block_start\ndata: "
                          + #"{"type":"content_block_start","index":"# + index + #","content_block":{"type":"text","text":""}}"#
                          + "\n\n")
        }
    }

    /// content_block_stop, message_delta (cumulative usage) and message_stop.
    static func streamEnd(into b: inout ByteBuffer, usage u: TokenUsage, stopReason: String,
                          content: ReplyContent = ReplyContent()) {
        let stopSequence = content.stopSequence
        if content.thinkingTokens > 0 && u.output <= content.thinkingTokens {
            // Cut inside the thinking block (max_tokens): it still ends with its signature.
            if u.output < content.thinkingTokens { thinkingEnd(into: &b) }
            else { b.writeString("event: content_block_stop\ndata: " + #"{"type":"content_block_stop","index":1}"# + "\n\n") }
        } else {
            b.writeString("event: content_block_stop\ndata: " + #"{"type":"content_block_stop","index":"#
                          + (content.thinkingTokens > 0 ? "1" : "0") + "}\n\n")
        }
        b.writeString("event: message_delta\ndata: " + #"{"type":"message_delta","delta":{"stop_reason":"\#(stopReason)","#
                      + #""stop_sequence":"# + (stopSequence.map(JSONText.quoted) ?? "null") + #"},"usage":"#)
        usage(into: &b, u, outputTokens: u.output, serviceTier: false)
        b.writeStaticString("}\n\n")
        b.writeString("event: message_stop\ndata: " + #"{"type":"message_stop"}"# + "\n\n")
    }

    /// The in-stream error event: an overload after the 200, documented in the streaming page
    /// above; `"details":null` as seen on real overload bodies (e.g. mito-ds/mito#1842).
    static func streamError(into b: inout ByteBuffer, requestId: String) {
        b.writeString("event: error\ndata: " + #"{"type":"error","error":{"details":null,"type":"overloaded_error","#
                      + #""message":"Overloaded"},"request_id":"\#(requestId)"}"# + "\n\n")
    }

    // MARK: Messages for 429s

    /// The refusal text, naming the first refusing limit as the real API does (2026 wording as
    /// reported in https://github.com/continuedev/continue/issues/11665).
    static func rateLimitMessage(org: String, model: String, refusedBy: LimitDimensions, config: LimitConfig) -> String {
        let what: String
        if refusedBy.contains(.requests) {
            what = "\(grouped(config.rpm)) requests per minute"
        } else if refusedBy.contains(.inputTokens) {
            what = "\(grouped(config.itpm)) input tokens per minute"
        } else {
            what = "\(grouped(config.otpm)) output tokens per minute"
        }
        return "This request would exceed your organization's rate limit of \(what) (org: \(org), model: \(model)). "
            + "For details, refer to: https://docs.claude.com/en/api/rate-limits. You can see the response headers for "
            + "current usage. Please reduce the prompt length or the maximum tokens requested, or try again later. "
            + "You may also contact sales at https://www.anthropic.com/contact-sales to discuss your options for a rate "
            + "limit increase."
    }

    static func countTokensRateLimitMessage(org: String, rpm: Double) -> String {
        "This request would exceed your organization's rate limit of \(grouped(rpm)) token counting requests per minute "
            + "(org: \(org)). For details, refer to: https://docs.claude.com/en/api/rate-limits. "
            + "You can see the response headers for current usage."
    }

    static let spendCapMessage = "You have reached your API usage limits: your organization has crossed its monthly API "
        + "usage threshold, set based on your organization's API tier. You will regain access at the start of next month."

    /// `30000` → `30,000`; fractional limits keep up to 3 decimals.
    static func grouped(_ v: Double) -> String {
        guard v == v.rounded(), abs(v) < 1e15 else { return String((v * 1000).rounded() / 1000) }
        let digits = String(Int(v).magnitude)
        var out = ""
        for (i, ch) in digits.enumerated() {
            if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
            out.append(ch)
        }
        return (v < 0 ? "-" : "") + out
    }
}

/// What a reply's single content block holds. Output token k is bytes 4k..<4k+4 of its text:
/// the generated words (cut where a stop sequence starts), a fixed JSON text (structured
/// output), or a tool call's `input` JSON (streamed as `input_json_delta`).
struct ReplyContent {
    enum Kind {
        case words(limit: Int?)
        case fixed([UInt8])
        case tool(id: String, name: String, input: [UInt8])
    }
    var kind: Kind = .words(limit: nil)
    /// The stop sequence that ended the reply.
    var stopSequence: String?
    /// Output tokens of the thinking block that comes first (0: none); token indexes of the
    /// answer start after it.
    var thinkingTokens = 0

    /// The thinking block's signature: opaque to clients, which send it back unchanged.
    static let signature: StaticString = "EqQBCkgIBhABGAIiQKlimitlabMockSignatureNotVerifiedByAnyServerAAAA=="

    /// The text of output tokens `range`, escaped for a JSON string.
    func write(tokens range: Range<Int>, into b: inout ByteBuffer) {
        let lo = range.lowerBound * 4, hi = range.upperBound * 4
        switch kind {
        case .words(let limit):
            let end = Swift.min(hi, limit ?? hi)
            if end > lo { GeneratedText.write(bytes: lo..<end, into: &b) }
        case .fixed(let bytes), .tool(_, _, let bytes):
            let end = Swift.min(hi, bytes.count)
            guard end > lo else { return }
            for byte in bytes[lo..<end] {
                // ASCII JSON text (`JSONValue.asciiJSON`): only quotes and backslashes need escaping.
                if byte == 0x22 || byte == 0x5C { b.writeInteger(UInt8(0x5C)) }
                b.writeInteger(byte)
            }
        }
    }
}

/// The generated output text: token k is always the same 4-byte word (a space and three
/// letters), so ceil(bytes / 4) gives back the token count and slicing is arithmetic.
enum GeneratedText {
    static let words = [
        "the", "and", "for", "you", "are", "was", "not", "but", "can", "all", "one", "his", "her", "use", "may",
        "new", "now", "way", "see", "day", "two", "how", "its", "our", "out", "get", "has", "him", "old", "own",
        "say", "too", "any", "few", "why", "let", "put", "end", "did", "set",
    ]
    /// 1,024 tokens; longer outputs repeat it.
    static let table: [UInt8] = {
        var out: [UInt8] = []
        var x: UInt32 = 2_463_534_242
        for _ in 0..<1024 {
            x ^= x << 13; x ^= x >> 17; x ^= x << 5
            out.append(0x20)
            out.append(contentsOf: words[Int(x % UInt32(words.count))].utf8)
        }
        return out
    }()

    static func write(tokens range: Range<Int>, into b: inout ByteBuffer) {
        let n = table.count / 4
        var k = range.lowerBound
        while k < range.upperBound {
            let start = k % n
            let count = Swift.min(range.upperBound - k, n - start)
            table.withUnsafeBytes { _ = b.writeBytes(UnsafeRawBufferPointer(rebasing: $0[(start * 4)..<((start + count) * 4)])) }
            k += count
        }
    }
}
