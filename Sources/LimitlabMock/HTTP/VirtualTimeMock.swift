public import LimitlabCore
import NIOCore
import NIOEmbedded
import NIOHTTP1

/// The mock's HTTP handler driven in virtual time: every connection is an `EmbeddedChannel` on
/// one `EmbeddedEventLoop`, the server's clock is that loop's, and nothing sleeps. A request
/// goes in at an exact model time; every part of its response comes out stamped with the model
/// time at which the handler wrote it. Tests use it to compare the mock with the simulator
/// attempt by attempt (the real socket path is covered by the wall-clock tests).
///
/// Single-threaded and not `Sendable`: drive it from one task.
public final class VirtualTimeMock {
    private let loop = EmbeddedEventLoop()
    private let core: ServerCore
    private let clock: VirtualClock
    private var channels: [EmbeddedChannel] = []
    private var recorders: [ExchangeRecorder] = []

    /// `epoch`: Unix time of model time 0 (fixed, so header values are reproducible).
    /// `recorder`: record every decided request, as `serve --record` does.
    public init(config: MockConfig, catalog: TierCatalog = .builtIn, epoch: Double = 1_767_225_600,
                recorder: MockRecorder? = nil) {
        let clock = VirtualClock(loop: loop)
        self.clock = clock
        core = ServerCore(config: config, catalog: catalog,
                          clock: ModelClockSource(start: .uptimeNanoseconds(0), epoch: epoch) { clock.modelTime() },
                          recorder: recorder)
    }

    /// Model time now.
    public var now: Double { clock.modelTime() }

    /// Runs every response part due up to model time `t`.
    public func advance(to t: Double) {
        guard t > clock.modelTime() else { return }
        loop.advanceTime(to: clock.deadline(t))
        clock.exact = (t, loop.now)
    }

    /// Opens a connection and sends one request on it at model time `t` (not before `now`);
    /// returns the exchange's index. Everything due before `t` runs first.
    public func send(at t: Double, method: String = "POST", uri: String = "/v1/messages",
                     headers: [(String, String)], body: [UInt8]) -> Int {
        advance(to: t)
        let recorder = ExchangeRecorder(clock: clock)
        let channel = EmbeddedChannel(loop: loop)
        try! channel.pipeline.syncOperations.addHandlers([recorder, MockHTTPHandler(core: core)])
        // An address makes the channel active, as an accepted connection is.
        try! channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 1)).wait()
        channels.append(channel)
        recorders.append(recorder)
        var h = HTTPHeaders(headers)
        h.replaceOrAdd(name: "content-length", value: String(body.count))
        if !h.contains(name: "host") { h.add(name: "host", value: "127.0.0.1") }
        let head = HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: method), uri: uri, headers: h)
        try! channel.writeInbound(HTTPServerRequestPart.head(head))
        try! channel.writeInbound(HTTPServerRequestPart.body(ByteBuffer(bytes: body)))
        try! channel.writeInbound(HTTPServerRequestPart.end(nil))
        return recorders.count - 1
    }

    /// What exchange `i` has received so far.
    public func exchange(_ i: Int) -> VirtualExchange { recorders[i].exchange }

    /// Number of exchanges sent.
    public var count: Int { recorders.count }
}

/// One request's response as the handler wrote it, with model times.
public struct VirtualExchange: Sendable {
    public var status: Int?
    public var headers: [(String, String)] = []
    /// When the response head was written.
    public var headAt: Double?
    /// Body chunks with the model time each was written.
    public var chunks: [(time: Double, bytes: [UInt8])] = []
    /// When the response ended (`.end` written), if it did.
    public var endAt: Double?
    /// When the handler closed the connection (a reset, a broken stream, `connection: close`).
    public var closedAt: Double?

    /// The whole body.
    public var body: [UInt8] { chunks.flatMap(\.bytes) }

    /// The first value of a header (names compared case-insensitively).
    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }
}

/// Model time on the embedded loop: whole nanoseconds of the loop's clock, except at the instant
/// a request was sent, where it is the exact `Double` the caller gave (so a decision sees the
/// same time as the simulator's, not one rounded to the nanosecond).
private final class VirtualClock {
    let loop: EmbeddedEventLoop
    var exact: (time: Double, at: NIODeadline)?

    init(loop: EmbeddedEventLoop) { self.loop = loop }

    func modelTime() -> Double {
        let now = loop.now
        if let e = exact, e.at == now { return e.time }
        return Double(now.uptimeNanoseconds) / 1e9
    }

    func deadline(_ t: Double) -> NIODeadline {
        .uptimeNanoseconds(UInt64(ServerCore.nanoseconds(t)))
    }
}

/// Records what the handler writes on one connection, stamped with model time.
private final class ExchangeRecorder: ChannelOutboundHandler {
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let clock: VirtualClock
    var exchange = VirtualExchange()

    init(clock: VirtualClock) { self.clock = clock }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        let t = clock.modelTime()
        switch Self.unwrapOutboundIn(data) {
        case .head(let h):
            exchange.status = Int(h.status.code)
            exchange.headers = h.headers.map { ($0.name, $0.value) }
            exchange.headAt = t
        case .body(.byteBuffer(let b)):
            exchange.chunks.append((t, Array(b.readableBytesView)))
        case .body:
            break
        case .end:
            exchange.endAt = t
        }
        promise?.succeed(())
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if exchange.closedAt == nil { exchange.closedAt = clock.modelTime() }
        context.close(mode: mode, promise: promise)
    }
}
