import LimitlabCore

extension StrategyFactory {
    /// Builds `bottleneck` from its spec (nil for any other name). Defaults come from the
    /// registry entry; `retry` is the scenario's `retry:` policy (default: none).
    static func makeBottleneck(_ spec: StrategySpec, retry: any RetryPolicy, context: StrategyContext) throws(StrategyError) -> (any ClientStrategy)? {
        guard spec.name == "bottleneck" else { return nil }
        let p = params("strategy \(spec.label)", spec.params, StrategyRegistry.descriptor(named: "bottleneck"))
        let settings = try bottleneckSettings(p)
        return BottleneckStrategy(settings: settings, retry: retry)
    }

    static func bottleneckSettings(_ p: Params) throws(StrategyError) -> BottleneckSettings {
        let strategyName = try p.string("strategy")
        guard let strategy = BottleneckSettings.OverflowStrategy(rawValue: strategyName) else {
            throw StrategyError(message: "\(p.owner): unknown strategy \"\(strategyName)\"; expected one of "
                                + BottleneckSettings.OverflowStrategy.allCases.map(\.rawValue).joined(separator: ", "))
        }
        let settings = BottleneckSettings(
            maxConcurrent: try p.optionalInt("max_concurrent"),
            minTime: try p.double("min_time"),
            highWater: try p.optionalInt("high_water"),
            strategy: strategy,
            penalty: try p.optionalDouble("penalty"),
            reservoir: try p.optionalInt("reservoir"),
            reservoirRefreshInterval: try p.optionalDouble("reservoir_refresh_interval"),
            reservoirRefreshAmount: try p.optionalInt("reservoir_refresh_amount"),
            reservoirIncreaseInterval: try p.optionalDouble("reservoir_increase_interval"),
            reservoirIncreaseAmount: try p.optionalInt("reservoir_increase_amount"),
            reservoirIncreaseMaximum: try p.optionalInt("reservoir_increase_maximum"),
            heartbeatInterval: try p.double("heartbeat"),
            weight: try p.int("weight"),
            priority: try p.int("priority"),
            retryInside: try p.bool("retry_inside"))
        let errors = settings.validationErrors()
        guard errors.isEmpty else {
            throw StrategyError(message: "\(p.owner): " + errors.joined(separator: "; "))
        }
        return settings
    }
}
