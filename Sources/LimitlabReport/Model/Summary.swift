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

/// Achieved throughput over each limit: achieved per minute / limit per minute, over the goodput
/// window, against the limits of the keys the run used.
public struct Utilisation: Codable, Sendable, Equatable {
    public var rpm: Double
    public var itpm: Double
    public var otpm: Double
}

/// Estimated spend from the catalog's list prices (successful attempts only; 429s and 529s
/// are not billed). Cache writes are priced by the workload's TTL (5m or 1h), reads at the read
/// price. The scenario's requests are not batch requests, so no batch discount applies.
public struct CostEstimate: Codable, Sendable, Equatable {
    public var totalUSD: Double
    public var perThousandRequestsUSD: Double
    public var priceSource: String
    enum CodingKeys: String, CodingKey {
        case totalUSD = "total_usd", perThousandRequestsUSD = "per_1k_requests_usd", priceSource = "price_source"
    }
}

/// Quantile points of a distribution, for plotting its CDF.
public struct CDFPoints: Codable, Sendable, Equatable {
    public var p: [Double]
    public var s: [Double]

    /// p = 0, 0.01, …, 0.99, then 0.995, 0.999, 0.9999 and 1 — dense where tails matter.
    public static let probabilities: [Double] = (0..<100).map { Double($0) / 100 } + [0.995, 0.999, 0.9999, 1]

    public static func of(sorted: [Double]) -> CDFPoints? {
        guard !sorted.isEmpty else { return nil }
        return CDFPoints(p: probabilities, s: probabilities.map { Stats.quantile(sorted: sorted, $0) })
    }
}

/// Bootstrap confidence intervals (percentile method, seeded GSL generator).
public struct Confidence: Codable, Sendable, Equatable {
    public var latencyP50S: ConfidenceInterval
    public var latencyP99S: ConfidenceInterval
    public var goodputRequestsPerMin: ConfidenceInterval
    enum CodingKeys: String, CodingKey {
        case latencyP50S = "latency_p50_s", latencyP99S = "latency_p99_s"
        case goodputRequestsPerMin = "goodput_requests_per_min"
    }
}

/// Counts per fixed time bin (bin k covers [k·bin_s, (k+1)·bin_s)), and the server's bucket
/// levels sampled every `bucket_sample_s` from time 0.
public struct TimeSeries: Codable, Sendable, Equatable {
    public var binS: Double
    /// Requests by intended arrival.
    public var offered: [Int]
    /// Attempts by send time.
    public var sent: [Int]
    /// Succeeded requests by completion.
    public var succeeded: [Int]
    /// 429 answers by completion.
    public var status429: [Int]
    /// Attempts in flight at the end of each bin.
    public var inFlight: [Int]
    public var bucketSampleS: Double
    /// Remaining in the first key's buckets (negative = debt).
    public var bucketRequests: [Double]
    public var bucketInputTokens: [Double]
    public var bucketOutputTokens: [Double]
    /// Attempts that did not succeed, by completion and by what they got (the labels of
    /// `failed_by_cause`: `429:<dimension>`, `529`, `5xx`, `timeout`, `connection_error`, …);
    /// nil in reports written before it existed.
    public var failuresByCause: [String: [Int]]? = nil
    /// The strategy's state gauges (see `ClientStrategy.stateGauges`), sampled with the bucket
    /// levels (value k at k × `bucket_sample_s`), in the strategy's order; nil when it has none
    /// (and in reports written before they existed).
    public var limiterState: [GaugeSeries]? = nil
    enum CodingKeys: String, CodingKey {
        case offered, sent, succeeded
        case binS = "bin_s", status429 = "status_429", inFlight = "in_flight", bucketSampleS = "bucket_sample_s"
        case bucketRequests = "bucket_requests", bucketInputTokens = "bucket_input_tokens"
        case bucketOutputTokens = "bucket_output_tokens", failuresByCause = "failures_by_cause"
        case limiterState = "limiter_state"
    }
}

/// One limiter-state gauge over time: `time_series.limiter_state[]` of `report.json`.
public struct GaugeSeries: Codable, Sendable, Equatable {
    /// The gauge's stable name (`limiter.tokens.requests`, `concurrency.limit`, …; see docs/strategies.md).
    public var name: String
    /// Value k is at k × `bucket_sample_s`; null where the strategy did not report it.
    public var values: [Double?]

    public init(name: String, values: [Double?]) { self.name = name; self.values = values }
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
    /// Failed requests by what their last attempt got: `429:<dimension>`, `529`, `5xx`,
    /// `timeout`, `connection_error`, `status:<code>`.
    public var failedByCause: [String: Int]
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
    public var utilisation: Utilisation?
    /// nil when the catalog has no price for the model.
    public var cost: CostEstimate?
    /// nil when not computed (`Summariser` without bootstrap).
    public var confidence: Confidence?
    /// Latency CDF points of succeeded requests: `s[i]` is the `p[i]` quantile (for charts).
    public var latencyCDF: CDFPoints?
    /// Per-worker counts, fairness and collective overshoot (runs with several workers); see Workers.swift.
    public var workers: WorkersSummary? = nil
    /// Decisions made by a shared limiter's fallback (absent when there were none).
    public var fallback: FallbackSummary? = nil
    /// TTFT CDF points of succeeded requests, like `latencyCDF`.
    public var ttftCDF: CDFPoints? = nil
    /// Urgent and deferrable requests apart, batch turnaround and cost saved (runs with
    /// `workload.deferrable`; see Deferral.swift).
    public var deferral: DeferralSummary? = nil
    /// Per model class, for scenarios with `models:` (absent otherwise).
    public var models: [ModelUsage]? = nil
    /// Prompt tokens trimmed (absent when none were).
    public var trim: TrimSummary? = nil

    enum CodingKeys: String, CodingKey {
        case requests, attempts, goodput, slo, utilisation, cost, confidence, workers, fallback, deferral, models, trim
        case latencyCDF = "latency_cdf", ttftCDF = "ttft_cdf"
        case failedByCause = "failed_by_cause"
        case attemptsPerSuccess = "attempts_per_success", statusCounts = "status_counts"
        case refusalsByDimension = "refusals_by_dimension", failedByReason = "failed_by_reason"
        case droppedByReason = "dropped_by_reason", latencyS = "latency_s", serviceLatencyS = "service_latency_s"
        case ttftS = "ttft_s", queueWaitS = "queue_wait_s", backoffS = "backoff_s", rate429 = "rate_429"
        case successRate = "success_rate"
    }
}

/// What to compute beyond the counts and percentiles.
public struct SummaryOptions: Sendable {
    /// Extra percentiles (0–1) for the latency spans, reported as `extra` (`"p75"`, `"p99.99"`).
    public var percentiles: [Double]
    /// Bootstrap confidence intervals (costs O(resamples × n)).
    public var bootstrap: Bool
    public var seed: UInt64
    public init(percentiles: [Double] = [], bootstrap: Bool = false, seed: UInt64 = 1) {
        self.percentiles = percentiles; self.bootstrap = bootstrap; self.seed = seed
    }
}

/// Computes run summaries from raw logs.
public enum Summariser {
    public static func summarise(log: RunLog, stream: ArrivalStream, slo: SLOSpec?) -> RunSummary {
        summarise(log: log, stream: stream, slo: slo, scenario: nil, options: SummaryOptions())
    }

    /// Label of what a failed request's last attempt got.
    static func cause(status: UInt16, error: UInt8, refusedBy: UInt8) -> String {
        let kind = ErrorKind(rawValue: error) ?? .none
        // A failure after a 2xx head: the stream broke (event: error) or timed out mid-way.
        if (200..<300).contains(status) && kind != .none {
            switch kind {
            case .timeout: return "timeout"
            case .connection: return "connection_error"
            default: return "stream_error:" + kind.label
            }
        }
        switch status {
        case 429: return "429:" + LimitDimensions(rawValue: refusedBy).label
        case 529: return "529"
        case 500...599: return "5xx"
        case 0:
            return ErrorKind(rawValue: error) == .timeout ? "timeout" : "connection_error"
        default: return "status:\(status)"
        }
    }

    public static func summarise(log: RunLog, stream: ArrivalStream, slo: SLOSpec?, scenario: Scenario?,
                                 options: SummaryOptions) -> RunSummary {
        let n = log.requestCount
        var succeeded = 0, failed = 0, dropped = 0
        var failedBy: [String: Int] = [:], droppedBy: [String: Int] = [:], causes: [String: Int] = [:]
        var latency: [Double] = [], service: [Double] = [], ttft: [Double] = []
        latency.reserveCapacity(n); service.reserveCapacity(n); ttft.reserveCapacity(n)
        var inputTokens = 0.0, outputTokens = 0.0
        var lastCompletion = 0.0
        var withinSLO = 0
        let deferrable = stream.hasDeferrable

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
                if let slo, l <= (deferrable ? sloLatency(r, stream: stream, slo: slo, scenario: scenario) : slo.latency) {
                    withinSLO += 1
                }
            case .failed:
                failed += 1
                failedBy[(GiveUpReason(rawValue: log.reason[r])?.label) ?? "unknown", default: 0] += 1
                let a = Int(log.lastAttempt[r])
                if a >= 0 {
                    causes[cause(status: log.status[a], error: log.errorKind[a], refusedBy: log.refusedBy[a]), default: 0] += 1
                }
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
        var admitted = 0
        var admittedInput = 0.0, uncachedIn = 0.0, creationIn = 0.0, readIn = 0.0, billedOutput = 0.0
        var batchIn = 0.0, batchOut = 0.0
        // Flags, not a Set: hashing a key per attempt cost more than the rest of this loop.
        var keySeen = [Bool](repeating: false, count: 256)
        let countsReads = scenario?.limits.config.cacheReadsCount ?? false
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
            if a < log.key.count { keySeen[Int(log.key[a])] = true }
            if status == 200 && log.isBatch(attempt: a) {
                // Batch requests count against no Messages limit and are billed at the batch price.
                batchIn += Double(stream.inputTokens[r])
                batchOut += Double(stream.outputTokens[r])
            } else if status == 200 {
                admitted += 1
                let read = Double(log.cacheReadTokens[a]), creation = Double(log.cacheCreationTokens[a])
                let uncached = Double(Int(stream.inputTokens[r]) - log.trimmed(ofAttempt: a)) - read - creation
                uncachedIn += uncached; creationIn += creation; readIn += read
                admittedInput += uncached + creation + (countsReads ? read : 0)
                billedOutput += Double(stream.outputTokens[r])
            }
        }
        let keysUsed = Set(keySeen.indices.filter { keySeen[$0] }.map(UInt8.init))
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

        var utilisation: Utilisation?
        var cost: CostEstimate?
        var costs: (total: Double, realtime: Double)?
        if let scenario {
            let keys = scenario.limits.keyConfigs
            let used = keysUsed.isEmpty ? [0] : keysUsed.map(Int.init).filter { $0 < keys.count }
            let rpm = used.reduce(0.0) { $0 + keys[$1].rpm }
            let itpm = used.reduce(0.0) { $0 + keys[$1].itpm }
            let otpm = used.reduce(0.0) { $0 + keys[$1].otpm }
            if minutes > 0 {
                utilisation = Utilisation(rpm: Double(admitted) / minutes / rpm, itpm: admittedInput / minutes / itpm,
                                          otpm: billedOutput / minutes / otpm)
            }
            if let prices = TierCatalog.builtIn.prices(for: scenario.model) {
                let longTTL = (scenario.workload.cache?.ttl ?? 300) > 300
                let realtimeTotal = (uncachedIn * prices.input + creationIn * (longTTL ? prices.cacheWrite1h : prices.cacheWrite5m)
                                     + readIn * prices.cacheRead + billedOutput * prices.output) / 1_000_000
                let batchAtList = (batchIn * prices.input + batchOut * prices.output) / 1_000_000
                let total = realtimeTotal + batchAtList * TierCatalog.builtIn.discounts.batch
                costs = (total, realtimeTotal + batchAtList)
                cost = CostEstimate(totalUSD: total, perThousandRequestsUSD: succeeded > 0 ? total / Double(succeeded) * 1000 : 0,
                                    priceSource: "\(prices.source) (\(prices.asOf))")
            }
        }

        var confidence: Confidence?
        // Sorted here by radix; `Percentiles.of` then re-sorts already sorted data in O(n).
        SampleSort.ascending(&latency)
        SampleSort.ascending(&service)
        SampleSort.ascending(&ttft)
        SampleSort.ascending(&queueWait)
        SampleSort.ascending(&backoff)
        if options.bootstrap {
            confidence = Confidence(
                latencyP50S: Bootstrap.quantile(sorted: latency, 0.5, seed: SeedDerivation.seed(options.seed, stream: "ci:p50")),
                latencyP99S: Bootstrap.quantile(sorted: latency, 0.99, seed: SeedDerivation.seed(options.seed, stream: "ci:p99")),
                goodputRequestsPerMin: Bootstrap.proportion(successes: succeeded, of: n, scale: minutes > 0 ? Double(n) / minutes : 0,
                                                            seed: SeedDerivation.seed(options.seed, stream: "ci:goodput")))
        }
        let attempts = log.attemptCountTotal
        let count429 = statusTable[429]
        let cdf = CDFPoints.of(sorted: latency)
        let ttftCDF = CDFPoints.of(sorted: ttft)
        let deferral = deferrable ? self.deferral(log: log, stream: stream, slo: slo, scenario: scenario,
                                                  options: options, cost: costs) : nil
        var summary = RunSummary(
            requests: RequestCounts(offered: n, succeeded: succeeded, failed: failed, dropped: dropped),
            attempts: attempts,
            attemptsPerSuccess: succeeded > 0 ? Double(attempts) / Double(succeeded) : 0,
            statusCounts: statusCounts,
            refusalsByDimension: refusals,
            failedByReason: failedBy,
            failedByCause: causes,
            droppedByReason: droppedBy,
            latencyS: Percentiles.of(&latency, extra: options.percentiles),
            serviceLatencyS: Percentiles.of(&service, extra: options.percentiles),
            ttftS: Percentiles.of(&ttft, extra: options.percentiles),
            queueWaitS: Percentiles.of(&queueWait, extra: options.percentiles),
            backoffS: Percentiles.of(&backoff, extra: options.percentiles),
            goodput: Goodput(
                requestsPerMin: minutes > 0 ? Double(succeeded) / minutes : 0,
                inputTokensPerMin: minutes > 0 ? inputTokens / minutes : 0,
                outputTokensPerMin: minutes > 0 ? outputTokens / minutes : 0,
                windowS: window),
            slo: sloResult,
            rate429: attempts > 0 ? Double(count429) / Double(attempts) : 0,
            successRate: n > 0 ? Double(succeeded) / Double(n) : 0,
            utilisation: utilisation, cost: cost, confidence: confidence, latencyCDF: cdf, ttftCDF: ttftCDF)
        summary.deferral = deferral
        routingSummary(&summary, log: log, stream: stream, scenario: scenario)
        return summary
    }

    /// Adds the per-model breakdown and trimmed tokens; a run over several models costs the
    /// sum of its models' costs, each at its own prices.
    static func routingSummary(_ summary: inout RunSummary, log: RunLog, stream: ArrivalStream, scenario: Scenario?) {
        summary.trim = trimSummary(log: log)
        guard let scenario, let models = modelUsage(log: log, stream: stream, scenario: scenario) else { return }
        summary.models = models
        if let primary = summary.cost, models.allSatisfy({ $0.costUSD != nil }) {
            let total = models.reduce(0) { $0 + ($1.costUSD ?? 0) }
            let ok = summary.requests.succeeded
            summary.cost = CostEstimate(totalUSD: total, perThousandRequestsUSD: ok > 0 ? total / Double(ok) * 1000 : 0,
                                        priceSource: primary.priceSource)
        }
    }

    /// Counts per fixed bin and the sampled bucket levels.
    public static func timeSeries(log: RunLog, stream: ArrivalStream) -> TimeSeries {
        var end = stream.window
        for t in log.completedAt where t.isFinite && t > end { end = t }
        let bin = TimeBins.width(span: Swift.max(end, 1))
        let bins = Swift.max(1, Int((end / bin).rounded(.up)))
        func index(_ t: Double) -> Int { Swift.min(bins - 1, Swift.max(0, Int(t / bin))) }
        var offered = [Int](repeating: 0, count: bins), sent = offered, succeeded = offered, s429 = offered
        var completedCount = offered
        var failures: [String: [Int]] = [:]
        for t in stream.intendedAt { offered[index(t)] += 1 }
        for a in 0..<log.attemptCountTotal {
            sent[index(log.sentAt[a])] += 1
            let done = log.completedAt[a]
            if done.isFinite { completedCount[index(done)] += 1 }
            let status = log.status[a]
            if status == 429 { s429[index(done)] += 1 }
            let ok = (200..<300).contains(status) && log.errorKind[a] == ErrorKind.none.rawValue
            if done.isFinite && !ok {
                failures[cause(status: status, error: log.errorKind[a], refusedBy: log.refusedBy[a]),
                         default: offered.map { _ in 0 }][index(done)] += 1
            }
        }
        for r in 0..<log.requestCount where log.outcome[r] == RequestOutcome.succeeded.rawValue {
            succeeded[index(log.completedAt[Int(log.lastAttempt[r])])] += 1
        }
        var inFlight = [Int](repeating: 0, count: bins)
        var cumulative = 0
        for k in 0..<bins {
            cumulative += sent[k] - completedCount[k]
            inFlight[k] = cumulative
        }
        // Live runs cannot see the server's buckets (their samples are NaN): report none.
        func samples(_ v: [Float]) -> [Double] { v.allSatisfy(\.isFinite) ? v.map(Double.init) : [] }
        return TimeSeries(binS: bin, offered: offered, sent: sent, succeeded: succeeded, status429: s429, inFlight: inFlight,
                          bucketSampleS: log.bucketSampleInterval, bucketRequests: samples(log.bucketRequests),
                          bucketInputTokens: samples(log.bucketInputTokens),
                          bucketOutputTokens: samples(log.bucketOutputTokens), failuresByCause: failures,
                          limiterState: limiterState(log))
    }

    /// The log's gauge samples, each written as its shortest `Float` text reads (0.1, not
    /// 0.10000000149011612); NaN becomes null. Nil when the strategy reported no gauge.
    static func limiterState(_ log: RunLog) -> [GaugeSeries]? {
        guard !log.limiterStateNames.isEmpty else { return nil }
        return zip(log.limiterStateNames, log.limiterState).map { name, values in
            GaugeSeries(name: name, values: values.map { v in v.isFinite ? Double(v.description) ?? Double(v) : nil })
        }
    }
}

/// Sorting of large samples for the summary: the five comparison sorts of a 10M-request run
/// took most of its summary time. An LSD radix sort on the IEEE-754 bit patterns gives exactly
/// the order (and so the quantiles and the summation order of the mean) of `Stats.sort`.
enum SampleSort {
    static func ascending(_ values: inout [Double]) {
        let n = values.count
        // Radix pays off from a few thousand values; NaN and -0.0 (which compare equal to 0
        // but have their own bit pattern) keep the comparison sort so the result stays identical.
        guard n >= 4096, !values.contains(where: { $0.isNaN || ($0 == 0 && $0.sign == .minus) }) else {
            Stats.sort(&values)
            return
        }
        let scratch = UnsafeMutablePointer<UInt64>.allocate(capacity: n)
        let counts = UnsafeMutablePointer<Int>.allocate(capacity: 8 * 256)
        defer { scratch.deallocate(); counts.deallocate() }
        counts.initialize(repeating: 0, count: 8 * 256)
        values.withUnsafeMutableBufferPointer { vbuf in
            vbuf.withMemoryRebound(to: UInt64.self) { buf in
                let keys = buf.baseAddress!
                // Order-preserving map: flip all bits of negatives, the sign bit of the rest.
                for i in 0..<n {
                    let b = keys[i]
                    let k = b & (1 << 63) != 0 ? ~b : b | (1 << 63)
                    keys[i] = k
                    for d in 0..<8 { counts[d &* 256 &+ Int(truncatingIfNeeded: (k &>> UInt64(d &* 8)) & 0xFF)] &+= 1 }
                }
                var src = keys, dst = scratch
                for d in 0..<8 {
                    let c = counts + d * 256
                    let shift = UInt64(d * 8)
                    // A digit every key shares moves nothing: skip the pass.
                    if c[Int(truncatingIfNeeded: (src[0] &>> shift) & 0xFF)] == n { continue }
                    var offset = 0
                    for j in 0..<256 {
                        let k = c[j]
                        c[j] = offset
                        offset &+= k
                    }
                    for i in 0..<n {
                        let k = src[i]
                        let j = Int(truncatingIfNeeded: (k &>> shift) & 0xFF)
                        dst[c[j]] = k
                        c[j] &+= 1
                    }
                    swap(&src, &dst)
                }
                for i in 0..<n {
                    let k = src[i]
                    keys[i] = k & (1 << 63) != 0 ? k & ~(1 << 63) : ~k
                }
            }
        }
    }
}
