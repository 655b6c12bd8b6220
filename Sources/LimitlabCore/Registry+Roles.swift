// Registry entries by role. Each list is filled by the code that implements the role; keep
// names, parameters and defaults in step with the implementation in LimitlabStrategies.

extension StrategyRegistry {
    static let admissionDescriptors: [StrategyDescriptor] = admissionLimiterDescriptors + bottleneckDescriptors
    static let presetDescriptors: [StrategyDescriptor] = presetEntries
}
