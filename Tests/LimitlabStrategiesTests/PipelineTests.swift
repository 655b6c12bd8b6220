import LimitlabCore
import LimitlabStats
import LimitlabStrategies
import Testing

/// Admission test double: one send per `spacing` seconds.
struct Spacing: AdmissionPolicy {
    var spacing: Double
    var next = 0.0
    mutating func ask(_ request: PendingRequest, attempt: Int, now: Double) -> AdmissionAnswer {
        now >= next ? .now : .at(next)
    }
    mutating func sent(_ request: PendingRequest, attempt: Int, now: Double) { next = now + spacing }
}

struct FixedConcurrency: ConcurrencyPolicy {
    var limit: Int
    mutating func finished(outcome: AttemptOutcome, inFlight: Int, now: Double) {}
}

struct Denying: RetryBudget {
    mutating func attemptSent(isRetry: Bool, now: Double) {}
    mutating func attemptFinished(_ outcome: AttemptOutcome, now: Double) {}
    mutating func allowRetry(now: Double) -> Bool { false }
}

struct ShedEverySecond: LoadShedder {
    var n = 0
    mutating func shouldReject(now: Double) -> Bool { n += 1; return n % 2 == 0 }
    mutating func record(accepted: Bool, now: Double) {}
}

func req(_ id: Int32, at t: Double = 0) -> PendingRequest {
    PendingRequest(id: id, intendedAt: t, cost: RequestCost(inputTokens: 10, maxTokens: 10))
}

func ok(_ t: Double) -> AttemptOutcome { AttemptOutcome(status: 200, error: .none, sentAt: t, completedAt: t) }
func limited(_ t: Double, retryAfter: Double = 1) -> AttemptOutcome {
    AttemptOutcome(status: 429, error: .rateLimited, retryAfter: retryAfter, shouldRetry: true, sentAt: t, completedAt: t)
}

@Suite struct PipelineTests {
    @Test func admissionHoldsTheQueueHeadAndKeepsReadyTimes() {
        var s = PipelineStrategy(admission: Spacing(spacing: 1), retry: NoRetryPolicy())
        var c: [StrategyCommand] = []
        for i in 0..<3 { s.arrived(req(Int32(i)), now: 0) }
        s.poll(now: 0, into: &c)
        #expect(c == [.send(request: 0, readyAt: 0)])
        #expect(s.nextWakeup == 1)
        c.removeAll()
        s.poll(now: 1, into: &c)
        #expect(c == [.send(request: 1, readyAt: 0)], "ready at arrival; the second of limiter wait is sent − ready")
        c.removeAll()
        s.poll(now: 2, into: &c)
        #expect(c == [.send(request: 2, readyAt: 0)])
        #expect(s.nextWakeup == nil)
    }

    @Test func queueLimitAndDeadlineDropWithReasons() {
        var s = PipelineStrategy(admission: Spacing(spacing: 10), retry: NoRetryPolicy(), maxQueue: 2, maxQueueWait: 5)
        var c: [StrategyCommand] = []
        for i in 0..<4 { s.arrived(req(Int32(i)), now: 0) }
        s.poll(now: 0, into: &c)
        // Requests 2 and 3 found the queue full (0 and 1 waiting); 0 was sent.
        #expect(c.contains(.drop(request: 2, reason: .queueOverflow)))
        #expect(c.contains(.drop(request: 3, reason: .queueOverflow)))
        #expect(c.contains(.send(request: 0, readyAt: 0)))
        #expect(s.nextWakeup == 5, "woken at the deadline of the waiting request, before the limiter's 10 s")
        c.removeAll()
        s.poll(now: 5.000001, into: &c)
        #expect(c == [.drop(request: 1, reason: .deadline)])
    }

    /// Reject mode: with `maxQueueWait` 0 a request the roles admit now is sent, any other dropped
    /// at once (not left to a wake-up), and a full concurrency limit also drops.
    @Test func zeroQueueWaitIsSendNowOrDrop() {
        var s = PipelineStrategy(admission: Spacing(spacing: 1), concurrency: FixedConcurrency(limit: 2),
                                 retry: NoRetryPolicy(), maxQueueWait: 0)
        var c: [StrategyCommand] = []
        for i in 0..<2 { s.arrived(req(Int32(i)), now: 0) }
        s.poll(now: 0, into: &c)
        #expect(c == [.send(request: 0, readyAt: 0), .drop(request: 1, reason: .deadline)])
        #expect(s.nextWakeup == nil)
        c.removeAll()
        s.arrived(req(2, at: 1), now: 1)
        s.poll(now: 1, into: &c)
        #expect(c == [.send(request: 2, readyAt: 1)], "the limiter admits one per second")
        c.removeAll()
        s.arrived(req(3, at: 2), now: 2)
        s.poll(now: 2, into: &c)
        #expect(c == [.drop(request: 3, reason: .deadline)], "two in flight: the concurrency limit refuses")
    }

    @Test func concurrencyLimitWaitsForACompletion() {
        var s = PipelineStrategy(concurrency: FixedConcurrency(limit: 2), retry: NoRetryPolicy())
        var c: [StrategyCommand] = []
        for i in 0..<3 { s.arrived(req(Int32(i)), now: 0) }
        s.poll(now: 0, into: &c)
        #expect(c.count == 2)
        c.removeAll()
        s.finished(req(0), attempt: 1, outcome: ok(1), now: 1)
        s.poll(now: 1, into: &c)
        #expect(c == [.send(request: 2, readyAt: 0)])
    }

    @Test func retriesReenterTheQueueAfterTheirDelay() {
        var s = PipelineStrategy(retry: ImmediateRetryPolicy(maxAttempts: 2))
        var c: [StrategyCommand] = []
        s.arrived(req(0), now: 0)
        s.poll(now: 0, into: &c)
        c.removeAll()
        s.finished(req(0), attempt: 1, outcome: limited(0.1), now: 0.1)
        s.poll(now: 0.1, into: &c)
        #expect(c == [.send(request: 0, readyAt: 0.1)])
        c.removeAll()
        s.finished(req(0), attempt: 2, outcome: limited(0.2), now: 0.2)
        s.poll(now: 0.2, into: &c)
        #expect(c == [.giveUp(request: 0, reason: .attemptsExhausted)])
    }

    @Test func aSpentBudgetGivesUp() {
        var s = PipelineStrategy(retry: ImmediateRetryPolicy(maxAttempts: 5), budget: Denying())
        var c: [StrategyCommand] = []
        s.arrived(req(0), now: 0)
        s.poll(now: 0, into: &c)
        c.removeAll()
        s.finished(req(0), attempt: 1, outcome: limited(1), now: 1)
        s.poll(now: 1, into: &c)
        #expect(c == [.giveUp(request: 0, reason: .budgetExhausted)])
    }

    @Test func theShedderDropsArrivals() {
        var s = PipelineStrategy(retry: NoRetryPolicy(), shedder: ShedEverySecond())
        var c: [StrategyCommand] = []
        for i in 0..<4 { s.arrived(req(Int32(i)), now: 0) }
        s.poll(now: 0, into: &c)
        #expect(c.filter { if case .drop(_, .shed) = $0 { return true } else { return false } }.count == 2)
    }
}

@Suite struct KeyPoolTests {
    @Test func roundRobinAndLeastLoaded() {
        var rr = KeyPoolStrategy(mode: .roundRobin, strategies: [NoRetryStrategy(), NoRetryStrategy(), NoRetryStrategy()])
        for i in 0..<5 { rr.arrived(req(Int32(i)), now: 0) }
        #expect((0..<5).map { rr.key(for: Int32($0)) } == [0, 1, 2, 0, 1])

        var ll = KeyPoolStrategy(mode: .leastLoaded, strategies: [NoRetryStrategy(), NoRetryStrategy()])
        var c: [StrategyCommand] = []
        ll.arrived(req(0), now: 0) // key 0
        ll.arrived(req(1), now: 0) // key 1
        ll.poll(now: 0, into: &c)
        ll.finished(req(0), attempt: 1, outcome: ok(1), now: 1)
        ll.arrived(req(2), now: 1) // key 0 has none outstanding now
        #expect(ll.key(for: 2) == 0)
        ll.arrived(req(3), now: 1) // tie 1:1 → lowest index
        #expect(ll.key(for: 3) == 0)
        #expect(ll.load == [2, 1])
    }
}
