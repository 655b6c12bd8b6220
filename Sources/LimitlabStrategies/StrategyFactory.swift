public import LimitlabCore
import LimitlabStats

/// Why a strategy could not be built from its spec.
public struct StrategyError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(message: String) { self.message = message }
    public var description: String { message }
}

/// Where a strategy object runs: which of the organisation's worker processes it is, and the
/// store its shared limiters use. The simulator gives all N workers one `InMemoryQuotaStore`;
/// a multi-process run gives each process a Redis store and its worker index.
public struct WorkerPlacement {
    /// 0-based worker index.
    public var worker: Int
    /// Number of workers (≥ 1); a local fallback limiter is sized at limit ÷ count.
    public var count: Int
    /// The shared store; nil: each shared limiter gets its own `InMemoryQuotaStore`.
    public var store: (any SharedQuotaStore)?
    /// Key namespace of shared limiters; nil: `limitlab:<label>`. Every worker of a strategy
    /// must use the same one (the simulator passes `limitlab:<scenario>:<label>`).
    public var namespace: String?
    public init(worker: Int = 0, count: Int = 1, store: (any SharedQuotaStore)? = nil, namespace: String? = nil) {
        self.worker = worker; self.count = Swift.max(1, count); self.store = store; self.namespace = namespace
    }
}

/// Builds strategy objects from scenario specs. Each run gets a fresh object and its own
/// random stream, derived from the scenario seed and the strategy's label.
public enum StrategyFactory {
    /// Builds `spec` for a run against `limits` (the defaults of limiters sized from the tier).
    /// With `pool:` and several `keys`, one copy per key, each sized from its key's limits.
    /// `placement` says which worker of the organisation the object is and which store shared
    /// limiters use (default: a single process with its own in-memory store). `models` are the
    /// scenario's model ids in class order (`Scenario.modelIds`), which `route:` names.
    public static func make(_ spec: StrategySpec, limits: LimitConfig = LimitConfig(rpm: 50, itpm: 30_000, otpm: 8_000),
                            keys: [LimitConfig] = [], seed: UInt64,
                            placement: WorkerPlacement = WorkerPlacement(),
                            models: [String] = []) throws(StrategyError) -> any ClientStrategy {
        if spec.route != nil || spec.trim != nil {
            return try wrapped(spec, limits: limits, keys: keys, seed: seed, placement: placement, models: models)
        }
        // Batch offload wraps its urgent strategy, which takes the entry's roles and pool.
        if spec.name == BatchOffloadStrategy.name {
            return try BatchOffloadStrategy.make(spec, limits: limits, keys: keys, seed: seed, placement: placement)
        }
        if let mode = spec.pool {
            guard keys.count > 1 else {
                throw StrategyError(message: "strategy \(spec.label): pool: \(mode.rawValue) needs a scenario with "
                                    + "several API keys (limits.keys)")
            }
            var single = spec
            single.pool = nil
            var copies: [any ClientStrategy] = []
            let namespace = placement.namespace ?? "limitlab:" + spec.label
            for (i, keyLimits) in keys.enumerated() {
                single.label = "\(spec.label)/key\(i)"
                // Each key is its own organisation, so a shared limiter keeps one state per key.
                var perKey = placement
                perKey.namespace = namespace + ":key\(i)"
                copies.append(try make(single, limits: keyLimits, seed: seed, placement: perKey))
            }
            return KeyPoolStrategy(mode: mode, strategies: copies)
        }
        // Workers draw from their own streams; a single process keeps the stream it always had.
        let stream = placement.count > 1 ? "strategy:\(spec.label)/worker\(placement.worker)" : "strategy:" + spec.label
        let context = StrategyContext(limits: limits, random: RandomSource(seed: seed, stream: stream), label: spec.label,
                                      sharedStore: placement.store, sharedNamespace: placement.namespace,
                                      worker: placement.worker, workerCount: placement.count)
        if let expanded = try Presets.expand(spec, limits: limits) {
            return try build(expanded, context: context)
        }
        return try build(spec, context: context)
    }

    private static func build(_ spec: StrategySpec, context: StrategyContext) throws(StrategyError) -> any ClientStrategy {
        guard let definition = StrategyRegistry.definition(named: spec.name) else {
            throw StrategyError(message: "unknown strategy \"\(spec.name)\"; known: \(StrategyRegistry.names.joined(separator: ", "))")
        }
        try checkKeys(spec.params, definition.descriptor, owner: "strategy \(spec.label) (\(spec.name))")
        let composed = spec.retry != nil || spec.budget != nil || spec.concurrency != nil || spec.shed != nil
        let p = Params(owner: "strategy \(spec.label)", values: spec.params, descriptor: definition.descriptor)

        // Baselines without roles keep their fast paths.
        if case .baseline(_, let alone?) = definition.builder, !composed {
            return try alone(p, context)
        }

        let retry: any RetryPolicy
        if let r = spec.retry {
            retry = try retryPolicy(r, context: context)
        } else if case .baseline(let baselineRetry, _) = definition.builder {
            retry = try baselineRetry(p, context)
        } else {
            retry = NoRetryPolicy() // limiters do not retry unless told to (SDK max_retries = 0)
        }
        let budget = try spec.budget.map { (r) throws(StrategyError) in
            try role(r, .budget, context) { $0.budgetMaker }
        }
        let shed = try spec.shed.map { (r) throws(StrategyError) in
            try role(r, .shed, context) { $0.shedMaker }
        }
        let concurrency = try spec.concurrency.map { (r) throws(StrategyError) in
            try role(r, .concurrency, context) { $0.concurrencyMaker }
        }

        switch definition.builder {
        case .scheduler(let make):
            let scheduler = try make(p, retry, context)
            guard budget == nil && shed == nil && concurrency == nil else {
                throw StrategyError(message: "strategy \(spec.label): \(spec.name) schedules its own concurrency; "
                                    + "only retry: composes with it")
            }
            return scheduler
        case .admission(let make):
            let admission = try make(p, context)
            return PipelineStrategy(admission: admission, concurrency: concurrency, retry: retry, budget: budget,
                                    shedder: shed, maxQueue: try queueLimit(p), maxQueueWait: try queueWait(p))
        case .baseline, .preset, .retry, .budget, .concurrency, .shed, .pool, .wrapper:
            return PipelineStrategy(concurrency: concurrency, retry: retry, budget: budget, shedder: shed)
        }
    }

    static func queueLimit(_ p: Params) throws(StrategyError) -> Int {
        p.descriptor?.parameter("max_queue") != nil ? try p.int("max_queue") : .max
    }

    static func queueWait(_ p: Params) throws(StrategyError) -> Double {
        // max_wait unset ("none"): wait as long as it takes.
        p.descriptor?.parameter("max_wait") != nil ? try p.optionalDouble("max_wait") ?? .infinity : .infinity
    }

    /// The retry policy a `retry:` entry names.
    static func retryPolicy(_ r: RoleSpec, context: StrategyContext) throws(StrategyError) -> any RetryPolicy {
        try role(r, .retry, context) { $0.retryMaker }
    }

    /// Builds a role entry (`retry:`, `budget:`, `concurrency:`, `shed:`) from its definition.
    private static func role<T>(_ r: RoleSpec, _ role: StrategyRole, _ context: StrategyContext,
                                _ maker: (StrategyDefinition) -> StrategyDefinition.Make<T>?) throws(StrategyError) -> T {
        guard let definition = StrategyRegistry.definition(named: r.name, role: role), let make = maker(definition) else {
            throw StrategyError(message: "strategy \(context.label): unknown \(role.scenarioKey) \"\(r.name)\"; known: "
                                + StrategyRegistry.names(role: role).joined(separator: ", "))
        }
        let owner = "\(role.scenarioKey) \(r.name) of \(context.label)"
        try checkKeys(r.params, definition.descriptor, owner: owner)
        return try make(Params(owner: owner, values: r.params, descriptor: definition.descriptor), context)
    }

    /// Scenario files are checked against the registry when read, but specs built in code
    /// (presets, tests) are not; an unknown key there would silently fall back to a default.
    static func checkKeys(_ params: [String: ParamValue], _ d: StrategyDescriptor,
                          owner: String) throws(StrategyError) {
        let known = Set(d.parameters.map(\.name))
        if let bad = params.keys.sorted().first(where: { !known.contains($0) }) {
            throw StrategyError(message: "\(owner): unknown parameter \"\(bad)\"; "
                                + (known.isEmpty ? "it takes no parameters"
                                   : "expected one of: " + d.parameters.map(\.name).joined(separator: ", ")))
        }
    }
}

extension SDKDefaultStrategy {
    init(policy: SDKRetryPolicy) {
        self = policy.asStrategy()
    }
}

// Model routing and prompt trimming wrap the whole strategy (key pool included).
extension StrategyFactory {
    /// `spec` built without its `route:` and `trim:`, then wrapped by the router and the trimmer.
    static func wrapped(_ spec: StrategySpec, limits: LimitConfig, keys: [LimitConfig], seed: UInt64,
                        placement: WorkerPlacement, models: [String]) throws(StrategyError) -> any ClientStrategy {
        var plain = spec
        plain.route = nil
        plain.trim = nil
        var strategy = try make(plain, limits: limits, keys: keys, seed: seed, placement: placement, models: models)
        let stream = placement.count > 1 ? "route:\(spec.label)/worker\(placement.worker)" : "route:" + spec.label
        let context = StrategyContext(limits: limits, random: RandomSource(seed: seed, stream: stream), label: spec.label,
                                      worker: placement.worker, workerCount: placement.count)
        for (entry, role) in [(spec.route, StrategyRole.route), (spec.trim, .trim)] {
            guard let entry else { continue }
            guard let definition = StrategyRegistry.definition(named: entry.name, role: role),
                  case .wrapper(let wrap) = definition.builder else {
                throw StrategyError(message: "strategy \(spec.label): unknown \(role.scenarioKey) \"\(entry.name)\"; known: "
                                    + StrategyRegistry.names(role: role).joined(separator: ", "))
            }
            let owner = "\(role.scenarioKey) \(entry.name) of \(spec.label)"
            try checkKeys(entry.params, definition.descriptor, owner: owner)
            strategy = try wrap(Params(owner: owner, values: entry.params, descriptor: definition.descriptor), models,
                                strategy, context)
        }
        return strategy
    }
}
