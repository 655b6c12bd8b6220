import LimitlabCore

// Builds the admission limiters (token-bucket, gcra, leaky-bucket, window, header-paced,
// aimd-rate) and the `aimd` concurrency limit from scenario specs. Parameters come through
// `Params`, so the defaults are the registry's (Registry+Admission.swift, Registry+Concurrency.swift).
extension StrategyFactory {
    static func makeAdmissionPolicy(_ spec: StrategySpec, context: StrategyContext) throws(StrategyError) -> (any AdmissionPolicy)? {
        let names = ["token-bucket", "gcra", "leaky-bucket", "window", "header-paced", "aimd-rate"]
        guard names.contains(spec.name), let d = StrategyRegistry.descriptor(named: spec.name) else { return nil }
        let p = params("strategy \(spec.label)", spec.params, d)
        let limits = context.limits

        switch spec.name {
        case "token-bucket":
            guard let fill = TokenBucketLimiter.InitialFill(rawValue: try p.string("initial_fill")) else {
                throw StrategyError(message: "\(p.owner): initial_fill must be full or empty")
            }
            let burst = try p.double("burst")
            guard burst > 0 else { throw StrategyError(message: "\(p.owner): burst must be longer than 0s") }
            return TokenBucketLimiter(TokenBucketLimiter.Configuration(
                rpm: try p.optionalDouble("rpm") ?? limits.rpm,
                itpm: try p.optionalDouble("itpm") ?? limits.itpm,
                otpm: try p.optionalDouble("otpm") ?? limits.otpm,
                burstSeconds: burst, initialFill: fill,
                countCacheReads: try p.bool("count_cache_reads"), reserveOutput: try p.bool("reserve_output")))

        case "gcra":
            let period = try p.double("period")
            let count = try p.optionalDouble("count") ?? limits.rpm * period / 60
            guard period > 0, count > 0 else {
                throw StrategyError(message: "\(p.owner): count and period must be above 0")
            }
            return GCRALimiter(count: count, period: period, maxBurst: try p.int("max_burst"))

        case "leaky-bucket":
            let period = try p.double("time_period")
            let maxRate = try p.optionalDouble("max_rate") ?? limits.rpm * period / 60
            guard period > 0 else { throw StrategyError(message: "\(p.owner): time_period must be longer than 0s") }
            guard maxRate >= 1 else {
                throw StrategyError(message: "\(p.owner): max_rate is \(maxRate) per \(period) s; a request needs "
                                    + "max_rate ≥ 1 (aiolimiter raises ValueError for an acquire above max_rate)")
            }
            return LeakyBucketLimiter(maxRate: maxRate, timePeriod: period)

        case "window":
            guard let kind = WindowLimiter.Kind(rawValue: try p.string("kind")) else {
                throw StrategyError(message: "\(p.owner): kind must be fixed, sliding-log or sliding-counter")
            }
            let window = try p.double("window")
            guard window > 0 else { throw StrategyError(message: "\(p.owner): window must be longer than 0s") }
            let limit = try p.optionalInt("limit") ?? Int((limits.rpm * window / 60).rounded(.down))
            guard limit >= 1 else {
                throw StrategyError(message: "\(p.owner): the scenario's RPM allows less than 1 request per "
                                    + "\(window) s window; give limit or a longer window")
            }
            return WindowLimiter(kind: kind, limit: limit, window: window)

        case "header-paced":
            guard let output = HeaderPacedLimiter.OutputCost(rawValue: try p.string("output_cost")) else {
                throw StrategyError(message: "\(p.owner): output_cost must be observed or max_tokens")
            }
            return HeaderPacedLimiter(HeaderPacedLimiter.Configuration(
                initialRate: try p.optionalDouble("initial_rate"), outputCost: output,
                countCacheReads: try p.bool("count_cache_reads"), tokenRounding: try p.int("token_rounding")))

        case "aimd-rate":
            let initial = try p.optionalDouble("initial_rate") ?? limits.rpm / 60
            let minRate = try p.double("min_rate")
            let maxRate = try p.optionalDouble("max_rate") ?? .infinity
            let interval = try p.double("interval")
            guard initial > 0, interval > 0 else {
                throw StrategyError(message: "\(p.owner): initial_rate and interval must be above 0")
            }
            guard minRate <= maxRate else {
                throw StrategyError(message: "\(p.owner): min_rate \(minRate) is above max_rate \(maxRate)")
            }
            return AIMDRateLimiter(AIMDRateLimiter.Configuration(
                initialRate: initial, increase: try p.optionalDouble("increase") ?? initial * 0.05,
                decrease: try p.double("decrease"), interval: interval, minRate: minRate, maxRate: maxRate))

        default:
            return nil
        }
    }

    static func makeConcurrency(_ spec: RoleSpec, context: StrategyContext) throws(StrategyError) -> (any ConcurrencyPolicy)? {
        guard spec.name == "aimd", let d = StrategyRegistry.descriptor(named: spec.name, role: .concurrency) else { return nil }
        let p = params("concurrency aimd of \(context.label)", spec.params, d)
        let minLimit = try p.int("min_limit"), maxLimit = try p.int("max_limit")
        let ratio = try p.double("backoff_ratio")
        guard minLimit <= maxLimit else {
            throw StrategyError(message: "\(p.owner): min_limit \(minLimit) is above max_limit \(maxLimit)")
        }
        guard ratio >= 0.5 && ratio < 1 else {
            throw StrategyError(message: "\(p.owner): backoff_ratio must be in [0.5, 1), as AIMDLimit requires")
        }
        let timeout = try p.optionalDouble("timeout")
        if let timeout, timeout <= 0 {
            throw StrategyError(message: "\(p.owner): timeout must be positive, as AIMDLimit requires")
        }
        return AIMDConcurrencyLimit(initialLimit: try p.int("initial_limit"), minLimit: minLimit, maxLimit: maxLimit,
                                    backoffRatio: ratio, timeout: timeout)
    }
}
