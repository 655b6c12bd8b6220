import Foundation
import LimitlabCore
import LimitlabMock
import LimitlabTelemetry
import LimitlabTestSupport
import Testing

/// The mock server in-process on a free loopback port, driven through libcurl.
@Suite struct MockServerTests {
    static let rateLimitGroups = ["requests", "tokens", "input-tokens", "output-tokens"]
    static var rfc3339: Regex<Substring> { #/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/# }

    @Test func nonStreamingReplyHasTheRealShapeUsageAndHeaders() async throws {
        try await withServer(orgConfig(limits: "tier: tier-1")) { base in
            let r = await http("\(base)/v1/messages", headers: apiHeaders(extra: ["x-limitlab-output-tokens: 12"]),
                               body: messageBody(text: String(repeating: "abcd", count: 100)))
            #expect(r.status == 200, "\(r.text)")
            let j = try r.json()
            #expect(j["type"] as? String == "message")
            #expect(j["role"] as? String == "assistant")
            #expect(j["model"] as? String == "claude-sonnet-4-5")
            #expect((j["id"] as? String)?.hasPrefix("msg_") == true)
            #expect(j["stop_reason"] as? String == "end_turn")
            #expect(j.keys.contains("stop_sequence"))
            let content = try #require(j["content"] as? [[String: Any]])
            #expect(content.count == 1 && content[0]["type"] as? String == "text")
            // 12 tokens of 4 bytes each.
            #expect((content[0]["text"] as? String)?.utf8.count == 48)
            let usage = try #require(j["usage"] as? [String: Any])
            // 400 bytes of text = 100 tokens, + 4 for the message + 3 for the request.
            #expect(usage["input_tokens"] as? Int == 107)
            #expect(usage["output_tokens"] as? Int == 12)
            #expect(usage["cache_creation_input_tokens"] as? Int == 0)
            #expect(usage["cache_read_input_tokens"] as? Int == 0)

            #expect(r.header("request-id")?.hasPrefix("req_") == true)
            #expect(r.header("anthropic-organization-id") == "org-test")
            #expect(r.header("content-type") == "application/json")
            for g in Self.rateLimitGroups {
                #expect(r.header("anthropic-ratelimit-\(g)-limit") != nil, "\(g)-limit")
                #expect(r.header("anthropic-ratelimit-\(g)-remaining") != nil, "\(g)-remaining")
                let reset = try #require(r.header("anthropic-ratelimit-\(g)-reset"))
                #expect(reset.wholeMatch(of: Self.rfc3339) != nil, "\(reset)")
            }
            // Tier 1 Sonnet 4.x: 50 RPM / 30,000 ITPM / 8,000 OTPM.
            #expect(r.header("anthropic-ratelimit-requests-limit") == "50")
            #expect(r.header("anthropic-ratelimit-requests-remaining") == "49")
            #expect(r.header("anthropic-ratelimit-input-tokens-limit") == "30000")
            #expect(r.header("anthropic-ratelimit-output-tokens-limit") == "8000")
            #expect(r.header("anthropic-ratelimit-tokens-limit") == "38000")
            #expect(r.header("retry-after") == nil)
        }
    }

    @Test func streamHasTheEventOrderCumulativeUsageAndPace() async throws {
        let yaml = """
            orgs:
              - keys: [sk-test]
                limits: {tier: tier-4}
            server:
              ttft: 200ms
              output_rate: 100/s
              reject_latency: 0ms
            """
        try await withServer(yaml) { base in
            let r = await http("\(base)/v1/messages", headers: apiHeaders(extra: ["x-limitlab-output-tokens: 20"]),
                               body: messageBody(stream: true))
            #expect(r.status == 200)
            #expect(r.header("content-type")?.hasPrefix("text/event-stream") == true)
            #expect(r.header("anthropic-ratelimit-requests-remaining") != nil)
            let events = try r.events()
            let names = events.map(\.0)
            #expect(names.first == "message_start")
            #expect(Array(names.prefix(3)) == ["message_start", "content_block_start", "ping"])
            #expect(Array(names.suffix(3)) == ["content_block_stop", "message_delta", "message_stop"])
            let deltas = events.filter { $0.0 == "content_block_delta" }
            #expect(!deltas.isEmpty)
            #expect(names.count == 3 + deltas.count + 3)
            let text = deltas.compactMap { ($0.1["delta"] as? [String: Any])?["text"] as? String }.joined()
            #expect(text.utf8.count == 80)
            // The data's own type matches the event name.
            for (name, data) in events { #expect(data["type"] as? String == name) }
            let start = try #require(events[0].1["message"] as? [String: Any])
            #expect((start["content"] as? [Any])?.isEmpty == true)
            #expect(start["stop_reason"] is NSNull)
            let messageDelta = try #require(events.first { $0.0 == "message_delta" }?.1)
            #expect((messageDelta["delta"] as? [String: Any])?["stop_reason"] as? String == "end_turn")
            let usage = try #require(messageDelta["usage"] as? [String: Any])
            #expect(usage["output_tokens"] as? Int == 20)
            #expect(usage["input_tokens"] as? Int == 9)
            // Paced: nothing before the 200 ms TTFT; the 20th token at 100/s is due 190 ms later;
            // at most ~50 writes per second. (Bounds a busy machine cannot break: the server may
            // be late, never early, and lateness only merges batches.)
            let first = try #require(r.chunkTimes.first)
            let last = try #require(r.chunkTimes.last)
            #expect(first >= 0.18, "first byte after \(first)s")
            #expect(last >= 0.37, "last byte after \(last)s")
            #expect(deltas.count <= 12, "\(deltas.count) deltas for 190 ms")
        }
    }

    @Test func outputTokensHeaderIsExactAndMaxTokensCapsIt() async throws {
        try await withServer(orgConfig()) { base in
            let exact = await http("\(base)/v1/messages", headers: apiHeaders(extra: ["x-limitlab-output-tokens: 37"]),
                                   body: messageBody(maxTokens: 100))
            let u = try #require(try exact.json()["usage"] as? [String: Any])
            #expect(u["output_tokens"] as? Int == 37)
            try #expect(try exact.json()["stop_reason"] as? String == "end_turn")

            let capped = await http("\(base)/v1/messages", headers: apiHeaders(extra: ["x-limitlab-output-tokens: 500"]),
                                    body: messageBody(maxTokens: 100, stream: true))
            let delta = try #require(try capped.events().first { $0.0 == "message_delta" }?.1)
            #expect((delta["usage"] as? [String: Any])?["output_tokens"] as? Int == 100)
            #expect((delta["delta"] as? [String: Any])?["stop_reason"] as? String == "max_tokens")

            let defaulted = await http("\(base)/v1/messages", headers: apiHeaders(), body: messageBody(maxTokens: 10))
            try #expect((try defaulted.json()["usage"] as? [String: Any])?["output_tokens"] as? Int == 10)

            let bad = await http("\(base)/v1/messages", headers: apiHeaders(extra: ["x-limitlab-output-tokens: lots"]),
                                 body: messageBody())
            #expect(bad.status == 400)
            #expect(bad.text.contains("x-limitlab-output-tokens"))
        }
    }

    @Test func requestsOverTheRPMGet429WithRetryAfterAndTheRealBody() async throws {
        // 3 RPM with a one-second bucket: capacity 1 request, refilled every 20 s.
        try await withServer(orgConfig(limits: "rpm: 3, itpm: 100000, otpm: 100000, burst: \"1/60\"")) { base in
            let clock = ContinuousClock()
            let start = clock.now
            let ok = await http("\(base)/v1/messages", headers: apiHeaders(), body: messageBody())
            #expect(ok.status == 200)
            let r = await http("\(base)/v1/messages", headers: apiHeaders(), body: messageBody())
            let elapsed = start.duration(to: clock.now)
            // A machine so loaded that the two requests were a refill apart proves nothing here.
            guard elapsed < .seconds(19) else {
                print("requestsOverTheRPMGet429: the two requests were \(elapsed) apart; the bucket refilled")
                return
            }
            #expect(r.status == 429)
            let retry = try #require(r.header("retry-after").flatMap(Int.init))
            // The bucket refills one request 20 s after the first was admitted; on a loaded
            // machine the two requests can be seconds apart, so allow for the time that passed.
            let passed = Int(Double(elapsed.components.seconds).rounded(.up)) + 1
            #expect((max(1, 19 - passed)...20).contains(retry), "retry-after \(retry) after \(elapsed)")
            #expect(r.header("x-should-retry") == "true")
            #expect(r.header("request-id")?.hasPrefix("req_") == true)
            #expect(r.header("anthropic-ratelimit-requests-remaining") == "0")
            let j = try r.json()
            #expect(j["type"] as? String == "error")
            #expect((j["request_id"] as? String) == r.header("request-id"))
            let e = try #require(j["error"] as? [String: Any])
            #expect(e["type"] as? String == "rate_limit_error")
            let message = try #require(e["message"] as? String)
            #expect(message.hasPrefix("This request would exceed your organization's rate limit of 3 requests per minute"))
            #expect(message.contains("org-test"))
        }
    }

    @Test func remainingValuesDecreaseAndTokensAreRoundedToTheThousand() async throws {
        // burst 10: buckets hold 10 minutes' worth but refill at the per-minute rate, so the
        // refill between requests (0.1 requests/s, 100 tokens/s) stays below what is checked.
        let yaml = """
            orgs:
              - keys: [sk-test]
                limits: {rpm: 6, itpm: 6000, otpm: 6000, burst: 10}
            server: {ttft: 0ms, output_rate: 100000/s, reject_latency: 0ms}
            """
        try await withServer(yaml) { base in
            // ~5,000 input tokens per request.
            let body = messageBody(maxTokens: 1000, text: String(repeating: "abcd", count: 5_000))
            var requests: [Int] = []
            var input: [Int] = []
            var output: [Int] = []
            let clock = ContinuousClock()
            let start = clock.now
            for _ in 0..<3 {
                let r = await http("\(base)/v1/messages", headers: apiHeaders(extra: ["x-limitlab-output-tokens: 1000"]),
                                   body: body)
                #expect(r.status == 200)
                requests.append(try #require(r.header("anthropic-ratelimit-requests-remaining").flatMap(Int.init)))
                input.append(try #require(r.header("anthropic-ratelimit-input-tokens-remaining").flatMap(Int.init)))
                output.append(try #require(r.header("anthropic-ratelimit-output-tokens-remaining").flatMap(Int.init)))
                let tokens = try #require(r.header("anthropic-ratelimit-tokens-remaining").flatMap(Int.init))
                #expect(tokens % 1000 == 0)
            }
            // Exact when the three requests take under 2 s; a machine slower than that refills
            // more than a rounding step between them, so only the shape is checked then.
            if start.duration(to: clock.now) < .seconds(2) {
                #expect(requests == [59, 58, 57])
                #expect(input == [55_000, 50_000, 45_000])
                // Realtime accounting: each reply's 1,000 output tokens were drained by the next one.
                #expect(output == [60_000, 59_000, 58_000])
            } else {
                #expect(requests[0] == 59 && requests[2] <= requests[0] && input[2] < input[0])
            }
        }
    }

    @Test func badRequestsGetTheRealErrorShapes() async throws {
        let yaml = orgConfig(extra: "max_body_bytes: 1000")
        try await withServer(yaml) { base in
            func check(_ r: Reply, _ status: Int, _ type: String, _ fragment: String,
                       sourceLocation: SourceLocation = #_sourceLocation) throws {
                #expect(r.status == status, "\(r.text)", sourceLocation: sourceLocation)
                let j = try r.json()
                #expect(j["type"] as? String == "error", sourceLocation: sourceLocation)
                let e = try #require(j["error"] as? [String: Any], sourceLocation: sourceLocation)
                #expect(e["type"] as? String == type, sourceLocation: sourceLocation)
                #expect((e["message"] as? String)?.contains(fragment) == true, "\(e["message"] ?? "")",
                        sourceLocation: sourceLocation)
                #expect((j["request_id"] as? String)?.hasPrefix("req_") == true, sourceLocation: sourceLocation)
                #expect(r.header("request-id") != nil, sourceLocation: sourceLocation)
            }
            let url = "\(base)/v1/messages"
            try check(await http(url, headers: ["anthropic-version: 2023-06-01"], body: messageBody()),
                      401, "authentication_error", "x-api-key")
            try check(await http(url, headers: apiHeaders(key: "sk-wrong"), body: messageBody()),
                      401, "authentication_error", "invalid x-api-key")
            try check(await http(url, headers: ["x-api-key: sk-test"], body: messageBody()),
                      400, "invalid_request_error", "anthropic-version")
            try check(await http(url, headers: apiHeaders(), body: #"{"model": "claude-sonnet-4-5", "max_tokens": "#),
                      400, "invalid_request_error", "not valid JSON")
            try check(await http(url, headers: apiHeaders(),
                                 body: #"{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"x"}]}"#),
                      400, "invalid_request_error", "max_tokens: Field required")
            try check(await http(url, headers: apiHeaders(),
                                 body: #"{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[{"role":"robot","content":"x"}]}"#),
                      400, "invalid_request_error", "messages.0.role")
            try check(await http(url, headers: apiHeaders(), body: #"{"model":"claude-sonnet-4-5","max_tokens":5,"messages":[]}"#),
                      400, "invalid_request_error", "messages")
            try check(await http(url, headers: apiHeaders(), body: messageBody(model: "claude-nonexistent-9")),
                      404, "not_found_error", "model: claude-nonexistent-9")
            try check(await http(url, headers: apiHeaders(), body: messageBody(text: String(repeating: "x", count: 2000))),
                      413, "request_too_large", "maximum")
            try check(await http("\(base)/v2/nothing", method: "GET", headers: apiHeaders()), 404, "not_found_error", "Not Found")
            // After all that the connection pool and server still serve a good request.
            #expect(await http(url, headers: apiHeaders(), body: messageBody()).status == 200)
        }
    }

    @Test func countTokensHasItsOwnRPMBucket() async throws {
        let yaml = orgConfig(limits: "rpm: 2, itpm: 100000, otpm: 100000, burst: \"1/30\"")
            .replacingOccurrences(of: "limits:", with: "count_tokens_rpm: 2\n    limits:")
        try await withServer(yaml) { base in
            let body = #"{"model":"claude-sonnet-4-5","messages":[{"role":"user","content":"abcdabcd"}]}"#
            let sent = Date()
            let c1 = await http("\(base)/v1/messages/count_tokens", headers: apiHeaders(), body: body)
            #expect(c1.status == 200, "\(c1.text)")
            try #expect(try c1.json()["input_tokens"] as? Int == 9)
            #expect(c1.header("anthropic-ratelimit-requests-limit") == "2")
            let c2 = await http("\(base)/v1/messages/count_tokens", headers: apiHeaders(), body: body)
            // One count per 30 s: on a machine so loaded that both took 25 s or more, the
            // bucket has refilled and a 200 is right.
            if Date().timeIntervalSince(sent) < 25 {
                #expect(c2.status == 429)
                #expect(c2.header("retry-after") != nil)
                try #expect(((try c2.json()["error"] as? [String: Any])?["type"] as? String) == "rate_limit_error")
            }
            // Messages has its own buckets, untouched by token counting.
            let m = await http("\(base)/v1/messages", headers: apiHeaders(), body: messageBody())
            #expect(m.status == 200)
            #expect(await http("\(base)/v1/messages", headers: apiHeaders(), body: messageBody()).status == 429)
        }
    }

    @Test func promptCacheWritesThenReads() async throws {
        let yaml = orgConfig(extra: "cache:\n  min_cacheable_tokens: 50")
        try await withServer(yaml) { base in
            let prefix = String(repeating: "wxyz", count: 400) // 400 tokens
            let system = #"[{"type":"text","text":"\#(prefix)","cache_control":{"type":"ephemeral"}}]"#
            let body = messageBody(text: "abcdabcd", system: system)
            let first = await http("\(base)/v1/messages", headers: apiHeaders(), body: body)
            let u1 = try #require(try first.json()["usage"] as? [String: Any])
            #expect(u1["cache_creation_input_tokens"] as? Int == 400)
            #expect(u1["cache_read_input_tokens"] as? Int == 0)
            #expect(u1["input_tokens"] as? Int == 4 + 2 + 3)
            #expect((u1["cache_creation"] as? [String: Any])?["ephemeral_5m_input_tokens"] as? Int == 400)

            let second = await http("\(base)/v1/messages", headers: apiHeaders(), body: body)
            let u2 = try #require(try second.json()["usage"] as? [String: Any])
            #expect(u2["cache_read_input_tokens"] as? Int == 400)
            #expect(u2["cache_creation_input_tokens"] as? Int == 0)
            #expect(u2["input_tokens"] as? Int == 9)

            // A different prefix misses.
            let other = messageBody(text: "abcdabcd", system: system.replacingOccurrences(of: "wxyz", with: "wxyq"))
            let u3 = try #require(try await http("\(base)/v1/messages", headers: apiHeaders(), body: other).json()["usage"]
                as? [String: Any])
            #expect(u3["cache_read_input_tokens"] as? Int == 0)
            #expect(u3["cache_creation_input_tokens"] as? Int == 400)

            // Five breakpoints are refused, as the real API does.
            let block = #"{"type":"text","text":"\#(prefix)","cache_control":{"type":"ephemeral"}}"#
            let five = "[" + Array(repeating: block, count: 5).joined(separator: ",") + "]"
            let r = await http("\(base)/v1/messages", headers: apiHeaders(), body: messageBody(system: five))
            #expect(r.status == 400)
            #expect(r.text.contains("A maximum of 4 blocks with cache_control"))
        }
    }

    @Test func overloadProbabilityOneGives529() async throws {
        let yaml = """
            orgs:
              - keys: [sk-test]
                limits: {tier: tier-4}
            server:
              reject_latency: 0ms
              overload: {probability: 1}
            """
        try await withServer(yaml) { base in
            let r = await http("\(base)/v1/messages", headers: apiHeaders(), body: messageBody())
            #expect(r.status == 529)
            let e = try #require(try r.json()["error"] as? [String: Any])
            #expect(e["type"] as? String == "overloaded_error")
            #expect(e["message"] as? String == "Overloaded")
            #expect(r.header("request-id") != nil)
            // A 529 costs nothing against the limits.
            #expect(r.header("anthropic-ratelimit-requests-remaining") == "4000")
        }
    }

    @Test func serverErrorAndSpendCapModes() async throws {
        try await withServer(orgConfig(extra: "faults: {server_error: 1}")) { base in
            let r = await http("\(base)/v1/messages", headers: apiHeaders(), body: messageBody())
            #expect(r.status == 500)
            try #expect(((try r.json()["error"] as? [String: Any])?["type"] as? String) == "api_error")
        }
        let capped = orgConfig().replacingOccurrences(of: "limits:", with: "spend_cap: true\n    limits:")
        try await withServer(capped) { base in
            let r = await http("\(base)/v1/messages", headers: apiHeaders(), body: messageBody())
            #expect(r.status == 429)
            #expect(r.header("retry-after") == nil)
            let e = try #require(try r.json()["error"] as? [String: Any])
            #expect(e["type"] as? String == "rate_limit_error")
            #expect((e["details"] as? [String: Any])?["error_code"] as? String == "enforced_spend_limit_reached")
        }
    }

    @Test func midStreamErrorEndsWithoutMessageStop() async throws {
        try await withServer(orgConfig(extra: "faults: {stream_error: 1}")) { base in
            let r = await http("\(base)/v1/messages", headers: apiHeaders(extra: ["x-limitlab-output-tokens: 30"]),
                               body: messageBody(stream: true))
            #expect(r.status == 200)
            let names = try r.events().map(\.0)
            #expect(names.first == "message_start")
            #expect(names.last == "error")
            #expect(!names.contains("message_stop"))
            let error = try #require(try r.events().last?.1["error"] as? [String: Any])
            #expect(error["type"] as? String == "overloaded_error")
        }
    }

    @Test func connectionResetFaultResetsTheConnection() async throws {
        try await withServer(orgConfig(extra: "faults: {connection_reset: 1}")) { base in
            let r = await http("\(base)/v1/messages", headers: apiHeaders(), body: messageBody())
            #expect(r.status == 0)
            #expect(r.curlCode != 0)
            #expect(await http("\(base)/healthz", method: "GET").status == 200)
        }
    }

    @Test func stallFaultDelaysTheResponse() async throws {
        try await withServer(orgConfig(extra: "faults: {stall: 1, stall_duration: 300ms}")) { base in
            let started = Date()
            let r = await http("\(base)/v1/messages", headers: apiHeaders(), body: messageBody())
            #expect(r.status == 200)
            #expect(Date().timeIntervalSince(started) >= 0.29)
        }
    }

    @Test func malformedHTTPDoesNotAffectOtherConnections() async throws {
        try await withServer(orgConfig()) { base in
            let port = UInt16(base.split(separator: ":").last!)!
            for garbage in ["\u{1}\u{2}\u{3} not http at all\r\n\r\n", "GET / HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\n\r\n",
                            "POST /v1/messages HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"] {
                let answer = try rawExchange(port: port, bytes: Array(garbage.utf8))
                // NIO answers a parse error with 400 and closes; it never hangs or crashes.
                #expect(answer.isEmpty || answer.hasPrefix("HTTP/1.1 400"), "\(answer.prefix(40))")
            }
            #expect(await http("\(base)/healthz", method: "GET").status == 200)
            #expect(await http("\(base)/v1/messages", headers: apiHeaders(), body: messageBody()).status == 200)
        }
    }

    @Test func metricsAndHealthz() async throws {
        try await withServer(orgConfig(limits: "rpm: 1, itpm: 100000, otpm: 100000")) { base in
            let health = await http("\(base)/healthz", method: "GET")
            #expect(health.status == 200)
            try #expect(try health.json()["status"] as? String == "ok")
            _ = await http("\(base)/v1/messages", headers: apiHeaders(), body: messageBody())
            _ = await http("\(base)/v1/messages", headers: apiHeaders(), body: messageBody())
            _ = await http("\(base)/v1/messages", headers: apiHeaders(key: "nope"), body: messageBody())
            let m = await http("\(base)/metrics", method: "GET")
            #expect(m.status == 200)
            #expect(m.header("content-type")?.hasPrefix("text/plain") == true)
            let t = m.text
            #expect(t.contains(#"limitlab_mock_requests_total{endpoint="messages",org="org-test",model_class="sonnet-4.x",status="200"} 1"#))
            #expect(t.contains(#"limitlab_mock_requests_total{endpoint="messages",org="org-test",model_class="sonnet-4.x",status="429"} 1"#))
            #expect(t.contains(#"limitlab_mock_requests_total{endpoint="messages",org="",model_class="",status="401"} 1"#))
            #expect(t.contains(#"limitlab_mock_rate_limited_total{endpoint="messages",org="org-test",model_class="sonnet-4.x",dimension="requests"} 1"#))
            // Gauges are written as doubles by swift-prometheus ("0.0"): compare values, not text.
            let metrics = try PrometheusText(parsing: t)
            #expect(metrics.family("limitlab_mock_bucket_limit")?.type == "gauge")
            #expect(metrics.sum("limitlab_mock_bucket_limit",
                                ["org": "org-test", "model_class": "sonnet-4.x", "dimension": "input_tokens"]) == 100000)
            #expect(metrics.family("limitlab_mock_in_flight")?.samples.map(\.value) == [0])
            #expect(metrics.family("limitlab_mock_requests_total")?.type == "counter")
            // Every sample line is `name{labels} value`.
            for line in t.split(separator: "\n") where !line.hasPrefix("#") {
                #expect(line.wholeMatch(of: #/[a-z_]+\{[^}]*\} -?[0-9.e+-]+/#) != nil, "\(line)")
            }
        }
    }

    /// Label values are escaped as the text format requires (`\\`, `\"`, `\n`), and read back
    /// intact. The loader refuses such organisation ids, so the config is changed in code.
    @Test func metricsEscapeLabelValues() async throws {
        var config = try MockConfig.parse(yaml: orgConfig(), file: "test.yaml")
        let id = "org \"q\" back\\slash\nline"
        config.organizations[0].id = id
        let server = MockServer(config: config, threads: 1)
        let port = try await server.start(host: "127.0.0.1", port: 0)
        let m = await http("http://127.0.0.1:\(port)/metrics", method: "GET")
        await server.stop()
        #expect(m.status == 200)
        let escaped = #"org="org \"q\" back\\slash\nline""#
        #expect(m.text.contains(#"limitlab_mock_in_flight{"# + escaped + "} "), "\(m.text)")
        // Every sample stays on one line, and the parser gives the original id back.
        let metrics = try PrometheusText(parsing: m.text)
        let orgs = Set(metrics.families.flatMap(\.samples).compactMap { $0.label("org") })
        #expect(orgs.contains(id))
        #expect(metrics.family("limitlab_mock_bucket_level")?.samples.allSatisfy { $0.label("org") == id } == true)
    }

    @Test func twoOrganisationsHaveIndependentBuckets() async throws {
        let yaml = """
            orgs:
              - id: org-a
                keys: [sk-a]
                limits: {rpm: 1, itpm: 100000, otpm: 100000}
              - id: org-b
                keys: [sk-b1, sk-b2]
                limits: {rpm: 1, itpm: 100000, otpm: 100000}
            \(fastServer)
            """
        try await withServer(yaml) { base in
            let url = "\(base)/v1/messages"
            let clock = ContinuousClock()
            let start = clock.now
            #expect(await http(url, headers: apiHeaders(key: "sk-a"), body: messageBody()).status == 200)
            let a2 = await http(url, headers: apiHeaders(key: "sk-a"), body: messageBody()).status
            let b = await http(url, headers: apiHeaders(key: "sk-b1"), body: messageBody())
            #expect(b.status == 200)
            #expect(b.header("anthropic-organization-id") == "org-b")
            // Two keys of one organisation share its buckets.
            let b2 = await http(url, headers: apiHeaders(key: "sk-b2"), body: messageBody()).status
            // 1 RPM refills a request in 60 s; a machine that slow proves nothing about the 429s.
            if start.duration(to: clock.now) < .seconds(55) {
                #expect(a2 == 429)
                #expect(b2 == 429)
            }
        }
    }

    @Test func modelsEndpointListsCatalogModels() async throws {
        try await withServer(orgConfig()) { base in
            let r = await http("\(base)/v1/models", method: "GET", headers: apiHeaders())
            #expect(r.status == 200)
            let data = try #require(try r.json()["data"] as? [[String: Any]])
            // The list names canonical (dated) ids; retrieve also takes an alias.
            #expect(data.contains { $0["id"] as? String == "claude-sonnet-4-5-20250929" && $0["type"] as? String == "model" })
            #expect(await http("\(base)/v1/models/claude-sonnet-4-5", method: "GET", headers: apiHeaders()).status == 200)
            #expect(await http("\(base)/v1/models/claude-nope", method: "GET", headers: apiHeaders()).status == 404)
        }
    }

    @Test func defaultConfigAcceptsAnyKey() async throws {
        let server = MockServer(config: try MockConfig.standard(tier: "tier-2"), threads: 1)
        let port = try await server.start()
        let base = "http://127.0.0.1:\(port)"
        let r = await http("\(base)/v1/messages", headers: apiHeaders(key: "whatever"), body: messageBody())
        #expect(r.status == 200)
        #expect(r.header("anthropic-ratelimit-requests-limit") == "1000")
        let empty = await http("\(base)/v1/messages", headers: apiHeaders(key: ""), body: messageBody())
        #expect(empty.status == 401)
        await server.stop()
        // Stopped means closed.
        #expect(await http("\(base)/healthz", method: "GET", timeout: 2).status == 0)
    }
}

/// Sends raw bytes on a fresh TCP connection and returns what comes back before the server
/// closes it (or 2 s pass).
func rawExchange(port: UInt16, bytes: [UInt8]) throws -> String {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    try #require(fd >= 0)
    defer { close(fd) }
    var tv = timeval(tv_sec: 2, tv_usec: 0)
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, socklen_t(MemoryLayout<timeval>.size))
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = port.bigEndian
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let connected = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { connect(fd, $0, socklen_t(MemoryLayout<sockaddr_in>.size)) }
    }
    try #require(connected == 0)
    _ = bytes.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
    var out: [UInt8] = []
    var buf = [UInt8](repeating: 0, count: 4096)
    while true {
        let n = buf.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
        if n <= 0 { break }
        out.append(contentsOf: buf[0..<n])
    }
    return String(decoding: out, as: UTF8.self)
}
