public import LimitlabCore

/// The "pool several API keys" advice: requests are spread over keys, each key belonging to
/// its own organisation with its own limits, and each key gets its own copy of the strategy
/// (so a client limiter is sized per key). A request stays on its key for all its attempts.
public struct KeyPoolStrategy: ClientStrategy {
    public let mode: KeyPoolMode
    private var inner: [any ClientStrategy]
    /// Key of each unfinished request.
    private var keyOf: [Int32: Int] = [:]
    /// Unfinished requests per key.
    private var outstanding: [Int]
    private var nextKey = 0
    private var scratch: [StrategyCommand] = []
    private var endedViaFallback: Set<Int32> = []

    public init(mode: KeyPoolMode, strategies: [any ClientStrategy]) {
        precondition(!strategies.isEmpty, "a key pool needs at least one key")
        self.mode = mode
        self.inner = strategies
        self.outstanding = Array(repeating: 0, count: strategies.count)
    }

    /// Unfinished requests per key (for tests and reports).
    public var load: [Int] { outstanding }

    /// Each key's strategy's gauges, prefixed `key<k>.` (0-based key index).
    public func stateGauges(now: Double) -> [StateGauge] {
        inner.enumerated().flatMap { k, s in s.stateGauges(now: now).map { StateGauge("key\(k)." + $0.name, $0.value) } }
    }

    private mutating func pick() -> Int {
        switch mode {
        case .roundRobin:
            let k = nextKey
            nextKey = (nextKey + 1) % inner.count
            return k
        case .leastLoaded:
            var best = 0
            for k in outstanding.indices where outstanding[k] < outstanding[best] { best = k }
            return best
        }
    }

    private mutating func end(_ request: Int32) {
        if let k = keyOf.removeValue(forKey: request) { outstanding[k] -= 1 }
    }

    public mutating func arrived(_ request: PendingRequest, now: Double) {
        let k = pick()
        keyOf[request.id] = k
        outstanding[k] += 1
        inner[k].arrived(request, now: now)
    }

    public mutating func finished(_ request: PendingRequest, attempt: Int, outcome: AttemptOutcome, now: Double) {
        guard let k = keyOf[request.id] else { return }
        inner[k].finished(request, attempt: attempt, outcome: outcome, now: now)
        if outcome.succeeded { end(request.id) }
    }

    public mutating func poll(now: Double, into commands: inout [StrategyCommand]) {
        endedViaFallback.removeAll(keepingCapacity: true)
        for k in inner.indices {
            scratch.removeAll(keepingCapacity: true)
            inner[k].poll(now: now, into: &scratch)
            for c in scratch {
                switch c {
                case .giveUp(let r, _), .drop(let r, _):
                    // The driver asks after this poll, when the key is already forgotten.
                    if inner[k].viaFallback(r) { endedViaFallback.insert(r) }
                    end(r)
                case .send, .submitBatch: break
                }
            }
            commands.append(contentsOf: scratch)
        }
    }

    public var nextWakeup: Double? {
        inner.compactMap(\.nextWakeup).min()
    }

    public var readsRateLimitHeaders: Bool { inner.contains { $0.readsRateLimitHeaders } }

    public func key(for request: Int32) -> Int { keyOf[request] ?? 0 }

    public func viaFallback(_ request: Int32) -> Bool {
        guard let k = keyOf[request] else { return endedViaFallback.contains(request) }
        return inner[k].viaFallback(request)
    }

    public func modelClass(for request: Int32) -> Int { keyOf[request].map { inner[$0].modelClass(for: request) } ?? 0 }

    public func inputTokens(for request: Int32) -> Int? { keyOf[request].flatMap { inner[$0].inputTokens(for: request) } }
    public func batchRequests(first: Int32) -> [Int32] { keyOf[first].map { inner[$0].batchRequests(first: first) } ?? [] }
}

extension KeyPoolStrategy {
    /// The `pool:` modes, listed as the `pool` role. They take no parameters: the keys and
    /// their limits come from the scenario's `limits.keys`.
    static let definitions: [StrategyDefinition] = [
        .pool(.roundRobin,
              summary: "Spread requests over the scenario's API keys in turn (request k on key k mod N). Each key is "
                + "its own organisation with its own limits and its own copy of the strategy (a client limiter is "
                + "sized per key); a request keeps its key for all its attempts. Needs several limits.keys.",
              mirrors: "the \"pool several API keys\" advice with plain key rotation (limitlab's own; LiteLLM's "
                + "default simple-shuffle instead draws at random weighted by rpm/tpm, "
                + "https://github.com/BerriAI/litellm docs/my-website/docs/routing.md @08d1303)"),
        .pool(.leastLoaded,
              summary: "Send each new request to the key with the fewest unfinished requests (ties: the lowest "
                + "index). Otherwise as round-robin: one organisation and one strategy copy per key, a request "
                + "keeps its key for all its attempts.",
              mirrors: "LiteLLM's least-busy routing across deployments "
                + "(https://github.com/BerriAI/litellm docs/my-website/docs/routing.md @08d1303)"),
    ]
}
