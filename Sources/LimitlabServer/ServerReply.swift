public import LimitlabCore

/// What a client asks of the organisation server: enough of a Messages request to decide it.
/// The simulator builds one from the arrival stream, the mock from the parsed HTTP body.
public struct ServerRequest: Sendable {
    /// Index of the model class in the server's `classes`.
    public var modelClass: Int
    /// All prompt tokens, cached prefixes included.
    public var promptTokens: Int
    public var maxTokens: Int
    /// Output the model would produce if not cut by `max_tokens` (the reply is capped there).
    public var wantedOutputTokens: Int
    public var stream: Bool
    /// Cache breakpoints in prompt order (`cache_control` blocks), shortest prefix first.
    public var breakpoints: [PromptBreakpoint]
    /// Output tokens after which one of the request's `stop_sequences` has been generated
    /// (nil: none would be). The reply stops there with `stop_sequence` if it gets that far.
    public var stopSequenceAfter: Int?
    /// The tools offered, when the request offers any the model can call.
    public var tools: ToolOffer?

    public init(modelClass: Int = 0, promptTokens: Int, maxTokens: Int, wantedOutputTokens: Int, stream: Bool,
                breakpoints: [PromptBreakpoint] = [], stopSequenceAfter: Int? = nil, tools: ToolOffer? = nil) {
        self.modelClass = modelClass; self.promptTokens = promptTokens; self.maxTokens = maxTokens
        self.wantedOutputTokens = wantedOutputTokens; self.stream = stream; self.breakpoints = breakpoints
        self.stopSequenceAfter = stopSequenceAfter; self.tools = tools
    }
}

/// Tools a request offers: whether the model must, may or must not call one, how many tool
/// rounds the conversation already holds, and the output tokens a call costs.
public struct ToolOffer: Sendable, Equatable {
    public enum Choice: Sendable, Equatable {
        /// `auto` (the default): the server's `ToolUsePolicy` decides.
        case auto
        /// `any` or `tool`: the model must call a tool.
        case required
        /// `none`: the model answers in text.
        case none
    }
    public var choice: Choice
    /// Assistant turns in the conversation that called a tool.
    public var completedRounds: Int
    /// Output tokens of the call (its `input` JSON).
    public var callTokens: Int

    public init(choice: Choice, completedRounds: Int, callTokens: Int) {
        self.choice = choice; self.completedRounds = completedRounds; self.callTokens = callTokens
    }
}

/// A prompt prefix that ends at a `cache_control` breakpoint.
public struct PromptBreakpoint: Sendable, Equatable {
    /// Identifies the prefix's content (and model): equal keys are the same cached copy.
    public var key: UInt64
    /// Prompt tokens up to and including this breakpoint.
    public var tokens: Int
    /// Lifetime of the cached copy, seconds.
    public var ttl: Double
    /// Written under the one-hour TTL (billed and reported apart from five-minute writes).
    public var longTTL: Bool

    public init(key: UInt64, tokens: Int, ttl: Double, longTTL: Bool = false) {
        self.key = key; self.tokens = tokens; self.ttl = ttl; self.longTTL = longTTL
    }
}

/// Token usage of one response, as the API reports it.
public struct TokenUsage: Sendable, Equatable {
    /// Prompt tokens after the last cache hit or write (the API's `input_tokens`).
    public var input: Int
    public var cacheCreation5m: Int
    public var cacheCreation1h: Int
    public var cacheRead: Int
    /// Output tokens sent (fewer than planned when a fault cut the response).
    public var output: Int
    public var cacheCreation: Int { cacheCreation5m + cacheCreation1h }

    public init(input: Int, cacheCreation5m: Int = 0, cacheCreation1h: Int = 0, cacheRead: Int = 0, output: Int = 0) {
        self.input = input; self.cacheCreation5m = cacheCreation5m; self.cacheCreation1h = cacheCreation1h
        self.cacheRead = cacheRead; self.output = output
    }
}

/// A fault decided for an admitted request.
public enum ResponseFault: Sendable, Equatable {
    case none
    /// TCP reset at the first token.
    case reset
    /// A pause of `seconds`: before a non-streaming response, after a stream's first delta.
    case stall(seconds: Double)
    /// Streams: `event: error` once this many output tokens have been sent.
    case streamError(afterTokens: Int)

    /// Label used in counters and recordings.
    public var label: String {
        switch self {
        case .none: return "none"
        case .reset: return "connection_reset"
        case .stall: return "stall"
        case .streamError: return "stream_error"
        }
    }
}

/// Why a response's generation stopped (the API's `stop_reason`).
public enum StopReason: String, Sendable {
    case endTurn = "end_turn"
    /// The output was cut at `max_tokens` (or `max_tokens` is 0).
    case maxTokens = "max_tokens"
    /// One of the request's `stop_sequences` was generated.
    case stopSequence = "stop_sequence"
    /// The reply is a `tool_use` block.
    case toolUse = "tool_use"
}

/// How the server answers an attempt.
public enum ReplyKind: Sendable, Equatable {
    /// 200: the response is generated (possibly cut or delayed by `fault`).
    case admitted
    /// 529 `overloaded_error`.
    case overloaded
    /// 500 `api_error`.
    case serverError
    /// 429 `rate_limit_error` with `enforced_spend_limit_reached`, no `retry-after`.
    case spendCap
    /// 429 from the limits, with `retry-after` and the refusing dimensions.
    case rateLimited
}

/// The server's decision on one attempt, with every time in model seconds. The simulator turns
/// it into a log row; the mock frames it as HTTP at exactly these times.
public struct ServerReply: Sendable {
    public var kind: ReplyKind
    /// When the server decided: the arrival, or the end of the stall window that held it.
    public var decidedAt: Double
    /// Rate-limit header values at the decision (nil when not asked for).
    public var snapshot: RateLimitSnapshot?
    public var refusedBy: LimitDimensions
    /// `retry-after` of a limit refusal, whole seconds.
    public var retryAfter: Int?
    public var usage: TokenUsage
    /// Why generation stopped.
    public var stopReason: StopReason
    /// The first output token (NaN when refused).
    public var firstToken: Double
    /// The last output token as generated (before a stall's delay).
    public var lastToken: Double
    public var fault: ResponseFault
    /// When the response is over: last byte, error event or reset. For refusals, the decision
    /// plus the reject latency.
    public var completion: Double

    /// HTTP status the client sees (0 for a reset: no response).
    public var status: UInt16 {
        switch kind {
        case .admitted: return fault == .reset ? 0 : 200
        case .overloaded: return 529
        case .serverError: return 500
        case .spendCap, .rateLimited: return 429
        }
    }

    /// The error a client records for this reply.
    public var error: ErrorKind {
        switch kind {
        case .admitted:
            switch fault {
            case .reset: return .connection
            case .streamError: return .overloaded // the stream's error event is `overloaded_error`
            case .none, .stall: return .none
            }
        case .overloaded: return .overloaded
        case .serverError: return .serverError
        case .spendCap, .rateLimited: return .rateLimited
        }
    }

    /// Time a token `k` (0-based) of a stream is due: the first at `firstToken`, the rest paced
    /// by `rate` and pushed back by a stall.
    public func tokenDue(_ k: Int, rate: Double) -> Double {
        guard k > 0 else { return firstToken }
        let shift: Double
        if case .stall(let s) = fault { shift = s } else { shift = 0 }
        return firstToken + shift + Double(k) / rate
    }
}
