import LimitlabCore

// Builds the retry policies (S3–S9), retry budgets (S23) and the SRE shedder (S22) from scenario
// role specs; every default comes from Registry+Retry.swift through `Params`.
extension StrategyFactory {
    static func makeRetryPolicy(_ spec: RoleSpec, context: StrategyContext) throws(StrategyError) -> (any RetryPolicy)? {
        let d = StrategyRegistry.descriptor(named: spec.name, role: .retry)
        let owner = "retry \(spec.name) of \(context.label)"
        try checkKeys(spec, d, owner: owner)
        let p = params(owner, spec.params, d)
        switch spec.name {
        case "exponential":
            return ExponentialBackoffPolicy(base: try p.double("base"), multiplier: try p.double("multiplier"),
                                            minimum: try p.double("min"), cap: try p.optionalDouble("cap") ?? .infinity,
                                            maxAttempts: try p.int("max_attempts"))
        case "full-jitter":
            return FullJitterPolicy(base: try p.double("base"), cap: try p.double("cap"),
                                    maxAttempts: try p.int("max_attempts"), random: context.random)
        case "equal-jitter":
            return EqualJitterPolicy(base: try p.double("base"), cap: try p.double("cap"),
                                     maxAttempts: try p.int("max_attempts"), random: context.random)
        case "decorrelated-jitter":
            return DecorrelatedJitterPolicy(base: try p.double("base"), cap: try p.double("cap"),
                                            multiplier: try p.double("multiplier"),
                                            maxAttempts: try p.int("max_attempts"), random: context.random)
        case "tenacity":
            return TenacityJitterPolicy(base: try p.double("base"), multiplier: try p.double("multiplier"),
                                        jitter: try p.double("jitter"), minimum: try p.double("min"),
                                        cap: try p.optionalDouble("cap") ?? .infinity,
                                        maxAttempts: try p.int("max_attempts"), random: context.random)
        case "multiplicative-random":
            return try multiplicativeRandom(spec, p, d, owner: owner, context: context)
        case "retry-after":
            return try retryAfter(spec, p, owner: owner, context: context)
        default:
            return nil
        }
    }

    /// Scenario files are checked against the registry when read, but specs built in code
    /// (presets, tests) are not; an unknown key there would silently fall back to a default.
    private static func checkKeys(_ spec: RoleSpec, _ d: StrategyDescriptor?, owner: String) throws(StrategyError) {
        guard let d else { return }
        let known = Set(d.parameters.map(\.name))
        if let bad = spec.params.keys.sorted().first(where: { !known.contains($0) }) {
            throw StrategyError(message: "\(owner): unknown parameter \"\(bad)\"; expected one of: "
                                + d.parameters.map(\.name).joined(separator: ", "))
        }
    }

    /// S8: unset `base`, `factor` and `max_attempts` take the flavour's registry values.
    private static func multiplicativeRandom(_ spec: RoleSpec, _ p: Params, _ d: StrategyDescriptor?, owner: String,
                                             context: StrategyContext) throws(StrategyError) -> MultiplicativeRandomPolicy {
        let name = try p.string("flavour")
        guard let flavour = MultiplicativeRandomPolicy.Flavour(rawValue: name),
              let defaults = StrategyRegistry.multiplicativeRandomFlavourDefaults[name], var fd = d
        else {
            throw StrategyError(message: "\(owner): unknown flavour \"\(name)\"; expected "
                                + MultiplicativeRandomPolicy.Flavour.allCases.map(\.rawValue).joined(separator: " or "))
        }
        // Each knob belongs to one library; giving the other's is a scenario mistake, not a no-op.
        if flavour == .resilience4j && spec.params["randomize"] != nil {
            throw StrategyError(message: "\(owner): randomize is p-retry's; resilience4j uses randomization_factor")
        }
        if flavour == .pRetry && spec.params["randomization_factor"] != nil {
            throw StrategyError(message: "\(owner): randomization_factor is resilience4j's; p-retry uses randomize")
        }
        fd.parameters = fd.parameters.map { q in
            var q = q
            if let v = defaults[q.name] { q.defaultValue = v }
            return q
        }
        let fp = params(owner, spec.params, fd)
        let base = try fp.double("base")
        if flavour == .resilience4j && base < 0.001 {
            throw StrategyError(message: "\(owner): resilience4j needs base ≥ 1ms (IntervalFunction rejects shorter)")
        }
        return MultiplicativeRandomPolicy(flavour: flavour, base: base, factor: try fp.double("factor"),
                                          randomize: try fp.bool("randomize"),
                                          randomizationFactor: try fp.double("randomization_factor"),
                                          cap: try fp.optionalDouble("cap") ?? .infinity,
                                          maxAttempts: try fp.int("max_attempts"), random: context.random)
    }

    /// S9: the inner policy gets only the `base`, `cap` and `max_attempts` the scenario gave.
    private static func retryAfter(_ spec: RoleSpec, _ p: Params, owner: String,
                                   context: StrategyContext) throws(StrategyError) -> RetryAfterPolicy {
        let innerName = try p.string("backoff")
        var innerParams: [String: ParamValue] = [:]
        for key in ["base", "cap", "max_attempts"] {
            if let v = spec.params[key] { innerParams[key] = v }
        }
        guard innerName != "retry-after", StrategyRegistry.descriptor(named: innerName, role: .retry) != nil,
              let inner = try makeRetryPolicy(RoleSpec(name: innerName, params: innerParams), context: context)
        else {
            throw StrategyError(message: "\(owner): backoff \"\(innerName)\" is not a backoff policy")
        }
        let modeName = try p.string("mode")
        guard let mode = RetryAfterPolicy.Mode(rawValue: modeName) else {
            throw StrategyError(message: "\(owner): unknown mode \"\(modeName)\"; expected "
                                + RetryAfterPolicy.Mode.allCases.map(\.rawValue).joined(separator: ", "))
        }
        return RetryAfterPolicy(inner: inner, mode: mode, jitter: try p.double("jitter"),
                                maxHonored: try p.optionalDouble("max_honored") ?? .infinity,
                                giveUpAbove: try p.bool("give_up_above"), random: context.random)
    }

    static func makeBudget(_ spec: RoleSpec, context: StrategyContext) throws(StrategyError) -> (any RetryBudget)? {
        let owner = "budget \(spec.name) of \(context.label)"
        let d = StrategyRegistry.descriptor(named: spec.name, role: .budget)
        try checkKeys(spec, d, owner: owner)
        let p = params(owner, spec.params, d)
        switch spec.name {
        case "grpc":
            return GRPCRetryThrottle(maxTokens: try p.double("max_tokens"), tokenRatio: try p.double("token_ratio"))
        case "percentage":
            let ttl = try p.double("ttl")
            // Finagle: require(ttl.inSeconds >= 1 && ttl.inSeconds <= 60).
            guard ttl >= 1 && ttl < 61 else {
                throw StrategyError(message: "\(owner): ttl must be within 1s...60s (Finagle's bounds)")
            }
            return PercentageRetryBudget(ttl: ttl, minRetriesPerSec: try p.int("min_retries_per_sec"),
                                         percentCanRetry: try p.double("percent"))
        default:
            return nil
        }
    }

    static func makeShedder(_ spec: RoleSpec, context: StrategyContext) throws(StrategyError) -> (any LoadShedder)? {
        let owner = "shed \(spec.name) of \(context.label)"
        let d = StrategyRegistry.descriptor(named: spec.name, role: .shed)
        try checkKeys(spec, d, owner: owner)
        let p = params(owner, spec.params, d)
        switch spec.name {
        case "sre":
            let window = try p.double("window")
            guard window > 0 else { throw StrategyError(message: "\(owner): window must be longer than 0s") }
            return SREThrottle(k: try p.double("k"), window: window,
                               maxRejectProbability: try p.double("max_reject_probability"),
                               minRequests: try p.int("min_requests"), random: context.random)
        default:
            return nil
        }
    }
}
