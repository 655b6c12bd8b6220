import Foundation
public import LimitlabCore
import NIOCore
import NIOHTTP1
import NIOPosix

/// The mock Anthropic Messages API: real response shapes, rate-limit headers and 429s from the
/// shared `LimitModel`, paced streaming, prompt caching and injected faults. Runs in-process
/// (tests, `target: mock`) or behind `limitlab serve`.
///
/// ```swift
/// let server = MockServer(config: try .standard(tier: "tier-1"))
/// let port = try await server.start(port: 0)   // 0: a free port
/// // … point a client at http://127.0.0.1:\(port) …
/// await server.stop()
/// ```
public final class MockServer: Sendable {
    private let core: ServerCore
    private let group: MultiThreadedEventLoopGroup
    private let state = LockedState()

    /// `threads`: event-loop threads of the server's own group (nil: one per core).
    /// `recorder`: append one row per decided request to a recording (docs/recording.md); the
    /// server closes it (writing what is queued) when it stops.
    public init(config: MockConfig, threads: Int? = nil, catalog: TierCatalog = .builtIn, recorder: MockRecorder? = nil) {
        core = ServerCore(config: config, catalog: catalog, recorder: recorder)
        group = MultiThreadedEventLoopGroup(numberOfThreads: Swift.max(1, threads ?? System.coreCount))
    }

    /// The bound port while running.
    public var port: Int? { state.withLock { $0.port } }

    /// Binds `host:port` (port 0 picks a free one) and starts serving; returns the bound port.
    public func start(host: String = "127.0.0.1", port: Int = 0) async throws(MockError) -> Int {
        let future = try bindFuture(host: host, port: port)
        let channel: any Channel
        do {
            channel = try await future.get()
        } catch {
            throw Self.bindError(host: host, port: port, error)
        }
        return try started(channel)
    }

    /// `start` for synchronous callers (the CLI); blocks until bound.
    @available(*, noasync, message: "use start(host:port:) from async code")
    public func startBlocking(host: String = "127.0.0.1", port: Int = 0) throws(MockError) -> Int {
        let future = try bindFuture(host: host, port: port)
        let channel: any Channel
        do {
            channel = try future.wait()
        } catch {
            throw Self.bindError(host: host, port: port, error)
        }
        return try started(channel)
    }

    /// Stops accepting, closes every open connection (in-progress responses are cut) and
    /// shuts the event loops down. Idempotent.
    public func stop() async {
        guard let (listener, children) = beginStop() else { return }
        try? await listener?.close()
        for c in children { try? await c.close() }
        try? await group.shutdownGracefully()
        core.recorder?.close()
        state.withLock { $0.stopped.signalAll() }
    }

    /// `stop` for synchronous callers; safe to call from a signal handler's queue.
    @available(*, noasync, message: "use stop() from async code")
    public func stopBlocking() {
        guard let (listener, children) = beginStop() else { return }
        try? listener?.close().wait()
        for c in children { try? c.close().wait() }
        try? group.syncShutdownGracefully()
        core.recorder?.close()
        state.withLock { $0.stopped.signalAll() }
    }

    /// Blocks the calling thread until `stop` or `stopBlocking` has finished.
    @available(*, noasync, message: "await stop() instead")
    public func waitUntilStopped() {
        let gate = state.withLock { s -> Gate? in s.stopped.isOpen ? nil : s.stopped }
        gate?.wait()
    }

    // MARK: Internals

    private func bindFuture(host: String, port: Int) throws(MockError) -> EventLoopFuture<any Channel> {
        try state.withLock { (s) throws(MockError) in
            if s.stopping { throw MockError(.state, "the mock server has been stopped; create a new one") }
            if s.listener != nil { throw MockError(.state, "the mock server is already running on port \(s.port ?? 0)") }
        }
        let core = self.core
        let registry = self.state
        return ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 4096)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { child in
                registry.add(child)
                child.closeFuture.whenComplete { _ in registry.remove(child) }
                return child.eventLoop.makeCompletedFuture {
                    try child.pipeline.syncOperations.configureHTTPServerPipeline(
                        withErrorHandling: true, withOutboundHeaderValidation: core.validatesHeaders)
                    try child.pipeline.syncOperations.addHandler(MockHTTPHandler(core: core, clientTimeouts: true))
                }
            }
            .bind(host: host, port: port)
    }

    private func started(_ channel: any Channel) throws(MockError) -> Int {
        guard let bound = channel.localAddress?.port else {
            channel.close(promise: nil)
            throw MockError(.bind, "the listening socket has no port")
        }
        state.withLock { s in
            s.listener = channel
            s.port = bound
        }
        return bound
    }

    private func beginStop() -> ((any Channel)?, [any Channel])? {
        state.withLock { s -> ((any Channel)?, [any Channel])? in
            guard !s.stopping else { return nil }
            s.stopping = true
            let l = s.listener
            s.listener = nil
            s.port = nil
            return (l, Array(s.children.values))
        }
    }

    private static func bindError(host: String, port: Int, _ error: any Error) -> MockError {
        let hint = port == 0 ? "" : " (is another process using port \(port)? --port 0 picks a free one)"
        return MockError(.bind, "cannot listen on \(host):\(port): \(error)\(hint)")
    }
}

/// The server's mutable bookkeeping: the listener, open connections and the stop gate.
private final class LockedState: @unchecked Sendable {
    struct Values {
        var listener: (any Channel)?
        var port: Int?
        var stopping = false
        var children: [ObjectIdentifier: any Channel] = [:]
        let stopped = Gate()
    }

    private let lock = NSLock()
    private var values = Values()

    func withLock<T, E: Error>(_ body: (inout Values) throws(E) -> T) throws(E) -> T {
        lock.lock()
        defer { lock.unlock() }
        return try body(&values)
    }

    func add(_ c: any Channel) {
        withLock { s in
            if s.stopping {
                c.close(promise: nil)
            } else {
                s.children[ObjectIdentifier(c)] = c
            }
        }
    }

    func remove(_ c: any Channel) { withLock { $0.children[ObjectIdentifier(c)] = nil } }
}

/// A one-shot gate threads can wait on.
private final class Gate: @unchecked Sendable {
    private let condition = NSCondition()
    private var open = false

    var isOpen: Bool {
        condition.lock()
        defer { condition.unlock() }
        return open
    }

    func signalAll() {
        condition.lock()
        open = true
        condition.broadcast()
        condition.unlock()
    }

    func wait() {
        condition.lock()
        while !open { condition.wait() }
        condition.unlock()
    }
}
