import Dispatch
import Foundation

/// SIGINT and SIGTERM turned into a clean stop: the default action (exit at once, losing what was
/// recorded) is ignored and `action` runs on `queue` instead. A signal that arrived while the
/// command was being set up (`StopSignals.hold()`, before the handler existed) runs `action` at
/// once. Call `cancel()` on the returned handler when the handling should end.
func onStopSignals(queue: DispatchQueue = .global(), _ action: @escaping @Sendable () -> Void) -> StopSignals.Handler {
    StopSignals.shared.register(queue: queue, action)
}

/// One process-wide pair of signal sources. `run` and `serve` start holding the signals as soon
/// as they start (`Main` calls `hold()` before parsing), so a SIGINT/SIGTERM during loading, or
/// while a mock starts, is kept for the handler instead of killing the process without a report.
final class StopSignals: @unchecked Sendable {
    static let shared = StopSignals()
    /// Where signal events and stop actions run: a serial queue of its own. A queue made with a
    /// label gets a thread even when every worker of the global queues is busy (libdispatch's
    /// overcommit pool); on `.global()`, a stop during a CPU-bound simulation on a 2-core
    /// machine was handled only after several strategies had run.
    static let queue = DispatchQueue(label: "limitlab.stop-signals")

    private let lock = NSLock()
    private var sources: [any DispatchSourceSignal] = []
    private var action: (queue: DispatchQueue, run: @Sendable () -> Void, id: Int)?
    private var nextID = 0
    /// A signal arrived while no action was registered.
    private var pending: Int32?
    /// Each signal's disposition before `hold()` (a shell starts background jobs with SIGINT ignored).
    private var previous: [Int32: sighandler_t?] = [:]

    /// Removes its action when cancelled; signals stay held (ignored) afterwards.
    final class Handler: @unchecked Sendable {
        private let id: Int
        fileprivate init(id: Int) { self.id = id }
        func cancel() { StopSignals.shared.unregister(id) }
    }

    /// Starts holding SIGINT and SIGTERM (idempotent).
    static func hold() { shared.install() }

    /// Stops holding, for a command that turned out not to handle signals (a simulated run):
    /// each signal's earlier disposition is back, and a signal held meanwhile takes effect as it
    /// would have then.
    static func release() {
        let held = shared.lock.withLock { () -> Int32? in
            shared.sources.forEach { $0.cancel() }
            shared.sources = []
            for (sig, handler) in shared.previous { signal(sig, handler) }
            shared.previous = [:]
            // libdispatch receives signals through a signalfd and blocks them in the thread that
            // made the source (this one); unblock them, or the default action never happens.
            var set = sigset_t()
            sigemptyset(&set)
            sigaddset(&set, SIGINT)
            sigaddset(&set, SIGTERM)
            pthread_sigmask(SIG_UNBLOCK, &set, nil)
            return shared.pending
        }
        if let held { raise(held) }
    }

    private func install() {
        lock.withLock {
            guard sources.isEmpty else { return }
            sources = [SIGINT, SIGTERM].map { sig in
                previous[sig] = signal(sig, SIG_IGN)
                let source = DispatchSource.makeSignalSource(signal: sig, queue: Self.queue)
                source.setEventHandler { [self] in fire(sig) }
                source.resume()
                return source
            }
        }
    }

    private func fire(_ sig: Int32) {
        let current = lock.withLock { () -> (queue: DispatchQueue, run: @Sendable () -> Void, id: Int)? in
            if action == nil { pending = pending ?? sig }
            return action
        }
        if let current { current.queue.async(execute: current.run) }
    }

    fileprivate func register(queue: DispatchQueue, _ run: @escaping @Sendable () -> Void) -> Handler {
        install()
        let (id, held) = lock.withLock { () -> (Int, Int32?) in
            nextID += 1
            action = (queue, run, nextID)
            let held = pending
            pending = nil
            return (nextID, held)
        }
        if held != nil { queue.async(execute: run) }
        return Handler(id: id)
    }

    fileprivate func unregister(_ id: Int) {
        lock.withLock { if action?.id == id { action = nil } }
    }
}

/// SIGINT/SIGTERM during a simulation: the first asks it to stop after the strategies in
/// progress (`requested`), a second ends the process at once (exit 128 + signal, no report).
final class SimulationStop: @unchecked Sendable {
    private let lock = NSLock()
    private var stops = 0
    private var handler: StopSignals.Handler?

    init() {
        handler = onStopSignals(queue: StopSignals.queue) { [self] in
            let n = lock.withLock { () -> Int in stops += 1; return stops }
            if n == 1 {
                FileHandle.standardError.write(Data(("\nlimitlab: stopping after the strategies in progress; the "
                    + "report will have those that finished (signal again to quit without a report)\n").utf8))
            } else {
                _exit(130)
            }
        }
    }

    var requested: Bool { lock.withLock { stops > 0 } }

    /// The simulation is over: signals get their default action back (StopSignals.release).
    func end() {
        handler?.cancel()
        StopSignals.release()
    }
}
