public import LimitlabCore

// Placeholder: the Bottleneck port replaces this file.
extension StrategyFactory {
    static func makeBottleneck(_ spec: StrategySpec, retry: any RetryPolicy, context: StrategyContext) throws(StrategyError) -> (any ClientStrategy)? { nil }
}
