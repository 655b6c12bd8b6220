public import LimitlabCore
import LimitlabStats

/// Why a strategy could not be built from its spec.
public struct StrategyError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// Builds strategy objects from scenario specs. Each run gets a fresh object and its own
/// random stream, derived from the scenario seed and the strategy's label.
public enum StrategyFactory {
    public static func make(_ spec: StrategySpec, seed: UInt64) throws(StrategyError) -> any ClientStrategy {
        let random = RandomSource(seed: seed, stream: "strategy:" + spec.label)
        switch spec.name {
        case "none":
            return NoRetryStrategy()
        case "sdk-default":
            let variantName = spec.params["variant"]?.description ?? "python"
            guard let variant = SDKDefaultStrategy.Variant(rawValue: variantName) else {
                throw StrategyError(message: "strategy \(spec.label): unknown variant \"\(variantName)\"; expected python, typescript or openai-python")
            }
            return SDKDefaultStrategy(
                variant: variant,
                maxRetries: try integer(spec, "max_retries", default: 2),
                initialDelay: try number(spec, "initial_delay", default: 0.5),
                maxDelay: try number(spec, "max_delay", default: 8),
                random: random)
        default:
            throw StrategyError(message: "unknown strategy \"\(spec.name)\"; known: \(StrategyRegistry.names.joined(separator: ", "))")
        }
    }

    static func number(_ spec: StrategySpec, _ key: String, default value: Double) throws(StrategyError) -> Double {
        switch spec.params[key] {
        case nil: return value
        case .number(let v)?: return v
        case let other?: throw StrategyError(message: "strategy \(spec.label): \(key) must be a number, found \(other)")
        }
    }

    static func integer(_ spec: StrategySpec, _ key: String, default value: Int) throws(StrategyError) -> Int {
        let v = try number(spec, key, default: Double(value))
        guard v == v.rounded(), abs(v) < 1e9 else {
            throw StrategyError(message: "strategy \(spec.label): \(key) must be a whole number, found \(v)")
        }
        return Int(v)
    }
}
