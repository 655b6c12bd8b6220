import Foundation
public import Prometheus
import NIOCore
import NIOHTTP1
import NIOPosix

/// Serves a registry on `GET /metrics` in the Prometheus text format (version 0.0.4) with
/// SwiftNIO, on one event-loop thread of its own: a scrape never runs on the live runner's
/// engine thread, and reads the metrics through the registry's own locks and atomics.
///
/// ```swift
/// let server = MetricsServer(registry: metrics.registry)
/// let port = try server.start(host: "127.0.0.1", port: 9464)
/// // … scrape http://127.0.0.1:9464/metrics …
/// server.stop()
/// ```
public final class MetricsServer: Sendable {
    private let registry: PrometheusCollectorRegistry
    private let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    private let channel = NIOLockedChannel()

    public init(registry: PrometheusCollectorRegistry) {
        self.registry = registry
    }

    /// Why the server could not start.
    public struct BindError: Error, CustomStringConvertible, Sendable {
        public var description: String
    }

    /// Binds `host:port` (0: a free port) and starts serving; returns the bound port. Blocks
    /// the caller until bound (milliseconds).
    public func start(host: String, port: Int) throws(BindError) -> Int {
        let registry = self.registry
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 64)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(MetricsHandler(registry: registry))
                }
            }
        do {
            let c = try bootstrap.bind(host: host, port: port).wait()
            channel.set(c)
            return c.localAddress?.port ?? port
        } catch {
            try? group.syncShutdownGracefully()
            if let e = error as? IOError, e.errnoCode == EADDRINUSE {
                throw BindError(description: "metrics endpoint \(host):\(port): the port is in use; pick another, "
                                + "or 0 for a free one")
            }
            throw BindError(description: "metrics endpoint \(host):\(port) could not be opened: \(error)")
        }
    }

    /// Stops serving; blocks until the socket and the event loop are closed. Idempotent.
    public func stop() {
        if let c = channel.take() { try? c.close().wait() }
        try? group.syncShutdownGracefully()
    }
}

/// The bound channel, set once by `start` and taken once by `stop`.
private final class NIOLockedChannel: @unchecked Sendable {
    private let lock = NSLock()
    private var channel: (any Channel)?
    func set(_ c: any Channel) { lock.lock(); channel = c; lock.unlock() }
    func take() -> (any Channel)? {
        lock.lock()
        defer { lock.unlock() }
        let c = channel
        channel = nil
        return c
    }
}

/// `GET /metrics` (and `HEAD`); 404 for other paths, 405 for other methods.
private final class MetricsHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let registry: PrometheusCollectorRegistry
    private var head: HTTPRequestHead?

    init(registry: PrometheusCollectorRegistry) { self.registry = registry }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let h): head = h
        case .body: break
        case .end:
            guard let h = head else { return }
            head = nil
            respond(context, h)
        }
    }

    private func respond(_ context: ChannelHandlerContext, _ h: HTTPRequestHead) {
        let path = h.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? h.uri
        let status: HTTPResponseStatus
        var body: [UInt8]
        var headers = HTTPHeaders()
        if path != "/metrics" {
            status = .notFound
            body = Array("not found: the metrics are at /metrics\n".utf8)
            headers.add(name: "content-type", value: "text/plain; charset=utf-8")
        } else if h.method != .GET && h.method != .HEAD {
            status = .methodNotAllowed
            body = Array("use GET\n".utf8)
            headers.add(name: "allow", value: "GET, HEAD")
            headers.add(name: "content-type", value: "text/plain; charset=utf-8")
        } else {
            status = .ok
            body = registry.emitToBuffer()
            headers.add(name: "content-type", value: "text/plain; version=0.0.4; charset=utf-8")
        }
        headers.add(name: "content-length", value: String(body.count))
        let keepAlive = h.isKeepAlive
        if !keepAlive { headers.add(name: "connection", value: "close") }
        context.write(wrapOutboundOut(.head(HTTPResponseHead(version: h.version, status: status, headers: headers))),
                      promise: nil)
        if h.method != .HEAD {
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
        }
        body = []
        let done = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if !keepAlive {
            let ctx = NIOLoopBound(context, eventLoop: context.eventLoop)
            done.whenComplete { _ in ctx.value.close(promise: nil) }
        }
    }
}
