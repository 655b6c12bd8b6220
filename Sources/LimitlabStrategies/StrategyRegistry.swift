public import LimitlabCore

/// One registry entry: its descriptor (name, role, parameters with their defaults, docs) and
/// the code that builds it. Each definition sits beside its implementation, so a strategy's
/// name, defaults and factory live in one place.
public struct StrategyDefinition: Sendable {
    /// What `limitlab strategies` lists and the scenario reader checks parameters against.
    public let descriptor: StrategyDescriptor
    let builder: Builder

    /// Builds one role's object from the entry's parameters (the scenario's values over the
    /// descriptor's defaults) and the run's context.
    typealias Make<T> = @Sendable (Params, StrategyContext) throws(StrategyError) -> T

    /// How an entry is built; the case is the entry's role.
    enum Builder: Sendable {
        /// A complete strategy: the retry policy it contributes when composed, and the object
        /// used when nothing is composed with it (nil: a pipeline with that retry policy).
        case baseline(retry: Make<any RetryPolicy>, alone: Make<any ClientStrategy>?)
        case admission(Make<any AdmissionPolicy>)
        /// A scheduler that runs the whole request life itself (Bottleneck): it takes the
        /// scenario's retry policy and composes with no other role.
        case scheduler(@Sendable (Params, any RetryPolicy, StrategyContext) throws(StrategyError) -> any ClientStrategy)
        /// A named composition: the spec it expands to against the scenario's limits.
        case preset(@Sendable (LimitConfig) -> StrategySpec)
        case retry(Make<any RetryPolicy>)
        case budget(Make<any RetryBudget>)
        case concurrency(Make<any ConcurrencyPolicy>)
        case shed(Make<any LoadShedder>)
        /// A key pool mode (`pool:`): the factory wraps one copy of the strategy per key.
        case pool(KeyPoolMode)
        /// Wraps the built strategy (`route:`, `trim:`), given the scenario's model ids in class
        /// order (index 0: its `model`).
        case wrapper(Wrap)
    }

    typealias Wrap = @Sendable (Params, [String], any ClientStrategy, StrategyContext) throws(StrategyError)
        -> any ClientStrategy

    var retryMaker: Make<any RetryPolicy>? { if case .retry(let make) = builder { return make } else { return nil } }
    var budgetMaker: Make<any RetryBudget>? { if case .budget(let make) = builder { return make } else { return nil } }
    var concurrencyMaker: Make<any ConcurrencyPolicy>? {
        if case .concurrency(let make) = builder { return make } else { return nil }
    }
    var shedMaker: Make<any LoadShedder>? { if case .shed(let make) = builder { return make } else { return nil } }

    private init(_ name: String, _ role: StrategyRole, _ summary: String, _ mirrors: String,
                 _ parameters: [StrategyParameter], _ builder: Builder) {
        descriptor = StrategyDescriptor(name: name, role: role, summary: summary, mirrors: mirrors, parameters: parameters)
        self.builder = builder
    }

    static func baseline(_ name: String, summary: String, mirrors: String, parameters: [StrategyParameter] = [],
                         retry: @escaping Make<any RetryPolicy>, alone: Make<any ClientStrategy>? = nil) -> Self {
        Self(name, .baseline, summary, mirrors, parameters, .baseline(retry: retry, alone: alone))
    }

    static func admission(_ name: String, summary: String, mirrors: String, parameters: [StrategyParameter],
                          make: @escaping Make<any AdmissionPolicy>) -> Self {
        Self(name, .admission, summary, mirrors, parameters, .admission(make))
    }

    static func scheduler(
        _ name: String, summary: String, mirrors: String, parameters: [StrategyParameter],
        make: @escaping @Sendable (Params, any RetryPolicy, StrategyContext) throws(StrategyError) -> any ClientStrategy
    ) -> Self {
        Self(name, .admission, summary, mirrors, parameters, .scheduler(make))
    }

    static func preset(_ name: String, summary: String, mirrors: String,
                       expand: @escaping @Sendable (LimitConfig) -> StrategySpec) -> Self {
        Self(name, .preset, summary, mirrors, [], .preset(expand))
    }

    static func retry(_ name: String, summary: String, mirrors: String, parameters: [StrategyParameter],
                      make: @escaping Make<any RetryPolicy>) -> Self {
        Self(name, .retry, summary, mirrors, parameters, .retry(make))
    }

    static func budget(_ name: String, summary: String, mirrors: String, parameters: [StrategyParameter],
                       make: @escaping Make<any RetryBudget>) -> Self {
        Self(name, .budget, summary, mirrors, parameters, .budget(make))
    }

    static func concurrency(_ name: String, summary: String, mirrors: String, parameters: [StrategyParameter],
                            make: @escaping Make<any ConcurrencyPolicy>) -> Self {
        Self(name, .concurrency, summary, mirrors, parameters, .concurrency(make))
    }

    static func pool(_ mode: KeyPoolMode, summary: String, mirrors: String) -> Self {
        Self(mode.rawValue, .pool, summary, mirrors, [], .pool(mode))
    }

    static func route(_ name: String, summary: String, mirrors: String, parameters: [StrategyParameter],
                      make: @escaping Wrap) -> Self {
        Self(name, .route, summary, mirrors, parameters, .wrapper(make))
    }

    static func trim(_ name: String, summary: String, mirrors: String, parameters: [StrategyParameter],
                     make: @escaping Wrap) -> Self {
        Self(name, .trim, summary, mirrors, parameters, .wrapper(make))
    }

    static func shed(_ name: String, summary: String, mirrors: String, parameters: [StrategyParameter],
                     make: @escaping Make<any LoadShedder>) -> Self {
        Self(name, .shed, summary, mirrors, parameters, .shed(make))
    }
}

/// The strategies limitlab ships: the single source of names, parameters and defaults for
/// building, scenario validation, `limitlab strategies` and docs/strategies.md. Each entry is
/// defined beside its implementation; adding a strategy means writing its `definition` there
/// and listing it here.
public enum StrategyRegistry {
    /// Every entry in listing order: baselines, admission limiters, shared limiters, presets,
    /// then the retry, budget, concurrency, shed, pool, route and trim entries.
    public static let definitions: [StrategyDefinition] = [
        NoRetryStrategy.definition, ImmediateRetryPolicy.baselineDefinition, SDKDefaultStrategy.definition,
        TokenBucketLimiter.definition, GCRALimiter.definition, LeakyBucketLimiter.definition,
        WindowLimiter.definition, HeaderPacedLimiter.definition, AIMDRateLimiter.definition,
        GuavaRateLimiter.definition,
        BottleneckStrategy.definition,
        SharedLimiter.tokenBucketDefinition, SharedLimiter.gcraDefinition,
        BatchOffloadStrategy.definition,
    ] + Presets.definitions + [
        NoRetryPolicy.definition, ImmediateRetryPolicy.definition, SDKRetryPolicy.definition,
        ExponentialBackoffPolicy.definition, FullJitterPolicy.definition, EqualJitterPolicy.definition,
        DecorrelatedJitterPolicy.definition, TenacityJitterPolicy.definition, MultiplicativeRandomPolicy.definition,
        RetryAfterPolicy.definition,
        GRPCRetryThrottle.definition, PercentageRetryBudget.definition,
        FixedConcurrencyLimit.definition, AIMDConcurrencyLimit.definition,
        SREThrottle.definition,
    ] + KeyPoolStrategy.definitions + RoutingStrategy.definitions + TrimmingStrategy.definitions

    /// Every entry's descriptor, in listing order.
    public static let descriptors: [StrategyDescriptor] = definitions.map(\.descriptor)

    /// Roles a strategy's `name:` names.
    static let topLevelRoles: Set<StrategyRole> = [.baseline, .admission, .preset]

    /// The entry for a top-level strategy name (baseline, admission or preset).
    public static func descriptor(named name: String) -> StrategyDescriptor? { definition(named: name)?.descriptor }

    /// The entry of a role (`retry`, `budget`, …) by name.
    public static func descriptor(named name: String, role: StrategyRole) -> StrategyDescriptor? {
        definition(named: name, role: role)?.descriptor
    }

    /// Names a strategy's `name:` accepts.
    public static var names: [String] {
        descriptors.filter { topLevelRoles.contains($0.role) }.map(\.name)
    }

    /// Names of one role.
    public static func names(role: StrategyRole) -> [String] {
        descriptors.filter { $0.role == role }.map(\.name)
    }

    static func definition(named name: String) -> StrategyDefinition? {
        definitions.first { $0.descriptor.name == name && topLevelRoles.contains($0.descriptor.role) }
    }

    static func definition(named name: String, role: StrategyRole) -> StrategyDefinition? {
        definitions.first { $0.descriptor.name == name && $0.descriptor.role == role }
    }
}
