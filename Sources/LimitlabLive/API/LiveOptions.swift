public import LimitlabCore
import Foundation
import LimitlabStats
internal import CCurl
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
