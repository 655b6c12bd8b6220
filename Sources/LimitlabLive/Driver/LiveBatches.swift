import Foundation
import LimitlabClient
import LimitlabCore

// MARK: Message Batches, live

/// One Message Batch the live runner submitted: its attempts, where it is in its life, and
/// when it is next looked at.
///
/// The life follows the Message Batches API (https://docs.anthropic.com/en/api/creating-message-batches,
/// .../retrieving-message-batches, .../retrieving-message-batch-results): POST /v1/messages/batches,
/// GET /v1/messages/batches/{id} every `pollEvery` seconds until `processing_status` is
/// `ended`, then GET /v1/messages/batches/{id}/results (JSONL, one line per request with its
/// `custom_id`).
final class LiveBatchJob {
    enum Phase { case creating, waiting, polling, fetching, ended }
    let order: BatchOrder
    /// The attempt of each request, in `order.requests` order.
    var attempts: [Int32] = []
    /// The spend reserved for each attempt.
    var reserved: [Double] = []
    var key: Int { order.key }
    var phase = Phase.creating
    var id = ""
    /// Model time of the next poll (in `.waiting`).
    var nextPoll = Double.infinity
    /// Failed polls or result fetches in a row.
    var failures = 0

    init(order: BatchOrder) { self.order = order }
}

/// A batch attempt's end, waiting to be handed to the strategy at `time`.
struct LiveBatchCompletion {
    var attempt: Int32
    var time: Double
    var status: Int
    var kind: ErrorKind
    var retryAfter: Double?
    var usage: ReportedUsage
    var cause: String?
    /// The spend reserved for the attempt.
    var reserved = 0.0
}

extension LiveTransport {
    /// Polls or result fetches that may fail in a row before the batch's requests are ended
    /// with the last failure (every wait stays bounded).
    static let batchFailureLimit = 5

    var batchesURL: String { env.target.messagesURL + "/batches" }

    /// Whether a batch is still waiting for its results.
    var batchesPending: Bool { batches.contains { $0.phase != .ended } }

    /// The model time of the earliest poll due (+infinity: none).
    var nextBatchPoll: Double {
        var t = Double.infinity
        for b in batches where b.phase == .waiting { t = Swift.min(t, b.nextPoll) }
        return t
    }

    /// Submits a batch: one attempt per request (reserved at half the worst case: batches are
    /// billed at 50 %), then the create call. Nothing waits here; the engine's event loop
    /// carries the batch on.
    func submitBatch(_ order: BatchOrder, log: inout RunLog) {
        guard !stopping, !order.requests.isEmpty else { return }
        let now = order.plannedAt
        let job = LiveBatchJob(order: order)
        let index = batches.count
        var body: [UInt8] = Array(#"{"requests":["#.utf8)
        for (n, id) in order.requests.enumerated() {
            let r = Int(id)
            if let cap = env.options.maxRequests, env.counters.attemptsSent >= cap {
                beginStop(.maxRequests, at: now)
                break
            }
            let worst = env.spend.worstCase(input: Int(stream.inputTokens[r]), prefix: Int(stream.prefixTokens[r]),
                                            maxTokens: Int(stream.maxTokens[r])) / 2
            guard env.spend.allows(worst) else {
                beginStop(.maxCost, at: now)
                break
            }
            batchBuilder.write(input: Int(stream.inputTokens[r]), prefix: Int(stream.prefixTokens[r]),
                               prefixId: Int(stream.prefixId[r]), maxTokens: Int(stream.maxTokens[r]), into: &scratch)
            if n > 0 { body.append(0x2C) }
            body.append(contentsOf: #"{"custom_id":"r"#.utf8)
            body.append(contentsOf: String(id).utf8)
            body.append(contentsOf: #"","params":"#.utf8)
            body.append(contentsOf: scratch)
            body.append(0x7D)
            env.spend.reserve(worst)
            let sentAt = clock.now()
            let a = log.beginAttempt(request: id, readyAt: now, sentAt: sentAt, key: order.key)
            log.markBatch(attempt: Int(a))
            job.attempts.append(a)
            job.reserved.append(worst)
            live.appendSent(plannedAt: now)
            env.counters.attemptsSent += 1
            env.metrics?.attemptSent(lag: sentAt - now)
            sent += 1
        }
        // Requests the cap left out stay with the strategy, unfinished, as a capped send does.
        guard !job.attempts.isEmpty else { return }
        body.append(contentsOf: "]}".utf8)
        batches.append(job)
        startBatchCall(index, kind: .batchCreate, url: batchesURL, body: body)
    }

    /// Puts one call of batch `index` on the wire.
    func startBatchCall(_ index: Int, kind: TransferKind, url: String, body: [UInt8]?) {
        let job = batches[index]
        do {
            var s = batchSettings
            s.url = url
            let t = try Transfer(settings: s)
            t.kind = kind
            t.batch = index
            t.prepareBatchCall(url: url, body: body, headers: headerLists.list(key: job.key))
            t.response.lastActivityNanos = Clock.monotonicNanos()
            job.phase = kind == .batchCreate ? .creating : kind == .batchPoll ? .polling : .fetching
            if multi.start(t) {
                sendsAdded = true
                unstarted += 1
            } else {
                batchCallEnded(t, .couldNotStart, at: clock.now())
            }
        } catch {
            failBatch(index, status: 0, kind: .connection, retryAfter: nil, at: clock.now(),
                      cause: "connection: \(error.message)")
        }
    }

    /// Starts the polls due by model time `now`; true when any was started.
    func runBatchPolls(at now: Double) -> Bool {
        var started = false
        for (i, b) in batches.enumerated() where b.phase == .waiting && b.nextPoll <= now {
            startBatchCall(i, kind: .batchPoll, url: batchesURL + "/" + b.id, body: nil)
            started = true
        }
        return started
    }

    /// Handles the end of a batch call (from `collect`, the idle check or a cut).
    func batchCallEnded(_ t: Transfer, _ result: TransferResult, at time: Double) {
        let index = t.batch
        guard index >= 0 && index < batches.count, batches[index].phase != .ended else { return }
        let job = batches[index]
        let status = result == .couldNotStart ? 0 : t.responseCode
        let resp = t.response
        let ok = result.isOK && status >= 200 && status < 300
        var kind = ErrorKind.none
        var why = ""
        if !result.isOK {
            kind = result.isTimeout ? .timeout : .connection
            why = "\(kind == .timeout ? "timeout" : "connection"): \(result.message)"
        } else if !ok {
            let body = resp.errorBody()
            kind = status == 0 ? .connection : LiveDriver.kind(errorType: body.type, status: status)
            why = "batch \(t.kind == .batchCreate ? "create" : "call"): HTTP \(status) \(body.type ?? "")"
        }
        let retryAfter = resp.retryAfterMs.map { $0 / 1000 } ?? resp.retryAfter
        switch t.kind {
        case .batchCreate:
            if ok, let obj = Self.jsonObject(resp.body), let id = obj["id"] as? String {
                job.id = id
                note(job, status: obj)
            } else if ok {
                failBatch(index, status: status, kind: .serverError, retryAfter: nil, at: time,
                          cause: "invalid_response: the batch create answer has no id")
            } else {
                // A refused create answers every request with its status and retry-after.
                failBatch(index, status: status, kind: kind, retryAfter: retryAfter, at: time, cause: why)
            }
        case .batchPoll:
            if ok, let obj = Self.jsonObject(resp.body) {
                job.failures = 0
                note(job, status: obj)
            } else {
                retryLater(index, status: status, kind: kind, why: ok ? "invalid_response: batch status" : why,
                           retryAfter: retryAfter, at: time)
            }
        case .batchResults:
            if ok && !resp.bodyTruncated {
                finishBatch(index, results: resp.body, at: time)
            } else {
                retryLater(index, status: status, kind: kind,
                           why: ok ? "invalid_response: batch results over 4 MiB" : why, retryAfter: retryAfter, at: time)
            }
        case .message:
            break
        }
    }

    /// Reads a batch object: fetches the results once it has ended, else polls again later.
    private func note(_ job: LiveBatchJob, status obj: [String: Any]) {
        guard let index = batches.firstIndex(where: { $0 === job }) else { return }
        if obj["processing_status"] as? String == "ended" {
            // The documented results endpoint, not `results_url`: the API key goes to the target only.
            startBatchCall(index, kind: .batchResults, url: batchesURL + "/" + job.id + "/results", body: nil)
        } else {
            job.phase = .waiting
            job.nextPoll = Swift.max(scheduleNow, clock.now()) + job.order.pollEvery
        }
    }

    /// A failed poll or fetch: tried again at the next poll, up to `batchFailureLimit` in a row.
    /// A poll refused by the batch RPM (429, every batch endpoint counts against it) waits its
    /// retry-after and does not count as a failure.
    private func retryLater(_ index: Int, status: Int, kind: ErrorKind, why: String, retryAfter: Double? = nil,
                            at time: Double) {
        let job = batches[index]
        cause(why)
        if status == 429 {
            job.phase = .waiting
            job.nextPoll = time + Swift.max(job.order.pollEvery, Swift.min(retryAfter ?? 1, 60))
            return
        }
        job.failures += 1
        if job.failures >= Self.batchFailureLimit {
            failBatch(index, status: status, kind: kind == .none ? .serverError : kind, retryAfter: nil, at: time,
                      cause: nil)
        } else {
            job.phase = .waiting
            job.nextPoll = time + job.order.pollEvery
        }
    }

    /// Ends every attempt of batch `index` with one answer (a refused create, a batch lost).
    func failBatch(_ index: Int, status: Int, kind: ErrorKind, retryAfter: Double?, at time: Double, cause why: String?) {
        let job = batches[index]
        job.phase = .ended
        for (n, a) in job.attempts.enumerated() {
            if let why { cause(why) }
            batchReady.append(LiveBatchCompletion(attempt: a, time: time, status: status, kind: kind,
                                                  retryAfter: retryAfter, usage: ReportedUsage(), cause: nil,
                                                  reserved: job.reserved[n]))
        }
    }

    /// Ends every attempt of batch `index` from its results: `succeeded` → 200 with the usage,
    /// `errored` → the error's status, `expired`/`canceled` → a timeout; a request with no
    /// result line is a server fault.
    private func finishBatch(_ index: Int, results: [UInt8], at time: Double) {
        let job = batches[index]
        job.phase = .ended
        var byId: [String: LiveBatchCompletion] = [:]
        for line in results.split(separator: 0x0A) {
            guard let obj = Self.jsonObject(Array(line)), let cid = obj["custom_id"] as? String,
                  let result = obj["result"] as? [String: Any] else { continue }
            var c = LiveBatchCompletion(attempt: -1, time: time, status: 0, kind: .timeout, retryAfter: nil,
                                        usage: ReportedUsage(), cause: nil)
            switch result["type"] as? String {
            case "succeeded":
                c.status = 200
                c.kind = .none
                if let u = (result["message"] as? [String: Any])?["usage"] as? [String: Any] {
                    c.usage.input = (u["input_tokens"] as? Int) ?? -1
                    c.usage.output = (u["output_tokens"] as? Int) ?? -1
                    c.usage.cacheCreation = (u["cache_creation_input_tokens"] as? Int) ?? 0
                    c.usage.cacheRead = (u["cache_read_input_tokens"] as? Int) ?? 0
                }
            case "errored":
                let e = ((result["error"] as? [String: Any])?["error"] as? [String: Any])?["type"] as? String
                c.status = Self.status(ofErrorType: e)
                c.kind = LiveDriver.kind(errorType: e, status: c.status)
                c.cause = "batch errored: \(e ?? "unknown")"
            case let t:
                c.cause = "batch \(t ?? "unknown")"
            }
            byId[cid] = c
        }
        for (n, a) in job.attempts.enumerated() {
            if var c = byId["r\(job.order.requests[n])"] {
                c.attempt = a
                c.reserved = job.reserved[n]
                if let why = c.cause { cause(why) }
                batchReady.append(c)
            } else {
                cause("invalid_response: no batch result for a request")
                batchReady.append(LiveBatchCompletion(attempt: a, time: time, status: 200, kind: .serverError,
                                                      retryAfter: nil, usage: ReportedUsage(), cause: nil,
                                                      reserved: job.reserved[n]))
            }
        }
    }

    /// The HTTP status of an `errored` result's error type (the Messages API's errors,
    /// https://docs.anthropic.com/en/api/errors).
    static func status(ofErrorType type: String?) -> Int {
        switch type {
        case "invalid_request_error"?: return 400
        case "authentication_error"?: return 401
        case "permission_error"?: return 403
        case "not_found_error"?: return 404
        case "request_too_large"?: return 413
        case "rate_limit_error"?: return 429
        case "overloaded_error"?: return 529
        default: return 500
        }
    }

    static func jsonObject(_ bytes: [UInt8]) -> [String: Any]? {
        (try? JSONSerialization.jsonObject(with: Data(bytes))) as? [String: Any]
    }

    /// Records a batch attempt's end in the log; returns the outcome for the strategy. Billed
    /// at half the standard price.
    func recordBatch(_ c: LiveBatchCompletion, log: inout RunLog) -> AttemptOutcome {
        let ai = Int(c.attempt)
        let r = Int(log.attemptRequest[ai])
        let succeeded = c.kind == .none && c.status >= 200 && c.status < 300
        log.status[ai] = UInt16(clamping: c.status)
        log.errorKind[ai] = c.kind.rawValue
        log.refusedBy[ai] = c.status == 429 ? LimitDimensions.requests.rawValue : 0
        log.firstTokenAt[ai] = succeeded ? c.time : .nan
        log.completedAt[ai] = c.time
        log.cacheCreationTokens[ai] = Int32(clamping: Swift.max(0, c.usage.cacheCreation))
        log.cacheReadTokens[ai] = Int32(clamping: Swift.max(0, c.usage.cacheRead))
        if let ra = c.retryAfter { log.retryAfter[ai] = Float(ra) }
        live.inputTokens[ai] = Int32(clamping: c.usage.input)
        live.outputTokens[ai] = Int32(clamping: c.usage.output)
        var actual = 0.0
        if succeeded {
            let input = c.usage.input >= 0 ? c.usage.input : Int(stream.inputTokens[r] - stream.prefixTokens[r])
            let output = c.usage.output >= 0 ? c.usage.output : Int(stream.maxTokens[r])
            actual = env.spend.actual(input: input, cacheCreation: Swift.max(0, c.usage.cacheCreation),
                                      cacheRead: Swift.max(0, c.usage.cacheRead), output: output) / 2
        }
        env.spend.settle(reserved: c.reserved, actual: actual)
        costUSD += actual
        completed += 1
        if c.status == 429 { status429 += 1 }
        if !succeeded { errors += 1 }
        env.metrics?.attemptEnded(status: c.status, kind: c.kind, refused: c.status == 429 ? .requests : [],
                                  key: Int(log.key[ai]), rateLimits: nil, costUSD: actual)
        let totalInput = c.usage.input >= 0
            ? c.usage.input + Swift.max(0, c.usage.cacheCreation) + Swift.max(0, c.usage.cacheRead)
            : Int(stream.inputTokens[r])
        return AttemptOutcome(status: c.status, error: c.kind, retryAfter: c.retryAfter,
                              refusedBy: c.status == 429 ? .requests : [], rateLimits: nil, inputTokens: totalInput,
                              outputTokens: succeeded ? (c.usage.output >= 0 ? c.usage.output : Int(stream.outputTokens[r])) : 0,
                              sentAt: log.sentAt[ai], completedAt: c.time)
    }

    /// Ends the attempts of batches still waiting when the run is cut (the grace period is
    /// over): timeouts, billed at their reservation (what they will cost is unknown).
    func cutBatches(at time: Double, log: inout RunLog) {
        // Ends already known but not yet delivered are recorded as they are.
        for c in batchReady { _ = recordBatch(c, log: &log) }
        batchReady.removeAll()
        for (i, b) in batches.enumerated() where b.phase != .ended {
            b.phase = .ended
            for (n, a) in b.attempts.enumerated() {
                recordCut(Int(a), at: time, as: .aborted,
                          cause: "timeout: batch \(b.id.isEmpty ? String(i) : b.id) not ended when the run was cut",
                          reservedUSD: b.reserved[n], log: &log)
            }
        }
    }
}
