public import LimitlabCore

/// How the mock server behaves: which API keys it accepts, the limits of each organisation,
/// the latency model, injected faults and the prompt cache. Read from YAML with
/// `MockConfig.load(path:)` (format: docs/mock-server.md) or built in code.
public struct MockConfig: Sendable, Equatable {
    /// Organisations, each with its own buckets and prompt cache. A request's `x-api-key`
    /// selects the organisation that lists it, else the one with `acceptsAnyKey`, else 401.
    public var organizations: [MockOrganization]
    /// Latency, 529, fault and stall model: the same type (and YAML vocabulary) as a
    /// scenario's `server`, decided by the same `OrganizationServer` as in the simulator.
    public var server: ServerModel
    /// The server's faults (`server.faults`; the config file also accepts them at top level).
    public var faults: ServerFaults {
        get { server.faults }
        set { server.faults = newValue }
    }
    public var cache: MockCacheSettings
    /// Seeds the latency and fault draws (one stream per organisation, named as the simulator's).
    public var seed: UInt64
    /// Bodies larger than this get 413 `request_too_large` (the real API's limit is 32 MB).
    public var maxBodyBytes: Int
    /// Output length when a request has no `x-limitlab-output-tokens` header (capped by
    /// `max_tokens`).
    public var defaultOutputTokens: Int
    /// Message Batches: processing pace, start delay, expiry and limit overrides
    /// (`server.batch`, the simulator's `BatchQueue` settings; the config file also accepts
    /// them as top-level `batches:`).
    public var batches: BatchServerModel {
        get { server.batch }
        set { server.batch = newValue }
    }
    /// Request bodies held at once by all connections together: past it a request's body is
    /// dropped as it arrives and the request answered 529 `overloaded_error` (retryable), so
    /// many concurrent large bodies cannot take the server's memory. 256 MiB: eight bodies at
    /// the API's 32 MB maximum.
    public var maxBufferedBodyBytes = 256 * 1024 * 1024
    /// A served mock closes a connection that has sent nothing for this long while the server
    /// waits for its request (a new connection, or a request begun and not finished): nginx's
    /// `client_header_timeout` / `client_body_timeout`, 60 s. Bounds half-open connections.
    public var clientTimeout: Double = 60
    /// A served mock closes a kept-alive connection idle this long between requests. Longer than
    /// common clients keep an idle connection (httpx 5 s, Go's net/http 90 s, libcurl 118 s),
    /// so a client never reuses a connection the server is closing.
    public var keepAliveTimeout: Double = 300
    /// Latency (TTFT, output and prefill rates) of model classes that differ from `server`'s,
    /// by class id (or model id for a model the catalog does not know): a scenario's `models:`.
    public var classLatency: [String: ServerModel] = [:]

    public init(organizations: [MockOrganization], server: ServerModel = ServerModel(), faults: ServerFaults? = nil,
                cache: MockCacheSettings = MockCacheSettings(), seed: UInt64 = 1, maxBodyBytes: Int = 32 * 1024 * 1024,
                defaultOutputTokens: Int = 64) {
        self.organizations = organizations; self.server = server; self.cache = cache
        if let faults { self.server.faults = faults }
        self.seed = seed; self.maxBodyBytes = maxBodyBytes; self.defaultOutputTokens = defaultOutputTokens
    }

    /// The configuration of `limitlab serve` without `--config`: one organisation that accepts
    /// any non-empty API key, with the catalog limits of `tier` for every model class (`model`
    /// is checked to have published limits at that tier).
    public static func standard(tier: String = "tier-1", model: String = "claude-sonnet-4-5",
                                catalog: TierCatalog = .builtIn) throws(MockError) -> MockConfig {
        guard let t = catalog.tier(named: tier) else {
            throw MockError(.config, "unknown tier \"\(tier)\"; known tiers: \(catalog.tierIds().joined(separator: ", "))")
        }
        guard let c = catalog.modelClass(for: model) else {
            throw MockError(.config, "unknown model \"\(model)\"; known model classes: "
                            + catalog.modelClasses.map { "\($0.id) (\($0.models.joined(separator: ", ")))" }.joined(separator: "; "))
        }
        guard catalog.limits(tier: t.id, modelClass: c.id) != nil else {
            let listed = catalog.limits.filter { $0.modelClass == c.id }.map(\.tier)
            throw MockError(.config, "model class \(c.id) has no published limits at \(t.id); tiers that list it: "
                            + (listed.isEmpty ? "none" : listed.joined(separator: ", ")))
        }
        let org = MockOrganization(id: MockOrganization.defaultId(index: 0), keys: [], acceptsAnyKey: true,
                                   limits: MockLimits(tier: t.id))
        return MockConfig(organizations: [org])
    }
}

/// One organisation: its API keys and limits.
public struct MockOrganization: Sendable, Equatable {
    /// Sent as `anthropic-organization-id` and named in 429 messages.
    public var id: String
    /// API keys that belong to this organisation.
    public var keys: [String]
    /// Also accept any non-empty key that no organisation lists.
    public var acceptsAnyKey: Bool
    public var limits: MockLimits
    /// `count_tokens` requests per minute (its own bucket); nil: the tier's, else 100.
    public var countTokensRPM: Double?
    /// Spend-cap mode: every Messages request gets 429 `enforced_spend_limit_reached`, no
    /// `retry-after`.
    public var spendCapReached: Bool

    public init(id: String, keys: [String], acceptsAnyKey: Bool = false, limits: MockLimits,
                countTokensRPM: Double? = nil, spendCapReached: Bool = false) {
        self.id = id; self.keys = keys; self.acceptsAnyKey = acceptsAnyKey; self.limits = limits
        self.countTokensRPM = countTokensRPM; self.spendCapReached = spendCapReached
    }

    /// A stable organisation id in the real API's UUID shape, for organisation `index`.
    public static func defaultId(index: Int) -> String {
        let n = String(index + 1)
        return "00000000-0000-4000-8000-" + String(repeating: "0", count: 12 - n.count) + n
    }
}

/// An organisation's limits per model class, in a scenario's `limits` vocabulary: a catalog
/// tier and/or explicit per-minute numbers, the bucket knobs, and per-class overrides.
public struct MockLimits: Sendable, Equatable {
    /// Catalog tier (any spelling `TierCatalog.normaliseTier` accepts); nil: `rpm`, `itpm` and
    /// `otpm` are required and apply to every model class.
    public var tier: String?
    /// Per-minute limits for every class, overriding the tier's.
    public var rpm: Double?
    public var itpm: Double?
    public var otpm: Double?
    public var burst: Double
    public var admission: AdmissionRule
    public var outputAccounting: OutputAccounting
    /// nil: from the catalog row (the "†" classes count cache reads).
    public var cacheReadsCount: Bool?
    /// Overrides by model class id (`sonnet-4.x`) or, for a model outside the catalog, by its
    /// exact model id (which the mock then serves).
    public var models: [String: MockLimitOverride]

    public init(tier: String? = nil, rpm: Double? = nil, itpm: Double? = nil, otpm: Double? = nil, burst: Double = 1,
                admission: AdmissionRule = .positiveBalance, outputAccounting: OutputAccounting = .realtime,
                cacheReadsCount: Bool? = nil, models: [String: MockLimitOverride] = [:]) {
        self.tier = tier; self.rpm = rpm; self.itpm = itpm; self.otpm = otpm; self.burst = burst
        self.admission = admission; self.outputAccounting = outputAccounting; self.cacheReadsCount = cacheReadsCount
        self.models = models
    }

    /// The limits of one model class, or nil when the organisation has none for it (the mock
    /// then answers 404 for that model).
    public func config(forClass classId: String, catalog: TierCatalog) -> LimitConfig? {
        let row = tier.flatMap { catalog.limits(tier: $0, modelClass: classId) }
        let o = models[classId]
        // A class with neither a catalog row at the tier nor an override is not served when a
        // tier is given; without a tier the explicit numbers apply to every class.
        if tier != nil && row == nil && o == nil { return nil }
        guard let r = o?.rpm ?? rpm ?? row.map({ Double($0.rpm) }),
              let i = o?.itpm ?? itpm ?? row.map({ Double($0.itpm) }),
              let out = o?.otpm ?? otpm ?? row.map({ Double($0.otpm) })
        else { return nil }
        let classRows = catalog.limits.filter { $0.modelClass == classId }
        let reads = o?.cacheReadsCount ?? cacheReadsCount ?? row?.cacheReadsCount
            ?? (!classRows.isEmpty && classRows.allSatisfy(\.cacheReadsCount))
        return LimitConfig(rpm: r, itpm: i, otpm: out, burst: burst, admission: admission,
                           outputAccounting: outputAccounting, cacheReadsCount: reads)
    }
}

/// Per-class limit overrides (`orgs[i].models.<class>` in YAML).
public struct MockLimitOverride: Sendable, Equatable {
    public var rpm: Double?
    public var itpm: Double?
    public var otpm: Double?
    public var cacheReadsCount: Bool?
    public init(rpm: Double? = nil, itpm: Double? = nil, otpm: Double? = nil, cacheReadsCount: Bool? = nil) {
        self.rpm = rpm; self.itpm = itpm; self.otpm = otpm; self.cacheReadsCount = cacheReadsCount
    }
}

/// The mock's name for the server's faults (`server.faults`).
public typealias MockFaults = ServerFaults

/// Prompt-cache behaviour. TTLs can be shortened so that tests see expiry quickly.
public struct MockCacheSettings: Sendable, Equatable {
    /// Lifetime of a `cache_control` breakpoint with `ttl: "5m"` (the default TTL), seconds.
    public var ttl5m: Double
    /// Lifetime of a breakpoint with `ttl: "1h"`, seconds.
    public var ttl1h: Double
    /// Prefixes shorter than this many tokens are silently not cached, as on the real API.
    public var minCacheableTokens: Int

    public init(ttl5m: Double = 300, ttl1h: Double = 3600, minCacheableTokens: Int = 1024) {
        self.ttl5m = ttl5m; self.ttl1h = ttl1h; self.minCacheableTokens = minCacheableTokens
    }
}

extension MockConfig {
    /// The mock for a scenario run with `target: mock`: one organisation per API key of the
    /// scenario (`limits.keys`; keys named by `scenarioKey(_:)`), each with that key's limits
    /// for every model class (and for the scenario's model when the catalog does not know it),
    /// the scenario's server model and seed, and its prompt-cache TTL and minimum.
    public init(scenario: Scenario, catalog: TierCatalog = .builtIn) {
        let tierRPM = scenario.limits.tier.flatMap { catalog.tier(named: $0) }.map { Double($0.countTokensRPM) }
        let known = catalog.modelClass(for: scenario.model) != nil
        let orgs = scenario.limits.keyConfigs.enumerated().map { i, c -> MockOrganization in
            var limits = MockLimits(rpm: c.rpm, itpm: c.itpm, otpm: c.otpm, burst: c.burst, admission: c.admission,
                                    outputAccounting: c.outputAccounting, cacheReadsCount: c.cacheReadsCount)
            if !known {
                limits.models[scenario.model] = MockLimitOverride(rpm: c.rpm, itpm: c.itpm, otpm: c.otpm,
                                                                  cacheReadsCount: c.cacheReadsCount)
            }
            // The classes strategies route to (`models:`), each with its own limits.
            for extra in scenario.models {
                limits.models[extra.modelClass ?? extra.model] = MockLimitOverride(
                    rpm: extra.limits.rpm, itpm: extra.limits.itpm, otpm: extra.limits.otpm,
                    cacheReadsCount: extra.limits.cacheReadsCount)
            }
            return MockOrganization(id: MockOrganization.defaultId(index: i), keys: [Self.scenarioKey(i)],
                                    limits: limits, countTokensRPM: tierRPM)
        }
        var cache = MockCacheSettings()
        if let spec = scenario.workload.cache {
            cache.ttl5m = spec.ttl
            cache.ttl1h = Swift.max(spec.ttl, cache.ttl1h)
            cache.minCacheableTokens = spec.minCacheableTokens
        }
        self.init(organizations: orgs, server: scenario.server, cache: cache, seed: scenario.seed)
        for extra in scenario.models { classLatency[extra.modelClass ?? extra.model] = extra.server }
    }

    /// The API key of a scenario's key `index` in `init(scenario:)`.
    public static func scenarioKey(_ index: Int) -> String { "sk-limitlab-mock-\(index)" }
}
