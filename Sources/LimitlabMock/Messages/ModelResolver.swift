import Foundation
import LimitlabCore

/// Model ids as the Messages API resolves them: a catalog model's id or one of its aliases
/// (`claude-sonnet-4-5` → `claude-sonnet-4-5-20250929`), the catalog's short ids that
/// scenarios name, and extra model ids an organisation serves. Anything else is a 404
/// `not_found_error` (`model: <id>`), for `messages.create` and `models.retrieve` alike.
/// Matching is exact: `claude-sonnet-4-9` or `Claude-Sonnet-4-5` is not a model.
struct ModelResolver {
    struct Model {
        /// Canonical id.
        let id: String
        /// Largest `max_tokens` and prompt accepted.
        let maxTokens: Int
        let maxInputTokens: Int
        /// The Models API object.
        let object: String
    }

    /// Listing order: newest first, as the Models API lists.
    let models: [Model]
    private let byName: [String: Int]

    /// Limits for an extra model id the catalog does not know.
    static let extraMaxTokens = 128_000
    static let extraMaxInputTokens = 1_000_000

    init(catalog: TierCatalog, extraModels: [String]) {
        var models: [Model] = []
        var byName: [String: Int] = [:]
        func object(id: String, name: String, created: String, maxTokens: Int, maxInput: Int) -> String {
            #"{"type":"model","id":"# + JSONText.quoted(id) + #","display_name":"# + JSONText.quoted(name)
                + #","created_at":"# + JSONText.quoted(created) + #","max_input_tokens":\#(maxInput),"#
                + #""max_tokens":\#(maxTokens)}"#
        }
        for m in catalog.models {
            byName[m.id] = models.count
            for a in m.aliases where byName[a] == nil { byName[a] = models.count }
            models.append(Model(id: m.id, maxTokens: m.maxTokens, maxInputTokens: m.maxInputTokens,
                                object: object(id: m.id, name: m.displayName, created: m.createdAt,
                                               maxTokens: m.maxTokens, maxInput: m.maxInputTokens)))
        }
        // A class's short id names its newest model with that prefix.
        for c in catalog.modelClasses {
            for short in c.models where byName[short] == nil {
                if let i = models.firstIndex(where: { $0.id.hasPrefix(short + "-") }) { byName[short] = i }
            }
        }
        for id in extraModels where byName[id] == nil {
            byName[id] = models.count
            models.append(Model(id: id, maxTokens: Self.extraMaxTokens, maxInputTokens: Self.extraMaxInputTokens,
                                object: object(id: id, name: id, created: "2025-01-01T00:00:00Z",
                                               maxTokens: Self.extraMaxTokens, maxInput: Self.extraMaxInputTokens)))
        }
        self.models = models
        self.byName = byName
    }

    func resolve(_ id: String) -> Model? { byName[id].map { models[$0] } }

    /// One page of `GET /v1/models` (`limit` 1–1000, default 20; `after_id` / `before_id`
    /// cursors), in the API's list shape: `data`, `has_more`, `first_id`, `last_id`
    /// (anthropic-sdk-python `types/model_list_params.py`, `pagination.py`).
    func page(query: String) throws(APIError) -> String {
        let q = try ListQuery(query)
        let (limit, after, before) = (q.limit, q.afterId, q.beforeId)
        var range = 0..<models.count
        if let after {
            guard let i = models.firstIndex(where: { $0.id == after }) else {
                throw .invalid("after_id: no model with id \"\(after)\" in this list")
            }
            range = (i + 1)..<models.count
        }
        var hasMore: Bool
        if let before {
            guard let i = models.firstIndex(where: { $0.id == before }) else {
                throw .invalid("before_id: no model with id \"\(before)\" in this list")
            }
            // The page just before the cursor.
            let end = Swift.min(i, range.upperBound)
            let start = Swift.max(range.lowerBound, end - limit)
            hasMore = start > range.lowerBound
            range = start..<Swift.max(start, end)
        } else {
            hasMore = range.count > limit
            range = range.lowerBound..<(range.lowerBound + Swift.min(limit, range.count))
        }
        let page = models[range]
        return #"{"data":["# + page.map(\.object).joined(separator: ",") + #"],"has_more":\#(hasMore),"first_id":"#
            + (page.first.map { JSONText.quoted($0.id) } ?? "null") + #","last_id":"#
            + (page.last.map { JSONText.quoted($0.id) } ?? "null") + "}"
    }
}
