import Foundation
import LimitlabCore
import LimitlabStrategies
import Testing

/// The registry as a whole: every definition's descriptor is consistent, builds with its own
/// defaults, and builds the implementation its name promises.
@Suite struct RegistryTests {
    let topLevel: Set<StrategyRole> = [.baseline, .admission, .preset]

    @Test func namesAreUniqueWhereTheyAreLookedUp() {
        let top = StrategyRegistry.descriptors.filter { topLevel.contains($0.role) }.map(\.name)
        #expect(Set(top).count == top.count, "a strategy's name: must pick one entry: \(top)")
        for role in StrategyRole.allCases where !topLevel.contains(role) {
            let names = StrategyRegistry.names(role: role)
            #expect(Set(names).count == names.count, "\(role): \(names)")
        }
        for role in StrategyRole.allCases {
            #expect(!StrategyRegistry.names(role: role).isEmpty, "no \(role) entry")
        }
    }

    /// A default the listing shows must be one a scenario could write, or the documented default
    /// and the one the implementation reads could differ.
    @Test func everyDefaultFitsItsParameterKind() {
        for d in StrategyRegistry.descriptors {
            for p in d.parameters {
                let v = p.defaultValue
                let what = "\(d.role) \(d.name).\(p.name) default \(v)"
                switch p.kind {
                case .integer(let lo, let hi):
                    if v == "none" || v == "inf" { continue }
                    let n = Int(v)
                    #expect(n != nil && n! >= lo && n! <= hi, "\(what)")
                case .number(let lo, let hi):
                    if v == "none" { continue }
                    let x = Double(v)
                    #expect(x != nil && x! >= lo && x! <= hi, "\(what)")
                case .duration:
                    #expect(v == "none" || Units.parseDuration(v) != nil, "\(what)")
                case .choice(let options):
                    #expect(options.contains(v), "\(what)")
                case .bool:
                    #expect(v == "true" || v == "false", "\(what)")
                case .text:
                    // "none", or a name of the text kind's characters (batch-offload's `urgent`).
                    #expect(v == "none" || (!v.isEmpty && v.allSatisfy { $0.isLetter || $0.isNumber || "._-:".contains($0) }),
                            "\(what)")
                }
            }
        }
    }

    @Test func everyEntryBuildsWithItsDefaults() throws {
        for name in StrategyRegistry.names {
            #expect(throws: Never.self, "\(name)") { _ = try StrategyFactory.make(StrategySpec(name: name), seed: 1) }
        }
        for name in StrategyRegistry.names(role: .retry) {
            #expect(throws: Never.self, "retry \(name)") {
                _ = try StrategyFactory.make(StrategySpec(name: "none", retry: RoleSpec(name: name)), seed: 1)
            }
        }
        for name in StrategyRegistry.names(role: .budget) {
            #expect(throws: Never.self, "budget \(name)") {
                _ = try StrategyFactory.make(StrategySpec(name: "none", budget: RoleSpec(name: name)), seed: 1)
            }
        }
        for name in StrategyRegistry.names(role: .concurrency) {
            #expect(throws: Never.self, "concurrency \(name)") {
                _ = try StrategyFactory.make(StrategySpec(name: "none", concurrency: RoleSpec(name: name)), seed: 1)
            }
        }
        for name in StrategyRegistry.names(role: .shed) {
            #expect(throws: Never.self, "shed \(name)") {
                _ = try StrategyFactory.make(StrategySpec(name: "none", shed: RoleSpec(name: name)), seed: 1)
            }
        }
    }

    /// Each name builds its own implementation (the factory sits with the descriptor, so a
    /// definition wired to the wrong type would show here).
    @Test func eachNameBuildsItsImplementation() throws {
        func admission(_ name: String) throws -> (any AdmissionPolicy)? {
            try #require(try StrategyFactory.make(StrategySpec(name: name), seed: 1) as? PipelineStrategy).admission
        }
        #expect(try admission("token-bucket") is TokenBucketLimiter)
        #expect(try admission("gcra") is GCRALimiter)
        #expect(try admission("leaky-bucket") is LeakyBucketLimiter)
        #expect(try admission("window") is WindowLimiter)
        #expect(try admission("header-paced") is HeaderPacedLimiter)
        #expect(try admission("aimd-rate") is AIMDRateLimiter)
        #expect(try admission("shared-token-bucket") is SharedLimiter)
        #expect(try admission("shared-gcra") is SharedLimiter)
        #expect(try StrategyFactory.make(StrategySpec(name: "bottleneck"), seed: 1) is BottleneckStrategy)
        #expect(try StrategyFactory.make(StrategySpec(name: "none"), seed: 1) is NoRetryStrategy)
        #expect(try StrategyFactory.make(StrategySpec(name: "sdk-default"), seed: 1) is SDKDefaultStrategy)

        func retry(_ name: String) throws -> any RetryPolicy {
            let s = try StrategyFactory.make(StrategySpec(name: "none", retry: RoleSpec(name: name)), seed: 1)
            return try #require(s as? PipelineStrategy).retry
        }
        #expect(try retry("none") is NoRetryPolicy)
        #expect(try retry("immediate") is ImmediateRetryPolicy)
        #expect(try retry("sdk-default") is SDKRetryPolicy)
        #expect(try retry("exponential") is ExponentialBackoffPolicy)
        #expect(try retry("full-jitter") is FullJitterPolicy)
        #expect(try retry("equal-jitter") is EqualJitterPolicy)
        #expect(try retry("decorrelated-jitter") is DecorrelatedJitterPolicy)
        #expect(try retry("tenacity") is TenacityJitterPolicy)
        #expect(try retry("multiplicative-random") is MultiplicativeRandomPolicy)
        #expect(try retry("retry-after") is RetryAfterPolicy)
        let immediate = try #require(try StrategyFactory.make(StrategySpec(name: "immediate-retry"), seed: 1) as? PipelineStrategy)
        #expect(immediate.retry is ImmediateRetryPolicy && immediate.admission == nil)
    }

    /// retry-after wraps exactly the backoff curves: every choice of its `backoff` builds, and
    /// the choices are the retry entries other than the baselines' and itself.
    @Test func retryAfterBacksOffThroughEveryCurve() throws {
        let d = try #require(StrategyRegistry.descriptor(named: "retry-after", role: .retry))
        guard case .choice(let backoffs)? = d.parameter("backoff")?.kind else {
            Issue.record("retry-after's backoff is not a choice")
            return
        }
        #expect(Set(backoffs) == Set(StrategyRegistry.names(role: .retry))
            .subtracting(["none", "immediate", "sdk-default", "retry-after"]))
        for name in backoffs {
            let spec = StrategySpec(name: "none", retry: RoleSpec(name: "retry-after", params: ["backoff": .string(name)]))
            let built = try #require(try StrategyFactory.make(spec, seed: 1) as? PipelineStrategy)
            #expect(try #require(built.retry as? RetryAfterPolicy).inner is any BackoffCurvePolicy, "\(name)")
        }
        let bad = StrategySpec(name: "none", retry: RoleSpec(name: "retry-after", params: ["backoff": .string("immediate")]))
        #expect(throws: StrategyError.self) { _ = try StrategyFactory.make(bad, seed: 1) }
    }

    /// Specs built in code skip the scenario reader; a misspelt key must not fall back to a
    /// default silently, in any role.
    @Test func roleEntriesRejectUnknownKeys() {
        let specs = [
            StrategySpec(name: "none", label: "x", retry: RoleSpec(name: "immediate", params: ["max_attempt": .number(2)])),
            StrategySpec(name: "none", label: "x", budget: RoleSpec(name: "grpc", params: ["max_token": .number(2)])),
            StrategySpec(name: "none", label: "x", concurrency: RoleSpec(name: "aimd", params: ["limit": .number(2)])),
            StrategySpec(name: "none", label: "x", shed: RoleSpec(name: "sre", params: ["K": .number(2)])),
            StrategySpec(name: "none", label: "x", retry: RoleSpec(name: "none", params: ["max_attempts": .number(2)])),
        ]
        for spec in specs {
            do {
                _ = try StrategyFactory.make(spec, seed: 1)
                Issue.record("\(spec) built")
            } catch {
                let message = "\(error)"
                #expect(message.contains("unknown parameter") && message.contains(" of x"), "\(message)")
            }
        }
    }

    /// The same for a strategy's own params: limiters, schedulers, baselines (their fast path)
    /// and presets (whose params refine the limiter they expand to).
    @Test func topLevelParamsRejectUnknownKeys() {
        let specs = [
            StrategySpec(name: "token-bucket", label: "x", params: ["rmp": .number(50)]),
            StrategySpec(name: "bottleneck", label: "x", params: ["max_concurent": .number(2)]),
            StrategySpec(name: "sdk-default", label: "x", params: ["max_retry": .number(2)]),
            StrategySpec(name: "none", label: "x", params: ["anything": .number(2)]),
        ] + StrategyRegistry.names(role: .preset).map { StrategySpec(name: $0, label: "x", params: ["no_such_knob": .number(1)]) }
        for spec in specs {
            do {
                _ = try StrategyFactory.make(spec, seed: 1)
                Issue.record("\(spec.name) built with an unknown parameter")
            } catch {
                let message = "\(error)"
                #expect(message.contains("unknown parameter") && message.contains("strategy x"), "\(message)")
            }
        }
        // Known names still build.
        #expect(throws: Never.self) {
            _ = try StrategyFactory.make(StrategySpec(name: "token-bucket", params: ["rpm": .number(50)]), seed: 1)
        }
    }

    /// An unset parameter (default "none") read with the non-optional accessor is an error, not
    /// a silent number: durations used to read as infinity.
    @Test func unsetParametersNeedTheOptionalAccessor() throws {
        var unset: [(StrategyDescriptor, StrategyParameter)] = []
        for d in StrategyRegistry.descriptors {
            for p in d.parameters where p.defaultValue == "none" {
                switch p.kind {
                case .duration, .number, .integer: unset.append((d, p))
                default: continue
                }
            }
        }
        #expect(unset.contains { $0.1.kind == .duration }, "no unset duration parameter to check")
        for (d, p) in unset {
            let params = Params(owner: "x", values: [:], descriptor: d)
            #expect(throws: StrategyError.self, "\(d.name).\(p.name)") { _ = try params.double(p.name) }
            #expect(try params.optionalDouble(p.name) == nil, "\(d.name).\(p.name)")
            let given = Params(owner: "x", values: [p.name: .number(2)], descriptor: d)
            #expect(try given.double(p.name) == 2, "\(d.name).\(p.name)")
        }
    }

    /// The listing is what users read: sources are named with a public URL, never an internal
    /// catalogue code such as "S11", "P2" or "harness default H".
    @Test func textsCitePublicSourcesNotInternalCodes() throws {
        let code = try NSRegularExpression(pattern: #"\b[SP][0-9]{1,2}\b|harness (default )?H\b"#)
        for d in StrategyRegistry.descriptors {
            let texts = [d.summary, d.mirrors] + d.parameters.map(\.summary)
            for t in texts {
                let hit = code.firstMatch(in: t, range: NSRange(t.startIndex..., in: t))
                #expect(hit == nil, "\(d.role) \(d.name): \(t)")
            }
            if d.role != .preset && d.name != "none" {
                #expect(d.mirrors.contains("https://"), "\(d.role) \(d.name) mirrors names no URL: \(d.mirrors)")
            }
        }
    }
}
