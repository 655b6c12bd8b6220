import Foundation
import LimitlabCore
@testable import LimitlabMock
import Testing

/// `serve --record`: the recording's rows, key redaction, flushing and reading back.
@Suite struct RecordingTests {
    static func tempDir() -> String {
        let d = (NSTemporaryDirectory() as NSString).appendingPathComponent("limitlab-rec-\(UUID().uuidString)")
        return d
    }

    static let header = #"{"epoch_s":0,"organizations":[],"schema":"limitlab.recording/1","seed":3}"# + "\n"

    static func body(_ text: String, maxTokens: Int = 100) -> [UInt8] {
        Array(#"{"model":"claude-sonnet-4-5","max_tokens":\#(maxTokens),"messages":[{"role":"user","content":"\#(text)"}]}"#.utf8)
    }

    static func headers(key: String, retry: Int? = nil) -> [(String, String)] {
        var h = [("x-api-key", key), ("anthropic-version", "2023-06-01"), ("content-type", "application/json")]
        if let retry { h.append(("x-stainless-retry-count", String(retry))) }
        return h
    }

    @Test func rowsRoundTripThroughTheFormat() throws {
        let rows = [
            RecordingRow(at: 1.5, key: "key-1", org: "org \"a\", b", model: "claude-sonnet-4-5", modelClass: "sonnet-4.x",
                         endpoint: "messages", status: 200, inputTokens: 10, cacheWriteTokens: 2000, cacheReadTokens: 30,
                         outputTokens: 64, maxTokens: 100, ttft: 0.25, completedAt: 2.000001, stream: true,
                         fault: "stall", requestId: "req_1", bodyHash: "00ff00ff00ff00ff", retryCount: 0),
            RecordingRow(at: 2.25, key: "key-2", org: "o", model: "mødel,\n2", modelClass: "mødel,\n2", endpoint: "messages",
                         status: 429, refusedBy: "requests+output_tokens", retryAfter: 7, inputTokens: 5,
                         completedAt: 2.25, requestId: "req_2", bodyHash: "1"),
        ]
        let text = Self.header + rows.map(RecordingFormat.line).joined()
        let back = try RecordingFormat.parse(Data(text.utf8), path: "x.jsonl")
        #expect(back.rows == rows)
        #expect(back.header.seed == 3)
        #expect(!back.truncatedLastLine)
        // One line per row, even with a newline in a field.
        #expect(text.split(separator: "\n").count == 3)
    }

    /// The byte writer: times to the microsecond with the sign and leading zeros of the fraction,
    /// times past Int's microseconds still a JSON number, escaped strings, the body hash as 16
    /// hex digits from the raw number.
    @Test func theRowWriterFormatsEdgeValues() throws {
        let row = RecordingRow(at: -0.0000015, key: "k\"1\\", org: "o\u{01}", model: "m", modelClass: "c",
                               endpoint: "messages", status: 529, retryAfter: -3, inputTokens: 123_456_789_012, outputTokens: -7,
                               ttft: 1e300, completedAt: 12.000_001_4, requestId: "r")
        var out: [UInt8] = []
        RecordingFormat.append(row, bodyHash: 0x00ab_cdef_0123_4567, to: &out)
        let text = String(decoding: out, as: UTF8.self)
        #expect(text.hasPrefix("{\"at\":-0.000002,\"key\":\"k\\\"1\\\\\",\"org\":\"o\\u0001\","))
        #expect(text.contains(",\"completed_at\":12.000001,"))
        #expect(text.contains(",\"body_hash\":\"00abcdef01234567\","))
        #expect(text.contains(",\"retry_after\":-3,") && text.contains("\"input_tokens\":123456789012,"))
        #expect(text.hasSuffix("}\n"))
        let back = try RecordingFormat.parse(Data((Self.header + text).utf8), path: "e.jsonl").rows
        try #require(back.count == 1)
        #expect(back[0].key == row.key && back[0].org == row.org && back[0].bodyHash == "00abcdef01234567")
        #expect(back[0].ttft == 1e300 && back[0].outputTokens == row.outputTokens)
    }

    @Test func aCutOffLastLineIsSkippedAndABrokenMiddleLineIsAnError() throws {
        let row = RecordingRow(at: 1, key: "key-1", org: "o", model: "m", modelClass: "c", endpoint: "messages", status: 200,
                               inputTokens: 1, completedAt: 2)
        let full = Self.header + RecordingFormat.line(row) + RecordingFormat.line(row)
        let cut = String(full.dropLast(20))
        let read = try RecordingFormat.parse(Data(cut.utf8), path: "r.jsonl")
        #expect(read.rows.count == 1)
        #expect(read.truncatedLastLine)

        let broken = Self.header + String(RecordingFormat.line(row).dropLast(10)) + "\n" + RecordingFormat.line(row)
        #expect {
            try RecordingFormat.parse(Data(broken.utf8), path: "r.jsonl")
        } throws: { e in
            "\(e)".contains("r.jsonl:2:")
        }
        #expect(throws: MockError.self) { try RecordingFormat.parse(Data("{\"schema\":\"other\"}\n".utf8), path: "r") }
    }

    /// The virtual-time mock with a recorder: rows carry the server's exact decisions, keys
    /// are labelled by first appearance and never written.
    @Test func theMockRecordsEachDecisionWithRedactedKeys() throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        // One request per second (a bucket of 1), fixed latency.
        let config = try MockConfig.parse(yaml: """
            seed: 5
            orgs:
              - id: org-r
                keys: [sk-secret-one, sk-secret-two]
                limits: {rpm: 60, itpm: 1000000, otpm: 1000000, burst: "1/60"}
            server:
              ttft: 200ms
              output_rate: 100/s
              reject_latency: 0ms
            """, file: "rec.yaml")
        let recorder = try MockRecorder(directory: dir)
        let mock = VirtualTimeMock(config: config, recorder: recorder)
        let a = mock.send(at: 1.0, headers: Self.headers(key: "sk-secret-one", retry: 0), body: Self.body("a"))
        let b = mock.send(at: 1.1, headers: Self.headers(key: "sk-secret-two"), body: Self.body("b"))
        let c = mock.send(at: 3.0, headers: Self.headers(key: "sk-secret-two", retry: 1), body: Self.body("b"))
        mock.advance(to: 10)
        recorder.close()

        let text = try String(contentsOfFile: recorder.path, encoding: .utf8)
        #expect(!text.contains("sk-secret"))
        let rec = try RecordingFormat.read(dir)
        #expect(rec.header.organizations.map(\.id) == ["org-r"])
        #expect(rec.header.organizations[0].classes["sonnet-4.x"]?.rpm == 60)
        let rows = rec.rows
        try #require(rows.count == 3)
        #expect(rows.map(\.at) == [1.0, 1.1, 3.0])
        #expect(rows.map(\.key) == ["key-1", "key-2", "key-2"])
        #expect(rows.map(\.status) == [200, 429, 200])
        #expect(rows.map(\.org) == ["org-r", "org-r", "org-r"])
        #expect(rows[1].refusedBy == "requests")
        #expect(rows[1].retryAfter == mock.exchange(b).header("retry-after").flatMap { Int($0) })
        #expect(rows[1].ttft == nil)
        #expect(rows[0].retryCount == 0 && rows[1].retryCount == nil && rows[2].retryCount == 1)
        // The same body hashes the same; another body differently.
        #expect(rows[1].bodyHash == rows[2].bodyHash && rows[0].bodyHash != rows[1].bodyHash)
        // Request ids and times are the ones the client saw.
        for (row, i) in zip(rows, [a, b, c]) {
            let x = mock.exchange(i)
            #expect(row.requestId == x.header("request-id"))
            #expect(abs(row.completedAt - (x.endAt ?? -1)) < 1e-5)
            #expect(row.endpoint == "messages" && row.model == "claude-sonnet-4-5" && row.modelClass == "sonnet-4.x")
            #expect(row.maxTokens == 100 && !row.stream && row.fault == "none")
        }
        #expect(abs((rows[0].ttft ?? 0) - 0.2) < 1e-5)
        #expect(rows[0].outputTokens == 64 && rows[0].inputTokens > 0)
    }

    @Test func rowsReachTheFileWithinASecondWithoutClose() throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = try MockConfig.parse(yaml: orgConfig(key: "k"), file: "t.yaml")
        let recorder = try MockRecorder(directory: dir)
        let mock = VirtualTimeMock(config: config, recorder: recorder)
        for i in 0..<5 { _ = mock.send(at: Double(i), headers: Self.headers(key: "k"), body: Self.body("x\(i)")) }
        // No close: what a SIGKILL would leave on disk after the flush interval.
        Thread.sleep(forTimeInterval: 0.8)
        let rec = try RecordingFormat.read(recorder.path)
        #expect(rec.rows.count == 5)
        recorder.close()
    }

    @Test func theHeaderIsOnDiskBeforeTheFirstRequest() throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = try MockConfig.parse(yaml: orgConfig(key: "k"), file: "t.yaml")
        let recorder = try MockRecorder(directory: dir, flushInterval: 10)
        _ = VirtualTimeMock(config: config, recorder: recorder)
        // No flush has happened yet: a server killed now still leaves a readable recording.
        let rec = try RecordingFormat.read(dir)
        #expect(rec.rows.isEmpty && rec.header.organizations.map(\.id) == ["org-test"])
        recorder.close()
    }

    @Test func aFullQueueDropsAndCountsInsteadOfGrowing() throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let config = try MockConfig.parse(yaml: orgConfig(key: "k"), file: "t.yaml")
        // Room for 5 rows and a writer that flushes every 10 s: the other 15 are dropped.
        let recorder = try MockRecorder(directory: dir, capacity: 5, flushInterval: 10)
        let mock = VirtualTimeMock(config: config, recorder: recorder)
        for i in 0..<20 { _ = mock.send(at: Double(i) * 0.01, headers: Self.headers(key: "k"), body: Self.body("x")) }
        recorder.close()
        let rec = try RecordingFormat.read(dir)
        #expect(rec.rows.count == 5)
        #expect(rec.dropped == 15)
    }

    @Test func anExistingRecordingIsNotOverwritten() throws {
        let dir = Self.tempDir()
        defer { try? FileManager.default.removeItem(atPath: dir) }
        let first = try MockRecorder(directory: dir)
        first.close()
        #expect {
            _ = try MockRecorder(directory: dir)
        } throws: { e in
            "\(e)".contains("already exists")
        }
    }
}
