public import LimitlabCore

/// The presets of strategies.md §8.3: compositions that mirror what people ship. A preset
/// expands to a spec; a scenario's `retry:`/`budget:`/`concurrency:`/`shed:` override the
/// preset's own.
public enum Presets {
    /// The expansion of a preset spec, or nil when `spec` is not a preset.
    public static func expand(_ spec: StrategySpec) throws(StrategyError) -> StrategySpec? {
        guard StrategyRegistry.descriptor(named: spec.name)?.role == .preset else { return nil }
        var e: StrategySpec
        switch spec.name {
        default:
            throw StrategyError(message: "preset \(spec.name) is listed but not defined; this is a bug")
        }
        e.label = spec.label
        if let r = spec.retry { e.retry = r }
        if let b = spec.budget { e.budget = b }
        if let c = spec.concurrency { e.concurrency = c }
        if let s = spec.shed { e.shed = s }
        return e
    }
}
