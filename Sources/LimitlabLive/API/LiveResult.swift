public import LimitlabCore
import Foundation
import LimitlabStats
internal import CCurl
#if canImport(Glibc)
import Glibc
#elseif canImport(Darwin)
import Darwin
#endif

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
