import LimitlabCore
import LimitlabServer

// Validation of Messages and count_tokens bodies, and the token-count approximation.
//
// Token counting (documented in docs/mock-server.md): every text is ceil(UTF-8 bytes / 4)
// tokens; an image is 1,600; any other block (tool_use, tool_result, document, …) and each
// tool definition is ceil(bytes of its strings and keys / 4); each message adds 4 and the
// request 3. The prompt is read in the API's cache order — tools, system, messages — and
// each block's running hash identifies the prefix that ends at it, for the prompt cache.

/// A Messages API error the handler turns into the real error body.
struct APIError: Error {
    var status: Int
    var type: String
    var message: String

    static func invalid(_ message: String) -> APIError { APIError(status: 400, type: "invalid_request_error", message: message) }
}

enum CacheTTL: Equatable {
    case fiveMinutes
    case oneHour
}

/// A `cache_control` breakpoint: the prompt prefix that ends at a marked block.
struct CacheBreakpoint: Equatable {
    /// Tokens of the prefix, the marked block included.
    var tokens: Int
    /// Hash of the prefix's content (cache_control markers excluded).
    var hash: UInt64
    var ttl: CacheTTL
}

/// A custom tool the model can call.
struct ToolSpec {
    var name: String
    var inputSchema: JSONValue
}

/// What the mock needs from a Messages (or count_tokens) request.
/// The fields besides the prompt (`request.stopSequences` and so on) are `extras`.
@dynamicMemberLookup
struct MessagesRequest {
    var model: String
    var maxTokens: Int
    var stream: Bool
    /// Approximate prompt tokens, cached prefix included.
    var promptTokens: Int
    var breakpoints: [CacheBreakpoint]
    /// Stop sequences, tools, tool choice, thinking and structured output.
    var extras = MessagesExtras()

    subscript<T>(dynamicMember path: WritableKeyPath<MessagesExtras, T>) -> T {
        get { extras[keyPath: path] }
        set { extras[keyPath: path] = newValue }
    }

    /// Set by the handler before the server decides: where a stop sequence would end the
    /// output, and the tool offer.
    var stopSequenceAfter: Int?
    var toolOffer: ToolOffer?

    /// Top-level fields the API accepts on Messages (anthropic-sdk-python 2.17
    /// `types/message_create_params.py` and `types/beta/message_create_params.py`, plus the
    /// sampling parameters); any other is refused as the API refuses extra inputs.
    static let messagesFields: Set<String> = [
        "model", "max_tokens", "messages", "system", "stream", "stop_sequences", "temperature", "top_p", "top_k",
        "tools", "tool_choice", "thinking", "metadata", "service_tier", "inference_geo", "container", "output_config",
        "output_format", "cache_control", "speed", "diagnostics", "mcp_servers", "context_management", "compaction",
        "billing_policy", "fallbacks", "fallback_credit_token", "thread", "user_profile_id",
    ]
    /// count_tokens fields (same sources, `message_count_tokens_params.py`).
    static let countTokensFields: Set<String> = [
        "model", "messages", "system", "tools", "tool_choice", "thinking", "cache_control", "output_config",
        "output_format", "mcp_servers", "context_management", "speed",
    ]

    static let requestOverhead = 3
    static let messageOverhead = 4
    static let imageTokens = 1600
    static let maxBreakpoints = 4

    /// Validates a parsed body. `countTokens`: the count_tokens endpoint (no `max_tokens`,
    /// no `stream`).
    static func parse(_ body: JSONValue, countTokens: Bool) throws(APIError) -> MessagesRequest {
        guard case .object(let members) = body else {
            throw .invalid("the request body must be a JSON object, found \(body.typeName)")
        }
        let allowed = countTokens ? countTokensFields : messagesFields
        for (key, _) in members where !allowed.contains(key) {
            throw .invalid("\(key): Extra inputs are not permitted")
        }
        guard let modelValue = body["model"] else { throw .invalid("model: Field required") }
        guard case .string(let model) = modelValue, !model.isEmpty else {
            throw .invalid("model: Input should be a valid string")
        }
        var maxTokens = 0
        if !countTokens {
            guard let mt = body["max_tokens"] else { throw .invalid("max_tokens: Field required") }
            guard case .number(let v) = mt, v == v.rounded(), abs(v) < 1e15 else {
                throw .invalid("max_tokens: Input should be a valid integer")
            }
            guard v >= 0 else { throw .invalid("max_tokens: Input should be greater than or equal to 0") }
            maxTokens = Int(v)
        }
        var stream = false
        if !countTokens, let s = body["stream"], s != .null {
            guard case .bool(let b) = s else { throw .invalid("stream: Input should be a valid boolean") }
            stream = b
        }

        var extras = try MessagesExtras.parse(body, countTokens: countTokens)
        var builder = PromptBuilder()
        if let tools = body["tools"], tools != .null {
            guard case .array(let list) = tools else { throw .invalid("tools: Input should be a valid list") }
            for (i, tool) in list.enumerated() {
                guard case .object = tool else { throw .invalid("tools.\(i): Input should be a valid dictionary") }
                if let spec = try toolSpec(tool, path: "tools.\(i)") { extras.tools.append(spec) }
                extras.offersTools = true
                builder.add(tag: 1, tokens: ceilDiv(approximateBytes(tool), 4), content: tool,
                            breakpoint: try cacheControl(tool, path: "tools.\(i)"))
            }
        }
        if let choice = extras.toolChoice {
            guard extras.offersTools || choice.type == "none" else {
                throw .invalid("tool_choice may only be specified while providing tools.")
            }
            if choice.type == "tool", let name = choice.name, !extras.tools.contains(where: { $0.name == name }) {
                throw .invalid("tool_choice.tool.name: no tool named '\(name)' is in tools")
            }
        }
        if let system = body["system"], system != .null {
            switch system {
            case .string(let text):
                builder.addText(tag: 2, text, breakpoint: nil)
            case .array(let blocks):
                for (i, block) in blocks.enumerated() {
                    let path = "system.\(i)"
                    guard case .object = block else { throw .invalid("\(path): Input should be a valid dictionary") }
                    guard case .string(let type)? = block["type"] else { throw .invalid("\(path).type: Field required") }
                    guard type == "text" else { throw .invalid("\(path).type: Input should be 'text'") }
                    guard case .string(let text)? = block["text"] else { throw .invalid("\(path).text: Field required") }
                    builder.addText(tag: 2, text, breakpoint: try cacheControl(block, path: path))
                }
            default:
                throw .invalid("system: Input should be a valid string or a list of text blocks")
            }
        }
        guard let messagesValue = body["messages"] else { throw .invalid("messages: Field required") }
        guard case .array(let messages) = messagesValue else { throw .invalid("messages: Input should be a valid list") }
        guard !messages.isEmpty else { throw .invalid("messages: at least one message is required") }
        // tool_use ids of the previous message, when it is the assistant's.
        var previousToolUses: [String] = []
        var previousToolUseSet = Set<String>()
        var previousRole = ""
        for (i, message) in messages.enumerated() {
            let path = "messages.\(i)"
            guard case .object = message else { throw .invalid("\(path): Input should be a valid dictionary") }
            guard let roleValue = message["role"] else { throw .invalid("\(path).role: Field required") }
            guard case .string(let role) = roleValue, role == "user" || role == "assistant" else {
                throw .invalid("\(path).role: Input should be 'user' or 'assistant'")
            }
            let tag: UInt8 = role == "user" ? 3 : 4
            builder.addOverhead(tag: tag, tokens: messageOverhead)
            guard let content = message["content"] else { throw .invalid("\(path).content: Field required") }
            var toolUses: [String] = []
            var toolResults = Set<String>()
            switch content {
            case .string(let text):
                builder.addText(tag: 5, text, breakpoint: nil)
            case .array(let blocks):
                for (j, block) in blocks.enumerated() {
                    let bpath = "\(path).content.\(j)"
                    guard case .object = block else { throw .invalid("\(bpath): Input should be a valid dictionary") }
                    guard let typeValue = block["type"] else { throw .invalid("\(bpath).type: Field required") }
                    guard case .string(let type) = typeValue else { throw .invalid("\(bpath).type: Input should be a valid string") }
                    let bp = try cacheControl(block, path: bpath)
                    switch type {
                    case "text":
                        guard let t = block["text"] else { throw .invalid("\(bpath).text: Field required") }
                        guard case .string(let text) = t else { throw .invalid("\(bpath).text: Input should be a valid string") }
                        builder.addText(tag: 5, text, breakpoint: bp)
                    case "image":
                        builder.add(tag: 6, tokens: imageTokens, content: block, breakpoint: bp)
                    case "tool_use", "server_tool_use":
                        guard case .string(let id)? = block["id"] else { throw .invalid("\(bpath).id: Field required") }
                        guard role == "assistant" else {
                            throw .invalid("\(bpath): tool_use blocks may only appear in assistant messages")
                        }
                        if type == "tool_use" { toolUses.append(id) }
                        builder.add(tag: 7, tokens: ceilDiv(approximateBytes(block), 4), content: block, breakpoint: bp)
                    case "tool_result":
                        guard case .string(let id)? = block["tool_use_id"] else {
                            throw .invalid("\(bpath).tool_use_id: Field required")
                        }
                        guard previousRole == "assistant", previousToolUseSet.contains(id) else {
                            throw .invalid("\(bpath): unexpected `tool_use_id` found in `tool_result` blocks: \(id). "
                                           + "Each `tool_result` block must have a corresponding `tool_use` block in "
                                           + "the previous message.")
                        }
                        toolResults.insert(id)
                        builder.add(tag: 7, tokens: ceilDiv(approximateBytes(block), 4), content: block, breakpoint: bp)
                    default:
                        builder.add(tag: 7, tokens: ceilDiv(approximateBytes(block), 4), content: block, breakpoint: bp)
                    }
                }
            default:
                throw .invalid("\(path).content: Input should be a valid string or a list of content blocks")
            }
            // An assistant's tool calls must be answered in the next message.
            if previousRole == "assistant" && !previousToolUses.isEmpty {
                let missing = previousToolUses.filter { !toolResults.contains($0) }
                if !missing.isEmpty {
                    throw .invalid("messages.\(i - 1): `tool_use` ids were found without `tool_result` blocks "
                                   + "immediately after: \(missing.joined(separator: ", ")). Each `tool_use` block "
                                   + "must have a corresponding `tool_result` block in the next message.")
                }
            }
            if !toolUses.isEmpty { extras.toolRounds += 1 }
            previousToolUses = toolUses
            previousToolUseSet = Set(toolUses)
            previousRole = role
        }
        // Top-level cache_control marks the last block of the prompt.
        if let top = try cacheControl(body, path: "") { builder.markLast(top) }

        let bps = builder.breakpoints
        if bps.count > maxBreakpoints {
            throw .invalid("A maximum of \(maxBreakpoints) blocks with cache_control may be provided. Found \(bps.count).")
        }
        if let firstShort = bps.firstIndex(where: { $0.ttl == .fiveMinutes }),
           bps[firstShort...].contains(where: { $0.ttl == .oneHour }) {
            throw .invalid("a cache_control block with ttl '1h' must come before any block with ttl '5m'")
        }
        if let budget = extras.thinkingBudget, !countTokens, budget >= maxTokens {
            throw .invalid("`max_tokens` must be greater than `thinking.budget_tokens`. Please consult our documentation "
                           + "at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#max-tokens-and-context-window-size")
        }
        return MessagesRequest(model: model, maxTokens: maxTokens, stream: stream,
                               promptTokens: builder.tokens + requestOverhead, breakpoints: bps, extras: extras)
    }

    /// Checks that need the resolved model: `max_tokens` against the model's maximum output
    /// and the prompt against its context window (the simulator's rule, `ServedModels.Model`).
    func validate(against model: ServedModels.Model, countTokens: Bool) throws(APIError) {
        if let why = model.refusal(maxTokens: maxTokens, promptTokens: promptTokens, countTokens: countTokens) {
            throw .invalid(why)
        }
    }

    /// A custom tool's name and schema (nil for a server or Anthropic-defined tool), validated.
    private static func toolSpec(_ tool: JSONValue, path: String) throws(APIError) -> ToolSpec? {
        if case .string(let type)? = tool["type"], type != "custom" {
            guard case .string? = tool["name"] else { throw .invalid("\(path).name: Field required") }
            return nil
        }
        let p = "\(path).custom"
        guard let nameValue = tool["name"] else { throw .invalid("\(p).name: Field required") }
        guard case .string(let name) = nameValue else { throw .invalid("\(p).name: Input should be a valid string") }
        guard (1...128).contains(name.utf8.count),
              name.utf8.allSatisfy({ b in b == 0x5F || b == 0x2D || (0x30...0x39).contains(b) || (0x41...0x5A).contains(b)
                  || (0x61...0x7A).contains(b) }) else {
            throw .invalid("\(p).name: String should match pattern '^[a-zA-Z0-9_-]{1,128}$'")
        }
        guard let schema = tool["input_schema"] else { throw .invalid("\(p).input_schema: Field required") }
        guard case .object = schema else { throw .invalid("\(p).input_schema: Input should be a valid dictionary") }
        guard case .string("object")? = schema["type"] else {
            throw .invalid("\(p).input_schema.type: Input should be 'object'")
        }
        return ToolSpec(name: name, inputSchema: schema)
    }

    /// The block's `cache_control`, validated; nil when absent.
    private static func cacheControl(_ block: JSONValue, path: String) throws(APIError) -> CacheTTL? {
        guard let cc = block["cache_control"], cc != .null else { return nil }
        let p = path.isEmpty ? "cache_control" : "\(path).cache_control"
        guard case .object = cc else { throw .invalid("\(p): Input should be a valid dictionary") }
        guard case .string("ephemeral")? = cc["type"] else { throw .invalid("\(p).type: Input should be 'ephemeral'") }
        switch cc["ttl"] {
        case nil, .null?, .string("5m")?: return .fiveMinutes
        case .string("1h")?: return .oneHour
        default: throw .invalid("\(p).ttl: Input should be '5m' or '1h'")
        }
    }

    static func ceilDiv(_ a: Int, _ b: Int) -> Int { (a + b - 1) / b }

    /// Bytes of a value's strings and keys (numbers and literals count 4), `cache_control`
    /// excluded: the size the token approximation uses for non-text blocks.
    static func approximateBytes(_ v: JSONValue) -> Int {
        switch v {
        case .null, .bool, .number: return 4
        case .string(let s): return s.utf8.count
        case .array(let items): return items.reduce(0) { $0 + approximateBytes($1) }
        case .object(let members):
            return members.reduce(0) { $0 + ($1.0 == "cache_control" ? 0 : $1.0.utf8.count + approximateBytes($1.1)) }
        }
    }
}

/// The request fields besides the prompt: sampling parameters, stop sequences, tool choice,
/// thinking and structured output, validated with the API's messages.
struct MessagesExtras {
    var stopSequences: [String] = []
    /// Custom tools offered (server tools are accepted and never called).
    var tools: [ToolSpec] = []
    /// Whether any tool, custom or server, is offered.
    var offersTools = false
    /// `tool_choice`: nil (auto), or the type and, for `tool`, the name.
    var toolChoice: (type: String, name: String?)?
    /// Assistant turns that called a tool.
    var toolRounds = 0
    /// `thinking.budget_tokens` when extended thinking is enabled.
    var thinkingBudget: Int?
    /// `thinking: {type: adaptive}`: the model thinks without a set budget.
    var thinkingAdaptive = false
    /// The JSON schema of a structured-output request (`output_config.format`, or the beta
    /// `output_format`).
    var outputSchema: JSONValue?

    static func parse(_ body: JSONValue, countTokens: Bool) throws(APIError) -> MessagesExtras {
        var x = MessagesExtras()
        func present(_ key: String) -> JSONValue? {
            guard let v = body[key], v != .null else { return nil }
            return v
        }
        var thinkingEnabled = false
        if let t = present("thinking") {
            guard case .object = t, case .string(let type)? = t["type"] else {
                throw .invalid("thinking: Input should be a valid dictionary with a type")
            }
            switch type {
            case "enabled":
                guard let b = t["budget_tokens"] else { throw .invalid("thinking.enabled.budget_tokens: Field required") }
                guard case .number(let v) = b, v == v.rounded(), abs(v) < 1e15 else {
                    throw .invalid("thinking.enabled.budget_tokens: Input should be a valid integer")
                }
                guard v >= 1024 else {
                    throw .invalid("thinking.enabled.budget_tokens: Input should be greater than or equal to 1024")
                }
                x.thinkingBudget = Int(v)
                thinkingEnabled = true
            case "disabled": break
            case "adaptive":
                thinkingEnabled = true
                x.thinkingAdaptive = true
            default: throw .invalid("thinking.type: Input should be 'enabled', 'disabled' or 'adaptive'")
            }
        }
        if !countTokens {
            func number(_ key: String, _ range: ClosedRange<Double>) throws(APIError) -> Double? {
                guard let v = present(key) else { return nil }
                guard case .number(let d) = v else { throw .invalid("\(key): Input should be a valid number") }
                if d < range.lowerBound {
                    throw .invalid("\(key): Input should be greater than or equal to \(ParamValue.number(range.lowerBound))")
                }
                if d > range.upperBound {
                    throw .invalid("\(key): Input should be less than or equal to \(ParamValue.number(range.upperBound))")
                }
                return d
            }
            let temperature = try number("temperature", 0...1)
            _ = try number("top_p", 0...1)
            if let k = try number("top_k", 0...1e15), k != k.rounded() { throw .invalid("top_k: Input should be a valid integer") }
            if thinkingEnabled, let t = temperature, t != 1 {
                throw .invalid("`temperature` may only be set to 1 when thinking is enabled. Please consult our "
                               + "documentation at https://docs.claude.com/en/docs/build-with-claude/extended-thinking#feature-compatibility")
            }
            if let s = present("stop_sequences") {
                guard case .array(let items) = s else { throw .invalid("stop_sequences: Input should be a valid list") }
                for (i, item) in items.enumerated() {
                    guard case .string(let seq) = item else { throw .invalid("stop_sequences.\(i): Input should be a valid string") }
                    x.stopSequences.append(seq)
                }
            }
        }
        if let c = present("tool_choice") {
            guard case .object = c else { throw .invalid("tool_choice: Input should be a valid dictionary") }
            guard case .string(let type)? = c["type"], ["auto", "any", "tool", "none"].contains(type) else {
                throw .invalid("tool_choice.type: Input should be 'auto', 'any', 'tool' or 'none'")
            }
            var name: String?
            if type == "tool" {
                guard case .string(let n)? = c["name"] else { throw .invalid("tool_choice.tool.name: Field required") }
                name = n
            }
            x.toolChoice = (type, name)
        }
        // Structured output: output_config.format (GA) or output_format (beta), both
        // {"type": "json_schema", "schema": {...}}.
        var format: (JSONValue, String)?
        if let oc = present("output_config") {
            guard case .object = oc else { throw .invalid("output_config: Input should be a valid dictionary") }
            if let f = oc["format"], f != .null { format = (f, "output_config.format") }
        }
        if let f = present("output_format") { format = (f, "output_format") }
        if let (f, path) = format {
            guard case .object = f, case .string("json_schema")? = f["type"] else {
                throw .invalid("\(path).type: Input should be 'json_schema'")
            }
            guard let schema = f["schema"], case .object = schema else {
                throw .invalid("\(path).schema: Input should be a valid dictionary")
            }
            x.outputSchema = schema
        }
        return x
    }
}

/// Accumulates prompt tokens and the running content hash (FNV-1a, 64 bit).
struct PromptBuilder {
    private(set) var tokens = 0
    private var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    private(set) var breakpoints: [CacheBreakpoint] = []
    /// Where the last real block ended, for a top-level cache_control.
    private var lastBlock: (tokens: Int, hash: UInt64)?

    private mutating func mix(_ byte: UInt8) { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01b3 }
    private mutating func mix<S: Sequence>(_ bytes: S) where S.Element == UInt8 { for b in bytes { mix(b) } }

    private mutating func mix(_ v: JSONValue) {
        switch v {
        case .null: mix(0xF0)
        case .bool(let b): mix(b ? 0xF1 : 0xF2)
        case .number(let d): mix(0xF3); withUnsafeBytes(of: d.bitPattern) { mix($0) }
        case .string(let s): mix(0xF4); mix(s.utf8); mix(0xFF)
        case .array(let items): mix(0xF5); for i in items { mix(i) }; mix(0xFE)
        case .object(let members):
            mix(0xF6)
            for (k, x) in members where k != "cache_control" { mix(k.utf8); mix(0xFF); mix(x) }
            mix(0xFD)
        }
    }

    mutating func addOverhead(tag: UInt8, tokens n: Int) {
        mix(tag)
        tokens += n
    }

    mutating func addText(tag: UInt8, _ text: String, breakpoint: CacheTTL?) {
        mix(tag)
        mix(text.utf8)
        mix(0xFF)
        tokens += MessagesRequest.ceilDiv(text.utf8.count, 4)
        finishBlock(breakpoint)
    }

    mutating func add(tag: UInt8, tokens n: Int, content: JSONValue, breakpoint: CacheTTL?) {
        mix(tag)
        mix(content)
        tokens += n
        finishBlock(breakpoint)
    }

    private mutating func finishBlock(_ breakpoint: CacheTTL?) {
        lastBlock = (tokens, hash)
        if let ttl = breakpoint { breakpoints.append(CacheBreakpoint(tokens: tokens, hash: hash, ttl: ttl)) }
    }

    mutating func markLast(_ ttl: CacheTTL) {
        guard let last = lastBlock, breakpoints.last?.hash != last.hash || breakpoints.last?.tokens != last.tokens
        else { return }
        breakpoints.append(CacheBreakpoint(tokens: last.tokens, hash: last.hash, ttl: ttl))
    }
}
