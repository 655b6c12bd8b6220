public import LimitlabCore
import LimitlabStats

/// Builds an `ExportPlan` from a strategy spec: each role maps itself here, once, in library-
/// neutral terms (the formats only render the plan). Parameters are read through `Params`, so
/// a value left out of the scenario is the registry default the simulator runs with.
public enum StrategyExport {
    /// The plan for `spec` against the scenario's `limits`; nil limits (no scenario) work for
    /// every strategy whose numbers do not come from the tier.
    public static func plan(_ spec: StrategySpec, limits: LimitConfig?) throws(ExportError) -> ExportPlan {
        do { return try build(spec, limits: limits) } catch let e as ExportError { throw e } catch let e as StrategyError {
            throw ExportError(e)
        } catch { throw ExportError("\(error)") }
    }

    static func build(_ spec: StrategySpec, limits: LimitConfig?) throws -> ExportPlan {
        var spec = spec
        var preset: String?
        if Presets.isPreset(spec.name) {
            preset = spec.name
            // A preset sized from the tier expands differently for two tiers: it needs the scenario's.
            let probe = { (rpm: Double) throws -> StrategySpec in
                do {
                    return try Presets.expand(spec, limits: limits ?? LimitConfig(rpm: rpm, itpm: rpm * 1000, otpm: rpm * 100))!
                } catch let e as StrategyError { throw ExportError("strategy \(spec.label): \(e.message)") }
            }
            let expanded = try probe(60)
            if limits == nil, try probe(120) != expanded {
                throw ExportError("preset \(spec.name) sizes itself from the scenario's limits; give a SCENARIO "
                                  + "(`limitlab export \(spec.name) scenario.yaml --as …`)")
            }
            spec = expanded
        }
        guard let definition = StrategyRegistry.definition(named: spec.name) else {
            throw ExportError("unknown strategy \"\(spec.name)\"; known: \(StrategyRegistry.names.joined(separator: ", "))")
        }
        var gaps: [ExportGap] = []
        var roles: [ExportedRole] = []
        let top = Params(owner: "strategy \(spec.label)", values: spec.params, descriptor: definition.descriptor)
        roles.append(resolved("name", spec.name, top))

        let admission = try AdmissionExports.plan(spec.name, top, limits: limits, gaps: &gaps)
        var retry: RetryPlan = .none
        if let r = spec.retry {
            let (plan, p) = try RetryExports.plan(r, owner: spec.label)
            retry = plan
            roles.append(resolved("retry", r.name, p))
        } else if definition.descriptor.role == .baseline {
            retry = try RetryExports.baselineRetry(spec.name, top)
        }
        var concurrency: Int?
        if let c = spec.concurrency {
            let p = try params(c, .concurrency, owner: spec.label)
            roles.append(resolved("concurrency", c.name, p))
            concurrency = try ConcurrencyExports.limit(c.name, p, gaps: &gaps)
        }
        if let b = spec.budget {
            let p = try params(b, .budget, owner: spec.label)
            roles.append(resolved("budget", b.name, p))
            gaps.append(ExportGap("budget \(b.name)", "a retry budget shared by all requests (limitlab's \(b.name) "
                                  + "budget) has no counterpart in the SDK, tenacity, aiolimiter or Bottleneck; "
                                  + "the export retries without one"))
        }
        if let s = spec.shed {
            let p = try params(s, .shed, owner: spec.label)
            roles.append(resolved("shed", s.name, p))
            gaps.append(ExportGap("shed \(s.name)", "client-side load shedding (rejecting new requests from the "
                                  + "recent accept ratio) has no counterpart in these libraries; the export sheds nothing"))
        }
        if let pool = spec.pool {
            roles.append(ExportedRole(key: "pool", name: pool.rawValue, parameters: []))
            gaps.append(ExportGap("pool \(pool.rawValue)", "spreading requests over several API keys is not "
                                  + "exported; the client uses the one key in ANTHROPIC_API_KEY"))
        }
        return ExportPlan(label: spec.label, roles: roles, preset: preset, admission: admission,
                          concurrency: concurrency, retry: retry, gaps: gaps)
    }

    /// Role parameters checked against the registry, as the factory checks them.
    static func params(_ r: RoleSpec, _ role: StrategyRole, owner: String) throws -> Params {
        guard let definition = StrategyRegistry.definition(named: r.name, role: role) else {
            throw ExportError("strategy \(owner): unknown \(role.scenarioKey) \"\(r.name)\"; known: "
                              + StrategyRegistry.names(role: role).joined(separator: ", "))
        }
        let known = Set(definition.descriptor.parameters.map(\.name))
        if let bad = r.params.keys.sorted().first(where: { !known.contains($0) }) {
            throw ExportError("strategy \(owner): \(role.scenarioKey) \(r.name) has no parameter \"\(bad)\"")
        }
        return Params(owner: "\(role.scenarioKey) \(r.name) of \(owner)", values: r.params,
                      descriptor: definition.descriptor)
    }

    /// Every parameter of a role with the value the simulator runs with.
    static func resolved(_ key: String, _ name: String, _ p: Params) -> ExportedRole {
        let parameters = (p.descriptor?.parameters ?? []).map { d -> ExportedParameter in
            if let v = p.values[d.name] {
                if case .number(let x) = v, d.kind == .duration { return ExportedParameter(name: d.name, value: Units.formatDuration(x)) }
                return ExportedParameter(name: d.name, value: v.description)
            }
            return ExportedParameter(name: d.name, value: d.defaultValue)
        }
        return ExportedRole(key: key, name: name, parameters: parameters)
    }
}

extension ExportError {
    init(_ error: StrategyError) { self.init(error.message) }
}

/// Reads a parameter (the registry's errors become export errors in `StrategyExport.plan`).
func read<T>(_ body: () throws -> T) rethrows -> T { try body() }

// MARK: - Admission

/// The admission limiters in library-neutral terms: the three that are a refilling bucket for
/// requests of cost 1 (token bucket, GCRA, aiolimiter's leaky bucket) and Bottleneck's settings.
enum AdmissionExports {
    /// Why each limiter no library here can express is left out (the strategy is then unmappable).
    static let unmappable: [String: String] = [
        "window": "fixed and sliding windows count requests per window; aiolimiter and Bottleneck are buckets "
            + "(Bottleneck's reservoir refresh is a fixed window aligned to the limiter's creation, not to the "
            + "scenario's; use `bottleneck` with reservoir_refresh_* to compare that)",
        "header-paced": "it paces from the anthropic-ratelimit-* response headers, which none of these libraries reads",
        "aimd-rate": "it adapts its rate to 429s (AIMD); these libraries have fixed rates",
        "guava": "Guava's RateLimiter (each request pays for the previous one, warm-up) has no counterpart here",
        "shared-token-bucket": "it shares one bucket among processes through Redis; AsyncLimiter is per process "
            + "(Bottleneck's Redis clustering keeps queues local and is not exported)",
        "shared-gcra": "it shares one GCRA among processes through Redis; AsyncLimiter is per process",
    ]

    static func plan(_ name: String, _ p: Params, limits: LimitConfig?,
                     gaps: inout [ExportGap]) throws -> AdmissionPlan? {
        func tier(_ what: String) throws -> LimitConfig {
            guard let limits else {
                throw ExportError("\(name): \(what) defaults to the scenario's limits; give a SCENARIO or set it "
                                  + "in the strategy")
            }
            return limits
        }
        func queue() throws -> QueuePlan {
            let maxQueue = try read { () throws(StrategyError) in try StrategyFactory.queueLimit(p) }
            let maxWait = try read { () throws(StrategyError) in try StrategyFactory.queueWait(p) }
            return QueuePlan(maxQueue: maxQueue == .max ? nil : maxQueue, maxWait: maxWait.isFinite ? maxWait : nil)
        }
        switch name {
        case "none", "sdk-default", "immediate-retry":
            return nil
        case "token-bucket":
            let burst = try read { () throws(StrategyError) in try p.double("burst") }
            let full = try read { () throws(StrategyError) in try p.string("initial_fill") } == "full"
            let origin = "token-bucket, burst \(Units.formatDuration(burst))"
            var buckets: [BucketPlan] = []
            let rpm = try read { () throws(StrategyError) in try p.optionalDouble("rpm") } ?? tier("rpm").rpm
            if rpm > 0 {
                let rate = rpm / 60
                buckets.append(BucketPlan(dimension: .requests, rate: rate, capacity: Swift.max(1, rate * burst),
                                          startsFull: full, origin: "\(origin), rpm \(ParamValue.number(rpm))"))
            }
            let itpm = try read { () throws(StrategyError) in try p.optionalDouble("itpm") } ?? tier("itpm").itpm
            if itpm > 0 {
                let rate = itpm / 60
                buckets.append(BucketPlan(dimension: .inputTokens, rate: rate, capacity: rate * burst,
                                          startsFull: full, origin: "\(origin), itpm \(ParamValue.number(itpm))"))
                if try read({ () throws(StrategyError) in try p.string("oversize") }) == "debt" {
                    gaps.append(ExportGap("token-bucket.oversize", "debt: a prompt larger than the input bucket "
                                          + "waits for a full bucket and leaves it in debt; a library bucket never goes "
                                          + "below empty, so the export takes at most the capacity for such a prompt"))
                }
            }
            let otpm = try read { () throws(StrategyError) in try p.optionalDouble("otpm") } ?? tier("otpm").otpm
            if otpm > 0 {
                gaps.append(ExportGap("token-bucket.otpm", "output tokens are charged after the response (the bucket "
                                      + "goes into debt); these libraries take capacity before a call, never after, so "
                                      + "the export has no output-token bucket"))
            }
            if try read({ () throws(StrategyError) in try p.bool("reserve_output") }) {
                gaps.append(ExportGap("token-bucket.reserve_output", "reserving max_tokens and refunding the unused "
                                      + "part needs a bucket that gives tokens back; not exported"))
            }
            if try read({ () throws(StrategyError) in try p.bool("count_cache_reads") }) {
                gaps.append(ExportGap("token-bucket.count_cache_reads", "the export charges the input_tokens its "
                                      + "caller passes; count cached prompt tokens in it yourself"))
            }
            return .buckets(buckets, queue: try queue())
        case "leaky-bucket":
            let period = try read { () throws(StrategyError) in try p.double("time_period") }
            let maxRate = try read { () throws(StrategyError) in try p.optionalDouble("max_rate") } ?? (try tier("max_rate").rpm * period / 60)
            guard period > 0, maxRate >= 1 else {
                throw ExportError("leaky-bucket: max_rate \(maxRate) per \(period) s cannot admit a request "
                                  + "(aiolimiter raises ValueError for an acquire above max_rate)")
            }
            // aiolimiter's level starts at 0: a full bucket of max_rate in token-bucket terms.
            return .buckets([BucketPlan(dimension: .requests, rate: maxRate / period, capacity: maxRate, startsFull: true,
                                        origin: "leaky-bucket, max_rate \(ParamValue.number(maxRate)) per "
                                            + Units.formatDuration(period))], queue: try queue())
        case "gcra":
            let period = try read { () throws(StrategyError) in try p.double("period") }
            let count = try read { () throws(StrategyError) in try p.optionalDouble("count") } ?? (try tier("count").rpm * period / 60)
            let maxBurst = try read { () throws(StrategyError) in try p.int("max_burst") }
            guard period > 0, count > 0 else { throw ExportError("gcra: count and period must be above 0") }
            // GCRA with quantity 1 is a bucket of max_burst + 1 refilled every T = period/count
            // (the virtual-scheduling and continuous-state forms of ITU-T I.371 agree).
            return .buckets([BucketPlan(dimension: .requests, rate: count / period, capacity: Double(maxBurst + 1),
                                        startsFull: true,
                                        origin: "gcra, count \(ParamValue.number(count)) per \(Units.formatDuration(period)), "
                                            + "max_burst \(maxBurst)")], queue: try queue())
        case "bottleneck":
            return .bottleneck(try read { () throws(StrategyError) in try BottleneckStrategy.settings(p) })
        default:
            let why = unmappable[name] ?? "limitlab has no export for it"
            throw ExportError("strategy \(name) cannot be exported: \(why)")
        }
    }
}

// MARK: - Retry

/// The retry policies in library-neutral terms.
enum RetryExports {
    static func plan(_ r: RoleSpec, owner: String) throws -> (RetryPlan, Params) {
        let p = try StrategyExport.params(r, .retry, owner: owner)
        return (try plan(r.name, p, owner: owner), p)
    }

    /// The retry a baseline strategy brings when no `retry:` is given.
    static func baselineRetry(_ name: String, _ p: Params) throws -> RetryPlan {
        switch name {
        case "none": return .none
        case "immediate-retry": return .immediate(maxAttempts: try read { () throws(StrategyError) in try p.int("max_attempts") })
        case "sdk-default": return try sdk(p)
        default: throw ExportError("baseline \(name) has no export")
        }
    }

    static func sdk(_ p: Params) throws -> RetryPlan {
        try read { () throws(StrategyError) in
            .sdk(variant: try p.string("variant"), maxRetries: try p.int("max_retries"),
                 initialDelay: try p.double("initial_delay"), maxDelay: try p.double("max_delay"))
        }
    }

    static func plan(_ name: String, _ p: Params, owner: String) throws -> RetryPlan {
        try read { () throws in
            switch name {
            case "none": return .none
            case "immediate": return .immediate(maxAttempts: try p.int("max_attempts"))
            case "sdk-default":
                return .sdk(variant: try p.string("variant"), maxRetries: try p.int("max_retries"),
                            initialDelay: try p.double("initial_delay"), maxDelay: try p.double("max_delay"))
            case "exponential":
                return .exponential(base: try p.double("base"), multiplier: try p.double("multiplier"),
                                    min: try p.double("min"), cap: try p.optionalDouble("cap"),
                                    maxAttempts: try p.int("max_attempts"))
            case "full-jitter":
                return .fullJitter(base: try p.double("base"), cap: try p.double("cap"), maxAttempts: try p.int("max_attempts"))
            case "equal-jitter":
                return .equalJitter(base: try p.double("base"), cap: try p.double("cap"), maxAttempts: try p.int("max_attempts"))
            case "decorrelated-jitter":
                return .decorrelatedJitter(base: try p.double("base"), cap: try p.double("cap"),
                                           multiplier: try p.double("multiplier"), maxAttempts: try p.int("max_attempts"))
            case "tenacity":
                return .tenacityJitter(base: try p.double("base"), multiplier: try p.double("multiplier"),
                                       jitter: try p.double("jitter"), min: try p.double("min"),
                                       cap: try p.optionalDouble("cap"), maxAttempts: try p.int("max_attempts"))
            case "retry-after":
                // As the policy does: the inner backoff gets only the base, cap and max_attempts given.
                var innerParams: [String: ParamValue] = [:]
                for key in ["base", "cap", "max_attempts"] { if let v = p.values[key] { innerParams[key] = v } }
                let innerName = try p.string("backoff")
                let inner = try plan(RoleSpec(name: innerName, params: innerParams), owner: owner).0
                return .retryAfter(inner: inner, mode: try p.string("mode"), jitter: try p.double("jitter"),
                                   maxHonored: try p.optionalDouble("max_honored"),
                                   giveUpAbove: try p.bool("give_up_above"))
            default:
                throw StrategyError(message: "retry \(name) of \(owner) cannot be exported: its curve (p-retry's or "
                                    + "resilience4j's arithmetic) is not written for these libraries; use that library, "
                                    + "or a retry: limitlab exports (exponential, full-jitter, equal-jitter, "
                                    + "decorrelated-jitter, tenacity, retry-after, sdk-default, immediate)")
            }
        }
    }
}

// MARK: - Concurrency

enum ConcurrencyExports {
    /// A fixed limit carries over; an adaptive one is a gap (the export then has none).
    static func limit(_ name: String, _ p: Params, gaps: inout [ExportGap]) throws -> Int? {
        switch name {
        case "fixed":
            return try read { () throws(StrategyError) in try p.int("limit") }
        default:
            gaps.append(ExportGap("concurrency \(name)", "an adaptive concurrency limit (AIMD on 429s and latency) "
                                  + "has no counterpart in these libraries; the export has no concurrency limit"))
            return nil
        }
    }
}
