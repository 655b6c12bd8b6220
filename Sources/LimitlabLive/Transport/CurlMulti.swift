internal import CCurl

#if canImport(Glibc)
import Glibc
#endif

// libcurl's multi interface in socket-action mode, driven from one thread (libcurl-thread(3):
// a handle is never used from two threads). The engine owns an epoll set; libcurl tells it which
// sockets to watch (CURLMOPT_SOCKETFUNCTION, in the C shim) and when its own timers expire
// (CURLMOPT_TIMERFUNCTION). Each socket event costs work for that socket only, where
// curl_multi_perform / curl_multi_poll walk every transfer; and the engine chooses when to act
// between events, so a due send does not wait behind a batch of responses. The only
// cross-thread call is the eventfd write `RunControl` makes to wake the wait.

/// `curl_global_init` once per process, before the first handle (it is not thread-safe).
enum CurlGlobal {
    static let ready: Bool = curl_global_init(Int(CURL_GLOBAL_ALL)) == CURLE_OK

    static func message(_ code: CURLcode) -> String {
        String(cString: curl_easy_strerror(code))
    }
}

/// Options every transfer of a run shares.
struct TransferSettings {
    var url: String
    var connectTimeout: Double
    var requestTimeout: Double
    /// https: offer HTTP/2 and wait to multiplex on an existing connection.
    var http2: Bool
}

/// The constant request headers of a run, one libcurl list per API key, built once and shared
/// by every transfer (libcurl only reads a header list). Freed after the last easy handle.
final class HeaderLists {
    private var lists: [UnsafeMutablePointer<curl_slist>?] = []

    init(perKey: [[String]]) {
        for lines in perKey {
            var l: UnsafeMutablePointer<curl_slist>?
            for line in lines { l = curl_slist_append(l, line) }
            lists.append(l)
        }
    }

    func list(key: Int) -> UnsafeMutablePointer<curl_slist>? { lists[key] }

    deinit {
        for l in lists { if let l { curl_slist_free_all(l) } }
    }
}

/// One easy handle and the attempt it carries. Reused across attempts (a pool): the options that
/// never change are set once; per attempt only the body, its size, and the header list change.
/// Not Sendable.
final class Transfer {
    let easy: UnsafeMutableRawPointer
    var attempt: Int32 = -1
    var request: Int32 = -1
    var plannedAt = 0.0
    var reservedUSD = 0.0
    var response = ResponseState()
    /// What the transfer is: a Messages attempt, or one call of a Message Batch's life.
    var kind = TransferKind.message
    /// The batch (index into `LiveTransport.batches`) of a batch call; -1 otherwise.
    var batch = -1
    private var body: UnsafeMutableRawPointer?
    private var bodyCapacity = 0
    /// This handle's own first header node ("x-limitlab-output-tokens: N"), linked in front of a
    /// shared per-key list, so a send allocates no header memory.
    private let hintNode: UnsafeMutablePointer<curl_slist>
    private let hintText: UnsafeMutablePointer<CChar>
    private static let hintCapacity = 64

    init(settings s: TransferSettings) throws(LiveError) {
        guard CurlGlobal.ready, let h = curl_easy_init() else {
            throw LiveError(.curl, "libcurl could not create an easy handle")
        }
        easy = h
        hintNode = .allocate(capacity: 1)
        hintText = .allocate(capacity: Self.hintCapacity)
        hintText.initialize(repeating: 0, count: Self.hintCapacity)
        limitlab_slist_link(hintNode, hintText, nil)
        let me = Unmanaged.passUnretained(self).toOpaque()
        var ok = true
        func set(_ r: CURLcode) { ok = ok && r == CURLE_OK }
        set(limitlab_curl_easy_setopt_string(h, CURLOPT_URL, s.url))
        // No signals: timeouts must not use SIGALRM in a multi-threaded process.
        set(limitlab_curl_easy_setopt_long(h, CURLOPT_NOSIGNAL, 1))
        // One attempt is one request at the server: no silent re-send after a reset (libcurl ≥ 8.16).
        _ = limitlab_curl_forbid_retry_on_reuse(h)
        set(limitlab_curl_easy_setopt_long(h, CURLOPT_POST, 1))
        set(limitlab_curl_easy_setopt_long(h, CURLOPT_HTTP_VERSION,
                                           s.http2 ? Int(CURL_HTTP_VERSION_2TLS) : Int(CURL_HTTP_VERSION_1_1)))
        if s.http2 { set(limitlab_curl_easy_setopt_long(h, CURLOPT_PIPEWAIT, 1)) }
        set(limitlab_curl_easy_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, Self.millis(s.connectTimeout)))
        set(limitlab_curl_easy_setopt_long(h, CURLOPT_TIMEOUT_MS, Self.millis(s.requestTimeout)))
        set(limitlab_curl_easy_setopt_pointer(h, CURLOPT_PRIVATE, me))
        set(limitlab_curl_easy_setopt_pointer(h, CURLOPT_WRITEDATA, me))
        set(limitlab_curl_easy_setopt_data_callback(h, CURLOPT_WRITEFUNCTION) { ptr, size, count, user in
            let n = size * count
            guard let user else { return 0 }
            let t = Unmanaged<Transfer>.fromOpaque(user).takeUnretainedValue()
            if let ptr, n > 0 {
                t.response.body(UnsafeRawBufferPointer(start: ptr, count: n), at: Clock.monotonicNanos())
            }
            return n
        })
        set(limitlab_curl_easy_setopt_pointer(h, CURLOPT_HEADERDATA, me))
        set(limitlab_curl_easy_setopt_data_callback(h, CURLOPT_HEADERFUNCTION) { ptr, size, count, user in
            let n = size * count
            guard let user else { return 0 }
            let t = Unmanaged<Transfer>.fromOpaque(user).takeUnretainedValue()
            if let ptr, n > 0 {
                t.response.header(line: UnsafeRawBufferPointer(start: ptr, count: n), at: Clock.monotonicNanos())
            }
            return n
        })
        guard ok else {
            curl_easy_cleanup(h)
            hintNode.deallocate()
            hintText.deallocate()
            throw LiveError(.curl, "libcurl rejected an option for \(s.url)")
        }
    }

    private static func millis(_ seconds: Double) -> Int {
        guard seconds.isFinite, seconds > 0 else { return 0 }
        return Swift.max(1, Int((seconds * 1000).rounded()))
    }

    /// Sets the attempt's body (copied into a buffer the handle owns until the next attempt) and
    /// headers — the shared list `headers`, preceded by `x-limitlab-output-tokens: N` when
    /// `outputTokensHint` is given — and clears the previous response.
    func prepare(body bytes: UnsafeRawBufferPointer, headers: UnsafeMutablePointer<curl_slist>?,
                 outputTokensHint: Int?) {
        if bytes.count > bodyCapacity {
            body?.deallocate()
            bodyCapacity = Swift.max(bytes.count, bodyCapacity * 2, 1024)
            body = UnsafeMutableRawPointer.allocate(byteCount: bodyCapacity, alignment: 8)
        }
        if let base = bytes.baseAddress, bytes.count > 0 { body?.copyMemory(from: base, byteCount: bytes.count) }
        _ = limitlab_curl_easy_setopt_long(easy, CURLOPT_POSTFIELDSIZE, bytes.count)
        _ = limitlab_curl_easy_setopt_pointer(easy, CURLOPT_POSTFIELDS, body)
        if let n = outputTokensHint {
            Self.writeHint(n, into: hintText)
            limitlab_slist_link(hintNode, hintText, headers)
            _ = limitlab_curl_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, hintNode)
        } else {
            _ = limitlab_curl_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, headers)
        }
        response.reset()
    }

    /// Makes this (unpooled) handle a Message Batches call: a POST of `body` to `url`, or a GET
    /// when `body` is nil.
    func prepareBatchCall(url: String, body bytes: [UInt8]?, headers: UnsafeMutablePointer<curl_slist>?) {
        _ = limitlab_curl_easy_setopt_string(easy, CURLOPT_URL, url)
        if let bytes {
            bytes.withUnsafeBytes { prepare(body: $0, headers: headers, outputTokensHint: nil) }
        } else {
            _ = limitlab_curl_easy_setopt_long(easy, CURLOPT_HTTPGET, 1)
            _ = limitlab_curl_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, headers)
            response.reset()
        }
    }

    /// "x-limitlab-output-tokens: N" as a C string, written in place.
    private static func writeHint(_ value: Int, into out: UnsafeMutablePointer<CChar>) {
        let prefix: StaticString = "x-limitlab-output-tokens: "
        var i = 0
        prefix.withUTF8Buffer { p in
            for b in p { out[i] = CChar(bitPattern: b); i += 1 }
        }
        var v = Swift.max(0, value)
        var digits: (UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8,
                     UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8, UInt8) =
            (0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0)
        var k = 0
        withUnsafeMutableBytes(of: &digits) { d in
            repeat {
                d[k] = UInt8(0x30 + v % 10)
                v /= 10
                k += 1
            } while v > 0 && k < 20
            while k > 0 && i < hintCapacity - 1 {
                k -= 1
                out[i] = CChar(bitPattern: d[k])
                i += 1
            }
        }
        out[i] = 0
    }

    /// Seconds spent connecting (TCP, and TLS for https) for this attempt; 0 on a reused
    /// connection.
    var connectSeconds: Double {
        var tcp: curl_off_t = 0, tls: curl_off_t = 0
        _ = limitlab_curl_easy_getinfo_off_t(easy, CURLINFO_CONNECT_TIME_T, &tcp)
        _ = limitlab_curl_easy_getinfo_off_t(easy, CURLINFO_APPCONNECT_TIME_T, &tls)
        return Double(Swift.max(tcp, tls)) / 1e6
    }

    /// The final HTTP status (0 when no response arrived).
    var responseCode: Int {
        if response.status != 0 { return response.status }
        var code = 0
        _ = limitlab_curl_easy_getinfo_long(easy, CURLINFO_RESPONSE_CODE, &code)
        return code
    }

    deinit {
        curl_easy_cleanup(easy)
        body?.deallocate()
        hintNode.deallocate()
        hintText.deallocate()
    }
}

/// Result code of a transfer: libcurl's, or `aborted` for a transfer cut by the runner.
/// What a transfer carries.
enum TransferKind {
    /// One attempt of a Messages request.
    case message
    /// POST /v1/messages/batches.
    case batchCreate
    /// GET /v1/messages/batches/{id}.
    case batchPoll
    /// GET the batch's results (JSONL).
    case batchResults
}

struct TransferResult: Equatable {
    var code: Int32
    static let ok = TransferResult(code: Int32(CURLE_OK.rawValue))
    static let aborted = TransferResult(code: -1)
    /// No byte for `idleTimeout` seconds; cut by the runner.
    static let idle = TransferResult(code: -2)
    /// In flight when the watchdog abandoned a stuck engine.
    static let abandoned = TransferResult(code: -3)
    static let couldNotStart = TransferResult(code: Int32(CURLE_FAILED_INIT.rawValue))

    var isOK: Bool { code == Int32(CURLE_OK.rawValue) }
    var isTimeout: Bool {
        code == Int32(CURLE_OPERATION_TIMEDOUT.rawValue) || self == .aborted || self == .idle || self == .abandoned
    }

    var message: String {
        if self == .aborted { return "cut at the end of the grace period" }
        if self == .idle { return "no data within the idle timeout" }
        if self == .abandoned { return "cut when the watchdog abandoned the stuck engine" }
        return CurlGlobal.message(CURLcode(rawValue: UInt32(code)))
    }
}

/// The multi handle, its epoll set, its idle easy handles and the transfers in flight.
final class CurlMulti {
    let handle: UnsafeMutableRawPointer
    /// Written (from any thread) to make `wait` return.
    let wakeupFD: Int32
    private let loop: UnsafeMutablePointer<limitlab_loop>
    private let settings: TransferSettings
    let headers: HeaderLists
    private var idle: [Transfer] = []
    private var active: [ObjectIdentifier: Transfer] = [:]
    private var closed = false
    /// epoll_pwait2 (nanosecond timeouts) works; cleared on kernels without it.
    private var precise: Int32 = 1
    private static let maxEvents = 256
    private let eventFDs: UnsafeMutablePointer<Int32>
    private let eventMasks: UnsafeMutablePointer<Int32>
    /// When libcurl's own timer (timeouts, connection steps) next wants `runTimers`; monotonic
    /// nanoseconds, `.max` when none.
    private(set) var timerDueNanos: UInt64 = .max

    var activeCount: Int { active.count }
    /// Whether waits have nanosecond resolution (epoll_pwait2).
    var preciseWaits: Bool { precise != 0 }

    init(settings: TransferSettings, headers: HeaderLists, maxConnections: Int?) throws(LiveError) {
        guard CurlGlobal.ready, let m = curl_multi_init() else {
            throw LiveError(.curl, "libcurl could not create a multi handle")
        }
        let loop = UnsafeMutablePointer<limitlab_loop>.allocate(capacity: 1)
        guard limitlab_loop_init(loop, m) == 0 else {
            loop.deallocate()
            curl_multi_cleanup(m)
            throw LiveError(.curl, "could not set up the event loop (epoll, libcurl socket callbacks)")
        }
        let wake = limitlab_loop_add_wakeup(loop)
        guard wake >= 0 else {
            limitlab_loop_close(loop)
            loop.deallocate()
            curl_multi_cleanup(m)
            throw LiveError(.curl, "could not create the event loop's wakeup descriptor")
        }
        handle = m
        self.loop = loop
        wakeupFD = wake
        self.settings = settings
        self.headers = headers
        eventFDs = .allocate(capacity: Self.maxEvents)
        eventMasks = .allocate(capacity: Self.maxEvents)
        // Keep idle connections for reuse however many were open at the peak (the default
        // cache is sized from the handles currently added, which shrinks between bursts).
        _ = limitlab_curl_multi_setopt_long(m, CURLMOPT_MAXCONNECTS, 100_000)
        if let cap = maxConnections, cap > 0 {
            _ = limitlab_curl_multi_setopt_long(m, CURLMOPT_MAX_TOTAL_CONNECTIONS, cap)
        }
    }

    /// An idle transfer, or a new one.
    func checkout() throws(LiveError) -> Transfer {
        if let t = idle.popLast() { return t }
        return try Transfer(settings: settings)
    }

    /// Adds a prepared transfer; false when libcurl refuses it. It goes on the wire at the next
    /// `runTimers` (libcurl expires a new handle's timer at once).
    func start(_ t: Transfer) -> Bool {
        guard curl_multi_add_handle(handle, t.easy) == CURLM_OK else { return false }
        active[ObjectIdentifier(t)] = t
        noteTimer()
        return true
    }

    /// Back to the pool after its completion has been recorded.
    func recycle(_ t: Transfer) { idle.append(t) }

    /// I/O on one socket the wait reported (header and write callbacks run here).
    @inline(__always) func socketEvent(_ i: Int) {
        var running: Int32 = 0
        _ = limitlab_socket_action(handle, eventFDs[i], eventMasks[i], &running)
        noteTimer()
    }

    /// Runs libcurl's expired timers: new transfers start, timeouts fire.
    func runTimers() {
        var running: Int32 = 0
        timerDueNanos = .max
        _ = limitlab_socket_timeout(handle, &running)
        // libcurl calls the timer callback only when its next expiry changes; ask directly so a
        // timer that was not yet due by libcurl's clock is not lost.
        var ms = -1
        if curl_multi_timeout(handle, &ms) == CURLM_OK && ms >= 0 {
            timerDueNanos = Clock.monotonicNanos() &+ UInt64(ms) &* 1_000_000
        }
        loop.pointee.timer_changed = 0
    }

    @inline(__always) private func noteTimer() {
        guard loop.pointee.timer_changed != 0 else { return }
        loop.pointee.timer_changed = 0
        let ms = loop.pointee.timeout_ms
        timerDueNanos = ms < 0 ? .max : Clock.monotonicNanos() &+ UInt64(ms) &* 1_000_000
    }

    /// Waits for socket events, the wakeup descriptor, or `timeoutNanos` (< 0: no limit).
    /// Returns how many socket events `socketEvent(_:)` should handle (wakeups are drained
    /// here). Without epoll_pwait2 the timeout is whole milliseconds, rounded down.
    func wait(timeoutNanos: Int64) -> Int {
        let n = Int(limitlab_loop_wait(loop, eventFDs, eventMasks, Int32(Self.maxEvents), timeoutNanos, &precise))
        guard n > 0 else { return 0 }
        // Move the wakeup descriptor out of the batch.
        var count = n
        var i = 0
        while i < count {
            if eventFDs[i] == wakeupFD {
                limitlab_wakeup_drain(wakeupFD)
                count -= 1
                eventFDs[i] = eventFDs[count]
                eventMasks[i] = eventMasks[count]
            } else {
                i += 1
            }
        }
        return count
    }

    /// Removes finished transfers and hands each to `body`.
    func collectDone(_ body: (Transfer, TransferResult) -> Void) {
        var queued: Int32 = 0
        while let msg = curl_multi_info_read(handle, &queued) {
            var easy: UnsafeMutableRawPointer?
            var code = CURLE_OK
            guard limitlab_curl_msg_done(msg, &easy, &code) == 1, let e = easy else { continue }
            var priv: UnsafePointer<CChar>?
            _ = limitlab_curl_easy_getinfo_string(e, CURLINFO_PRIVATE, &priv)
            guard let p = priv else { continue }
            let t = Unmanaged<Transfer>.fromOpaque(UnsafeRawPointer(p)).takeUnretainedValue()
            guard active.removeValue(forKey: ObjectIdentifier(t)) != nil else { continue }
            curl_multi_remove_handle(handle, e)
            body(t, TransferResult(code: Int32(code.rawValue)))
        }
        noteTimer()
    }

    /// Removes one transfer in flight (its connection closes).
    func abort(_ t: Transfer) {
        guard active.removeValue(forKey: ObjectIdentifier(t)) != nil else { return }
        curl_multi_remove_handle(handle, t.easy)
        noteTimer()
    }

    /// The transfers in flight (read by the watchdog's snapshot while the engine is stuck).
    var inFlight: [Transfer] { Array(active.values) }

    /// Transfers in flight whose last byte (or send) is older than `nanos`.
    func idle(since nanos: UInt64) -> [Transfer] {
        active.values.filter { $0.response.lastActivityNanos < nanos }
    }

    /// Removes every transfer in flight (their connections close) and returns them.
    func abortAll() -> [Transfer] {
        let all = Array(active.values)
        for t in all { curl_multi_remove_handle(handle, t.easy) }
        active.removeAll()
        noteTimer()
        return all
    }

    /// Releases every handle. Call after `RunControl.detach`, so no other thread can still
    /// write the wakeup descriptor.
    func close() {
        guard !closed else { return }
        closed = true
        for t in active.values { curl_multi_remove_handle(handle, t.easy) }
        active.removeAll()
        curl_multi_cleanup(handle)
        idle.removeAll()
        limitlab_loop_close(loop)
        Glibc.close(wakeupFD)
    }

    deinit {
        close()
        loop.deallocate()
        eventFDs.deallocate()
        eventMasks.deallocate()
    }
}
