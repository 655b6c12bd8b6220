#if canImport(Glibc)
import Glibc
#endif

// A strict, allocation-light JSON reader for the few fields the live runner takes from a
// Messages response: `usage` (top level of a message, `message.usage` of `message_start`,
// `usage` of `message_delta`), `stop_reason` (top level, or `delta.stop_reason`), `error.type`
// and `error.message`, and an event's top-level `type`. The whole text is validated against
// the JSON grammar (RFC 8259, https://www.rfc-editor.org/rfc/rfc8259); fields are read only at
// their place in the object tree, with string escapes decoded, so a key named `usage` inside
// content text or a tool's input is never taken for the usage. Strings are decoded only for the
// fields kept (short ones, such as `end_turn`, fit Swift's inline small-string storage), so a
// typical event costs one pass over its bytes and no heap allocation.
//
// Foundation's JSONSerialization would do the validation too, but builds an NSDictionary tree
// of every value (content text included) for each event; this runs in the write callback of
// thousands of concurrent streams.

/// The fields of one JSON object the live runner reads.
struct MessageFields {
    /// Top-level `type`, classified as an SSE event name (`.other` for anything else).
    var type: SSEParser.Event = .other
    /// Top-level `usage` (a non-streaming message, or `message_delta`).
    var usage = ReportedUsage()
    /// `message.usage` (`message_start`).
    var messageUsage = ReportedUsage()
    /// Top-level `stop_reason`, else `delta.stop_reason` or `message.stop_reason`.
    var stopReason: String?
    /// `error.type`, `error.message` (an error body or `event: error`).
    var errorType: String?
    var errorMessage: String?
}

enum MessageJSON {
    /// Nesting deeper than this is refused as invalid (the reader recurses once per level;
    /// real responses, tool inputs included, nest a handful of levels).
    static let maxDepth = 512

    /// Parses `bytes` as one JSON value; when it is an object, its fields. Nil when the text is
    /// not valid JSON (or nests beyond `maxDepth`).
    static func parse(_ bytes: UnsafeRawBufferPointer) -> MessageFields? {
        var r = JSONReader(bytes)
        var f = MessageFields()
        r.skipBlanks()
        if r.peek == 0x7B {
            guard r.object(depth: 1, { r, key in
                if r.keyIs(key, "type") {
                    guard r.peek == 0x22 else { return r.skipValue(depth: 2) }
                    guard let s = r.stringRange() else { return false }
                    f.type = r.classify(s)
                } else if r.keyIs(key, "usage") {
                    return r.usage(into: &f.usage, depth: 2)
                } else if r.keyIs(key, "stop_reason") {
                    return r.optionalString(&f.stopReason, depth: 2)
                } else if r.keyIs(key, "message") {
                    guard r.peek == 0x7B else { return r.skipValue(depth: 2) }
                    return r.object(depth: 2) { r, key in
                        if r.keyIs(key, "usage") { return r.usage(into: &f.messageUsage, depth: 3) }
                        if r.keyIs(key, "stop_reason"), f.stopReason == nil {
                            return r.optionalString(&f.stopReason, depth: 3)
                        }
                        return r.skipValue(depth: 3)
                    }
                } else if r.keyIs(key, "delta") {
                    guard r.peek == 0x7B else { return r.skipValue(depth: 2) }
                    return r.object(depth: 2) { r, key in
                        if r.keyIs(key, "stop_reason"), f.stopReason == nil {
                            return r.optionalString(&f.stopReason, depth: 3)
                        }
                        return r.skipValue(depth: 3)
                    }
                } else if r.keyIs(key, "error") {
                    guard r.peek == 0x7B else { return r.skipValue(depth: 2) }
                    return r.object(depth: 2) { r, key in
                        if r.keyIs(key, "type") { return r.optionalString(&f.errorType, depth: 3) }
                        if r.keyIs(key, "message") { return r.optionalString(&f.errorMessage, depth: 3) }
                        return r.skipValue(depth: 3)
                    }
                } else {
                    return r.skipValue(depth: 2)
                }
                return true
            }) else { return nil }
        } else {
            guard r.skipValue(depth: 1) else { return nil }
        }
        r.skipBlanks()
        return r.atEnd ? f : nil
    }
}
