import Dispatch
import Foundation
import LimitlabCore
import LimitlabMock
import LimitlabTestSupport
import Testing

/// Message Batches on the mock, driven through libcurl on loopback.
@Suite struct BatchTests {
    static func config(_ batches: String = "{requests_per_second: 1000}", tier: String = "tier-4") -> String {
        orgConfig(limits: "tier: \(tier)", extra: "batches: \(batches)")
    }

    static func item(_ id: String, _ params: String = messageBody(maxTokens: 16)) -> String {
        #"{"custom_id":"\#(id)","params":\#(params)}"#
    }

    static func create(_ base: String, _ items: [String]) async -> Reply {
        await http("\(base)/v1/messages/batches", headers: apiHeaders(),
                   body: #"{"requests":["# + items.joined(separator: ",") + "]}")
    }

    /// Polls the batch until it has ended (at most ~5 s).
    static func waitEnded(_ base: String, _ id: String) async throws -> [String: Any] {
        for _ in 0..<100 {
            let r = await http("\(base)/v1/messages/batches/\(id)", method: "GET", headers: apiHeaders())
            let j = try r.json()
            if j["processing_status"] as? String == "ended" { return j }
            try await Task.sleep(nanoseconds: 50_000_000)
        }
        Issue.record("batch \(id) did not end")
        return [:]
    }

    static func resultLines(_ r: Reply) throws -> [[String: Any]] {
        try r.text.split(separator: "\n").map {
            try #require(JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
    }

    @Test func createPollAndResultsHaveEveryCustomIdOnce() async throws {
        try await withServer(Self.config()) { base in
            let bad = #"{"model":"claude-sonnet-4-5","messages":[]}"#  // no max_tokens
            let ids = (0..<20).map { "req_\($0)" }
            let r = await Self.create(base, ids.map { Self.item($0) } + [Self.item("bad-one", bad)])
            #expect(r.status == 200, "\(r.text)")
            let b = try r.json()
            let id = try #require(b["id"] as? String)
            #expect(id.hasPrefix("msgbatch_"))
            #expect(b["type"] as? String == "message_batch")
            #expect(b["processing_status"] as? String == "in_progress")
            let counts = try #require(b["request_counts"] as? [String: Int])
            #expect(counts == ["processing": 21, "succeeded": 0, "errored": 0, "canceled": 0, "expired": 0])
            #expect(b["results_url"] is NSNull && b["ended_at"] is NSNull && b["archived_at"] is NSNull)
            let created = try #require(b["created_at"] as? String)
            let expires = try #require(b["expires_at"] as? String)
            let f = ISO8601DateFormatter()
            f.formatOptions = [.withInternetDateTime, .withFractionalSeconds]
            let gap = try #require(f.date(from: expires)).timeIntervalSince(try #require(f.date(from: created)))
            #expect(abs(gap - 86_400) < 1)

            let ended = try await Self.waitEnded(base, id)
            #expect(ended["request_counts"] as? [String: Int]
                    == ["processing": 0, "succeeded": 20, "errored": 1, "canceled": 0, "expired": 0])
            #expect(ended["ended_at"] is String)
            #expect((ended["results_url"] as? String)?.hasSuffix("/v1/messages/batches/\(id)/results") == true)

            let res = await http("\(base)/v1/messages/batches/\(id)/results", method: "GET", headers: apiHeaders())
            #expect(res.status == 200)
            #expect(res.header("content-type") == "application/x-jsonl")
            let lines = try Self.resultLines(res)
            #expect(lines.compactMap { $0["custom_id"] as? String }.sorted() == (ids + ["bad-one"]).sorted())
            for line in lines {
                let result = try #require(line["result"] as? [String: Any])
                if line["custom_id"] as? String == "bad-one" {
                    #expect(result["type"] as? String == "errored")
                    let err = (result["error"] as? [String: Any])?["error"] as? [String: Any]
                    #expect(err?["type"] as? String == "invalid_request_error")
                    #expect((err?["message"] as? String)?.contains("max_tokens") == true)
                } else {
                    #expect(result["type"] as? String == "succeeded")
                    let m = try #require(result["message"] as? [String: Any])
                    #expect(m["type"] as? String == "message")
                    // Default output length (64) capped by max_tokens 16.
                    #expect((m["usage"] as? [String: Any])?["output_tokens"] as? Int == 16)
                    #expect(m["stop_reason"] as? String == "max_tokens")
                }
            }

            // Ended: deletable once, then gone.
            let del = await http("\(base)/v1/messages/batches/\(id)", method: "DELETE", headers: apiHeaders())
            #expect(del.status == 200)
            let dj = try del.json()
            #expect(dj["type"] as? String == "message_batch_deleted")
            let gone = await http("\(base)/v1/messages/batches/\(id)", method: "GET", headers: apiHeaders())
            #expect(gone.status == 404)
        }
    }

    @Test func invalidAndDuplicateCustomIdsAre400NamingTheField() async throws {
        try await withServer(Self.config()) { base in
            let invalid = await Self.create(base, [Self.item("ok"), Self.item("has space")])
            #expect(invalid.status == 400)
            let e1 = try #require((try invalid.json())["error"] as? [String: Any])
            #expect(e1["type"] as? String == "invalid_request_error")
            #expect((e1["message"] as? String)?.contains("requests.1.custom_id") == true, "\(e1)")
            let long = await Self.create(base, [Self.item(String(repeating: "a", count: 65))])
            #expect(long.status == 400)

            let dup = await Self.create(base, [Self.item("same"), Self.item("same")])
            #expect(dup.status == 400)
            let e2 = try #require((try dup.json())["error"] as? [String: Any])
            #expect((e2["message"] as? String)?.contains("custom_id") == true)
            #expect((e2["message"] as? String)?.contains("same") == true)
            let empty = await http("\(base)/v1/messages/batches", headers: apiHeaders(), body: #"{"requests":[]}"#)
            #expect(empty.status == 400)
        }
    }

    @Test func cancelMidProcessingCancelsTheUnprocessedRequests() async throws {
        // 20 requests at 4/s (5 s): about 2 done when the cancel arrives at ~0.6 s.
        try await withServer(Self.config("{requests_per_second: 4}")) { base in
            let r = await Self.create(base, (0..<20).map { Self.item("r\($0)") })
            let id = try #require((try r.json())["id"] as? String)
            let early = await http("\(base)/v1/messages/batches/\(id)/results", method: "GET", headers: apiHeaders())
            #expect(early.status == 400, "results before the end are refused")
            let del = await http("\(base)/v1/messages/batches/\(id)", method: "DELETE", headers: apiHeaders())
            #expect(del.status == 400, "an in-progress batch cannot be deleted")
            try await Task.sleep(nanoseconds: 600_000_000)
            let c = await http("\(base)/v1/messages/batches/\(id)/cancel", headers: apiHeaders(), body: "")
            #expect(c.status == 200)
            let cj = try c.json()
            #expect(cj["processing_status"] as? String == "canceling")
            #expect(cj["cancel_initiated_at"] is String)
            let ended = try await Self.waitEnded(base, id)
            let counts = try #require(ended["request_counts"] as? [String: Int])
            #expect(counts["succeeded", default: 0] + counts["canceled", default: 0] == 20)
            #expect(counts["succeeded", default: 0] >= 1 && counts["canceled", default: 0] >= 1, "\(counts)")
            let res = await http("\(base)/v1/messages/batches/\(id)/results", method: "GET", headers: apiHeaders())
            let lines = try Self.resultLines(res)
            #expect(Set(lines.compactMap { $0["custom_id"] as? String }).count == 20)
            #expect(lines.count == 20)
            let canceled = lines.filter { ($0["result"] as? [String: Any])?["type"] as? String == "canceled" }
            #expect(canceled.count == counts["canceled"])
        }
    }

    @Test func expiryEndsUnprocessedRequestsAsExpired() async throws {
        // 20 requests at 10/s with a 500 ms window: 5 done (4 if the float rounds down), the rest expire.
        try await withServer(Self.config("{requests_per_second: 10, expiry: 500ms}")) { base in
            let r = await Self.create(base, (0..<20).map { Self.item("r\($0)") })
            let id = try #require((try r.json())["id"] as? String)
            let ended = try await Self.waitEnded(base, id)
            let counts = try #require(ended["request_counts"] as? [String: Int])
            #expect((4...5).contains(counts["succeeded", default: 0]), "\(counts)")
            #expect(counts["expired", default: 0] + counts["succeeded", default: 0] == 20)
            #expect(ended["ended_at"] as? String == ended["expires_at"] as? String)
        }
    }

    @Test func queueLimitGives429NamingIt() async throws {
        // One request processed every 30 s: the queue cannot drain between the creates even on a
        // machine that takes seconds per request (1/s did, in CI).
        try await withServer(Self.config("{requests_per_second: 0.0333, queue: 5}")) { base in
            let first = await Self.create(base, (0..<4).map { Self.item("a\($0)") })
            #expect(first.status == 200)
            let second = await Self.create(base, (0..<3).map { Self.item("b\($0)") })
            #expect(second.status == 429)
            let e = try #require((try second.json())["error"] as? [String: Any])
            #expect(e["type"] as? String == "rate_limit_error")
            #expect((e["message"] as? String)?.contains("5 Message Batches requests in the processing queue") == true,
                    "\(e)")
            #expect(second.header("retry-after") != nil)
            let fits = await Self.create(base, [Self.item("c0")])
            #expect(fits.status == 200)
        }
    }

    @Test func batchRPMBucketRefusesAfterTheTierRPM() async throws {
        // Tier 1: 50 batch RPM over every batch endpoint.
        try await withServer(Self.config(tier: "tier-1")) { base in
            var statuses: [Int] = []
            let started = Date()
            for _ in 0..<60 {
                statuses.append(await http("\(base)/v1/messages/batches", method: "GET", headers: apiHeaders()).status)
            }
            // The bucket refills at 50/min while the loop runs, so allow what it refilled.
            let refilled = Int(Date().timeIntervalSince(started) * 50 / 60) + 1
            #expect(statuses.prefix(50).allSatisfy { $0 == 200 })
            #expect(Set(statuses) == [200, 429])
            #expect(statuses.filter { $0 == 200 }.count <= 50 + refilled, "\(statuses)")
        }
        // A tiny override (refill one per 30 s, so timing cannot hide the refusal): two calls
        // over two routes pass, the create after them is refused with the real 429 shape.
        try await withServer(Self.config("{rpm: 2}", tier: "tier-1")) { base in
            #expect(await http("\(base)/v1/messages/batches", method: "GET", headers: apiHeaders()).status == 200)
            #expect(await Self.create(base, [Self.item("x")]).status == 200)
            let r = await Self.create(base, [Self.item("y")])
            #expect(r.status == 429)
            #expect(r.header("retry-after").flatMap { Int($0) } ?? 0 >= 1)
            #expect(r.header("x-should-retry") == "true")
            #expect(r.header("anthropic-ratelimit-requests-limit") == "2")
            #expect(r.header("anthropic-ratelimit-requests-remaining") == "0")
            let e = try #require((try r.json())["error"] as? [String: Any])
            #expect(e["type"] as? String == "rate_limit_error")
            #expect((e["message"] as? String)?.contains("2 Message Batches API requests per minute") == true)
        }
    }

    @Test func listPaginatesNewestFirst() async throws {
        try await withServer(Self.config()) { base in
            var ids: [String] = []
            for i in 0..<5 {
                let r = await Self.create(base, [Self.item("x\(i)")])
                ids.append(try #require((try r.json())["id"] as? String))
            }
            let newest = Array(ids.reversed())
            func page(_ q: String) async throws -> (ids: [String], more: Bool, first: Any?, last: Any?) {
                let r = await http("\(base)/v1/messages/batches?\(q)", method: "GET", headers: apiHeaders())
                let j = try r.json()
                let data = try #require(j["data"] as? [[String: Any]])
                return (data.compactMap { $0["id"] as? String }, j["has_more"] as? Bool ?? false, j["first_id"], j["last_id"])
            }
            let p1 = try await page("limit=2")
            #expect(p1.ids == Array(newest[0..<2]) && p1.more)
            #expect(p1.first as? String == newest[0] && p1.last as? String == newest[1])
            let p2 = try await page("limit=2&after_id=\(newest[1])")
            #expect(p2.ids == Array(newest[2..<4]) && p2.more)
            let p3 = try await page("limit=2&after_id=\(newest[3])")
            #expect(p3.ids == [newest[4]] && !p3.more)
            let back = try await page("limit=2&before_id=\(newest[4])")
            #expect(back.ids == Array(newest[2..<4]) && back.more)
            let all = try await page("")
            #expect(all.ids == newest && !all.more)
            let bad = await http("\(base)/v1/messages/batches?limit=0", method: "GET", headers: apiHeaders())
            #expect(bad.status == 400)
        }
    }

    @Test func batchesConfigIsReadAndChecked() throws {
        let c = try MockConfig.parse(yaml: Self.config("{requests_per_second: 5, expiry: 2s, rpm: 3/s, queue: 7}"),
                                     file: "m.yaml")
        #expect(c.batches == BatchServerModel(requestsPerSecond: 5, expiry: 2, rpm: 180, queue: 7))
        #expect(try MockConfig.parse(yaml: orgConfig(), file: "m.yaml").batches == BatchServerModel())
        // The scenario's spelling, read by the scenario's reader, means the same.
        let org = "orgs: [{keys: [sk-test], limits: {tier: tier-4}}]\n"
        let inServer = try MockConfig.parse(
            yaml: org + "server: {batch: {requests_per_second: 5, expiry: 2s, rpm: 3/s, queue: 7}}", file: "m.yaml")
        #expect(inServer.batches == c.batches)
        do {
            _ = try MockConfig.parse(yaml: org + "server: {batch: {queue: 1}}\nbatches: {queue: 2}", file: "m.yaml")
            Issue.record("expected the batch settings given twice to be refused")
        } catch {
            #expect(error.message.contains("given twice"), "\(error.message)")
        }
        do {
            _ = try MockConfig.parse(yaml: Self.config("{requests_per_second: 0, expiry: 5, queue: -1, speed: 2}"),
                                     file: "m.yaml")
            Issue.record("expected errors")
        } catch {
            for key in ["batches.requests_per_second", "batches.expiry", "batches.queue", "batches.speed"] {
                #expect(error.message.contains(key), "\(key): \(error.message)")
            }
        }
    }
}
