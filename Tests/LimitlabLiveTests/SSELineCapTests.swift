import Foundation
import LimitlabCore
@testable import LimitlabLive
import Testing

/// A server that sends an endless line (no newline) must not grow the runner's memory: the
/// line is capped and the attempt fails with a named stream error.
@Suite struct SSELineCapTests {
    @Test func aLineWithoutNewlinePastTheCapFailsTheAttempt() {
        var r = ResponseState()
        r.status = 200
        r.isEventStream = true
        let head = Array("event: message_start\ndata: {\"type\":\"message_start\"".utf8)
        head.withUnsafeBytes { r.body($0, at: 1) }
        let piece = [UInt8](repeating: 0x41, count: 64 << 10)
        for k in 0..<40 { piece.withUnsafeBytes { r.body($0, at: UInt64(k + 2)) } } // 2.5 MiB
        #expect(r.streamError == SSEParser.overflowError)
        #expect(r.sse.overflowed)
        // The rest of the stream is ignored, so it cannot pass for a complete answer.
        let rest = Array("\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n".utf8)
        rest.withUnsafeBytes { r.body($0, at: 100) }
        #expect(!r.sawMessageStop)
        #expect(r.streamError == "sse_line_too_long")
    }

    @Test func manyDataLinesOfOneEventAreCappedToo() {
        var r = ResponseState()
        r.status = 200
        r.isEventStream = true
        let line = Array(("data: " + String(repeating: "x", count: 1000) + "\n").utf8)
        for k in 0..<1100 { line.withUnsafeBytes { r.body($0, at: UInt64(k + 1)) } } // ~1.1 MB, no blank line
        #expect(r.streamError == "sse_line_too_long")
    }

    @Test func anEventJustBelowTheCapStillParses() {
        let filler = String(repeating: " ", count: SSEParser.maxLine - 200)
        let text = "event: message_delta\ndata: {\"type\": \"message_delta\",\(filler)\"usage\": {\"output_tokens\": 15}}\n\n"
            + "event: message_stop\ndata: {\"type\": \"message_stop\"}\n\n"
        let r = ParsingTests.feed(text, cuts: [10, 70_000, 500_000])
        #expect(r.streamError == nil)
        #expect(r.usage.output == 15)
        #expect(r.sawMessageStop)
    }
}

/// A silent server must not hold an attempt for the whole request timeout by default.
@Suite struct LiveDefaultsTests {
    @Test func defaultsBoundEveryAttempt() {
        let o = LiveOptions()
        #expect(o.idleTimeout == LiveOptions.defaultIdleTimeout)
        #expect(o.idleTimeout.map { $0 > 0 && $0 < o.requestTimeout } == true)
        #expect(o.requestTimeout == 600)
    }
}
