import LimitlabCore
/// Builds Messages request bodies whose prompts have the workload's token counts.
///
/// The count follows the mock server's approximation (docs/mock-server.md): a text block is
/// ceil(UTF-8 bytes / 4) tokens, each message adds 4 and the request 3. The prompt is one user
/// message; with a cached prefix it holds two text blocks, the first marked `cache_control`,
/// so the breakpoint covers exactly `prefix` tokens (4 message tokens + prefix − 4 text tokens)
/// and the whole prompt is `input` tokens:
///
///     3 + 4 + (prefix − 4) + (input − prefix − 3) = input
///
/// Text is made of 4-byte words with a leading space (" the", " and", …), each a single token
/// in Claude's tokenizer as far as we know, so real-API counts land near the same figures.
/// A prefix starts with two marker words (run nonce, prefix id) so that prefixes differ
/// between ids and between strategy runs: a later run must not read an earlier run's cache.
struct RequestBodyBuilder {
    private let head: [UInt8]
    private let streamTail: [UInt8]
    private let cacheControl: [UInt8]
    private let nonce: [UInt8]

    /// 4-byte words; the cycle is long enough that a prompt does not look like one repeated word.
    static let filler: [UInt8] = {
        let words = [" the", " and", " for", " you", " are", " was", " not", " but", " can", " all", " one", " use",
                     " may", " new", " now", " way", " see", " day", " two", " how", " its", " our", " out", " get",
                     " has", " old", " own", " say", " too", " any", " few", " why", " let", " put", " end", " set"]
        var out: [UInt8] = []
        out.reserveCapacity(4096 * 4)
        var x: UInt32 = 0x9E37_79B9
        for _ in 0..<4096 {
            x ^= x << 13; x ^= x >> 17; x ^= x << 5
            out.append(contentsOf: words[Int(x % UInt32(words.count))].utf8)
        }
        return out
    }()

    /// `nonce` tells this run's prefixes apart from other runs'.
    init(model: String, stream: Bool, longCacheTTL: Bool, nonce: Int) {
        head = Array(("{\"model\":" + Self.quoted(model) + ",\"max_tokens\":").utf8)
        streamTail = Array((stream ? ",\"stream\":true" : ",\"stream\":false").utf8)
        cacheControl = Array((longCacheTTL ? ",\"cache_control\":{\"type\":\"ephemeral\",\"ttl\":\"1h\"}"
                                            : ",\"cache_control\":{\"type\":\"ephemeral\"}").utf8)
        self.nonce = Self.marker(nonce)
    }

    /// Writes the body of request with `input` prompt tokens (cached prefix included),
    /// `prefix` of them a cacheable prefix (0: none) shared by requests with the same `prefixId`.
    func write(input: Int, prefix: Int, prefixId: Int, maxTokens: Int, into out: inout [UInt8]) {
        out.removeAll(keepingCapacity: true)
        out.append(contentsOf: head)
        out.append(contentsOf: String(maxTokens).utf8)
        out.append(contentsOf: streamTail)
        out.append(contentsOf: #","messages":[{"role":"user","content":"#.utf8)
        let prefixText = prefix - 4
        if prefix > 0 && prefixText >= 1 {
            out.append(contentsOf: #"[{"type":"text","text":""#.utf8)
            var markers = nonce
            markers.append(contentsOf: Self.marker(prefixId))
            let m = Swift.min(prefixText, 2)
            out.append(contentsOf: markers[0..<(m * 4)])
            Self.appendFiller(tokens: prefixText - m, into: &out)
            out.append(0x22)
            out.append(contentsOf: cacheControl)
            out.append(contentsOf: #"},{"type":"text","text":""#.utf8)
            Self.appendFiller(tokens: Swift.max(1, input - prefix - 3), into: &out)
            out.append(contentsOf: "\"}]}]}".utf8)
        } else {
            out.append(0x22)
            Self.appendFiller(tokens: Swift.max(1, input - 7), into: &out)
            out.append(contentsOf: "\"}]}".utf8)
        }
    }

    /// The prompt tokens the mock counts for a body written with these arguments (differs from
    /// `input` only for prompts under 8 tokens, or prefixes under 5).
    static func countedTokens(input: Int, prefix: Int) -> Int {
        if prefix > 4 { return 3 + 4 + (prefix - 4) + Swift.max(1, input - prefix - 3) }
        return 3 + 4 + Swift.max(1, input - 7)
    }

    private static func appendFiller(tokens: Int, into out: inout [UInt8]) {
        var left = tokens * 4
        while left > 0 {
            let n = Swift.min(left, filler.count)
            out.append(contentsOf: filler[0..<n])
            left -= n
        }
    }

    /// A 4-byte word " xyz" naming `v` in base 36.
    static func marker(_ v: Int) -> [UInt8] {
        let digits = Array("0123456789abcdefghijklmnopqrstuvwxyz".utf8)
        var x = Swift.max(0, v) % (36 * 36 * 36)
        var out: [UInt8] = [0x20, 0, 0, 0]
        for i in stride(from: 3, through: 1, by: -1) {
            out[i] = digits[x % 36]
            x /= 36
        }
        return out
    }

    /// A JSON string literal.
    static func quoted(_ s: String) -> String { JSONText.quoted(s) }
}
