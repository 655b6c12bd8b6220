import Foundation
import LimitlabMock
import Testing

/// A served mock closes connections whose client stays silent while the server waits for a
/// request (`client_timeout`, `keep_alive_timeout`), and never a response in progress.
@Suite struct ClientTimeoutTests {
    static let yaml = """
        orgs:
          - id: org-test
            keys: [sk-test]
            limits: {tier: tier-4}
        server:
          ttft: 0ms
          output_rate: 10/s
          reject_latency: 0ms
        client_timeout: 300ms
        keep_alive_timeout: 600ms
        """

    static func request(stream: Bool, tokens: Int) -> [UInt8] {
        let body = #"{"model":"claude-sonnet-4-5","max_tokens":100,"stream":\#(stream),"messages":[{"role":"user","content":"hi"}]}"#
        return Array(("POST /v1/messages HTTP/1.1\r\nHost: mock\r\nx-api-key: sk-test\r\nanthropic-version: 2023-06-01\r\n"
            + "content-type: application/json\r\nx-limitlab-output-tokens: \(tokens)\r\n"
            + "content-length: \(body.utf8.count)\r\n\r\n" + body).utf8)
    }

    /// Opens a connection, sends `bytes`, and reads until the server closes it (or 10 s pass):
    /// what came back, when its last byte came and when the connection closed (seconds after
    /// the send; nil: still open).
    static func readUntilClosed(port: Int, bytes: [UInt8]) throws -> (text: String, lastByte: Double, closed: Double?) {
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        try #require(fd >= 0)
        defer { close(fd) }
        var tv = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = UInt16(port).bigEndian
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
        }
        try #require(connected == 0)
        let start = Date()
        if !bytes.isEmpty { _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) } }
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
        let config = try MockConfig.parse(yaml: Self.yaml, file: "timeouts.yaml")
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
}
