import LimitlabCore
import LimitlabStats
import LimitlabStrategies
import Testing

func outcome(_ status: Int, retryAfter: Double? = nil, shouldRetry: Bool? = nil, error: ErrorKind? = nil,
             at t: Double = 0) -> AttemptOutcome {
    let kind = error ?? (status == 429 ? .rateLimited : status == 529 ? .overloaded : status >= 500 ? .serverError
        : status >= 400 ? .clientError : .none)
    return AttemptOutcome(status: status, error: kind, retryAfter: retryAfter, shouldRetry: shouldRetry,
                          sentAt: t, completedAt: t)
}

let request = PendingRequest(id: 0, intendedAt: 0, cost: RequestCost(inputTokens: 10, maxTokens: 10))

@Suite struct SDKDefaultTests {
    func sdk(_ v: SDKDefaultStrategy.Variant = .python, seed: UInt64 = 1, maxRetries: Int = 2) -> SDKDefaultStrategy {
        SDKDefaultStrategy(variant: v, maxRetries: maxRetries, random: RandomSource(seed: seed))
    }

    /// anthropic-sdk-python: retry 1 sleeps in (0.375, 0.5], retry 2 in (0.75, 1.0], capped at 8 s.
    @Test func pythonBackoffRanges() {
        let s = sdk()
        var first: [Double] = [], second: [Double] = []
        for _ in 0..<5000 {
            first.append(s.backoff(retriesTaken: 0))
            second.append(s.backoff(retriesTaken: 1))
        }
        #expect(first.allSatisfy { $0 > 0.375 && $0 <= 0.5 })
        #expect(second.allSatisfy { $0 > 0.75 && $0 <= 1.0 })
        #expect(first.min()! < 0.39 && first.max()! > 0.49, "the jitter spans its whole range")
        for n in 4..<10 {
            let v = s.backoff(retriesTaken: n)
            #expect(v > 6 && v <= 8, "retry \(n + 1) is capped at 8 s × (0.75, 1]")
        }
    }

    @Test func retryAfterPerVariant() {
        // anthropic 2.17.0 (`_calculate_retry_timeout`): any positive hint, capped at 2^32 ms.
        #expect(sdk(.python).delay(after: outcome(429, retryAfter: 30), retriesTaken: 0) == .wait(30))
        #expect(sdk(.python).delay(after: outcome(429, retryAfter: 505), retriesTaken: 0) == .wait(505))
        #expect(sdk(.python).delay(after: outcome(429, retryAfter: 1e9), retriesTaken: 0) == .wait(4_294_967))
        if case .wait(let w) = sdk(.python).delay(after: outcome(429, retryAfter: 0), retriesTaken: 1) {
            #expect(w > 0.75 && w <= 1.0, "python ignores retry-after: 0")
        } else { Issue.record("python must retry") }
        // anthropic 0.121.0: hints above 60 s fall back to the backoff.
        #expect(sdk(.python0121).delay(after: outcome(429, retryAfter: 30), retriesTaken: 0) == .wait(30))
        if case .wait(let w) = sdk(.python0121).delay(after: outcome(429, retryAfter: 505), retriesTaken: 0) {
            #expect(w > 0.375 && w <= 0.5, "python 0.121.0 ignores retry-after above 60 s and backs off")
        } else { Issue.record("python 0.121.0 must retry") }
        #expect(sdk(.typescript).delay(after: outcome(429, retryAfter: 505), retriesTaken: 0) == .wait(505))
        #expect(sdk(.openaiPython).delay(after: outcome(429, retryAfter: 100), retriesTaken: 0) == .wait(100))
        #expect(sdk(.openaiPython).delay(after: outcome(429, retryAfter: 121), retriesTaken: 0) == .giveUp(.retryAfterTooLong))
    }

    @Test func whatIsRetried() {
        #expect(SDKDefaultStrategy.isRetryable(outcome(429)))
        #expect(SDKDefaultStrategy.isRetryable(outcome(529)))
        #expect(SDKDefaultStrategy.isRetryable(outcome(500)))
        #expect(SDKDefaultStrategy.isRetryable(outcome(408)))
        #expect(SDKDefaultStrategy.isRetryable(outcome(409)))
        #expect(SDKDefaultStrategy.isRetryable(outcome(0, error: .connection)))
        #expect(!SDKDefaultStrategy.isRetryable(outcome(400)))
        #expect(!SDKDefaultStrategy.isRetryable(outcome(404)))
        #expect(!SDKDefaultStrategy.isRetryable(outcome(429, shouldRetry: false)), "x-should-retry: false wins")
        #expect(SDKDefaultStrategy.isRetryable(outcome(400, shouldRetry: true)), "x-should-retry: true wins")
    }

    /// Drives the state machine: three attempts, then give up; the retries wait as told.
    @Test func retriesTwiceThenGivesUp() {
        var s = sdk()
        var commands: [StrategyCommand] = []
        s.arrived(request, now: 0)
        s.poll(now: 0, into: &commands)
        #expect(commands == [.send(request: 0, readyAt: 0)])
        commands.removeAll()

        s.finished(request, attempt: 1, outcome: outcome(429, retryAfter: 7, at: 0), now: 0.05)
        s.poll(now: 0.05, into: &commands)
        #expect(commands.isEmpty, "nothing is due before retry-after has passed")
        #expect(s.nextWakeup == 7.05)
        s.poll(now: 7.05, into: &commands)
        #expect(commands == [.send(request: 0, readyAt: 7.05)])
        commands.removeAll()

        s.finished(request, attempt: 2, outcome: outcome(529), now: 8)
        let wake = try! #require(s.nextWakeup)
        #expect(wake > 8.75 && wake <= 9.0, "529 without retry-after: second backoff (0.75, 1.0]")
        s.poll(now: wake, into: &commands)
        #expect(commands == [.send(request: 0, readyAt: wake)])
        commands.removeAll()

        s.finished(request, attempt: 3, outcome: outcome(429, retryAfter: 1), now: 10)
        s.poll(now: 10, into: &commands)
        #expect(commands == [.giveUp(request: 0, reason: .attemptsExhausted)])
        #expect(s.nextWakeup == nil)
    }

    @Test func nonRetryableFailsAtOnce() {
        var s = sdk()
        var commands: [StrategyCommand] = []
        s.finished(request, attempt: 1, outcome: outcome(400), now: 1)
        s.poll(now: 1, into: &commands)
        #expect(commands == [.giveUp(request: 0, reason: .notRetryable)])
    }

    @Test func successNeedsNothingMore() {
        var s = sdk()
        var commands: [StrategyCommand] = []
        s.finished(request, attempt: 1, outcome: outcome(200), now: 1)
        s.poll(now: 1, into: &commands)
        #expect(commands.isEmpty && s.nextWakeup == nil)
    }
}

@Suite struct NoRetryTests {
    @Test func sendsOnArrivalAndNeverRetries() {
        var s = NoRetryStrategy()
        var commands: [StrategyCommand] = []
        s.arrived(request, now: 3)
        s.poll(now: 3, into: &commands)
        #expect(commands == [.send(request: 0, readyAt: 3)])
        commands.removeAll()
        s.finished(request, attempt: 1, outcome: outcome(429, retryAfter: 1), now: 4)
        s.poll(now: 4, into: &commands)
        #expect(commands == [.giveUp(request: 0, reason: .noRetry)])
    }
}

@Suite struct FactoryTests {
    @Test func buildsFromSpecsAndRejectsBadOnes() throws {
        _ = try StrategyFactory.make(StrategySpec(name: "none"), seed: 1)
        let s = try StrategyFactory.make(StrategySpec(name: "sdk-default", params: ["variant": .string("typescript"),
                                                                                     "max_retries": .number(5)]), seed: 1)
        let sdk = try #require(s as? SDKDefaultStrategy)
        #expect(sdk.variant == .typescript && sdk.maxRetries == 5 && sdk.initialDelay == 0.5 && sdk.maxDelay == 8)
        #expect(throws: StrategyError.self) { try StrategyFactory.make(StrategySpec(name: "nope"), seed: 1) }
        #expect(throws: StrategyError.self) {
            try StrategyFactory.make(StrategySpec(name: "sdk-default", params: ["variant": .string("go")]), seed: 1)
        }
    }
}
