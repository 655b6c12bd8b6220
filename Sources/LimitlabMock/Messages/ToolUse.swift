import LimitlabCore
import LimitlabServer
import NIOCore

// Model-side content of a reply that real applications parse: a tool call whose `input` is
// valid against the tool's `input_schema`, structured output valid against the requested
// JSON schema, and the point where a stop sequence ends generated text. Everything here is a
// pure function of the request, so the same request always gets the same reply text.

/// A minimal instance of a JSON schema: required properties only, the first enum value, the
/// first `anyOf`/`oneOf` branch, bounds respected. Covers the schema subset tool definitions
/// and structured outputs use (https://platform.claude.com/docs/en/build-with-claude/structured-outputs);
/// a schema outside it gets `null` where the mock cannot tell.
enum SchemaInstance {
    static let maxDepth = 24
    /// Values generated at most: nested `minItems` cannot multiply into a huge instance.
    static let maxNodes = 2_000

    static func make(_ schema: JSONValue) -> JSONValue {
        var budget = maxNodes
        return make(schema, root: schema, depth: 0, budget: &budget)
    }

    private static func make(_ s: JSONValue, root: JSONValue, depth: Int, budget: inout Int) -> JSONValue {
        guard depth < maxDepth, budget > 0, case .object = s else { return .null }
        budget -= 1
        if let c = s["const"] { return c }
        if case .array(let values)? = s["enum"], let first = values.first { return first }
        if case .string(let ref)? = s["$ref"] {
            return resolve(ref, root: root).map { make($0, root: root, depth: depth + 1, budget: &budget) } ?? .null
        }
        for key in ["anyOf", "oneOf", "allOf"] {
            if case .array(let branches)? = s[key], let first = branches.first {
                // allOf: the first branch's instance, merged with the rest when all are objects.
                var v = make(first, root: root, depth: depth + 1, budget: &budget)
                if key == "allOf", case .object(var members) = v {
                    for b in branches.dropFirst() {
                        if case .object(let more) = make(b, root: root, depth: depth + 1, budget: &budget) {
                            for m in more where !members.contains(where: { $0.0 == m.0 }) { members.append(m) }
                        }
                    }
                    v = .object(members)
                }
                return v
            }
        }
        var type: String?
        switch s["type"] {
        case .string(let t)?: type = t
        case .array(let ts)?:
            // ["string", "null"]: the first non-null type.
            for case .string(let t) in ts where t != "null" { type = t; break }
            if type == nil { type = "null" }
        default:
            if s["properties"] != nil { type = "object" } else if s["items"] != nil { type = "array" }
        }
        switch type {
        case "object":
            var required: [String] = []
            if case .array(let names)? = s["required"] {
                for case .string(let n) in names where !required.contains(n) { required.append(n) }
            }
            var members: [(String, JSONValue)] = []
            for name in required where budget > 0 {
                members.append((name, make(s["properties"]?[name] ?? .object([]), root: root, depth: depth + 1,
                                           budget: &budget)))
            }
            return .object(members)
        case "array":
            let n = Swift.min(8, Swift.max(0, integer(s["minItems"]) ?? 0))
            var items: [JSONValue] = []
            for _ in 0..<n where budget > 0 {
                items.append(make(s["items"] ?? .object([]), root: root, depth: depth + 1, budget: &budget))
            }
            return .array(items)
        case "string": return .string(string(s))
        case "integer": return .number(number(s, integer: true))
        case "number": return .number(number(s, integer: false))
        case "boolean": return .bool(false)
        default: return .null
        }
    }

    private static func string(_ s: JSONValue) -> String {
        if case .string(let f)? = s["format"] {
            switch f {
            case "date-time": return "2026-01-01T00:00:00Z"
            case "date": return "2026-01-01"
            case "time": return "00:00:00Z"
            case "email": return "user@example.com"
            case "uri", "url": return "https://example.com"
            case "uuid": return "00000000-0000-4000-8000-000000000000"
            default: break
            }
        }
        var text = "example"
        if let min = integer(s["minLength"]), min > text.count {
            text += String(repeating: "x", count: Swift.min(min, 256) - text.count)
        }
        if let max = integer(s["maxLength"]), max >= 0, max < text.count { text = String(text.prefix(max)) }
        return text
    }

    private static func number(_ s: JSONValue, integer wantInteger: Bool) -> Double {
        var lo = -Double.infinity, hi = Double.infinity
        if case .number(let v)? = s["minimum"] { lo = v }
        if case .number(let v)? = s["exclusiveMinimum"] { lo = Swift.max(lo, wantInteger ? v.rounded(.down) + 1 : v + 1) }
        if case .number(let v)? = s["maximum"] { hi = v }
        if case .number(let v)? = s["exclusiveMaximum"] { hi = Swift.min(hi, wantInteger ? v.rounded(.up) - 1 : v - 1) }
        var v = Swift.min(Swift.max(0, lo), hi)
        if wantInteger { v = v.rounded(.up) }
        return v.isFinite ? v : 0
    }

    private static func integer(_ v: JSONValue?) -> Int? {
        guard case .number(let d)? = v, d.isFinite, abs(d) < 1e9 else { return nil }
        return Int(d)
    }

    /// A local reference: `#/$defs/Name`, `#/definitions/Name` or `#`.
    private static func resolve(_ ref: String, root: JSONValue) -> JSONValue? {
        guard ref.hasPrefix("#") else { return nil }
        var v = root
        for part in ref.dropFirst().split(separator: "/") {
            let key = part.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
            guard let next = v[key] else { return nil }
            v = next
        }
        return v
    }
}

extension JSONValue {
    /// Compact JSON text in ASCII (non-ASCII as `\u` escapes), so that any 4-byte slice of it
    /// is valid UTF-8 on its own: replies send it in token-sized pieces.
    var asciiJSON: [UInt8] {
        var out: [UInt8] = []
        write(into: &out)
        return out
    }

    private func write(into out: inout [UInt8]) {
        switch self {
        case .null: out += Array("null".utf8)
        case .bool(let b): out += Array((b ? "true" : "false").utf8)
        case .number(let d):
            if d == d.rounded(), abs(d) < 1e15 { out += Array(String(Int(d)).utf8) }
            else if d.isFinite { out += Array(String(d).utf8) }
            else { out += Array("null".utf8) }
        case .string(let s): Self.writeString(s, into: &out)
        case .array(let items):
            out.append(0x5B)
            for (i, v) in items.enumerated() {
                if i > 0 { out.append(0x2C) }
                v.write(into: &out)
            }
            out.append(0x5D)
        case .object(let members):
            out.append(0x7B)
            for (i, (k, v)) in members.enumerated() {
                if i > 0 { out.append(0x2C) }
                Self.writeString(k, into: &out)
                out.append(0x3A)
                v.write(into: &out)
            }
            out.append(0x7D)
        }
    }

    private static let hex = Array("0123456789abcdef".utf8)

    private static func writeString(_ s: String, into out: inout [UInt8]) {
        out.append(0x22)
        for u in s.utf16 {
            switch u {
            case 0x22: out += [0x5C, 0x22]
            case 0x5C: out += [0x5C, 0x5C]
            case 0x0A: out += [0x5C, 0x6E]
            case 0x20..<0x7F: out.append(UInt8(u))
            default:
                out += [0x5C, 0x75, hex[Int(u >> 12)], hex[Int((u >> 8) & 0xF)], hex[Int((u >> 4) & 0xF)], hex[Int(u & 0xF)]]
            }
        }
        out.append(0x22)
    }
}

/// What a reply's content is made of, chosen before the server decides (the server only
/// decides whether the tool call happens and how many tokens are sent).
struct ReplyPlan {
    /// The tool the model calls if it calls one: the call's id, the tool's name and its `input`.
    var tool: (id: String, name: String, input: [UInt8])?
    /// Structured output: the JSON text the model answers with (nil: generated words).
    var fixedText: [UInt8]?
    /// A stop sequence in the generated words: the byte it starts at, and which one.
    var stop: (byte: Int, sequence: String)?
    /// Output tokens of a thinking block before the answer (0: no thinking).
    var thinkingTokens = 0

    /// The content a reply will have (tool call, structured output, stop sequence), fixed
    /// before the server decides; sets the request's tool offer and stop point for the server.
    static func make(_ request: inout MessagesRequest, outputTokens: inout Int?, defaultOutputTokens standard: Int,
                     ids: inout IDSource) -> ReplyPlan {
        var plan = ReplyPlan()
        // Extended thinking: a thinking block of min(budget, the default output length) tokens
        // comes first and counts in the output (adaptive thinking: the default output length).
        if request.thinkingBudget != nil || request.thinkingAdaptive {
            plan.thinkingTokens = Swift.max(1, Swift.min(request.thinkingBudget ?? standard, standard))
        }
        let t = plan.thinkingTokens
        if request.offersTools {
            let choice: ToolOffer.Choice
            switch request.toolChoice?.type {
            case "any"?, "tool"?: choice = .required
            case "none"?: choice = .none
            default: choice = .auto
            }
            let named = request.toolChoice?.name
            if let tool = request.tools.first(where: { named == nil || $0.name == named }) {
                let input = SchemaInstance.make(tool.inputSchema).asciiJSON
                plan.tool = (ids.make(prefix: "toolu_01"), tool.name, input)
                request.toolOffer = ToolOffer(choice: choice, completedRounds: request.toolRounds,
                                              callTokens: t + ReplyPlan.tokens(input.count))
            }
        }
        if let schema = request.outputSchema {
            let text = SchemaInstance.make(schema).asciiJSON
            plan.fixedText = text
            outputTokens = t + ReplyPlan.tokens(text.count)
        } else {
            let answer = outputTokens ?? standard
            if !request.stopSequences.isEmpty {
                let limit = Swift.min(answer, request.maxTokens - t)
                if let stop = GeneratedText.firstStop(request.stopSequences, within: limit) {
                    plan.stop = (stop.byte, stop.sequence)
                    request.stopSequenceAfter = t + stop.tokens
                }
            }
            if t > 0 { outputTokens = t + answer }
        }
        return plan
    }

    /// Tokens of a byte string (4 bytes a token, as the token approximation counts text).
    static func tokens(_ bytes: Int) -> Int { (bytes + 3) / 4 }

    /// The content of a reply the server stopped for `reason`.
    func content(for reason: StopReason) -> ReplyContent {
        var c = ReplyContent()
        c.thinkingTokens = thinkingTokens
        if reason == .toolUse, let tool {
            c.kind = .tool(id: tool.id, name: tool.name, input: tool.input)
        } else if let fixedText {
            c.kind = .fixed(fixedText)
        } else if reason == .stopSequence, let stop {
            c.kind = .words(limit: stop.byte)
            c.stopSequence = stop.sequence
        }
        return c
    }
}

extension GeneratedText {
    /// The earliest of `sequences` in the first `tokens` tokens of the generated words: where it
    /// starts, and the output tokens up to its end. The words repeat every 1,024 tokens, so a
    /// sequence that is not in the first period and its overlap never occurs.
    static func firstStop(_ sequences: [String], within tokens: Int) -> (byte: Int, tokens: Int, sequence: String)? {
        let limit = Swift.max(0, Swift.min(tokens, 1 << 30)) * 4
        var best: (byte: Int, tokens: Int, sequence: String)?
        // The first 1,000 sequences only: the scan's cost stays bounded whatever a body holds.
        for seq in sequences.prefix(1000) {
            let pattern = Array(seq.utf8)
            guard !pattern.isEmpty, pattern.allSatisfy({ $0 == 0x20 || (0x61...0x7A).contains($0) }) else { continue }
            let scanEnd = Swift.min(limit - pattern.count, table.count + pattern.count)
            guard scanEnd >= 0 else { continue }
            var p = 0
            while p <= scanEnd && p < (best?.byte ?? .max) {
                var k = 0
                while k < pattern.count && table[(p + k) % table.count] == pattern[k] { k += 1 }
                if k == pattern.count {
                    best = (p, ReplyPlan.tokens(p + pattern.count), seq)
                    break
                }
                p += 1
            }
        }
        return best
    }

    /// Bytes `range` of the generated words.
    static func write(bytes range: Range<Int>, into b: inout ByteBuffer) {
        var k = range.lowerBound
        while k < range.upperBound {
            let start = k % table.count
            let count = Swift.min(range.upperBound - k, table.count - start)
            table.withUnsafeBytes { _ = b.writeBytes(UnsafeRawBufferPointer(rebasing: $0[start..<(start + count)])) }
            k += count
        }
    }
}

/// `anthropic-version` values: dates. 2023-06-01 is the documented one
/// (https://docs.anthropic.com/en/api/versioning); current SDKs send later dated ones
/// (anthropic-sdk-python 2.17 sends 2026-10-21) and the API's full list is not published, so
/// any well-formed date from 2023-01-01 on is accepted.
enum APIVersion {
    /// `YYYY-MM-DD`, a real month and day, from 2023-01-01 on.
    static func isValid(_ v: String) -> Bool {
        let p = v.split(separator: "-", omittingEmptySubsequences: false)
        guard v.utf8.count == 10, p.count == 3, p[0].count == 4, p[1].count == 2, p[2].count == 2,
              let y = Int(p[0]), let m = Int(p[1]), let d = Int(p[2]),
              p.allSatisfy({ $0.utf8.allSatisfy { (0x30...0x39).contains($0) } })
        else { return false }
        return y >= 2023 && (1...12).contains(m) && (1...31).contains(d)
    }
}
