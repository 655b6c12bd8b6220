import Foundation
import Histogram
public import LimitlabCore

/// Latency and TTFT of succeeded requests as HdrHistogram interval logs (`.hlog`, log format
/// 1.3), the files HdrHistogram's `HistogramLogProcessor`, its plotters and the `hdrhistogram`
/// Python package read (https://github.com/HdrHistogram/HdrHistogram, `HistogramLogWriter`).
///
/// Values are microseconds at 3 significant digits. hdrhistogram-swift
/// (https://github.com/HdrHistogram/hdrhistogram-swift, 0.2.0) has no log writer or wire
/// encoding, so the encoding is written here, counting the samples straight into HdrHistogram's
/// bucket layout (a test checks it against the package's; the package gives `Interval_Max`):
/// the V2 compressed histogram
/// encoding (big-endian header, ZigZag LEB128 counts with runs of zeros as negative lengths,
/// as in HdrHistogram's `AbstractHistogram.encodeIntoCompressedByteBuffer`), in a zlib stream
/// of stored deflate blocks (valid for every zlib reader; no compression), base64 per line.
public enum HdrExport {
    /// Each line of the log covers this many seconds of the run (by completion time).
    public static let intervalS = 10.0
    /// Values are microseconds: `HistogramLogProcessor -outputValueUnitRatio 1000` prints milliseconds.
    public static let unitsPerSecond = 1_000_000.0
    static let significantDigits = 3

    /// One observation: when it was made (seconds into the run) and its value in seconds.
    public struct Sample: Sendable, Equatable {
        public var at: Double
        public var value: Double
        public init(at: Double, value: Double) { self.at = at; self.value = value }
    }

    /// Latency (intended arrival → completion, at completion) and TTFT (intended arrival →
    /// first token, at the first token) of each succeeded request: the samples the report's
    /// `latency_s` and `ttft_s` percentiles are taken over.
    public static func samples(log: RunLog, stream: ArrivalStream) -> (latency: [Sample], ttft: [Sample]) {
        var latency: [Sample] = [], ttft: [Sample] = []
        for r in 0..<log.requestCount where RequestOutcome(rawValue: log.outcome[r]) == .succeeded {
            let a = Int(log.lastAttempt[r])
            let intended = stream.intendedAt[r]
            latency.append(Sample(at: log.completedAt[a], value: log.completedAt[a] - intended))
            ttft.append(Sample(at: log.firstTokenAt[a], value: log.firstTokenAt[a] - intended))
        }
        return (latency, ttft)
    }

    /// The `.hlog` text for `samples`: a header, then one interval histogram per `intervalS`
    /// that has samples. `startEpochS`, when known (live runs), is written as `#[StartTime:]`.
    public static func log(_ samples: [Sample], title: String, startEpochS: Double? = nil) -> String {
        var text = "#[Histogram log format version 1.3]\n"
        text += "#[\(title); values in microseconds; written by \(ReportWriter.generator)]\n"
        if let startEpochS {
            text += "#[StartTime: \(fixed(startEpochS)) (seconds since epoch), \(RFC3339.format(unixSeconds: startEpochS))]\n"
            text += "#[BaseTime: \(fixed(startEpochS)) (seconds since epoch)]\n"
        }
        text += "\"StartTimestamp\",\"Interval_Length\",\"Interval_Max\",\"Interval_Compressed_Histogram\"\n"
        var byInterval: [Int: [UInt64]] = [:]
        for s in samples where s.value.isFinite && s.at.isFinite {
            byInterval[Int((max(0, s.at) / intervalS).rounded(.down)), default: []].append(micros(s.value))
        }
        // hdrhistogram-swift's bucket arithmetic for Interval_Max, which HdrHistogram's writer gives
        // as the highest value equivalent to the interval's maximum (one histogram for the file).
        let overall = byInterval.values.lazy.compactMap { $0.max() }.max() ?? 0
        let shape = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: Swift.max(2, overall),
                                      numberOfSignificantValueDigits: .three)
        for k in byInterval.keys.sorted() {
            let values = byInterval[k]!
            let maxValue = values.max() ?? 0
            let highest = Swift.max(2, maxValue)
            text += "\(fixed(Double(k) * intervalS)),\(fixed(intervalS)),"
                + "\(fixed(Double(shape.highestEquivalentForValue(maxValue)) / 1000)),"
                + encode(values, highestTrackable: highest).base64EncodedString() + "\n"
        }
        return text
    }

    /// All of `values` (microseconds) in one histogram sized to hold the largest.
    static func histogram(_ values: [UInt64]) -> Histogram<UInt64> {
        let highest = Swift.max(2, values.max() ?? 2)
        var h = Histogram<UInt64>(lowestDiscernibleValue: 1, highestTrackableValue: highest,
                                  numberOfSignificantValueDigits: .three)
        for v in values { _ = h.record(v) }
        return h
    }

    static func micros(_ seconds: Double) -> UInt64 {
        UInt64(Swift.max(0, (seconds * unitsPerSecond).rounded()))
    }

    static func fixed(_ v: Double) -> String { String(format: "%.3f", v) }

    // MARK: V2 encoding

    static let encodingCookie: UInt32 = 0x1c84_9303 | 0x10
    static let compressedCookie: UInt32 = 0x1c84_9304 | 0x10

    /// The compressed V2 encoding of a histogram of `values` (lowest discernible value 1, 3
    /// significant digits): external header (cookie, length) + zlib(payload). The counts are
    /// taken straight from the values (walking a histogram's recorded values costs a pass over
    /// all its buckets per interval); a test checks the layout against hdrhistogram-swift's.
    static func encode(_ values: [UInt64], highestTrackable: UInt64) -> Data {
        var counts: [Int: UInt64] = [:]
        for v in values { counts[countsIndex(v), default: 0] += 1 }
        // Only the occupied indices are visited; the gaps between them are runs of zeros.
        var body = Data()
        var next = 0
        for i in counts.keys.sorted() {
            if i > next { zigZag(-Int64(i - next), into: &body) }
            zigZag(Int64(counts[i]!), into: &body)
            next = i + 1
        }
        var payload = Data()
        put32(encodingCookie, &payload)
        put32(UInt32(body.count), &payload)
        put32(0, &payload) // normalizing index offset
        put32(UInt32(significantDigits), &payload)
        put64(1, &payload) // lowest discernible value
        put64(highestTrackable, &payload)
        put64((1.0 as Double).bitPattern, &payload) // integer-to-double conversion ratio
        payload.append(body)
        let compressed = zlibStored(payload)
        var out = Data()
        put32(compressedCookie, &out)
        put32(UInt32(compressed.count), &out)
        out.append(compressed)
        return out
    }

    /// The index of `value` in HdrHistogram's counts array for lowest discernible value 1 and 3
    /// significant digits (sub-bucket count 2048), as `AbstractHistogram.countsArrayIndex`.
    static func countsIndex(_ value: UInt64) -> Int {
        let subBucketHalfCountMagnitude = 10, subBucketMask: UInt64 = 2047, leadingZeroCountBase = 53
        let bucketIndex = leadingZeroCountBase - (value | subBucketMask).leadingZeroBitCount
        let subBucketIndex = Int(value >> UInt64(bucketIndex))
        return ((bucketIndex + 1) << subBucketHalfCountMagnitude) + (subBucketIndex - (1 << subBucketHalfCountMagnitude))
    }

    static func zigZag(_ v: Int64, into d: inout Data) {
        var u = UInt64(bitPattern: (v << 1) ^ (v >> 63))
        // HdrHistogram's LEB128 variant: at most 9 bytes, the ninth carries all 8 remaining bits.
        for _ in 0..<8 {
            if u < 0x80 { d.append(UInt8(u)); return }
            d.append(UInt8(u & 0x7f) | 0x80)
            u >>= 7
        }
        d.append(UInt8(truncatingIfNeeded: u))
    }

    /// A zlib stream (RFC 1950) of stored deflate blocks (RFC 1951 §3.2.4).
    static func zlibStored(_ data: Data) -> Data {
        var out = Data([0x78, 0x01])
        let bytes = [UInt8](data)
        var offset = 0
        repeat {
            let n = Swift.min(65535, bytes.count - offset)
            let final = offset + n == bytes.count
            out.append(final ? 1 : 0)
            out.append(UInt8(n & 0xff)); out.append(UInt8(n >> 8))
            out.append(UInt8(~n & 0xff)); out.append(UInt8((~n >> 8) & 0xff))
            out.append(contentsOf: bytes[offset..<(offset + n)])
            offset += n
        } while offset < bytes.count
        var a: UInt32 = 1, b: UInt32 = 0
        for byte in bytes { a = (a + UInt32(byte)) % 65521; b = (b + a) % 65521 }
        put32((b << 16) | a, &out)
        return out
    }

    static func put32(_ v: UInt32, _ d: inout Data) { withUnsafeBytes(of: v.bigEndian) { d.append(contentsOf: $0) } }
    static func put64(_ v: UInt64, _ d: inout Data) { withUnsafeBytes(of: v.bigEndian) { d.append(contentsOf: $0) } }

    /// Writes `<label>.latency.hlog` and `<label>.ttft.hlog` for each run into `directory`.
    public static func write(report: Report, stream: ArrivalStream, runs: [(spec: StrategySpec, log: RunLog)],
                             to directory: String) throws(ReportError) {
        for (entry, run) in zip(report.runs, runs) {
            let (latency, ttft) = samples(log: run.log, stream: stream)
                        let name = ReportWriter.fileSafe(entry.strategy)
            for (what, data) in [("latency", latency), ("ttft", ttft)] {
                let title = "limitlab \(what) of succeeded requests, strategy \(entry.strategy), scenario \(report.scenario.name)"
                try ReportWriter.writeFile(Data(log(data, title: title, startEpochS: entry.timeOriginEpochS).utf8),
                                           to: (directory as NSString).appendingPathComponent("\(name).\(what).hlog"))
            }
        }
    }
}
