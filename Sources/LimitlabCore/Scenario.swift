import Foundation

/// A random distribution of a non-negative quantity (tokens, or seconds for latencies).
public enum Distribution: Sendable, Equatable {
    case constant(Double)
    /// Uniform on [min, max]; for token counts both ends are included.
    case uniform(min: Double, max: Double)
    /// exp(N(mu, sigma²)); the median is exp(mu).
    case lognormal(mu: Double, sigma: Double)
    case exponential(mean: Double)
    /// Resampled uniformly from observed values.
    case empirical([Double])

    /// The distribution's mean (used for estimates and documentation).
    public var mean: Double {
        switch self {
        case .constant(let v): return v
        case .uniform(let a, let b): return (a + b) / 2
        case .lognormal(let mu, let sigma): return exp(mu + sigma * sigma / 2)
        case .exponential(let m): return m
        case .empirical(let v): return v.isEmpty ? 0 : v.reduce(0, +) / Double(v.count)
        }
    }
}

/// A distribution with optional clamps, as written in a scenario.
public struct Sampled: Sendable, Equatable {
    public var distribution: Distribution
    public var min: Double?
    public var max: Double?
    public init(_ distribution: Distribution, min: Double? = nil, max: Double? = nil) {
        self.distribution = distribution; self.min = min; self.max = max
    }
}

/// One row of a trace file.
public struct TraceRow: Sendable, Equatable {
    public var at: Double
    /// The whole prompt, cached prefix included (`cacheReadTokens` ≤ `inputTokens`).
    public var inputTokens: Int
    public var outputTokens: Int
    public var maxTokens: Int
    /// Cached-prefix tokens read by this request, when the trace records it.
    public var cacheReadTokens: Int?
    public init(at: Double, inputTokens: Int, outputTokens: Int, maxTokens: Int, cacheReadTokens: Int? = nil) {
        self.at = at; self.inputTokens = inputTokens; self.outputTokens = outputTokens
        self.maxTokens = maxTokens; self.cacheReadTokens = cacheReadTokens
    }
}

/// An arrival process. Rates are per second; times are seconds from the source's `start`.
public enum ArrivalProcess: Sendable, Equatable {
    /// Evenly spaced arrivals.
    case constant(rate: Double)
    /// Exponential inter-arrival gaps.
    case poisson(rate: Double)
    /// Gamma inter-arrival gaps with the given shape: CV = 1/sqrt(shape) (vLLM's burstiness).
    case gamma(rate: Double, shape: Double)
    /// Two-state Markov-modulated Poisson: `rateOn` during on-periods, `rateOff` during
    /// off-periods, period lengths exponential with the given means. Starts on.
    case onOff(rateOn: Double, rateOff: Double, meanOn: Double, meanOff: Double)
    /// `count` arrivals starting at `at`, spread evenly over [at, at + over): arrival k at
    /// `at + over·k/count` (all at once if `over` is 0).
    case burst(at: Double, count: Int, over: Double)
    /// Poisson with a rate changing linearly from `from` to `to` over `over` seconds, then
    /// holding `to`.
    case ramp(from: Double, to: Double, over: Double)
    /// Replayed arrivals with their own token counts.
    case trace(path: String, rows: [TraceRow])
}

/// One arrival source; sources superpose.
public struct ArrivalSpec: Sendable, Equatable {
    public var process: ArrivalProcess
    /// Seconds into the run when the source starts.
    public var start: Double
    /// Seconds into the run when the source stops (nil: the run's end).
    public var end: Double?
    public init(_ process: ArrivalProcess, start: Double = 0, end: Double? = nil) {
        self.process = process; self.start = start; self.end = end
    }
}

/// Prompt-cache reuse: requests start with one of `prefixes` shared, cacheable prefixes.
public struct CacheSpec: Sendable, Equatable {
    /// Length of every prefix as a share of the mean prompt, in [0, 1].
    public var share: Double
    /// Cache lifetime in seconds (300 for "5m", 3600 for "1h"); a read refreshes it.
    public var ttl: Double
    /// Number of distinct prefixes; each request uses one, chosen uniformly.
    public var prefixes: Int
    /// Prefixes shorter than this are silently not cached, as the real API does.
    public var minCacheableTokens: Int
    public init(share: Double, ttl: Double = 300, prefixes: Int = 1, minCacheableTokens: Int = 1024) {
        self.share = share; self.ttl = ttl; self.prefixes = prefixes; self.minCacheableTokens = minCacheableTokens
    }
}

/// What each request asks for.
public struct WorkloadSpec: Sendable, Equatable {
    public var inputTokens: Sampled
    public var outputTokens: Sampled
    /// Output is capped by it.
    public var maxTokens: Int
    public var cache: CacheSpec?
    /// Whether requests stream (affects TTFT reporting only in the simulator).
    public var stream: Bool
    /// The share of requests that may wait (`deferrable:`); nil: every request is urgent.
    public var deferrable: DeferrableSpec?
    public init(inputTokens: Sampled, outputTokens: Sampled, maxTokens: Int, cache: CacheSpec? = nil, stream: Bool = true) {
        self.inputTokens = inputTokens; self.outputTokens = outputTokens; self.maxTokens = maxTokens
        self.cache = cache; self.stream = stream
    }
}

/// 529 overload injection: a base probability, optionally rising linearly with in-flight load
/// from `riseFrom` requests to `maxProbability` at `riseTo` requests.
public struct OverloadModel: Sendable, Equatable {
    public var probability: Double
    public var riseFrom: Int?
    public var riseTo: Int?
    public var maxProbability: Double
    public init(probability: Double = 0, riseFrom: Int? = nil, riseTo: Int? = nil, maxProbability: Double = 1) {
        self.probability = probability; self.riseFrom = riseFrom; self.riseTo = riseTo
        self.maxProbability = maxProbability
    }

    /// Probability of a 529 for a request arriving with `inFlight` requests in progress.
    public func probability(inFlight: Int) -> Double {
        guard let from = riseFrom, let to = riseTo, to > from, inFlight > from else { return probability }
        let x = Swift.min(1, Double(inFlight - from) / Double(to - from))
        return probability + (maxProbability - probability) * x
    }
}

/// Faults injected into admitted or arriving requests, besides 529s (which are `overload`).
/// Probabilities are per request; draws are independent and happen in a fixed order (see
/// `OrganizationServer.decide`), so the simulator and the mock see the same faults for a seed.
public struct ServerFaults: Sendable, Equatable {
    /// 500 `api_error`, decided before the limits (costs nothing against them).
    public var serverError: Double
    /// Streams only: `event: error` (`overloaded_error`) after a uniformly drawn output token;
    /// the stream ends without `message_stop`.
    public var streamError: Double
    /// The connection is reset (TCP RST) when the response would start (at the first token).
    public var connectionReset: Double
    /// The response pauses for `stallDuration`: before a non-streaming response, after a
    /// stream's first text delta.
    public var stall: Double
    public var stallDuration: Double

    public init(serverError: Double = 0, streamError: Double = 0, connectionReset: Double = 0, stall: Double = 0,
                stallDuration: Double = 30) {
        self.serverError = serverError; self.streamError = streamError; self.connectionReset = connectionReset
        self.stall = stall; self.stallDuration = stallDuration
    }

    /// Whether any fault can happen.
    public var isEmpty: Bool { serverError == 0 && streamError == 0 && connectionReset == 0 && stall == 0 }
}

/// A period during which the whole server stops answering (an incident): a request that
/// reaches it between `start` and `start + duration` is held, unanswered, and decided when the
/// window ends. Responses already being generated carry on.
public struct StallWindow: Sendable, Equatable {
    /// Seconds from the start of the run.
    public var start: Double
    public var duration: Double
    public init(start: Double, duration: Double) { self.start = start; self.duration = duration }
    public var end: Double { start + duration }
}

/// When a model offered tools (`tool_choice` auto) calls one instead of answering in text
/// (`server.tool_use`). A forced choice (`any`, `tool`) always calls; `none` never does.
public enum ToolUsePolicy: Sendable, Equatable {
    /// Calls a tool while the conversation holds fewer than this many tool rounds (assistant
    /// turns with a `tool_use` block), then answers in text: an agent loop makes `rounds + 1`
    /// requests.
    case rounds(Int)
    /// Calls a tool with this probability per request (a draw from the server's stream).
    case probability(Double)
}

/// Server latency and fault model.
public struct ServerModel: Sendable, Equatable {
    /// Time to first token, seconds (before the prefill term).
    public var ttft: Sampled
    /// Output tokens generated per second once the first token is out.
    public var outputTokensPerSecond: Double
    /// Optional prefill speed: adds `input tokens / prefillTokensPerSecond` to TTFT.
    public var prefillTokensPerSecond: Double?
    /// Time to answer a 429 or 529.
    public var rejectLatency: Double
    public var overload: OverloadModel
    /// 500s, resets, pauses and broken streams.
    public var faults: ServerFaults
    /// Server-wide stalls, in increasing order of `start`, not overlapping.
    public var stalls: [StallWindow]
    /// When a request that offers tools gets a `tool_use` reply (default: one round).
    public var toolUse: ToolUsePolicy = .rounds(1)
    /// The Message Batches queue (`server.batch`).
    public var batch = BatchServerModel()
    public init(ttft: Sampled = Sampled(.lognormal(mu: -0.5108256237659907, sigma: 0.4)),
                outputTokensPerSecond: Double = 60, prefillTokensPerSecond: Double? = nil,
                rejectLatency: Double = 0.05, overload: OverloadModel = OverloadModel(),
                faults: ServerFaults = ServerFaults(), stalls: [StallWindow] = []) {
        self.ttft = ttft; self.outputTokensPerSecond = outputTokensPerSecond
        self.prefillTokensPerSecond = prefillTokensPerSecond; self.rejectLatency = rejectLatency
        self.overload = overload; self.faults = faults; self.stalls = stalls
    }

    /// When a request that reaches the server at `t` is decided: `t`, or the end of the stall
    /// window that holds it.
    public func decisionTime(arrivingAt t: Double) -> Double {
        var t = t
        for w in stalls where w.start <= t && t < w.end { t = w.end }
        return t
    }
}

/// The resolved limits of a scenario and where they came from.
public struct LimitsSpec: Sendable, Equatable {
    public var config: LimitConfig
    /// Catalog tier the numbers came from, if any.
    public var tier: String?
    public var modelClass: String?
    /// `catalog:<source URL> (<date of the page's version>)`, that plus ` with overrides`, or
    /// `explicit`.
    public var source: String
    /// Limits of each API key when the scenario has several (each key belongs to its own
    /// organisation, so it has its own buckets). Empty: one key with `config`.
    public var keys: [LimitConfig]
    public init(config: LimitConfig, tier: String? = nil, modelClass: String? = nil, source: String = "explicit",
                keys: [LimitConfig] = []) {
        self.config = config; self.tier = tier; self.modelClass = modelClass; self.source = source
        self.keys = keys
    }

    /// The limits of every key (at least one).
    public var keyConfigs: [LimitConfig] { keys.isEmpty ? [config] : keys }
}

/// A scalar strategy parameter as written in a scenario.
public enum ParamValue: Sendable, Equatable, CustomStringConvertible {
    case number(Double)
    case string(String)
    case bool(Bool)
    public var description: String {
        switch self {
        case .number(let v): return v == v.rounded() && abs(v) < 1e15 ? String(Int(v)) : String(v)
        case .string(let s): return s
        case .bool(let b): return b ? "true" : "false"
        }
    }
}

/// A role entry of a composed strategy (`retry: {name: full-jitter, params: {...}}`).
public struct RoleSpec: Sendable, Equatable {
    public var name: String
    public var params: [String: ParamValue]
    public init(name: String, params: [String: ParamValue] = [:]) { self.name = name; self.params = params }
}

/// One strategy to run, as named in a scenario: a baseline, an admission limiter or a preset,
/// optionally composed with a retry policy, a retry budget, a concurrency limit and a shedder.
public struct StrategySpec: Sendable, Equatable {
    /// Registry name (`none`, `sdk-default`, `token-bucket`, a preset, …).
    public var name: String
    /// Unique label in reports (`name`, or `name#2` when a name repeats).
    public var label: String
    public var params: [String: ParamValue]
    public var retry: RoleSpec?
    public var budget: RoleSpec?
    public var concurrency: RoleSpec?
    public var shed: RoleSpec?
    /// Spread requests over the scenario's API keys; nil: use the first key only.
    public var pool: KeyPoolMode?
    /// Which model class each attempt goes to (`route:`); nil: the scenario's model.
    public var route: RoleSpec? = nil
    /// Trims the input tokens of attempts when the input bucket runs low (`trim:`); nil: never.
    public var trim: RoleSpec? = nil
    public init(name: String, label: String? = nil, params: [String: ParamValue] = [:], retry: RoleSpec? = nil,
                budget: RoleSpec? = nil, concurrency: RoleSpec? = nil, shed: RoleSpec? = nil, pool: KeyPoolMode? = nil) {
        self.name = name; self.label = label ?? name; self.params = params
        self.retry = retry; self.budget = budget; self.concurrency = concurrency; self.shed = shed; self.pool = pool
    }
}

/// How a key pool picks the key for a new request.
public enum KeyPoolMode: String, Sendable, CaseIterable, Equatable {
    /// Keys in turn.
    case roundRobin = "round-robin"
    /// The key with the fewest unfinished requests (ties: lowest index).
    case leastLoaded = "least-loaded"
}

/// How a scenario's arrivals are dealt to its workers.
public enum WorkerSplit: String, Sendable, CaseIterable, Equatable {
    /// Arrival k goes to worker k mod N.
    case roundRobin = "round-robin"
    /// Each arrival goes to a uniformly drawn worker (seeded, so runs repeat).
    case random
}

/// N client processes of one organisation (`workers:`): the arrival stream is split among them
/// and each runs its own copy of every strategy; shared limiters of all workers use one store.
public struct WorkersSpec: Sendable, Equatable {
    public var count: Int
    public var split: WorkerSplit
    public init(count: Int, split: WorkerSplit = .roundRobin) { self.count = count; self.split = split }
}

/// Service-level objective: a request meets it when it succeeds within `latency` seconds of
/// its intended arrival; `attainment` is the share of requests that must meet it.
public struct SLOSpec: Sendable, Equatable {
    public var latency: Double
    public var attainment: Double?
    public init(latency: Double, attainment: Double? = nil) { self.latency = latency; self.attainment = attainment }
}

/// Where a scenario runs.
public enum TargetSpec: Sendable, Equatable, CustomStringConvertible {
    case sim
    case mock
    case url(String)
    public var description: String {
        switch self {
        case .sim: return "sim"
        case .mock: return "mock"
        case .url(let u): return u
        }
    }
}

/// How long a run lasts.
public enum RunLength: Sendable, Equatable {
    /// Arrivals in [0, seconds).
    case duration(Double)
    /// The first N arrivals of the superposed stream.
    case requests(Int)
}

/// A validated scenario: everything a run needs, with units resolved to seconds and tokens.
public struct Scenario: Sendable, Equatable {
    public var name: String
    public var description: String?
    public var seed: UInt64
    public var target: TargetSpec
    public var length: RunLength
    public var model: String
    public var limits: LimitsSpec
    public var server: ServerModel
    public var arrivals: [ArrivalSpec]
    public var workload: WorkloadSpec
    public var strategies: [StrategySpec]
    public var slo: SLOSpec?
    /// Extra latency percentiles (0–1) to report besides p50/p90/p95/p99/p99.9 (`report.percentiles`).
    public var reportPercentiles: [Double] = []
    /// Pass/fail conditions checked by `limitlab check` and `run --check`.
    public var thresholds: [ThresholdSpec] = []
    /// Client processes of the organisation; nil: one.
    public var workers: WorkersSpec?
    /// Model classes besides `model` that routing strategies may send attempts to (`models:`).
    public var models: [ExtraModel] = []

    public init(name: String, description: String? = nil, seed: UInt64, target: TargetSpec = .sim,
                length: RunLength, model: String, limits: LimitsSpec, server: ServerModel = ServerModel(),
                arrivals: [ArrivalSpec], workload: WorkloadSpec, strategies: [StrategySpec], slo: SLOSpec? = nil) {
        self.name = name; self.description = description; self.seed = seed; self.target = target
        self.length = length; self.model = model; self.limits = limits; self.server = server
        self.arrivals = arrivals; self.workload = workload; self.strategies = strategies; self.slo = slo
    }
}
