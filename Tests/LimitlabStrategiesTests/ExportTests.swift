import LimitlabCore
import LimitlabStrategies
import Testing

// `limitlab export`: each role's parameters reach the library's settings exactly, and what a
// library cannot carry is listed (or the strategy refused when its defining role cannot go).

private let exportLimits = LimitConfig(rpm: 600, itpm: 1_000_000, otpm: 100_000, burst: 1.0 / 60)

private func plan(_ spec: StrategySpec, limits: LimitConfig? = exportLimits) throws -> ExportPlan {
    try StrategyExport.plan(spec, limits: limits)
}

private func render(_ spec: StrategySpec, _ format: ExportFormat, limits: LimitConfig? = exportLimits) throws -> ExportedFile {
    try ExportRenderer.render(try plan(spec, limits: limits), as: format, schedule: nil)
}

private func exportError(_ body: () throws -> Void) -> String? {
    do { try body() } catch let e as ExportError { return e.message } catch { return "\(error)" }
    return nil
}

@Suite struct ExportPlanTests {
    /// The tenacity-cookbook preset is full jitter with base 0.5 s: tenacity's multiplier is 2·base,
    /// since limitlab's first ceiling is base·2¹ and tenacity's multiplier·2⁰.
    @Test func tenacityCookbookCarriesExactly() throws {
        let p = try plan(StrategySpec(name: "tenacity-cookbook"), limits: nil)
        #expect(p.preset == "tenacity-cookbook")
        #expect(p.retry == .fullJitter(base: 0.5, cap: 60, maxAttempts: 6))
        let file = try ExportRenderer.render(p, as: .tenacity, schedule: nil)
        #expect(file.text.contains("wait_random_exponential(multiplier=1.0, max=60.0)"))
        #expect(file.text.contains("stop_after_attempt(6)"))
        #expect(file.text.contains("max_retries=0"))
        #expect(file.text.contains("tenacity==\(ExportLibraries.tenacity)"))
        #expect(file.gaps.isEmpty)
    }

    @Test func fullJitterMultiplierIsTwiceTheBase() throws {
        let spec = StrategySpec(name: "none", retry: RoleSpec(name: "full-jitter", params: [
            "base": .number(0.3), "cap": .number(7), "max_attempts": .number(4)]))
        let text = try render(spec, .tenacity).text
        #expect(text.contains("wait_random_exponential(multiplier=0.6, max=7.0)"))
        #expect(text.contains("stop_after_attempt(4)"))
    }

    @Test func tenacityJitterUsesMultiplierNotTheDeprecatedInitial() throws {
        let spec = StrategySpec(name: "none", retry: RoleSpec(name: "tenacity", params: [
            "base": .number(2), "jitter": .number(0.5), "cap": .number(30), "max_attempts": .number(3)]))
        let text = try render(spec, .tenacity).text
        #expect(text.contains("wait_exponential_jitter(multiplier=2.0, exp_base=2.0, jitter=0.5, min=0.0, max=30.0)"))
        #expect(!text.contains("initial="))
    }

    /// A token bucket of rpm 720 and 1 s holds 12 and refills 12 a second: AsyncLimiter(12, 1).
    @Test func tokenBucketToAsyncLimiter() throws {
        let spec = StrategySpec(name: "token-bucket", params: ["rpm": .number(720), "itpm": .number(0), "otpm": .number(0)],
                                retry: RoleSpec(name: "sdk-default"),
                                concurrency: RoleSpec(name: "fixed", params: ["limit": .number(8)]))
        let file = try render(spec, .aiolimiter)
        #expect(file.text.contains("REQUESTS = AsyncLimiter(max_rate=12.0, time_period=1.0)"))
        #expect(file.text.contains("asyncio.Semaphore(8)"))
        #expect(file.text.contains("max_retries=0"))
        // The SDK's retry as a loop through the limiter: its curve and attempt count carried.
        #expect(file.text.contains("min(0.5 * _grow(2.0, attempt - 1), 8.0) * (1 - 0.25 * random.random())"))
        #expect(file.text.contains("attempt >= 3"))
        #expect(file.gaps.isEmpty)
    }

    /// Output tokens are charged after the response: no library bucket does that.
    @Test func tokenBucketOutputBucketIsAGap() throws {
        let file = try render(StrategySpec(name: "token-bucket"), .aiolimiter)
        #expect(file.gaps.map(\.parameter).contains("token-bucket.otpm"))
        #expect(file.gaps.map(\.parameter).contains("token-bucket.oversize"))
        // The input bucket: ITPM/60 a second, one second's worth.
        #expect(file.text.contains("INPUT_TOKENS = AsyncLimiter(max_rate=16666.666666666668, time_period=1.0)"))
        for gap in file.gaps { #expect(file.text.contains(gap.parameter)) }
    }

    /// GCRA with quantity 1 is a bucket of max_burst + 1 refilled every T.
    @Test func gcraToAsyncLimiterAndBottleneck() throws {
        let spec = StrategySpec(name: "gcra", params: ["count": .number(600), "period": .number(60), "max_burst": .number(4)])
        #expect(try render(spec, .aiolimiter).text.contains("AsyncLimiter(max_rate=5.0, time_period=0.5)"))
        let paced = StrategySpec(name: "gcra", params: ["count": .number(600), "period": .number(60)])
        let js = try render(paced, .bottleneck)
        #expect(js.text.contains("minTime: 100,"))
        #expect(js.gaps.isEmpty)
    }

    @Test func bottleneckReservoirPresetCarriesItsOptions() throws {
        let file = try render(StrategySpec(name: "bottleneck-reservoir"), .bottleneck,
                              limits: LimitConfig(rpm: 50, itpm: 30_000, otpm: 8_000))
        #expect(file.text.contains("reservoir: 50,"))
        #expect(file.text.contains("reservoirRefreshAmount: 50,"))
        #expect(file.text.contains("reservoirRefreshInterval: 60000,"))
        #expect(file.text.contains("bottleneck@\(ExportLibraries.bottleneck)"))
        // retry_inside (the default): retries from the failed event, outside minTime and the reservoir.
        #expect(file.text.contains("limiter.on(\"failed\""))
        #expect(file.gaps.isEmpty)
    }

    /// A bucket larger than one becomes the reservoir-increase recipe on whole heartbeats.
    @Test func tokenBucketToBottleneckReservoirIncrease() throws {
        let spec = StrategySpec(name: "token-bucket", params: ["rpm": .number(720), "itpm": .number(0), "otpm": .number(0)])
        let file = try render(spec, .bottleneck)
        #expect(file.text.contains("reservoir: 12,"))
        #expect(file.text.contains("reservoirIncreaseAmount: 3,"))
        #expect(file.text.contains("reservoirIncreaseInterval: 250,"))
        #expect(file.text.contains("reservoirIncreaseMaximum: 12,"))
        #expect(file.gaps.contains { $0.reason.contains("heartbeat") })
    }

    @Test func sdkSettingsForThePythonSDK() throws {
        let file = try render(StrategySpec(name: "sdk-default", params: ["max_retries": .number(5)]), .anthropicPython)
        #expect(file.text.contains("CLIENT_SETTINGS = {\"max_retries\": 5, \"timeout\": 600.0}"))
        #expect(file.gaps.isEmpty)
        let slower = try render(StrategySpec(name: "sdk-default", params: ["initial_delay": .number(1)]), .anthropicPython)
        #expect(slower.gaps.map(\.parameter) == ["sdk-default.initial_delay/max_delay"])
        #expect(slower.text.contains("sdk-default.initial_delay/max_delay"))
        #expect(try render(StrategySpec(name: "none"), .anthropicPython).text.contains("\"max_retries\": 0"))
    }

    @Test func budgetsAndShedders() throws {
        let spec = StrategySpec(name: "sdk-default", budget: RoleSpec(name: "grpc"), shed: RoleSpec(name: "sre"))
        let gaps = try render(spec, .tenacity).gaps.map(\.parameter)
        #expect(gaps == ["budget grpc", "shed sre"])
    }

    @Test func retryAfterHonouredUpToItsLimit() throws {
        let spec = StrategySpec(name: "none", retry: RoleSpec(name: "retry-after", params: [
            "max_honored": .number(30), "mode": .string("exact+jitter"), "jitter": .number(0.5)]))
        let text = try render(spec, .tenacity).text
        // No tenacity built-in reads retry-after: the wait is the exported backoff() as a callable.
        #expect(text.contains("\"wait\": lambda state: backoff(state.attempt_number, state.outcome.exception())"))
        #expect(text.contains("if hint is not None and 0 < hint <= 30.0:  # retry-after mode exact+jitter"))
        #expect(text.contains("return hint + 0.5 * random.random()"))
    }

    @Test func unmappableStrategiesAreRefusedNamingTheFix() {
        let limiterAsTenacity = exportError { _ = try render(StrategySpec(name: "token-bucket"), .tenacity) }
        #expect(limiterAsTenacity?.contains("--as aiolimiter") == true)
        let curveAsSDK = exportError { _ = try render(StrategySpec(name: "tenacity-cookbook"), .anthropicPython) }
        #expect(curveAsSDK?.contains("--as tenacity") == true)
        let headers = exportError { _ = try render(StrategySpec(name: "header-paced"), .aiolimiter) }
        #expect(headers?.contains("anthropic-ratelimit-*") == true)
        let pRetry = exportError {
            _ = try render(StrategySpec(name: "none", retry: RoleSpec(name: "multiplicative-random")), .tenacity)
        }
        #expect(pRetry?.contains("cannot be exported") == true)
        let noLimiter = exportError { _ = try render(StrategySpec(name: "sdk-default"), .aiolimiter) }
        #expect(noLimiter?.contains("--as tenacity") == true)
    }

    /// Without a scenario, a limiter sized from the tier has nothing to be sized from.
    @Test func tierSizedStrategiesNeedAScenario() {
        let bucket = exportError { _ = try render(StrategySpec(name: "token-bucket"), .aiolimiter, limits: nil) }
        #expect(bucket?.contains("give a SCENARIO") == true)
        let preset = exportError { _ = try render(StrategySpec(name: "bottleneck-typical"), .bottleneck, limits: nil) }
        #expect(preset?.contains("give a SCENARIO") == true)
        #expect(exportError { _ = try render(StrategySpec(name: "tenacity-cookbook"), .tenacity, limits: nil) } == nil)
    }

    /// The header names every role with every parameter as the simulator runs it.
    @Test func headerNamesStrategyParametersAndVersion() throws {
        let spec = StrategySpec(name: "none", label: "mine", retry: RoleSpec(name: "full-jitter", params: ["cap": .number(4)]))
        let text = try render(spec, .tenacity).text
        #expect(text.contains("limitlab strategy mine as tenacity, for tenacity \(ExportLibraries.tenacity)"))
        #expect(text.contains("retry: full-jitter (base 500ms, cap 4s, max_attempts 3)"))
    }

    @Test func scheduleIsReplayed() throws {
        let schedule = ExportSchedule(scenario: "s", seed: 7, model: "claude-haiku-4-5", arrivals: [
            .init(at: 0, inputTokens: 20, maxTokens: 16), .init(at: 0.125, inputTokens: 30, maxTokens: 16)])
        let file = try ExportRenderer.render(try plan(StrategySpec(name: "sdk-default")), as: .anthropicPython,
                                             schedule: schedule)
        #expect(file.text.contains("(0.125, 30, 16),"))
        #expect(file.text.contains("MODEL = \"claude-haiku-4-5\""))
        #expect(file.text.contains("2 arrivals of scenario s (seed 7)"))
        #expect(file.gaps.isEmpty)
        var streaming = schedule
        streaming.stream = true
        let streamed = try ExportRenderer.render(try plan(StrategySpec(name: "sdk-default")), as: .anthropicPython,
                                                 schedule: streaming)
        #expect(streamed.gaps.map(\.parameter) == ["workload.stream"])
    }
}
