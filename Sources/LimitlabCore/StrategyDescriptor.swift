/// The type of a strategy parameter, for validation and listings.
public enum ParamKind: Sendable, Equatable {
    case integer(min: Int, max: Int)
    case number(min: Double, max: Double)
    /// Seconds, written with units in scenarios (`500ms`).
    case duration
    case choice([String])
    case bool
    /// A name of letters, digits, `.`, `_`, `-` and `:` (a shared limiter's key namespace).
    case text

    public var label: String {
        switch self {
        case .integer(let a, let b): return b == Int.max ? "integer ≥ \(a)" : "integer in \(a)...\(b)"
        case .number(let a, let b): return b == .infinity ? "number ≥ \(a)" : "number in \(a)...\(b)"
        case .duration: return "duration (e.g. 500ms, 8s)"
        case .choice(let c): return "one of " + c.joined(separator: ", ")
        case .bool: return "true or false"
        case .text: return "a name of letters, digits, \".\", \"_\", \"-\" and \":\""
        }
    }
}

/// One documented parameter of a strategy.
public struct StrategyParameter: Sendable, Equatable {
    public var name: String
    public var kind: ParamKind
    /// Default as written in a scenario.
    public var defaultValue: String
    public var summary: String
}

/// The part a registry entry plays in a composed strategy.
public enum StrategyRole: String, Sendable, CaseIterable, Codable {
    /// A complete strategy on its own (`none`, `immediate-retry`, `sdk-default`).
    case baseline
    /// A pre-send limiter (token bucket, GCRA, Bottleneck, …); named by a strategy's `name:`.
    case admission
    /// A named composition of roles (`bottleneck-typical`, `adaptive`, …); named by a strategy's `name:`.
    case preset
    /// Retry policy: retry? after how long? (`retry:`)
    case retry
    /// Cross-request retry budget (`budget:`)
    case budget
    /// In-flight limit, possibly adaptive (`concurrency:`)
    case concurrency
    /// Local probabilistic rejection (`shed:`)
    case shed
    /// How requests are spread over the scenario's API keys (`pool:`)
    case pool
    /// Which model class each attempt goes to (`route:`)
    case route
    /// Input trimming when the input-token bucket runs low (`trim:`)
    case trim

    /// The scenario key that names an entry of this role.
    public var scenarioKey: String {
        switch self {
        case .baseline, .admission, .preset: return "name"
        case .retry: return "retry"
        case .budget: return "budget"
        case .concurrency: return "concurrency"
        case .shed: return "shed"
        case .pool: return "pool"
        case .route: return "route"
        case .trim: return "trim"
        }
    }
}

/// What `limitlab strategies` lists and what the scenario validator checks against: a plain
/// value. The entries themselves, each with the code that builds it, are `StrategyRegistry` in
/// LimitlabStrategies, beside their implementations.
public struct StrategyDescriptor: Sendable, Equatable {
    public var name: String
    public var role: StrategyRole
    public var summary: String
    /// The library or source whose behaviour the strategy reproduces.
    public var mirrors: String
    public var parameters: [StrategyParameter]

    public init(name: String, role: StrategyRole = .baseline, summary: String, mirrors: String,
                parameters: [StrategyParameter]) {
        self.name = name; self.role = role; self.summary = summary; self.mirrors = mirrors
        self.parameters = parameters
    }

    public func parameter(_ name: String) -> StrategyParameter? { parameters.first { $0.name == name } }
}

extension StrategyParameter {
    public init(_ name: String, _ kind: ParamKind, _ defaultValue: String, _ summary: String) {
        self.init(name: name, kind: kind, defaultValue: defaultValue, summary: summary)
    }
}
