import LimitlabCore
import LimitlabStats
import LimitlabStrategies
import Testing

private func attempt(_ status: Int, shouldRetry: Bool? = nil) -> AttemptOutcome {
    let kind: ErrorKind = status == 200 ? .none : status == 429 ? .rateLimited : status == 529 ? .overloaded
        : status >= 500 ? .serverError : .clientError
    return AttemptOutcome(status: status, error: kind, shouldRetry: shouldRetry, sentAt: 0, completedAt: 0)
}

private func builtBudget<T>(_ name: String, _ params: [String: ParamValue] = [:], as type: T.Type) throws -> T {
    let s = try StrategyFactory.make(StrategySpec(name: "none", budget: RoleSpec(name: name, params: params)), seed: 1)
    let pipeline = try #require(s as? PipelineStrategy)
    return try #require(pipeline.budget as? T)
}

@Suite struct GRPCRetryThrottleTests {
    /// A6 example config (maxTokens 10, tokenRatio 0.1): the 5th failure brings token_count to 5,
    /// which is not above maxTokens/2, so retries stop; one success (5.1) lets them go again.
    @Test func fiveFailuresStopRetriesAndASuccessRestoresThem() throws {
        var b = try builtBudget("grpc", as: GRPCRetryThrottle.self)
        #expect(b.maxTokens == 10 && b.tokenRatio == 0.1 && b.tokens == 10)
        for n in 1...4 {
            b.attemptFinished(attempt(429), now: Double(n))
            let allowed = b.allowRetry(now: Double(n))
            #expect(allowed, "after \(n) failures: \(b.tokens) > 5")
        }
        b.attemptFinished(attempt(529), now: 5)
        let afterFive = b.allowRetry(now: 5)
        #expect(b.tokens == 5 && !afterFive)
        b.attemptFinished(attempt(200), now: 6)
        let afterSuccess = b.allowRetry(now: 6)
        #expect(b.tokens == 5.1 && afterSuccess)
        let again = b.allowRetry(now: 6)
        #expect(again && b.tokens == 5.1, "asking does not charge (A6 has no per-retry cost)")
    }

    /// Successes add exactly 0.1 each (thousandths, as grpc-java), bounded at max_tokens and 0.
    @Test func tokensStayInBoundsAndAddUpExactly() {
        var b = GRPCRetryThrottle(maxTokens: 10, tokenRatio: 0.1)
        for _ in 0..<5 { b.attemptFinished(attempt(200), now: 0) }
        #expect(b.tokens == 10, "never above max_tokens")
        for _ in 0..<30 { b.attemptFinished(attempt(503), now: 0) }
        #expect(b.tokens == 0, "never below 0")
        for _ in 0..<50 { b.attemptFinished(attempt(200), now: 0) }
        let atFive = b.allowRetry(now: 0)
        #expect(b.tokens == 5 && !atFive, "50 successes: exactly 5.0, not above the threshold")
        b.attemptFinished(attempt(200), now: 0)
        let above = b.allowRetry(now: 0)
        #expect(above)
    }

    /// Only retryable failures and "don't retry" pushback count; a malformed request does not.
    @Test func onlyQualifiedFailuresCount() {
        var b = GRPCRetryThrottle()
        b.attemptFinished(attempt(400), now: 0)
        b.attemptFinished(attempt(404), now: 0)
        #expect(b.tokens == 10)
        b.attemptFinished(attempt(400, shouldRetry: false), now: 0)
        #expect(b.tokens == 9, "pushback saying not to retry counts as a failure")
        b.attemptFinished(attempt(0).with(error: .timeout), now: 0)
        #expect(b.tokens == 8)
    }

    /// In the pipeline, with retries allowed up to 100 attempts against a server that always
    /// refuses, the budget ends the first request after 5 attempts (tokens 10 → 5).
    @Test func throttleEndsARetryLoopInThePipeline() {
        var s = PipelineStrategy(retry: ImmediateRetryPolicy(maxAttempts: 100), budget: GRPCRetryThrottle())
        let r = PendingRequest(id: 0, intendedAt: 0, cost: RequestCost(inputTokens: 10, maxTokens: 10))
        var commands: [StrategyCommand] = []
        s.arrived(r, now: 0)
        var attempts = 0
        var t = 0.0
        var last: StrategyCommand?
        while attempts < 100 {
            s.poll(now: t, into: &commands)
            guard let c = commands.first else { break }
            commands.removeAll()
            last = c
            guard case .send = c else { break }
            attempts += 1
            t += 0.1
            s.finished(r, attempt: attempts, outcome: attempt(429), now: t)
        }
        #expect(attempts == 5)
        #expect(last == .giveUp(request: 0, reason: .budgetExhausted))
    }
}

@Suite struct PercentageRetryBudgetTests {
    /// Finagle defaults (ttl 10 s, 10 retries/s, 20 %): a fresh client may retry 100 times (the
    /// reserve, 10/s × 10 s); the 101st is refused.
    @Test func reserveAloneAllowsMinRetriesTimesTTL() throws {
        var b = try builtBudget("percentage", as: PercentageRetryBudget.self)
        #expect(b.ttl == 10 && b.minRetriesPerSec == 10 && b.percentCanRetry == 0.2)
        let fresh = b.balance(now: 0)
        #expect(fresh == 100)
        var allowed = 0
        for _ in 0..<101 where b.allowRetry(now: 0.5) { allowed += 1 }
        #expect(allowed == 100)
        let spent = b.balance(now: 0.5)
        #expect(spent == 0)
    }

    /// Each new request earns 0.2 of a retry (a retry withdraws 5 deposits' worth); retries do
    /// not earn anything. Retries allowed = 20 % of requests + the reserve.
    @Test func requestsEarnTwentyPercent() {
        var b = PercentageRetryBudget()
        for _ in 0..<50 { b.attemptSent(isRetry: false, now: 1) }
        for _ in 0..<40 { b.attemptSent(isRetry: true, now: 1) }
        let balance = b.balance(now: 1)
        #expect(balance == 110, "0.2 × 50 + 100")
        var allowed = 0
        while b.allowRetry(now: 2) { allowed += 1 }
        #expect(allowed == 110)
        // Fractions do not round up: 4 more requests are 0.8 of a retry.
        for _ in 0..<4 { b.attemptSent(isRetry: false, now: 3) }
        let short = b.allowRetry(now: 3)
        #expect(!short)
        b.attemptSent(isRetry: false, now: 3)
        let covered = b.allowRetry(now: 3)
        #expect(covered)
    }

    /// Deposits and withdrawals expire after ttl (1-second slices of a 10 s window).
    @Test func ledgerExpiresAfterTTL() {
        var b = PercentageRetryBudget()
        for _ in 0..<100 { _ = b.allowRetry(now: 0.2) }
        let within = b.balance(now: 9.99)
        #expect(within == 0, "still within ttl")
        let expired = b.balance(now: 10.0)
        #expect(expired == 100, "withdrawals at t = 0.2 expired with their slice")
        for _ in 0..<50 { b.attemptSent(isRetry: false, now: 12) }
        let withDeposits = b.balance(now: 21.9)
        #expect(withDeposits == 110)
        let depositsGone = b.balance(now: 22.0)
        #expect(depositsGone == 100)
    }

    /// Finagle's edge cases: no reserve and no percentage is the Empty budget; percent 0 with a
    /// reserve pays only from the reserve.
    @Test func edgeCases() throws {
        var empty = PercentageRetryBudget(ttl: 10, minRetriesPerSec: 0, percentCanRetry: 0)
        empty.attemptSent(isRetry: false, now: 0)
        let emptyAllows = empty.allowRetry(now: 0)
        #expect(!emptyAllows)
        var reserveOnly = PercentageRetryBudget(ttl: 5, minRetriesPerSec: 2, percentCanRetry: 0)
        for _ in 0..<100 { reserveOnly.attemptSent(isRetry: false, now: 0) }
        var allowed = 0
        while reserveOnly.allowRetry(now: 0) { allowed += 1 }
        #expect(allowed == 10, "2/s × 5 s, and requests earn nothing")
        #expect(throws: StrategyError.self) { try builtBudget("percentage", ["ttl": .number(0.5)], as: PercentageRetryBudget.self) }
        #expect(throws: StrategyError.self) { try builtBudget("percentage", ["ttl": .number(90)], as: PercentageRetryBudget.self) }
    }
}

extension AttemptOutcome {
    fileprivate func with(error: ErrorKind) -> AttemptOutcome {
        var copy = self
        copy.error = error
        return copy
    }
}

@Suite struct RoleParameterTests {
    /// Specs built in code bypass the scenario validator; a misspelt key must not fall back to
    /// the default silently.
    @Test func unknownParameterNamesAreRejected() {
        #expect(throws: StrategyError.self) {
            try StrategyFactory.make(StrategySpec(name: "none", budget: RoleSpec(name: "percentage",
                                                                                 params: ["percent_can_retry": .number(0.1)])), seed: 1)
        }
        #expect(throws: StrategyError.self) {
            try StrategyFactory.make(StrategySpec(name: "none", retry: RoleSpec(name: "full-jitter",
                                                                                params: ["initial": .number(1)])), seed: 1)
        }
        #expect(throws: StrategyError.self) {
            try StrategyFactory.make(StrategySpec(name: "none", shed: RoleSpec(name: "sre", params: ["K": .number(2)])), seed: 1)
        }
    }

    @Test func percentReachesTheBudget() throws {
        let s = try StrategyFactory.make(StrategySpec(name: "none", budget: RoleSpec(name: "percentage",
                                                                                     params: ["percent": .number(0.1)])), seed: 1)
        let pipeline = try #require(s as? PipelineStrategy)
        let b = try #require(pipeline.budget as? PercentageRetryBudget)
        #expect(b.percentCanRetry == 0.1)
    }
}
