import LimitlabCore
@testable import LimitlabLive
import Testing

/// A live run over several models prices each attempt at its own model's prices.
@Suite struct SpendGuardTests {
    let sonnet = TierCatalog.builtIn.prices(for: "claude-sonnet-4-5")!
    let haiku = TierCatalog.builtIn.prices(for: "claude-haiku-4-5")!

    @Test func eachModelClassIsPricedAtItsOwnPrices() {
        let guardrail = SpendGuard(prices: sonnet, cap: nil, longCacheTTL: false, otherModels: [haiku])
        let onSonnet = guardrail.actual(input: 1_000_000, cacheCreation: 0, cacheRead: 0, output: 1_000_000, modelClass: 0)
        let onHaiku = guardrail.actual(input: 1_000_000, cacheCreation: 0, cacheRead: 0, output: 1_000_000, modelClass: 1)
        #expect(abs(onSonnet - (sonnet.input + sonnet.output)) < 1e-9)
        #expect(abs(onHaiku - (haiku.input + haiku.output)) < 1e-9)
        #expect(onHaiku < onSonnet)
        #expect(guardrail.worstCase(input: 1000, prefix: 0, maxTokens: 1000, modelClass: 1)
                < guardrail.worstCase(input: 1000, prefix: 0, maxTokens: 1000, modelClass: 0))
    }

    @Test func aModelWithoutAPriceIsPricedAsTheDearest() {
        let guardrail = SpendGuard(prices: haiku, cap: nil, longCacheTTL: false, otherModels: [nil, sonnet])
        let unpriced = guardrail.actual(input: 1000, cacheCreation: 0, cacheRead: 0, output: 1000, modelClass: 1)
        let dearest = guardrail.actual(input: 1000, cacheCreation: 0, cacheRead: 0, output: 1000, modelClass: 2)
        #expect(unpriced == dearest && unpriced > 0)
    }
}
