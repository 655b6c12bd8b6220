/// The requests of one run in arrival order, shared by every strategy run of a scenario.
/// Stored column-wise: about 26 bytes per request.
public struct ArrivalStream: Sendable {
    /// Intended arrival time, seconds from the start of the run, non-decreasing.
    public var intendedAt: [Double] = []
    /// Total input tokens (cached prefix included).
    public var inputTokens: [Int32] = []
    /// Output tokens the server will generate (already capped by `maxTokens`).
    public var outputTokens: [Int32] = []
    public var maxTokens: [Int32] = []
    /// Cached-prefix tokens: from a trace's `cache_read_tokens` (always a read), or the
    /// workload's cache share (read or written depending on the cache state); 0 for none.
    public var prefixTokens: [Int32] = []
    /// Which shared prefix the request uses; negative for a trace-forced read.
    public var prefixId: [Int16] = []
    /// Length of the arrival window in seconds (the scenario duration, or the last arrival
    /// time for a count-limited run).
    public var window: Double = 0
    /// 1 for a deferrable request (`workload.deferrable`); empty when none is.
    public var deferrable: [UInt8] = []

    public init() {}

    public var count: Int { intendedAt.count }

    public mutating func reserveCapacity(_ n: Int) {
        intendedAt.reserveCapacity(n); inputTokens.reserveCapacity(n); outputTokens.reserveCapacity(n)
        maxTokens.reserveCapacity(n); prefixTokens.reserveCapacity(n); prefixId.reserveCapacity(n)
    }

    public mutating func append(at: Double, input: Int, output: Int, maxTokens max: Int, prefixTokens prefix: Int = 0,
                                prefixId id: Int = 0) {
        intendedAt.append(at)
        inputTokens.append(Int32(clamping: input))
        outputTokens.append(Int32(clamping: output))
        maxTokens.append(Int32(clamping: max))
        prefixTokens.append(Int32(clamping: prefix))
        prefixId.append(Int16(clamping: id))
    }
}

/// How a request ended.
public enum RequestOutcome: UInt8, Sendable {
    case pending = 0
    case succeeded
    case failed
    case dropped

    public var label: String {
        switch self {
        case .pending: return "pending"
        case .succeeded: return "succeeded"
        case .failed: return "failed"
        case .dropped: return "dropped"
        }
    }
}

/// Everything recorded in one strategy run, column-wise: one row per attempt (about 52 bytes)
/// and one per request (about 10 bytes). Times are seconds from the start of the run; NaN
/// means "did not happen" (no first token on a 429).
public struct RunLog: Sendable {
    // Per attempt.
    public var attemptRequest: [Int32] = []
    public var attemptNumber: [UInt8] = []
    /// When the request became eligible for this attempt (arrival, or end of backoff).
    public var readyAt: [Double] = []
    public var sentAt: [Double] = []
    public var firstTokenAt: [Double] = []
    public var completedAt: [Double] = []
    public var status: [UInt16] = []
    public var errorKind: [UInt8] = []
    public var refusedBy: [UInt8] = []
    public var retryAfter: [Float] = []
    public var cacheCreationTokens: [Int32] = []
    public var cacheReadTokens: [Int32] = []
    /// Index of the API key the attempt used.
    public var key: [UInt8] = []
    /// 1 when a fallback limiter admitted the attempt because the shared store failed.
    public var fallback: [UInt8] = []
    /// Model class of each attempt (0: the scenario's model). Sparse: empty until an attempt
    /// goes to another class, and shorter than the attempts when the later ones used class 0.
    public var modelClass: [UInt8] = []
    /// Prompt tokens a strategy trimmed from each attempt. Sparse like `modelClass`.
    public var trimmedInputTokens: [Int32] = []

    /// Server bucket levels (remaining, may be negative) of the first key, sampled every
    /// `bucketSampleInterval` seconds from 0; index k is time k × interval.
    public var bucketSampleInterval: Double = 0
    public var bucketRequests: [Float] = []
    public var bucketInputTokens: [Float] = []
    public var bucketOutputTokens: [Float] = []
    /// The strategy's state gauges (`ClientStrategy.stateGauges`) sampled at the bucket sample
    /// times: gauge names in first-seen order, and per name its values (index k is time
    /// k × `bucketSampleInterval`; NaN where the strategy did not report that name).
    public var limiterStateNames: [String] = []
    public var limiterState: [[Float]] = []

    // Per request.
    public var outcome: [UInt8]
    /// GiveUpReason or DropReason raw value, 0 for none.
    public var reason: [UInt8]
    /// Index of the request's last attempt, -1 for none.
    public var lastAttempt: [Int32]
    public var attemptCount: [UInt8]
    /// The worker (client process) that handled the request; 0 for a single-process run.
    public var worker: [UInt16]
    /// 1 when the request was dropped by a fallback (fail-closed: `shared_limiter_unavailable`).
    public var dropFallback: [UInt8]
    /// Per attempt: 1 when it went through the Message Batches API (billed at the batch price;
    /// sent = batch created, completed = result seen). Empty when no attempt did; an attempt
    /// past its end did not.
    public var viaBatch: [UInt8] = []

    public init(requests: Int) {
        worker = Array(repeating: 0, count: requests)
        dropFallback = Array(repeating: 0, count: requests)
        outcome = Array(repeating: 0, count: requests)
        reason = Array(repeating: 0, count: requests)
        lastAttempt = Array(repeating: -1, count: requests)
        attemptCount = Array(repeating: 0, count: requests)
        let guess = requests + requests / 4
        attemptRequest.reserveCapacity(guess); attemptNumber.reserveCapacity(guess)
        readyAt.reserveCapacity(guess); sentAt.reserveCapacity(guess); firstTokenAt.reserveCapacity(guess)
        completedAt.reserveCapacity(guess); status.reserveCapacity(guess); errorKind.reserveCapacity(guess)
        refusedBy.reserveCapacity(guess); retryAfter.reserveCapacity(guess)
        cacheCreationTokens.reserveCapacity(guess); cacheReadTokens.reserveCapacity(guess)
        key.reserveCapacity(guess); fallback.reserveCapacity(guess)
    }

    public var attemptCountTotal: Int { attemptRequest.count }
    public var requestCount: Int { outcome.count }

    /// Starts an attempt; returns its index. Completion fields are filled by `complete`.
    public mutating func beginAttempt(request: Int32, readyAt ready: Double, sentAt sent: Double, key k: Int = 0,
                                      viaFallback: Bool = false) -> Int32 {
        let index = Int32(attemptRequest.count)
        let r = Int(request)
        let n = attemptCount[r] &+ 1
        attemptCount[r] = n
        lastAttempt[r] = index
        attemptRequest.append(request)
        attemptNumber.append(n)
        readyAt.append(ready)
        sentAt.append(sent)
        firstTokenAt.append(.nan)
        completedAt.append(.nan)
        status.append(0)
        errorKind.append(0)
        refusedBy.append(0)
        retryAfter.append(.nan)
        cacheCreationTokens.append(0)
        cacheReadTokens.append(0)
        key.append(UInt8(clamping: k))
        fallback.append(viaFallback ? 1 : 0)
        return index
    }

    /// Records the model class and trimmed prompt tokens of attempt `a` (sparse columns: only
    /// non-zero values grow them).
    public mutating func setRouting(attempt a: Int32, modelClass c: Int, trimmed: Int) {
        let i = Int(a)
        if c != 0 {
            if modelClass.count <= i { modelClass.append(contentsOf: repeatElement(0, count: i + 1 - modelClass.count)) }
            modelClass[i] = UInt8(clamping: c)
        }
        if trimmed > 0 {
            if trimmedInputTokens.count <= i {
                trimmedInputTokens.append(contentsOf: repeatElement(0, count: i + 1 - trimmedInputTokens.count))
            }
            trimmedInputTokens[i] = Int32(clamping: trimmed)
        }
    }

    /// Model class of attempt `a` (0 when the sparse column does not reach it).
    @inlinable
    public func modelClass(ofAttempt a: Int) -> Int { a < modelClass.count ? Int(modelClass[a]) : 0 }

    /// Prompt tokens trimmed from attempt `a`.
    @inlinable
    public func trimmed(ofAttempt a: Int) -> Int { a < trimmedInputTokens.count ? Int(trimmedInputTokens[a]) : 0 }

    public mutating func finish(request: Int, outcome o: RequestOutcome, reason r: UInt8 = 0) {
        outcome[request] = o.rawValue
        reason[request] = r
    }
}

/// Fixed time bins for series and samples: a "nice" width giving at most `maxBins` bins.
public enum TimeBins {
    static let widths: [Double] = [0.1, 0.25, 0.5, 1, 2, 5, 10, 15, 30, 60, 120, 300, 600, 900, 1800, 3600, 7200,
                                   14_400, 21_600, 43_200, 86_400]

    /// The smallest nice width that covers `span` seconds in at most `maxBins` bins.
    public static func width(span: Double, maxBins: Int = 240) -> Double {
        for w in widths where span / w <= Double(maxBins) { return w }
        return (span / Double(maxBins)).rounded(.up)
    }
}

extension ArrivalStream {
    /// Request `r` as a strategy sees it when it arrives: its cost as the client can know it
    /// (the cached prefix counted as a read; whether the server reads or writes it is learnt
    /// only from the response).
    @inlinable
    public func pendingRequest(_ r: Int) -> PendingRequest {
        let prefix = Int(prefixTokens[r])
        var p = PendingRequest(
            id: Int32(r), intendedAt: intendedAt[r],
            cost: RequestCost(inputTokens: Int(inputTokens[r]) - prefix, cacheCreationTokens: 0,
                              cacheReadTokens: prefix, maxTokens: Int(maxTokens[r])))
        p.deferrable = isDeferrable(r)
        return p
    }
}

extension ArrivalStream {
    /// The first `n` arrivals, with `window` as the new arrival window (default: the last
    /// kept arrival's time). A run cut short is compared on the requests it was offered.
    public func prefix(_ n: Int, window: Double? = nil) -> ArrivalStream {
        var out = ArrivalStream()
        out.intendedAt = Array(intendedAt.prefix(n))
        out.inputTokens = Array(inputTokens.prefix(n))
        out.outputTokens = Array(outputTokens.prefix(n))
        out.maxTokens = Array(maxTokens.prefix(n))
        out.prefixTokens = Array(prefixTokens.prefix(n))
        out.prefixId = Array(prefixId.prefix(n))
        out.window = window ?? (n > 0 ? intendedAt[n - 1] : 0)
        out.deferrable = Array(deferrable.prefix(n))
        return out
    }
}

extension RunLog {
    /// The log restricted to requests below `n` (attempt rows renumbered), every column kept.
    public func truncated(requests n: Int) -> RunLog {
        var out = RunLog(requests: n)
        out.bucketSampleInterval = bucketSampleInterval
        for a in 0..<attemptCountTotal where Int(attemptRequest[a]) < n {
            let i = Int(out.beginAttempt(request: attemptRequest[a], readyAt: readyAt[a], sentAt: sentAt[a],
                                         key: Int(key[a]), viaFallback: a < fallback.count && fallback[a] != 0))
            out.firstTokenAt[i] = firstTokenAt[a]
            out.completedAt[i] = completedAt[a]
            out.status[i] = status[a]
            out.errorKind[i] = errorKind[a]
            out.refusedBy[i] = refusedBy[a]
            out.retryAfter[i] = retryAfter[a]
            out.cacheCreationTokens[i] = cacheCreationTokens[a]
            out.cacheReadTokens[i] = cacheReadTokens[a]
            if isBatch(attempt: a) { out.markBatch(attempt: i) }
        }
        for r in 0..<n {
            out.outcome[r] = outcome[r]
            out.reason[r] = reason[r]
            out.worker[r] = worker[r]
            out.dropFallback[r] = dropFallback[r]
        }
        return out
    }
}

// MARK: Deferrable requests and batch attempts

extension ArrivalStream {
    /// Whether request `r` is deferrable.
    @inlinable
    public func isDeferrable(_ r: Int) -> Bool { r < deferrable.count && deferrable[r] != 0 }

    /// Whether any request is deferrable.
    public var hasDeferrable: Bool { deferrable.contains(1) }
}

extension RunLog {
    /// Whether attempt `a` went through the Message Batches API.
    @inlinable
    public func isBatch(attempt a: Int) -> Bool { a < viaBatch.count && viaBatch[a] != 0 }

    /// Marks attempt `a` as sent through the Message Batches API.
    public mutating func markBatch(attempt a: Int) {
        if viaBatch.count < attemptCountTotal { viaBatch.append(contentsOf: repeatElement(0, count: attemptCountTotal - viaBatch.count)) }
        viaBatch[a] = 1
    }
}
