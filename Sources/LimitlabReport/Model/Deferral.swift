import LimitlabCore
public import LimitlabStats

/// One class of requests (urgent or deferrable) of a run with deferrable requests.
public struct RequestClassSummary: Codable, Sendable, Equatable {
    public var requests: RequestCounts
    /// Intended arrival → completion of the succeeded requests.
    public var latencyS: Percentiles
    /// Against the class's own latency (urgent: the scenario's `slo:`; deferrable: its `latency:`).
    public var slo: SLOResult?

    enum CodingKeys: String, CodingKey {
        case requests, slo
        case latencyS = "latency_s"
    }
}

/// What deferring requests cost and saved (`workload.deferrable`): urgent and deferrable
/// requests judged separately, the batch turnaround, and the cost against sending every
/// request in real time.
public struct DeferralSummary: Codable, Sendable, Equatable {
    public var urgent: RequestClassSummary
    public var deferrable: RequestClassSummary
    /// Requests whose successful attempt went through the Message Batches API.
    public var viaBatch: Int
    /// Batch attempts: submitted (batch created) → result seen, all of them (succeeded or not).
    public var batchTurnaroundS: Percentiles
    /// The run's cost (batch attempts at the batch price); nil without a price for the model.
    public var costUSD: Double?
    /// What the same successful attempts would have cost at the standard price.
    public var realtimeCostUSD: Double?
    /// `realtimeCostUSD − costUSD`.
    public var savedUSD: Double?

    enum CodingKeys: String, CodingKey {
        case urgent, deferrable
        case viaBatch = "via_batch", batchTurnaroundS = "batch_turnaround_s", costUSD = "cost_usd"
        case realtimeCostUSD = "realtime_cost_usd", savedUSD = "saved_usd"
    }
}

extension Summariser {
    /// The latency a request must succeed within to meet the SLO: the deferrable latency for a
    /// deferrable request, else the scenario's.
    static func sloLatency(_ r: Int, stream: ArrivalStream, slo: SLOSpec, scenario: Scenario?) -> Double {
        stream.isDeferrable(r) ? (scenario?.workload.deferrable?.latency ?? DeferrableSpec(share: 0).latency) : slo.latency
    }

    /// The deferral block of a run whose stream has deferrable requests (nil otherwise).
    /// `batchFactor` is the batch price as a share of the standard price; `batchCost` and
    /// `realtimeCost` come from the cost computation.
    static func deferral(log: RunLog, stream: ArrivalStream, slo: SLOSpec?, scenario: Scenario?,
                         options: SummaryOptions, cost: (total: Double, realtime: Double)?) -> DeferralSummary? {
        guard stream.hasDeferrable else { return nil }
        let deferLatency = scenario?.workload.deferrable?.latency ?? DeferrableSpec(share: 0).latency
        func summary(deferrable: Bool) -> RequestClassSummary {
            var counts = RequestCounts(offered: 0, succeeded: 0, failed: 0, dropped: 0)
            var latency: [Double] = []
            var within = 0
            let limit = deferrable ? deferLatency : slo?.latency
            for r in 0..<log.requestCount where stream.isDeferrable(r) == deferrable {
                counts.offered += 1
                switch RequestOutcome(rawValue: log.outcome[r]) ?? .pending {
                case .succeeded:
                    counts.succeeded += 1
                    let l = log.completedAt[Int(log.lastAttempt[r])] - stream.intendedAt[r]
                    latency.append(l)
                    if let limit, l <= limit { within += 1 }
                case .dropped: counts.dropped += 1
                case .failed, .pending: counts.failed += 1
                }
            }
            var result: SLOResult?
            if let limit, let slo {
                let a = counts.offered > 0 ? Double(within) / Double(counts.offered) : 0
                result = SLOResult(latencyS: limit, attainment: a, target: slo.attainment,
                                   met: slo.attainment.map { a >= $0 })
            }
            SampleSort.ascending(&latency)
            return RequestClassSummary(requests: counts, latencyS: Percentiles.of(&latency, extra: options.percentiles),
                                       slo: result)
        }
        var viaBatch = 0
        for r in 0..<log.requestCount where log.outcome[r] == RequestOutcome.succeeded.rawValue {
            if log.isBatch(attempt: Int(log.lastAttempt[r])) { viaBatch += 1 }
        }
        var turnaround: [Double] = []
        for a in 0..<Swift.min(log.viaBatch.count, log.attemptCountTotal) where log.viaBatch[a] != 0 {
            turnaround.append(log.completedAt[a] - log.sentAt[a])
        }
        SampleSort.ascending(&turnaround)
        return DeferralSummary(
            urgent: summary(deferrable: false), deferrable: summary(deferrable: true), viaBatch: viaBatch,
            batchTurnaroundS: Percentiles.of(&turnaround, extra: options.percentiles),
            costUSD: cost?.total, realtimeCostUSD: cost?.realtime, savedUSD: cost.map { $0.realtime - $0.total })
    }
}
