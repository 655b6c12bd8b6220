import Foundation
import LimitlabMock
import Testing

/// What one client can hold of a served mock: connections whose client stays silent while the
/// server waits for a request are closed (`client_timeout`, `keep_alive_timeout`), never a
/// response in progress; request bodies held at once are bounded (`max_buffered_body_bytes`).
@Suite struct ConnectionLimitsTests {
    static let yaml = orgConfig(outputRate: "10/s")

    static func request(stream: Bool, tokens: Int, text: String = "hi") -> [UInt8] {
        let body = #"{"model":"claude-sonnet-4-5","max_tokens":100,"stream":\#(stream),"messages":[{"role":"user","content":"\#(text)"}]}"#
        return Array(("POST /v1/messages HTTP/1.1\r\nHost: mock\r\nx-api-key: sk-test\r\nanthropic-version: 2023-06-01\r\n"
            + "content-type: application/json\r\nx-limitlab-output-tokens: \(tokens)\r\n"
            + "content-length: \(body.utf8.count)\r\n\r\n" + body).utf8)
    }

    /// A connected socket to the mock (10-s receive timeout); the caller closes it.
    static func connectSocket(port: Int) throws -> Int32 {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        guard connected == 0 else {
            close(fd)
            throw POSIXError(.ECONNREFUSED)
        }
        return fd
    }

    static func send(_ fd: Int32, _ bytes: [UInt8]) {
        _ = bytes.withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    }

    /// Reads one response's status line (the first bytes that come back).
    static func status(_ fd: Int32) -> String {
        var buf = [UInt8](repeating: 0, count: 4096)
        let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        let text = n > 0 ? String(decoding: buf[0..<n], as: UTF8.self) : ""
        return String(text.prefix { $0 != "\r" })
    }

    /// Opens a connection, sends `bytes`, and reads until the server closes it (or 10 s pass):
    /// what came back, when its last byte came and when the connection closed (seconds after
    /// the send; nil: still open).
    static func readUntilClosed(port: Int, bytes: [UInt8]) throws -> (text: String, lastByte: Double, closed: Double?) {
        let fd = try connectSocket(port: port)
        defer { close(fd) }
        let start = Date()
        if !bytes.isEmpty { send(fd, bytes) }
        var out: [UInt8] = []
        var lastByte = 0.0
        var buf = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            let t = Date().timeIntervalSince(start)
            if n == 0 { return (String(decoding: out, as: UTF8.self), lastByte, t) }
            if n < 0 { return (String(decoding: out, as: UTF8.self), lastByte, nil) }
            out.append(contentsOf: buf[0..<n])
            lastByte = t
        }
    }

    @Test func silentClientsAreClosedAndResponsesInProgressAreNot() async throws {
        let config = try MockConfig.parse(yaml: Self.yaml + "\nclient_timeout: 300ms\nkeep_alive_timeout: 600ms\n",
                                           file: "timeouts.yaml")
        #expect(config.clientTimeout == 0.3 && config.keepAliveTimeout == 0.6)
        let server = MockServer(config: config, threads: 1)
        let port = try await server.start(host: "127.0.0.1", port: 0)

        // A connection that sends nothing, and one that stops inside its request's head.
        let nothing = try Self.readUntilClosed(port: port, bytes: [])
        let partial = try Self.readUntilClosed(port: port, bytes: Array("POST /v1/messages HTTP/1.1\r\nHost: m\r\n".utf8))
        for (name, r) in [("nothing sent", nothing), ("partial head", partial)] {
            let closed = try #require(r.closed, "\(name): still open after 10 s")
            // Never before the timeout; the upper bound leaves room for a loaded machine.
            #expect(closed >= 0.29 && closed < 5, "\(name): closed after \(closed) s")
            #expect(r.text.isEmpty, "\(name): \(r.text)")
        }

        // A stream of 12 tokens at 10/s lasts ~1.2 s, longer than both timeouts: it completes,
        // then the kept-alive connection is closed after keep_alive_timeout of silence.
        let streamed = try Self.readUntilClosed(port: port, bytes: Self.request(stream: true, tokens: 12))
        #expect(streamed.text.contains("event: message_stop"), "\(streamed.text.suffix(300))")
        #expect(streamed.lastByte >= 1.0, "the stream ended after \(streamed.lastByte) s")
        let idle = try #require(streamed.closed).distance(to: streamed.lastByte) * -1
        #expect(idle >= 0.59 && idle < 5, "closed \(idle) s after the response")

        let scrape = try Self.readUntilClosed(port: port, bytes: Array(
            "GET /metrics HTTP/1.1\r\nHost: m\r\nConnection: close\r\n\r\n".utf8))
        #expect(scrape.text.contains(#"limitlab_mock_connections_timed_out_total{wait="request"} 2"#), "\(scrape.text)")
        #expect(scrape.text.contains(#"limitlab_mock_connections_timed_out_total{wait="keep_alive"} 1"#))
        await server.stop()
    }

    /// Bodies held at once are bounded: while one connection holds ~1,500 bytes of an unfinished
    /// body, another's ~900-byte body does not fit a 2,000-byte budget and is answered 529
    /// `overloaded_error`; once the first request is answered, the same request succeeds.
    @Test func bodiesHeldAtOnceAreBounded() async throws {
        let config = try MockConfig.parse(yaml: Self.yaml + "\nmax_buffered_body_bytes: 2000\n", file: "budget.yaml")
        let server = MockServer(config: config, threads: 1)
        let port = try await server.start(host: "127.0.0.1", port: 0)
        defer { Task { await server.stop() } }

        let big = Self.request(stream: false, tokens: 1, text: String(repeating: "a", count: 1700))
        let split = big.count - 300
        let a = try Self.connectSocket(port: port)
        defer { close(a) }
        Self.send(a, Array(big[..<split]))

        let small = Self.request(stream: false, tokens: 1, text: String(repeating: "b", count: 800))
        // Until the server has read A's bytes (at once on a quiet machine), B still fits.
        var refused = (text: "", lastByte: 0.0, closed: Double?.none)
        for _ in 0..<50 {
            refused = try Self.readUntilClosed(port: port, bytes: small + Array(
                "GET /healthz HTTP/1.1\r\nHost: m\r\nConnection: close\r\n\r\n".utf8))
            if !refused.text.hasPrefix("HTTP/1.1 200") { break }
            try await Task.sleep(for: .milliseconds(100))
        }
        #expect(refused.text.hasPrefix("HTTP/1.1 529"), "\(refused.text.prefix(200))")
        #expect(refused.text.contains(#""type":"overloaded_error""#))

        Self.send(a, Array(big[split...]))
        #expect(Self.status(a).hasPrefix("HTTP/1.1 200"))
        let admitted = try Self.readUntilClosed(port: port, bytes: small + Array(
            "GET /healthz HTTP/1.1\r\nHost: m\r\nConnection: close\r\n\r\n".utf8))
        #expect(admitted.text.hasPrefix("HTTP/1.1 200"), "\(admitted.text.prefix(200))")
    }
}
