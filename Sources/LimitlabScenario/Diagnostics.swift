import Foundation
package import Yams

/// Collects issues while a scenario (or another document in the scenario vocabulary, such as the
/// mock's config) is read. Lives for one `parse` call on one thread.
package final class Diagnostics {
    /// The scenario file as named in messages.
    package let file: String
    /// Directory that relative `file:` paths resolve against.
    package let baseDirectory: String
    /// Keys renamed by the duplicate-key pass: marker → (original key, line of its first use).
    var duplicateMarkers: [String: (key: String, firstLine: Int)] = [:]

    private struct Entry {
        var anchorLine: Int
        var anchorColumn: Int
        var external: Bool
        var order: Int
        var issue: ScenarioIssue
    }
    private var entries: [Entry] = []

    package init(file: String, baseDirectory: String) {
        self.file = file
        self.baseDirectory = baseDirectory
    }

    package var hasIssues: Bool { !entries.isEmpty }

    /// Problems that do not stop the scenario from running (it runs as the API would answer
    /// it), in the order found: `validate` prints them and exits 0.
    package private(set) var warnings: [ScenarioIssue] = []

    package func warn(_ mark: Mark?, _ path: String, _ message: String) {
        warnings.append(ScenarioIssue(file: file, line: mark?.line ?? 0, column: mark?.column ?? 0, path: path,
                                      message: message))
    }

    /// An issue in the scenario file itself.
    package func report(_ mark: Mark?, _ path: String, _ message: String) {
        report(line: mark?.line ?? 0, column: mark?.column ?? 0, path, message)
    }

    package func report(line: Int, column: Int, _ path: String, _ message: String) {
        entries.append(Entry(
            anchorLine: line, anchorColumn: column, external: false, order: entries.count,
            issue: ScenarioIssue(file: file, line: line, column: column, path: path, message: message)))
    }

    /// An issue inside a file the scenario refers to; it sorts at `anchor`, the scenario value
    /// that names the file.
    func reportExternal(file: String, line: Int, column: Int, path: String, message: String, anchor: Mark?) {
        entries.append(Entry(
            anchorLine: anchor?.line ?? 0, anchorColumn: anchor?.column ?? 0, external: true, order: entries.count,
            issue: ScenarioIssue(file: file, line: line, column: column, path: path, message: message)))
    }

    /// Issues in file order: by the scenario position they belong to, then by their own.
    package var sortedIssues: [ScenarioIssue] {
        entries.sorted { a, b in
            if a.anchorLine != b.anchorLine { return a.anchorLine < b.anchorLine }
            if a.anchorColumn != b.anchorColumn { return a.anchorColumn < b.anchorColumn }
            if a.external != b.external { return !a.external }
            if a.issue.line != b.issue.line { return a.issue.line < b.issue.line }
            if a.issue.column != b.issue.column { return a.issue.column < b.issue.column }
            return a.order < b.order
        }.map(\.issue)
    }

    // MARK: Files named inside the scenario

    /// Absolute (or base-relative) path to read for a `file:` value.
    func resolve(_ relative: String) -> String {
        if relative.hasPrefix("/") { return (relative as NSString).standardizingPath }
        let base = baseDirectory.isEmpty ? "." : baseDirectory
        return ((base as NSString).appendingPathComponent(relative) as NSString).standardizingPath
    }

    /// The directory part of `path` ("" when it has none). `NSString.deletingLastPathComponent`
    /// traps on a one-character path in swift-corelibs-foundation (Swift 6.3.1): `validate x`
    /// crashed.
    package static func directory(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/") else { return "" }
        var end = slash
        while end > path.startIndex, path[path.index(before: end)] == "/" { end = path.index(before: end) }
        return end == path.startIndex ? "/" : String(path[..<end])
    }

    /// How a `file:` value is named in messages: relative to where the scenario file was named.
    func displayName(_ relative: String) -> String {
        if relative.hasPrefix("/") { return relative }
        let dir = Self.directory(of: file)
        if dir.isEmpty { return relative }
        return ((dir as NSString).appendingPathComponent(relative) as NSString).standardizingPath
    }
}

/// A value in the document and the key path that leads to it.
package struct Field {
    package let node: Node
    package let path: String
    package var mark: Mark? { node.mark }

    package init(node: Node, path: String) {
        self.node = node
        self.path = path
    }
}

package enum KeyPath {
    package static func join(_ path: String, _ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }
    package static func index(_ path: String, _ i: Int) -> String { "\(path)[\(i)]" }
}

// MARK: Describing what was found

package enum Found {
    /// How a node is named after "found": the scalar in quotes as written, `nothing` for an
    /// empty value, `a mapping`, `a list`.
    package static func describe(_ node: Node) -> String {
        switch node {
        case .scalar(let s):
            if s.string.isEmpty && (s.style == .plain || s.style == .any) { return "nothing" }
            return quote(s.string)
        case .mapping: return "a mapping"
        case .sequence: return "a list"
        case .alias: return "an alias"
        }
    }

    /// `text` in double quotes, escaped; values longer than 80 characters are shortened unless
    /// `whole` (file names).
    package static func quote(_ text: String, whole: Bool = false) -> String {
        var t = text
        if !whole && t.count > 80 { t = String(t.prefix(77)) + "..." }
        var out = "\""
        for ch in t {
            switch ch {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            default: out.append(ch)
            }
        }
        return out + "\""
    }

    /// A plain scalar that YAML reads as null (`key:` with nothing, `~`, `null`).
    package static func isNull(_ s: Node.Scalar) -> Bool {
        guard s.style == .plain || s.style == .any else { return false }
        return ["", "~", "null", "Null", "NULL"].contains(s.string)
    }
}

// MARK: Suggestions

enum Suggest {
    /// The closest candidate within edit distance 2 (case-insensitive, adjacent transpositions
    /// count 1), or nil. A candidate is not offered when the distance is as long as the word.
    static func closest(to word: String, in candidates: [String]) -> String? {
        let w = Array(word.lowercased())
        var best: (String, Int)?
        for c in candidates {
            let d = distance(w, Array(c.lowercased()))
            guard d <= 2, d < max(w.count, 1), d > 0 || word != c else { continue }
            if best == nil || d < best!.1 { best = (c, d) }
        }
        return best?.0
    }

    /// ` (did you mean "x"?)` or "".
    static func didYouMean(_ word: String, _ candidates: [String]) -> String {
        closest(to: word, in: candidates).map { " (did you mean \"\($0)\"?)" } ?? ""
    }

    /// Optimal string alignment distance.
    static func distance(_ a: [Character], _ b: [Character]) -> Int {
        if a.isEmpty { return b.count }
        if b.isEmpty { return a.count }
        var d = Array(repeating: Array(repeating: 0, count: b.count + 1), count: a.count + 1)
        for i in 0...a.count { d[i][0] = i }
        for j in 0...b.count { d[0][j] = j }
        for i in 1...a.count {
            for j in 1...b.count {
                let cost = a[i - 1] == b[j - 1] ? 0 : 1
                d[i][j] = min(d[i - 1][j] + 1, d[i][j - 1] + 1, d[i - 1][j - 1] + cost)
                if i > 1, j > 1, a[i - 1] == b[j - 2], a[i - 2] == b[j - 1] {
                    d[i][j] = min(d[i][j], d[i - 2][j - 2] + 1)
                }
            }
        }
        return d[a.count][b.count]
    }

    /// `unknown <what> "x"; expected one of: a, b, c (did you mean "a"?)`.
    static func unknown(_ what: String, _ word: String, _ known: [String]) -> String {
        "unknown \(what) \(Found.quote(word)); expected one of: \(known.joined(separator: ", "))"
            + didYouMean(word, known)
    }
}

// MARK: Mappings

/// The keys of one mapping, with unknown, duplicate and missing keys reported.
package struct MappingReader {
    package let node: Node
    package let path: String
    package let diag: Diagnostics
    package private(set) var keys: [String] = []
    private var entries: [String: (key: Node, value: Node)] = [:]

    /// Nil (and an issue) when the field is not a mapping. `expected` names the mapping, e.g.
    /// `a mapping of limits`.
    package init?(_ field: Field, expected: String, diag: Diagnostics) {
        guard case .mapping(let mapping) = field.node else {
            diag.report(field.mark, field.path, "expected \(expected), found \(Found.describe(field.node))")
            return nil
        }
        self.node = field.node
        self.path = field.path
        self.diag = diag
        for (key, value) in mapping {
            guard case .scalar(let k) = key else {
                diag.report(key.mark, path, "expected a key name, found \(Found.describe(key)) as a key")
                continue
            }
            let name = k.string
            if let dup = diag.duplicateMarkers[name] {
                diag.report(key.mark, KeyPath.join(path, dup.key),
                            "duplicate key \(Found.quote(dup.key)); it is first given at line \(dup.firstLine)")
                continue
            }
            if let earlier = entries[name] {
                let line = earlier.key.mark.map { " at line \($0.line)" } ?? ""
                diag.report(key.mark, KeyPath.join(path, name),
                            "duplicate key \(Found.quote(name)); it is first given\(line)")
                continue
            }
            if name == "<<" {
                diag.report(key.mark, path, "YAML merge keys (<<) are not supported; write the keys out")
                continue
            }
            entries[name] = (key, value)
            keys.append(name)
        }
    }

    package var mark: Mark? { node.mark }

    package func has(_ key: String) -> Bool { entries[key] != nil }

    package subscript(_ key: String) -> Field? {
        entries[key].map { Field(node: $0.value, path: KeyPath.join(path, key)) }
    }

    package func keyMark(_ key: String) -> Mark? { entries[key]?.key.mark }

    /// The field, or nil with `missing required key "key"` at this mapping.
    package func require(_ key: String) -> Field? {
        if let f = self[key] { return f }
        diag.report(mark, path, "missing required key \(Found.quote(key))")
        return nil
    }

    /// Reports every key not in `known`.
    package func checkKeys(_ known: [String]) {
        for k in keys where !known.contains(k) {
            diag.report(entries[k]?.key.mark, KeyPath.join(path, k), Suggest.unknown("key", k, known))
        }
    }
}

// MARK: Lists

extension Diagnostics {
    /// The items of a list with their paths, or nil (and an issue) when the field is not a list.
    package func list(_ field: Field, expected: String) -> [Field]? {
        guard case .sequence(let seq) = field.node else {
            report(field.mark, field.path, "expected \(expected), found \(Found.describe(field.node))")
            return nil
        }
        return seq.enumerated().map { Field(node: $0.element, path: KeyPath.index(field.path, $0.offset)) }
    }
}
