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

    let core: ServerCore
    var head: HTTPRequestHead?
    var body = ByteBuffer()
    var bodyBytes = 0
    var tooLarge = false
    /// This request's body did not fit the server's body budget (`maxBufferedBodyBytes`).
    var overBudget = false
    /// Bytes of the body budget this connection holds.
    var budgetHeld = 0
    var ids: IDSource
    /// The organisation holding an in-flight slot for the response in progress.
    var inFlightOrg: OrgState?
    var pending: Scheduled<Void>?
    var closed = false
    /// The HTTP version of the request being answered (an HTTP/1.0 client gets 1.0 framing).
    var version = HTTPVersion.http1_1
    /// `OrgState.classId` answers per organisation and model (its inputs never change): the
    /// catalog's prefix scan cost ~9 % of a reply's instructions. Cleared past 64 entries, as
    /// clients choose the model names.
    var classIds: [ClassKey: String?] = [:]
    struct ClassKey: Hashable { let org: Int, model: String }

    /// Client timeouts (`clientTimeout`, `keepAliveTimeout`): whether they apply (a served
    /// mock; not the virtual-time one, whose time jumps), the last byte read or response ended,
    /// and whether a response is in progress (never cut, however long it streams) or at least
    /// one has been answered (the wait is then keep-alive, not a new connection's). One timer per
    /// connection, re-armed only when it fires: nothing per request but a clock read.
    let clientTimeouts: Bool
    var lastActivity = NIODeadline.now()
    var responding = false
    var answered = false
    var timeoutCheck: Scheduled<Void>?

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

    static func nanos(_ seconds: Double) -> TimeAmount { .nanoseconds(ServerCore.nanoseconds(seconds)) }

    func armTimeoutCheck(_ context: ChannelHandlerContext, at deadline: NIODeadline) {
        guard !closed else { return }
        timeoutCheck = context.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            timeoutCheck = nil
            checkClientTimeout(context)
        }
    }

    /// Closes the connection when the client has been silent too long while the server waits
    /// for a request; otherwise looks again when that could next be so.
    func checkClientTimeout(_ context: ChannelHandlerContext) {
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
    func dropBody() {
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

    func releaseInFlight() {
        inFlightOrg?.finish()
        inFlightOrg = nil
    }
}
