public import LimitlabCore

// Placeholder: the retry-policy, budget and shedder implementations replace this file.
extension StrategyFactory {
    static func makeRetryPolicy(_ spec: RoleSpec, context: StrategyContext) throws(StrategyError) -> (any RetryPolicy)? { nil }
    static func makeBudget(_ spec: RoleSpec, context: StrategyContext) throws(StrategyError) -> (any RetryBudget)? { nil }
    static func makeShedder(_ spec: RoleSpec, context: StrategyContext) throws(StrategyError) -> (any LoadShedder)? { nil }
}
