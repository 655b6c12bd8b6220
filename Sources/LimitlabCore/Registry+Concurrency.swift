extension StrategyRegistry {
    static let concurrencyDescriptors: [StrategyDescriptor] = []
}
