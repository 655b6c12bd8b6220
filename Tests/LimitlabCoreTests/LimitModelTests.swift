import LimitlabCore
import Testing

/// Hand-computed cases for the bucket model. Refill is limit/60 per second.
@Suite struct LimitModelTests {
    func model(rpm: Double = 50, itpm: Double = 600, otpm: Double = 600, burst: Double = 1,
               admission: AdmissionRule = .positiveBalance, output: OutputAccounting = .realtime,
               cacheReads: Bool = false) -> LimitModel {
        LimitModel(LimitConfig(rpm: rpm, itpm: itpm, otpm: otpm, burst: burst, admission: admission,
                               outputAccounting: output, cacheReadsCount: cacheReads))
    }

    func cost(_ input: Int, max: Int = 100, creation: Int = 0, read: Int = 0) -> RequestCost {
        RequestCost(inputTokens: input, cacheCreationTokens: creation, cacheReadTokens: read, maxTokens: max)
    }

    @Test func startsFullAndRefusesTheRequestAfterTheLimit() {
        var m = model(rpm: 50, itpm: 1_000_000, otpm: 1_000_000)
        for i in 0..<50 { #expect(m.admit(cost(1), at: 0).admitted, "request \(i) of 50 must fit a full bucket") }
        let d = m.admit(cost(1), at: 0)
        #expect(!d.admitted)
        #expect(d.refusedBy == .requests)
        // Needs 1 request at 50/60 per second: 1.2 s, rounded up to 2.
        #expect(d.retryAfter == 2)
        #expect(!m.admit(cost(1), at: 1.1).admitted)
        #expect(m.admit(cost(1), at: 1.2).admitted)
    }

    @Test func positiveBalanceAdmitsIntoDebtAndRetryAfterCoversTheDebt() {
        var m = model(itpm: 600)
        let first = m.admit(cost(1000), at: 0)
        #expect(first.admitted)
        #expect(m.input.level == -400)
        let second = m.admit(cost(1), at: 0)
        #expect(!second.admitted)
        #expect(second.refusedBy == .inputTokens)
        // 400 tokens of debt at 10 tokens/s is 40 s; admission needs strictly more than 0, so 41.
        #expect(second.retryAfter == 41)
        #expect(!m.admit(cost(1), at: 40).admitted)
        #expect(m.admit(cost(1), at: 40.5).admitted)
    }

    @Test func fullCostNeedsTheWholeCostCappedAtCapacity() {
        var m = model(itpm: 600, admission: .fullCost)
        #expect(m.admit(cost(1000), at: 0).admitted, "an oversized request waits for a full bucket, then may go into debt")
        #expect(m.input.level == -400)
        let d = m.admit(cost(100), at: 0)
        #expect(!d.admitted)
        // Needs 100 from -400: 500 tokens at 10/s.
        #expect(d.retryAfter == 50)
        #expect(!m.admit(cost(100), at: 49.9).admitted)
        #expect(m.admit(cost(100), at: 50).admitted)
        #expect(abs(m.input.level - 0) < 1e-9)
    }

    @Test func fullCostRefusesWhatPositiveBalanceAdmits() {
        var strict = model(itpm: 600, admission: .fullCost)
        var lenient = model(itpm: 600)
        _ = strict.admit(cost(500), at: 0)
        _ = lenient.admit(cost(500), at: 0)
        #expect(!strict.admit(cost(200), at: 0).admitted)
        #expect(lenient.admit(cost(200), at: 0).admitted)
    }

    @Test func realtimeOutputDrainsWhileGenerating() {
        var m = model(otpm: 600)
        #expect(m.admit(cost(1), at: 0).admitted)
        #expect(m.output.level == 600, "realtime accounting debits nothing at admission")
        m.scheduleOutput(tokens: 300, maxTokens: 1000, from: 1, to: 4)
        // Full (clamped) until t=1, then 10/s refill against a 100/s drain.
        #expect(abs(m.snapshot(at: 1).outputTokens.remaining - 600) < 1e-9)
        #expect(abs(m.snapshot(at: 2).outputTokens.remaining - 510) < 1e-9)
        #expect(abs(m.snapshot(at: 4).outputTokens.remaining - 330) < 1e-9)
        #expect(abs(m.snapshot(at: 10).outputTokens.remaining - 390) < 1e-9)
    }

    @Test func overlappingGenerationsAddTheirDrains() {
        var m = model(otpm: 6000) // 100/s refill
        _ = m.admit(cost(1), at: 0)
        _ = m.admit(cost(1), at: 0)
        m.scheduleOutput(tokens: 2000, maxTokens: 4000, from: 0, to: 10) // 200/s
        m.scheduleOutput(tokens: 1000, maxTokens: 4000, from: 5, to: 10) // 200/s
        // 0..5: net -100/s → 5500; 5..10: net -300/s → 4000.
        #expect(abs(m.snapshot(at: 5).outputTokens.remaining - 5500) < 1e-6)
        #expect(abs(m.snapshot(at: 10).outputTokens.remaining - 4000) < 1e-6)
    }

    @Test func outputDebtRefusesUntilRepaid() {
        var m = model(otpm: 600)
        _ = m.admit(cost(1), at: 0)
        m.scheduleOutput(tokens: 1200, maxTokens: 2000, from: 0, to: 0) // instant lump
        let d = m.admit(cost(1), at: 0)
        #expect(!d.admitted)
        #expect(d.refusedBy == .outputTokens)
        #expect(d.retryAfter == 61) // 600 of debt at 10/s, strictly positive
    }

    @Test func reserveModeHoldsMaxTokensAndRefundsTheRest() {
        var m = model(otpm: 600, output: .reserve)
        #expect(m.admit(cost(1, max: 500), at: 0).admitted)
        #expect(m.output.level == 100)
        m.scheduleOutput(tokens: 200, maxTokens: 500, from: 1, to: 5)
        // 100 + 10/s × 5 s = 150, plus the 300 unused at t=5.
        #expect(abs(m.snapshot(at: 4.999).outputTokens.remaining - 149.99) < 1e-6)
        #expect(abs(m.snapshot(at: 5).outputTokens.remaining - 450) < 1e-9)
    }

    @Test func reserveModeRefusesOnOutputWhenMaxTokensDroveItNegative() {
        var m = model(otpm: 600, output: .reserve)
        #expect(m.admit(cost(1, max: 1000), at: 0).admitted)
        let d = m.admit(cost(1, max: 10), at: 0)
        #expect(d.refusedBy == .outputTokens)
        #expect(d.retryAfter == 41)
    }

    @Test func cacheReadsCountOnlyWhenTheClassSaysSo() {
        var excluded = model(itpm: 60_000)
        var counted = model(itpm: 60_000, cacheReads: true)
        let c = cost(100, creation: 200, read: 5000)
        _ = excluded.admit(c, at: 0)
        _ = counted.admit(c, at: 0)
        #expect(excluded.input.level == 60_000 - 300)
        #expect(counted.input.level == 60_000 - 5300)
    }

    @Test func burstShrinksCapacity() {
        var m = model(rpm: 60, itpm: 1e9, otpm: 1e9, burst: 1.0 / 60)
        #expect(m.requests.capacity == 1)
        #expect(m.admit(cost(1), at: 0).admitted)
        let d = m.admit(cost(1), at: 0)
        #expect(!d.admitted)
        #expect(d.retryAfter == 1)
        #expect(m.admit(cost(1), at: 1).admitted)
    }

    @Test func severalDimensionsRefuseTogetherAndTheLongestWaitWins() {
        var m = model(rpm: 1, itpm: 60, otpm: 600)
        _ = m.admit(cost(600), at: 0) // requests 0, input -540
        let d = m.admit(cost(1), at: 0)
        #expect(d.refusedBy == [.requests, .inputTokens])
        #expect(d.refusedBy.label == "requests+input_tokens")
        #expect(d.retryAfter == 541) // input: 540 at 1/s, strict; requests would need only 60
    }

    @Test func headersRoundTokensAndFormatResets() {
        var m = model(rpm: 50, itpm: 30_000, otpm: 8_000)
        let d = m.admit(cost(12_345), at: 0)
        let h = Dictionary(uniqueKeysWithValues: d.snapshot!.headers(epoch: 1_700_000_000))
        #expect(h["anthropic-ratelimit-requests-limit"] == "50")
        #expect(h["anthropic-ratelimit-requests-remaining"] == "49")
        #expect(h["anthropic-ratelimit-input-tokens-limit"] == "30000")
        #expect(h["anthropic-ratelimit-input-tokens-remaining"] == "18000") // 17,655 → nearest thousand
        #expect(h["anthropic-ratelimit-output-tokens-remaining"] == "8000")
        #expect(h["anthropic-ratelimit-tokens-limit"] == "38000")
        #expect(h["anthropic-ratelimit-tokens-remaining"] == "26000") // 25,655
        // 12,345 tokens at 500/s → full again after 24.69 s, rounded up to the next second.
        #expect(h["anthropic-ratelimit-input-tokens-reset"] == "2023-11-14T22:13:45Z")
        #expect(h["anthropic-ratelimit-requests-reset"] == "2023-11-14T22:13:22Z") // 1.2 s → :22
    }

    @Test func negativeRemainingIsReportedAsZero() {
        var m = model(itpm: 600)
        let d = m.admit(cost(5000), at: 0)
        let h = Dictionary(uniqueKeysWithValues: d.snapshot!.headers(epoch: 0))
        #expect(h["anthropic-ratelimit-input-tokens-remaining"] == "0")
    }
}

@Suite struct RFC3339Tests {
    @Test func formatsKnownInstants() {
        #expect(RFC3339.format(unixSeconds: 0) == "1970-01-01T00:00:00Z")
        #expect(RFC3339.format(unixSeconds: 951_782_400) == "2000-02-29T00:00:00Z")
        #expect(RFC3339.format(unixSeconds: 1_700_000_000) == "2023-11-14T22:13:20Z")
        #expect(RFC3339.format(unixSeconds: 1_700_000_000.2) == "2023-11-14T22:13:21Z")
        #expect(RFC3339.format(unixSeconds: 4_102_444_799) == "2099-12-31T23:59:59Z")
    }
}
