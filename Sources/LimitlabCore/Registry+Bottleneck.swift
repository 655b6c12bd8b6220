extension StrategyRegistry {
    static let bottleneckDescriptors: [StrategyDescriptor] = []
}
