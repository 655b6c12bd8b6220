import LimitlabCore
import LimitlabServer
import NIOCore
import NIOHTTP1
import NIOPosix

// Which endpoint answers a request: method, path, API key and version checks.

extension MockHTTPHandler {
    // MARK: Routing

    func route(_ context: ChannelHandlerContext, _ h: HTTPRequestHead) {
        let requestId = ids.make(prefix: "req_011C")
        version = h.version
        let path = h.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false).first.map(String.init) ?? h.uri
        let keepAlive = h.isKeepAlive
        // RFC 9112 §3.2: an HTTP/1.1 request without Host, or any request with more than one,
        // gets a 400 (https://www.rfc-editor.org/rfc/rfc9112#section-3.2).
        let hosts = h.headers["host"].count
        if hosts > 1 || (hosts == 0 && (h.version.major, h.version.minor) >= (1, 1)) {
            core.countUnattributed(endpoint: "other", status: 400)
            return sendError(context, status: .badRequest, type: "invalid_request_error",
                             message: hosts == 0 ? "an HTTP/1.1 request needs a Host header" : "more than one Host header",
                             requestId: requestId, org: nil, keepAlive: false)
        }
        let endpoint: String
        switch path {
        case "/healthz":
            guard h.method == .GET else { return methodNotAllowed(context, requestId, keepAlive) }
            core.countUnattributed(endpoint: "healthz", status: 200)
            return send(context, .ok, jsonHeaders(requestId, nil), #"{"status":"ok"}"#, keepAlive: keepAlive)
        case "/metrics":
            guard h.method == .GET else { return methodNotAllowed(context, requestId, keepAlive) }
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: "text/plain; version=0.0.4; charset=utf-8")
            headers.add(name: "request-id", value: requestId)
            return send(context, .ok, headers, core.metricsText(), keepAlive: keepAlive)
        case "/v1/messages": endpoint = "messages"
        case "/v1/messages/count_tokens": endpoint = "count_tokens"
        case "/v1/models": endpoint = "models"
        default:
            if path.hasPrefix("/v1/models/") {
                endpoint = "model"
            } else if path == "/v1/messages/batches" || path.hasPrefix("/v1/messages/batches/") {
                endpoint = "batches"
            } else {
                core.countUnattributed(endpoint: "other", status: 404)
                return sendError(context, status: .notFound, type: "not_found_error", message: "Not Found",
                                 requestId: requestId, org: nil, keepAlive: keepAlive)
            }
        }
        let wantedMethod: HTTPMethod = endpoint.hasPrefix("model") ? .GET : .POST
        // Batch routes take several methods; `batches` checks them per route.
        guard endpoint == "batches" || h.method == wantedMethod else { return methodNotAllowed(context, requestId, keepAlive) }
        if overBudget {
            core.countUnattributed(endpoint: endpoint, status: 529)
            return send(context, HTTPResponseStatus(statusCode: 529, reasonPhrase: "Overloaded"), jsonHeaders(requestId, nil),
                        Bodies.overloaded(requestId: requestId), keepAlive: keepAlive)
        }
        if tooLarge {
            core.countUnattributed(endpoint: endpoint, status: 413)
            return sendError(context, status: .payloadTooLarge, type: "request_too_large",
                             message: "Request exceeds the maximum allowed number of bytes (\(core.config.maxBodyBytes)).",
                             requestId: requestId, org: nil, keepAlive: keepAlive)
        }

        // Authentication: x-api-key, or a bearer token as OAuth clients send it.
        var key = h.headers.first(name: "x-api-key")
        if key == nil, let auth = h.headers.first(name: "authorization"), auth.lowercased().hasPrefix("bearer ") {
            key = String(auth.dropFirst(7))
        }
        guard let key, !key.isEmpty else {
            core.countUnattributed(endpoint: endpoint, status: 401)
            return sendError(context, status: .unauthorized, type: "authentication_error",
                             message: "x-api-key header is required", requestId: requestId, org: nil, keepAlive: keepAlive)
        }
        guard let org = core.org(forKey: key) else {
            core.countUnattributed(endpoint: endpoint, status: 401)
            return sendError(context, status: .unauthorized, type: "authentication_error", message: "invalid x-api-key",
                             requestId: requestId, org: nil, keepAlive: keepAlive)
        }
        guard let version = h.headers.first(name: "anthropic-version"), !version.isEmpty else {
            org.count(endpoint: endpoint, modelClass: "", status: 400)
            return sendError(context, status: .badRequest, type: "invalid_request_error",
                             message: "anthropic-version: header is required", requestId: requestId, org: org,
                             keepAlive: keepAlive)
        }
        guard APIVersion.isValid(version) else {
            org.count(endpoint: endpoint, modelClass: "", status: 400)
            return sendError(context, status: .badRequest, type: "invalid_request_error",
                             message: "anthropic-version: \"\(version)\" is not a valid version. Use a dated version "
                                 + "such as 2023-06-01; see https://docs.anthropic.com/en/api/versioning",
                             requestId: requestId, org: org, keepAlive: keepAlive)
        }

        switch endpoint {
        case "models":
            let query = h.uri.split(separator: "?", maxSplits: 1).dropFirst().first.map(String.init) ?? ""
            do {
                let page = try core.models.page(query: query)
                org.count(endpoint: endpoint, modelClass: "", status: 200)
                send(context, .ok, jsonHeaders(requestId, org), page, keepAlive: keepAlive)
            } catch {
                org.count(endpoint: endpoint, modelClass: "", status: error.status)
                sendError(context, status: HTTPResponseStatus(statusCode: error.status), type: error.type,
                          message: error.message, requestId: requestId, org: org, keepAlive: keepAlive)
            }
        case "model":
            let raw = String(path.dropFirst("/v1/models/".count))
            let id = raw.removingPercentEncoding ?? raw
            if let object = core.models.object(id) {
                org.count(endpoint: endpoint, modelClass: "", status: 200)
                send(context, .ok, jsonHeaders(requestId, org), object, keepAlive: keepAlive)
            } else {
                org.count(endpoint: endpoint, modelClass: "", status: 404)
                sendError(context, status: .notFound, type: "not_found_error", message: "model: \(id)",
                          requestId: requestId, org: org, keepAlive: keepAlive)
            }
        case "batches":
            batches(context, h, path: path, org: org, requestId: requestId, keepAlive: keepAlive)
        default:
            messages(context, h, org: org, countTokens: endpoint == "count_tokens", requestId: requestId,
                     keepAlive: keepAlive, key: key)
        }
    }

    func methodNotAllowed(_ context: ChannelHandlerContext, _ requestId: String, _ keepAlive: Bool) {
        core.countUnattributed(endpoint: "other", status: 405)
        sendError(context, status: .methodNotAllowed, type: "invalid_request_error", message: "Method Not Allowed",
                  requestId: requestId, org: nil, keepAlive: keepAlive)
    }
}
