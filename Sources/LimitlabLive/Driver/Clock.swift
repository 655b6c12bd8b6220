#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// The runner's clocks. Model time is read from CLOCK_MONOTONIC (never steps with NTP);
/// the realtime clock is read once per run, only to turn `*-reset` headers (wall-clock
/// RFC 3339) into model time.
enum Clock {
    /// Monotonic nanoseconds (arbitrary origin).
    @inline(__always) static func monotonicNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) &* 1_000_000_000 &+ UInt64(ts.tv_nsec)
    }

    /// Unix time in seconds.
    static func unixNow() -> Double {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return Double(ts.tv_sec) + Double(ts.tv_nsec) / 1e9
    }

    /// Sleeps for `seconds` with nanosleep: the last millisecond before a due send when the
    /// kernel lacks epoll_pwait2 (epoll_wait has millisecond resolution), and short waits.
    static func sleep(_ seconds: Double) {
        guard seconds > 0 else { return }
        let ns = Int(seconds * 1e9)
        var ts = timespec(tv_sec: ns / 1_000_000_000, tv_nsec: ns % 1_000_000_000)
        var rest = timespec()
        while nanosleep(&ts, &rest) != 0 && errno == EINTR { ts = rest }
    }
}

/// Converts monotonic readings to model seconds from the start of one strategy run.
struct ModelClock {
    let originNanos: UInt64
    /// Unix time at model time 0.
    let epoch: Double

    init() {
        // Read both clocks back to back; the pairing error is a few microseconds, far below the
        // one-second resolution of the reset headers it serves.
        originNanos = Clock.monotonicNanos()
        epoch = Clock.unixNow()
    }

    @inline(__always) func seconds(_ nanos: UInt64) -> Double {
        nanos >= originNanos ? Double(nanos - originNanos) / 1e9 : -Double(originNanos - nanos) / 1e9
    }

    @inline(__always) func now() -> Double { seconds(Clock.monotonicNanos()) }
}
