public import LimitlabCore
public import LimitlabStats

/// Request counts of a run. `offered = succeeded + failed + dropped`.
public struct RequestCounts: Codable, Sendable, Equatable {
    public var offered: Int
    public var succeeded: Int
    public var failed: Int
    public var dropped: Int
}

/// Successful work per minute of the run's makespan.
public struct Goodput: Codable, Sendable, Equatable {
    public var requestsPerMin: Double
    /// Total input tokens of succeeded requests (cached prefix included).
    public var inputTokensPerMin: Double
    public var outputTokensPerMin: Double
    /// The denominator: from 0 to the later of the arrival window's end and the last completion.
    public var windowS: Double

    enum CodingKeys: String, CodingKey {
        case requestsPerMin = "requests_per_min", inputTokensPerMin = "input_tokens_per_min"
        case outputTokensPerMin = "output_tokens_per_min", windowS = "window_s"
    }
}

/// SLO attainment: the share of offered requests that succeeded within the latency SLO
/// (failures and drops count as misses).
public struct SLOResult: Codable, Sendable, Equatable {
    public var latencyS: Double
    public var attainment: Double
    public var target: Double?
    public var met: Bool?

    enum CodingKeys: String, CodingKey {
        case latencyS = "latency_s", attainment, target, met
    }
}

/// Per-strategy summary, the `runs[].summary` object of `report.json`.
public struct RunSummary: Codable, Sendable, Equatable {
    public var requests: RequestCounts
    public var attempts: Int
    /// attempts / succeeded (retry amplification); 0 when nothing succeeded.
    public var attemptsPerSuccess: Double
    /// Attempts by HTTP status code.
    public var statusCounts: [String: Int]
    /// 429s by the dimension(s) that refused, e.g. `input_tokens`, `requests+output_tokens`.
    public var refusalsByDimension: [String: Int]
    public var failedByReason: [String: Int]
    public var droppedByReason: [String: Int]
    /// Intended arrival → completion of the successful attempt (succeeded requests).
    public var latencyS: Percentiles
    /// Last send → completion (succeeded requests).
    public var serviceLatencyS: Percentiles
    /// Intended arrival → first token of the successful attempt (succeeded requests).
    public var ttftS: Percentiles
    /// Time requests spent eligible but held by the client's limiter, summed per request.
    public var queueWaitS: Percentiles
    /// Time requests spent in retry backoff, summed per request.
    public var backoffS: Percentiles
    public var goodput: Goodput
    public var slo: SLOResult?
    /// Share of attempts answered 429.
    public var rate429: Double
    public var successRate: Double

    enum CodingKeys: String, CodingKey {
        case requests, attempts, goodput, slo
        case attemptsPerSuccess = "attempts_per_success", statusCounts = "status_counts"
        case refusalsByDimension = "refusals_by_dimension", failedByReason = "failed_by_reason"
        case droppedByReason = "dropped_by_reason", latencyS = "latency_s", serviceLatencyS = "service_latency_s"
        case ttftS = "ttft_s", queueWaitS = "queue_wait_s", backoffS = "backoff_s", rate429 = "rate_429"
        case successRate = "success_rate"
    }
}

/// Computes run summaries from raw logs.
public enum Summariser {
    public static func summarise(log: RunLog, stream: ArrivalStream, slo: SLOSpec?) -> RunSummary {
        let n = log.requestCount
        var succeeded = 0, failed = 0, dropped = 0
        var failedBy: [String: Int] = [:], droppedBy: [String: Int] = [:]
        var latency: [Double] = [], service: [Double] = [], ttft: [Double] = []
        latency.reserveCapacity(n); service.reserveCapacity(n); ttft.reserveCapacity(n)
        var inputTokens = 0.0, outputTokens = 0.0
        var lastCompletion = 0.0
        var withinSLO = 0

        for r in 0..<n {
            switch RequestOutcome(rawValue: log.outcome[r]) ?? .pending {
            case .succeeded:
                succeeded += 1
                let a = Int(log.lastAttempt[r])
                let intended = stream.intendedAt[r]
                let done = log.completedAt[a]
                let l = done - intended
                latency.append(l)
                service.append(done - log.sentAt[a])
                ttft.append(log.firstTokenAt[a] - intended)
                inputTokens += Double(stream.inputTokens[r])
                outputTokens += Double(stream.outputTokens[r])
                if let slo, l <= slo.latency { withinSLO += 1 }
            case .failed:
                failed += 1
                failedBy[(GiveUpReason(rawValue: log.reason[r])?.label) ?? "unknown", default: 0] += 1
            case .dropped:
                dropped += 1
                droppedBy[(DropReason(rawValue: log.reason[r])?.label) ?? "unknown", default: 0] += 1
            case .pending:
                // A request the strategy never finished: counted as failed so nothing disappears.
                failed += 1
                failedBy["unfinished", default: 0] += 1
            }
        }

        // Flat tables, not dictionaries: this loop runs once per attempt.
        var statusTable = [Int](repeating: 0, count: 1000)
        var refusalTable = [Int](repeating: 0, count: 8)
        var queueWait = [Double](repeating: 0, count: n)
        var backoff = [Double](repeating: 0, count: n)
        var previousEnd = [Double](repeating: .nan, count: n)
        for a in 0..<log.attemptCountTotal {
            let status = log.status[a]
            statusTable[Int(Swift.min(status, 999))] += 1
            if status == 429 { refusalTable[Int(log.refusedBy[a] & 7)] += 1 }
            let r = Int(log.attemptRequest[a])
            queueWait[r] += log.sentAt[a] - log.readyAt[a]
            let prev = previousEnd[r]
            backoff[r] += prev.isNaN ? 0 : Swift.max(0, log.readyAt[a] - prev)
            previousEnd[r] = log.completedAt[a]
            let end = log.completedAt[a]
            if end.isFinite && end > lastCompletion { lastCompletion = end }
        }
        // Queue wait before the first attempt includes time from intended arrival to readiness
        // (a strategy that holds new requests marks them ready at arrival).
        let window = Swift.max(stream.window, lastCompletion)
        let minutes = window > 0 ? window / 60 : 0

        var sloResult: SLOResult?
        if let slo {
            let attainment = n > 0 ? Double(withinSLO) / Double(n) : 0
            sloResult = SLOResult(latencyS: slo.latency, attainment: attainment, target: slo.attainment,
                                  met: slo.attainment.map { attainment >= $0 })
        }
        var statusCounts: [String: Int] = [:]
        for (code, count) in statusTable.enumerated() where count > 0 { statusCounts[String(code)] = count }
        var refusals: [String: Int] = [:]
        for (bits, count) in refusalTable.enumerated() where count > 0 {
            refusals[LimitDimensions(rawValue: UInt8(bits)).label] = count
        }
        let attempts = log.attemptCountTotal
        let count429 = statusTable[429]
        return RunSummary(
            requests: RequestCounts(offered: n, succeeded: succeeded, failed: failed, dropped: dropped),
            attempts: attempts,
            attemptsPerSuccess: succeeded > 0 ? Double(attempts) / Double(succeeded) : 0,
            statusCounts: statusCounts,
            refusalsByDimension: refusals,
            failedByReason: failedBy,
            droppedByReason: droppedBy,
            latencyS: Percentiles.of(&latency),
            serviceLatencyS: Percentiles.of(&service),
            ttftS: Percentiles.of(&ttft),
            queueWaitS: Percentiles.of(&queueWait),
            backoffS: Percentiles.of(&backoff),
            goodput: Goodput(
                requestsPerMin: minutes > 0 ? Double(succeeded) / minutes : 0,
                inputTokensPerMin: minutes > 0 ? inputTokens / minutes : 0,
                outputTokensPerMin: minutes > 0 ? outputTokens / minutes : 0,
                windowS: window),
            slo: sloResult,
            rate429: attempts > 0 ? Double(count429) / Double(attempts) : 0,
            successRate: n > 0 ? Double(succeeded) / Double(n) : 0)
    }
}
