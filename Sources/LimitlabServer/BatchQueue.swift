public import LimitlabCore
public import LimitlabStats

/// One organisation's Message Batches queue as a pure value: admission of batch calls against
/// the batch RPM, admission of new batches against the processing-queue limit, and when each
/// request of a batch is processed, cancelled or expired. It reads no clock and does no I/O;
/// the simulator calls it in virtual time and the mock's batch endpoints call it with the wall
/// clock, so both process a batch the same way by construction.
///
/// Facts modelled, from Anthropic's "Batch processing" page
/// (https://docs.anthropic.com/en/docs/build-with-claude/batch-processing) and the batch table
/// of https://docs.anthropic.com/en/api/rate-limits:
/// - every batch endpoint counts against the organisation's batch requests per minute;
/// - a batch holds at most 100,000 requests, and the queue at most the tier's count of
///   requests "yet to be successfully processed";
/// - results are available once the whole batch has ended; requests not processed within
///   24 h of creation expire;
/// - batch requests cost 50 % of the standard price (`priceFactor`).
///
/// Processing model: batch k starts `startDelay` (exponential with the model's mean, drawn
/// from the queue's own seeded stream, once per batch in creation order; no draw when the mean
/// is 0) after its creation and then processes its requests in order at `requestsPerSecond`:
/// request i is done at `start + (i + 1) / requestsPerSecond`.
public struct BatchQueue {
    /// Why a create call was refused.
    public enum Refusal: Error, Sendable, Equatable {
        /// The batch RPM bucket refused the call; retry after this many whole seconds.
        case rateLimited(retryAfter: Int)
        /// The queue would exceed its limit: `queued` requests wait now, `limit` may.
        case queueFull(queued: Int, limit: Int)
        /// More requests than one batch may hold.
        case tooLarge(count: Int, max: Int)
    }

    /// How a batch ended.
    public enum End: Sendable, Equatable {
        case completed
        case canceled
        case expired
    }

    /// A batch as created.
    public struct Batch: Sendable, Equatable {
        public var created: Double
        public var expires: Double
        /// When processing starts.
        public var start: Double
        public var count: Int
        public var cancelInitiated: Double?
    }

    /// Where a batch is at a given time.
    public struct Progress: Sendable, Equatable {
        /// Requests processed (the first `processed` in order).
        public var processed: Int
        /// When and how the batch ends (known in advance; it has ended when `at ≤ now`).
        public var endsAt: Double
        public var end: End
        /// Whether the batch has ended by the time asked.
        public var ended: Bool
    }

    public let model: BatchServerModel
    /// Batch calls per minute.
    public let rpm: Double
    /// Most requests in the processing queue.
    public let queueLimit: Int
    /// Batch price as a share of the standard price (the catalog's batch discount, 0.5).
    public let priceFactor: Double
    public private(set) var batches: [Batch] = []
    private var bucket: LimitModel
    private let random: RandomSource

    /// - Parameters:
    ///   - model: pace, start delay, expiry and overrides of the limits.
    ///   - tier: the organisation's tier, for its `batch_rpm` and `batch_queue` (else 50 and 100,000).
    ///   - burst: bucket capacity of the batch RPM as a multiple of a minute's limit.
    ///   - random: the queue's own stream (the simulator and the mock name it `batches`).
    public init(model: BatchServerModel, tier: Tier?, burst: Double = 1, random: RandomSource,
                catalog: TierCatalog = .builtIn) {
        self.model = model
        rpm = model.rpm ?? tier.map { Double($0.batchRPM) } ?? 50
        queueLimit = model.queue ?? tier?.batchQueue ?? 100_000
        priceFactor = catalog.discounts.batch
        // Only the requests bucket matters; the token buckets never refuse.
        bucket = LimitModel(LimitConfig(rpm: rpm, itpm: 1e15, otpm: 1e15, burst: burst), at: 0)
        self.random = random
    }

    /// Admits one call to any batch endpoint at `now` against the batch RPM bucket.
    public mutating func admitCall(at now: Double, snapshot: Bool = false) -> AdmissionDecision {
        bucket.admit(RequestCost(inputTokens: 0, maxTokens: 0), at: now, withSnapshot: snapshot)
    }

    /// Requests waiting in the processing queue at `now`: not yet processed, in batches that
    /// have not ended and are not being cancelled.
    public func queued(at now: Double) -> Int {
        var n = 0
        for i in batches.indices where batches[i].cancelInitiated == nil {
            let p = progress(i, at: now)
            if !p.ended { n += batches[i].count - p.processed }
        }
        return n
    }

    /// Creates a batch of `count` requests at `now` (the call itself already admitted by
    /// `admitCall`), unless it is too large or the queue would exceed its limit. Returns the
    /// batch's index.
    public mutating func create(count: Int, at now: Double) -> Result<Int, Refusal> {
        let most = BatchServerModel.maxRequestsPerBatch
        guard count <= most else { return .failure(.tooLarge(count: count, max: most)) }
        let waiting = queued(at: now)
        guard waiting + count <= queueLimit else { return .failure(.queueFull(queued: waiting, limit: queueLimit)) }
        let delay = model.startDelay > 0 ? random.exponential(mean: model.startDelay) : 0
        batches.append(Batch(created: now, expires: now + model.expiry, start: now + delay, count: count))
        return .success(batches.count - 1)
    }

    /// Starts cancelling batch `i` at `now` (no effect once it has ended or is cancelling): the
    /// request in progress finishes, the rest end as `canceled`.
    public mutating func cancel(_ i: Int, at now: Double) {
        guard batches[i].cancelInitiated == nil, !progress(i, at: now).ended else { return }
        batches[i].cancelInitiated = now
    }

    /// Where batch `i` is at `now`.
    public func progress(_ i: Int, at now: Double) -> Progress {
        let b = batches[i]
        let rps = model.requestsPerSecond
        let finish = b.start + Double(b.count) / rps
        let endsAt: Double
        let end: End
        if finish <= Swift.min(b.expires, b.cancelInitiated ?? .infinity) {
            endsAt = finish; end = .completed
        } else if let c = b.cancelInitiated {
            // The cancel takes effect once the request in progress would have finished.
            endsAt = Swift.max(c, b.start) + 1 / rps; end = .canceled
        } else {
            endsAt = b.expires; end = .expired
        }
        let stop = Swift.min(now, b.cancelInitiated ?? now, b.expires)
        let due = ((stop - b.start) * rps).rounded(.down)
        var processed = due.isFinite ? Swift.min(b.count, Swift.max(0, Int(due))) : b.count
        // (finish − start) · rps can round to just below the count.
        if end == .completed && now >= endsAt { processed = b.count }
        return Progress(processed: processed, endsAt: endsAt, end: end, ended: now >= endsAt)
    }

    /// Batch `i` as it will end, with nothing else happening: how many requests succeed (the
    /// first `processed`) and when the batch ends.
    public func outcome(_ i: Int) -> Progress {
        let ends = progress(i, at: batches[i].created).endsAt
        return progress(i, at: ends)
    }

    /// When a client polling every `pollEvery` seconds from the batch's creation first sees
    /// batch `i` ended (at once for a non-positive interval).
    public func resultSeen(_ i: Int, pollEvery: Double) -> Double {
        let b = batches[i]
        let ends = outcome(i).endsAt
        guard pollEvery > 0 else { return ends }
        return b.created + ((ends - b.created) / pollEvery).rounded(.up) * pollEvery
    }
}
