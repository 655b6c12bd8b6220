import Foundation
import LimitlabCore
import LimitlabServer
import LimitlabStats
import NIOCore

/// One organisation's Message Batches over HTTP: the batches' ids, requests and result lines.
/// Which calls the batch RPM admits, whether the processing queue takes a batch, and when each
/// request is processed, cancelled or expired are decided by `BatchQueue` (LimitlabServer), the
/// same pure value the simulator uses, as described in Anthropic's "Batch processing" page
/// (https://docs.anthropic.com/en/docs/build-with-claude/batch-processing) and the batch table
/// of https://docs.anthropic.com/en/api/rate-limits.
///
/// Processing is evaluated lazily: every access first advances each batch to "now" (building
/// the result lines of the requests the queue says are processed by then), so no timers run
/// and an idle server does no work. Params are validated at creation (only their outcome is
/// kept) and each result line is built when its request is processed.
final class BatchStore: @unchecked Sendable {
    let org: OrgState
    let settings: BatchServerModel
    var rpm: Double { queue.rpm }
    var queueLimit: Int { queue.queueLimit }
    private let catalog: TierCatalog
    private let models: ModelResolver
    private let defaultOutputTokens: Int
    private let epoch: Double
    private let lock = NSLock()
    private var queue: BatchQueue
    private var batches: [String: Batch] = [:]
    /// Batch ids in creation order.
    private var order: [String] = []
    private var ids = IDSource(seed: UInt64.random(in: .min ... .max))

    final class Batch {
        let id: String
        /// Index of the batch in the queue.
        let index: Int
        let created: Double
        let expires: Double
        var requests: [BatchItem]
        var results: [String] = []
        var processed = 0
        var succeeded = 0, errored = 0, canceled = 0, expired = 0
        var cancelInitiated: Double?
        var ended: Double?

        init(id: String, index: Int, created: Double, expires: Double, requests: [BatchItem]) {
            self.id = id; self.index = index; self.created = created; self.expires = expires; self.requests = requests
        }
    }

    init(org: OrgState, config: MockConfig, catalog: TierCatalog, models: ModelResolver, epoch: Double) {
        self.org = org
        settings = config.batches
        self.catalog = catalog
        self.models = models
        defaultOutputTokens = config.defaultOutputTokens
        self.epoch = epoch
        let tier = org.org.limits.tier.flatMap { catalog.tier(named: $0) }
        // The simulator's stream names, so the same seed gives the same start delays.
        queue = BatchQueue(model: config.batches, tier: tier, burst: org.org.limits.burst,
                           random: RandomSource(seed: config.seed, stream: org.index == 0 ? "batches" : "batches[\(org.index)]"),
                           catalog: catalog)
    }

    /// Admits one call to any batch endpoint against the batch RPM bucket.
    func admit(now clock: () -> Double) -> AdmissionDecision {
        lock.lock()
        defer { lock.unlock() }
        return queue.admitCall(at: clock(), snapshot: true)
    }

    enum CreateOutcome {
        case created(String)
        /// The queue would exceed its limit; `queued` requests are waiting now.
        case queueFull(queued: Int)
    }

    /// Creates a batch of already validated requests, unless the queue would overflow.
    func create(_ requests: [BatchItem], now clock: () -> Double) -> CreateOutcome {
        lock.lock()
        defer { lock.unlock() }
        let now = clock()
        for id in order { advance(batches[id]!, now) }
        let index: Int
        switch queue.create(count: requests.count, at: now) {
        case .success(let i): index = i
        case .failure(.queueFull(let queued, _)): return .queueFull(queued: queued)
        case .failure: return .queueFull(queued: queue.queued(at: now)) // parseCreate caps the size first
        }
        let id = ids.make(prefix: "msgbatch_01")
        let b = queue.batches[index]
        batches[id] = Batch(id: id, index: index, created: now, expires: b.expires, requests: requests)
        order.append(id)
        return .created(render(batches[id]!, host: nil))
    }

    /// The batch object as JSON, or nil when unknown.
    func retrieve(_ id: String, host: String?, now: Double) -> String? {
        lock.lock()
        defer { lock.unlock() }
        guard let b = batches[id] else { return nil }
        advance(b, now)
        return render(b, host: host)
    }

    /// Starts cancelling: unprocessed requests end as `canceled`. Nil when unknown.
    func cancel(_ id: String, host: String?, now: Double) -> String? {
        lock.lock()
        defer { lock.unlock() }
        guard let b = batches[id] else { return nil }
        advance(b, now)
        if b.ended == nil && b.cancelInitiated == nil {
            b.cancelInitiated = now
            queue.cancel(b.index, at: now)
        }
        return render(b, host: host)
    }

    enum DeleteOutcome { case deleted, notFound, notEnded }

    func delete(_ id: String, now: Double) -> DeleteOutcome {
        lock.lock()
        defer { lock.unlock() }
        guard let b = batches[id] else { return .notFound }
        advance(b, now)
        guard b.ended != nil else { return .notEnded }
        batches[id] = nil
        order.removeAll { $0 == id }
        return .deleted
    }

    enum ResultsOutcome { case jsonl(String), notFound, notEnded }

    func results(_ id: String, now: Double) -> ResultsOutcome {
        lock.lock()
        defer { lock.unlock() }
        guard let b = batches[id] else { return .notFound }
        advance(b, now)
        guard b.ended != nil else { return .notEnded }
        return .jsonl(b.results.map { $0 + "\n" }.joined())
    }

    /// One page of the list, newest first: `after_id` pages towards older batches,
    /// `before_id` towards newer ones. Nil when a cursor names no batch.
    func list(limit: Int, beforeId: String?, afterId: String?, host: String?, now: Double) -> String? {
        lock.lock()
        defer { lock.unlock() }
        let newest = Array(order.reversed())
        var range = newest.indices
        if let a = afterId {
            guard let i = newest.firstIndex(of: a) else { return nil }
            range = (i + 1)..<newest.endIndex
        }
        if let bId = beforeId {
            guard let i = newest.firstIndex(of: bId) else { return nil }
            range = range.clamped(to: newest.startIndex..<i)
        }
        // before_id alone takes the page adjacent to the cursor; otherwise the first page.
        let page: Range<Int>
        let hasMore: Bool
        if beforeId != nil && afterId == nil {
            page = Swift.max(range.lowerBound, range.upperBound - limit)..<range.upperBound
            hasMore = page.lowerBound > range.lowerBound
        } else {
            page = range.lowerBound..<Swift.min(range.upperBound, range.lowerBound + limit)
            hasMore = page.upperBound < range.upperBound
        }
        let items = page.map { id -> String in
            let b = batches[newest[id]]!
            advance(b, now)
            return render(b, host: host)
        }
        let first = page.isEmpty ? "null" : JSONText.quoted(newest[page.lowerBound])
        let last = page.isEmpty ? "null" : JSONText.quoted(newest[page.upperBound - 1])
        return #"{"data":["# + items.joined(separator: ",") + #"],"has_more":\#(hasMore),"first_id":\#(first),"#
            + #""last_id":\#(last)}"#
    }

    // MARK: Processing

    /// Builds the results of the requests the queue has processed by `now`, then ends the batch
    /// when the queue says it has ended (completed, cancelled or expired).
    private func advance(_ b: Batch, _ now: Double) {
        guard b.ended == nil else { return }
        let n = b.requests.count
        let p = queue.progress(b.index, at: now)
        while b.processed < p.processed {
            process(b, b.processed)
            b.processed += 1
        }
        guard p.ended else { return }
        let rest = #"{"type":"\#(p.end == .canceled ? "canceled" : "expired")"}"#
        for k in b.processed..<n { b.results.append(Self.line(b.requests[k].customId, rest)) }
        switch p.end {
        case .completed: break
        case .canceled: b.canceled += n - b.processed
        case .expired: b.expired += n - b.processed
        }
        b.processed = n
        b.ended = p.endsAt
    }

    /// Runs request `k` through the Messages validation and generation (default output
    /// length: batch requests carry no `x-limitlab-output-tokens`).
    private func process(_ b: Batch, _ k: Int) {
        let customId = b.requests[k].customId
                func fail(_ type: String, _ message: String) {
            b.errored += 1
            b.results.append(Self.line(customId, #"{"type":"errored","error":"#
                                       + #"{"type":"error","error":{"type":"# + JSONText.quoted(type)
                                       + #","message":"# + JSONText.quoted(message) + "}}}"))
        }
        let request: MessagesRequest
        switch b.requests[k].params {
        case .success(let r): request = r
        case .failure(let e): return fail(e.type, e.message)
        }
        guard request.maxTokens >= 1 else {
            return fail("invalid_request_error", "max_tokens: Input should be greater than or equal to 1")
        }
        guard !request.stream else {
            return fail("invalid_request_error", "stream: batch requests cannot be streamed")
        }
        // Model ids resolve exactly as on messages.create, with the same model-dependent checks.
        guard let model = models.resolve(request.model), org.classId(for: model.id, catalog: catalog) != nil else {
            return fail("invalid_request_error", "model: \(request.model) is not available")
        }
        do { try request.validate(against: model, countTokens: false) } catch { return fail(error.type, error.message) }
        let output = Swift.min(defaultOutputTokens, request.maxTokens)
        let stopReason = defaultOutputTokens > request.maxTokens ? "max_tokens" : "end_turn"
        let usage = TokenUsage(input: request.promptTokens, cacheCreation5m: 0, cacheCreation1h: 0, cacheRead: 0,
                          output: output)
        var buffer = ByteBufferAllocator().buffer(capacity: 512 + 4 * output)
        Bodies.message(into: &buffer, id: ids.make(prefix: "msg_01"), model: request.model, usage: usage,
                       stopReason: stopReason)
        b.succeeded += 1
        b.results.append(Self.line(customId, #"{"type":"succeeded","message":"# + String(buffer: buffer) + "}"))
    }

    private static func line(_ customId: String, _ result: String) -> String {
        #"{"custom_id":"# + JSONText.quoted(customId) + #","result":"# + result + "}"
    }

    // MARK: Rendering

    private func time(_ t: Double?) -> String {
        guard let t else { return "null" }
        let date = Date(timeIntervalSince1970: epoch + t)
        return "\"" + date.formatted(Date.ISO8601FormatStyle(includingFractionalSeconds: true)) + "\""
    }

    /// The batch object; counts other than `processing` stay zero until the batch ends.
    private func render(_ b: Batch, host: String?) -> String {
        let ended = b.ended != nil
        let status = ended ? "ended" : b.cancelInitiated != nil ? "canceling" : "in_progress"
        let counts = ended
            ? #"{"processing":0,"succeeded":\#(b.succeeded),"errored":\#(b.errored),"canceled":\#(b.canceled),"#
                + #""expired":\#(b.expired)}"#
            : #"{"processing":\#(b.requests.count),"succeeded":0,"errored":0,"canceled":0,"expired":0}"#
        let url = ended ? JSONText.quoted("http://\(host ?? "127.0.0.1")/v1/messages/batches/\(b.id)/results") : "null"
        return #"{"id":"# + JSONText.quoted(b.id) + #","type":"message_batch","processing_status":"\#(status)","#
            + #""request_counts":\#(counts),"ended_at":\#(time(b.ended)),"created_at":\#(time(b.created)),"#
            + #""expires_at":\#(time(b.expires)),"cancel_initiated_at":\#(time(b.cancelInitiated)),"#
            + #""archived_at":null,"results_url":\#(url)}"#
    }

    /// One request of a batch: its id and its params as validated at creation.
    struct BatchItem {
        var customId: String
        var params: Result<MessagesRequest, APIError>
    }

    // MARK: Create-body validation

    /// Validates a create body synchronously (shape, `custom_id` pattern and uniqueness);
    /// a params error is kept and reported only as an `errored` result.
    static func parseCreate(_ body: JSONValue) throws(APIError) -> [BatchItem] {
        guard case .object = body else {
            throw .invalid("the request body must be a JSON object, found \(body.typeName)")
        }
        guard let list = body["requests"] else { throw .invalid("requests: Field required") }
        guard case .array(let items) = list else { throw .invalid("requests: Input should be a valid list") }
        guard !items.isEmpty else { throw .invalid("requests: List should have at least 1 item after validation, not 0") }
        guard items.count <= 100_000 else {
            throw .invalid("requests: List should have at most 100000 items after validation, not \(items.count)")
        }
        var out: [BatchItem] = []
        out.reserveCapacity(items.count)
        var seen: Set<String> = []
        for (i, item) in items.enumerated() {
            guard case .object = item else { throw .invalid("requests.\(i): Input should be a valid dictionary") }
            guard let c = item["custom_id"] else { throw .invalid("requests.\(i).custom_id: Field required") }
            guard case .string(let id) = c else { throw .invalid("requests.\(i).custom_id: Input should be a valid string") }
            guard (1...64).contains(id.utf8.count),
                  id.utf8.allSatisfy({ $0 == 0x2D || $0 == 0x5F || (0x30...0x39).contains($0)
                                       || (0x41...0x5A).contains($0) || (0x61...0x7A).contains($0) })
            else {
                throw .invalid("requests.\(i).custom_id: String should match pattern '^[a-zA-Z0-9_-]{1,64}$'")
            }
            guard seen.insert(id).inserted else {
                throw .invalid("requests.\(i).custom_id: Duplicate custom_id \"\(id)\"; each request in a batch "
                               + "needs a unique custom_id")
            }
            guard let p = item["params"] else { throw .invalid("requests.\(i).params: Field required") }
            guard case .object = p else { throw .invalid("requests.\(i).params: Input should be a valid dictionary") }
            // Parsed now (the body is at hand) but reported only in the results, as the real
            // API validates params asynchronously.
            let params: Result<MessagesRequest, APIError>
            do { params = .success(try MessagesRequest.parse(p, countTokens: false)) } catch { params = .failure(error) }
            out.append(BatchItem(customId: id, params: params))
        }
        return out
    }
}
