public import Prometheus
import LimitlabCore

/// The live runner's metrics, kept in a Prometheus registry (swift-prometheus 2.4.1,
/// https://github.com/swift-server/swift-prometheus) that a `/metrics` endpoint and an OTLP
/// push read while the run goes (LimitlabTelemetry). Every series carries the strategy label.
///
/// Updates are on the engine thread's hot path, so each strategy run looks its handles up
/// once (`LiveRunMetrics`); an update is then an atomic add or store (counters, gauges) or a
/// short locked bucket walk (histograms). Names, types and labels: docs/telemetry.md.
public final class LiveMetrics: Sendable {
    /// The registry the metrics live in; emit it to serve or push them.
    public let registry: PrometheusCollectorRegistry

    public init(registry: PrometheusCollectorRegistry = PrometheusCollectorRegistry()) {
        self.registry = registry
    }

    /// Every metric family the live runner serves, with its type.
    public static let families: [(name: String, type: String)] = [
        ("limitlab_live_run_active", "gauge"),
        ("limitlab_live_requests_arrived_total", "counter"),
        ("limitlab_live_requests_total", "counter"),
        ("limitlab_live_attempts_sent_total", "counter"),
        ("limitlab_live_attempts_total", "counter"),
        ("limitlab_live_rate_limited_total", "counter"),
        ("limitlab_live_in_flight", "gauge"),
        ("limitlab_live_schedule_lag_seconds", "histogram"),
        ("limitlab_live_latency_seconds", "histogram"),
        ("limitlab_live_ttft_seconds", "histogram"),
        ("limitlab_live_bucket_remaining", "gauge"),
        ("limitlab_live_bucket_limit", "gauge"),
        ("limitlab_live_cost_usd_total", "counter"),
    ]

    /// Bucket bounds (seconds). Latency spans a fast 429 to a long stream; schedule lag is
    /// sub-millisecond when the engine keeps up and the interesting tail is 1–100 ms.
    public static let latencyBuckets: [Double] = [0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120, 300, 600]
    public static let ttftBuckets: [Double] = [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 4, 8, 15, 30, 60, 120]
    public static let lagBuckets: [Double] = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05,
                                              0.1, 0.25, 0.5, 1]

    /// The handles of one strategy run (created on the engine thread when the run starts).
    func run(scenario: String, strategy: String) -> LiveRunMetrics {
        LiveRunMetrics(registry: registry, scenario: scenario, strategy: strategy)
    }
}

/// One strategy run's metric handles. Owned by the engine thread; the handles themselves are
/// thread-safe, the lazily filled tables are not.
final class LiveRunMetrics {
    private let registry: PrometheusCollectorRegistry
    private let strategy: String
    private let active: Gauge
    private let arrived: Counter
    private let sent: Counter
    private let inFlight: Gauge
    private let lag: ValueHistogram
    private let latency: ValueHistogram
    private let ttft: ValueHistogram
    private let cost: Counter
    private let succeeded: Counter
    /// By status class × error kind, by refusing dimensions, by give-up / drop reason: created
    /// on first use, so only series that happened are served.
    private var attempts: [Counter?]
    private var refusals: [Counter?] = Array(repeating: nil, count: 8)
    private var failed: [Counter?] = Array(repeating: nil, count: 256)
    private var dropped: [Counter?] = Array(repeating: nil, count: 256)
    /// Per key, created with the key's first rate-limit headers.
    private var keyGauges: [KeyGauges] = []

    static let statusClasses = ["none", "2xx", "3xx", "4xx", "429", "5xx", "529", "other"]
    /// `ErrorKind.allCases.count`, computed once (not per attempt).
    static let kinds = ErrorKind.allCases.count

    init(registry: PrometheusCollectorRegistry, scenario: String, strategy: String) {
        self.registry = registry
        self.strategy = strategy
        let s = [("strategy", strategy)]
        func counter(_ name: String, _ help: String, _ labels: [(String, String)]) -> Counter {
            registry.makeCounter(descriptor: .init(metricName: name, unitName: "total", helpText: help), labels: labels)
        }
        func gauge(_ name: String, _ help: String, _ labels: [(String, String)]) -> Gauge {
            registry.makeGauge(descriptor: .init(metricName: name, unitName: "", helpText: help), labels: labels)
        }
        func histogram(_ name: String, _ help: String, _ buckets: [Double]) -> ValueHistogram {
            registry.makeValueHistogram(descriptor: .init(metricName: name, unitName: "seconds", helpText: help),
                                        labels: s, buckets: buckets)
        }
        active = gauge("limitlab_live_run_active", "1 while the strategy's live run goes, 0 after.",
                       [("scenario", scenario), ("strategy", strategy)])
        arrived = counter("limitlab_live_requests_arrived", "Requests handed to the strategy at their intended time.", s)
        sent = counter("limitlab_live_attempts_sent", "Attempts put on the wire.", s)
        inFlight = gauge("limitlab_live_in_flight", "Attempts sent and not yet answered.", s)
        lag = histogram("limitlab_live_schedule_lag", "Send time minus planned send time of each attempt.",
                        LiveMetrics.lagBuckets)
        latency = histogram("limitlab_live_latency",
                            "Succeeded requests: completion minus intended arrival (retries and waits included).",
                            LiveMetrics.latencyBuckets)
        ttft = histogram("limitlab_live_ttft", "Succeeded requests: first token minus intended arrival.",
                         LiveMetrics.ttftBuckets)
        cost = counter("limitlab_live_cost_usd", "Spend at the catalog's list prices (USD).", s)
        succeeded = counter("limitlab_live_requests", Self.requestsHelp,
                            [("strategy", strategy), ("outcome", "succeeded"), ("reason", "none")])
        attempts = Array(repeating: nil, count: Self.statusClasses.count * Self.kinds)
        active.set(to: 1)
    }

    static let requestsHelp = "Requests ended, by outcome (succeeded, failed, dropped) and the strategy's reason."

    /// A request arrived (was handed to the strategy).
    @inline(__always) func requestArrived() { arrived.increment() }

    /// An attempt went on the wire `lag` seconds after its planned time.
    @inline(__always) func attemptSent(lag seconds: Double) {
        sent.increment()
        inFlight.increment()
        lag.record(Swift.max(0, seconds))
    }

    /// An attempt ended (answered, failed, or cut).
    func attemptEnded(status: Int, kind: ErrorKind, refused: LimitDimensions, key: Int,
                      rateLimits: RateLimitSnapshot?, costUSD: Double) {
        inFlight.decrement()
        let cls = Self.statusClass(status)
        let i = cls * Self.kinds + Int(kind.rawValue)
        if let c = attempts[i] { c.increment() } else {
            let c = registry.makeCounter(
                descriptor: .init(metricName: "limitlab_live_attempts", unitName: "total",
                                  helpText: "Attempts answered (or failed without an answer), by status class and error kind."),
                labels: [("strategy", strategy), ("status_class", Self.statusClasses[cls]), ("error_kind", kind.label)])
            attempts[i] = c
            c.increment()
        }
        if status == 429 {
            let bits = Int(refused.rawValue & 7)
            if let c = refusals[bits] { c.increment() } else {
                let c = registry.makeCounter(
                    descriptor: .init(metricName: "limitlab_live_rate_limited", unitName: "total",
                                      helpText: "429s, by the limit the server named (unknown when it named none)."),
                    labels: [("strategy", strategy), ("dimension", bits == 0 ? "unknown" : refused.label)])
                refusals[bits] = c
                c.increment()
            }
        }
        if costUSD > 0 { cost.increment(by: costUSD) }
        if let r = rateLimits, key >= 0 { bucketLevels(r, key: key) }
    }

    /// A request succeeded; times from its intended arrival (TTFT NaN when not observed).
    @inline(__always) func requestSucceeded(latency l: Double, ttft t: Double) {
        succeeded.increment()
        latency.record(l)
        if t.isFinite { ttft.record(t) }
    }

    /// The strategy gave a request up (`GiveUpReason` raw value).
    func requestFailed(reason: UInt8) {
        ended(&failed, Int(reason), outcome: "failed", reason: GiveUpReason(rawValue: reason)?.label ?? "unknown")
    }

    /// The strategy dropped a request (`DropReason` raw value).
    func requestDropped(reason: UInt8) {
        ended(&dropped, Int(reason), outcome: "dropped", reason: DropReason(rawValue: reason)?.label ?? "unknown")
    }

    /// Requests the run ended without finishing: the report counts them as failed ("unfinished").
    func requestsUnfinished(_ n: Int) {
        guard n > 0 else { return }
        registry.makeCounter(descriptor: .init(metricName: "limitlab_live_requests", unitName: "total",
                                               helpText: Self.requestsHelp),
                             labels: [("strategy", strategy), ("outcome", "failed"), ("reason", "unfinished")])
            .increment(by: Int64(n))
    }

    /// The run is over.
    func finish() {
        active.set(to: 0)
    }

    private func ended(_ table: inout [Counter?], _ i: Int, outcome: String, reason: String) {
        if let c = table[i] { c.increment(); return }
        let c = registry.makeCounter(descriptor: .init(metricName: "limitlab_live_requests", unitName: "total",
                                                       helpText: Self.requestsHelp),
                                     labels: [("strategy", strategy), ("outcome", outcome), ("reason", reason)])
        table[i] = c
        c.increment()
    }

    private func bucketLevels(_ r: RateLimitSnapshot, key: Int) {
        while keyGauges.count <= key { keyGauges.append(KeyGauges(registry, strategy: strategy, key: keyGauges.count)) }
        let g = keyGauges[key]
        g.requests.set(to: r.requests.remaining); g.requestsLimit.set(to: Double(r.requests.limit))
        g.input.set(to: r.inputTokens.remaining); g.inputLimit.set(to: Double(r.inputTokens.limit))
        g.output.set(to: r.outputTokens.remaining); g.outputLimit.set(to: Double(r.outputTokens.limit))
    }

    /// One key's bucket gauges, in one object: one lookup per response, not six.
    private final class KeyGauges {
        let requests, requestsLimit, input, inputLimit, output, outputLimit: Gauge

        init(_ registry: PrometheusCollectorRegistry, strategy: String, key: Int) {
            func pair(_ dim: String) -> (Gauge, Gauge) {
                let labels = [("strategy", strategy), ("key", String(key)), ("dimension", dim)]
                return (registry.makeGauge(
                            descriptor: .init(metricName: "limitlab_live_bucket_remaining", unitName: "",
                                              helpText: "Remaining capacity as the latest rate-limit headers of the key showed it."),
                            labels: labels),
                        registry.makeGauge(
                            descriptor: .init(metricName: "limitlab_live_bucket_limit", unitName: "",
                                              helpText: "Per-minute limit as the latest rate-limit headers of the key showed it."),
                            labels: labels))
            }
            (requests, requestsLimit) = pair("requests")
            (input, inputLimit) = pair("input_tokens")
            (output, outputLimit) = pair("output_tokens")
        }
    }

    /// Index into `statusClasses`.
    @inline(__always) static func statusClass(_ status: Int) -> Int {
        switch status {
        case 0: return 0
        case 200..<300: return 1
        case 300..<400: return 2
        case 429: return 4
        case 400..<500: return 3
        case 529: return 6
        case 500..<600: return 5
        default: return 7
        }
    }
}
