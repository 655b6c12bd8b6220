import Foundation
import LimitlabCore
import Testing

@Suite struct UnitsTests {
    @Test(arguments: [("250ms", 0.25), ("30s", 30.0), ("5m", 300.0), ("2h", 7200.0), ("1m30s", 90.0),
                      ("1.5s", 1.5), ("10min", 600.0), (" 2s ", 2.0)])
    func parsesDurations(text: String, seconds: Double) {
        #expect(Units.parseDuration(text) == seconds)
    }

    @Test(arguments: ["30", "fast", "", "5 parsecs", "s", "-1s", "1d", "1h1h", "30s1m"])
    func rejectsBadDurations(text: String) {
        #expect(Units.parseDuration(text) == nil)
    }

    @Test func parsesRates() {
        #expect(Units.parseRate("40/min") == 40.0 / 60)
        #expect(Units.parseRate("2/s") == 2)
        #expect(Units.parseRate("3600/h") == 1)
        #expect(Units.parseRate("0/s") == 0)
        #expect(Units.parseRate("fast") == nil)
        #expect(Units.parseRate("40") == nil)
        #expect(Units.parseRate("40/day") == nil)
        #expect(Units.parseRate("-1/s") == nil)
    }

    @Test func formatsDurations() {
        #expect(Units.formatDuration(0.25) == "250ms")
        #expect(Units.formatDuration(30) == "30s")
        #expect(Units.formatDuration(600) == "10m")
        #expect(Units.formatDuration(90) == "1m30s")
        #expect(Units.formatDuration(7200) == "2h")
    }
}

@Suite struct CatalogTests {
    let catalog = TierCatalog.builtIn

    @Test func resolvesModelsToClasses() {
        #expect(catalog.modelClass(for: "claude-sonnet-4-5")?.id == "sonnet-4.x")
        #expect(catalog.modelClass(for: "claude-sonnet-4-5-20250929")?.id == "sonnet-4.x")
        #expect(catalog.modelClass(for: "claude-sonnet-4-20250514")?.id == "sonnet-4.x")
        #expect(catalog.modelClass(for: "claude-opus-4-1-20250805")?.id == "opus-4.x")
        #expect(catalog.modelClass(for: "claude-3-5-haiku-20241022")?.id == "haiku-3.5")
        #expect(catalog.modelClass(for: "haiku-4.5")?.id == "haiku-4.5")
        #expect(catalog.modelClass(for: "gpt-4o") == nil)
        #expect(catalog.modelClass(for: "claude-sonnet-45") == nil, "prefixes match on whole segments only")
    }

    @Test func publishedTierOneNumbers() throws {
        let sonnet = try #require(catalog.limits(tier: "Tier 1", modelClass: "sonnet-4.x"))
        #expect((sonnet.rpm, sonnet.itpm, sonnet.otpm) == (50, 30_000, 8_000))
        #expect(!sonnet.cacheReadsCount)
        let haiku35 = try #require(catalog.limits(tier: "tier-1", modelClass: "haiku-3.5"))
        #expect(haiku35.cacheReadsCount)
        let build = try #require(catalog.limits(tier: "build", modelClass: "opus-4.x"))
        #expect((build.rpm, build.itpm, build.otpm) == (5_000, 5_000_000, 1_000_000))
    }

    @Test func pricesFallBackFromModelToClass() {
        #expect(catalog.prices(for: "claude-opus-4-1-20250805")?.input == 15)
        #expect(catalog.prices(for: "claude-opus-4-5")?.input == 5)
        #expect(catalog.prices(for: "claude-haiku-4-5")?.output == 5)
        #expect(catalog.prices(for: "claude-opus-5") == nil, "unknown prices stay unknown")
    }

    @Test func everyRowIsConsistent() {
        let classes = Set(catalog.modelClasses.map(\.id))
        let tiers = Set(catalog.tiers.map(\.id))
        for row in catalog.limits {
            #expect(classes.contains(row.modelClass), "row names unknown class \(row.modelClass)")
            #expect(tiers.contains(row.tier), "row names unknown tier \(row.tier)")
            #expect(catalog.sources[row.source] != nil, "row cites undefined source \(row.source)")
            #expect(row.source.hasPrefix("https://"), "row's source is not a URL a reader can open: \(row.source)")
            #expect(row.sourceDate.count == 10 && row.sourceDate.hasPrefix("20"))
            #expect(row.rpm > 0 && row.itpm > 0 && row.otpm > 0)
        }
        for scheme in catalog.schemes {
            for tier in scheme.tiers {
                #expect(catalog.limits.contains { $0.tier == tier && $0.scheme == scheme.id }, "tier \(tier) has no rows")
            }
        }
    }
}

@Suite struct JSONTextTests {
    @Test func escapesLikeJSONSerializationReadsBack() throws {
        for s in ["plain", "with \"quotes\" and \\ backslash", "line\nbreak\ttab\r", "ctrl \u{01}\u{1f}", "é ü 日本 🚀", ""] {
            let literal = JSONText.quoted(s)
            let data = Data("[\(literal)]".utf8)
            let back = try #require(try JSONSerialization.jsonObject(with: data) as? [String])
            #expect(back == [s], "\(literal)")
        }
        #expect(JSONText.quoted("a\u{01}") == "\"a\\u0001\"")
    }
}
