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
}
