import LimitlabCore
import LimitlabServer
import NIOCore
import NIOHTTP1
import NIOPosix

// POST /v1/messages and /v1/messages/count_tokens: validation, the organisation's decision,
// and the reply (whole or streamed).

extension MockHTTPHandler {
    // MARK: Messages and count_tokens

    func messages(_ context: ChannelHandlerContext, _ h: HTTPRequestHead, org: OrgState, countTokens: Bool,
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
}
