import Foundation
import LimitlabCore
import LimitlabLive
import LimitlabReport
import LimitlabTelemetry
import LimitlabTestSupport
import Testing

extension Live {
    /// Live metrics while a run goes: the `/metrics` endpoint and the OTLP push, both read
    /// from the runner's registry.
    @Suite struct TelemetryTests {
        /// 80 requests over 4 s against a mock whose request bucket holds 60, so 429s happen: two scrapes a
        /// second apart see the attempt counter rise; at the end every counter equals the
        /// report's total; the OTLP stand-in received pushes carrying the same attempt count.
        @Test func scrapesRiseDuringTheRunAndMatchTheReportAtTheEnd() async throws {
            let s = makeScenario(.live, arrivals: [ArrivalSpec(.constant(rate: 20))], length: .duration(4),
                                 limits: LimitConfig(rpm: 60, itpm: 1e9, otpm: 1e9))
            let metrics = LiveMetrics()
            let server = MetricsServer(registry: metrics.registry)
            let port = try server.start(host: "127.0.0.1", port: 0)
            defer { server.stop() }
            let collector = try RecordingServer { _, _ in RecordingServer.response(status: 200, headers: [], body: "{}") }
            defer { collector.stop() }
            let pusher = OTLPPusher(endpoint: try #require(OTLPPusher.endpoint(for: "http://127.0.0.1:\(collector.port)")),
                                    interval: 0.5, registry: metrics.registry, resource: [("service.name", "limitlab")])
            pusher.start()

            var options = LiveOptions(requestTimeout: 20, gracePeriod: 5)
            options.metrics = metrics
            let (runner, fleet) = mockRunner(s, options: options)
            let url = "http://127.0.0.1:\(port)/metrics"
            let run = Task { try await runner.run() }

            // First scrape once sending has begun, the second a second later.
            var first = try await scrape(url)
            for _ in 0..<100 where first.sum("limitlab_live_attempts_sent_total") == 0 {
                try await Task.sleep(for: .milliseconds(50))
                first = try await scrape(url)
            }
            let firstAt = Date()
            try await Task.sleep(for: .seconds(1))
            let second = try await scrape(url)
            let gap = Date().timeIntervalSince(firstAt)
            let result = try await run.value
            await fleet.stop()
            let pushed = pusher.finish()
            let last = try await scrape(url)

            let a1 = first.sum("limitlab_live_attempts_sent_total"), a2 = second.sum("limitlab_live_attempts_sent_total")
            #expect(a1 > 0)
            // Attempts leave at 20/s or more (retries add to them), the first scrape came while
            // sending, and the run lasts 4 s: the second scrape, `gap` later, must see more.
            #expect(a2 > a1, "attempts \(a1) then \(a2), \(gap) s apart")
            #expect(second.sum("limitlab_live_run_active", ["strategy": "none"]) == 1)

            let input = result.reportInput()
            let report = ReportWriter.build(scenario: s, scenarioFile: nil, stream: input.stream, runs: input.runs)
            let summary = try #require(report.runs.first).summary
            #expect(summary.attempts > 0 && (summary.statusCounts["429"] ?? 0) > 0, "the run should meet 429s")
            let none = ["strategy": "none"]
            #expect(last.sum("limitlab_live_attempts_sent_total", none) == Double(summary.attempts))
            #expect(last.sum("limitlab_live_attempts_total", none) == Double(summary.attempts))
            #expect(last.sum("limitlab_live_attempts_total", ["status_class": "429"]) == Double(summary.statusCounts["429"] ?? 0))
            #expect(last.sum("limitlab_live_rate_limited_total", none) == Double(summary.statusCounts["429"] ?? 0))
            #expect(last.sum("limitlab_live_rate_limited_total", ["dimension": "requests"])
                    == Double(summary.refusalsByDimension["requests"] ?? 0))
            #expect(last.sum("limitlab_live_requests_arrived_total", none) == Double(summary.requests.offered))
            #expect(last.sum("limitlab_live_requests_total", ["outcome": "succeeded"]) == Double(summary.requests.succeeded))
            #expect(last.sum("limitlab_live_requests_total", ["outcome": "failed"]) == Double(summary.requests.failed))
            #expect(last.sum("limitlab_live_requests_total", ["outcome": "dropped"]) == Double(summary.requests.dropped))
            #expect(last.sum("limitlab_live_latency_seconds_count", none) == Double(summary.requests.succeeded))
            #expect(last.sum("limitlab_live_schedule_lag_seconds_count", none) == Double(summary.attempts))
            #expect(last.sum("limitlab_live_in_flight", none) == 0)
            #expect(last.sum("limitlab_live_run_active", none) == 0)
            // Every family served is one the docs and the dashboard test know, with its type.
            for f in last.families {
                #expect(LiveMetrics.families.contains { $0.name == f.name && $0.type == f.type }, "\(f.name) \(f.type)")
            }
            // The mock sends rate-limit headers: the request bucket's limit is the scenario's.
            #expect(last.sum("limitlab_live_bucket_limit", ["dimension": "requests", "key": "0"]) == 60)

            // The collector stand-in got the periodic pushes and the final one, as OTLP JSON.
            #expect(pushed.failures.isEmpty, "\(pushed.failures)")
            let bodies = collector.requests
            #expect(bodies.count == pushed.pushes && bodies.count >= 2, "\(bodies.count) pushes received")
            let request = try #require(bodies.last)
            #expect(request.headers.contains { $0.lowercased() == "content-type: application/json" })
            let sent = try Self.otlpSum(request.body, metric: "limitlab_live_attempts_sent", strategy: "none")
            #expect(sent == summary.attempts)
        }

        private func scrape(_ url: String) async throws -> PrometheusText {
            let reply = await http(url, method: "GET", timeout: 5)
            #expect(reply.status == 200)
            return try PrometheusText(parsing: reply.text)
        }

        /// The value of a cumulative sum's data point with `strategy`, from an OTLP JSON body.
        static func otlpSum(_ body: [UInt8], metric: String, strategy: String) throws -> Int? {
            let root = try #require(try JSONSerialization.jsonObject(with: Data(body)) as? [String: Any])
            for rm in root["resourceMetrics"] as? [[String: Any]] ?? [] {
                for sm in rm["scopeMetrics"] as? [[String: Any]] ?? [] {
                    for m in sm["metrics"] as? [[String: Any]] ?? [] where m["name"] as? String == metric {
                        let sum = try #require(m["sum"] as? [String: Any])
                        #expect(sum["isMonotonic"] as? Bool == true)
                        #expect(sum["aggregationTemporality"] as? Int == 2)
                        for p in sum["dataPoints"] as? [[String: Any]] ?? [] {
                            let attrs = p["attributes"] as? [[String: Any]] ?? []
                            let match = attrs.contains {
                                $0["key"] as? String == "strategy"
                                    && ($0["value"] as? [String: Any])?["stringValue"] as? String == strategy
                            }
                            if match, let v = p["asInt"] as? String { return Int(v) }
                        }
                    }
                }
            }
            return nil
        }
    }
}
