import Foundation
import LimitlabCore

/// The Models API over the served models (`ServedModels`, the simulator's too): each model's
/// object, and `GET /v1/models` pages.
struct ModelResolver {
    let served: ServedModels
    /// Each served model's Models API object, in listing order.
    private let objects: [String]

    init(catalog: TierCatalog, extraModels: [String]) {
        served = ServedModels(catalog: catalog, extraModels: extraModels)
        objects = served.models.map { m in
            #"{"type":"model","id":"# + JSONText.quoted(m.id) + #","display_name":"# + JSONText.quoted(m.displayName)
                + #","created_at":"# + JSONText.quoted(m.createdAt) + #","max_input_tokens":\#(m.maxInputTokens),"#
                + #""max_tokens":\#(m.maxTokens)}"#
        }
    }

    var models: [ServedModels.Model] { served.models }

    func resolve(_ id: String) -> ServedModels.Model? { served.resolve(id) }

    /// The Models API object of a model `id` names, or nil (404).
    func object(_ id: String) -> String? {
        served.index(of: id).map { objects[$0] }
    }

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
        return #"{"data":["# + objects[range].joined(separator: ",") + #"],"has_more":\#(hasMore),"first_id":"#
            + (page.first.map { JSONText.quoted($0.id) } ?? "null") + #","last_id":"#
            + (page.last.map { JSONText.quoted($0.id) } ?? "null") + "}"
    }
}
