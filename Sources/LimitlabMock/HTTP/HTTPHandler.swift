import LimitlabCore
import LimitlabServer
import NIOCore
import NIOHTTP1
import NIOPosix

/// One connection's request handling. NIO's pipelining handler hands over one request at a
/// time, so a connection has at most one response in progress; its timers run on the
/// connection's event loop and are cancelled when the connection closes.
final class MockHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let core: ServerCore
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()
    private var bodyBytes = 0
    private var tooLarge = false
    /// This request's body did not fit the server's body budget (`maxBufferedBodyBytes`).
    private var overBudget = false
    /// Bytes of the body budget this connection holds.
    private var budgetHeld = 0
    private var ids: IDSource
    /// The organisation holding an in-flight slot for the response in progress.
    private var inFlightOrg: OrgState?
    private var pending: Scheduled<Void>?
    private var closed = false
    /// The HTTP version of the request being answered (an HTTP/1.0 client gets 1.0 framing).
    private var version = HTTPVersion.http1_1
    /// `OrgState.classId` answers per organisation and model (its inputs never change): the
    /// catalog's prefix scan cost ~9 % of a reply's instructions. Cleared past 64 entries, as
    /// clients choose the model names.
    private var classIds: [ClassKey: String?] = [:]
    private struct ClassKey: Hashable { let org: Int, model: String }

    /// Client timeouts (`clientTimeout`, `keepAliveTimeout`): whether they apply (a served
    /// mock; not the virtual-time one, whose time jumps), the last byte read or response ended,
    /// and whether a response is in progress (never cut, however long it streams) or at least
    /// one has been answered (the wait is then keep-alive, not a new connection's). One timer per
    /// connection, re-armed only when it fires: nothing per request but a clock read.
    private let clientTimeouts: Bool
    private var lastActivity = NIODeadline.now()
    private var responding = false
    private var answered = false
    private var timeoutCheck: Scheduled<Void>?

    init(core: ServerCore, clientTimeouts: Bool = false) {
        self.core = core
        self.clientTimeouts = clientTimeouts
        ids = IDSource(seed: UInt64.random(in: .min ... .max))
    }

    // MARK: Client timeouts

    func handlerAdded(context: ChannelHandlerContext) {
        guard clientTimeouts else { return }
        lastActivity = .now()
        armTimeoutCheck(context, at: lastActivity + Self.nanos(core.config.clientTimeout))
    }

    private static func nanos(_ seconds: Double) -> TimeAmount { .nanoseconds(ServerCore.nanoseconds(seconds)) }

    private func armTimeoutCheck(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
        guard !closed else { return }
        timeoutCheck = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            timeoutCheck = nil
            checkClientTimeout(context)
        }
    }

    /// Closes the connection when the client has been silent too long while the server waits
    /// for a request; otherwise looks again when that could next be so.
    private func checkClientTimeout(_ context: ChannelHandlerContext) {
        guard !closed else { return }
        let keepAlive = answered && head == nil
        let limit = Self.nanos(keepAlive ? core.config.keepAliveTimeout : core.config.clientTimeout)
        if responding { return armTimeoutCheck(context, at: .now() + limit) }
        let due = lastActivity + limit
        if due <= .now() {
            core.countClientTimeout(keepAlive ? "keep_alive" : "request")
            context.close(promise: nil)
        } else {
            armTimeoutCheck(context, at: due)
        }
    }

    // MARK: Inbound

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        if clientTimeouts { lastActivity = .now() }
        switch Self.unwrapInboundIn(data) {
        case .head(let h):
            head = h
            dropBody()
            bodyBytes = 0
            tooLarge = false
            overBudget = false
            if let cl = h.headers.first(name: "content-length"), let n = Int(cl), n > core.config.maxBodyBytes {
                tooLarge = true
            }
        case .body(var part):
            // An oversized body is read and dropped, so the 413 reaches a client that is
            // still sending (closing early would reset the connection under it).
            guard !tooLarge && !overBudget else { return }
            bodyBytes += part.readableBytes
            if bodyBytes > core.config.maxBodyBytes {
                tooLarge = true
                dropBody()
                return
            }
            guard core.reserveBody(part.readableBytes) else {
                overBudget = true
                dropBody()
                return
            }
            budgetHeld += part.readableBytes
            body.writeBuffer(&part)
        case .end:
            guard let h = head else { return }
            head = nil
            responding = true
            route(context, h)
            // Parsed: the body is no longer needed (a batch keeps its parsed requests).
            dropBody()
        }
    }

    /// Empties the body, frees a large one's storage and returns its share of the budget.
    private func dropBody() {
        if body.capacity > 1 << 20 { body = ByteBuffer() } else { body.clear() }
        core.releaseBody(budgetHeld)
        budgetHeld = 0
    }

    func channelInactive(context: ChannelHandlerContext) {
        closed = true
        pending?.cancel()
        pending = nil
        timeoutCheck?.cancel()
        timeoutCheck = nil
        core.releaseBody(budgetHeld)
        budgetHeld = 0
        releaseInFlight()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A broken connection affects only itself.
        context.close(promise: nil)
    }

    private func releaseInFlight() {
        inFlightOrg?.finish()
        inFlightOrg = nil
    }

    // MARK: Routing

    private func route(_ context: ChannelHandlerContext, _ h: HTTPRequestHead) {
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

    private func methodNotAllowed(_ context: ChannelHandlerContext, _ requestId: String, _ keepAlive: Bool) {
        core.countUnattributed(endpoint: "other", status: 405)
        sendError(context, status: .methodNotAllowed, type: "invalid_request_error", message: "Method Not Allowed",
                  requestId: requestId, org: nil, keepAlive: keepAlive)
    }

    // MARK: Messages and count_tokens

    private func messages(_ context: ChannelHandlerContext, _ h: HTTPRequestHead, org: OrgState, countTokens: Bool,
                          requestId: String, keepAlive: Bool, key: String) {
        let endpoint = countTokens ? "count_tokens" : "messages"
        var request: MessagesRequest
        do {
            let parsed = try body.withUnsafeReadableBytes { (bytes) throws(JSONParseError) -> JSONValue in
                try JSONParser.parse(bytes)
            }
            request = try MessagesRequest.parse(parsed, countTokens: countTokens)
        } catch let e as JSONParseError {
            org.count(endpoint: endpoint, modelClass: "", status: 400)
            let what = bodyBytes == 0 ? "the request body is empty; expected a JSON object"
                : body.withUnsafeReadableBytes { e.apiMessage(body: $0) }
            return sendError(context, status: .badRequest, type: "invalid_request_error", message: what,
                             requestId: requestId, org: org, keepAlive: keepAlive)
        } catch let e as APIError {
            org.count(endpoint: endpoint, modelClass: "", status: e.status)
            return sendError(context, status: HTTPResponseStatus(statusCode: e.status), type: e.type, message: e.message,
                             requestId: requestId, org: org, keepAlive: keepAlive)
        } catch {
            return sendError(context, status: .internalServerError, type: "api_error", message: "Internal server error",
                             requestId: requestId, org: org, keepAlive: keepAlive)
        }
        guard let model = core.models.resolve(request.model), let modelClass = classId(org, model.id) else {
            org.count(endpoint: endpoint, modelClass: "", status: 404)
            return sendError(context, status: .notFound, type: "not_found_error", message: "model: \(request.model)",
                             requestId: requestId, org: org, keepAlive: keepAlive)
        }
        do {
            try request.validate(against: model, countTokens: countTokens)
        } catch {
            org.count(endpoint: endpoint, modelClass: modelClass, status: error.status)
            return sendError(context, status: HTTPResponseStatus(statusCode: error.status), type: error.type,
                             message: error.message, requestId: requestId, org: org, keepAlive: keepAlive)
        }

        // Only built when recording: the hash of the body costs a pass over it.
        let tag = core.recorder.map { recordTag($0, h, key: key, requestId: requestId) }
        if countTokens {
            let (decision, rpm) = org.admitCountTokens(request, modelClass: modelClass, tag: tag,
                                                       rejectLatency: core.config.server.rejectLatency,
                                                       now: core.modelTime)
            var headers = jsonHeaders(requestId, org)
            if let snap = decision.snapshot {
                for (n, v) in snap.headers(epoch: core.epoch) where n.hasPrefix("anthropic-ratelimit-requests-") {
                    headers.add(name: n, value: v)
                }
            }
            guard decision.admitted else {
                org.count(endpoint: endpoint, modelClass: modelClass, status: 429)
                headers.add(name: "retry-after", value: String(decision.retryAfter ?? 1))
                headers.add(name: "x-should-retry", value: "true")
                let message = Bodies.countTokensRateLimitMessage(org: org.org.id, rpm: rpm)
                return later(context, after: core.config.server.rejectLatency) { [self] in
                    send(context, .tooManyRequests, headers,
                         Bodies.error(type: "rate_limit_error", message: message, requestId: requestId),
                         keepAlive: keepAlive)
                }
            }
            org.count(endpoint: endpoint, modelClass: modelClass, status: 200)
            return send(context, .ok, headers, Bodies.countTokens(request.promptTokens), keepAlive: keepAlive)
        }

        var outputTokens: Int?
        if let v = h.headers.first(name: "x-limitlab-output-tokens") {
            guard let n = Int(v.filter { $0 != " " && $0 != "\t" }), n >= 0 else {
                org.count(endpoint: endpoint, modelClass: modelClass, status: 400)
                return sendError(context, status: .badRequest, type: "invalid_request_error",
                                 message: "x-limitlab-output-tokens: expected a whole number ≥ 0, found \"\(v)\"",
                                 requestId: requestId, org: org, keepAlive: keepAlive)
            }
            // Never more than any model's output (max_tokens caps it anyway): no reply buffer grows
            // with a number a client chose.
            outputTokens = Swift.min(n, 1 << 20)
        }
        let plan = ReplyPlan.make(&request, outputTokens: &outputTokens,
                                  defaultOutputTokens: core.config.defaultOutputTokens, ids: &ids)

        let outcome = org.decide(request, modelClass: modelClass, outputTokens: outputTokens, config: core.config,
                                 tag: tag, now: core.modelTime)
        inFlightOrg = org
        // Every reply is written at the model times the server decided: this handler only frames them.
        switch outcome {
        case .refused(let reply, let config):
            org.count(endpoint: endpoint, modelClass: modelClass, status: Int(reply.status))
            var headers = jsonHeaders(requestId, org)
            let status: HTTPResponseStatus
            let body: String
            switch reply.kind {
            case .overloaded:
                status = HTTPResponseStatus(statusCode: 529, reasonPhrase: "Overloaded")
                body = Bodies.overloaded(requestId: requestId)
            case .serverError:
                status = .internalServerError
                body = Bodies.error(type: "api_error", message: "Internal server error", requestId: requestId)
            case .spendCap:
                status = .tooManyRequests
                body = Bodies.error(type: "rate_limit_error", message: Bodies.spendCapMessage, requestId: requestId,
                                    errorCode: "enforced_spend_limit_reached")
            case .rateLimited, .admitted:
                status = .tooManyRequests
                headers.add(name: "retry-after", value: String(reply.retryAfter ?? 1))
                headers.add(name: "x-should-retry", value: "true")
                body = Bodies.error(type: "rate_limit_error",
                                    message: Bodies.rateLimitMessage(org: org.org.id, model: request.model,
                                                                     refusedBy: reply.refusedBy, config: config),
                                    requestId: requestId)
            }
            if let snap = reply.snapshot { headers = rateLimitHeaders(headers, snap) }
            at(context, reply.completion) { [self] in send(context, status, headers, body, keepAlive: keepAlive) }
        case .admitted(let reply):
            org.count(endpoint: endpoint, modelClass: modelClass, status: 200)
            let job = ResponseJob(requestId: requestId, messageId: ids.make(prefix: "msg_01"), model: request.model,
                                  org: org, reply: reply, keepAlive: keepAlive,
                                  rate: core.config.server.outputTokensPerSecond > 0
                                      ? core.config.server.outputTokensPerSecond : .infinity,
                                  content: plan.content(for: reply.stopReason))
            if case .reset = reply.fault {
                at(context, reply.completion) { [self] in reset(context) }
            } else if request.stream {
                at(context, reply.firstToken) { [self] in streamStep(context, job) }
            } else {
                at(context, reply.completion) { [self] in
                    var b = context.channel.allocator.buffer(capacity: 512 + 4 * reply.usage.output)
                    Bodies.message(into: &b, id: job.messageId, model: job.model, usage: reply.usage,
                                   stopReason: reply.stopReason.rawValue, content: job.content)
                    send(context, .ok, rateLimitHeaders(jsonHeaders(requestId, org), reply.snapshot!), b,
                         keepAlive: keepAlive)
                }
            }
        }
    }

    // MARK: Message Batches

    private func batches(_ context: ChannelHandlerContext, _ h: HTTPRequestHead, path: String, org: OrgState,
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

    // MARK: Streaming

    private struct ResponseJob {
        let requestId: String
        let messageId: String
        let model: String
        let org: OrgState
        let reply: ServerReply
        let keepAlive: Bool
        let rate: Double
        let content: ReplyContent
        var started = false
        var sent = 0
    }

    /// At most one write per 20 ms per stream (~50 writes/s whatever the output rate), except
    /// that the last write (end or error event) goes out exactly when the server decided.
    private static let minWriteInterval = 0.02

    private func streamStep(_ context: ChannelHandlerContext, _ jobIn: ResponseJob) {
        guard !closed else { return }
        var job = jobIn
        let reply = job.reply
        // Tokens the stream sends in all: every output token, or those before the error event.
        let total = reply.usage.output
        let now = core.modelTime()
        var b = context.channel.allocator.buffer(capacity: 256)
        if !job.started {
            job.started = true
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: "text/event-stream; charset=utf-8")
            headers.add(name: "cache-control", value: "no-cache")
            headers.add(name: "request-id", value: job.requestId)
            headers.add(name: "anthropic-organization-id", value: job.org.org.id)
            if !job.keepAlive { headers.add(name: "connection", value: "close") }
            headers = rateLimitHeaders(headers, reply.snapshot!)
            context.write(Self.wrapOutboundOut(.head(HTTPResponseHead(version: version, status: .ok, headers: headers))),
                          promise: nil)
            Bodies.streamPreamble(into: &b, id: job.messageId, model: job.model, usage: reply.usage, content: job.content)
        }
        // The last write is due at the completion; tokens before it at their paced times.
        // 1 ns of slack: timers fire at whole nanoseconds of model time, never early.
        let last = now + 1e-9 >= reply.completion
        var due = total
        if !last {
            due = total == 0 ? 0 : 1
            while due < total && reply.tokenDue(due, rate: job.rate) <= now + 1e-9 { due += 1 }
        }
        if due > job.sent {
            Bodies.delta(into: &b, tokens: job.sent..<due, content: job.content)
            job.sent = due
        }
        if last {
            if case .streamError = reply.fault {
                Bodies.streamError(into: &b, requestId: job.requestId)
                context.write(Self.wrapOutboundOut(.body(.byteBuffer(b))), promise: nil)
                // The stream ends without message_stop and the connection is closed.
                context.writeAndFlush(Self.wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
                    context.close(promise: nil)
                }
                pending = nil
                releaseInFlight()
                return
            }
            Bodies.streamEnd(into: &b, usage: reply.usage, stopReason: reply.stopReason.rawValue,
                             content: job.content)
            context.write(Self.wrapOutboundOut(.body(.byteBuffer(b))), promise: nil)
            pending = nil
            finishResponse(context, keepAlive: job.keepAlive)
            return
        }
        context.writeAndFlush(Self.wrapOutboundOut(.body(.byteBuffer(b))), promise: nil)
        let nextDue = job.sent < total ? reply.tokenDue(job.sent, rate: job.rate) : reply.completion
        let next = Swift.min(Swift.max(now + Self.minWriteInterval, nextDue), reply.completion)
        let captured = job
        at(context, next) { [self] in streamStep(context, captured) }
    }

    private func reset(_ context: ChannelHandlerContext) {
        pending = nil
        releaseInFlight()
        // SO_LINGER 0 turns the close into a TCP RST.
        if let provider = context.channel as? any SocketOptionProvider {
            _ = provider.setSoLinger(linger(l_onoff: 1, l_linger: 0))
        }
        context.close(promise: nil)
    }

    // MARK: Writing

    private func at(_ context: ChannelHandlerContext, _ modelTime: Double, _ task: @escaping () -> Void) {
        guard !closed else { return }
        pending = context.eventLoop.assumeIsolated().scheduleTask(deadline: core.deadline(modelTime), task)
    }

    private func later(_ context: ChannelHandlerContext, after seconds: Double, _ task: @escaping () -> Void) {
        guard !closed else { return }
        if !(seconds > 0) { return task() }
        pending = context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(ServerCore.nanoseconds(seconds)), task)
    }

    /// Who sent the request and how, for the recording: the key's salted hash (never the key),
    /// the body's FNV-1a hash and the SDK's retry count.
    private func recordTag(_ recorder: MockRecorder, _ h: HTTPRequestHead, key: String, requestId: String) -> RecordTag {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        body.withUnsafeReadableBytes { bytes in
            for b in bytes { hash = (hash ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        }
        let retries = h.headers.first(name: "x-stainless-retry-count").flatMap { Int($0) }
        return RecordTag(keyHash: recorder.keyHash(key), requestId: requestId, bodyHash: hash,
                         retryCount: retries)
    }

    private func classId(_ org: OrgState, _ model: String) -> String? {
        let key = ClassKey(org: org.index, model: model)
        if let known = classIds[key] { return known }
        let id = org.classId(for: model, catalog: core.catalog)
        if classIds.count >= 64 { classIds.removeAll() }
        classIds[key] = id
        return id
    }

    // Header blocks are built from arrays: `HTTPHeaders.add` scans every name for non-ASCII
    // bytes, which cost more per reply than the rest of the header work (our names are constants).
    private func jsonHeaders(_ requestId: String, _ org: OrgState?) -> HTTPHeaders {
        var list = [("content-type", "application/json"), ("request-id", requestId)]
        if let org { list.append(("anthropic-organization-id", org.org.id)) }
        return HTTPHeaders(list)
    }

    private func rateLimitHeaders(_ base: HTTPHeaders, _ snap: RateLimitSnapshot) -> HTTPHeaders {
        var h = base
        h.add(contentsOf: HTTPHeaders(snap.headers(epoch: core.epoch)))
        return h
    }

    private func sendError(_ context: ChannelHandlerContext, status: HTTPResponseStatus, type: String, message: String,
                           requestId: String, org: OrgState?, keepAlive: Bool) {
        send(context, status, jsonHeaders(requestId, org), Bodies.error(type: type, message: message, requestId: requestId),
             keepAlive: keepAlive)
    }

    private func send(_ context: ChannelHandlerContext, _ status: HTTPResponseStatus, _ headers: HTTPHeaders,
                      _ text: String, keepAlive: Bool) {
        var b = context.channel.allocator.buffer(capacity: text.utf8.count)
        b.writeString(text)
        send(context, status, headers, b, keepAlive: keepAlive)
    }

    private func send(_ context: ChannelHandlerContext, _ status: HTTPResponseStatus, _ headers: HTTPHeaders,
                      _ body: ByteBuffer, keepAlive: Bool) {
        guard !closed else { return }
        pending = nil
        var h = headers
        h.add(name: "content-length", value: String(body.readableBytes))
        if !keepAlive { h.add(name: "connection", value: "close") }
        context.write(Self.wrapOutboundOut(.head(HTTPResponseHead(version: version, status: status, headers: h))),
                      promise: nil)
        context.write(Self.wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
        finishResponse(context, keepAlive: keepAlive)
    }

    private func finishResponse(_ context: ChannelHandlerContext, keepAlive: Bool) {
        releaseInFlight()
        responding = false
        answered = true
        if clientTimeouts { lastActivity = .now() }
        let done = context.writeAndFlush(Self.wrapOutboundOut(.end(nil)))
        if !keepAlive {
            done.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }
}

/// Request and message ids (`req_011C…`, `msg_01…`): SplitMix64 from a per-connection random
/// seed, base62-encoded. Unique enough for a mock and cheaper than a syscall per id.
struct IDSource {
    private var state: UInt64

    init(seed: UInt64) { state = seed }

    private mutating func next() -> UInt64 {
        state &+= 0x9e37_79b9_7f4a_7c15
        var z = state
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }

    private static let alphabet = Array("0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz".utf8)

    mutating func make(prefix: String) -> String {
        var out = Array(prefix.utf8)
        for _ in 0..<2 {
            var v = next()
            for _ in 0..<10 {
                out.append(Self.alphabet[Int(v % 62)])
                v /= 62
            }
        }
        return String(decoding: out, as: UTF8.self)
    }
}
