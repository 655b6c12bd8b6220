/// The type of a strategy parameter, for validation and listings.
public enum ParamKind: Sendable, Equatable {
    case integer(min: Int, max: Int)
    case number(min: Double, max: Double)
    /// Seconds, written with units in scenarios (`500ms`).
    case duration
    case choice([String])
    case bool

    public var label: String {
        switch self {
        case .integer(let a, let b): return b == Int.max ? "integer ≥ \(a)" : "integer in \(a)...\(b)"
        case .number(let a, let b): return b == .infinity ? "number ≥ \(a)" : "number in \(a)...\(b)"
        case .duration: return "duration (e.g. 500ms, 8s)"
        case .choice(let c): return "one of " + c.joined(separator: ", ")
        case .bool: return "true or false"
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

/// What `limitlab strategies` lists and what the scenario validator checks against.
public struct StrategyDescriptor: Sendable, Equatable {
    public var name: String
    public var summary: String
    /// The library or source whose behaviour the strategy reproduces.
    public var mirrors: String
    public var parameters: [StrategyParameter]

    public func parameter(_ name: String) -> StrategyParameter? { parameters.first { $0.name == name } }
}

/// The strategies limitlab ships. Implementations live in `LimitlabStrategies`; this list is
/// the single source of names and parameters for validation, listings and docs.
public enum StrategyRegistry {
    public static let descriptors: [StrategyDescriptor] = [
        StrategyDescriptor(
            name: "none",
            summary: "Send every request at its arrival time and never retry (the control).",
            mirrors: "control (S0)",
            parameters: []),
        StrategyDescriptor(
            name: "sdk-default",
            summary: "The official SDK's built-in retry: 2 retries, min(0.5·2^n, 8) s × (1 − 0.25·U), "
                + "retry on 408/409/429/5xx unless x-should-retry says otherwise; retry-after honoured per variant.",
            mirrors: "anthropic-sdk-python 0.121.0 (python), anthropic-sdk-typescript 0.120.0 (typescript), openai-python 3.3.1 (openai-python)",
            parameters: [
                StrategyParameter(
                    name: "variant", kind: .choice(["python", "typescript", "openai-python"]), defaultValue: "python",
                    summary: "python: retry-after used when 0 < v ≤ 60 s; typescript: any value; "
                        + "openai-python: used when ≤ 120 s, give up above."),
                StrategyParameter(
                    name: "max_retries", kind: .integer(min: 0, max: 100), defaultValue: "2",
                    summary: "Retries after the first attempt."),
                StrategyParameter(
                    name: "initial_delay", kind: .duration, defaultValue: "500ms",
                    summary: "Backoff base: the first retry waits this × (0.75, 1]."),
                StrategyParameter(
                    name: "max_delay", kind: .duration, defaultValue: "8s", summary: "Backoff cap."),
            ]),
    ]

    public static func descriptor(named name: String) -> StrategyDescriptor? {
        descriptors.first { $0.name == name }
    }

    public static var names: [String] { descriptors.map(\.name) }
}
