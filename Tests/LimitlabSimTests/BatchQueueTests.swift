import LimitlabCore
import LimitlabServer
import LimitlabStats
import Testing

/// `BatchQueue` against the figures of Anthropic's Message Batches docs
/// (https://docs.anthropic.com/en/docs/build-with-claude/batch-processing and the batch table of
/// https://docs.anthropic.com/en/api/rate-limits).
@Suite struct BatchQueueTests {
    static func queue(_ model: BatchServerModel = BatchServerModel(), tier: String? = "tier-1", seed: UInt64 = 1) -> BatchQueue {
        BatchQueue(model: model, tier: tier.flatMap { TierCatalog.builtIn.tier(named: $0) },
                   random: RandomSource(seed: seed, stream: "batches"))
    }

    @Test func pricesAndLimitsComeFromTheDocs() {
        let q1 = Self.queue()
        #expect(q1.priceFactor == 0.5, "batch requests cost 50 % of the standard price")
        #expect(q1.rpm == 50 && q1.queueLimit == 100_000, "Tier 1: 50 batch RPM, 100,000 queued requests")
        let q4 = Self.queue(tier: "tier-4")
        #expect(q4.rpm == 4000 && q4.queueLimit == 500_000)
        #expect(Self.queue(tier: nil).queueLimit == 100_000)
        #expect(BatchServerModel().expiry == 86_400, "unfinished requests expire after 24 h")
        #expect(BatchServerModel.maxRequestsPerBatch == 100_000)
    }

    @Test func theQueueLimitRefusesABatchThatWouldOverflowIt() {
        // 1 request per second; a queue of 10.
        var q = Self.queue(BatchServerModel(requestsPerSecond: 1, queue: 10))
        #expect(q.create(count: 6, at: 0) == .success(0))
        #expect(q.create(count: 5, at: 0) == .failure(.queueFull(queued: 6, limit: 10)))
        #expect(q.create(count: 4, at: 0) == .success(1), "exactly the limit is allowed")
        // Each batch is worked through at its own pace: after 3 s the first has 3 requests
        // left and the second 1, so 6 more fit, not 7.
        #expect(q.queued(at: 3) == 4)
        #expect(q.create(count: 7, at: 3) == .failure(.queueFull(queued: 4, limit: 10)))
        #expect(q.create(count: 6, at: 3) == .success(2))
        #expect(q.create(count: 100_001, at: 3) == .failure(.tooLarge(count: 100_001, max: 100_000)))
    }

    @Test func theBatchRPMAdmitsAMinuteOfCallsThenRefuses() {
        var q = Self.queue()
        var admitted = 0
        for _ in 0..<60 where q.admitCall(at: 0).admitted { admitted += 1 }
        #expect(admitted == 50)
        let refused = q.admitCall(at: 0)
        #expect(!refused.admitted && refused.refusedBy == .requests && (refused.retryAfter ?? 0) >= 1)
        #expect(q.admitCall(at: 1.3).admitted, "50 per minute refill one call every 1.2 s")
    }

    @Test func unprocessedRequestsExpireAtTheExpiry() {
        // 20 requests at 1 per second with a 10 s expiry: 10 succeed, 10 expire at created + 10.
        var q = Self.queue(BatchServerModel(requestsPerSecond: 1, expiry: 10))
        guard case .success(let i) = q.create(count: 20, at: 100) else { Issue.record("refused"); return }
        let end = q.outcome(i)
        #expect(end.end == .expired && end.endsAt == 110 && end.processed == 10)
        #expect(!q.progress(i, at: 109.9).ended && q.progress(i, at: 109.9).processed == 9)
        #expect(q.progress(i, at: 110).ended)
        // The default 24 h expiry: the same batch completes at 120.
        var q24 = Self.queue(BatchServerModel(requestsPerSecond: 1))
        // A one-request batch at 1000/s completes with its request processed.
        var fast = Self.queue()
        guard case .success(let f) = fast.create(count: 1, at: 0.1) else { Issue.record("refused"); return }
        #expect(fast.outcome(f).processed == 1 && fast.outcome(f).end == .completed)
        guard case .success(let j) = q24.create(count: 20, at: 100) else { Issue.record("refused"); return }
        let done = q24.outcome(j)
        #expect(done.processed == 20 && done.endsAt == 120 && done.end == .completed && done.ended)
        // A client polling every 30 s from creation sees it at 130.
        #expect(q24.resultSeen(j, pollEvery: 30) == 130)
    }

    @Test func aCancelEndsTheBatchAfterTheRequestInProgress() {
        var q = Self.queue(BatchServerModel(requestsPerSecond: 2))
        guard case .success(let i) = q.create(count: 100, at: 0) else { Issue.record("refused"); return }
        q.cancel(i, at: 10)
        let end = q.outcome(i)
        #expect(end.end == .canceled && end.endsAt == 10.5 && end.processed == 20)
        #expect(q.queued(at: 10) == 0, "a cancelling batch no longer counts against the queue")
    }

    @Test func startDelaysAreSeededAndHaveTheirMean() {
        func starts(_ seed: UInt64) -> [Double] {
            var q = Self.queue(BatchServerModel(startDelay: 600, queue: 1_000_000), seed: seed)
            return (0..<2000).map { k in
                guard case .success(let i) = q.create(count: 1, at: Double(k)) else { return .nan }
                return q.batches[i].start - q.batches[i].created
            }
        }
        let a = starts(7)
        #expect(a == starts(7), "same seed, same delays")
        #expect(a != starts(8))
        let mean = a.reduce(0, +) / Double(a.count)
        // Exponential, mean 600 s: the standard error of 2000 draws is 600/√2000 ≈ 13 s.
        #expect(abs(mean - 600) < 60, "mean start delay \(mean)")
        #expect(a.allSatisfy { $0 >= 0 })
        // No draw and no delay with a zero mean.
        var q = Self.queue()
        guard case .success(let i) = q.create(count: 1, at: 5) else { Issue.record("refused"); return }
        #expect(q.batches[i].start == 5)
    }
}
