extension StrategyRegistry {
    static let retryDescriptors: [StrategyDescriptor] = []
    static let budgetDescriptors: [StrategyDescriptor] = []
    static let shedDescriptors: [StrategyDescriptor] = []
}
