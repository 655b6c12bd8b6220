import LimitlabCore

/// The client libraries `limitlab export` writes for, each pinned to the version its output targets.
public enum ExportFormat: String, Sendable, CaseIterable {
    /// The official Python SDK's own retry settings (`Anthropic(max_retries=…, timeout=…)`).
    case anthropicPython = "anthropic-python"
    /// tenacity's `AsyncRetrying`/`@retry` around an SDK call with the SDK's retries off.
    case tenacity
    /// aiolimiter's `AsyncLimiter` (admission) and an `asyncio.Semaphore` (concurrency).
    case aiolimiter
    /// Bottleneck's options object, with a retry loop around `limiter.schedule`.
    case bottleneck

    /// The library and version the output is written against, with where to check it.
    public var library: String {
        switch self {
        case .anthropicPython: return "anthropic \(ExportLibraries.anthropicPython) (https://pypi.org/project/anthropic/)"
        case .tenacity: return "tenacity \(ExportLibraries.tenacity) (https://pypi.org/project/tenacity/)"
        case .aiolimiter: return "aiolimiter \(ExportLibraries.aiolimiter) (https://pypi.org/project/aiolimiter/)"
        case .bottleneck: return "bottleneck \(ExportLibraries.bottleneck) (https://www.npmjs.com/package/bottleneck)"
        }
    }

    /// The suggested file extension.
    public var fileExtension: String { self == .bottleneck ? "js" : "py" }
}

/// The versions the exported code is written against (the current releases when this was written).
public enum ExportLibraries {
    /// anthropic-sdk-python on PyPI, the version the `sdk-default` preset mirrors.
    public static let anthropicPython = "2.17.0"
    /// tenacity on PyPI (9.2.1: `wait_exponential_jitter` takes `multiplier`, `initial` is deprecated).
    public static let tenacity = "9.2.1"
    /// aiolimiter on PyPI (its `AsyncLimiter` leaky bucket is unchanged since 1.2.1, which the
    /// `leaky-bucket` strategy mirrors).
    public static let aiolimiter = "1.3.0"
    /// Bottleneck on npm (the last release, which the `bottleneck` strategy ports).
    public static let bottleneck = "2.19.5"
    /// The TypeScript SDK the Bottleneck snippet calls.
    public static let anthropicTypeScript = "0.120.0"
}

/// A strategy parameter (or a whole role) that the target library cannot carry, and why.
public struct ExportGap: Sendable, Equatable, CustomStringConvertible {
    /// `role name.parameter` (or `role name` for a whole role).
    public var parameter: String
    public var reason: String
    public init(_ parameter: String, _ reason: String) { self.parameter = parameter; self.reason = reason }
    public var description: String { "\(parameter): \(reason)" }
}

/// One parameter as the strategy runs it: the scenario's value or the registry default.
public struct ExportedParameter: Sendable, Equatable {
    public var name: String
    /// As a scenario would write it (`500ms`, `2`, `none`).
    public var value: String
}

/// One role of the strategy with its resolved parameters, for the file's header.
public struct ExportedRole: Sendable, Equatable {
    /// `name`, `retry`, `concurrency`, …
    public var key: String
    public var name: String
    public var parameters: [ExportedParameter]
    public var line: String {
        let ps = parameters.map { "\($0.name) \($0.value)" }.joined(separator: ", ")
        return "\(key): \(name)" + (ps.isEmpty ? "" : " (\(ps))")
    }
}

/// A strategy in library-neutral terms: what each role does, with its numbers, and what no
/// library can carry. Built by `StrategyExport.plan`; rendered by a format.
public struct ExportPlan: Sendable, Equatable {
    /// The label the strategy has in the scenario (or its registry name).
    public var label: String
    /// The roles as run, after preset expansion.
    public var roles: [ExportedRole]
    /// The preset the strategy expanded from, if any.
    public var preset: String?
    public var admission: AdmissionPlan?
    /// A fixed limit on attempts in flight.
    public var concurrency: Int?
    public var retry: RetryPlan
    /// Roles or parameters no format carries (budgets, shedders, adaptive limits, …).
    public var gaps: [ExportGap]
}

/// The pre-send limiter of a strategy in library-neutral terms.
public enum AdmissionPlan: Sendable, Equatable {
    /// Continuously refilling buckets (token bucket, GCRA, aiolimiter's leaky bucket are all this
    /// for requests of cost 1), one per dimension.
    case buckets([BucketPlan], queue: QueuePlan)
    /// Bottleneck's own settings (the `bottleneck` strategy).
    case bottleneck(BottleneckSettings)

    /// The formats that carry it, for messages.
    public var formats: String {
        switch self {
        case .buckets: return "--as aiolimiter or --as bottleneck"
        case .bottleneck: return "--as bottleneck"
        }
    }
}

/// A bucket that refills at `rate` per second up to `capacity`.
public struct BucketPlan: Sendable, Equatable {
    public enum Dimension: String, Sendable { case requests, inputTokens = "input_tokens" }
    public var dimension: Dimension
    /// Units per second.
    public var rate: Double
    public var capacity: Double
    /// Whether it starts full (a burst of `capacity` at once).
    public var startsFull: Bool
    /// Where the numbers come from (`token-bucket rpm 1200 × burst 1s`), for comments.
    public var origin: String
}

/// The admission limiter's queue bounds (nil: unbounded).
public struct QueuePlan: Sendable, Equatable {
    public var maxQueue: Int?
    public var maxWait: Double?
    public static let unbounded = QueuePlan(maxQueue: nil, maxWait: nil)
}

/// The retry role in library-neutral terms. `attempt` below is the failed attempt's number
/// (1-based), as limitlab's policies count.
public indirect enum RetryPlan: Sendable, Equatable {
    case none
    /// Retry at once, `maxAttempts` attempts in all.
    case immediate(maxAttempts: Int)
    /// The official SDK's retry (`sdk-default`).
    case sdk(variant: String, maxRetries: Int, initialDelay: Double, maxDelay: Double)
    /// `clamp(base · multiplier^(attempt−1), min, cap)`.
    case exponential(base: Double, multiplier: Double, min: Double, cap: Double?, maxAttempts: Int)
    /// `U(0, min(cap, base · 2^attempt))`.
    case fullJitter(base: Double, cap: Double, maxAttempts: Int)
    /// `v/2 + U(0, v/2)`, `v = min(cap, base · 2^attempt)`.
    case equalJitter(base: Double, cap: Double, maxAttempts: Int)
    /// The chain `s = min(cap, U(base, multiplier · s))` from `s = base`, `attempt` steps.
    case decorrelatedJitter(base: Double, cap: Double, multiplier: Double, maxAttempts: Int)
    /// `clamp(base · multiplier^(attempt−1) + U(0, jitter), min, cap)`.
    case tenacityJitter(base: Double, multiplier: Double, jitter: Double, min: Double, cap: Double?, maxAttempts: Int)
    /// The server's retry-after over an inner backoff (`retry-after`).
    case retryAfter(inner: RetryPlan, mode: String, jitter: Double, maxHonored: Double?, giveUpAbove: Bool)

    /// Attempts in all, the first included.
    public var maxAttempts: Int {
        switch self {
        case .none: return 1
        case .immediate(let n): return n
        case .sdk(_, let r, _, _): return r + 1
        case .exponential(_, _, _, _, let n), .fullJitter(_, _, let n), .equalJitter(_, _, let n),
             .decorrelatedJitter(_, _, _, let n), .tenacityJitter(_, _, _, _, _, let n):
            return n
        case .retryAfter(let inner, _, _, _, _): return inner.maxAttempts
        }
    }
}

/// Why a strategy cannot be exported in a format: the message names the fix.
public struct ExportError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public init(_ message: String) { self.message = message }
    public var description: String { message }
}

/// The file a format writes, with the gaps it could not carry (the plan's and the format's own).
public struct ExportedFile: Sendable, Equatable {
    public var format: ExportFormat
    public var text: String
    public var gaps: [ExportGap]
}
