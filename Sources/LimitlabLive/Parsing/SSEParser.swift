import LimitlabCore
#if canImport(Glibc)
import Glibc
#endif

/// A server-sent-events parser fed arbitrary chunks: lines are split on LF (a trailing CR is
/// dropped), an event is dispatched at its blank line. Only the events the runner reads keep
/// their data; text deltas are recognised by name and their data skipped.
struct SSEParser {
    enum Event: Equatable {
        case messageStart, contentBlockDelta, messageDelta, messageStop, error, other
        /// An event without an `event:` line whose data is not JSON (so it has no name).
        case invalid

        var label: String {
            switch self {
            case .messageStart: return "message_start"
            case .contentBlockDelta: return "content_block_delta"
            case .messageDelta: return "message_delta"
            case .messageStop: return "message_stop"
            case .error: return "error"
            case .other: return "event"
            case .invalid: return "unnamed event"
            }
        }
    }

    private var line: [UInt8] = []
    private var event: Event?
    private var data: [UInt8] = []
    private var hasData = false
    /// A line or an event's data went past `maxLine`; the rest of the stream is ignored.
    private(set) var overflowed = false

    /// Longest line, and longest event data, kept (1 MiB). Real events are a few hundred bytes;
    /// a server that never sends a newline must not grow the runner's memory without bound.
    static let maxLine = 1 << 20
    /// The stream error an overlong line or event is recorded as.
    static let overflowError = "sse_line_too_long"

    mutating func reset() {
        line.removeAll(keepingCapacity: true)
        event = nil
        data.removeAll(keepingCapacity: true)
        hasData = false
        overflowed = false
    }

    mutating func feed(_ chunk: UnsafeRawBufferPointer, _ dispatch: (Event, [UInt8]) -> Void) {
        var start = 0
        let n = chunk.count
        guard !overflowed, let base = chunk.baseAddress else { return }
        while start < n {
            guard let hit = memchr(base + start, 0x0A, n - start) else {
                if line.count + (n - start) > Self.maxLine { return overflow() }
                line.append(contentsOf: chunk[start..<n])
                return
            }
            let nl = base.distance(to: UnsafeRawPointer(hit))
            if line.count + (nl - start) > Self.maxLine { return overflow() }
            if line.isEmpty {
                process(UnsafeRawBufferPointer(rebasing: chunk[start..<nl]), dispatch)
            } else {
                line.append(contentsOf: chunk[start..<nl])
                let whole = line
                line.removeAll(keepingCapacity: true)
                whole.withUnsafeBytes { process($0, dispatch) }
            }
            start = nl + 1
        }
    }

    private mutating func process(_ raw: UnsafeRawBufferPointer, _ dispatch: (Event, [UInt8]) -> Void) {
        var n = raw.count
        if n > 0 && raw[n - 1] == 0x0D { n -= 1 }
        if n == 0 {
            if event != nil || hasData {
                let name = event ?? Self.typeFromData(data)
                dispatch(name, data)
            }
            event = nil
            data.removeAll(keepingCapacity: true)
            hasData = false
            return
        }
        let l = UnsafeRawBufferPointer(rebasing: raw[0..<n])
        if l[0] == 0x3A { return } // ":" comment
        if Self.hasPrefix(l, "event:") {
            event = Self.classify(Self.value(l, after: 6))
        } else if Self.hasPrefix(l, "data:") {
            // Deltas carry the text; nothing in them is needed beyond their arrival.
            if event == .contentBlockDelta { hasData = true; return }
            let value = Self.value(l, after: 5)
            if data.count + value.count + 1 > Self.maxLine { return overflow() }
            if hasData { data.append(0x0A) }
            data.append(contentsOf: value)
            hasData = true
        }
    }

    private mutating func overflow() {
        overflowed = true
        line = []
        data = []
        event = nil
        hasData = false
    }

    private static func hasPrefix(_ l: UnsafeRawBufferPointer, _ p: StaticString) -> Bool {
        let count = p.utf8CodeUnitCount
        guard l.count >= count else { return false }
        return p.withUTF8Buffer { pb in
            for i in 0..<count where l[i] != pb[i] { return false }
            return true
        }
    }

    private static func value(_ l: UnsafeRawBufferPointer, after k: Int) -> UnsafeRawBufferPointer.SubSequence {
        var s = k
        if s < l.count && l[s] == 0x20 { s += 1 }
        return l[s..<l.count]
    }

    static func classify<C: Collection>(_ name: C) -> Event where C.Element == UInt8 {
        var buffer: (UInt64, UInt64, UInt64) = (0, 0, 0)
        let count = name.count
        guard count <= 24 else { return .other }
        return withUnsafeMutableBytes(of: &buffer) { b in
            var i = 0
            for c in name { b[i] = c; i += 1 }
            let n = UnsafeRawBufferPointer(rebasing: b[0..<count])
            if exactly(n, "content_block_delta") { return .contentBlockDelta }
            if exactly(n, "message_start") { return .messageStart }
            if exactly(n, "message_delta") { return .messageDelta }
            if exactly(n, "message_stop") { return .messageStop }
            if exactly(n, "error") { return .error }
            return .other
        }
    }

    private static func exactly(_ b: UnsafeRawBufferPointer, _ s: StaticString) -> Bool {
        guard b.count == s.utf8CodeUnitCount else { return false }
        return s.withUTF8Buffer { p in
            for i in 0..<p.count where b[i] != p[i] { return false }
            return true
        }
    }

    /// Events without an `event:` line are named by their data's top-level `type`.
    static func typeFromData(_ data: [UInt8]) -> Event {
        data.withUnsafeBytes { MessageJSON.parse($0)?.type ?? .invalid }
    }
}
