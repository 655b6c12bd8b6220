import LimitlabCore

/// Catalog-price accounting for the spending cap, shared by every strategy run of one live
/// run. Owned by the engine thread.
///
/// Before a send, its worst case is reserved: uncached input at the input price, the cached
/// prefix at the cache-write price (a read may turn out to be a write), `max_tokens` of output.
/// At completion the reservation is replaced by the cost of what the response reported
/// (non-2xx answers are not billed; a 2xx without reported output keeps the worst-case output).
/// The cap therefore holds even if every request in flight turns out as expensive as it can be.
/// A run over several models (`models:`) prices each attempt at its own model's prices; a model
/// without a catalog price is priced as the dearest priced one, so the cap still holds.
final class SpendGuard {
    /// Prices per model class (0: the scenario's `model`); nil when no model has a price.
    let prices: Prices?
    let cap: Double?
    private let classPrices: [Prices?]
    private let writePrices: [Double]
    private(set) var spent = 0.0
    private(set) var reserved = 0.0

    init(prices: Prices?, cap: Double?, longCacheTTL: Bool, otherModels: [Prices?] = []) {
        let all = [prices] + otherModels
        let dearest = all.compactMap { $0 }.max { $0.input + $0.output < $1.input + $1.output }
        self.prices = prices ?? dearest
        self.cap = cap
        classPrices = all.map { $0 ?? dearest }
        writePrices = classPrices.map { p in p.map { longCacheTTL ? $0.cacheWrite1h : $0.cacheWrite5m } ?? 0 }
    }

    private func pricing(_ modelClass: Int) -> (Prices, Double)? {
        let i = classPrices.indices.contains(modelClass) ? modelClass : 0
        return classPrices[i].map { ($0, writePrices[i]) }
    }

    /// Worst-case USD of one attempt to model class `modelClass`.
    func worstCase(input: Int, prefix: Int, maxTokens: Int, modelClass: Int = 0) -> Double {
        guard let (p, writePrice) = pricing(modelClass) else { return 0 }
        let uncached = Double(Swift.max(0, input - prefix))
        return (uncached * p.input + Double(prefix) * Swift.max(writePrice, p.input) + Double(maxTokens) * p.output)
            / 1_000_000
    }

    /// USD of a reported usage on model class `modelClass`.
    func actual(input: Int, cacheCreation: Int, cacheRead: Int, output: Int, modelClass: Int = 0) -> Double {
        guard let (p, writePrice) = pricing(modelClass) else { return 0 }
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
