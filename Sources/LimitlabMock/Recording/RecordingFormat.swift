public import Foundation
public import LimitlabCore

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

    /// Appends one row's line to `out`. `bodyHash`, when given, is written as 16 hex digits in
    /// place of `r.bodyHash`: the server hands over the raw hash so no string is built per request.
    ///
    /// Written byte by byte, without an intermediate `String` per field: the writer thread shares
    /// the server's core, and formatting through string interpolation cost the 200 path about a
    /// tenth of its throughput.
    static func append(_ r: RecordingRow, bodyHash: UInt64? = nil, to out: inout [UInt8]) {
        var w = RowBytes(out: consume out)
        w.raw("{\"at\":"); w.time(r.at)
        w.raw(",\"key\":"); w.string(r.key)
        w.raw(",\"org\":"); w.string(r.org)
        w.raw(",\"model\":"); w.string(r.model)
        w.raw(",\"class\":"); w.string(r.modelClass)
        w.raw(",\"endpoint\":"); w.string(r.endpoint)
        w.raw(",\"status\":"); w.int(r.status)
        w.raw(",\"refused_by\":"); w.string(r.refusedBy)
        w.raw(",\"retry_after\":"); w.optionalInt(r.retryAfter)
        w.raw(",\"input_tokens\":"); w.int(r.inputTokens)
        w.raw(",\"cache_write_tokens\":"); w.int(r.cacheWriteTokens)
        w.raw(",\"cache_read_tokens\":"); w.int(r.cacheReadTokens)
        w.raw(",\"output_tokens\":"); w.int(r.outputTokens)
        w.raw(",\"max_tokens\":"); w.int(r.maxTokens)
        w.raw(",\"ttft\":"); w.time(r.ttft ?? .nan)
        w.raw(",\"completed_at\":"); w.time(r.completedAt)
        w.raw(r.stream ? ",\"stream\":true" : ",\"stream\":false")
        w.raw(",\"fault\":"); w.string(r.fault)
        w.raw(",\"request_id\":"); w.string(r.requestId)
        w.raw(",\"body_hash\":")
        if let bodyHash { w.hex16(bodyHash) } else { w.string(r.bodyHash) }
        w.raw(",\"retry_count\":"); w.optionalInt(r.retryCount)
        w.raw("}\n")
        out = w.out
    }

    /// The byte-level writer behind `append(_:bodyHash:to:)`.
    private struct RowBytes {
        var out: [UInt8]

        mutating func raw(_ s: StaticString) {
            s.withUTF8Buffer { out.append(contentsOf: $0) }
        }

        /// A JSON string literal; escaping (rare here: ids and labels) goes through `JSONText`.
        mutating func string(_ s: String) {
            var plain = true
            for b in s.utf8 where b < 0x20 || b == 0x22 || b == 0x5C {
                plain = false
                break
            }
            if plain {
                out.append(0x22)
                out.append(contentsOf: s.utf8)
                out.append(0x22)
            } else {
                out.append(contentsOf: JSONText.quoted(s).utf8)
            }
        }

        mutating func int(_ v: Int) {
            if v < 0 { out.append(0x2D) }
            unsigned(v.magnitude)
        }

        mutating func optionalInt(_ v: Int?) {
            if let v { int(v) } else { raw("null") }
        }

        /// Decimal digits of `v`, most significant first.
        mutating func unsigned(_ v: UInt, minDigits: Int = 1) {
            let start = out.count
            var rest = v
            repeat {
                out.append(0x30 + UInt8(rest % 10))
                rest /= 10
            } while rest > 0
            while out.count - start < minDigits { out.append(0x30) }
            out[start...].reverse()
        }

        /// Seconds to the microsecond (`1.250000`), or `null` when not finite.
        mutating func time(_ v: Double) {
            guard v.isFinite else { return raw("null") }
            let micros = (Swift.abs(v) * 1e6).rounded()
            // Past 2^63 µs (292,000 years) the integer conversion would trap; the reader takes any JSON number.
            guard micros < 9.2e18 else { return out.append(contentsOf: "\(v)".utf8) }
            let us = UInt(micros)
            if v < 0 { out.append(0x2D) }
            unsigned(us / 1_000_000)
            out.append(0x2E)
            unsigned(us % 1_000_000, minDigits: 6)
        }

        mutating func hex16(_ v: UInt64) {
            out.append(0x22)
            for shift in stride(from: 60, through: 0, by: -4) {
                let d = UInt8((v >> UInt64(shift)) & 0xF)
                out.append(d < 10 ? 0x30 + d : 0x57 + d)
            }
            out.append(0x22)
        }
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
