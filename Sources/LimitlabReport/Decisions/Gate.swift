public import LimitlabCore
import LimitlabStats
import Foundation

/// One check's outcome.
public struct CheckResult: Codable, Sendable, Equatable {
    public enum Kind: String, Codable, Sendable { case threshold, regression }
    public var kind: Kind
    public var strategy: String
    public var metric: String
    /// What was checked, e.g. `latency.p99 < 30s` or `latency.p99 ≤ baseline +10%`.
    public var check: String
    public var value: Double?
    public var limit: Double?
    public var passed: Bool
    /// Why, in words a person acts on.
    public var detail: String

    public init(kind: Kind, strategy: String, metric: String, check: String, value: Double?, limit: Double?,
                passed: Bool, detail: String) {
        self.kind = kind; self.strategy = strategy; self.metric = metric; self.check = check
        self.value = value; self.limit = limit; self.passed = passed; self.detail = detail
    }
}

/// `limitlab.baseline/1`: the metrics of a report, meant to be committed and compared against.
public struct Baseline: Codable, Sendable, Equatable {
    public struct Interval: Codable, Sendable, Equatable {
        public var low: Double
        public var high: Double
    }
    public struct Run: Codable, Sendable, Equatable {
        public var values: [String: Double]
        /// Bootstrap intervals where the report has them (p50, p99, goodput).
        public var intervals: [String: Interval]
        /// Offered requests (for proportion tests).
        public var offered: Int
        /// The goodput window (seconds) and how far a repeat's window may move: goodput divides by
        /// the time to the last completion, which a repeat of the same system shifts by up to a
        /// tail latency. nil in baselines written before these were recorded (no widening then).
        public var windowS: Double?
        public var windowJitterS: Double?

        enum CodingKeys: String, CodingKey {
            case values, intervals, offered, windowS = "window_s", windowJitterS = "window_jitter_s"
        }

        public init(values: [String: Double], intervals: [String: Interval], offered: Int,
                    windowS: Double? = nil, windowJitterS: Double? = nil) {
            self.values = values; self.intervals = intervals; self.offered = offered
            self.windowS = windowS; self.windowJitterS = windowJitterS
        }
    }
    public var schema = "limitlab.baseline/1"
    public var scenario: String
    public var seed: UInt64
    public var target: String
    public var generator: String
    public var runs: [String: Run]

    /// The metrics a baseline records and a regression check compares by default.
    public static let metrics: [Metric] = [
        .latencyP50, .latencyP99, .successRate, .sloAttainment, .goodputRequests, .rate429, .attemptsPerSuccess,
    ]

    public init(report: Report) {
        scenario = report.scenario.name
        seed = report.scenario.seed
        target = report.scenario.target
        generator = report.generator
        var runs: [String: Run] = [:]
        for r in report.runs {
            var values: [String: Double] = [:]
            for m in Self.metrics { if let v = m.value(in: r.summary) { values[m.rawValue] = v } }
            var intervals: [String: Interval] = [:]
            if let c = r.summary.confidence {
                if r.summary.latencyS.count > 1 {
                    intervals[Metric.latencyP50.rawValue] = Interval(low: c.latencyP50S.low, high: c.latencyP50S.high)
                    intervals[Metric.latencyP99.rawValue] = Interval(low: c.latencyP99S.low, high: c.latencyP99S.high)
                }
                intervals[Metric.goodputRequests.rawValue] = Interval(low: c.goodputRequestsPerMin.low, high: c.goodputRequestsPerMin.high)
            }
            let window = r.summary.goodput.windowS
            let overhang = Swift.max(0, window - report.arrivals.windowS)
            let tail = r.summary.latencyS.count > 0 ? r.summary.latencyS.p99 : 0
            runs[r.strategy] = Run(values: values, intervals: intervals, offered: r.summary.requests.offered,
                                   windowS: window > 0 ? window : nil,
                                   windowJitterS: Gate.windowJitter(overhang: overhang, tailLatency: tail))
        }
        self.runs = runs
    }

    /// Reads a baseline file, or a full report.json used as the baseline.
    public static func load(path: String) throws(GateError) -> Baseline {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw GateError(message: "cannot read baseline \(path): \(error.localizedDescription)")
        }
        let decoder = JSONDecoder()
        if let b = try? decoder.decode(Baseline.self, from: data), b.schema == "limitlab.baseline/1" { return b }
        if let r = try? decoder.decode(Report.self, from: data), r.schema == Report.readableSchema { return Baseline(report: r) }
        throw GateError(message: "\(path) is neither a limitlab baseline (limitlab.baseline/1) nor a report (limitlab.report/1); "
                        + "write one with `limitlab baseline update REPORT`")
    }
}

extension Report {
    /// The report schema this version reads; `check`, `baseline update` and `merge` refuse others
    /// (a newer schema may mean something else by the same field).
    public static let readableSchema = "limitlab.report/1"

    /// Reads a report.json, refusing what is not a report of `readableSchema`.
    public static func load(path: String) throws(GateError) -> Report {
        let data: Data
        do { data = try Data(contentsOf: URL(fileURLWithPath: path)) } catch {
            throw GateError(message: "cannot read \(path): \(error.localizedDescription)")
        }
        let r: Report
        do { r = try JSONDecoder().decode(Report.self, from: data) } catch {
            throw GateError(message: "\(path) is not a readable limitlab report: \(error.localizedDescription)")
        }
        guard r.schema == readableSchema else {
            throw GateError(message: "\(path): schema \(r.schema) is not one this limitlab reads (\(readableSchema)); "
                            + "check it with the limitlab version that wrote it")
        }
        return r
    }
}

public struct GateError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Allowed worsening per metric: relative (`10%`) or absolute (`0.01`).
public struct RegressionAllowance: Sendable, Equatable {
    public var relative: [Metric: Double] = [:]
    public var absolute: [Metric: Double] = [:]

    public init() {}

    /// Parses `p99=10%,goodput=5%,rate_429=0.01`.
    public static func parse(_ text: String) throws(GateError) -> RegressionAllowance {
        var a = RegressionAllowance()
        for part in text.split(separator: ",") {
            let kv = part.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard kv.count == 2, let metric = Metric.named(kv[0]) else {
                throw GateError(message: "--max-regression \(part): expected METRIC=PERCENT% or METRIC=ABSOLUTE, with METRIC one of "
                                + Metric.allCases.map(\.rawValue).joined(separator: ", "))
            }
            if kv[1].hasSuffix("%"), let v = Double(kv[1].dropLast()), v >= 0 {
                a.relative[metric] = v / 100
            } else if let v = Double(kv[1]), v >= 0 {
                a.absolute[metric] = v
            } else {
                throw GateError(message: "--max-regression \(part): expected a non-negative number or percentage, found \"\(kv[1])\"")
            }
        }
        return a
    }
}

/// Evaluates thresholds and baseline regressions.
public enum Gate {
    public static func thresholds(_ report: Report) -> [CheckResult] {
        var out: [CheckResult] = []
        for t in report.scenario.thresholds ?? [] {
            for run in report.runs where t.strategy == nil || t.strategy == run.strategy {
                let v = t.condition.metric.value(in: run.summary)
                let passed = t.condition.holds(v)
                let detail = v == nil ? "not measured (\(t.condition.metric.rawValue) has no value: nothing succeeded, or no price/SLO)"
                    : passed ? "ok" : "\(format(t.condition.metric, v!, against: t.condition.threshold)) does not satisfy \(t.condition)"
                out.append(CheckResult(kind: .threshold, strategy: run.strategy, metric: t.condition.metric.rawValue,
                                       check: t.condition.description, value: v, limit: t.condition.threshold,
                                       passed: passed, detail: detail))
            }
            if let label = t.strategy, !report.runs.contains(where: { $0.strategy == label }) {
                out.append(CheckResult(kind: .threshold, strategy: label, metric: t.condition.metric.rawValue,
                                       check: t.condition.description, value: nil, limit: t.condition.threshold, passed: false,
                                       detail: "strategy \(label) is not in this report: not measured"))
            }
        }
        return out
    }

    /// Compares each baseline metric. Simulated runs are deterministic, so values compare exactly
    /// (a worsening beyond the allowance fails). Live runs are noisy: a worsening fails only when
    /// it exceeds the allowance *and* lies outside the noise (disjoint bootstrap intervals, or a
    /// two-proportion z-test at 95 % for rates).
    public static func regressions(_ report: Report, baseline: Baseline, allowance: RegressionAllowance) -> [CheckResult] {
        var out: [CheckResult] = []
        let exact = report.scenario.target == "sim" && baseline.target == "sim"
        if baseline.scenario != report.scenario.name || (exact && baseline.seed != report.scenario.seed) {
            return [CheckResult(kind: .regression, strategy: "*", metric: "*", check: "same scenario as the baseline",
                                value: nil, limit: nil, passed: false,
                                detail: "baseline is for \(baseline.scenario) seed \(baseline.seed), report is \(report.scenario.name) "
                                    + "seed \(report.scenario.seed): compare like with like, or update the baseline")]
        }
        for run in report.runs {
            guard let base = baseline.runs[run.strategy] else {
                out.append(CheckResult(kind: .regression, strategy: run.strategy, metric: "*", check: "in the baseline",
                                       value: nil, limit: nil, passed: false,
                                       detail: "strategy \(run.strategy) is not in the baseline: run `limitlab baseline update`"))
                continue
            }
            for m in Baseline.metrics {
                guard let b = base.values[m.rawValue] else { continue } // not part of this baseline (e.g. no SLO)
                let v = m.value(in: run.summary)
                let rel = allowance.relative[m], abs = allowance.absolute[m]
                // The worst acceptable value.
                var limit: Double
                if m.higherIsBetter {
                    limit = b - Swift.max((rel ?? 0) * Swift.abs(b), abs ?? 0)
                } else {
                    limit = b + Swift.max((rel ?? 0) * Swift.abs(b), abs ?? 0)
                }
                let allowText = rel.map { String(format: "%g%%", $0 * 100) } ?? abs.map { String(format: "%g", $0) } ?? "0"
                let check = "\(m.rawValue) \(m.higherIsBetter ? "≥" : "≤") baseline \(m.higherIsBetter ? "−" : "+")\(allowText)"
                guard let v else {
                    out.append(CheckResult(kind: .regression, strategy: run.strategy, metric: m.rawValue, check: check,
                                           value: nil, limit: limit, passed: false, detail: "not measured in this report"))
                    continue
                }
                var worse = m.higherIsBetter ? v < limit - 1e-12 : v > limit + 1e-12
                var detail = worse ? "\(format(m, v, against: limit)) vs baseline \(format(m, b))" : "ok (baseline \(format(m, b)))"
                if worse && !exact {
                    // Inside the noise? Then it is not a regression.
                    if let significant = significance(m, run: run, value: v, base: base, baseValue: b), !significant {
                        worse = false
                        detail = "\(format(m, v, against: limit)) vs baseline \(format(m, b)): within noise (95%)"
                    }
                }
                out.append(CheckResult(kind: .regression, strategy: run.strategy, metric: m.rawValue, check: check,
                                       value: v, limit: limit, passed: !worse, detail: detail))
            }
        }
        for label in baseline.runs.keys.sorted() where !report.runs.contains(where: { $0.strategy == label }) {
            out.append(CheckResult(kind: .regression, strategy: label, metric: "*", check: "present", value: nil, limit: nil,
                                   passed: false, detail: "strategy \(label) is in the baseline but not in this report: not measured"))
        }
        return out
    }

    /// Resolution of a live run's clock and scheduler, seconds: window ends closer than this are
    /// not distinguishable (the live runner's schedule lag p99 is about 0.1 ms; BENCHMARKS.md).
    public static let windowResolutionS = 0.001

    /// How far a repeat's goodput window may move, seconds. The window ends at the later of the
    /// arrival window's end and the last completion, i.e. a late arrival plus its latency, so a
    /// repeat of the same system moves it by up to a tail latency: the larger of this run's
    /// overhang past the arrival window and its p99 latency, plus the clock resolution.
    public static func windowJitter(overhang: Double, tailLatency: Double) -> Double {
        Swift.max(0, overhang.isFinite ? overhang : 0, tailLatency.isFinite ? tailLatency : 0) + windowResolutionS
    }

    /// A goodput interval (requests per minute over `window` seconds) widened by the window's
    /// jitter: S/(W+δ) … S/(W−δ). The bootstrap interval only covers which requests succeeded;
    /// with 100 % success it has zero width although the window still varies between repeats.
    static func widened(low: Double, high: Double, estimate g: Double, window w: Double, jitter d: Double) -> (Double, Double) {
        guard w > 0, d > 0, g.isFinite else { return (low, high) }
        let lo = g * w / (w + d)
        let hi = w > d ? g * w / (w - d) : .infinity
        return (Swift.min(low, lo), Swift.max(high, hi))
    }

    /// nil when no noise model applies (then the point comparison stands).
    static func significance(_ m: Metric, run: RunEntry, value v: Double, base: Baseline.Run, baseValue b: Double) -> Bool? {
        let s = run.summary
        switch m {
        case .goodputRequests:
            guard let bi = base.intervals[m.rawValue], let ni = s.confidence?.goodputRequestsPerMin else { return nil }
            // Both windows are judged with the baseline's jitter: the reference run's tail says how
            // much a repeat may move; the new run's own tail is what a regression would lengthen.
            let jitter = base.windowJitterS ?? 0
            let (bl, bh) = widened(low: bi.low, high: bi.high, estimate: b, window: base.windowS ?? 0, jitter: jitter)
            let (nl, nh) = widened(low: ni.low, high: ni.high, estimate: v, window: s.goodput.windowS, jitter: jitter)
            return m.higherIsBetter ? nh < bl : nl > bh
        case .latencyP50, .latencyP99:
            guard let bi = base.intervals[m.rawValue], let c = s.confidence else { return nil }
            let ni: ConfidenceInterval = m == .latencyP50 ? c.latencyP50S : c.latencyP99S
            // The clock resolution is a floor on any latency interval (a zero-width one included).
            let r = windowResolutionS
            return ni.low - r > bi.high + r
        case .successRate, .sloAttainment, .rate429:
            let n1 = Double(base.offered), n2 = Double(s.requests.offered)
            guard n1 > 0, n2 > 0 else { return nil }
            let pooled = (b * n1 + v * n2) / (n1 + n2)
            let se = (pooled * (1 - pooled) * (1 / n1 + 1 / n2)).squareRoot()
            guard se > 0 else { return v != b }
            return Swift.abs(v - b) / se > 1.96
        case .attemptsPerSuccess:
            // attempts/success is 1/p with p the share of attempts that succeeded: a two-proportion
            // z-test on p over the attempts of each run (retries vary between repeats of a live run).
            guard b > 0, v > 0, s.attempts > 0, let rate = base.values[Metric.successRate.rawValue] else { return nil }
            let n1 = b * rate * Double(base.offered), n2 = Double(s.attempts)
            guard n1 > 0 else { return nil }
            let p1 = 1 / b, p2 = 1 / v
            let pooled = (p1 * n1 + p2 * n2) / (n1 + n2)
            let se = (pooled * (1 - pooled) * (1 / n1 + 1 / n2)).squareRoot()
            guard se > 0 else { return v != b }
            return Swift.abs(p2 - p1) / se > 1.96
        default:
            return nil
        }
    }

    /// A metric's value for a detail line; against `threshold`, never rounded onto or across it.
    static func format(_ m: Metric, _ v: Double, against threshold: Double? = nil) -> String {
        if m.isLatency { return NumberFormat.decisive(v, digits: 3, threshold: threshold) + "s" }
        return NumberFormat.general(v, threshold: threshold)
    }
}

/// Renderings of check results.
public enum GateOutput {
    /// The value and the limit of a result, each printed on its own side of the other
    /// (`NumberFormat.general`): a value just under its limit never reads as equal to it.
    public static func numbers(_ r: CheckResult) -> (value: String, limit: String) {
        (r.value.map { NumberFormat.general($0, threshold: r.limit) } ?? "—",
         r.limit.map { NumberFormat.general($0, threshold: r.value) } ?? "—")
    }

    public static func table(_ results: [CheckResult]) -> String {
        let rows = results.map { r in
            [r.passed ? "pass" : "FAIL", r.kind.rawValue, r.strategy, r.check, numbers(r).value, numbers(r).limit, r.detail]
        }
        return SummaryTable.table(header: ["verdict", "kind", "strategy", "check", "value", "limit", "detail"], rows: rows,
                                  rightAlignFrom: 99)
    }

    public static func markdown(_ results: [CheckResult], title: String) -> String {
        let failed = results.filter { !$0.passed }.count
        var md = "### limitlab check: \(title) — \(failed == 0 ? "✅ all \(results.count) checks pass" : "❌ \(failed) of \(results.count) checks fail")\n\n"
        md += "| | strategy | check | value | limit | detail |\n|---|---|---|---:|---:|---|\n"
        for r in results {
            let (value, limit) = numbers(r)
            md += "| \(r.passed ? "✅" : "❌") | `\(r.strategy)` | \(r.check) | \(value) | \(limit) | \(r.detail) |\n"
        }
        return md
    }

    public static func junit(_ results: [CheckResult], suite: String) -> String {
        func esc(_ s: String) -> String {
            s.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
                .replacingOccurrences(of: ">", with: "&gt;").replacingOccurrences(of: "\"", with: "&quot;")
        }
        let failed = results.filter { !$0.passed }.count
        var x = "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n"
        x += "<testsuites name=\"limitlab\" tests=\"\(results.count)\" failures=\"\(failed)\">\n"
        x += "  <testsuite name=\"\(esc(suite))\" tests=\"\(results.count)\" failures=\"\(failed)\">\n"
        for r in results {
            x += "    <testcase classname=\"limitlab.\(esc(r.kind.rawValue)).\(esc(r.strategy))\" name=\"\(esc(r.check))\""
            if r.passed {
                x += "/>\n"
            } else {
                let (value, limit) = numbers(r)
                x += ">\n      <failure message=\"\(esc(r.detail))\">\(esc(r.metric)) = \(esc(value)) (limit \(esc(limit))): "
                    + "\(esc(r.detail))</failure>\n    </testcase>\n"
            }
        }
        return x + "  </testsuite>\n</testsuites>\n"
    }
}
