import Dispatch
import Foundation

/// SIGINT and SIGTERM turned into a clean stop: the default action (exit at once, losing what was
/// recorded) is ignored and `action` runs on `queue` instead. Keep the returned sources alive
/// for as long as the handling should last; cancel them after.
func onStopSignals(queue: DispatchQueue = .global(), _ action: @escaping @Sendable () -> Void)
    -> [any DispatchSourceSignal] {
    [SIGINT, SIGTERM].map { sig in
        signal(sig, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: sig, queue: queue)
        source.setEventHandler(handler: action)
        source.resume()
        return source
    }
}
