import Foundation
import LimitlabLive
import LimitlabTelemetry
import Prometheus
import Testing

/// The text format read back, the OTLP JSON mapping, and the Grafana dashboard's queries.
@Suite struct TelemetryFormatTests {
    /// A registry's own output parses back to the values and labels put in, escapes undone.
    @Test func registryTextReadsBack() throws {
        let registry = PrometheusCollectorRegistry()
        registry.makeCounter(descriptor: .init(metricName: "x_attempts", unitName: "total", helpText: "h \\ x"),
                             labels: [("strategy", "a\"b\\c\nd")]).increment(by: Int64(7))
        registry.makeGauge(descriptor: .init(metricName: "x_level", unitName: "", helpText: "g"),
                           labels: [("strategy", "s")]).set(to: -2.5)
        let h = registry.makeValueHistogram(descriptor: .init(metricName: "x_latency", unitName: "seconds", helpText: "l"),
                                            labels: [("strategy", "s")], buckets: [0.1, 1, 10])
        for v in [0.05, 0.5, 0.7, 5, 50] { h.record(v) }
        let text = try PrometheusText(parsing: registry.emitToString())
        #expect(text.family("x_attempts_total")?.type == "counter")
        #expect(text.family("x_attempts_total")?.help == "h \\ x")
        #expect(text.family("x_attempts_total")?.samples
                == [.init(name: "x_attempts_total", labels: [("strategy", "a\"b\\c\nd")], value: 7)])
        #expect(text.sum("x_level", ["strategy": "s"]) == -2.5)
        let hist = try #require(text.family("x_latency_seconds"))
        #expect(hist.type == "histogram")
        #expect(hist.samples.count == 6) // 3 bounds + Inf, sum, count
        #expect(text.sum("x_latency_seconds_bucket", ["le": "1.0"]) == 3)
        #expect(text.sum("x_latency_seconds_count") == 5)
    }

    @Test func malformedTextIsRefusedWithItsLine() {
        #expect(throws: PrometheusText.ParseError.self) { try PrometheusText(parsing: "ok 1\nbad{a=\"x} 2\n") }
        do {
            _ = try PrometheusText(parsing: "ok 1\nnovalue{a=\"x\"}\n")
            Issue.record("expected an error")
        } catch {
            #expect(error.line == 2)
        }
    }

    /// Counters become cumulative monotonic sums without `_total`; cumulative `le` buckets
    /// become per-bucket counts with one more entry than the bounds; `_seconds` becomes unit s.
    @Test func otlpJSONMapsTheFamilies() throws {
        let text = try PrometheusText(parsing: """
            # TYPE a_total counter
            a_total{strategy="s"} 12
            # TYPE g gauge
            g{strategy="s"} 0.25
            # TYPE l_seconds histogram
            l_seconds_bucket{strategy="s",le="0.1"} 1
            l_seconds_bucket{strategy="s",le="1.0"} 3
            l_seconds_bucket{strategy="s",le="+Inf"} 4
            l_seconds_sum{strategy="s"} 6.5
            l_seconds_count{strategy="s"} 4
            """)
        let body = OTLPMetricsJSON.encode(text, resource: [("service.name", "limitlab")], scope: "limitlab", version: "1",
                                          startNanos: 1, timeNanos: 2)
        let root = try #require(try JSONSerialization.jsonObject(with: Data(body.utf8)) as? [String: Any])
        let rm = try #require((root["resourceMetrics"] as? [[String: Any]])?.first)
        let sm = try #require((rm["scopeMetrics"] as? [[String: Any]])?.first)
        let metrics = try #require(sm["metrics"] as? [[String: Any]])
        #expect(metrics.compactMap { $0["name"] as? String } == ["a", "g", "l"])
        let sum = try #require(metrics[0]["sum"] as? [String: Any])
        #expect(sum["isMonotonic"] as? Bool == true && sum["aggregationTemporality"] as? Int == 2)
        let sp = try #require((sum["dataPoints"] as? [[String: Any]])?.first)
        #expect(sp["asInt"] as? String == "12")
        #expect(sp["startTimeUnixNano"] as? String == "1" && sp["timeUnixNano"] as? String == "2")
        let gp = try #require(((metrics[1]["gauge"] as? [String: Any])?["dataPoints"] as? [[String: Any]])?.first)
        #expect(gp["asDouble"] as? Double == 0.25)
        #expect(metrics[2]["unit"] as? String == "s")
        let hp = try #require(((metrics[2]["histogram"] as? [String: Any])?["dataPoints"] as? [[String: Any]])?.first)
        #expect(hp["explicitBounds"] as? [Double] == [0.1, 1.0])
        #expect(hp["bucketCounts"] as? [String] == ["1", "2", "1"])
        #expect(hp["count"] as? String == "4" && hp["sum"] as? Double == 6.5)
        let attrs = try #require(hp["attributes"] as? [[String: Any]])
        #expect(attrs.count == 1 && attrs[0]["key"] as? String == "strategy") // `le` is not an attribute
    }

    @Test func otlpEndpointFromTheFlag() {
        #expect(OTLPPusher.endpoint(for: "http://127.0.0.1:4318") == "http://127.0.0.1:4318/v1/metrics")
        #expect(OTLPPusher.endpoint(for: "http://127.0.0.1:4318/") == "http://127.0.0.1:4318/v1/metrics")
        #expect(OTLPPusher.endpoint(for: "https://otlp.example/otlp/v1/metrics") == "https://otlp.example/otlp/v1/metrics")
        #expect(OTLPPusher.endpoint(for: "127.0.0.1:4318") == nil)
        #expect(OTLPPusher.endpoint(for: "ftp://host/x") == nil)
    }

    @Test func otlpHeadersFromTheStandardVariables() {
        #expect(OTLPPusher.headers(environment: [:]) == [])
        #expect(OTLPPusher.headers(environment: ["OTEL_EXPORTER_OTLP_HEADERS": "api-key=abc%3D%3D, x-team = one"])
                == ["api-key: abc==", "x-team: one"])
        // The metrics-specific variable wins; a malformed entry or a value with a line break is skipped.
        #expect(OTLPPusher.headers(environment: ["OTEL_EXPORTER_OTLP_HEADERS": "a=1",
                                                 "OTEL_EXPORTER_OTLP_METRICS_HEADERS": "b=2,broken,c=x%0Ay,d e=3"])
                == ["b: 2"])
    }

    /// The dashboard is valid JSON and every metric its queries use is one the live runner
    /// serves (a histogram's `_bucket`, `_sum` and `_count` series included).
    @Test func grafanaDashboardUsesOnlyServedMetrics() throws {
        let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .deletingLastPathComponent()
        let data = try Data(contentsOf: root.appendingPathComponent("deploy/grafana/limitlab-live.json"))
        let dashboard = try #require(try JSONSerialization.jsonObject(with: data) as? [String: Any])
        #expect(dashboard["title"] as? String != nil)
        var served: Set<String> = []
        for f in LiveMetrics.families {
            served.insert(f.name)
            if f.type == "histogram" { for s in ["_bucket", "_sum", "_count"] { served.insert(f.name + s) } }
        }
        var exprs: [String] = []
        func walk(_ v: Any) {
            if let d = v as? [String: Any] {
                for (k, x) in d { if (k == "expr" || k == "query"), let s = x as? String { exprs.append(s) } else { walk(x) } }
            } else if let a = v as? [Any] { a.forEach(walk) }
        }
        walk(dashboard)
        #expect(exprs.count >= 6, "the dashboard should have its panels' queries")
        var used: Set<String> = []
        for e in exprs { for m in e.matches(of: #/limitlab_[a-z0-9_]+/#) { used.insert(String(m.output)) } }
        #expect(!used.isEmpty)
        #expect(used.subtracting(served).isEmpty, "not served: \(used.subtracting(served).sorted())")
        // The panels the telemetry guide promises.
        for m in ["limitlab_live_rate_limited_total", "limitlab_live_attempts_total", "limitlab_live_in_flight",
                  "limitlab_live_latency_seconds_bucket", "limitlab_live_bucket_remaining",
                  "limitlab_live_schedule_lag_seconds_bucket"] {
            #expect(used.contains(m), "\(m) is not charted")
        }
    }
}
