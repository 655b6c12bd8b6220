import Foundation
public import Prometheus
internal import CCurl

/// Pushes a registry's metrics to an OpenTelemetry collector over OTLP/HTTP with the JSON
/// encoding (`POST <endpoint>` with `content-type: application/json`,
/// https://opentelemetry.io/docs/specs/otlp/#otlphttp), every `interval` seconds on its own
/// thread and once more at `finish()`. Each push is a snapshot of what `/metrics` serves at
/// that instant (cumulative temporality), so a lost push loses nothing but resolution.
///
/// Why JSON over libcurl rather than swift-otel: see docs/telemetry.md ("Why not swift-otel").
public final class OTLPPusher: @unchecked Sendable {
    public let endpoint: String
    public let interval: Double
    private let registry: PrometheusCollectorRegistry
    private let resource: [(String, String)]
    private let headers: [String]
    private let startNanos: UInt64
    private let condition = NSCondition()
    private var stopping = false
    private var thread: Thread?
    private var running = false
    /// Guarded by `condition`.
    private var pushes = 0
    private var failures: [String] = []

    /// The `/v1/metrics` URL for a `--otlp` value: a base URL (no path, as in
    /// `OTEL_EXPORTER_OTLP_ENDPOINT`) gets `/v1/metrics` appended; a URL with a path is used as
    /// given (as `OTEL_EXPORTER_OTLP_METRICS_ENDPOINT`). Nil when it is not an http(s) URL with a host.
    public static func endpoint(for url: String) -> String? {
        guard let c = URLComponents(string: url), let scheme = c.scheme?.lowercased(),
              scheme == "http" || scheme == "https", let host = c.host, !host.isEmpty,
              c.user == nil, c.query == nil, c.fragment == nil else { return nil }
        if c.path.isEmpty || c.path == "/" {
            return (url.hasSuffix("/") ? String(url.dropLast()) : url) + "/v1/metrics"
        }
        return url
    }

    /// Request headers from the standard variables `OTEL_EXPORTER_OTLP_METRICS_HEADERS`, else
    /// `OTEL_EXPORTER_OTLP_HEADERS`: `key1=value1,key2=value2` with percent-encoded values
    /// (https://opentelemetry.io/docs/specs/otel/protocol/exporter/#specifying-headers-via-environment-variables),
    /// as `Name: value` lines; hosted backends take their API key this way. Malformed entries
    /// are skipped. The values (keys, often) are never printed.
    public static func headers(environment: [String: String]) -> [String] {
        guard let raw = environment["OTEL_EXPORTER_OTLP_METRICS_HEADERS"] ?? environment["OTEL_EXPORTER_OTLP_HEADERS"]
        else { return [] }
        var lines: [String] = []
        for entry in raw.split(separator: ",") {
            guard let eq = entry.firstIndex(of: "=") else { continue }
            let name = entry[..<eq].trimmingCharacters(in: .whitespaces)
            let value = entry[entry.index(after: eq)...].trimmingCharacters(in: .whitespaces)
            let decoded = value.removingPercentEncoding ?? value
            // A header name is a token; a value must not break the request's header block.
            guard !name.isEmpty, name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-_.".contains($0)) }),
                  !decoded.contains(where: { $0 == "\r" || $0 == "\n" }) else { continue }
            lines.append("\(name): \(decoded)")
        }
        return lines
    }

    /// - Parameters:
    ///   - endpoint: the full metrics URL (see `endpoint(for:)`).
    ///   - resource: resource attributes (`service.name` and the like).
    ///   - headers: extra request headers, `Name: value` (an API key header for a hosted backend).
    public init(endpoint: String, interval: Double, registry: PrometheusCollectorRegistry,
                resource: [(String, String)], headers: [String] = []) {
        self.endpoint = endpoint
        self.interval = interval
        self.registry = registry
        self.resource = resource
        self.headers = headers
        startNanos = Self.unixNanos()
    }

    /// Starts the periodic pushes (the first after one interval).
    public func start() {
        condition.lock()
        defer { condition.unlock() }
        guard !running else { return }
        running = true
        let t = Thread { [self] in self.loop() }
        t.name = "limitlab-otlp"
        thread = t
        t.start()
    }

    /// Stops the periodic pushes and makes the final one on the calling thread; returns the
    /// pushes made and the distinct failures (at most 5, each once), for the caller to report.
    @discardableResult
    public func finish() -> (pushes: Int, failures: [String]) {
        condition.lock()
        stopping = true
        condition.broadcast()
        while running && thread != nil && !threadDone { condition.wait() }
        condition.unlock()
        pushOnce()
        condition.lock()
        defer { condition.unlock() }
        return (pushes, failures)
    }

    private var threadDone = false

    private func loop() {
        while true {
            condition.lock()
            let deadline = Date(timeIntervalSinceNow: interval)
            while !stopping, condition.wait(until: deadline) {}
            let stop = stopping
            condition.unlock()
            if stop { break }
            pushOnce()
        }
        condition.lock()
        threadDone = true
        condition.broadcast()
        condition.unlock()
    }

    /// One push of the registry as it is now; failures are kept, never thrown.
    public func pushOnce() {
        let body: String
        do {
            let text = try PrometheusText(parsing: registry.emitToString())
            body = OTLPMetricsJSON.encode(text, resource: resource, scope: "limitlab", version: "1",
                                          startNanos: startNanos, timeNanos: Self.unixNanos())
        } catch {
            note("the metrics could not be read back: \(error)")
            return
        }
        if let problem = Self.post(body, to: endpoint, headers: headers) {
            note(problem)
        } else {
            condition.lock()
            pushes += 1
            condition.unlock()
        }
    }

    private func note(_ failure: String) {
        condition.lock()
        if failures.count < 5 && !failures.contains(failure) { failures.append(failure) }
        condition.unlock()
    }

    static func unixNanos() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    static let curlReady: Bool = curl_global_init(Int(CURL_GLOBAL_ALL)) == CURLE_OK

    /// POSTs `body` as JSON; nil on a 2xx answer, else what went wrong.
    static func post(_ body: String, to url: String, headers extra: [String]) -> String? {
        guard curlReady, let h = curl_easy_init() else { return "libcurl could not be initialised" }
        defer { curl_easy_cleanup(h) }
        var list: UnsafeMutablePointer<curl_slist>?
        for line in ["content-type: application/json", "Expect:"] + extra { list = curl_slist_append(list, line) }
        defer { curl_slist_free_all(list) }
        let bytes = Array(body.utf8)
        var ok = true
        func set(_ r: CURLcode) { ok = ok && r == CURLE_OK }
        set(limitlab_curl_easy_setopt_string(h, CURLOPT_URL, url))
        set(limitlab_curl_easy_setopt_long(h, CURLOPT_NOSIGNAL, 1))
        set(limitlab_curl_easy_setopt_long(h, CURLOPT_CONNECTTIMEOUT_MS, 3000))
        set(limitlab_curl_easy_setopt_long(h, CURLOPT_TIMEOUT_MS, 10000))
        set(limitlab_curl_easy_setopt_slist(h, CURLOPT_HTTPHEADER, list))
        set(limitlab_curl_easy_setopt_long(h, CURLOPT_POST, 1))
        set(limitlab_curl_easy_setopt_off_t(h, CURLOPT_POSTFIELDSIZE_LARGE, curl_off_t(bytes.count)))
        // The collector's answer body is not needed: discard it.
        set(limitlab_curl_easy_setopt_data_callback(h, CURLOPT_WRITEFUNCTION) { _, size, n, _ in size * n })
        guard ok else { return "libcurl refused an option" }
        let code: CURLcode = bytes.withUnsafeBufferPointer { buf in
            // COPYPOSTFIELDS copies the bytes, so the buffer need not outlive this call.
            _ = buf.baseAddress.map { p in
                p.withMemoryRebound(to: CChar.self, capacity: bytes.count) {
                    limitlab_curl_easy_setopt_pointer(h, CURLOPT_COPYPOSTFIELDS, UnsafeMutableRawPointer(mutating: $0))
                }
            }
            return curl_easy_perform(h)
        }
        guard code == CURLE_OK else {
            return "POST \(url): \(String(cString: curl_easy_strerror(code)))"
        }
        var status = 0
        _ = limitlab_curl_easy_getinfo_long(h, CURLINFO_RESPONSE_CODE, &status)
        return (200..<300).contains(status) ? nil : "POST \(url): HTTP \(status)"
    }
}
