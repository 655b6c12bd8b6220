public import LimitlabCore
public import LimitlabStats

/// N client processes of one organisation in one simulation: arrivals are dealt to workers and
/// each worker runs its own copy of the strategy, so a local limiter sized from the full limit
/// is per worker (each one "throttles correctly on its own"), while shared limiters of all
/// workers meet in one store. A request stays on its worker for all its attempts. Workers and
/// API keys are orthogonal: each worker's copy may itself be a key pool over the org's keys.
public struct WorkerPoolStrategy: ClientStrategy {
    public let split: WorkerSplit
    private var inner: [any ClientStrategy]
    private let random: RandomSource?
    private var next = 0
    /// Worker of each unfinished request.
    private var workerOf: [Int32: Int] = [:]
    private var scratch: [StrategyCommand] = []
    private var endedViaFallback: Set<Int32> = []
    private var firstToPoll = 0
    /// Whether the worker polled first at each instant rotates (default) or is always worker 0.
    /// With the shared limiters' reservations, order at an instant only decides who reserves
    /// first; a test turns the rotation off to show fairness does not depend on it.
    public var rotatesPollOrder = true

    /// `random` draws the worker of each arrival for `.random` (unused for round-robin).
    public init(split: WorkerSplit, workers: [any ClientStrategy], random: RandomSource? = nil) {
        precondition(!workers.isEmpty, "a worker pool needs at least one worker")
        precondition(split != .random || random != nil, "a random split needs a random source")
        self.split = split; self.inner = workers; self.random = random
    }

    public var workerCount: Int { inner.count }

    /// Each worker's gauges, prefixed `w<i>.` (0-based).
    public func stateGauges(now: Double) -> [StateGauge] {
        inner.enumerated().flatMap { w, s in s.stateGauges(now: now).map { StateGauge("w\(w)." + $0.name, $0.value) } }
    }

    private mutating func pick() -> Int {
        switch split {
        case .roundRobin:
            let w = next
            next = (next + 1) % inner.count
            return w
        case .random:
            return random!.uniformInt(inner.count)
        }
    }

    public mutating func arrived(_ request: PendingRequest, now: Double) {
        let w = pick()
        workerOf[request.id] = w
        inner[w].arrived(request, now: now)
    }

    public mutating func finished(_ request: PendingRequest, attempt: Int, outcome: AttemptOutcome, now: Double) {
        guard let w = workerOf[request.id] else { return }
        inner[w].finished(request, attempt: attempt, outcome: outcome, now: now)
        if outcome.succeeded { workerOf.removeValue(forKey: request.id) }
    }

    public mutating func poll(now: Double, into commands: inout [StrategyCommand]) {
        endedViaFallback.removeAll(keepingCapacity: true)
        // Workers woken at the same instant race for a shared store; without reservations a fixed
        // order would let worker 0 win every race, so the first to ask rotates (deterministically).
        let start = rotatesPollOrder ? firstToPoll : 0
        firstToPoll = (firstToPoll + 1) % inner.count
        for i in inner.indices {
            let w = (start + i) % inner.count
            scratch.removeAll(keepingCapacity: true)
            inner[w].poll(now: now, into: &scratch)
            for c in scratch {
                switch c {
                case .giveUp(let r, _), .drop(let r, _):
                    // The driver asks after this poll, when the worker is already forgotten.
                    if inner[w].viaFallback(r) { endedViaFallback.insert(r) }
                    workerOf.removeValue(forKey: r)
                case .send, .submitBatch: break
                }
            }
            commands.append(contentsOf: scratch)
        }
    }

    public var nextWakeup: Double? { inner.compactMap(\.nextWakeup).min() }

    public var readsRateLimitHeaders: Bool { inner.contains { $0.readsRateLimitHeaders } }

    public func key(for request: Int32) -> Int {
        guard let w = workerOf[request] else { return 0 }
        return inner[w].key(for: request)
    }

    public func worker(for request: Int32) -> Int { workerOf[request] ?? 0 }

    public func viaFallback(_ request: Int32) -> Bool {
        guard let w = workerOf[request] else { return endedViaFallback.contains(request) }
        return inner[w].viaFallback(request)
    }

    public func modelClass(for request: Int32) -> Int { workerOf[request].map { inner[$0].modelClass(for: request) } ?? 0 }

    public func inputTokens(for request: Int32) -> Int? { workerOf[request].flatMap { inner[$0].inputTokens(for: request) } }
    public func batchRequests(first: Int32) -> [Int32] { workerOf[first].map { inner[$0].batchRequests(first: first) } ?? [] }
}

extension StrategyFactory {
    /// The strategy of a run with `workers`: one copy of `spec` per worker, all sharing `store`
    /// (default: one new `InMemoryQuotaStore` for the run, as one Redis would be). Without
    /// `workers` (or with one worker) the single strategy `make` builds, with that store.
    public static func make(_ spec: StrategySpec, limits: LimitConfig, keys: [LimitConfig] = [], seed: UInt64,
                            workers: WorkersSpec?, store: (any SharedQuotaStore)? = nil,
                            namespace: String? = nil, models: [String] = []) throws(StrategyError) -> any ClientStrategy {
        let shared = store ?? InMemoryQuotaStore()
        guard let workers, workers.count > 1 else {
            return try make(spec, limits: limits, keys: keys, seed: seed,
                            placement: WorkerPlacement(store: shared, namespace: namespace), models: models)
        }
        var copies: [any ClientStrategy] = []
        for w in 0..<workers.count {
            copies.append(try make(spec, limits: limits, keys: keys, seed: seed,
                                   placement: WorkerPlacement(worker: w, count: workers.count, store: shared,
                                                              namespace: namespace), models: models))
        }
        return WorkerPoolStrategy(split: workers.split, workers: copies,
                                  random: workers.split == .random
                                      ? RandomSource(seed: seed, stream: "workers:" + spec.label) : nil)
    }
}
