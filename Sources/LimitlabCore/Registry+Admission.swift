extension StrategyRegistry {
    static let admissionLimiterDescriptors: [StrategyDescriptor] = []
}
