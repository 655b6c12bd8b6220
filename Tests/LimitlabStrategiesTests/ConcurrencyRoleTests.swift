import LimitlabCore
import LimitlabStrategies
import Testing

/// `concurrency: fixed` (N in flight behind the FIFO queue) and the key pools as a listed role.
@Suite struct ConcurrencyRoleTests {
    private func sends(_ c: [StrategyCommand]) -> [Int32] {
        c.compactMap { if case .send(let r, _) = $0 { return r } else { return nil } }
    }

    /// asyncio.Semaphore(2): two calls in flight, the third waits for a release, in arrival order.
    @Test func fixedHoldsNInFlightAndServesTheQueueInOrder() throws {
        var s = try StrategyFactory.make(StrategySpec(name: "none", concurrency: RoleSpec(name: "fixed", params: [
            "limit": .number(2),
        ])), seed: 1)
        for i in 0..<5 { s.arrived(req(Int32(i)), now: 0) }
        var c: [StrategyCommand] = []
        s.poll(now: 0, into: &c)
        #expect(sends(c) == [0, 1])
        c.removeAll()
        s.poll(now: 1, into: &c)
        #expect(c.isEmpty, "nothing finished, nothing more goes")
        s.finished(req(1), attempt: 1, outcome: ok(2), now: 2)
        s.poll(now: 2, into: &c)
        #expect(sends(c) == [2])
        c.removeAll()
        s.finished(req(0), attempt: 1, outcome: ok(3), now: 3)
        s.finished(req(2), attempt: 1, outcome: ok(3), now: 3)
        s.poll(now: 3, into: &c)
        #expect(sends(c) == [3, 4])
    }

    /// A retry's backoff is spent outside the limit: the failed attempt frees its slot at once.
    @Test func fixedComposesWithRetryAndAnAdmissionLimiter() throws {
        let spec = StrategySpec(name: "gcra", params: ["count": .number(10), "period": .number(1)],
                                retry: RoleSpec(name: "exponential", params: ["base": .number(1)]),
                                concurrency: RoleSpec(name: "fixed", params: ["limit": .number(1)]))
        var s = try StrategyFactory.make(spec, seed: 1)
        let p = try #require(s as? PipelineStrategy)
        #expect(p.admission is GCRALimiter && p.concurrency is FixedConcurrencyLimit)
        for i in 0..<2 { s.arrived(req(Int32(i)), now: 0) }
        var c: [StrategyCommand] = []
        s.poll(now: 0, into: &c)
        #expect(sends(c) == [0], "one in flight")
        c.removeAll()
        s.finished(req(0), attempt: 1, outcome: limited(0.5), now: 0.5)
        s.poll(now: 0.5, into: &c)
        #expect(sends(c) == [1], "the 429'd request backs off and frees its slot; GCRA's 0.1 s spacing has passed")
        c.removeAll()
        s.finished(req(1), attempt: 1, outcome: ok(1), now: 1)
        let wake = try #require(s.nextWakeup)
        s.poll(now: wake, into: &c)
        #expect(sends(c) == [0], "the retry comes back through the queue and the limit")
    }

    @Test func fixedIsListedAndChecked() throws {
        let d = try #require(StrategyRegistry.descriptor(named: "fixed", role: .concurrency))
        #expect(d.parameter("limit")?.defaultValue == "10")
        #expect(throws: StrategyError.self) {
            try StrategyFactory.make(StrategySpec(name: "none", concurrency: RoleSpec(name: "fixed", params: [
                "limit": .number(0),
            ])), seed: 1)
        }
        // The preset expands to the SDK's retry behind ten workers.
        let w = try #require(try StrategyFactory.make(StrategySpec(name: "workers+sdk"), seed: 1) as? PipelineStrategy)
        #expect((w.concurrency as? FixedConcurrencyLimit)?.limit == 10 && w.retry is SDKRetryPolicy)
    }

    /// The pool modes are a role of their own, one entry per mode the scenario's `pool:` accepts,
    /// and each builds a key pool of its mode.
    @Test func keyPoolsAreListedAsARole() throws {
        #expect(StrategyRole(rawValue: "pool")?.scenarioKey == "pool")
        #expect(StrategyRegistry.names(role: .pool) == KeyPoolMode.allCases.map(\.rawValue))
        let keys = [LimitConfig(rpm: 60, itpm: 6000, otpm: 600), LimitConfig(rpm: 30, itpm: 3000, otpm: 300)]
        for mode in KeyPoolMode.allCases {
            let d = try #require(StrategyRegistry.descriptor(named: mode.rawValue, role: .pool))
            #expect(!d.summary.isEmpty && d.mirrors.contains("https://"))
            #expect(StrategyRegistry.descriptor(named: mode.rawValue) == nil, "a pool is not a strategy name:")
            let s = try StrategyFactory.make(StrategySpec(name: "token-bucket", pool: mode), keys: keys, seed: 1)
            #expect((s as? KeyPoolStrategy)?.mode == mode)
        }
    }
}
