import LimitlabCore
import Testing

/// Hand-computed cases for `InMemoryQuotaStore`'s reservations (the arithmetic the Redis scripts
/// reproduce; Tests/LimitlabRedisTests compares the two call by call).
@Suite struct SharedQuotaStoreTests {
    /// One request every 2 s (capacity 1): a full bucket admits now, then every take that may
    /// wait is charged at once and gets the next slot, 2 s (cost / rate) after the previous one.
    @Test func reservationsGetFIFOSlotsCostOverRateApart() throws {
        let store = InMemoryQuotaStore()
        func take(_ now: Double, within: Double = .infinity) throws -> SharedQuotaDecision {
            try store.takeTokens(key: "k", costs: [1], capacities: [1], refillPerSecond: [0.5], now: now,
                                 reserveWithin: within)
        }
        #expect(try take(10) == .now)
        #expect(try take(10) == .reserved(after: 2))
        #expect(try take(10) == .reserved(after: 4))
        #expect(store.levels(key: "k", capacities: [1], refillPerSecond: [0.5], now: 10) == [-2])
        // Asked later, the slot is still the next one in line: 10 + 6 = 11 + 5.
        #expect(try take(11) == .reserved(after: 5))
        // Without reservations (the old call) the same state is a refusal.
        #expect(try store.takeTokens(key: "k", costs: [1], capacities: [1], refillPerSecond: [0.5], now: 11)
                == .refused(retryAfter: 7))
    }

    @Test func aTakeThatWouldWaitBeyondReserveWithinChangesNothing() throws {
        let store = InMemoryQuotaStore()
        let caps = [1.0, 500], rates = [0.5, 100]
        func take(_ costs: [Double], _ now: Double, within: Double) throws -> SharedQuotaDecision {
            try store.takeTokens(key: "k", costs: costs, capacities: caps, refillPerSecond: rates, now: now,
                                 reserveWithin: within)
        }
        #expect(try take([1, 300], 0, within: 0) == .now)           // levels [0, 200]
        // Requests short 1 (2 s), input short 100 (1 s): the slot is the later one.
        #expect(try take([1, 300], 0, within: 2) == .reserved(after: 2))   // levels [-1, -100]
        let before = store.levels(key: "k", capacities: caps, refillPerSecond: rates, now: 1)
        // At t = 1 levels are [−0.5, 0]: requests short 1.5 (3 s), input short 300 (3 s).
        #expect(try take([1, 300], 1, within: 2.999) == .refused(retryAfter: 3))
        #expect(store.levels(key: "k", capacities: caps, refillPerSecond: rates, now: 1) == before)
        #expect(try take([1, 300], 1, within: 3) == .reserved(after: 3))
        // A slot that never comes (rate 0) is refused even with no limit on the wait.
        let never = try store.takeTokens(key: "z", costs: [2], capacities: [1], refillPerSecond: [0], now: 0,
                                         reserveWithin: .infinity)
        #expect(never == .now)   // a cost above capacity: full bucket, then debt
        #expect(try store.takeTokens(key: "z", costs: [1], capacities: [1], refillPerSecond: [0], now: 0,
                                     reserveWithin: .infinity) == .refused(retryAfter: .infinity))
        #expect(store.levels(key: "z", capacities: [1], refillPerSecond: [0], now: 5) == [-1])
    }

    @Test func aRefundedReservationGivesItsSlotBack() throws {
        let store = InMemoryQuotaStore()
        _ = try store.takeTokens(key: "k", costs: [1], capacities: [1], refillPerSecond: [0.5], now: 0, reserveWithin: 9)
        #expect(try store.takeTokens(key: "k", costs: [1], capacities: [1], refillPerSecond: [0.5], now: 0,
                                     reserveWithin: 9) == .reserved(after: 2))
        try store.adjustTokens(key: "k", amounts: [-1], capacities: [1], refillPerSecond: [0.5], now: 0.5)
        #expect(try store.takeTokens(key: "k", costs: [1], capacities: [1], refillPerSecond: [0.5], now: 0.5,
                                     reserveWithin: 9) == .reserved(after: 1.5))
    }

    /// GCRA: T = 2 s, no burst. Slots T apart in the order asked; a refusal leaves the TAT.
    @Test func gcraReservationsAreTApart() throws {
        let store = InMemoryQuotaStore()
        func take(_ now: Double, within: Double = .infinity) throws -> SharedQuotaDecision {
            try store.takeGCRA(key: "g", quantity: 1, emissionInterval: 2, tolerance: 2, now: now, reserveWithin: within)
        }
        #expect(try take(100) == .now)                       // TAT 102
        #expect(try take(100) == .reserved(after: 2))        // TAT 104
        #expect(try take(101) == .reserved(after: 3))        // slot 104, TAT 106
        #expect(try take(101, within: 4.5) == .refused(retryAfter: 5))
        #expect(try take(101, within: 0) == .refused(retryAfter: 5))
        #expect(try take(101, within: 5) == .reserved(after: 5))   // slot 106: the refusals took nothing
        #expect(try store.takeGCRA(key: "g", quantity: 1, emissionInterval: 2, tolerance: 2, now: 200) == .now)
    }
}
