import LimitlabCore

#if canImport(Glibc)
import Glibc
#endif

// Incremental parsing of what a Messages response tells the client: headers from the header
// callback, server-sent events from the write callback, and the JSON body of non-streaming and
// error responses at completion. JSON is read by `MessageJSON` (strict, fields only at their
// real place); text deltas are recognised by their event name and their data not parsed, which
// keeps the write callback cheap at thousands of streams.

/// Everything parsed from one attempt's response so far.
struct ResponseState {
    var status = 0
    var firstByteNanos: UInt64 = 0
    var lastByteNanos: UInt64 = 0
    /// Send, or the last header or body byte: what the idle timeout measures from.
    var lastActivityNanos: UInt64 = 0
    var firstTokenNanos: UInt64 = 0
    var isEventStream = false
    var retryAfter: Double?
    var retryAfterMs: Double?
    var shouldRetry: Bool?
    var requestId = ""
    var rateLimits = RateLimitHeaders()
    var usage = ReportedUsage()
    /// `error.type` of an in-stream `event: error`.
    var streamError: String?
    /// Why the response is not a valid Messages response (JSON that does not parse, a body over
    /// the cap): recorded as a failure with cause `invalid_response: <this>`. The first wins.
    var invalid: String?
    /// `stop_reason` of a 2xx message (`message_delta` for streams), when it said one.
    var stopReason: String?
    var sawMessageStop = false
    /// Body of a non-streaming response (capped), parsed at completion.
    var body: [UInt8] = []
    /// The body went past `bodyCap` (the rest was dropped).
    var bodyTruncated = false
    var sse = SSEParser()

    mutating func reset() {
        status = 0
        firstByteNanos = 0; lastByteNanos = 0; lastActivityNanos = 0; firstTokenNanos = 0
        isEventStream = false
        retryAfter = nil; retryAfterMs = nil; shouldRetry = nil
        requestId = ""
        rateLimits.reset()
        usage = ReportedUsage()
        streamError = nil
        invalid = nil
        stopReason = nil
        sawMessageStop = false
        bodyTruncated = false
        body.removeAll(keepingCapacity: true)
        sse.reset()
    }

    /// Bodies beyond this are not kept, so a runaway body cannot grow memory; a 2xx body over it
    /// cannot be parsed and is recorded as `invalid_response` (4 MiB is about eight times the
    /// longest real answer: 128k output tokens of text).
    static let bodyCap = 4 << 20

    // MARK: Headers

    /// One header line from libcurl (status line, `name: value`, or the blank end line).
    mutating func header(line raw: UnsafeRawBufferPointer, at nanos: UInt64) {
        if firstByteNanos == 0 { firstByteNanos = nanos }
        lastActivityNanos = nanos
        var n = raw.count
        while n > 0 && (raw[n - 1] == 0x0A || raw[n - 1] == 0x0D) { n -= 1 }
        guard n > 0 else { return }
        let line = UnsafeRawBufferPointer(rebasing: raw[0..<n])
        if n >= 5 && line[0] == 0x48 && line[1] == 0x54 && line[2] == 0x54 && line[3] == 0x50 && line[4] == 0x2F {
            // "HTTP/…": a new response head (an interim 1xx or a redirect starts over).
            let keepFirstByte = firstByteNanos
            reset()
            firstByteNanos = keepFirstByte
            lastActivityNanos = nanos
            status = Self.statusCode(line)
            return
        }
        guard let colon = line.firstIndex(of: 0x3A) else { return }
        // Byte-level matching: a response carries a dozen headers, and building a lowercased
        // String per line was the largest cost per attempt.
        let name = UnsafeRawBufferPointer(rebasing: line[0..<colon])
        var start = colon + 1
        while start < n && (line[start] == 0x20 || line[start] == 0x09) { start += 1 }
        let value = UnsafeRawBufferPointer(rebasing: line[start..<n])
        let rl: StaticString = "anthropic-ratelimit-"
        if Self.hasPrefixLower(name, rl) {
            let rest = UnsafeRawBufferPointer(rebasing: name[rl.utf8CodeUnitCount...])
            let group: Int
            let groupLength: Int
            if Self.hasPrefixLower(rest, "requests-") { group = 0; groupLength = 9 }
            else if Self.hasPrefixLower(rest, "input-tokens-") { group = 1; groupLength = 13 }
            else if Self.hasPrefixLower(rest, "output-tokens-") { group = 2; groupLength = 14 }
            else { return }
            let suffix = UnsafeRawBufferPointer(rebasing: rest[groupLength...])
            if Self.equalsLower(suffix, "limit") {
                if let v = Self.plausibleCount(Self.number(value)) { rateLimits.set(group: group, field: 0, v) }
            } else if Self.equalsLower(suffix, "remaining") {
                if let v = Self.plausibleCount(Self.number(value)) { rateLimits.set(group: group, field: 1, v) }
            } else if Self.equalsLower(suffix, "reset") {
                if let t = RFC3339.unixSeconds(bytes: value) { rateLimits.set(group: group, field: 2, t) }
            }
        } else if Self.equalsLower(name, "content-type") {
            isEventStream = Self.hasPrefixLower(value, "text/event-stream")
        } else if Self.equalsLower(name, "request-id") {
            requestId = String(decoding: value, as: UTF8.self)
        } else if Self.equalsLower(name, "retry-after") {
            if let s = Self.number(value) {
                retryAfter = Self.delay(s)
            } else if let date = HTTPDate.parse(String(decoding: value, as: UTF8.self)) {
                retryAfter = Self.delay(Swift.max(0, date - Clock.unixNow()))
            }
        } else if Self.equalsLower(name, "retry-after-ms") {
            retryAfterMs = Self.number(value).flatMap { Self.delay($0 / 1000) }.map { $0 * 1000 }
        } else if Self.equalsLower(name, "x-should-retry") {
            if Self.equalsLower(value, "true") { shouldRetry = true }
            else if Self.equalsLower(value, "false") { shouldRetry = false }
        }
    }

    /// ASCII case-insensitive: `bytes` starts with `lower` (given in lower case).
    @inline(__always)
    static func hasPrefixLower(_ bytes: UnsafeRawBufferPointer, _ lower: StaticString) -> Bool {
        let count = lower.utf8CodeUnitCount
        guard bytes.count >= count else { return false }
        return lower.withUTF8Buffer { p in
            for i in 0..<count {
                var c = bytes[i]
                if c >= 0x41 && c <= 0x5A { c |= 0x20 }
                if c != p[i] { return false }
            }
            return true
        }
    }

    @inline(__always)
    static func equalsLower(_ bytes: UnsafeRawBufferPointer, _ lower: StaticString) -> Bool {
        bytes.count == lower.utf8CodeUnitCount && hasPrefixLower(bytes, lower)
    }

    /// An error `type` as recorded among a run's error causes: the API's types are short
    /// identifiers (`overloaded_error`); anything else a server sends there (free text, an echoed
    /// request header) is replaced, so neither secrets nor unbounded variety reach the report.
    /// Keys that look like identifiers are redacted later with the run's own keys (LiveRunner).
    static func errorType(_ raw: String?) -> String {
        guard let raw, !raw.isEmpty else { return "unknown_error" }
        guard raw.utf8.count <= 64, raw.utf8.allSatisfy({ b in
            (b >= 0x61 && b <= 0x7A) || (b >= 0x41 && b <= 0x5A) || (b >= 0x30 && b <= 0x39) || b == 0x5F || b == 0x2D || b == 0x2E
        }) else { return "unrecognised_error_type" }
        return raw
    }

    /// Largest retry delay kept, seconds (about 317 years, so any real HTTP-date fits): a server's
    /// `retry-after: 99999999999999999999` still means "not within this run", and the saturated
    /// value (5^10 × 2^10) stays exact in the Float event log and the integer CSV column.
    static let maxRetryAfterS: Double = 10_000_000_000

    /// A retry delay: negative, NaN or infinite values are not a delay (ignored); huge ones saturate.
    static func delay(_ s: Double) -> Double? {
        guard s.isFinite, s >= 0 else { return nil }
        return Swift.min(s, maxRetryAfterS)
    }

    /// A rate-limit count (limit or remaining): nil unless finite and within ±1e15, far beyond
    /// any real limit and exact in Double and Int. An absurd value reads as "not given" (limit 0
    /// marks the group unknown to header-driven strategies) instead of trapping in a conversion.
    static func plausibleCount(_ v: Double?) -> Double? {
        guard let v, v.isFinite, Swift.abs(v) <= 1e15 else { return nil }
        return v
    }

    /// A number: plain integers (what the headers carry) read directly, any other form through
    /// Double's parser, so results are identical. Nil when it is not a number.
    static func number(_ b: UnsafeRawBufferPointer) -> Double? {
        if b.count > 0 && b.count <= 15 {
            var v = 0
            var i = 0
            while i < b.count, b[i] >= 0x30 && b[i] <= 0x39 {
                v = v * 10 + Int(b[i] - 0x30)
                i += 1
            }
            if i == b.count { return Double(v) }
        }
        return Double(String(decoding: b, as: UTF8.self))
    }

    private static func statusCode(_ line: UnsafeRawBufferPointer) -> Int {
        guard let space = line.firstIndex(of: 0x20) else { return 0 }
        var code = 0, digits = 0
        var i = space + 1
        while i < line.count, digits < 3, line[i] >= 0x30 && line[i] <= 0x39 {
            code = code * 10 + Int(line[i] - 0x30)
            digits += 1
            i += 1
        }
        return digits == 3 ? code : 0
    }

    // MARK: Body

    mutating func body(_ chunk: UnsafeRawBufferPointer, at nanos: UInt64) {
        if firstByteNanos == 0 { firstByteNanos = nanos }
        lastByteNanos = nanos
        lastActivityNanos = nanos
        if isEventStream && status >= 200 && status < 300 {
            // Moved out for the call so the parser's buffers are not copied on write.
            var parser = SSEParser()
            swap(&parser, &sse)
            parser.feed(chunk) { event, data in self.event(event, data, at: nanos) }
            swap(&parser, &sse)
            if sse.overflowed && streamError == nil { streamError = SSEParser.overflowError }
        } else if body.count + chunk.count <= Self.bodyCap {
            body.append(contentsOf: chunk)
        } else {
            body.append(contentsOf: chunk.prefix(Self.bodyCap - body.count))
            bodyTruncated = true
        }
    }

    private mutating func event(_ name: SSEParser.Event, _ data: [UInt8], at nanos: UInt64) {
        switch name {
        case .contentBlockDelta:
            // Its data is not kept or parsed (see SSEParser): the arrival is what counts.
            if firstTokenNanos == 0 { firstTokenNanos = nanos }
        case .messageStart, .messageDelta, .messageStop, .error:
            guard let f = data.withUnsafeBytes({ MessageJSON.parse($0) }) else {
                if invalid == nil { invalid = "\(name.label) data is not JSON" }
                return
            }
            switch name {
            case .messageStart:
                // message_start.message.usage: the input side (output_tokens there is a placeholder).
                usage.merge(input: f.messageUsage)
            case .messageDelta:
                // Cumulative usage: the last message_delta holds the final output count.
                if f.usage.output >= 0 { usage.output = f.usage.output }
                usage.merge(input: f.usage)
                if let s = f.stopReason { stopReason = s }
            case .messageStop:
                sawMessageStop = true
            default:
                streamError = Self.errorType(f.errorType)
            }
        case .invalid:
            if invalid == nil { invalid = "unnamed event data is not JSON" }
        case .other:
            break
        }
    }

    /// Usage, stop reason and validity of a complete non-streaming 2xx body (parsed once, at
    /// completion). Error bodies are read by `errorBody`.
    mutating func parseBody() {
        guard status >= 200 && status < 300, !isEventStream, invalid == nil else { return }
        if bodyTruncated {
            invalid = "body longer than \(Self.bodyCap >> 20) MiB"
            return
        }
        guard let f = body.withUnsafeBytes({ MessageJSON.parse($0) }) else {
            invalid = body.isEmpty ? "empty body" : "body is not JSON"
            return
        }
        usage.merge(input: f.usage)
        if f.usage.output >= 0 { usage.output = f.usage.output }
        stopReason = f.stopReason
    }

    /// `error.type` and `error.message` of an error body (nil when it is not JSON or has none).
    func errorBody() -> (type: String?, message: String?) {
        guard let f = body.withUnsafeBytes({ MessageJSON.parse($0) }) else { return (nil, nil) }
        return (f.errorType, f.errorMessage)
    }
}
