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
