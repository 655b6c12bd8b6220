/// Metrics as an OTLP `ExportMetricsServiceRequest` in the JSON encoding of OTLP/HTTP
/// (https://opentelemetry.io/docs/specs/otlp/#json-protobuf-encoding; the message is
/// opentelemetry-proto's `opentelemetry/proto/metrics/v1/metrics.proto`).
///
/// Mapping from the Prometheus families (the reverse of the collector's Prometheus translation,
/// https://opentelemetry.io/docs/specs/otel/compatibility/prometheus_and_openmetrics/, so a
/// collector exporting to Prometheus gives the same names back):
/// - counter → cumulative monotonic `sum`, named without `_total`;
/// - gauge → `gauge`;
/// - histogram → cumulative `histogram`: the `le` buckets become `explicitBounds` and per-bucket
///   (not cumulative) `bucketCounts`; a `_seconds` suffix becomes unit `s`.
/// Labels become string attributes. 64-bit integers are JSON strings, as the encoding requires.
public enum OTLPMetricsJSON {
    /// The request body for `metrics`, stamped `timeNanos` (Unix ns), cumulative since `startNanos`.
    public static func encode(_ metrics: PrometheusText, resource: [(String, String)], scope: String,
                              version: String, startNanos: UInt64, timeNanos: UInt64) -> String {
        var w = JSONWriter()
        w.raw("{\"resourceMetrics\":[{\"resource\":{\"attributes\":")
        w.attributes(resource)
        w.raw("},\"scopeMetrics\":[{\"scope\":{\"name\":")
        w.string(scope)
        w.raw(",\"version\":")
        w.string(version)
        w.raw("},\"metrics\":[")
        var first = true
        for f in metrics.families where !f.samples.isEmpty {
            guard ["counter", "gauge", "histogram"].contains(f.type) else { continue }
            if !first { w.raw(",") }
            first = false
            var name = f.name, unit = ""
            if f.type == "counter", name.hasSuffix("_total") { name.removeLast("_total".count) }
            if name.hasSuffix("_seconds") {
                name.removeLast("_seconds".count)
                unit = "s"
            }
            w.raw("{\"name\":"); w.string(name)
            w.raw(",\"description\":"); w.string(f.help)
            w.raw(",\"unit\":"); w.string(unit)
            let stamp = ",\"startTimeUnixNano\":\"\(startNanos)\",\"timeUnixNano\":\"\(timeNanos)\""
            switch f.type {
            case "counter":
                w.raw(",\"sum\":{\"aggregationTemporality\":2,\"isMonotonic\":true,\"dataPoints\":[")
                for (i, s) in f.samples.enumerated() {
                    if i > 0 { w.raw(",") }
                    w.raw("{\"attributes\":"); w.attributes(s.labels); w.raw(stamp); w.number(s.value); w.raw("}")
                }
                w.raw("]}}")
            case "gauge":
                w.raw(",\"gauge\":{\"dataPoints\":[")
                for (i, s) in f.samples.enumerated() {
                    if i > 0 { w.raw(",") }
                    w.raw("{\"attributes\":"); w.attributes(s.labels); w.raw(stamp); w.number(s.value); w.raw("}")
                }
                w.raw("]}}")
            default:
                w.raw(",\"histogram\":{\"aggregationTemporality\":2,\"dataPoints\":[")
                for (i, p) in histogramPoints(f).enumerated() {
                    if i > 0 { w.raw(",") }
                    w.raw("{\"attributes\":"); w.attributes(p.labels); w.raw(stamp)
                    w.raw(",\"count\":\"\(p.count)\",\"sum\":"); w.double(p.sum)
                    w.raw(",\"bucketCounts\":[")
                    w.raw(p.bucketCounts.map { "\"\($0)\"" }.joined(separator: ","))
                    w.raw("],\"explicitBounds\":[")
                    for (j, b) in p.bounds.enumerated() {
                        if j > 0 { w.raw(",") }
                        w.double(b)
                    }
                    w.raw("]}")
                }
                w.raw("]}}")
            }
        }
        w.raw("]}]}]}")
        return w.text
    }

    struct HistogramPoint {
        var labels: [(String, String)]
        var bounds: [Double] = []
        var bucketCounts: [UInt64] = []
        var count: UInt64 = 0
        var sum = 0.0
    }

    /// One point per label set: Prometheus' cumulative `le` buckets as OTLP's per-bucket counts
    /// (`bucketCounts` has one more entry than `explicitBounds`: the +Inf bucket).
    static func histogramPoints(_ f: PrometheusText.Family) -> [HistogramPoint] {
        var points: [HistogramPoint] = []
        var cumulative: [[(Double, Double)]] = []
        func point(_ labels: [(String, String)]) -> Int {
            let key = labels.filter { $0.0 != "le" }
            if let i = points.firstIndex(where: { p in
                p.labels.count == key.count && zip(p.labels, key).allSatisfy { $0.0 == $1.0 && $0.1 == $1.1 }
            }) { return i }
            points.append(HistogramPoint(labels: key))
            cumulative.append([])
            return points.count - 1
        }
        for s in f.samples {
            let i = point(s.labels)
            if s.name == f.name + "_bucket", let le = s.label("le").flatMap(bound) {
                cumulative[i].append((le, s.value))
            } else if s.name == f.name + "_sum" {
                points[i].sum = s.value
            } else if s.name == f.name + "_count" {
                points[i].count = UInt64(Swift.max(0, s.value))
            }
        }
        for i in points.indices {
            let buckets = cumulative[i].sorted { $0.0 < $1.0 }
            var below = 0.0
            for (le, c) in buckets where le.isFinite {
                points[i].bounds.append(le)
                points[i].bucketCounts.append(UInt64(Swift.max(0, c - below)))
                below = c
            }
            points[i].bucketCounts.append(UInt64(Swift.max(0, Double(points[i].count) - below)))
        }
        return points
    }

    private static func bound(_ s: String) -> Double? { s == "+Inf" ? .infinity : Double(s) }
}

/// Just enough JSON writing for the OTLP body.
struct JSONWriter {
    var text = ""

    mutating func raw(_ s: String) { text += s }

    mutating func string(_ s: String) {
        text += "\""
        for u in s.unicodeScalars {
            switch u {
            case "\"": text += "\\\""
            case "\\": text += "\\\\"
            case "\n": text += "\\n"
            case "\r": text += "\\r"
            case "\t": text += "\\t"
            case _ where u.value < 0x20:
                let hex = String(u.value, radix: 16)
                text += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: text.unicodeScalars.append(u)
            }
        }
        text += "\""
    }

    /// A finite double; JSON has no NaN or infinity, so those are written as OTLP's JSON
    /// mapping writes them (strings "NaN", "Infinity", "-Infinity").
    mutating func double(_ v: Double) {
        if v.isNaN { text += "\"NaN\"" } else if v.isInfinite { text += v > 0 ? "\"Infinity\"" : "\"-Infinity\"" } else {
            text += "\(v)"
        }
    }

    /// `,"asInt":"N"` for a whole number that fits, else `,"asDouble":v`.
    mutating func number(_ v: Double) {
        if v.isFinite, v == v.rounded(), abs(v) < 9.0e15 {
            text += ",\"asInt\":\"\(Int64(v))\""
        } else {
            text += ",\"asDouble\":"
            double(v)
        }
    }

    mutating func attributes(_ pairs: [(String, String)]) {
        text += "["
        for (i, (k, v)) in pairs.enumerated() {
            if i > 0 { text += "," }
            text += "{\"key\":"
            string(k)
            text += ",\"value\":{\"stringValue\":"
            string(v)
            text += "}}"
        }
        text += "]"
    }
}
