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

/// What the mock needs from a Messages (or count_tokens) request.
struct MessagesRequest {
    var model: String
    var maxTokens: Int
    var stream: Bool
    /// Approximate prompt tokens, cached prefix included.
    var promptTokens: Int
    var breakpoints: [CacheBreakpoint]

    static let requestOverhead = 3
    static let messageOverhead = 4
    static let imageTokens = 1600
    static let maxBreakpoints = 4

    /// Validates a parsed body. `countTokens`: the count_tokens endpoint (no `max_tokens`,
    /// no `stream`).
    static func parse(_ body: JSONValue, countTokens: Bool) throws(APIError) -> MessagesRequest {
        guard case .object = body else {
            throw .invalid("the request body must be a JSON object, found \(body.typeName)")
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

        var builder = PromptBuilder()
        if let tools = body["tools"], tools != .null {
            guard case .array(let list) = tools else { throw .invalid("tools: Input should be a valid list") }
            for (i, tool) in list.enumerated() {
                guard case .object = tool else { throw .invalid("tools.\(i): Input should be a valid dictionary") }
                builder.add(tag: 1, tokens: ceilDiv(approximateBytes(tool), 4), content: tool,
                            breakpoint: try cacheControl(tool, path: "tools.\(i)"))
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
                    default:
                        builder.add(tag: 7, tokens: ceilDiv(approximateBytes(block), 4), content: block, breakpoint: bp)
                    }
                }
            default:
                throw .invalid("\(path).content: Input should be a valid string or a list of content blocks")
            }
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
        return MessagesRequest(model: model, maxTokens: maxTokens, stream: stream,
                               promptTokens: builder.tokens + requestOverhead, breakpoints: bps)
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
