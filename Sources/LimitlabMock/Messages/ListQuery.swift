import Foundation

/// The query of the API's list endpoints (`GET /v1/models`, `GET /v1/messages/batches`):
/// `limit` (1–1000, default 20) and the `before_id` / `after_id` cursors, percent-decoded.
struct ListQuery {
    var limit = 20
    var beforeId: String?
    var afterId: String?

    /// Parses the part of a URI after `?`; a bad `limit` is the API's 400.
    init(_ query: String) throws(APIError) {
        for pair in query.split(separator: "&") {
            let kv = pair.split(separator: "=", maxSplits: 1).map(String.init)
            let value = kv.count > 1 ? (kv[1].removingPercentEncoding ?? kv[1]) : ""
            switch kv[0] {
            case "limit":
                guard let n = Int(value), (1...1000).contains(n) else {
                    throw .invalid("limit: Input should be an integer between 1 and 1000, found \"\(value)\"")
                }
                limit = n
            case "before_id": beforeId = value
            case "after_id": afterId = value
            default: break
            }
        }
    }
}
