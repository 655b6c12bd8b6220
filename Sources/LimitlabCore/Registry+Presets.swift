extension StrategyRegistry {
    static let presetEntries: [StrategyDescriptor] = []
}
