public import LimitlabCore
import Foundation
public import LimitlabStats

/// Typed access to a strategy's parameters: the scenario's value, else the registry default,
/// so the documented default and the implemented default cannot drift apart.
public struct Params: Sendable {
    public let owner: String
    public let values: [String: ParamValue]
    public let descriptor: StrategyDescriptor?

    public init(owner: String, values: [String: ParamValue], descriptor: StrategyDescriptor?) {
        self.owner = owner; self.values = values; self.descriptor = descriptor
    }

    private func raw(_ key: String) throws(StrategyError) -> ParamValue {
        if let v = values[key] { return v }
        guard let p = descriptor?.parameter(key) else {
            throw StrategyError(message: "\(owner): internal error: parameter \(key) is not in the registry")
        }
        return Self.parseDefault(p)
    }

    /// Registry defaults that mean "not set": read such a parameter with an `optional…` accessor.
    static let unsetDefaults: Set<String> = ["", "none", "unset", "-"]

    /// A registry default as a value (`"500ms"` → 0.5, `"none"` → .string, so that `double`
    /// refuses it instead of reading an unset duration as some number).
    static func parseDefault(_ p: StrategyParameter) -> ParamValue {
        switch p.kind {
        case .duration:
            if let v = Units.parseDuration(p.defaultValue) ?? Double(p.defaultValue) { return .number(v) }
            return .string(p.defaultValue)
        case .integer, .number:
            if p.defaultValue == "inf" || p.defaultValue == "∞" { return .number(.infinity) }
            return Double(p.defaultValue).map(ParamValue.number) ?? .string(p.defaultValue)
        case .bool: return .bool(p.defaultValue == "true")
        case .choice, .text: return .string(p.defaultValue)
        }
    }

    /// Whether the scenario gave the parameter, or its default is not "unset".
    public func has(_ key: String) -> Bool {
        if values[key] != nil { return true }
        guard let p = descriptor?.parameter(key) else { return false }
        return !Self.unsetDefaults.contains(p.defaultValue)
    }

    /// The parameter as a number. An unset parameter (default "none") is an error here, never a
    /// silent infinity: read those with `optionalDouble`.
    public func double(_ key: String) throws(StrategyError) -> Double {
        switch try raw(key) {
        case .number(let v): return v
        case let other:
            if values[key] == nil, let p = descriptor?.parameter(key), Self.unsetDefaults.contains(p.defaultValue) {
                throw StrategyError(message: "\(owner): internal error: \(key) has no default (\(p.defaultValue)); "
                                    + "it is read with optionalDouble/optionalInt and a fallback")
            }
            throw StrategyError(message: "\(owner): \(key) must be a number, found \(other)")
        }
    }

    public func optionalDouble(_ key: String) throws(StrategyError) -> Double? {
        has(key) ? try double(key) : nil
    }

    public func int(_ key: String) throws(StrategyError) -> Int {
        let v = try double(key)
        if v == .infinity { return .max }
        guard v == v.rounded(), abs(v) < 1e15 else {
            throw StrategyError(message: "\(owner): \(key) must be a whole number, found \(v)")
        }
        return Int(v)
    }

    public func optionalInt(_ key: String) throws(StrategyError) -> Int? {
        has(key) ? try int(key) : nil
    }

    public func string(_ key: String) throws(StrategyError) -> String {
        switch try raw(key) {
        case .string(let s): return s
        case let other: return other.description
        }
    }

    /// A text parameter, nil when neither given nor defaulted ("none").
    public func optionalString(_ key: String) throws(StrategyError) -> String? {
        has(key) ? try string(key) : nil
    }

    public func bool(_ key: String) throws(StrategyError) -> Bool {
        switch try raw(key) {
        case .bool(let b): return b
        case let other: throw StrategyError(message: "\(owner): \(key) must be true or false, found \(other)")
        }
    }
}

/// What a factory needs besides the spec: the scenario's limits (defaults for client-side
/// limiters sized "from the tier"), a random stream for the strategy, and where it runs among
/// the organisation's workers.
public struct StrategyContext {
    public var limits: LimitConfig
    public var random: RandomSource
    public var label: String
    /// The store shared limiters (`shared-token-bucket`, `shared-gcra`) keep their state in;
    /// nil: each such strategy gets its own `InMemoryQuotaStore` (a single-process run).
    public var sharedStore: (any SharedQuotaStore)?
    /// Default key namespace of shared limiters: `limitlab:<scenario>:<label>`, the same for
    /// every worker running this strategy.
    public var sharedNamespace: String
    /// This worker's index, 0-based, among `workerCount` client processes of the organisation.
    public var worker: Int
    /// Number of workers; a local fallback limiter is sized at limit ÷ workerCount.
    public var workerCount: Int

    public init(limits: LimitConfig, random: RandomSource, label: String, sharedStore: (any SharedQuotaStore)? = nil,
                sharedNamespace: String? = nil, worker: Int = 0, workerCount: Int = 1) {
        self.limits = limits; self.random = random; self.label = label
        self.sharedStore = sharedStore; self.sharedNamespace = sharedNamespace ?? "limitlab:" + label
        self.worker = worker; self.workerCount = Swift.max(1, workerCount)
    }
}
