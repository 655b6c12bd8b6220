import LimitlabCore
import LimitlabStats
import LimitlabStrategies
import Testing

// Admission limiters driven directly with explicit times, against the numbers of the library
// each one mirrors (the versions and URLs in each definition's `mirrors`), then through the factory and against the server
// model.

private func limReq(_ id: Int32 = 0, input: Int = 0, cacheRead: Int = 0, maxTokens: Int = 0) -> PendingRequest {
    PendingRequest(id: id, intendedAt: 0, cost: RequestCost(inputTokens: input, cacheReadTokens: cacheRead, maxTokens: maxTokens))
}

private func limOutcome(_ status: Int, sent: Double, done: Double, output: Int = 0, retryAfter: Double? = nil,
                        headers: RateLimitSnapshot? = nil) -> AttemptOutcome {
    AttemptOutcome(status: status, error: status == 429 ? .rateLimited : status == 529 ? .overloaded : .none,
                   retryAfter: retryAfter, rateLimits: headers, outputTokens: output, sentAt: sent, completedAt: done)
}

/// Sends `count` requests, each as soon as `policy` allows, starting at `start`; the send times.
/// Checks the contract on the way: `.at(t)` always names a time after `now`.
private func backlogTimes<P: AdmissionPolicy>(_ policy: inout P, count: Int, from start: Double,
                                              request: PendingRequest = limReq()) -> [Double] {
    var now = start
    var times: [Double] = []
    var asks = 0
    while times.count < count && asks < 100_000 {
        asks += 1
        switch policy.ask(request, attempt: 1, now: now) {
        case .now:
            policy.sent(request, attempt: 1, now: now)
            times.append(now)
        case .at(let t):
            #expect(t > now, "at(\(t)) asked at \(now)")
            now = t
        case .reject(let reason):
            Issue.record("unexpected reject \(reason)")
            return times
        }
    }
    return times
}

/// How many requests `policy` lets through at one instant.
private func passingAt<P: AdmissionPolicy>(_ policy: inout P, _ now: Double, request: PendingRequest = limReq()) -> Int {
    var n = 0
    while n < 10_000, policy.ask(request, attempt: 1, now: now) == .now {
        policy.sent(request, attempt: 1, now: now)
        n += 1
    }
    return n
}

private func near(_ a: Double, _ b: Double, _ eps: Double = 1e-9) -> Bool { abs(a - b) <= eps * Swift.max(1, abs(b)) }

private func nearAll(_ a: [Double], _ b: [Double]) -> Bool { a.count == b.count && zip(a, b).allSatisfy { near($0, $1) } }

private func answerTime(_ a: AdmissionAnswer) -> Double? {
    if case .at(let t) = a { return t }
    return nil
}

// MARK: - token-bucket

@Suite struct TokenBucketTests {
    func bucket(rpm: Double? = nil, itpm: Double? = nil, otpm: Double? = nil, burst: Double = 1,
                fill: TokenBucketLimiter.InitialFill = .full, cacheReads: Bool = false,
                reserve: Bool = false) -> TokenBucketLimiter {
        TokenBucketLimiter(.init(rpm: rpm, itpm: itpm, otpm: otpm, burstSeconds: burst, initialFill: fill,
                                 countCacheReads: cacheReads, reserveOutput: reserve))
    }

    /// "60 RPM may be enforced as 1 request per second": burst 1 s holds one request.
    @Test func sixtyRPMWithOneSecondBurstAdmitsOnePerSecond() {
        var b = bucket(rpm: 60)
        #expect(b.capacities.requests == 1)
        #expect(backlogTimes(&b, count: 5, from: 0) == [0, 1, 2, 3, 4])
    }

    /// A full-minute bucket (burst 1m) takes a whole minute's limit at once, then refills at limit/60.
    @Test func fullMinuteBurstTakesTheLimitThenRefills() {
        var b = bucket(rpm: 60, burst: 60)
        #expect(passingAt(&b, 0) == 60)
        #expect(answerTime(b.ask(limReq(), attempt: 1, now: 0)) == 1)
        var half = bucket(rpm: 30, burst: 60)
        #expect(passingAt(&half, 0) == 30)
        #expect(answerTime(half.ask(limReq(), attempt: 1, now: 0)) == 2, "30 RPM refills one request every 2 s")
    }

    /// x/time/rate starts full (an instant burst of b); an empty start (Guava) waits for the first token.
    @Test func initialFill() {
        var full = bucket(rpm: 60, burst: 5)
        #expect(passingAt(&full, 0) == 5)
        var empty = bucket(rpm: 60, burst: 5, fill: .empty)
        #expect(passingAt(&empty, 0) == 0)
        #expect(backlogTimes(&empty, count: 3, from: 0) == [1, 2, 3])
    }

    /// The requests bucket holds at least one request even when limit × burst is below 1, as on the server.
    @Test func requestsBucketHoldsAtLeastOne() {
        let b = bucket(rpm: 50)
        #expect(b.capacities.requests == 1)
        var c = b
        #expect(nearAll(backlogTimes(&c, count: 3, from: 0), [0, 1.2, 2.4]))
    }

    /// x/time/rate reservation: tokens −= n, wait = −tokens/r. A request of N tokens on an empty
    /// input bucket waits exactly N/rate.
    @Test func inputReservationWaitsDeficitOverRate() {
        // 6000 ITPM = 100 tokens/s; burst 10 s = 1000 tokens, starting empty.
        var b = bucket(itpm: 6000, burst: 10, fill: .empty)
        #expect(answerTime(b.ask(limReq(input: 500), attempt: 1, now: 0)) == 5)
        #expect(answerTime(b.ask(limReq(input: 250), attempt: 1, now: 2)) == 2.5)
    }

    /// A request larger than the bucket waits for a full bucket, then leaves a debt of N that
    /// blocks exactly N/rate (x/time/rate would refuse n > b outright).
    @Test func oversizedInputLeavesDebtThatBlocksForDebtOverRate() {
        var b = bucket(itpm: 6000) // 100 tokens/s, capacity 100
        #expect(b.capacities.input == 100)
        let big = limReq(input: 1100)
        #expect(b.ask(big, attempt: 1, now: 0) == .now, "a full bucket admits a request larger than itself")
        b.sent(big, attempt: 1, now: 0)
        #expect(b.levels(at: 0).input == -1000)
        // The debt of 1000 is repaid after 10 s; a 50-token request then needs 0.5 s more.
        #expect(b.levels(at: 10).input == 0)
        #expect(answerTime(b.ask(limReq(input: 50), attempt: 1, now: 0)) == 10.5)
        #expect(answerTime(b.ask(limReq(input: 100), attempt: 1, now: 3)) == 11)
        // A request without input passes the input bucket in debt, as on the server.
        #expect(b.ask(limReq(input: 0), attempt: 1, now: 3) == .now)
    }

    /// `oversize: refuse` is x/time/rate's rule: with `NewLimiter(100, 100)`, `ReserveN(now, 101)`
    /// is not OK while `AllowN(now, 100)` is; a refused request leaves the bucket untouched.
    @Test func refuseOversizeMirrorsXTimeRate() {
        var b = TokenBucketLimiter(.init(rpm: nil, itpm: 6000, otpm: 600, reserveOutput: true, oversize: .refuse))
        #expect(b.ask(limReq(input: 101), attempt: 1, now: 0) == .reject(.oversize))
        #expect(b.ask(limReq(input: 100, maxTokens: 11), attempt: 1, now: 0) == .reject(.oversize),
                "a max_tokens reservation above the 10-token output bucket is refused too")
        #expect(b.ask(limReq(input: 100, maxTokens: 10), attempt: 1, now: 0) == .now, "n = burst is allowed")
        #expect(b.levels(at: 0).input == 100)
        // Refused whatever the level: a full bucket does not make n > b possible.
        b.sent(limReq(input: 100, maxTokens: 10), attempt: 1, now: 0)
        #expect(b.ask(limReq(input: 101), attempt: 1, now: 100) == .reject(.oversize))
        // The default keeps the debt behaviour.
        var d = bucket(itpm: 6000)
        #expect(d.ask(limReq(input: 101), attempt: 1, now: 0) == .now)
    }

    /// Output is charged after the response with the actual tokens; the debt blocks the next
    /// request until refill repays it.
    @Test func outputChargedAfterTheFactBlocksUntilRepaid() {
        var b = bucket(otpm: 6000) // 100 tokens/s, capacity 100
        let r = limReq(maxTokens: 4096)
        #expect(b.ask(r, attempt: 1, now: 0) == .now, "max_tokens plays no part without a reservation")
        b.sent(r, attempt: 1, now: 0)
        #expect(b.ask(r, attempt: 1, now: 0) == .now, "nothing is charged to output at send")
        b.finished(r, attempt: 1, outcome: limOutcome(200, sent: 0, done: 3, output: 500), now: 3)
        #expect(b.levels(at: 3).output == -400)
        #expect(answerTime(b.ask(r, attempt: 1, now: 3)) == 7, "400 tokens of debt at 100/s")
        #expect(b.ask(r, attempt: 1, now: 7) == .now)
    }

    /// reserve_output: max_tokens is taken at send (capped at capacity for admission) and the
    /// unused part refunded at the response.
    @Test func reservedOutputIsRefunded() {
        var b = bucket(otpm: 6000, reserve: true) // capacity 100
        let r = limReq(maxTokens: 300)
        #expect(b.ask(r, attempt: 1, now: 0) == .now)
        b.sent(r, attempt: 1, now: 0)
        #expect(b.levels(at: 0).output == -200)
        // Before the refund the next request needs a full bucket: 300 tokens at 100/s from −150.
        #expect(answerTime(b.ask(r, attempt: 1, now: 0.5)) == 3)
        b.finished(r, attempt: 1, outcome: limOutcome(200, sent: 0, done: 1, output: 50), now: 1)
        #expect(b.levels(at: 1).output == 100, "−100 + 250 refunded, capped at the capacity")
        #expect(b.ask(r, attempt: 1, now: 1) == .now)
        // A failed attempt produced no output: its whole reservation comes back.
        b.sent(r, attempt: 1, now: 1)
        b.finished(r, attempt: 1, outcome: limOutcome(429, sent: 1, done: 1, retryAfter: 1), now: 1)
        #expect(b.levels(at: 1).output == 100)
    }

    /// Input is inputTokens + cache writes; cache reads only with count_cache_reads.
    @Test func cacheReadsCountOnlyWhenAsked() {
        let r = PendingRequest(id: 0, intendedAt: 0, cost: RequestCost(inputTokens: 100, cacheCreationTokens: 50,
                                                                       cacheReadTokens: 900, maxTokens: 10))
        #expect(bucket(itpm: 6000).inputCost(r.cost) == 150)
        #expect(bucket(itpm: 6000, cacheReads: true).inputCost(r.cost) == 1050)
        var without = bucket(itpm: 60_000, burst: 10) // 1000/s, capacity 10 000
        var with = bucket(itpm: 60_000, burst: 10, cacheReads: true)
        without.sent(r, attempt: 1, now: 0)
        with.sent(r, attempt: 1, now: 0)
        #expect(without.levels(at: 0).input == 9850 && with.levels(at: 0).input == 8950)
    }

    /// The earliest time is the latest over the dimensions.
    @Test func theSlowestDimensionDecides() {
        var b = bucket(rpm: 60, itpm: 6000, otpm: 6000) // 1 req/s, 100 in/s, 100 out/s
        let r = limReq(input: 100)
        b.sent(r, attempt: 1, now: 0)
        b.finished(r, attempt: 1, outcome: limOutcome(200, sent: 0, done: 0, output: 250), now: 0)
        // requests: 1 s; input: 1 s; output: 150 tokens of debt → 1.5 s.
        #expect(answerTime(b.ask(r, attempt: 1, now: 0)) == 1.5)
    }
}

// MARK: - gcra

@Suite struct GCRATests {
    /// period 60 s, count 60, max_burst 5: τ = T·(max_burst + 1) = 6 s, so 6 pass at once, then 1/s.
    @Test func burstOfMaxBurstPlusOneThenOnePerEmissionInterval() {
        var g = GCRALimiter(count: 60, period: 60, maxBurst: 5)
        #expect(g.emissionInterval == 1 && g.tolerance == 6)
        #expect(backlogTimes(&g, count: 10, from: 0) == [0, 0, 0, 0, 0, 0, 1, 2, 3, 4])
    }

    /// redis-cell README: `CL.THROTTLE user123 15 30 60` on a fresh key → [0, 16, 15, -1, 2].
    @Test func publishedRedisCellExample() {
        var g = GCRALimiter(count: 30, period: 60, maxBurst: 15)
        #expect(g.ask(limReq(), attempt: 1, now: 100) == .now)
        g.sent(limReq(), attempt: 1, now: 100)
        let r = g.report(now: 100)
        #expect(r.limit == 16 && r.remaining == 15 && r.resetAfter == 2)
        #expect(passingAt(&g, 100) == 15, "limit 16 in all")
        #expect(answerTime(g.ask(limReq(), attempt: 1, now: 100)) == 102, "then one every T = 2 s")
    }

    /// TAT = max(now, TAT) + T: idle time restores the burst, never more than max_burst + 1.
    @Test func idleTimeRestoresTheBurst() {
        var g = GCRALimiter(count: 60, period: 60, maxBurst: 5)
        #expect(passingAt(&g, 0) == 6)
        #expect(passingAt(&g, 3) == 3)
        #expect(passingAt(&g, 100) == 6)
    }
}

// MARK: - leaky-bucket

@Suite struct LeakyBucketTests {
    /// AsyncLimiter(10, 60): the level starts at 0, so 10 pass at once; then one per 6 s.
    @Test func emptyStartLetsMaxRateThroughThenOnePerPeriodOverRate() {
        var l = LeakyBucketLimiter(maxRate: 10, timePeriod: 60)
        #expect(backlogTimes(&l, count: 13, from: 0) == Array(repeating: 0, count: 10) + [6, 12, 18])
    }

    /// level leaks at max_rate/time_period per second, never below 0.
    @Test func levelLeaks() {
        var l = LeakyBucketLimiter(maxRate: 10, timePeriod: 60)
        #expect(passingAt(&l, 0) == 10)
        #expect(near(l.level(at: 30), 5))
        #expect(passingAt(&l, 30) == 5)
        #expect(l.level(at: 1000) == 0)
        #expect(passingAt(&l, 1000) == 10)
    }

    /// The aiolimiter pitfall: AsyncLimiter(50) as "50 RPM" sends 50 at t = 0.
    @Test func fiftyPerMinuteBurstsFiftyAtStart() throws {
        var l = LeakyBucketLimiter(maxRate: 50)
        #expect(passingAt(&l, 0) == 50)
        #expect(near(answerTime(l.ask(limReq(), attempt: 1, now: 0)) ?? 0, 1.2))
    }
}

// MARK: - window

@Suite struct WindowTests {
    /// limit 10 per 60 s; one hit at 0 and nine at 59. What passes at the boundary differs.
    func primed(_ kind: WindowLimiter.Kind) -> WindowLimiter {
        var w = WindowLimiter(kind: kind, limit: 10, window: 60)
        w.sent(limReq(), attempt: 1, now: 0)
        for _ in 0..<9 { w.sent(limReq(), attempt: 1, now: 59) }
        return w
    }

    /// Fixed window started by the first hit at 0: it expires at 60 and a fresh window takes
    /// a whole limit at once, so 19 requests pass within [59, 60].
    @Test func fixedWindowDoublesAcrossTheBoundary() {
        var w = primed(.fixed)
        #expect(answerTime(w.ask(limReq(), attempt: 1, now: 59.5)) == 60)
        #expect(passingAt(&w, 60) == 10)
        #expect(answerTime(w.ask(limReq(), attempt: 1, now: 60)) == 120, "the new window began at its first hit, 60")
    }

    /// The window starts at the first hit, not on a clock boundary.
    @Test func fixedWindowStartsAtTheFirstHit() {
        var w = WindowLimiter(kind: .fixed, limit: 10, window: 60)
        #expect(passingAt(&w, 45) == 10)
        #expect(answerTime(w.ask(limReq(), attempt: 1, now: 50)) == 105)
    }

    /// Moving window: a hit passes only when the 10th most recent is strictly older than 60 s.
    @Test func slidingLogIsAnExactRollingCount() {
        var w = primed(.slidingLog)
        #expect(passingAt(&w, 60) == 0, "the hit at 0 is not older than 60 − 60")
        let t = answerTime(w.ask(limReq(), attempt: 1, now: 60))
        #expect(t == (60.0).nextUp)
        #expect(passingAt(&w, t!) == 1)
        #expect(answerTime(w.ask(limReq(), attempt: 1, now: t!)) == (119.0).nextUp, "the nine hits at 59 expire after 119")
        #expect(passingAt(&w, (119.0).nextUp) == 9)
    }

    /// Sliding window counter: floor(current + previous·(60 − elapsed)/60) < 10. At the boundary the
    /// previous window's 10 weigh 10, so one passes just after 60, and the next when
    /// 10·(60 − e)/60 + 1 < 10, i.e. after e = 6 s.
    @Test func slidingCounterWeighsThePreviousWindow() {
        var w = primed(.slidingCounter)
        #expect(passingAt(&w, 60) == 0)
        let first = answerTime(w.ask(limReq(), attempt: 1, now: 60))!
        #expect(first > 60 && first < 60 + 1e-9)
        #expect(passingAt(&w, first) == 1)
        let second = answerTime(w.ask(limReq(), attempt: 1, now: first))!
        #expect(near(second, 66) && second > 66)
        #expect(passingAt(&w, second) == 1)
        // Halfway through the window the previous count weighs 5: 5 + 2 current, so 3 more pass.
        #expect(passingAt(&w, 90) == 3)
    }

    @Test func slidingCounterWithoutPreviousCountIsAPlainCounter() {
        var w = WindowLimiter(kind: .slidingCounter, limit: 10, window: 60)
        #expect(passingAt(&w, 30) == 10)
        let t = answerTime(w.ask(limReq(), attempt: 1, now: 30))!
        #expect(t > 60 && t < 60 + 1e-9, "the full current window becomes the previous one at 60")
    }
}

// MARK: - header-paced

@Suite struct HeaderPacedTests {
    /// The server's header values after it admits `admitted` requests at `t`, the last one ours.
    func serverHeaders(_ config: LimitConfig, admitted: Int, at t: Double = 0) -> RateLimitSnapshot {
        var server = LimitModel(config)
        var last: AdmissionDecision?
        for _ in 0..<admitted { last = server.admit(RequestCost(inputTokens: 10, maxTokens: 10), at: t) }
        return last!.snapshot!
    }

    /// 60 RPM enforced as 1 per second: after our send at 0 the header says remaining 0, reset
    /// at 1; one request's cost is 1, so the next waits until the reset.
    @Test func waitsUntilResetWhenRemainingIsBelowOneRequest() {
        let headers = serverHeaders(LimitConfig(rpm: 60, itpm: 1e9, otpm: 1e9, burst: 1.0 / 60), admitted: 1)
        #expect(headers.requests.remaining == 0 && headers.requests.resetAt == 1)
        var h = HeaderPacedLimiter()
        #expect(h.readsRateLimitHeaders)
        let r = limReq(input: 10)
        #expect(h.ask(r, attempt: 1, now: 0) == .now, "no header yet: send freely")
        h.sent(r, attempt: 1, now: 0)
        h.finished(r, attempt: 1, outcome: limOutcome(200, sent: 0, done: 0.5, output: 10, headers: headers), now: 0.5)
        #expect(answerTime(h.ask(limReq(1, input: 10), attempt: 1, now: 0.5)) == 1 + HeaderPacedLimiter.resetMargin)
    }

    /// remaining 10, reset 20 s away: send no faster than 10 per 20 s, i.e. the next one 2 s later.
    @Test func spreadsRemainingOverTheTimeToReset() {
        // 60 RPM, capacity 30: after 20 admissions at 0, remaining 10 and full again at 20.
        let headers = serverHeaders(LimitConfig(rpm: 60, itpm: 1e9, otpm: 1e9, burst: 0.5), admitted: 20)
        #expect(headers.requests.remaining == 10 && headers.requests.resetAt == 20)
        var h = HeaderPacedLimiter()
        h.sent(limReq(0), attempt: 1, now: 0)
        h.finished(limReq(0), attempt: 1, outcome: limOutcome(200, sent: 0, done: 0, headers: headers), now: 0)
        let p = h.predicted(at: 0)[0]!
        #expect(p.remaining == 10 && p.resetIn == 20)
        #expect(h.ask(limReq(1), attempt: 1, now: 0) == .now)
        h.sent(limReq(1), attempt: 1, now: 0)
        #expect(answerTime(h.ask(limReq(2), attempt: 1, now: 0)) == 2, "cost 1 × 20 s / 10 remaining")
        // At 2 the prediction is 9 + 2 refilled = 11 remaining, full in 19 s: the next gap is 19/11 s.
        #expect(h.ask(limReq(2), attempt: 1, now: 2) == .now)
        h.sent(limReq(2), attempt: 1, now: 2)
        #expect(near(answerTime(h.ask(limReq(3), attempt: 1, now: 2))!, 2 + 19.0 / 11))
    }

    /// Token remaining is shown rounded to the nearest thousand, requests rounded down, never below 0.
    @Test func headerRounding() {
        #expect(HeaderPacedLimiter.shown(1499, dimension: .inputTokens, tokenRounding: 1000) == 1000)
        #expect(HeaderPacedLimiter.shown(1500, dimension: .inputTokens, tokenRounding: 1000) == 2000)
        #expect(HeaderPacedLimiter.shown(-250_000, dimension: .outputTokens, tokenRounding: 1000) == 0)
        #expect(HeaderPacedLimiter.shown(9.7, dimension: .requests, tokenRounding: 1000) == 9)
        #expect(HeaderPacedLimiter.shown(1499, dimension: .inputTokens, tokenRounding: 1) == 1499)
    }

    /// Input remaining 400 exact is read as 0 (rounded to the thousand), below a 300-token
    /// request, so the client waits for the reset although the server would admit it.
    @Test func roundedTokensMakeSmallRemaindersLookEmpty() {
        // 60 000 ITPM = 1000/s, capacity 1000 (burst 1 s); our 600-token request leaves 400.
        let config = LimitConfig(rpm: 1e6, itpm: 60_000, otpm: 1e9, burst: 1.0 / 60)
        var server = LimitModel(config)
        let headers = server.admit(RequestCost(inputTokens: 600, maxTokens: 10), at: 0).snapshot!
        #expect(headers.inputTokens.remaining == 400 && near(headers.inputTokens.resetAt, 0.6))
        func informed(_ config: HeaderPacedLimiter.Configuration) -> HeaderPacedLimiter {
            var h = HeaderPacedLimiter(config)
            h.sent(limReq(0, input: 600), attempt: 1, now: 0)
            h.finished(limReq(0, input: 600), attempt: 1, outcome: limOutcome(200, sent: 0, done: 0, headers: headers), now: 0)
            return h
        }
        var rounded = informed(.init())
        var exact = informed(.init(tokenRounding: 1))
        // Rounded: 0 remaining, capacity read as 0 + 0.6 s · 1000/s = 600; full again at 0.6.
        #expect(near(answerTime(rounded.ask(limReq(1, input: 300), attempt: 1, now: 0)) ?? -1, 0.6 + HeaderPacedLimiter.resetMargin))
        #expect(exact.ask(limReq(1, input: 300), attempt: 1, now: 0) == .now)
    }

    /// A 429 with retry-after holds every send until then.
    @Test func retryAfterHolds() {
        var h = HeaderPacedLimiter()
        h.sent(limReq(0), attempt: 1, now: 10)
        h.finished(limReq(0), attempt: 1, outcome: limOutcome(429, sent: 10, done: 10, retryAfter: 5), now: 10)
        #expect(answerTime(h.ask(limReq(1), attempt: 1, now: 10)) == 15)
        #expect(h.ask(limReq(1), attempt: 1, now: 15) == .now)
    }

    /// Before the first header: free, or initial_rate.
    @Test func beforeTheFirstHeader() {
        var free = HeaderPacedLimiter()
        #expect(passingAt(&free, 0) == 10_000)
        var paced = HeaderPacedLimiter(.init(initialRate: 2))
        #expect(backlogTimes(&paced, count: 4, from: 0) == [0, 0.5, 1, 1.5])
    }

    /// Sends after the answered one are subtracted from its header; an older header is ignored.
    @Test func ownSendsAfterTheHeaderCountAndStaleHeadersAreIgnored() {
        let config = LimitConfig(rpm: 60, itpm: 1e9, otpm: 1e9, burst: 0.5) // 1/s, capacity 30
        var server = LimitModel(config)
        var h = HeaderPacedLimiter()
        var headers: [RateLimitSnapshot] = []
        for (i, t) in [0.0, 0.5, 1.0].enumerated() {
            headers.append(server.admit(RequestCost(inputTokens: 10, maxTokens: 10), at: t).snapshot!)
            h.sent(limReq(Int32(i)), attempt: 1, now: t)
        }
        // The second request's header arrives first: 28.5 left after its admission, shown as 28.
        #expect(headers[1].requests.remaining.rounded(.down) == 28)
        h.finished(limReq(1), attempt: 1, outcome: limOutcome(200, sent: 0.5, done: 2, headers: headers[1]), now: 2)
        // 28 at 0.5, the third send at 1.0 costs 1, refill 1/s: 28 + 1.5 − 1 = 28.5 at 2.
        #expect(near(h.predicted(at: 2)[0]!.remaining, 28.5))
        h.finished(limReq(0), attempt: 1, outcome: limOutcome(200, sent: 0, done: 3, headers: headers[0]), now: 3)
        #expect(near(h.predicted(at: 3)[0]!.remaining, 29.5), "the older header changed nothing")
    }
}

// MARK: - factory and registry

@Suite struct LimiterFactoryTests {
    static let tier = LimitConfig(rpm: 60, itpm: 6000, otpm: 600)

    func build(_ name: String, _ params: [String: ParamValue] = [:], limits: LimitConfig = tier) throws -> any ClientStrategy {
        try StrategyFactory.make(StrategySpec(name: name, params: params), limits: limits, seed: 1)
    }

    /// Feeds `n` arrivals at 0 and polls at `times`; the send and drop times.
    func run(_ s: inout any ClientStrategy, arrivals n: Int, polls times: [Double])
        -> (sends: [Double], drops: [(Double, DropReason)]) {
        for i in 0..<n { s.arrived(limReq(Int32(i), input: 10), now: 0) }
        var sends: [Double] = [], drops: [(Double, DropReason)] = []
        for t in times {
            var c: [StrategyCommand] = []
            s.poll(now: t, into: &c)
            for command in c {
                switch command {
                case .submitBatch: Issue.record("this strategy never submits batches")
                case .send: sends.append(t)
                case .drop(_, let reason): drops.append((t, reason))
                case .giveUp: break
                }
            }
        }
        return (sends, drops)
    }

    @Test func everyLimiterIsRegisteredWithQueueBoundsAndBuilds() throws {
        let names = ["token-bucket", "gcra", "leaky-bucket", "window", "header-paced", "aimd-rate"]
        for name in names {
            let d = try #require(StrategyRegistry.descriptor(named: name))
            #expect(d.role == .admission)
            #expect(d.parameter("max_queue") != nil && d.parameter("max_wait") != nil, "\(name)")
            #expect(!d.mirrors.isEmpty && !d.summary.isEmpty)
            var s = try build(name)
            let r = run(&s, arrivals: 1, polls: [0])
            #expect(r.sends == [0], "\(name) sends its first request at once with default parameters")
        }
        let aimd = try #require(StrategyRegistry.descriptor(named: "aimd", role: .concurrency))
        #expect(aimd.parameter("initial_limit")?.defaultValue == "20" && aimd.parameter("backoff_ratio")?.defaultValue == "0.9")
    }

    /// Defaults size the limiters from the scenario's limits: 60 RPM → one request per second.
    @Test func defaultsComeFromTheScenarioLimits() throws {
        for (name, expected) in [("token-bucket", [0.0, 1, 2]), ("gcra", [0, 1, 2]), ("aimd-rate", [0, 1, 2])] {
            var s = try build(name)
            #expect(run(&s, arrivals: 3, polls: [0, 1, 2]).sends == expected, "\(name)")
        }
        // Leaky bucket and window take a minute's worth at once.
        for name in ["leaky-bucket", "window"] {
            var s = try build(name)
            #expect(run(&s, arrivals: 61, polls: [0]).sends.count == 60, "\(name)")
        }
    }

    /// rpm 0 turns the requests bucket off; the input bucket (100 tokens/s, capacity 100) still applies.
    @Test func zeroTurnsATokenBucketDimensionOff() throws {
        var s = try build("token-bucket", ["rpm": .number(0)])
        #expect(run(&s, arrivals: 12, polls: [0]).sends.count == 10, "ten 10-token requests fill 100 tokens")
    }

    @Test func queueBoundsDropWithTheirReasons() throws {
        var bounded = try build("token-bucket", ["max_queue": .number(2)])
        let r = run(&bounded, arrivals: 4, polls: [0])
        #expect(r.sends == [0] && r.drops.map(\.1) == [.queueOverflow, .queueOverflow])
        var patient = try build("gcra", ["max_wait": .number(1.5)])
        let w = run(&patient, arrivals: 3, polls: [0, 1, 2])
        #expect(w.sends == [0, 1] && w.drops.count == 1 && w.drops[0].0 == 2 && w.drops[0].1 == .deadline)
    }

    /// `max_wait: 0s` is reject mode (x/time/rate's `Allow`): on a full bucket the first request
    /// goes at once, the rest of the burst is dropped, and a request after refill goes again.
    @Test func zeroMaxWaitSendsWhatCanGoNowAndDropsTheRest() throws {
        // The shared limiters reserve no slot in reject mode: a slot must be now or never.
        for name in ["token-bucket", "gcra", "aimd-rate", "guava", "shared-token-bucket", "shared-gcra"] {
            var s = try build(name, ["max_wait": .number(0)])
            let r = run(&s, arrivals: 3, polls: [0])
            #expect(r.sends == [0], "\(name): the first request on a full limiter is sent at once")
            #expect(r.drops.map(\.1) == [.deadline, .deadline], "\(name): the others cannot go now")
            #expect(s.nextWakeup == nil, "\(name): nothing left waiting")
        }
        // A minute's worth at once, then the 61st is dropped.
        for name in ["window", "leaky-bucket"] {
            var s = try build(name, ["max_wait": .number(0)])
            let r = run(&s, arrivals: 61, polls: [0])
            #expect(r.sends.count == 60 && r.drops.map(\.1) == [.deadline], "\(name)")
        }
        // After a second of refill the 60 RPM bucket admits one again.
        var s = try build("token-bucket", ["max_wait": .number(0)])
        _ = run(&s, arrivals: 2, polls: [0])
        s.arrived(limReq(9, input: 10), now: 1)
        var c: [StrategyCommand] = []
        s.poll(now: 1, into: &c)
        #expect(c == [.send(request: 9, readyAt: 1)])
    }

    /// Through the pipeline a refused request is dropped as `oversize` and does not hold the queue.
    @Test func oversizeRefuseDropsWithoutHoldingTheQueue() throws {
        var s = try build("token-bucket", ["oversize": .string("refuse"), "rpm": .number(0)])
        s.arrived(limReq(0, input: 500), now: 0)
        s.arrived(limReq(1, input: 100), now: 0)
        var c: [StrategyCommand] = []
        s.poll(now: 0, into: &c)
        #expect(c == [.drop(request: 0, reason: .oversize), .send(request: 1, readyAt: 0)])
        #expect(throws: StrategyError.self) { try build("token-bucket", ["oversize": .string("reject")]) }
    }

    @Test func invalidSizesAreRefused() {
        // 60 RPM over 1 s is max_rate 1, which aiolimiter accepts; 50 RPM gives 0.83, which it refuses.
        #expect(throws: Never.self) { try build("leaky-bucket", ["time_period": .number(1)]) }
        #expect(throws: StrategyError.self) {
            try build("leaky-bucket", ["time_period": .number(1)], limits: LimitConfig(rpm: 50, itpm: 1, otpm: 1))
        }
        #expect(throws: StrategyError.self) {
            try StrategyFactory.make(StrategySpec(name: "none", concurrency: RoleSpec(name: "aimd", params: [
                "min_limit": .number(50), "max_limit": .number(10),
            ])), seed: 1)
        }
    }
}

// MARK: - against the server model

/// A small discrete-event driver (the simulator's loop; this test target cannot import
/// LimitlabSim): arrivals, `LimitModel` as the server (429 + retry-after when refused, headers
/// taken at admission), constant latency.
private struct DriverResult {
    var offered = 0, succeeded = 0, failed = 0, dropped = 0, attempts = 0, refused = 0
    var violations: [String] = []
}

private func drive(_ strategy: inout any ClientStrategy, limits: LimitConfig, arrivals: [Double],
                   latency: Double = 1, output: Int = 50) -> DriverResult {
    var server = LimitModel(limits)
    var result = DriverResult(offered: arrivals.count)
    var attemptsOf = Array(repeating: 0, count: arrivals.count)
    var ended = Array(repeating: false, count: arrivals.count)
    var completions: [(time: Double, id: Int, outcome: AttemptOutcome)] = []
    var next = 0, now = 0.0, steps = 0
    func request(_ id: Int) -> PendingRequest {
        PendingRequest(id: Int32(id), intendedAt: arrivals[id], cost: RequestCost(inputTokens: 200, maxTokens: 500))
    }
    func end(_ id: Int) {
        if ended[id] { result.violations.append("request \(id) ended twice") }
        ended[id] = true
    }
    while steps < 1_000_000 {
        steps += 1
        let ta = next < arrivals.count ? arrivals[next] : .infinity
        let tc = completions.map(\.time).min() ?? .infinity
        let tw = strategy.nextWakeup ?? .infinity
        let t = min(ta, tc, tw)
        if t == .infinity { break }
        now = max(now, t)
        if tc <= t {
            completions.sort { $0.time < $1.time }
            while let c = completions.first, c.time <= now {
                completions.removeFirst()
                if c.outcome.succeeded { result.succeeded += 1; end(c.id) }
                strategy.finished(request(c.id), attempt: attemptsOf[c.id], outcome: c.outcome, now: now)
            }
        } else if ta <= t {
            while next < arrivals.count, arrivals[next] <= now {
                strategy.arrived(request(next), now: now)
                next += 1
            }
        }
        var commands: [StrategyCommand] = []
        strategy.poll(now: now, into: &commands)
        for command in commands {
            switch command {
            case .submitBatch: Issue.record("this strategy never submits batches")
            case .send(let id32, _):
                let id = Int(id32)
                attemptsOf[id] += 1
                result.attempts += 1
                let d = server.admit(request(id).cost, at: now, withSnapshot: true)
                let outcome: AttemptOutcome
                if d.admitted {
                    server.scheduleOutput(tokens: output, maxTokens: 500, from: now + latency / 2, to: now + latency)
                    outcome = AttemptOutcome(status: 200, error: .none, rateLimits: d.snapshot, inputTokens: 200,
                                             outputTokens: output, sentAt: now, completedAt: now + latency)
                } else {
                    result.refused += 1
                    outcome = AttemptOutcome(status: 429, error: .rateLimited, retryAfter: d.retryAfter.map(Double.init),
                                             shouldRetry: true, refusedBy: d.refusedBy, rateLimits: d.snapshot,
                                             sentAt: now, completedAt: now + 0.05)
                }
                completions.append((outcome.completedAt, id, outcome))
            case .giveUp(let id32, _): result.failed += 1; end(Int(id32))
            case .drop(let id32, _): result.dropped += 1; end(Int(id32))
            }
        }
    }
    if steps >= 1_000_000 { result.violations.append("the driver did not finish") }
    if ended.contains(false) { result.violations.append("\(ended.filter { !$0 }.count) requests never ended") }
    return result
}

@Suite struct LimitersAgainstTheServerTests {
    /// 60 RPM enforced as 1 per second (server burst 1/60), Poisson arrivals at twice the limit.
    static let server = LimitConfig(rpm: 60, itpm: 1e9, otpm: 1e9, burst: 1.0 / 60)

    static func poisson(rate: Double, count: Int, seed: UInt64) -> [Double] {
        let random = RandomSource(seed: seed, stream: "limiter-arrivals")
        var t = 0.0
        return (0..<count).map { _ in t += random.exponential(mean: 1 / rate); return t }
    }

    fileprivate func run(_ spec: StrategySpec, arrivals: [Double]) throws -> DriverResult {
        var s = try StrategyFactory.make(spec, limits: Self.server, seed: 3)
        return drive(&s, limits: Self.server, arrivals: arrivals)
    }

    /// A token bucket sized exactly to the server's one-second bucket never gets a 429, while
    /// sending at arrival gets about half refused.
    @Test func tokenBucketSizedToTheServerAvoidsRefusals() throws {
        let arrivals = Self.poisson(rate: 2, count: 600, seed: 11)
        let none = try run(StrategySpec(name: "none"), arrivals: arrivals)
        let bucket = try run(StrategySpec(name: "token-bucket"), arrivals: arrivals)
        let bounded = try run(StrategySpec(name: "token-bucket", params: ["max_queue": .number(5)]), arrivals: arrivals)
        for r in [none, bucket, bounded] {
            #expect(r.violations.isEmpty, "\(r.violations)")
            #expect(r.offered == r.succeeded + r.failed + r.dropped)
        }
        #expect(none.refused > 200, "about half of 600 at twice the limit: \(none.refused)")
        #expect(none.failed == none.refused)
        #expect(bucket.refused == 0 && bucket.succeeded == 600 && bucket.dropped == 0)
        #expect(bounded.refused == 0 && bounded.dropped > 200 && bounded.succeeded + bounded.dropped == 600)
    }

    /// The other pacers against the same server. GCRA (T = 1 s, no burst) and header pacing
    /// send at most one request per refill, so refusals are rare (float ties with the server's
    /// bucket); AIMD probes above the limit by design and is refused once per sawtooth.
    @Test func otherLimitersRefusedFarLessThanNone() throws {
        let arrivals = Self.poisson(rate: 2, count: 400, seed: 5)
        let none = try run(StrategySpec(name: "none"), arrivals: arrivals)
        #expect(none.refused > 150)
        for (name, factor) in [("gcra", 20), ("header-paced", 20), ("aimd-rate", 4)] {
            let r = try run(StrategySpec(name: name), arrivals: arrivals)
            #expect(r.violations.isEmpty, "\(name): \(r.violations)")
            #expect(r.offered == r.succeeded + r.failed + r.dropped, "\(name)")
            #expect(r.refused * factor < none.refused, "\(name): \(r.refused) vs none \(none.refused)")
        }
    }
}
