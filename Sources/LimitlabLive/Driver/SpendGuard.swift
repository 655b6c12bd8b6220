import LimitlabCore

/// Catalog-price accounting for the spending cap, shared by every strategy run of one live
/// run. Owned by the engine thread.
///
/// Before a send, its worst case is reserved: uncached input at the input price, the cached
/// prefix at the cache-write price (a read may turn out to be a write), `max_tokens` of output.
/// At completion the reservation is replaced by the cost of what the response reported
/// (non-2xx answers are not billed; a 2xx without reported output keeps the worst-case output).
/// The cap therefore holds even if every request in flight turns out as expensive as it can be.
final class SpendGuard {
    let prices: Prices?
    let cap: Double?
    private let writePrice: Double
    private(set) var spent = 0.0
    private(set) var reserved = 0.0

    init(prices: Prices?, cap: Double?, longCacheTTL: Bool) {
        self.prices = prices
        self.cap = cap
        writePrice = prices.map { longCacheTTL ? $0.cacheWrite1h : $0.cacheWrite5m } ?? 0
    }

    /// Worst-case USD of one attempt.
    func worstCase(input: Int, prefix: Int, maxTokens: Int) -> Double {
        guard let p = prices else { return 0 }
        let uncached = Double(Swift.max(0, input - prefix))
        return (uncached * p.input + Double(prefix) * Swift.max(writePrice, p.input) + Double(maxTokens) * p.output)
            / 1_000_000
    }

    /// USD of a reported usage.
    func actual(input: Int, cacheCreation: Int, cacheRead: Int, output: Int) -> Double {
        guard let p = prices else { return 0 }
        return (Double(input) * p.input + Double(cacheCreation) * writePrice + Double(cacheRead) * p.cacheRead
                + Double(output) * p.output) / 1_000_000
    }

    /// Whether a send costing at most `worst` keeps spent + reservations within the cap.
    func allows(_ worst: Double) -> Bool {
        guard let cap else { return true }
        return spent + reserved + worst <= cap
    }

    func reserve(_ worst: Double) { reserved += worst }

    func settle(reserved worst: Double, actual: Double) {
        reserved = Swift.max(0, reserved - worst)
        spent += actual
    }
}
