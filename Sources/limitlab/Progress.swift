import Foundation
import LimitlabSim

/// One line of progress with an ETA on standard error, redrawn in place (`\r`). It draws only
/// when standard error is a terminal and the command is not quiet, so piped output, CI logs and
/// `--quiet` stay clean. Thread-safe: the live runner reports from its engine thread.
final class Progress: @unchecked Sendable {
    let label: String
    /// Units of work in all (simulated strategy runs, arrivals, …); nil when unknown (no ETA).
    private(set) var total: Double?
    let enabled: Bool
    private let now: @Sendable () -> Double
    private let write: @Sendable (String) -> Void
    private let lock = NSLock()
    private let started: Double
    private var lastDraw = -Double.infinity
    private var drawn = false
    private var done = 0.0
    private var steps = 0.0

    /// Redraws at most this often (seconds), so a fast loop does not flood the terminal.
    static let minInterval = 0.2

    init(_ label: String, total: Double?, quiet: Bool, terminal: Bool = isatty(STDERR_FILENO) == 1,
         now: @escaping @Sendable () -> Double = Progress.monotonic,
         write: @escaping @Sendable (String) -> Void = { writeStderr($0) }) {
        self.label = label
        self.total = total
        self.enabled = terminal && !quiet
        self.now = now
        self.write = write
        self.started = now()
    }

    static func monotonic() -> Double { Double(DispatchTime.now().uptimeNanoseconds) / 1e9 }

    /// Marks one more unit done.
    func step(_ detail: String = "") {
        lock.lock()
        steps += 1
        let d = steps
        lock.unlock()
        update(d, detail: detail)
    }

    /// The unit in progress is `share` (0…1) done.
    func partial(_ share: Double) {
        lock.lock()
        let d = steps + Swift.min(Swift.max(share, 0), 0.999)
        lock.unlock()
        update(d)
    }

    /// Sets the units done so far (and the total, when it is learnt as the work goes) and
    /// redraws (throttled; always when all are done).
    func update(_ done: Double, of newTotal: Double? = nil, detail: String = "") {
        guard enabled else { return }
        lock.lock(); defer { lock.unlock() }
        self.done = done
        if let newTotal { total = newTotal }
        let t = now()
        let complete = total.map { done >= $0 } ?? false
        guard complete || t - lastDraw >= Self.minInterval else { return }
        lastDraw = t
        drawn = true
        write("\r" + Self.line(label: label, done: done, total: total, elapsed: t - started, detail: detail) + "\u{1B}[K")
    }

    /// Ends the line (if anything was drawn), so that what follows starts on a fresh one.
    func finish() {
        lock.lock(); defer { lock.unlock() }
        if drawn { write("\r\u{1B}[K") }
        drawn = false
    }

    /// Runs `body` with every simulated strategy run counted as one step, and the share of its
    /// arrival window simulated so far as the fraction of the step in progress.
    func countingSimulations<T>(_ body: () throws -> T) rethrows -> T {
        defer { finish() }
        guard enabled else { return try body() }
        let hooks = SimulationProgress(strategyFinished: { [self] label in step(label) },
                                       strategyProgress: { [self] share in partial(share) })
        return try Simulator.$progress.withValue(hooks, operation: body)
    }

    /// Seconds left at the average pace so far; nil before any work or without a total.
    static func eta(done: Double, total: Double?, elapsed: Double) -> Double? {
        guard let total else { return nil }
        if done >= total { return 0 }
        guard done > 0, elapsed > 0 else { return nil }
        return elapsed / done * (total - done)
    }

    /// `sweep  12/40  30%  elapsed 4.1s  ETA 9.6s  none`
    static func line(label: String, done: Double, total: Double?, elapsed: Double, detail: String) -> String {
        var parts = [label]
        if let total, total > 0 {
            parts.append("\(count(done))/\(count(total))")
            parts.append(String(format: "%3.0f%%", min(100, done / total * 100)))
        } else {
            parts.append(count(done))
        }
        parts.append("elapsed " + clock(elapsed))
        if let eta = eta(done: done, total: total, elapsed: elapsed) { parts.append("ETA " + clock(eta)) }
        if !detail.isEmpty { parts.append(detail) }
        return parts.joined(separator: "  ")
    }

    static func count(_ v: Double) -> String { v == v.rounded() ? String(Int(v)) : String(format: "%.1f", v) }

    /// `4.1s`, `2m05s`, `1h02m`.
    static func clock(_ s: Double) -> String {
        guard s.isFinite, s >= 0 else { return "?" }
        if s < 60 { return String(format: "%.1fs", s) }
        let whole = Int(s.rounded())
        if whole < 3600 { return String(format: "%dm%02ds", whole / 60, whole % 60) }
        return String(format: "%dh%02dm", whole / 3600, (whole % 3600) / 60)
    }
}
