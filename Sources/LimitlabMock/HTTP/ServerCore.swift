import Foundation
import LimitlabCore
import NIOCore
import Prometheus
import Synchronization

/// State shared by every connection: the organisations, the clock and precomputed bodies.
/// Immutable after init except the organisations (each behind its own lock) and the
/// server-level counters (behind `lock`).
final class ServerCore: @unchecked Sendable {
    let config: MockConfig
    let catalog: TierCatalog
    let orgs: [OrgState]
    /// Message Batches, by organisation index.
    let batchStores: [BatchStore]
    private let keyToOrg: [String: OrgState]
    private let anyKeyOrg: OrgState?
    /// Model time 0, monotonic.
    let start: NIODeadline
    /// Unix time at model time 0, for the RFC 3339 resets.
    let epoch: Double
    /// Whether NIO must check outbound header fields. Every name and value the mock sends is
    /// built from constants, numbers and generated ids, except organisation ids from the config:
    /// when those are plain visible ASCII, NIO's per-reply check (~5 % of a reply's instructions)
    /// can be skipped.
    let validatesHeaders: Bool
    /// `GET /v1/models` and the per-model objects.
    /// Model ids as the API resolves them, and the Models API's pages.
    let models: ModelResolver

    private let lock = NSLock()
    private var unattributed: [OrgState.CounterKey: Int] = [:]

    /// Where model time comes from: the monotonic clock (a served mock), or a virtual clock
    /// (`VirtualTimeMock`). Model time 0 is `start`.
    let clock: ModelClockSource

    /// The recording (`serve --record`), or nil.
    let recorder: MockRecorder?

    init(config: MockConfig, catalog: TierCatalog, clock: ModelClockSource = .monotonic(), recorder: MockRecorder? = nil) {
        self.clock = clock
        self.recorder = recorder
        self.config = config
        self.catalog = catalog
        var orgs: [OrgState] = []
        var keys: [String: OrgState] = [:]
        var any: OrgState?
        for (i, o) in config.organizations.enumerated() {
            let state = OrgState(index: i, org: o, config: config, catalog: catalog, recorder: recorder)
            orgs.append(state)
            for k in o.keys where keys[k] == nil { keys[k] = state }
            if o.acceptsAnyKey && any == nil { any = state }
        }
        self.orgs = orgs
        validatesHeaders = !config.organizations.allSatisfy { o in
            o.id.utf8.allSatisfy { $0 >= 0x20 && $0 < 0x7F }
        }
        keyToOrg = keys
        anyKeyOrg = any
        start = clock.start
        let wall = clock.epoch
        epoch = wall

        // Every model the catalog knows, plus extra model ids an organisation serves.
        var extras: [String] = []
        for o in config.organizations {
            for m in o.limits.models.keys.sorted() where catalog.modelClass(for: m) == nil && !extras.contains(m) {
                extras.append(m)
            }
        }
        models = ModelResolver(catalog: catalog, extraModels: extras)
        batchStores = orgs.map { [models] in
            BatchStore(org: $0, config: config, catalog: catalog, models: models, epoch: wall)
        }
        recorder?.start(header: RecordingHeader(epoch: wall, seed: config.seed, organizations: orgs.map {
            RecordingHeader.Organization(id: $0.org.id, classes: $0.classConfigs)
        }))
    }

    /// Seconds since the server started.
    func modelTime() -> Double {
        clock.modelTime()
    }

    /// The monotonic deadline of a model time (clamped: a non-finite or absurd time from a
    /// hand-built config must not trap).
    func deadline(_ t: Double) -> NIODeadline {
        start + .nanoseconds(Self.nanoseconds(t))
    }

    /// Seconds as nanoseconds, clamped to [0, 10⁹ s].
    static func nanoseconds(_ seconds: Double) -> Int64 {
        guard seconds.isFinite else { return seconds > 0 ? 1_000_000_000 * 1_000_000_000 : 0 }
        return Int64(Swift.min(Swift.max(0, seconds), 1e9) * 1e9)
    }

    /// The organisation an API key belongs to (empty keys never match).
    func org(forKey key: String) -> OrgState? {
        guard !key.isEmpty else { return nil }
        return keyToOrg[key] ?? anyKeyOrg
    }

    /// Counts a response that no organisation owns (401, unknown path, malformed body before
    /// the key was checked).
    func countUnattributed(endpoint: String, status: Int) {
        lock.lock()
        unattributed[OrgState.CounterKey(endpoint: endpoint, modelClass: "", label: String(status)), default: 0] += 1
        lock.unlock()
    }

    private var clientTimeouts: [String: Int] = [:]

    /// Request-body bytes held by all connections (`maxBufferedBodyBytes`).
    private let bodyBytesHeld = Atomic<Int>(0)

    /// Takes `n` bytes of the body budget; false (nothing taken) when they do not fit.
    func reserveBody(_ n: Int) -> Bool {
        let after = bodyBytesHeld.wrappingAdd(n, ordering: .relaxed).newValue
        if after <= config.maxBufferedBodyBytes { return true }
        bodyBytesHeld.wrappingSubtract(n, ordering: .relaxed)
        return false
    }

    func releaseBody(_ n: Int) {
        if n > 0 { bodyBytesHeld.wrappingSubtract(n, ordering: .relaxed) }
    }

    /// A connection closed by a client timeout: `request` (nothing, or an unfinished request,
    /// for `clientTimeout`) or `keep_alive` (idle between requests for `keepAliveTimeout`).
    func countClientTimeout(_ wait: String) {
        lock.lock()
        clientTimeouts[wait, default: 0] += 1
        lock.unlock()
    }

    // MARK: Metrics

    /// Prometheus text exposition (version 0.0.4), written by swift-prometheus 2.4.1
    /// (https://github.com/swift-server/swift-prometheus), which escapes label values (`\\`,
    /// `\"`, `\n`) as the format requires. The values are the organisations' own counters and
    /// exact bucket levels at this instant, so each scrape fills a fresh registry from them.
    func metricsText() -> String {
        lock.lock()
        let loose = unattributed.sorted { $0.key < $1.key }
        let timedOut = clientTimeouts.sorted { $0.key < $1.key }
        lock.unlock()
        let samples = orgs.map { ($0.org.id, $0.metrics(now: modelTime)) }

        let registry = PrometheusCollectorRegistry()
        func counter(_ name: String, _ help: String, _ labels: [(String, String)], _ v: Int) {
            registry.makeCounter(descriptor: .init(metricName: name, unitName: "total", helpText: help), labels: labels)
                .increment(by: Int64(v))
        }
        func gauge(_ name: String, _ help: String, _ labels: [(String, String)], _ v: Double) {
            registry.makeGauge(descriptor: .init(metricName: name, unitName: "", helpText: help), labels: labels)
                .set(to: v)
        }
        let requests = ("limitlab_mock_requests", "Responses sent, by endpoint, organisation, model class and status.")
        for (k, v) in loose {
            counter(requests.0, requests.1,
                    [("endpoint", k.endpoint), ("org", ""), ("model_class", ""), ("status", k.label)], v)
        }
        for (wait, v) in timedOut {
            counter("limitlab_mock_connections_timed_out",
                    "Connections the server closed after the client's silence: request (client_timeout) or "
                    + "keep_alive (keep_alive_timeout).", [("wait", wait)], v)
        }
        for (org, s) in samples {
            for (k, v) in s.requests {
                counter(requests.0, requests.1,
                        [("endpoint", k.endpoint), ("org", org), ("model_class", k.modelClass), ("status", k.label)], v)
            }
            for (k, v) in s.refusals {
                counter("limitlab_mock_rate_limited", "429s from the rate limits, by the dimensions that refused.",
                        [("endpoint", k.endpoint), ("org", org), ("model_class", k.modelClass), ("dimension", k.label)], v)
            }
            for (kind, v) in s.faults {
                counter("limitlab_mock_faults", "Injected faults, by kind.", [("org", org), ("kind", kind)], v)
            }
            var rows = s.buckets.map { ($0.modelClass, $0.snapshot) }
            rows.append(("count_tokens", s.countTokens))
            for (cls, snap) in rows {
                let dims: [(String, RateLimitReading)] = cls == "count_tokens"
                    ? [("requests", snap.requests)]
                    : [("requests", snap.requests), ("input_tokens", snap.inputTokens), ("output_tokens", snap.outputTokens)]
                for (dim, r) in dims {
                    let labels = [("org", org), ("model_class", cls), ("dimension", dim)]
                    gauge("limitlab_mock_bucket_level",
                          "Exact bucket level (negative in debt), by model class and dimension.", labels, r.remaining)
                    gauge("limitlab_mock_bucket_limit", "Per-minute limit of each bucket.", labels, Double(r.limit))
                }
            }
            gauge("limitlab_mock_in_flight", "Messages requests being answered.", [("org", org)], Double(s.inFlight))
            gauge("limitlab_mock_cache_entries", "Prompt-cache prefixes held.", [("org", org)], Double(s.cacheEntries))
        }
        return registry.emitToString()
    }
}

/// The mock's source of model time (seconds since `start`) and of the Unix time of model
/// time 0 (`epoch`, for the RFC 3339 resets in headers).
struct ModelClockSource: @unchecked Sendable {
    let start: NIODeadline
    let epoch: Double
    private let now: () -> Double

    init(start: NIODeadline, epoch: Double, now: @escaping () -> Double) {
        self.start = start; self.epoch = epoch; self.now = now
    }

    /// Seconds since `start`.
    func modelTime() -> Double { now() }

    /// The monotonic clock, from now.
    static func monotonic() -> ModelClockSource {
        let start = NIODeadline.now()
        return ModelClockSource(start: start, epoch: Date().timeIntervalSince1970) {
            Double(NIODeadline.now().uptimeNanoseconds &- start.uptimeNanoseconds) / 1e9
        }
    }
}
