public import LimitlabCore
import LimitlabStats

extension Metric {
    /// The value in a summary; nil when not measured (no successes for a latency, no price).
    public func value(in s: RunSummary) -> Double? {
        func lat(_ p: Percentiles, _ v: Double) -> Double? { p.count > 0 ? v : nil }
        switch self {
        case .latencyP50: return lat(s.latencyS, s.latencyS.p50)
        case .latencyP90: return lat(s.latencyS, s.latencyS.p90)
        case .latencyP95: return lat(s.latencyS, s.latencyS.p95)
        case .latencyP99: return lat(s.latencyS, s.latencyS.p99)
        case .latencyP999: return lat(s.latencyS, s.latencyS.p999)
        case .latencyMax: return lat(s.latencyS, s.latencyS.max)
        case .ttftP50: return lat(s.ttftS, s.ttftS.p50)
        case .ttftP99: return lat(s.ttftS, s.ttftS.p99)
        case .successRate: return s.successRate
        case .rate429: return s.rate429
        case .sloAttainment: return s.slo?.attainment
        case .goodputRequests: return s.goodput.requestsPerMin
        case .goodputOutputTokens: return s.goodput.outputTokensPerMin
        case .attemptsPerSuccess: return s.attemptsPerSuccess
        case .costUSD: return s.cost?.totalUSD
        case .jainIndex: return s.workers?.jainIndex
        case .overshoot: return s.workers?.overshoot.ratio
        case .fallbackShare:
            return s.attempts > 0 ? Double(s.fallback?.attempts ?? 0) / Double(s.attempts) : 0
        }
    }
}
