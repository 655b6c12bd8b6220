public import Foundation
import LimitlabCore

/// Writing and reading `limitlab.recording/1` (docs/recording.md): JSON Lines, a header object
/// first, then one object per request in arrival order.
public enum RecordingFormat {
    // MARK: Writing

    private struct HeaderJSON: Codable {
        var schema: String
        var epochS: Double
        var seed: UInt64
        var organizations: [Org]
        struct Org: Codable {
            var id: String
            var classes: [String: LimitConfig]
        }
        enum CodingKeys: String, CodingKey {
            case schema, seed, organizations
            case epochS = "epoch_s"
        }
    }

    private struct HeaderSchema: Codable { var schema: String }

    static func headerLine(_ h: RecordingHeader) -> String {
        let json = HeaderJSON(schema: RecordingHeader.schema, epochS: h.epoch, seed: h.seed,
                              organizations: h.organizations.map { .init(id: $0.id, classes: $0.classes) })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(json)) ?? Data("{\"schema\":\"\(RecordingHeader.schema)\"}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// One row as a JSON line (fields in a fixed order, times to the microsecond).
    public static func line(_ r: RecordingRow) -> String {
        var out: [UInt8] = []
        append(r, to: &out)
        return String(decoding: out, as: UTF8.self)
    }

    static func append(_ r: RecordingRow, to out: inout [UInt8]) {
        func raw(_ s: String) { out.append(contentsOf: s.utf8) }
        func str(_ name: String, _ v: String) { raw(",\"\(name)\":"); raw(JSONText.quoted(v)) }
        func int(_ name: String, _ v: Int) { raw(",\"\(name)\":\(v)") }
        func time(_ v: Double) {
            guard v.isFinite else { return raw("null") }
            // Microseconds, written by hand: String(format:) costs more than the rest of the row.
            let us = Int((Swift.abs(v) * 1e6).rounded())
            let frac = String(us % 1_000_000)
            raw((v < 0 ? "-" : "") + String(us / 1_000_000) + "." + String(repeating: "0", count: 6 - frac.count) + frac)
        }
        raw("{\"at\":"); time(r.at)
        str("key", r.key); str("org", r.org); str("model", r.model); str("class", r.modelClass)
        str("endpoint", r.endpoint); int("status", r.status); str("refused_by", r.refusedBy)
        raw(",\"retry_after\":"); raw(r.retryAfter.map(String.init) ?? "null")
        int("input_tokens", r.inputTokens); int("cache_write_tokens", r.cacheWriteTokens)
        int("cache_read_tokens", r.cacheReadTokens); int("output_tokens", r.outputTokens); int("max_tokens", r.maxTokens)
        raw(",\"ttft\":"); time(r.ttft ?? .nan)
        raw(",\"completed_at\":"); time(r.completedAt)
        raw(",\"stream\":"); raw(r.stream ? "true" : "false")
        str("fault", r.fault); str("request_id", r.requestId); str("body_hash", r.bodyHash)
        raw(",\"retry_count\":"); raw(r.retryCount.map(String.init) ?? "null")
        raw("}\n")
    }

    static func hex(_ v: UInt64) -> String {
        let s = String(v, radix: 16)
        return String(repeating: "0", count: 16 - s.count) + s
    }

    // MARK: Reading

    /// A recording read back.
    public struct Contents: Sendable {
        public var header: RecordingHeader
        public var rows: [RecordingRow]
        /// Rows the server dropped because the disk could not keep up (`{"dropped":N}` lines).
        public var dropped: Int
        /// The last line was cut off (a server killed mid-write) and was skipped.
        public var truncatedLastLine: Bool
        /// The file read.
        public var path: String

        public init(header: RecordingHeader, rows: [RecordingRow], dropped: Int = 0, truncatedLastLine: Bool = false,
                    path: String) {
            self.header = header; self.rows = rows; self.dropped = dropped
            self.truncatedLastLine = truncatedLastLine; self.path = path
        }
    }

    /// Reads `DIR/recording.jsonl` (or a recording file given directly). A last line cut off
    /// mid-write is skipped; any other unreadable line is an error naming file and line.
    public static func read(_ pathOrDirectory: String) throws(MockError) -> Contents {
        var isDir: ObjCBool = false
        var path = pathOrDirectory
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir), isDir.boolValue {
            path = (path as NSString).appendingPathComponent(MockRecorder.fileName)
        }
        guard let data = FileManager.default.contents(atPath: path) else {
            throw MockError(.config, "cannot read the recording \(path): no such file (record one with "
                            + "`limitlab serve --record DIR` or `limitlab test`)")
        }
        return try parse(data, path: path)
    }

    /// Parses a recording's bytes; `path` names it in errors.
    public static func parse(_ data: Data, path: String) throws(MockError) -> Contents {
        let bytes = [UInt8](data)
        var lines: [Range<Int>] = []
        var start = 0
        for i in bytes.indices where bytes[i] == 0x0A {
            lines.append(start..<i)
            start = i + 1
        }
        // A last line without its newline was cut off while being written.
        let tail = start < bytes.count ? start..<bytes.count : nil
        guard let first = lines.first ?? tail else {
            throw MockError(.config, "\(path) is empty: not a limitlab recording")
        }
        let headerData = Data(bytes[first])
        guard let h = try? JSONDecoder().decode(HeaderSchema.self, from: headerData), h.schema == RecordingHeader.schema else {
            throw MockError(.config, "\(path):1: not a limitlab recording (expected a header with \"schema\":\""
                            + "\(RecordingHeader.schema)\")")
        }
        let header: RecordingHeader
        do {
            let full = try JSONDecoder().decode(HeaderJSON.self, from: headerData)
            header = RecordingHeader(epoch: full.epochS, seed: full.seed,
                                     organizations: full.organizations.map { .init(id: $0.id, classes: $0.classes) })
        } catch {
            throw MockError(.config, "\(path):1: the recording's header is incomplete (epoch_s, seed and organizations "
                            + "with their limits are required): \(error)")
        }
        var rows: [RecordingRow] = []
        rows.reserveCapacity(lines.count)
        var dropped = 0
        var truncated = false
        var all = Array(lines.dropFirst(lines.first == nil ? 0 : 1))
        if let tail, !lines.isEmpty { all.append(tail) }
        for (n, range) in all.enumerated() {
            let lineNumber = n + 2
            let isTail = tail != nil && n == all.count - 1
            if range.isEmpty { continue }
            let value: JSONValue
            do {
                value = try bytes[range].withUnsafeBytes { (b) throws(JSONParseError) -> JSONValue in try JSONParser.parse(b) }
            } catch {
                if isTail { truncated = true; continue }
                let why = (error as? JSONParseError).map { "\($0.message) at byte \($0.offset)" } ?? "\(error)"
                throw MockError(.config, "\(path):\(lineNumber): not a JSON object: \(why)")
            }
            if case .number(let d)? = value["dropped"] {
                dropped += Int(d)
                continue
            }
            do { rows.append(try row(value)) } catch {
                if isTail { truncated = true; continue }
                throw MockError(.config, "\(path):\(lineNumber): \(error.message)")
            }
        }
        return Contents(header: header, rows: rows, dropped: dropped, truncatedLastLine: truncated, path: path)
    }

    private static func row(_ v: JSONValue) throws(MockError) -> RecordingRow {
        func missing(_ k: String, _ what: String) -> MockError { MockError(.config, "\"\(k)\": expected \(what)") }
        func num(_ k: String) throws(MockError) -> Double {
            guard case .number(let d)? = v[k] else { throw missing(k, "a number") }
            return d
        }
        func optNum(_ k: String) throws(MockError) -> Double? {
            switch v[k] {
            case .number(let d)?: return d
            case .null?, nil: return nil
            default: throw missing(k, "a number or null")
            }
        }
        func str(_ k: String) throws(MockError) -> String {
            guard case .string(let s)? = v[k] else { throw missing(k, "a string") }
            return s
        }
        func int(_ k: String) throws(MockError) -> Int {
            let d = try num(k)
            guard d.isFinite, d == d.rounded(), Swift.abs(d) < 1e15 else { throw missing(k, "a whole number") }
            return Int(d)
        }
        guard case .bool(let stream)? = v["stream"] else { throw missing("stream", "true or false") }
        return RecordingRow(
            at: try num("at"), key: try str("key"), org: try str("org"), model: try str("model"),
            modelClass: try str("class"), endpoint: try str("endpoint"), status: try int("status"),
            refusedBy: try str("refused_by"), retryAfter: try optNum("retry_after").map { Int($0) },
            inputTokens: try int("input_tokens"), cacheWriteTokens: try int("cache_write_tokens"),
            cacheReadTokens: try int("cache_read_tokens"), outputTokens: try int("output_tokens"),
            maxTokens: try int("max_tokens"), ttft: try optNum("ttft"), completedAt: try num("completed_at"),
            stream: stream, fault: try str("fault"), requestId: try str("request_id"), bodyHash: try str("body_hash"),
            retryCount: try optNum("retry_count").map { Int($0) })
    }
}
