import LimitlabCore
import LimitlabServer
import NIOCore
import NIOHTTP1
import NIOPosix

// The Message Batches routes: create, list, retrieve, cancel, delete and results, framed
// around the organisation's `BatchStore`.

extension MockHTTPHandler {
    // MARK: Message Batches

    func batches(_ context: ChannelHandlerContext, _ h: HTTPRequestHead, path: String, org: OrgState,
                         requestId: String, keepAlive: Bool) {
        let store = core.batchStores[org.index]
        let rest = path.dropFirst("/v1/messages/batches".count).split(separator: "/").map(String.init)
        let route: String
        switch (h.method, rest.count, rest.last) {
        case (.POST, 0, _): route = "create"
        case (.GET, 0, _): route = "list"
        case (.GET, 1, _): route = "retrieve"
        case (.DELETE, 1, _): route = "delete"
        case (.POST, 2, "cancel"): route = "cancel"
        case (.GET, 2, "results"): route = "results"
        default:
            let known = rest.count <= 1 || (rest.count == 2 && (rest[1] == "cancel" || rest[1] == "results"))
            org.count(endpoint: "batches", modelClass: "", status: known ? 405 : 404)
            return sendError(context, status: known ? .methodNotAllowed : .notFound, type: known
                             ? "invalid_request_error" : "not_found_error", message: known ? "Method Not Allowed"
                             : "Not Found", requestId: requestId, org: org, keepAlive: keepAlive)
        }
        var headers = jsonHeaders(requestId, org)
        func reply(_ status: HTTPResponseStatus, _ text: String) {
            org.count(endpoint: "batches", modelClass: "", status: Int(status.code))
            send(context, status, headers, text, keepAlive: keepAlive)
        }
        func fail(_ status: HTTPResponseStatus, _ type: String, _ message: String) {
            reply(status, Bodies.error(type: type, message: message, requestId: requestId))
        }

        // Every batch endpoint counts against the batch RPM, as the rate-limit table says.
        let decision = store.admit(now: core.modelTime)
        if let snap = decision.snapshot {
            for (n, v) in snap.headers(epoch: core.epoch) where n.hasPrefix("anthropic-ratelimit-requests-") {
                headers.add(name: n, value: v)
            }
        }
        guard decision.admitted else {
            headers.add(name: "retry-after", value: String(decision.retryAfter ?? 1))
            headers.add(name: "x-should-retry", value: "true")
            let message = "This request would exceed your organization's rate limit of \(Bodies.grouped(store.rpm)) "
                + "Message Batches API requests per minute (org: \(org.org.id)). For details, refer to: "
                + "https://docs.claude.com/en/api/rate-limits. You can see the response headers for current usage."
            return later(context, after: core.config.server.rejectLatency) {
                fail(.tooManyRequests, "rate_limit_error", message)
            }
        }

        let host = h.headers.first(name: "host")
        let now = core.modelTime()
        let id = rest.first ?? ""
        let notFound = "batch: \(id) not found"
        switch route {
        case "create":
            let requests: [BatchStore.BatchItem]
            do {
                let parsed = try body.withUnsafeReadableBytes { (bytes) throws(JSONParseError) -> JSONValue in
                    try JSONParser.parse(bytes)
                }
                requests = try BatchStore.parseCreate(parsed)
            } catch let e as JSONParseError {
                return fail(.badRequest, "invalid_request_error", bodyBytes == 0
                            ? "the request body is empty; expected a JSON object"
                            : body.withUnsafeReadableBytes { e.apiMessage(body: $0) })
            } catch let e as APIError {
                return fail(HTTPResponseStatus(statusCode: e.status), e.type, e.message)
            } catch {
                return fail(.internalServerError, "api_error", "Internal server error")
            }
            switch store.create(requests, now: core.modelTime) {
            case .created(let json):
                reply(.ok, json)
            case .queueFull(let queued):
                // Anthropic does not document this refusal's body; this one names the limit and the
                // numbers so a client can tell it from the RPM refusal. retry-after: when the
                // queue would have room at the configured pace.
                let over = queued + requests.count - store.queueLimit
                let wait = Int((Double(over) / store.settings.requestsPerSecond).rounded(.up))
                headers.add(name: "retry-after", value: String(Swift.max(1, Swift.min(wait, 86_400))))
                headers.add(name: "x-should-retry", value: "true")
                fail(.tooManyRequests, "rate_limit_error",
                     "This request would exceed your organization's limit of \(Bodies.grouped(Double(store.queueLimit))) "
                     + "Message Batches requests in the processing queue (org: \(org.org.id); \(queued) queued, "
                     + "\(requests.count) in this batch). For details, refer to: "
                     + "https://docs.claude.com/en/api/rate-limits.")
            }
        case "list":
            let query = h.uri.split(separator: "?", maxSplits: 1).dropFirst().first.map(String.init) ?? ""
            let q: ListQuery
            do { q = try ListQuery(query) } catch { return fail(.badRequest, error.type, error.message) }
            let (limit, before, after) = (q.limit, q.beforeId, q.afterId)
            guard let page = store.list(limit: limit, beforeId: before, afterId: after, host: host, now: now) else {
                return fail(.notFound, "not_found_error", "batch: \(after ?? before ?? "") not found")
            }
            reply(.ok, page)
        case "retrieve":
            guard let json = store.retrieve(id, host: host, now: now) else { return fail(.notFound, "not_found_error", notFound) }
            reply(.ok, json)
        case "cancel":
            guard let json = store.cancel(id, host: host, now: now) else { return fail(.notFound, "not_found_error", notFound) }
            reply(.ok, json)
        case "delete":
            switch store.delete(id, now: now) {
            case .deleted: reply(.ok, #"{"id":"# + JSONText.quoted(id) + #","type":"message_batch_deleted"}"#)
            case .notFound: fail(.notFound, "not_found_error", notFound)
            case .notEnded:
                fail(.badRequest, "invalid_request_error",
                     "Batch \(id) cannot be deleted while it is processing; cancel it and wait until "
                     + "processing_status is ended")
            }
        default:
            switch store.results(id, now: now) {
            case .jsonl(let text):
                headers.replaceOrAdd(name: "content-type", value: "application/x-jsonl")
                reply(.ok, text)
            case .notFound: fail(.notFound, "not_found_error", notFound)
            case .notEnded:
                fail(.badRequest, "invalid_request_error",
                     "Batch \(id) has no results yet: they are available once processing_status is ended")
            }
        }
    }
}
