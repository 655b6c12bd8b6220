import LimitlabCore

// Builds `shared-token-bucket` and `shared-gcra` (Registry+SharedQuota.swift) from scenario specs.
extension StrategyFactory {
    static func makeSharedLimiter(_ spec: StrategySpec, context: StrategyContext) throws(StrategyError) -> (any AdmissionPolicy)? {
        guard ["shared-token-bucket", "shared-gcra"].contains(spec.name),
              let d = StrategyRegistry.descriptor(named: spec.name) else { return nil }
        let p = params("strategy \(spec.label)", spec.params, d)
        let limits = context.limits
        guard let fallback = SharedLimiter.Fallback(rawValue: try p.string("fallback")) else {
            throw StrategyError(message: "\(p.owner): fallback must be fail-closed or local")
        }
        let key = try p.optionalString("key") ?? context.sharedNamespace
        let storeRetry = try p.double("store_retry")
        // Without a store (a single process), the limiter still runs through the store's arithmetic.
        let store = context.sharedStore ?? InMemoryQuotaStore()

        let kind: SharedLimiter.Kind
        if spec.name == "shared-token-bucket" {
            let burst = try p.double("burst")
            guard burst > 0 else { throw StrategyError(message: "\(p.owner): burst must be longer than 0s") }
            kind = .tokenBucket(TokenBucketLimiter.Configuration(
                rpm: try p.optionalDouble("rpm") ?? limits.rpm,
                itpm: try p.optionalDouble("itpm") ?? limits.itpm,
                otpm: try p.optionalDouble("otpm") ?? limits.otpm,
                burstSeconds: burst, countCacheReads: try p.bool("count_cache_reads"),
                reserveOutput: try p.bool("reserve_output")))
        } else {
            let period = try p.double("period")
            let count = try p.optionalDouble("count") ?? limits.rpm * period / 60
            guard period > 0, count > 0 else { throw StrategyError(message: "\(p.owner): count and period must be above 0") }
            kind = .gcra(count: count, period: period, maxBurst: try p.int("max_burst"))
        }
        return SharedLimiter(kind: kind, store: store, key: key, fallback: fallback, storeRetry: storeRetry,
                             workerCount: context.workerCount)
    }
}
