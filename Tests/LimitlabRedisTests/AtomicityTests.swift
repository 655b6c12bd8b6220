import Dispatch
import Foundation
import LimitlabCore
import LimitlabRedis
import Testing

@Suite struct AtomicityTests {
    /// Six threads, each with its own connection, hammer one bucket that never refills: exactly
    /// its capacity passes, as one process would let through.
    @Test func concurrentClientsNeverOvershootABucket() throws {
        let (url, fixture) = try sharedServerURL()
        defer { withExtendedLifetime(fixture) {} }
        let prefix = uniquePrefix("atomic")
        let threads = 6, perThread = 400, capacity = 1_000.0
        let counts = Counts(threads)
        DispatchQueue.concurrentPerform(iterations: threads) { t in
            do {
                let store = try RedisQuotaStore(url: url, options: RedisQuotaOptions(
                    connectTimeout: 5, commandTimeout: 5, keyPrefix: prefix))
                for _ in 0..<perThread {
                    if try store.takeTokens(key: "one", costs: [1, 3], capacities: [capacity, 3 * capacity],
                                            refillPerSecond: [0, 0], now: 5).allowed {
                        counts.add(t)
                    }
                }
            } catch {
                counts.fail("\(error)")
            }
        }
        #expect(counts.errors.isEmpty, "\(counts.errors)")
        #expect(counts.total == Int(capacity), "passed \(counts.total) of \(threads * perThread)")
        #expect(counts.perThread.filter { $0 > 0 }.count >= 2, "\(counts.perThread)")
    }

    /// The same for GCRA: the number allowed at one instant equals the reference store's.
    @Test func concurrentClientsNeverOvershootGCRA() throws {
        let (url, fixture) = try sharedServerURL()
        defer { withExtendedLifetime(fixture) {} }
        let prefix = uniquePrefix("atomic-gcra")
        let reference = InMemoryQuotaStore()
        var expected = 0
        for _ in 0..<2_400 where try reference.takeGCRA(key: "g", quantity: 1, emissionInterval: 0.01, tolerance: 3,
                                                         now: 100).allowed { expected += 1 }
        #expect(expected == 300)
        let counts = Counts(6)
        DispatchQueue.concurrentPerform(iterations: 6) { t in
            do {
                let store = try RedisQuotaStore(url: url, options: RedisQuotaOptions(
                    connectTimeout: 5, commandTimeout: 5, keyPrefix: prefix))
                for _ in 0..<400 where try store.takeGCRA(key: "g", quantity: 1, emissionInterval: 0.01, tolerance: 3,
                                                          now: 100).allowed {
                    counts.add(t)
                }
            } catch {
                counts.fail("\(error)")
            }
        }
        #expect(counts.errors.isEmpty, "\(counts.errors)")
        #expect(counts.total == expected)
    }

    /// Six threads with six connections reserve from one empty bucket (1 request, 100/s) at one
    /// instant: every take gets its own slot, 10 ms after the one before in the order Redis ran
    /// them — no two alike, none lost, each thread's slots strictly increasing — and the same
    /// for GCRA.
    @Test func concurrentReservationsGetDistinctFIFOSlots() throws {
        let (url, fixture) = try sharedServerURL()
        defer { withExtendedLifetime(fixture) {} }
        let prefix = uniquePrefix("atomic-reserve")
        let threads = 6, perThread = 100
        for gcra in [false, true] {
            let slots = Slots(threads)
            DispatchQueue.concurrentPerform(iterations: threads) { t in
                do {
                    let store = try RedisQuotaStore(url: url, options: RedisQuotaOptions(
                        connectTimeout: 5, commandTimeout: 5, keyPrefix: prefix))
                    for _ in 0..<perThread {
                        let d = gcra
                            ? try store.takeGCRA(key: "g", quantity: 1, emissionInterval: 0.01, tolerance: 0.01, now: 7,
                                                 reserveWithin: .infinity)
                            : try store.takeTokens(key: "one", costs: [1], capacities: [1], refillPerSecond: [100], now: 7,
                                                   reserveWithin: .infinity)
                        guard d.allowed else { throw SharedQuotaError("refused: \(d)") }
                        slots.add(t, d.retryAfter)
                    }
                } catch {
                    slots.fail("\(error)")
                }
            }
            #expect(slots.errors.isEmpty, "\(slots.errors)")
            for mine in slots.perThread {
                #expect(zip(mine, mine.dropFirst()).allSatisfy { $0 < $1 }, "a thread's slots go forward: \(mine)")
            }
            let all = slots.perThread.flatMap { $0 }.sorted()
            #expect(all.count == threads * perThread && Set(all).count == all.count, "no two takes share a slot")
            #expect(slots.perThread.filter { !$0.isEmpty }.count == threads)
            if gcra {
                #expect(zip(all, all.dropFirst()).allSatisfy { abs($1 - $0 - 0.01) < 1e-9 }, "slots T apart")
            } else {
                // The k-th take waits k / 100 s (exactly: debt k − 1 plus one request at 100/s).
                #expect(all == (0..<all.count).map { Double($0) / 100 })
            }
        }
    }

    /// One store shared by threads (not the intended use) is still correct: calls serialise.
    @Test func oneStoreFromSeveralThreadsIsSerialised() throws {
        let (url, fixture) = try sharedServerURL()
        defer { withExtendedLifetime(fixture) {} }
        let store = try RedisQuotaStore(url: url, options: RedisQuotaOptions(commandTimeout: 5,
                                                                            keyPrefix: uniquePrefix("one-store")))
        let counts = Counts(4)
        DispatchQueue.concurrentPerform(iterations: 4) { t in
            for _ in 0..<100 {
                do {
                    if try store.takeTokens(key: "k", costs: [1], capacities: [150], refillPerSecond: [0], now: 1).allowed {
                        counts.add(t)
                    }
                } catch { counts.fail("\(error)") }
            }
        }
        #expect(counts.errors.isEmpty, "\(counts.errors)")
        #expect(counts.total == 150)
    }
}

final class Counts: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var perThread: [Int]
    private(set) var errors: [String] = []
    init(_ n: Int) { perThread = Array(repeating: 0, count: n) }
    func add(_ t: Int) { lock.withLock { perThread[t] += 1 } }
    func fail(_ e: String) { lock.withLock { errors.append(e) } }
    var total: Int { lock.withLock { perThread.reduce(0, +) } }
}

final class Slots: @unchecked Sendable {
    private let lock = NSLock()
    private(set) var perThread: [[Double]]
    private(set) var errors: [String] = []
    init(_ n: Int) { perThread = Array(repeating: [], count: n) }
    func add(_ t: Int, _ slot: Double) { lock.withLock { perThread[t].append(slot) } }
    func fail(_ e: String) { lock.withLock { errors.append(e) } }
}
