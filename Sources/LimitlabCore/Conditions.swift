import Foundation

/// A metric of a run summary, by a stable dotted name (`latency.p99`, `success_rate`, …). The
/// same names serve `limitlab size --slo` and CI thresholds.
public enum Metric: String, Sendable, CaseIterable, Codable {
    case latencyP50 = "latency.p50", latencyP90 = "latency.p90", latencyP95 = "latency.p95"
    case latencyP99 = "latency.p99", latencyP999 = "latency.p999", latencyMax = "latency.max"
    case ttftP50 = "ttft.p50", ttftP99 = "ttft.p99"
    case successRate = "success_rate"
    case rate429 = "rate_429"
    case sloAttainment = "slo.attainment"
    case goodputRequests = "goodput.requests_per_min"
    case goodputOutputTokens = "goodput.output_tokens_per_min"
    case attemptsPerSuccess = "attempts_per_success"
    case costUSD = "cost.total_usd"
    /// Jain's fairness index over the workers (runs with several workers).
    case jainIndex = "jain_index"
    /// Collective overshoot: the organisation's peak sends per minute over its limits.
    case overshoot = "overshoot"
    /// Share of attempts a shared limiter's fallback admitted (0 when none).
    case fallbackShare = "fallback_share"

    /// Short names accepted too (`p99`, `success`, `goodput`, `slo`).
    public static let aliases: [String: Metric] = [
        "p50": .latencyP50, "p90": .latencyP90, "p95": .latencyP95, "p99": .latencyP99, "p999": .latencyP999,
        "success": .successRate, "goodput": .goodputRequests, "slo": .sloAttainment, "429": .rate429,
        "cost": .costUSD, "jain": .jainIndex,
    ]

    public static func named(_ name: String) -> Metric? { Metric(rawValue: name) ?? aliases[name] }

    /// Whether values are seconds (written with units).
    public var isLatency: Bool { rawValue.hasPrefix("latency.") || rawValue.hasPrefix("ttft.") }

}

/// A condition on a metric: `p99<30s`, `success_rate>=0.99`.
public struct Condition: Sendable, Equatable, Codable, CustomStringConvertible {
    public enum Op: String, Sendable, Codable, CaseIterable { case lt = "<", le = "<=", gt = ">", ge = ">=" }
    public var metric: Metric
    public var op: Op
    public var threshold: Double

    public var description: String {
        let v = metric.isLatency ? Units.formatDuration(threshold) : String(threshold)
        return "\(metric.rawValue) \(op.rawValue) \(v)"
    }

    /// Whether `value` satisfies the condition; a missing value never does ("not measured").
    public func holds(_ value: Double?) -> Bool {
        guard let v = value, !v.isNaN else { return false }
        switch op {
        case .lt: return v < threshold
        case .le: return v <= threshold
        case .gt: return v > threshold
        case .ge: return v >= threshold
        }
    }

    /// Signed room to the threshold as a share of it: positive = inside by that much.
    public func headroom(_ value: Double?) -> Double? {
        guard let v = value, threshold != 0 else { return nil }
        switch op {
        case .lt, .le: return (threshold - v) / abs(threshold)
        case .gt, .ge: return (v - threshold) / abs(threshold)
        }
    }

    /// Parses `a<b,c>=d` (commas or `and` between conditions). Errors say which part is wrong.
    public static func parseList(_ text: String) throws(ConditionError) -> [Condition] {
        let parts = text.replacingOccurrences(of: " and ", with: ",").split(separator: ",").map {
            $0.trimmingCharacters(in: .whitespaces)
        }.filter { !$0.isEmpty }
        guard !parts.isEmpty else { throw ConditionError(message: "expected conditions like \"p99<30s,success>=0.99\", found nothing") }
        var out: [Condition] = []
        for p in parts { out.append(try parse(p)) }
        return out
    }

    public static func parse(_ text: String) throws(ConditionError) -> Condition {
        let ops: [Op] = [.le, .ge, .lt, .gt] // two-character operators first
        for op in ops {
            guard let range = text.range(of: op.rawValue) else { continue }
            let name = text[..<range.lowerBound].trimmingCharacters(in: .whitespaces)
            let valueText = text[range.upperBound...].trimmingCharacters(in: .whitespaces)
            guard let metric = Metric.named(name) else {
                throw ConditionError(message: "\"\(text)\": unknown metric \"\(name)\"; known: "
                                     + Metric.allCases.map(\.rawValue).joined(separator: ", ")
                                     + " (or p50, p99, success, goodput, slo)")
            }
            let value: Double?
            if metric.isLatency {
                value = Units.parseDuration(valueText)
            } else if valueText.hasSuffix("%") {
                value = Double(valueText.dropLast()).map { $0 / 100 }
            } else {
                value = Double(valueText)
            }
            guard let value else {
                let expected = metric.isLatency ? "a duration like 30s" : "a number like 0.99 or 99%"
                throw ConditionError(message: "\"\(text)\": expected \(expected) after \(op.rawValue), found \"\(valueText)\"")
            }
            return Condition(metric: metric, op: op, threshold: value)
        }
        throw ConditionError(message: "\"\(text)\": expected METRIC OP VALUE with OP one of <, <=, >, >= (e.g. p99<30s)")
    }
}

public struct ConditionError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// A threshold from a scenario's `thresholds:`: a condition for one strategy (by label) or all.
public struct ThresholdSpec: Sendable, Equatable, Codable {
    public var condition: Condition
    /// Strategy label; nil applies to every strategy.
    public var strategy: String?
    public init(condition: Condition, strategy: String? = nil) { self.condition = condition; self.strategy = strategy }
}

extension Metric {
    /// Whether a larger value is better (goodput, success) or worse (latency, 429s, cost).
    public var higherIsBetter: Bool {
        switch self {
        case .successRate, .sloAttainment, .goodputRequests, .goodputOutputTokens, .jainIndex: return true
        default: return false
        }
    }
}
