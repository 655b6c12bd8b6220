public import LimitlabCore
import Foundation
import LimitlabStats
internal import CCurl

#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

/// An API key that never prints: its description, debug description and mirror are
/// `<redacted>`, so a key inside a target, an error or a dump cannot leak into output.
/// The runner hands the value to libcurl as the `x-api-key` header and nowhere else.
public struct LiveAPIKey: Sendable, CustomStringConvertible, CustomDebugStringConvertible, CustomReflectable {
    let secret: String

    public init(_ value: String) { secret = value }

    /// The key in environment variable `name` (default `ANTHROPIC_API_KEY`). The error names
    /// the variable, never a value.
    public static func fromEnvironment(_ name: String = "ANTHROPIC_API_KEY") throws(LiveError) -> LiveAPIKey {
        guard let raw = getenv(name) else {
            throw LiveError(.apiKey, "environment variable \(name) is not set; export the API key in it")
        }
        let value = String(cString: raw).trimmingCharacters(in: .whitespacesAndNewlines)
        guard !value.isEmpty else { throw LiveError(.apiKey, "environment variable \(name) is empty") }
        return LiveAPIKey(value)
    }

    /// `text` with every occurrence of these keys, and anything shaped like an Anthropic key
    /// (`sk-ant-` and what follows), replaced by `<redacted>`: for what a server echoes back
    /// into error causes, warnings and failures before they are reported.
    public static func redact(_ text: String, keys: [LiveAPIKey]) -> String {
        var out = text
        for k in keys where k.secret.utf8.count >= 8 && out.contains(k.secret) {
            out = out.replacingOccurrences(of: k.secret, with: "<redacted>")
        }
        while let r = out.range(of: "sk-ant-") {
            let end = out[r.upperBound...].firstIndex { c in !(c.isASCII && (c.isLetter || c.isNumber || c == "_" || c == "-")) }
                ?? out.endIndex
            out.replaceSubrange(r.lowerBound..<end, with: "<redacted>")
        }
        return out
    }

    public var description: String { "<redacted>" }
    public var debugDescription: String { "<redacted>" }
    public var customMirror: Mirror { Mirror(self, children: [], displayStyle: .struct) }
}

/// Where live requests go.
public struct LiveTarget: Sendable, CustomStringConvertible {
    /// Scheme, host and optional port (and path prefix): `http://127.0.0.1:8080`,
    /// `https://api.anthropic.com`. Requests go to `<baseURL>/v1/messages`.
    public var baseURL: String
    /// One key per scenario key (`limits.keys`), in order; a request uses the key its
    /// strategy picks. Empty is allowed for loopback targets: key i is then
    /// `placeholderKey(i)`, so a mock can give each its own organisation.
    public var apiKeys: [LiveAPIKey]
    /// Model id to request; nil: the scenario's model.
    public var model: String?
    public var anthropicVersion: String
    /// Send `x-limitlab-output-tokens: N` so the mock generates the workload's output length.
    /// Other servers ignore the header; nil means "only for loopback targets".
    public var outputTokensHint: Bool?

    public init(baseURL: String, apiKey: LiveAPIKey? = nil, model: String? = nil,
                anthropicVersion: String = "2023-06-01", outputTokensHint: Bool? = nil) {
        self.baseURL = baseURL
        self.apiKeys = apiKey.map { [$0] } ?? []
        self.model = model
        self.anthropicVersion = anthropicVersion
        self.outputTokensHint = outputTokensHint
    }

    public init(baseURL: String, apiKeys: [LiveAPIKey], model: String? = nil,
                anthropicVersion: String = "2023-06-01", outputTokensHint: Bool? = nil) {
        self.init(baseURL: baseURL, apiKey: nil, model: model, anthropicVersion: anthropicVersion,
                  outputTokensHint: outputTokensHint)
        self.apiKeys = apiKeys
    }

    /// The key sent as scenario key `index` to a loopback target given no keys.
    public static func placeholderKey(_ index: Int) -> String { "limitlab-key-\(index)" }

    /// The messages endpoint.
    public var messagesURL: String {
        var base = baseURL
        while base.hasSuffix("/") { base.removeLast() }
        return base + "/v1/messages"
    }

    /// The host libcurl will connect to (lowercased, brackets of an IPv6 literal removed), or nil
    /// when `baseURL` is not a plain `http(s)://host[:port][/path]` base URL.
    ///
    /// The URL is parsed once with a real parser (Foundation's `URLComponents`, RFC 3986), and
    /// libcurl's own parser (`curl_url`, the one the transfer uses) must find the same host; a
    /// disagreement is refused. User info, a query or a fragment have no place in a base URL and
    /// are how a loopback-looking name hides in front of another host
    /// (`http://203.0.113.10/#@127.0.0.1`, `?x=@localhost`), so they are refused too, as are
    /// whitespace, control characters, backslashes, non-ASCII and percent-escapes in the host, which
    /// parsers read differently.
    public var host: String? { Self.connectHost(baseURL) }

    static func connectHost(_ url: String) -> String? {
        guard !url.unicodeScalars.contains(where: { $0.value <= 0x20 || $0.value >= 0x7f || $0 == "\\" }),
              let c = URLComponents(string: url),
              let scheme = c.scheme?.lowercased(), scheme == "http" || scheme == "https",
              c.percentEncodedUser == nil, c.percentEncodedPassword == nil,
              c.percentEncodedQuery == nil, c.percentEncodedFragment == nil,
              let raw = c.percentEncodedHost, !raw.isEmpty, !raw.contains("%")
        else { return nil }
        let h = Self.unbracketed(raw).lowercased()
        guard !h.isEmpty, let curlHost = CurlURL.host(of: url), Self.unbracketed(curlHost).lowercased() == h else {
            return nil
        }
        return h
    }

    private static func unbracketed(_ h: String) -> String {
        h.hasPrefix("[") && h.hasSuffix("]") ? String(h.dropFirst().dropLast()) : h
    }

    /// Whether every request stays on this machine (127.0.0.0/8 in dotted-decimal form, ::1,
    /// localhost), judged on `host`. Only loopback targets may run without a spending cap; any
    /// other spelling (`127.1`, `2130706433`, `::ffff:127.0.0.1`) is treated as remote, the safe side.
    public var isLoopback: Bool {
        guard let h = host else { return false }
        if h == "localhost" || h == "::1" || h == "0:0:0:0:0:0:0:1" { return true }
        let parts = h.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127"
            && parts.allSatisfy { p in !p.isEmpty && p.count <= 3 && p.allSatisfy(\.isASCII) && p.allSatisfy(\.isNumber) && UInt8(p) != nil }
    }

    /// The base URL and key count; never a key.
    public var description: String {
        "\(baseURL) (\(apiKeys.count) API key\(apiKeys.count == 1 ? "" : "s"), model \(model ?? "from scenario"))"
    }
}

/// Run limits, timeouts and hooks.
public struct LiveOptions: Sendable {
    /// Most attempts sent over the whole run (all strategies); reaching it stops the run like
    /// `stop()` (partial result).
    public var maxRequests: Int?
    /// Spending cap in USD over the whole run, from the catalog's list prices. Required for a
    /// non-loopback target. A send whose worst case (input at list price, a cached prefix at the
    /// cache-write price, `max_tokens` of output) would take spent + in-flight reservations past
    /// the cap is not made and the run stops.
    public var maxCostUSD: Double?
    /// Seconds to establish a connection (TCP, and TLS for https).
    public var connectTimeout: Double
    /// Seconds for a whole attempt, connect to last byte. Default 600 s, the Anthropic SDKs'
    /// default request timeout (anthropic-sdk-python `DEFAULT_TIMEOUT`).
    public var requestTimeout: Double
    /// Seconds without a received byte (from the send, or the last header or body byte) after
    /// which an attempt is cut and fails as a timeout: a stalled stream or a silent server.
    /// Checked by the engine every min(0.1 s, idleTimeout/4); nil: off. Default
    /// `defaultIdleTimeout`.
    public var idleTimeout: Double?
    /// 120 s: a silent server costs two minutes per attempt, not the whole request timeout. A
    /// stream sends bytes (events, pings) far more often; a non-streaming answer must arrive
    /// within it, which covers ~4,000 output tokens at 35 tokens/s.
    public static let defaultIdleTimeout = 120.0
    /// After a stop, seconds the attempts in flight get to finish; the rest are cut.
    public var gracePeriod: Double
    /// Seconds between `progress` calls.
    public var progressInterval: Double
    /// Called on the engine thread every `progressInterval`; keep it short (it delays sends).
    public var progress: (@Sendable (LiveProgress) -> Void)?
    /// Called on the engine thread before each strategy run (index, strategy); may return a
    /// different target, e.g. a freshly started mock so each strategy meets full buckets as in
    /// the simulator. An error stops the run (partial) with the message in the warnings.
    public var prepareRun: (@Sendable (Int, StrategySpec) throws -> LiveTarget?)?
    /// Seconds to wait between strategy runs against a server that keeps its state, so its
    /// buckets refill (60 × burst refills them from empty); interrupted by `stop()`.
    public var pauseBetweenRuns: Double
    /// Cap on open connections (CURLMOPT_MAX_TOTAL_CONNECTIONS); nil: no cap. With a cap,
    /// requests beyond it wait inside libcurl, which shows up as service latency, not lag.
    public var maxConnections: Int?
    /// This process is one worker of several (`run --workers N`): its share of the arrivals,
    /// its placement and shared store, the common start time. nil: the whole organisation.
    public var worker: LiveWorkerOptions?
    /// Where the run's live metrics go (served on `/metrics`, pushed over OTLP); nil: none.
    public var metrics: LiveMetrics? = nil
    /// Seconds the engine thread may spend inside one libcurl call, or its main loop without
    /// going round, before the watchdog gives the run up: the run ends at once as partial
    /// (`engine_stuck`), attempts in flight are cut, and `run()` returns what was recorded
    /// instead of hanging. nil: no watchdog. A libcurl call normally takes microseconds, a
    /// burst of thousands of sockets milliseconds; the main loop goes round at least once a second.
    public var watchdogTimeout: Double? = LiveOptions.defaultWatchdogTimeout
    public static let defaultWatchdogTimeout = 20.0
    /// Test seams (not public): code run inside the engine's libcurl sections.
    var hooks = LiveHooks()

    public init(maxRequests: Int? = nil, maxCostUSD: Double? = nil, connectTimeout: Double = 10,
                requestTimeout: Double = 600, idleTimeout: Double? = LiveOptions.defaultIdleTimeout, gracePeriod: Double = 30,
                progressInterval: Double = 1, progress: (@Sendable (LiveProgress) -> Void)? = nil,
                prepareRun: (@Sendable (Int, StrategySpec) throws -> LiveTarget?)? = nil,
                pauseBetweenRuns: Double = 0, maxConnections: Int? = nil, worker: LiveWorkerOptions? = nil) {
        self.maxRequests = maxRequests; self.maxCostUSD = maxCostUSD; self.connectTimeout = connectTimeout
        self.requestTimeout = requestTimeout; self.idleTimeout = idleTimeout; self.gracePeriod = gracePeriod
        self.progressInterval = progressInterval; self.progress = progress; self.prepareRun = prepareRun
        self.pauseBetweenRuns = pauseBetweenRuns; self.maxConnections = maxConnections
        self.worker = worker
    }
}

/// Test seams of the engine.
struct LiveHooks: Sendable {
    /// Called on the engine thread inside the section that runs libcurl's timers (where a
    /// `curl_multi_socket_action` call was seen not to return), with the attempts sent so far.
    /// A test blocks here to play a stuck libcurl.
    var insideTimers: (@Sendable (Int) -> Void)?
    /// Called on the engine thread at the top of each round of its main loop, outside libcurl,
    /// with the run's index and the attempts sent so far. A test blocks here to play a loop
    /// stuck in limitlab's own code.
    var eachLoop: (@Sendable (Int, Int) -> Void)?
}

/// A progress sample, taken on the engine thread.
public struct LiveProgress: Sendable {
    /// Index of the strategy run (0-based) and how many the scenario has.
    public var run: Int
    public var runs: Int
    public var strategy: String
    /// Model seconds since this run started.
    public var elapsed: Double
    /// Requests arrived so far, of `total`.
    public var arrived: Int
    public var total: Int
    /// Attempts sent, answered and in flight.
    public var sent: Int
    public var completed: Int
    public var inFlight: Int
    public var status429: Int
    /// Attempts that ended without a 2xx (429s included).
    public var errors: Int
    /// Attempts sent per second over the last progress interval.
    public var sendRate: Double
    /// Largest schedule lag so far, seconds.
    public var maxLag: Double
    /// A stop has begun: no new arrivals, in-flight attempts are finishing.
    public var stopping: Bool
}

/// Why a run ended before its arrivals did.
public enum LiveStopReason: String, Sendable, Equatable {
    /// `stop()` (SIGINT/SIGTERM in the CLI).
    case interrupted
    /// `maxRequests` attempts were sent.
    case maxRequests = "max_requests"
    /// The next send could have passed `maxCostUSD`.
    case maxCost = "max_cost"
    /// `prepareRun` failed.
    case preparationFailed = "preparation_failed"
    /// The strategy kept asking to be woken at a past instant without doing anything (the
    /// simulator stops such a strategy too).
    case strategyStalled = "strategy_stalled"
    /// The engine could not continue (libcurl refused a handle); `LiveRun.failure` says why.
    case failed
    /// The engine thread made no progress inside one libcurl call, or in its own main loop, for
    /// `watchdogTimeout` seconds; the watchdog abandoned it and reported what was recorded until then.
    case engineStuck = "engine_stuck"
}

/// Schedule lag (actual send − planned send) of a set of attempts, seconds.
/// Quantiles are GSL type 7 over all samples.
public struct LagSummary: Sendable, Equatable {
    public var count: Int
    public var p50: Double
    public var p99: Double
    public var max: Double
    public var mean: Double

    /// p99 lag above this makes the result carry a warning: the generator did not keep up.
    public static let warningThreshold = 0.010

    public var exceedsThreshold: Bool { count > 0 && p99 > Self.warningThreshold }

    static func of(_ samples: [Double]) -> LagSummary {
        guard !samples.isEmpty else { return LagSummary(count: 0, p50: 0, p99: 0, max: 0, mean: 0) }
        var s = samples
        Stats.sort(&s)
        return LagSummary(count: s.count, p50: Stats.quantile(sorted: s, 0.5), p99: Stats.quantile(sorted: s, 0.99),
                          max: s[s.count - 1], mean: Stats.mean(s))
    }
}

/// What only a live run measures, one row per attempt, parallel to the `RunLog` attempt rows.
public struct LiveAttempts: Sendable {
    /// When the strategy decided to send (model seconds): the planned send. The log's `sentAt`
    /// is when the request was handed to libcurl; the difference is the schedule lag.
    public var plannedAt: [Double] = []
    /// First response byte (status line), NaN when none arrived.
    public var firstByteAt: [Double] = []
    /// Seconds spent opening a connection for the attempt (0: an open connection was reused),
    /// so a slow accept queue is not mistaken for server latency.
    public var connectSeconds: [Float] = []
    /// Usage as the response reported it: uncached `input_tokens` and `output_tokens`
    /// (-1: not reported, e.g. a 429). Cache tokens are in the log's cache columns.
    public var inputTokens: [Int32] = []
    public var outputTokens: [Int32] = []
    /// libcurl's result code (0 OK; 7 connection refused, 28 timeout, 56 reset, …);
    /// -1: cut at the end of the grace period after a stop; -2: cut by the idle timeout.
    public var curlCode: [Int16] = []
    /// The `request-id` header ("" when absent).
    public var requestId: [String] = []
    /// The message's `stop_reason` (`end_turn`, `max_tokens`, …; "" when the response gave none).
    public var stopReason: [String] = []

    public init() {}

    public var count: Int { plannedAt.count }

    /// The row of an attempt just sent, planned at `plannedAt`: nothing measured yet.
    mutating func appendSent(plannedAt planned: Double) {
        plannedAt.append(planned)
        firstByteAt.append(.nan)
        connectSeconds.append(0)
        inputTokens.append(-1)
        outputTokens.append(-1)
        curlCode.append(0)
        requestId.append("")
        stopReason.append("")
    }
}

/// One strategy's live run.
public struct LiveRun: Sendable {
    public var spec: StrategySpec
    /// Recorded exactly as the simulator records: reports read it unchanged. Sized to the whole
    /// stream; requests that had not arrived when a run stopped stay pending with no attempts.
    public var log: RunLog
    public var attempts: LiveAttempts
    /// Requests that arrived (were offered): the first `offered` of the stream.
    public var offered: Int
    /// Schedule lag over this run's attempts.
    public var lag: LagSummary
    public var partial: Bool
    public var stopReason: LiveStopReason?
    /// Model time of the stop, when there was one.
    public var stoppedAt: Double?
    /// Unix time of this run's model time 0.
    public var epoch: Double
    public var baseURL: String
    /// Attempts that failed at the transport or stream level, by cause
    /// (`connection: Couldn't connect to server`, `timeout: …`, `stream_error: overloaded_error`).
    public var errorCauses: [String: Int]
    /// Estimated spend of this run at list prices (0 when the catalog has no price).
    public var costUSD: Double
    /// Why the engine stopped the run early on its own (`stopReason == .failed`).
    public var failure: String?

    /// Schedule lag of attempt `i`, seconds.
    public func lag(attempt i: Int) -> Double { log.sentAt[i] - attempts.plannedAt[i] }
}

/// The result of a live run: the arrival stream, one run per strategy in scenario order (fewer
/// after a stop), and the schedule-lag check.
public struct LiveResult: Sendable {
    public var scenario: Scenario
    /// The whole stream the scenario generates, identical to the simulator's.
    public var stream: ArrivalStream
    public var runs: [LiveRun]
    /// True when a stop, a cap or a failure ended the run early.
    public var partial: Bool
    public var stopReason: LiveStopReason?
    /// Schedule lag over every attempt of every run.
    public var lag: LagSummary
    /// Loud notes for the terminal and the report: lag above 10 ms, stops, failures.
    public var warnings: [String]
    /// Estimated spend at list prices over all runs.
    public var costUSD: Double

    /// Inputs for `ReportWriter.build` / `write`. A complete result passes through. After a
    /// stop, the stream is cut to the requests the stopped run was offered (window = the stop
    /// time) and every log to the same requests, so all runs are compared on the same arrivals;
    /// the full logs stay in `runs`.
    public func reportInput() -> (stream: ArrivalStream, runs: [(spec: StrategySpec, log: RunLog)]) {
        let offered = runs.map(\.offered).min() ?? 0
        guard partial, offered < stream.count else { return (stream, runs.map { ($0.spec, $0.log) }) }
        let s = stream.prefix(offered, window: runs.compactMap(\.stoppedAt).min() ?? stream.window)
        return (s, runs.map { ($0.spec, $0.log.truncated(requests: offered)) })
    }
}

/// Every failure of the live runner's API. Messages never contain an API key.
public struct LiveError: Error, Sendable, CustomStringConvertible {
    public enum Kind: Sendable, Equatable {
        /// A non-loopback target without `maxCostUSD`, or without a price to enforce it.
        case unsafeTarget
        /// The base URL, keys or options cannot work.
        case configuration
        /// The API key variable is missing or empty.
        case apiKey
        /// A strategy cannot be built from its spec.
        case strategy
        /// libcurl could not be initialised.
        case curl
        /// `run` called twice on one runner.
        case state
    }

    public var kind: Kind
    public var message: String

    public init(_ kind: Kind, _ message: String) {
        self.kind = kind
        self.message = message
    }

    public var description: String { message }
}

/// The catalog estimate printed before a run.
public struct LiveCostEstimate: Sendable, Equatable {
    /// Requests over all strategy runs (one attempt each).
    public var requests: Int
    /// With the workload's output lengths, cached prefixes written once per prefix and then read.
    public var expectedUSD: Double
    /// With `max_tokens` of output and every prefix written: what the cap guards against.
    public var worstCaseUSD: Double
    public var priceSource: String
}

/// libcurl's URL parser (`curl_url`, libcurl ≥ 7.62), so that the host the loopback guard judges is
/// the host the transfer connects to.
enum CurlURL {
    /// The host part as libcurl parses `url`, or nil when libcurl refuses the URL.
    static func host(of url: String) -> String? {
        guard let h = curl_url() else { return nil }
        defer { curl_url_cleanup(h) }
        guard curl_url_set(h, CURLUPART_URL, url, 0) == CURLUE_OK else { return nil }
        var part: UnsafeMutablePointer<CChar>?
        guard curl_url_get(h, CURLUPART_HOST, &part, 0) == CURLUE_OK, let part else { return nil }
        defer { curl_free(part) }
        return String(cString: part)
    }
}
