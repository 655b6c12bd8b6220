public import LimitlabCore

// Placeholder: the admission-limiter and concurrency implementations replace this file.
extension StrategyFactory {
    static func makeAdmissionPolicy(_ spec: StrategySpec, context: StrategyContext) throws(StrategyError) -> (any AdmissionPolicy)? { nil }
    static func makeConcurrency(_ spec: RoleSpec, context: StrategyContext) throws(StrategyError) -> (any ConcurrencyPolicy)? { nil }
}
