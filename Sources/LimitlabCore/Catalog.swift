import Foundation

/// List prices in USD per million tokens.
public struct Prices: Codable, Sendable, Equatable {
    public var input: Double
    public var output: Double
    public var cacheWrite5m: Double
    public var cacheWrite1h: Double
    public var cacheRead: Double
    public var source: String
    public var asOf: String

    enum CodingKeys: String, CodingKey {
        case input, output, source
        case cacheWrite5m = "cache_write_5m", cacheWrite1h = "cache_write_1h"
        case cacheRead = "cache_read", asOf = "as_of"
    }
}

/// A group of models that share one set of rate-limit buckets.
public struct ModelClass: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    /// Model id prefixes that belong to the class (`claude-sonnet-4-5` matches
    /// `claude-sonnet-4-5-20250929`).
    public var models: [String]
    /// Prices of the class's current model, when known.
    public var prices: Prices?
}

/// One model as the Messages API serves it: its id, the aliases that resolve to it, and the
/// largest `max_tokens` and prompt it accepts (the `max_tokens` and `max_input_tokens` of the
/// Models API's object, anthropic-sdk-python `types/model_info.py`).
public struct CatalogModel: Codable, Sendable, Equatable {
    /// The canonical id (dated where the API dates it).
    public var id: String
    /// The rate-limit class that serves it (a `ModelClass.id`).
    public var modelClass: String
    public var displayName: String
    /// Other ids that resolve to this model (`claude-sonnet-4-5` → `claude-sonnet-4-5-20250929`).
    public var aliases: [String]
    /// RFC 3339 release time, as the Models API lists it.
    public var createdAt: String
    /// Largest `max_tokens` accepted.
    public var maxTokens: Int
    /// Context window: largest prompt accepted, in tokens.
    public var maxInputTokens: Int
    /// Where the numbers come from (a URL, or `unverified: …`).
    public var source: String

    enum CodingKeys: String, CodingKey {
        case id, aliases, source
        case modelClass = "model_class", displayName = "display_name", createdAt = "created_at"
        case maxTokens = "max_tokens", maxInputTokens = "max_input_tokens"
    }
}

/// One tier of a scheme, with the limits that are not per model class.
public struct Tier: Codable, Sendable, Equatable {
    public var scheme: String
    public var id: String
    public var name: String
    public var monthlySpendCapUSD: Double?
    public var countTokensRPM: Int
    public var batchRPM: Int
    public var batchQueue: Int
    /// URL of the documentation page the numbers were read from (a key of `TierCatalog.sources`).
    public var source: String
    /// Date (YYYY-MM-DD) of the version of that page the numbers were read from.
    public var sourceDate: String

    enum CodingKeys: String, CodingKey {
        case scheme, id, name, source
        case monthlySpendCapUSD = "monthly_spend_cap_usd", countTokensRPM = "count_tokens_rpm"
        case batchRPM = "batch_rpm", batchQueue = "batch_queue", sourceDate = "source_date"
    }
}

/// Published RPM / ITPM / OTPM for one (scheme, tier, model class).
public struct LimitRow: Codable, Sendable, Equatable {
    public var scheme: String
    public var tier: String
    public var modelClass: String
    public var rpm: Int
    public var itpm: Int
    public var otpm: Int
    /// Whether `cache_read_input_tokens` count toward ITPM for this class (the "†" rows).
    public var cacheReadsCount: Bool
    /// URL of the documentation page the numbers were read from (a key of `TierCatalog.sources`).
    public var source: String
    /// Date (YYYY-MM-DD) of the version of that page the numbers were read from.
    public var sourceDate: String

    enum CodingKeys: String, CodingKey {
        case scheme, tier, rpm, itpm, otpm, source
        case modelClass = "model_class", cacheReadsCount = "cache_reads_count", sourceDate = "source_date"
    }
}

/// A tiering scheme: the classic Tier 1–4 or the 2026 Start/Build/Scale.
public struct TierScheme: Codable, Sendable, Equatable {
    public var id: String
    public var name: String
    public var tiers: [String]
}

/// Discounts and multipliers applied to list prices.
public struct PriceRules: Codable, Sendable, Equatable {
    public var batch: Double
    public var cacheWrite5mMultiplier: Double
    public var cacheWrite1hMultiplier: Double
    public var cacheReadMultiplier: Double

    enum CodingKeys: String, CodingKey {
        case batch
        case cacheWrite5mMultiplier = "cache_write_5m_multiplier"
        case cacheWrite1hMultiplier = "cache_write_1h_multiplier"
        case cacheReadMultiplier = "cache_read_multiplier"
    }
}

/// The built-in tier catalog (`Resources/catalog.json`): Anthropic's published limits per
/// model class and tier, with the date of each source, and list prices where known.
public struct TierCatalog: Codable, Sendable {
    public var schema: String
    public var about: String
    /// Each source URL cited by a tier or limit row, with what was read from it.
    public var sources: [String: String]
    public var discounts: PriceRules
    public var schemes: [TierScheme]
    public var tiers: [Tier]
    public var modelClasses: [ModelClass]
    /// Per-model price overrides where a pooled class holds models with different prices.
    public var modelPrices: [String: Prices]
    public var limits: [LimitRow]
    /// Models the API serves, newest first (the Models API's order), with their aliases and
    /// output and context limits.
    public var models: [CatalogModel]

    enum CodingKeys: String, CodingKey {
        case schema, about, sources, discounts, schemes, tiers, limits, models
        case modelClasses = "model_classes", modelPrices = "model_prices"
    }

    /// The catalog shipped with limitlab.
    public static let builtIn: TierCatalog = {
        guard let url = Bundle.module.url(forResource: "catalog", withExtension: "json"),
              let data = try? Data(contentsOf: url)
        else { fatalError("limitlab is installed without its catalog.json resource; reinstall it") }
        do {
            return try JSONDecoder().decode(TierCatalog.self, from: data)
        } catch {
            fatalError("the built-in catalog.json does not decode: \(error)")
        }
    }()

    /// Normalised tier id: `Tier 1`, `tier1`, `TIER-1` all give `tier-1`.
    public static func normaliseTier(_ name: String) -> String {
        let lower = name.lowercased().filter { !$0.isWhitespace && $0 != "-" && $0 != "_" }
        if lower.hasPrefix("tier"), let n = Int(lower.dropFirst(4)) { return "tier-\(n)" }
        return lower
    }

    /// The tier with this id (any spelling `normaliseTier` accepts), or nil.
    public func tier(named name: String) -> Tier? {
        let id = Self.normaliseTier(name)
        return tiers.first { $0.id == id }
    }

    /// The model class a model id belongs to: a class id itself, or the class with the longest
    /// model prefix that matches (`claude-sonnet-4-5-20250929` → `sonnet-4.x`).
    public func modelClass(for model: String) -> ModelClass? {
        let m = model.lowercased()
        if let byId = modelClasses.first(where: { $0.id == m }) { return byId }
        var best: (ModelClass, Int)?
        for c in modelClasses {
            for prefix in c.models where m == prefix || m.hasPrefix(prefix + "-") {
                if best == nil || prefix.count > best!.1 { best = (c, prefix.count) }
            }
        }
        return best?.0
    }

    /// The catalog model an id names exactly: a canonical id or an alias (case-sensitive, as
    /// the API resolves them), or nil.
    public func model(id: String) -> CatalogModel? {
        models.first { $0.id == id || $0.aliases.contains(id) }
    }

    /// The catalog model a scenario's `model:` is served as, resolved as the mock resolves it
    /// (`ServedModels`). nil for a model the catalog does not know.
    public func servedModel(_ id: String) -> CatalogModel? {
        ServedModels(catalog: self).resolve(id)?.catalogModel
    }

    /// Prices for a model: the override for the most specific known model id it matches (so
    /// `claude-opus-4-5` does not take `claude-opus-4`'s price), else its class's.
    public func prices(for model: String) -> Prices? {
        let m = model.lowercased()
        var best: String?
        for id in modelClasses.flatMap(\.models) + Array(modelPrices.keys)
        where (m == id || m.hasPrefix(id + "-")) && id.count > (best?.count ?? 0) {
            best = id
        }
        if let best, let override = modelPrices[best] { return override }
        return modelClass(for: model)?.prices
    }

    /// The published limits of a model class at a tier, or nil when the tier does not list it.
    public func limits(tier: String, modelClass: String) -> LimitRow? {
        let id = Self.normaliseTier(tier)
        return limits.first { $0.tier == id && $0.modelClass == modelClass }
    }

    /// Tier ids in order, for one scheme or all.
    public func tierIds(scheme: String? = nil) -> [String] {
        schemes.filter { scheme == nil || $0.id == scheme }.flatMap(\.tiers)
    }
}
