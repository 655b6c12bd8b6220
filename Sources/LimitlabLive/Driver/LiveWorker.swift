public import LimitlabCore
import Foundation
import LimitlabStats

/// One worker process of several (`limitlab run --workers N`): the process runs only its share
/// of the scenario's arrivals, its strategy objects are worker `index` of `count` (local limiters
/// sized from the full limit, shared limiters in the store `makeStore` returns), and the first
/// strategy run's model time 0 is `startAt`, the wall time every worker was given — the clock the
/// shared store's `now` is read on. Each worker is a separate `LiveRunner`; `RunMerge` joins them.
public struct LiveWorkerOptions: Sendable {
    /// 0-based index and number of workers.
    public var index: Int
    public var count: Int
    /// Indices in the scenario's arrival stream of the requests this worker sends, ascending.
    /// The run's stream, logs and report hold only these (renumbered 0…); `RunMerge` renumbers
    /// the union by intended time.
    public var requests: [Int]
    /// Unix time of model time 0 of the first strategy run; nil: when the run starts.
    public var startAt: Double?
    /// Called on the engine thread before each strategy run (index, strategy): the store of its
    /// shared limiters, created on the thread that will be its only user. nil, or a nil result:
    /// a fresh `InMemoryQuotaStore` for the run (shared limiters then share nothing with the
    /// other processes).
    public var makeStore: (@Sendable (Int, StrategySpec) throws -> (any SharedQuotaStore)?)?
    /// Key namespace of strategy `label`'s shared limiters; every worker must use the same.
    public var namespace: @Sendable (StrategySpec) -> String

    public init(index: Int, count: Int, requests: [Int], startAt: Double? = nil,
                makeStore: (@Sendable (Int, StrategySpec) throws -> (any SharedQuotaStore)?)? = nil,
                namespace: @escaping @Sendable (StrategySpec) -> String) {
        self.index = index; self.count = count; self.requests = requests; self.startAt = startAt
        self.makeStore = makeStore; self.namespace = namespace
    }

    /// A worker that reaches the common start later than this (seconds) gets a warning.
    public static let lateStartWarning = 0.005

    /// The requests worker `index` of `count` gets with `split`, as `WorkerPoolStrategy` deals
    /// them in the simulator: round-robin (arrival k to worker k mod N) or seeded random (the
    /// pool's draws for strategy `label`, in arrival order).
    public static func share(of stream: ArrivalStream, index: Int, count: Int, split: WorkerSplit = .roundRobin,
                             seed: UInt64, label: String) -> [Int] {
        switch split {
        case .roundRobin:
            return Array(stride(from: index, to: stream.count, by: Swift.max(1, count)))
        case .random:
            let random = RandomSource(seed: seed, stream: "workers:" + label)
            return (0..<stream.count).filter { _ in random.uniformInt(count) == index }
        }
    }
}

extension ArrivalStream {
    /// The requests at `indices` (ascending), renumbered 0…; the window is unchanged.
    func subset(_ indices: [Int]) -> ArrivalStream {
        var s = ArrivalStream()
        s.reserveCapacity(indices.count)
        for r in indices {
            s.intendedAt.append(intendedAt[r])
            s.inputTokens.append(inputTokens[r])
            s.outputTokens.append(outputTokens[r])
            s.maxTokens.append(maxTokens[r])
            s.prefixTokens.append(prefixTokens[r])
            s.prefixId.append(prefixId[r])
        }
        s.window = window
        return s
    }
}

/// A store whose `now` is moved forward by a constant: a worker whose model clock started
/// `shift` seconds after the common start still reads the shared state on the common clock.
final class ShiftedQuotaStore: SharedQuotaStore {
    private let inner: any SharedQuotaStore
    private let shift: Double

    init(_ inner: any SharedQuotaStore, by shift: Double) {
        self.inner = inner
        self.shift = shift
    }

    func takeTokens(key: String, costs: [Double], capacities: [Double], refillPerSecond: [Double],
                    now: Double, reserveWithin: Double) throws(SharedQuotaError) -> SharedQuotaDecision {
        // `retryAfter` (a refusal's wait or a reservation's slot) is relative: no shift back.
        try inner.takeTokens(key: key, costs: costs, capacities: capacities, refillPerSecond: refillPerSecond,
                             now: now + shift, reserveWithin: reserveWithin)
    }

    func adjustTokens(key: String, amounts: [Double], capacities: [Double], refillPerSecond: [Double],
                      now: Double) throws(SharedQuotaError) {
        try inner.adjustTokens(key: key, amounts: amounts, capacities: capacities, refillPerSecond: refillPerSecond,
                               now: now + shift)
    }

    func takeGCRA(key: String, quantity: Double, emissionInterval: Double, tolerance: Double,
                  now: Double, reserveWithin: Double) throws(SharedQuotaError) -> SharedQuotaDecision {
        try inner.takeGCRA(key: key, quantity: quantity, emissionInterval: emissionInterval, tolerance: tolerance,
                           now: now + shift, reserveWithin: reserveWithin)
    }
}
