internal import CCurl

// libcurl's multi interface, driven from one thread (libcurl-thread(3): a handle is never used
// from two threads). Everything here is owned by the engine thread; the only cross-thread call
// is `curl_multi_wakeup`, made by `RunControl` under its lock.

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

/// One easy handle and the attempt it carries. Reused across attempts (a pool), so the
/// per-handle setup is paid once. Not Sendable.
final class Transfer {
    let easy: UnsafeMutableRawPointer
    var attempt: Int32 = -1
    var request: Int32 = -1
    var plannedAt = 0.0
    var reservedUSD = 0.0
    var response = ResponseState()
    private var headerList: UnsafeMutablePointer<curl_slist>?
    private var body: UnsafeMutableRawPointer?
    private var bodyCapacity = 0

    init(settings s: TransferSettings) throws(LiveError) {
        guard CurlGlobal.ready, let h = curl_easy_init() else {
            throw LiveError(.curl, "libcurl could not create an easy handle")
        }
        easy = h
        let me = Unmanaged.passUnretained(self).toOpaque()
        var ok = true
        func set(_ r: CURLcode) { ok = ok && r == CURLE_OK }
        set(limitlab_curl_easy_setopt_string(h, CURLOPT_URL, s.url))
        // No signals: timeouts must not use SIGALRM in a multi-threaded process.
        set(limitlab_curl_easy_setopt_long(h, CURLOPT_NOSIGNAL, 1))
        set(limitlab_curl_easy_setopt_long(h, CURLOPT_POST, 1))
        set(limitlab_curl_easy_setopt_long(h, CURLOPT_HTTP_VERSION,
                                           s.http2 ? Int(CURL_HTTP_VERSION_2TLS) : Int(CURL_HTTP_VERSION_1_1)))
        if s.http2 { set(limitlab_curl_easy_setopt_long(h, CURLOPT_PIPEWAIT, 1)) }
        set(limitlab_curl_easy_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, Self.millis(s.connectTimeout)))
        set(limitlab_curl_easy_setopt_long(h, CURLOPT_TIMEOUT_MS, Self.millis(s.requestTimeout)))
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
            throw LiveError(.curl, "libcurl rejected an option for \(s.url)")
        }
    }

    private static func millis(_ seconds: Double) -> Int {
        guard seconds.isFinite, seconds > 0 else { return 0 }
        return Swift.max(1, Int((seconds * 1000).rounded()))
    }

    /// Sets the attempt's body (copied into a buffer the handle owns until the next attempt)
    /// and request headers, and clears the previous response.
    func prepare(body bytes: [UInt8], headers: [String]) {
        if bytes.count > bodyCapacity {
            body?.deallocate()
            bodyCapacity = Swift.max(bytes.count, bodyCapacity * 2, 1024)
            body = UnsafeMutableRawPointer.allocate(byteCount: bodyCapacity, alignment: 8)
        }
        bytes.withUnsafeBytes { src in
            if let base = src.baseAddress { body?.copyMemory(from: base, byteCount: bytes.count) }
        }
        _ = limitlab_curl_easy_setopt_long(easy, CURLOPT_POSTFIELDSIZE, bytes.count)
        _ = limitlab_curl_easy_setopt_pointer(easy, CURLOPT_POSTFIELDS, body)
        freeHeaders()
        for line in headers { headerList = curl_slist_append(headerList, line) }
        _ = limitlab_curl_easy_setopt_slist(easy, CURLOPT_HTTPHEADER, headerList)
        response.reset()
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

    private func freeHeaders() {
        if let l = headerList { curl_slist_free_all(l) }
        headerList = nil
    }

    deinit {
        curl_easy_cleanup(easy)
        freeHeaders()
        body?.deallocate()
    }
}

/// Result code of a transfer: libcurl's, or `aborted` for a transfer cut by the runner.
struct TransferResult: Equatable {
    var code: Int32
    static let ok = TransferResult(code: Int32(CURLE_OK.rawValue))
    static let aborted = TransferResult(code: -1)
    /// No byte for `idleTimeout` seconds; cut by the runner.
    static let idle = TransferResult(code: -2)
    static let couldNotStart = TransferResult(code: Int32(CURLE_FAILED_INIT.rawValue))

    var isOK: Bool { code == Int32(CURLE_OK.rawValue) }
    var isTimeout: Bool { code == Int32(CURLE_OPERATION_TIMEDOUT.rawValue) || self == .aborted || self == .idle }

    var message: String {
        if self == .aborted { return "cut at the end of the grace period" }
        if self == .idle { return "no data within the idle timeout" }
        return CurlGlobal.message(CURLcode(rawValue: UInt32(code)))
    }
}

/// The multi handle, its idle easy handles and the transfers in flight.
final class CurlMulti {
    let handle: UnsafeMutableRawPointer
    private let settings: TransferSettings
    private var idle: [Transfer] = []
    private var active: [UnsafeMutableRawPointer: Transfer] = [:]
    private var closed = false

    var activeCount: Int { active.count }

    init(settings: TransferSettings, maxConnections: Int?) throws(LiveError) {
        guard CurlGlobal.ready, let m = curl_multi_init() else {
            throw LiveError(.curl, "libcurl could not create a multi handle")
        }
        handle = m
        self.settings = settings
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

    /// Starts a prepared transfer; false when libcurl refuses it.
    func start(_ t: Transfer) -> Bool {
        guard curl_multi_add_handle(handle, t.easy) == CURLM_OK else { return false }
        active[t.easy] = t
        return true
    }

    /// Back to the pool after its completion has been recorded.
    func recycle(_ t: Transfer) { idle.append(t) }

    /// Lets libcurl do all the I/O it can without blocking (callbacks run here).
    func perform() {
        var running: Int32 = 0
        while curl_multi_perform(handle, &running) == CURLM_CALL_MULTI_PERFORM {}
    }

    /// Removes finished transfers and hands each to `body`.
    func collectDone(_ body: (Transfer, TransferResult) -> Void) {
        var queued: Int32 = 0
        while let msg = curl_multi_info_read(handle, &queued) {
            var easy: UnsafeMutableRawPointer?
            var code = CURLE_OK
            guard limitlab_curl_msg_done(msg, &easy, &code) == 1, let e = easy, let t = active.removeValue(forKey: e)
            else { continue }
            curl_multi_remove_handle(handle, e)
            body(t, TransferResult(code: Int32(code.rawValue)))
        }
    }

    /// Waits up to `milliseconds` for socket activity, a libcurl timer, or `curl_multi_wakeup`.
    func poll(milliseconds: Int32) {
        _ = curl_multi_poll(handle, nil, 0, Swift.max(0, milliseconds), nil)
    }

    /// Removes one transfer in flight (its connection closes).
    func abort(_ t: Transfer) {
        guard active.removeValue(forKey: t.easy) != nil else { return }
        curl_multi_remove_handle(handle, t.easy)
    }

    /// Transfers in flight whose last byte (or send) is older than `nanos`.
    func idle(since nanos: UInt64) -> [Transfer] {
        active.values.filter { $0.response.lastActivityNanos < nanos }
    }

    /// Removes every transfer in flight (their connections close) and returns them.
    func abortAll() -> [Transfer] {
        let all = Array(active.values)
        for t in all { curl_multi_remove_handle(handle, t.easy) }
        active.removeAll()
        return all
    }

    /// Releases every handle. Call after `RunControl.detach`, so no other thread can still
    /// wake this multi handle.
    func close() {
        guard !closed else { return }
        closed = true
        for t in active.values { curl_multi_remove_handle(handle, t.easy) }
        active.removeAll()
        idle.removeAll()
        curl_multi_cleanup(handle)
    }

    deinit { close() }
}
