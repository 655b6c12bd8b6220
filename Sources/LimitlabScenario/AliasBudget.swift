internal import CYaml

/// A bound on what YAML aliases (`*name`) add to a document, checked on libyaml's event stream
/// before Yams composes it. Yams resolves an alias to the anchored node itself, so a short file
/// whose aliases refer to anchors that refer to anchors ("billion laughs") expands to a tree far
/// larger than the file; reading that tree, or hashing it as a mapping key while composing,
/// costs time in proportion to the expanded size (a 1 MB file took minutes).
enum AliasBudget {
    /// Most nodes that aliases may add to a document. A scenario uses aliases, if at all, to
    /// repeat a distribution or a limits mapping: a few hundred nodes.
    static let maxAliasNodes = 100_000

    /// The alias that takes the document past `maxAliasNodes`, with its position (1-based) and
    /// the expanded node count so far; nil when the document stays within the bound or is not
    /// valid YAML (Yams reports that).
    static func excess(in text: String, limit: Int = maxAliasNodes) -> (anchor: String, line: Int, column: Int)? {
        guard text.utf8.contains(UInt8(ascii: "*")) else { return nil }
        var bytes = Array(text.utf8)
        return bytes.withUnsafeMutableBufferPointer { buffer -> (String, Int, Int)? in
            var parser = yaml_parser_t()
            guard yaml_parser_initialize(&parser) == 1 else { return nil }
            defer { yaml_parser_delete(&parser) }
            yaml_parser_set_input_string(&parser, buffer.baseAddress, buffer.count)

            // Expanded size of each anchored node (saturating at limit + 1), and of the nodes
            // still open; `added` counts the nodes that aliases contributed.
            var anchors: [String: Int] = [:]
            var open: [(anchor: String?, size: Int)] = []
            var added = 0
            func name(_ p: UnsafeMutablePointer<yaml_char_t>?) -> String? {
                p.map { String(cString: UnsafeRawPointer($0).assumingMemoryBound(to: CChar.self)) }
            }
            func close(_ anchor: String?, _ size: Int) {
                if let anchor { anchors[anchor] = size }
                if !open.isEmpty { open[open.count - 1].size = min(open[open.count - 1].size + size, limit + 1) }
            }
            while true {
                var event = yaml_event_t()
                guard yaml_parser_parse(&parser, &event) == 1 else { return nil }
                defer { yaml_event_delete(&event) }
                switch event.type {
                case YAML_STREAM_END_EVENT:
                    return nil
                case YAML_SCALAR_EVENT:
                    close(name(event.data.scalar.anchor), 1)
                case YAML_SEQUENCE_START_EVENT:
                    open.append((name(event.data.sequence_start.anchor), 1))
                case YAML_MAPPING_START_EVENT:
                    open.append((name(event.data.mapping_start.anchor), 1))
                case YAML_SEQUENCE_END_EVENT, YAML_MAPPING_END_EVENT:
                    if let last = open.popLast() { close(last.anchor, last.size) }
                case YAML_ALIAS_EVENT:
                    let anchor = name(event.data.alias.anchor) ?? ""
                    let size = anchors[anchor] ?? 1
                    added = min(added + size, limit + 1)
                    if added > limit {
                        return (anchor, Int(event.start_mark.line) + 1, Int(event.start_mark.column) + 1)
                    }
                    close(nil, size)
                default:
                    break
                }
            }
        }
    }
}
