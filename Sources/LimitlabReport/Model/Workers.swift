public import LimitlabCore

/// One worker's share of a run (`runs[].summary.workers.per_worker[]`).
public struct WorkerStats: Codable, Sendable, Equatable {
    public var worker: Int
    public var offered: Int
    public var succeeded: Int
    public var failed: Int
    public var dropped: Int
    public var attempts: Int
    public var status429: Int
    /// succeeded / (W/60), W the run's goodput window.
    public var goodputRequestsPerMin: Double
    /// offered / all offered.
    public var offeredShare: Double
    /// Attempts a fallback limiter admitted.
    public var fallbackAttempts: Int
    enum CodingKeys: String, CodingKey {
        case worker, offered, succeeded, failed, dropped, attempts
        case status429 = "status_429", goodputRequestsPerMin = "goodput_requests_per_min"
        case offeredShare = "offered_share", fallbackAttempts = "fallback_attempts"
    }
}

/// How far the organisation's sends (admitted and refused alike) went beyond its limits.
public struct Overshoot: Codable, Sendable, Equatable {
    /// The sliding window, seconds (60: the limits are per minute).
    public var windowS: Double
    /// RPM and ITPM of the keys the run used, summed.
    public var limitRPM: Double
    public var limitITPM: Double
    /// Most attempts sent in any window [t, t + window_s).
    public var peakSendsPerWindow: Int
    /// Start of the first window holding that peak.
    public var peakAtS: Double
    /// peak_sends_per_window ÷ (RPM × window_s/60).
    public var requestsRatio: Double
    /// Most ITPM-counted input tokens sent in any window, ÷ (ITPM × window_s/60).
    public var inputTokensRatio: Double
    /// max(requests_ratio, input_tokens_ratio): above 1 the organisation as a whole sent more
    /// than its limits allow in some minute.
    public var ratio: Double
    /// 429 answers, and their share of attempts.
    public var status429: Int
    public var rate429: Double
    enum CodingKeys: String, CodingKey {
        case ratio
        case windowS = "window_s", limitRPM = "limit_rpm", limitITPM = "limit_itpm"
        case peakSendsPerWindow = "peak_sends_per_window", peakAtS = "peak_at_s", requestsRatio = "requests_ratio"
        case inputTokensRatio = "input_tokens_ratio", status429 = "status_429", rate429 = "rate_429"
    }
}

/// Per-worker results, fairness and collective overshoot of a run with several workers.
public struct WorkersSummary: Codable, Sendable, Equatable {
    public var count: Int
    public var perWorker: [WorkerStats]
    /// Jain's fairness index over x_i = goodput_i ÷ offered share_i of the workers that were
    /// offered requests: (Σx)² ÷ (k·Σx²), in [1/k, 1]; nil when nothing succeeded.
    public var jainIndex: Double?
    public var overshoot: Overshoot
    enum CodingKeys: String, CodingKey {
        case count, overshoot
        case perWorker = "per_worker", jainIndex = "jain_index"
    }
}

/// Decisions a shared limiter's fallback made because its store failed.
public struct FallbackSummary: Codable, Sendable, Equatable {
    /// Attempts a local fallback limiter admitted.
    public var attempts: Int
    /// Requests with at least one such attempt or a fallback drop.
    public var requests: Int
    /// Requests dropped by fail-closed (`shared_limiter_unavailable`).
    public var dropped: Int
}

/// Computes the worker, fairness, overshoot and fallback parts of a summary.
public enum WorkerStatistics {
    /// Jain's fairness index of non-negative allocations: (Σx)² ÷ (n·Σx²); nil for none or all zero.
    public static func jain(_ x: [Double]) -> Double? {
        let sum = x.reduce(0, +), squares = x.reduce(0) { $0 + $1 * $1 }
        guard !x.isEmpty, squares > 0 else { return nil }
        return sum * sum / (Double(x.count) * squares)
    }

    /// The workers section; nil for a run of one worker (unless `force`).
    public static func summarise(log: RunLog, stream: ArrivalStream, scenario: Scenario?, windowS: Double,
                                 force: Bool = false) -> WorkersSummary? {
        let n = log.requestCount
        let maxWorker = log.worker.max().map(Int.init) ?? 0
        let declared = scenario?.workers?.count ?? 1
        guard force || declared > 1 || maxWorker > 0 else { return nil }
        let count = Swift.max(declared, maxWorker + 1)
        var stats = (0..<count).map {
            WorkerStats(worker: $0, offered: 0, succeeded: 0, failed: 0, dropped: 0, attempts: 0, status429: 0,
                        goodputRequestsPerMin: 0, offeredShare: 0, fallbackAttempts: 0)
        }
        for r in 0..<n {
            let w = Int(log.worker[r])
            stats[w].offered += 1
            switch RequestOutcome(rawValue: log.outcome[r]) ?? .pending {
            case .succeeded: stats[w].succeeded += 1
            case .dropped: stats[w].dropped += 1
            case .failed, .pending: stats[w].failed += 1
            }
        }
        for a in 0..<log.attemptCountTotal {
            let w = Int(log.worker[Int(log.attemptRequest[a])])
            stats[w].attempts += 1
            if log.status[a] == 429 { stats[w].status429 += 1 }
            if a < log.fallback.count && log.fallback[a] != 0 { stats[w].fallbackAttempts += 1 }
        }
        let minutes = windowS / 60
        for w in stats.indices {
            stats[w].goodputRequestsPerMin = minutes > 0 ? Double(stats[w].succeeded) / minutes : 0
            stats[w].offeredShare = n > 0 ? Double(stats[w].offered) / Double(n) : 0
        }
        let x = stats.filter { $0.offered > 0 }.map { $0.goodputRequestsPerMin / $0.offeredShare }
        return WorkersSummary(count: count, perWorker: stats, jainIndex: jain(x),
                              overshoot: overshoot(log: log, stream: stream, scenario: scenario))
    }

    /// Peak sends (and ITPM-counted input) in any 60-second window over the limits of the keys used.
    public static func overshoot(log: RunLog, stream: ArrivalStream, scenario: Scenario?) -> Overshoot {
        let window = 60.0
        let keys = scenario?.limits.keyConfigs ?? []
        var used = Set<Int>()
        for k in log.key { used.insert(Int(k)) }
        if used.isEmpty { used.insert(0) }
        let rpm = used.reduce(0.0) { $0 + ($1 < keys.count ? keys[$1].rpm : 0) }
        let itpm = used.reduce(0.0) { $0 + ($1 < keys.count ? keys[$1].itpm : 0) }
        let countsReads = scenario?.limits.config.cacheReadsCount ?? false

        // (send time, input counted) sorted by time: merged logs are not in send order.
        var sends: [(t: Double, input: Double)] = []
        sends.reserveCapacity(log.attemptCountTotal)
        var refused = 0
        for a in 0..<log.attemptCountTotal {
            let r = Int(log.attemptRequest[a])
            let read = Double(log.cacheReadTokens[a])
            sends.append((log.sentAt[a], Double(stream.inputTokens[r]) - (countsReads ? 0 : read)))
            if log.status[a] == 429 { refused += 1 }
        }
        sends.sort { $0.t < $1.t }
        var peak = 0, peakAt = 0.0, peakInput = 0.0
        var j = 0, input = 0.0
        for i in sends.indices {
            // Window [sends[i].t, sends[i].t + 60): advance j past its end.
            while j < sends.count && sends[j].t < sends[i].t + window { input += sends[j].input; j += 1 }
            if j - i > peak { peak = j - i; peakAt = sends[i].t }
            peakInput = Swift.max(peakInput, input)
            input -= sends[i].input
        }
        let requestsRatio = rpm > 0 ? Double(peak) / rpm : 0
        let inputRatio = itpm > 0 ? peakInput / itpm : 0
        let attempts = log.attemptCountTotal
        return Overshoot(windowS: window, limitRPM: rpm, limitITPM: itpm, peakSendsPerWindow: peak, peakAtS: peakAt,
                         requestsRatio: requestsRatio, inputTokensRatio: inputRatio,
                         ratio: Swift.max(requestsRatio, inputRatio), status429: refused,
                         rate429: attempts > 0 ? Double(refused) / Double(attempts) : 0)
    }

    /// The fallback section; nil when no decision went through a fallback.
    public static func fallback(log: RunLog) -> FallbackSummary? {
        var attempts = 0
        var marked = Set<Int32>()
        for a in 0..<Swift.min(log.fallback.count, log.attemptCountTotal) where log.fallback[a] != 0 {
            attempts += 1
            marked.insert(log.attemptRequest[a])
        }
        var dropped = 0
        for r in 0..<log.requestCount where log.dropFallback[r] != 0 {
            dropped += 1
            marked.insert(Int32(r))
        }
        guard attempts > 0 || dropped > 0 else { return nil }
        return FallbackSummary(attempts: attempts, requests: marked.count, dropped: dropped)
    }
}
