import Foundation
import LimitlabCore
@testable import LimitlabReport
import LimitlabSim
import Testing

/// The pieces of the `.hlog` encoding against known values; tests/hdr-export.sh reads whole
/// files back with HdrHistogram's Python package.
@Suite("HdrHistogram export")
struct HdrExportTests {
    @Test func zigZagLEB128MatchesHdrHistogram() {
        func bytes(_ v: Int64) -> [UInt8] { var d = Data(); HdrExport.zigZag(v, into: &d); return [UInt8](d) }
        #expect(bytes(0) == [0])
        #expect(bytes(-1) == [1])
        #expect(bytes(1) == [2])
        #expect(bytes(64) == [0x80, 0x01])
        #expect(bytes(-3) == [5])
        // The ninth byte carries the last 8 bits whole.
        #expect(bytes(Int64.min).count == 9)
    }

    @Test func countsIndexFollowsTheBucketLayout() {
        // 3 significant digits: 2048 sub-buckets, unit resolution up to 2047, then halves.
        #expect(HdrExport.countsIndex(0) == 0)
        #expect(HdrExport.countsIndex(5) == 5)
        #expect(HdrExport.countsIndex(2047) == 2047)
        #expect(HdrExport.countsIndex(2048) == 2048)
        #expect(HdrExport.countsIndex(2049) == 2048) // same 2-unit bucket
        #expect(HdrExport.countsIndex(4096) == 3072)
        // The same buckets as hdrhistogram-swift's: two values share an index exactly when the
        // package calls them equivalent.
        let h = HdrExport.histogram([1, 3_600_000_000])
        var x: UInt64 = 12345
        for _ in 0..<2000 {
            x = x &* 6364136223846793005 &+ 1442695040888963407
            let a = (x >> 33) % 3_600_000_000, b = a + (x >> 20) % 5000
            #expect((HdrExport.countsIndex(a) == HdrExport.countsIndex(b)) == h.valuesAreEquivalent(a, b), "\(a) \(b)")
        }
    }

    @Test func zlibStreamIsValid() {
        let z = [UInt8](HdrExport.zlibStored(Data("abc".utf8)))
        #expect(Array(z.prefix(2)) == [0x78, 0x01])
        #expect(Array(z[2..<7]) == [0x01, 0x03, 0x00, 0xfc, 0xff]) // final stored block of 3 bytes
        #expect(Array(z.suffix(4)) == [0x02, 0x4d, 0x01, 0x27]) // Adler-32 of "abc"
        // Longer than one stored block: two blocks, the first not final.
        let big = [UInt8](HdrExport.zlibStored(Data(repeating: 7, count: 70_000)))
        #expect(big[2] == 0 && big.count == 2 + 5 + 65535 + 5 + (70_000 - 65535) + 4)
    }

    @Test func oneLinePerIntervalWithSamples() {
        let samples = [0.5, 3, 9.9, 25].map { HdrExport.Sample(at: $0, value: 0.25) }
        let lines = HdrExport.log(samples, title: "t").split(separator: "\n")
        let intervals = lines.filter { $0.first?.isNumber == true }
        #expect(intervals.map { $0.split(separator: ",")[0] } == ["0.000", "20.000"])
        #expect(intervals.allSatisfy { $0.split(separator: ",")[3].hasPrefix("HISTF") })
        // Interval max in ms: the highest value equivalent to 250 ms at 3 digits, as HdrHistogram's writer.
        let max = Double(intervals[0].split(separator: ",")[2])!
        #expect(max >= 250 && max <= 250 * 1.001)
    }

    @Test func samplesAreTheReportsSamples() throws {
        let sc = MergeTests.scenario(seed: 3, workers: nil)
        let result = try Simulator.run(sc)
        for run in result.runs {
            let s = Summariser.summarise(log: run.log, stream: result.stream, slo: sc.slo, scenario: sc, options: SummaryOptions())
            let (latency, ttft) = HdrExport.samples(log: run.log, stream: result.stream)
            #expect(latency.count == s.latencyS.count && ttft.count == s.ttftS.count && latency.count > 0)
            #expect(latency.map(\.value).max() == s.latencyS.max)
            // Recorded at 3 significant digits, the histogram's median is an order statistic next
            // to the report's interpolated p50, within 0.1 % (and 1 µs of rounding).
            let h = HdrExport.histogram(latency.map { HdrExport.micros($0.value) })
            let p50 = Double(h.valueAtPercentile(50)) / HdrExport.unitsPerSecond
            let sorted = latency.map(\.value).sorted()
            let k = (sorted.count - 1) / 2
            let (lo, hi) = (sorted[k], sorted[min(k + 1, sorted.count - 1)])
            #expect(lo <= s.latencyS.p50 && s.latencyS.p50 <= hi)
            #expect(p50 >= lo * 0.999 - 1e-6 && p50 <= hi * 1.001 + 1e-6, "\(p50) not in [\(lo), \(hi)]")
        }
    }
}
