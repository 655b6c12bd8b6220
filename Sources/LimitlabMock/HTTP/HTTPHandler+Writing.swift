import LimitlabCore
import LimitlabServer
import NIOCore
import NIOHTTP1
import NIOPosix

// Response framing: headers (rate limits, request id), errors in the API's shape, timers in
// model time, and the end of a response.

extension MockHTTPHandler {
    // MARK: Writing

    func at(_ context: ChannelHandlerContext, _ modelTime: Double, _ task: @escaping () -> Void) {
        guard !closed else { return }
        pending = context.eventLoop.assumeIsolated().scheduleTask(deadline: core.deadline(modelTime), task)
    }

    func later(_ context: ChannelHandlerContext, after seconds: Double, _ task: @escaping () -> Void) {
        guard !closed else { return }
        if !(seconds > 0) { return task() }
        pending = context.eventLoop.assumeIsolated().scheduleTask(in: .nanoseconds(ServerCore.nanoseconds(seconds)), task)
    }

    /// Who sent the request and how, for the recording: the key's salted hash (never the key),
    /// the body's FNV-1a hash and the SDK's retry count.
    func recordTag(_ recorder: MockRecorder, _ h: HTTPRequestHead, key: String, requestId: String) -> RecordTag {
        var hash: UInt64 = 0xcbf2_9ce4_8422_2325
        body.withUnsafeReadableBytes { bytes in
            for b in bytes { hash = (hash ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        }
        let retries = h.headers.first(name: "x-stainless-retry-count").flatMap { Int($0) }
        return RecordTag(keyHash: recorder.keyHash(key), requestId: requestId, bodyHash: hash,
                         retryCount: retries)
    }

    func classId(_ org: OrgState, _ model: String) -> String? {
        let key = ClassKey(org: org.index, model: model)
        if let known = classIds[key] { return known }
        let id = org.classId(for: model, catalog: core.catalog)
        if classIds.count >= 64 { classIds.removeAll() }
        classIds[key] = id
        return id
    }

    // Header blocks are built from arrays: `HTTPHeaders.add` scans every name for non-ASCII
    // bytes, which cost more per reply than the rest of the header work (our names are constants).
    func jsonHeaders(_ requestId: String, _ org: OrgState?) -> HTTPHeaders {
        var list = [("content-type", "application/json"), ("request-id", requestId)]
        if let org { list.append(("anthropic-organization-id", org.org.id)) }
        return HTTPHeaders(list)
    }

    func rateLimitHeaders(_ base: HTTPHeaders, _ snap: RateLimitSnapshot) -> HTTPHeaders {
        var h = base
        h.add(contentsOf: HTTPHeaders(snap.headers(epoch: core.epoch)))
        return h
    }

    func sendError(_ context: ChannelHandlerContext, status: HTTPResponseStatus, type: String, message: String,
                           requestId: String, org: OrgState?, keepAlive: Bool) {
        send(context, status, jsonHeaders(requestId, org), Bodies.error(type: type, message: message, requestId: requestId),
             keepAlive: keepAlive)
    }

    func send(_ context: ChannelHandlerContext, _ status: HTTPResponseStatus, _ headers: HTTPHeaders,
                      _ text: String, keepAlive: Bool) {
        var b = context.channel.allocator.buffer(capacity: text.utf8.count)
        b.writeString(text)
        send(context, status, headers, b, keepAlive: keepAlive)
    }

    func send(_ context: ChannelHandlerContext, _ status: HTTPResponseStatus, _ headers: HTTPHeaders,
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

    func finishResponse(_ context: ChannelHandlerContext, keepAlive: Bool) {
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
