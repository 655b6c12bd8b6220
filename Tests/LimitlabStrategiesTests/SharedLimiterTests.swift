import LimitlabCore
import LimitlabStrategies
import Testing

@Suite("Shared limiters")
struct SharedLimiterTests {
    static let config = TokenBucketLimiter.Configuration(rpm: 60, itpm: 6000, otpm: 600, burstSeconds: 10)
    static func request(_ id: Int32, input: Int = 100) -> PendingRequest {
        PendingRequest(id: id, intendedAt: 0, cost: RequestCost(inputTokens: input, maxTokens: 500))
    }
    static let caps = [10.0, 1000, 100], rates = [1.0, 100, 10]

    @Test func aGrantTakenInAskIsChargedOnceAndNotLost() {
        let store = InMemoryQuotaStore()
        var l = SharedLimiter(kind: .tokenBucket(Self.config), store: store, key: "k", fallback: .local, storeRetry: 1,
                              workerCount: 2)
        #expect(l.ask(Self.request(1), attempt: 1, now: 0) == .now)
        // Asking again before sending must not take a second time.
        #expect(l.ask(Self.request(1), attempt: 1, now: 0) == .now)
        l.sent(Self.request(1), attempt: 1, now: 0)
        let levels = store.levels(key: "k", capacities: Self.caps, refillPerSecond: Self.rates, now: 0)
        #expect(levels == [9, 900, 100])
    }

    @Test func aGrantNotSentIsRefunded() {
        let store = InMemoryQuotaStore()
        var l = SharedLimiter(kind: .tokenBucket(Self.config), store: store, key: "k", fallback: .local, storeRetry: 1,
                              workerCount: 1)
        #expect(l.ask(Self.request(1), attempt: 1, now: 0) == .now)
        #expect(l.ask(Self.request(2, input: 50), attempt: 1, now: 0) == .now)
        l.sent(Self.request(2, input: 50), attempt: 1, now: 0)
        #expect(store.levels(key: "k", capacities: Self.caps, refillPerSecond: Self.rates, now: 0) == [9, 950, 100])
    }

    @Test func outputIsSettledInTheStoreAtCompletion() {
        let store = InMemoryQuotaStore()
        var l = SharedLimiter(kind: .tokenBucket(Self.config), store: store, key: "k", fallback: .local, storeRetry: 1,
                              workerCount: 1)
        _ = l.ask(Self.request(1), attempt: 1, now: 0)
        l.sent(Self.request(1), attempt: 1, now: 0)
        l.finished(Self.request(1), attempt: 1, outcome: AttemptOutcome(status: 200, error: .none, outputTokens: 250,
                                                                         sentAt: 0, completedAt: 0), now: 0)
        #expect(store.levels(key: "k", capacities: Self.caps, refillPerSecond: Self.rates, now: 0)[2] == -150)
        // The debt holds the next request back until refill repays it: 150 / 10 per second.
        #expect(l.ask(Self.request(2), attempt: 1, now: 0) == .at(15))
    }

    @Test func twoWorkersShareOneBudget() {
        let store = InMemoryQuotaStore()
        let gcra = SharedLimiter.Kind.gcra(count: 60, period: 60, maxBurst: 0)
        var a = SharedLimiter(kind: gcra, store: store, key: "g", fallback: .local, storeRetry: 1, workerCount: 2)
        var b = SharedLimiter(kind: gcra, store: store, key: "g", fallback: .local, storeRetry: 1, workerCount: 2)
        #expect(a.ask(Self.request(1), attempt: 1, now: 0) == .now)
        a.sent(Self.request(1), attempt: 1, now: 0)
        // b sees a's send: one per second for the organisation, not for each worker.
        #expect(b.ask(Self.request(2), attempt: 1, now: 0.5) == .at(1))
        #expect(!b.viaFallback(2))
    }

    /// One request per second, no burst beyond one: the requests bucket holds 1 and refills 1/s.
    static let perSecond = TokenBucketLimiter.Configuration(rpm: 60, itpm: nil, otpm: nil, burstSeconds: 1)
    static func level(_ store: InMemoryQuotaStore, _ now: Double) -> Double {
        store.levels(key: "k", capacities: [1], refillPerSecond: [1], now: now)[0]
    }

    @Test func aReservationIsAGrantFromItsSlotInTheOrderAsked() {
        let store = InMemoryQuotaStore()
        var a = SharedLimiter(kind: .tokenBucket(Self.perSecond), store: store, key: "k", fallback: .local,
                              storeRetry: 1, workerCount: 2)
        var b = SharedLimiter(kind: .tokenBucket(Self.perSecond), store: store, key: "k", fallback: .local,
                              storeRetry: 1, workerCount: 2)
        #expect(a.ask(Self.request(1), attempt: 1, now: 0) == .now)
        a.sent(Self.request(1), attempt: 1, now: 0)
        // The bucket is empty: b reserves the next slot (charged now, the bucket in debt)…
        #expect(b.ask(Self.request(2), attempt: 1, now: 0, deadline: 10) == .at(1))
        #expect(Self.level(store, 0) == -1)
        // …and a, asking later, queues behind it.
        #expect(a.ask(Self.request(3), attempt: 1, now: 0.5, deadline: 10) == .at(2))
        #expect(Self.level(store, 0.5) == -1.5)
        // Asked again, b holds its slot without taking again; from the slot on it may send.
        #expect(b.ask(Self.request(2), attempt: 1, now: 0.5, deadline: 10) == .at(1))
        #expect(b.ask(Self.request(2), attempt: 1, now: 1, deadline: 10) == .now)
        b.sent(Self.request(2), attempt: 1, now: 1)
        #expect(a.ask(Self.request(3), attempt: 1, now: 2, deadline: 10) == .now)
        a.sent(Self.request(3), attempt: 1, now: 2)
        // Three requests in two seconds from a bucket of one refilling 1/s: nothing over, nothing lost.
        #expect(Self.level(store, 2) == 0)
    }

    @Test func noReservationAtOrAfterTheDeadlineAndAnAbandonedOneIsRefunded() {
        let store = InMemoryQuotaStore()
        var l = SharedLimiter(kind: .tokenBucket(Self.perSecond), store: store, key: "k", fallback: .local,
                              storeRetry: 1, workerCount: 1)
        #expect(l.ask(Self.request(1), attempt: 1, now: 0) == .now)
        l.sent(Self.request(1), attempt: 1, now: 0)
        // The slot would be at 1: a queue that drops the request at 0.5, or at 1 itself (the
        // pipeline drops at now ≥ deadline), gets a refusal; nothing is charged.
        #expect(l.ask(Self.request(2), attempt: 1, now: 0, deadline: 0.5) == .at(1))
        #expect(l.ask(Self.request(2), attempt: 1, now: 0, deadline: 1) == .at(1))
        #expect(Self.level(store, 0) == 0)
        // Just after the slot: reserved.
        #expect(l.ask(Self.request(2), attempt: 1, now: 0, deadline: (1.0).nextUp) == .at(1))
        #expect(Self.level(store, 0) == -1)
        // The queue dropped it anyway (a live worker woke too late): the slot is given back.
        l.abandoned(Self.request(2), attempt: 1, now: 0.5)
        #expect(Self.level(store, 0.5) == 0.5)
        #expect(l.ask(Self.request(3), attempt: 1, now: 0.5) == .at(1))
    }

    /// The window the limiter reserves within always ends strictly before the deadline the
    /// pipeline computes (`readyAt + maxQueueWait`, dropped at `now ≥ deadline`), to the last bit,
    /// and loses at most a few ulps of it.
    @Test func theReserveWindowEndsJustBeforeTheDeadline() {
        var state: UInt64 = 0x1234_5678
        func unit() -> Double {
            state = state &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
            return Double(state >> 11) / Double(1 << 53)
        }
        let scales = [1e-6, 1e-3, 0.1, 1, 60, 1e4, 1e9]
        for _ in 0..<200_000 {
            let readyAt = unit() * scales[Int(unit() * 7)]
            let maxWait = unit() * scales[Int(unit() * 7)]
            let deadline = readyAt + maxWait
            let now = readyAt + unit() * maxWait
            guard now < deadline else { continue }
            let w = SharedLimiter.reserveWindow(now: now, deadline: deadline)
            #expect(w >= 0 && now + w < deadline, "now \(now), deadline \(deadline), window \(w)")
            #expect(deadline - now - w <= 4 * deadline.ulp, "now \(now), deadline \(deadline), window \(w)")
        }
        #expect(SharedLimiter.reserveWindow(now: 5, deadline: .infinity) == .infinity)
        #expect(SharedLimiter.reserveWindow(now: 5, deadline: 5) == 0)
        #expect(SharedLimiter.reserveWindow(now: 5, deadline: 4) == 0)
    }
}
