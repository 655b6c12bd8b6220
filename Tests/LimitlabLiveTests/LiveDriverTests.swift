import Foundation
import LimitlabCore
import LimitlabLive
import LimitlabMock
import LimitlabSim
import LimitlabTestSupport
import Testing

#if canImport(Glibc)
import Glibc
#endif

extension Live {
    /// The socket-action event loop and the reused easy handles.
    @Suite struct EngineTests {
        /// Sequential requests reuse one easy handle and one keep-alive connection. Each request
        /// must carry its own body and exactly one output-hint header, and a response's headers
        /// (retry-after, rate limits, status) must not leak into the next attempt's record.
        @Test func reusedHandlesCarryOnlyTheirOwnAttempt() throws {
            let server = try RecordingServer { index, _ in
                index % 2 == 0
                    ? RecordingServer.response(status: 429, headers: ["retry-after: 7", "x-should-retry: true",
                                                                      "anthropic-ratelimit-requests-limit: 50",
                                                                      "anthropic-ratelimit-requests-remaining: 0"],
                                               body: #"{"type":"error","error":{"type":"rate_limit_error","message":"x"}}"#)
                    : RecordingServer.response(status: 200, headers: [],
                                               body: #"{"id":"m","usage":{"input_tokens":3,"output_tokens":4}}"#)
            }
            defer { server.stop() }
            // 8 requests 50 ms apart with distinct prompt and output lengths.
            let s = makeScenario(.live, arrivals: [ArrivalSpec(.constant(rate: 20))], length: .requests(8),
                                        input: Sampled(.uniform(min: 20, max: 2000)), output: Sampled(.uniform(min: 1, max: 500)),
                                        maxTokens: 1000, stream: false)
            let result = try LiveRunner.run(scenario: s, target: LiveTarget(baseURL: "http://127.0.0.1:\(server.port)"),
                                             options: LiveOptions(requestTimeout: 5, gracePeriod: 2))
            let requests = server.requests
            let log = try #require(result.runs.first).log
            let stream = result.stream
            #expect(requests.count == 8)
            #expect(server.connections == 1, "sequential requests should share one keep-alive connection")
            for (i, req) in requests.enumerated() {
                let hints = req.headers.filter { $0.lowercased().hasPrefix("x-limitlab-output-tokens:") }
                #expect(hints == ["x-limitlab-output-tokens: \(stream.outputTokens[i])"], "request \(i): \(req.headers)")
                #expect(req.headers.filter { $0.lowercased().hasPrefix("x-api-key:") }.count == 1)
                #expect(req.headers.contains("content-length: \(req.body.count)"))
                let text = String(decoding: req.body, as: UTF8.self)
                #expect(text.hasPrefix(#"{"model":"claude-sonnet-4-5","max_tokens":1000"#))
                #expect(text.hasSuffix("}]}"), "request \(i) body is cut or has trailing bytes")
            }
            // Bodies differ with the prompt length, so a stale body would show.
            #expect(Set(requests.map(\.body.count)).count > 4)
            for a in 0..<log.attemptCountTotal {
                if a % 2 == 0 {
                    #expect(log.status[a] == 429 && log.retryAfter[a] == 7)
                } else {
                    #expect(log.status[a] == 200 && log.errorKind[a] == ErrorKind.none.rawValue)
                    #expect(log.retryAfter[a].isNaN, "attempt \(a) kept the previous response's retry-after")
                    #expect(result.runs[0].attempts.outputTokens[a] == 4)
                }
            }
        }

        /// Every transfer ends exactly once through the socket-action loop, whatever the fault:
        /// 500s, connection resets and successes mixed, 300 requests in a burst.
        @Test func everyTransferCompletesUnderMixedFaults() async throws {
            let s = makeScenario(.live, arrivals: [ArrivalSpec(.burst(at: 0, count: 300, over: 0.5))], length: .duration(1),
                                        output: Sampled(.constant(5)),
                                        server: ServerModel(ttft: Sampled(.constant(0.05)), outputTokensPerSecond: 2000,
                                                            rejectLatency: 0.02))
            let result = try await runAgainstMock(s, faults: MockFaults(serverError: 0.2, connectionReset: 0.2))
            let run = try #require(result.runs.first)
            let log = run.log
            #expect(!result.partial)
            #expect(log.requestCount == 300 && log.attemptCountTotal == 300)
            #expect(log.completedAt.allSatisfy { $0.isFinite })
            let ok = (0..<300).filter { log.status[$0] == 200 && log.errorKind[$0] == ErrorKind.none.rawValue }.count
            let serverErrors = (0..<300).filter { log.status[$0] == 500 }.count
            let resets = (0..<300).filter { log.status[$0] == 0 && log.errorKind[$0] == ErrorKind.connection.rawValue }.count
            #expect(ok + serverErrors + resets == 300)
            // Fewer resets than drawn show up: libcurl silently resends a request whose reused
            // connection dies before any response byte (docs/live-runner.md, Limits).
            #expect(ok > 100 && serverErrors > 20 && resets > 0, "ok \(ok), 500s \(serverErrors), resets \(resets)")
            #expect(Outcomes(log) == Outcomes(succeededOnly: ok).with(failed: 300 - ok))
        }

        /// 1,000 requests sent at once to a server that answers after 0.5 s: 1,000 transfers (and
        /// connections) in flight together, all completing, none lost by the event loop.
        @Test func aThousandConcurrentTransfersAllComplete() async throws {
            let s = makeScenario(.live, arrivals: [ArrivalSpec(.burst(at: 0, count: 1000, over: 0.2))], length: .duration(1),
                                        output: Sampled(.constant(3)),
                                        server: ServerModel(ttft: Sampled(.constant(0.5)), outputTokensPerSecond: 100,
                                                            rejectLatency: 0.02))
            let peak = PeakCounter()
            var o = LiveOptions(requestTimeout: 20, gracePeriod: 5, progressInterval: 0.05)
            o.progress = { peak.note($0.inFlight) }
            let result = try await runAgainstMock(s, options: o)
            let log = try #require(result.runs.first).log
            #expect(Outcomes(log) == Outcomes(succeededOnly: 1000))
            #expect(peak.value > 900, "peak in flight \(peak.value)")
        }

        /// A closed loop through the ordinary engine: every request arrives at once behind a fixed
        /// concurrency limit of 4, so exactly 4 are in flight until the queue empties, and every
        /// later send is planned at the completion that freed its slot.
        @Test func fixedConcurrencyMakesAClosedLoop() async throws {
            let limit = ParamValue.number(4)
            var s = makeScenario(.live, arrivals: [ArrivalSpec(.constant(rate: 1e6))], length: .requests(20),
                                        output: Sampled(.constant(2)),
                                        server: ServerModel(ttft: Sampled(.constant(0.05)), outputTokensPerSecond: 1000,
                                                            rejectLatency: 0.02))
            s.strategies = [StrategySpec(name: "none", concurrency: RoleSpec(
                name: "aimd", params: ["initial_limit": limit, "min_limit": limit, "max_limit": limit]))]
            let result = try await runAgainstMock(s)
            let run = try #require(result.runs.first)
            let log = run.log
            #expect(Outcomes(log) == Outcomes(succeededOnly: 20))
            let n = log.attemptCountTotal
            #expect(n == 20)
            for a in 0..<n {
                let t = log.sentAt[a]
                let inFlight = (0..<n).filter { log.sentAt[$0] <= t && log.completedAt[$0] > t }.count
                #expect(inFlight <= 4, "\(inFlight) in flight at \(t)")
            }
            for a in 4..<n {
                let planned = run.attempts.plannedAt[a]
                #expect(log.completedAt.contains { abs($0 - planned) < 1e-9 }, "send \(a) not planned at a completion")
            }
        }
    }
}

/// A loopback HTTP/1.1 server that records each request (header lines lowercased by name, body)
/// and answers with `respond(index, request)`, keeping connections open.
final class RecordingServer: @unchecked Sendable {
    struct Request {
        var headers: [String]
        var body: [UInt8]
    }

    let port: Int
    private let fd: Int32
    private let lock = NSLock()
    private var recorded: [Request] = []
    private var accepted = 0
    private let respond: @Sendable (Int, Request) -> [UInt8]

    init(_ respond: @escaping @Sendable (Int, Request) -> [UInt8]) throws {
        self.respond = respond
        let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard fd >= 0 else { throw POSIXError(.EMFILE) }
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_addr.s_addr = inet_addr("127.0.0.1")
        var len = socklen_t(MemoryLayout<sockaddr_in>.size)
        let ok = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                bind(fd, $0, len) == 0 && listen(fd, 64) == 0 && getsockname(fd, $0, &len) == 0
            }
        }
        guard ok else { close(fd); throw POSIXError(.EADDRINUSE) }
        self.fd = fd
        port = Int(UInt16(bigEndian: addr.sin_port))
        Thread { [self] in acceptLoop() }.start()
    }

    var requests: [Request] { lock.withLock { recorded } }
    var connections: Int { lock.withLock { accepted } }

    static func response(status: Int, headers: [String], body: String) -> [UInt8] {
        var text = "HTTP/1.1 \(status) X\r\ncontent-type: application/json\r\ncontent-length: \(body.utf8.count)\r\n"
        for h in headers { text += h + "\r\n" }
        return Array((text + "\r\n" + body).utf8)
    }

    private func acceptLoop() {
        while true {
            let c = accept(fd, nil, nil)
            if c < 0 { return }
            lock.withLock { accepted += 1 }
            Thread { [self] in serve(c) }.start()
        }
    }

    private func serve(_ c: Int32) {
        defer { close(c) }
        var buffer: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 65536)
        func fill() -> Bool {
            let n = chunk.withUnsafeMutableBytes { recv(c, $0.baseAddress, 65536, 0) }
            if n <= 0 { return false }
            buffer.append(contentsOf: chunk[0..<n])
            return true
        }
        while true {
            var end: Int?
            while end == nil {
                if let r = Self.find([13, 10, 13, 10], in: buffer) { end = r } else if !fill() { return }
            }
            let head = String(decoding: buffer[0..<end!], as: UTF8.self).components(separatedBy: "\r\n")
            let lines = head.dropFirst().map { line -> String in
                guard let colon = line.firstIndex(of: ":") else { return line }
                return line[..<colon].lowercased() + line[colon...]
            }
            let length = lines.first { $0.hasPrefix("content-length:") }
                .flatMap { Int($0.dropFirst("content-length:".count).trimmingCharacters(in: .whitespaces)) } ?? 0
            let start = end! + 4
            while buffer.count < start + length { if !fill() { return } }
            let request = Request(headers: Array(lines), body: Array(buffer[start..<(start + length)]))
            buffer.removeFirst(start + length)
            let index = lock.withLock { () -> Int in
                recorded.append(request)
                return recorded.count - 1
            }
            let out = respond(index, request)
            let sent = out.withUnsafeBytes { send(c, $0.baseAddress, out.count, Int32(MSG_NOSIGNAL)) }
            if sent != out.count { return }
        }
    }

    private static func find(_ p: [UInt8], in b: [UInt8]) -> Int? {
        guard b.count >= p.count else { return nil }
        for i in 0...(b.count - p.count) where b[i] == p[0] && Array(b[i..<(i + p.count)]) == p { return i }
        return nil
    }

    /// Stops accepting (the accept thread ends); open connections end when the client closes them.
    func stop() {
        shutdown(fd, Int32(SHUT_RDWR))
        close(fd)
    }
}

/// The largest value noted, from the engine thread's progress calls.
final class PeakCounter: @unchecked Sendable {
    private let lock = NSLock()
    private var peak = 0
    func note(_ v: Int) { lock.withLock { peak = Swift.max(peak, v) } }
    var value: Int { lock.withLock { peak } }
}

extension Outcomes {
    func with(failed n: Int) -> Outcomes {
        var o = self
        o.failed = n
        return o
    }
}
