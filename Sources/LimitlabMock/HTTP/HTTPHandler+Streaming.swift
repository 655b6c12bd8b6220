import LimitlabCore
import LimitlabServer
import NIOCore
import NIOHTTP1
import NIOPosix

// A reply written over time: server-sent events paced by the server's output schedule, and
// the faults that cut them (reset, stall, mid-stream error).

extension MockHTTPHandler {
    // MARK: Streaming

    struct ResponseJob {
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
    static let minWriteInterval = 0.02

    func streamStep(_ context: ChannelHandlerContext, _ jobIn: ResponseJob) {
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

    func reset(_ context: ChannelHandlerContext) {
        pending = nil
        releaseInFlight()
        // SO_LINGER 0 turns the close into a TCP RST.
        if let provider = context.channel as? any SocketOptionProvider {
            _ = provider.setSoLinger(linger(l_onoff: 1, l_linger: 0))
        }
        context.close(promise: nil)
    }
}
