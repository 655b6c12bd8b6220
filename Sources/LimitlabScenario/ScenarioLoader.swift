public import LimitlabCore
import Foundation
package import Yams

/// Reads scenario files (YAML) into validated `Scenario` values. See docs/scenarios.md for the
/// format. Every problem found is reported with its file, line, column and key path.
public enum ScenarioLoader {
    /// Largest scenario file read, bytes: 1 MiB. A scenario is a few kilobytes; bulk data
    /// belongs in the trace or values files it refers to. The cap bounds the YAML parser's time
    /// and memory, which grow with the document (measured, debug build: 1 MiB of arrival
    /// sources 4 s and 74 MB; 8 MiB 27 s and 344 MB; 50 MB needed 3.6 GB).
    public static let maxScenarioBytes = 1 << 20

    /// What a too-large scenario (or mock config) is told to do instead.
    public static let tooLargeHint = "a scenario is a few kilobytes: put bulk data (arrival times, token counts) "
        + "in a trace or values file it names with file:"

    /// Reads and validates a scenario file (a regular file of at most `maxScenarioBytes`).
    /// Relative `file:` paths inside resolve against the scenario's directory.

    public static func load(path: String, catalog: TierCatalog = .builtIn) throws(ScenarioError) -> Scenario {
        try loadWithWarnings(path: path, catalog: catalog).scenario
    }

    /// `load`, with the warnings about a scenario that is valid but asks for requests the API
    /// refuses (a `max_tokens` above the model's maximum output, a prompt past its context
    /// window): each names its place and the fix.
    public static func loadWithWarnings(path: String, catalog: TierCatalog = .builtIn)
        throws(ScenarioError) -> (scenario: Scenario, warnings: [ScenarioIssue]) {
        let text: String
        switch TextFile.contents(path, maxBytes: maxScenarioBytes, tooLargeHint: tooLargeHint) {
        case .failure(let failure):
            throw ScenarioError(issues: [ScenarioIssue(
                file: path, line: 0, column: 0, path: "",
                message: "cannot read scenario file \(Found.quote(path, whole: true)): \(failure.reason)")])
        case .success(let t):
            text = t
        }
        let directory = Diagnostics.directory(of: path)
        return try parseWithWarnings(yaml: text, file: path, baseDirectory: directory.isEmpty ? "." : directory,
                                     catalog: catalog)
    }

    /// Parses YAML text; `file` is used in messages, `baseDirectory` resolves relative paths.
    public static func parse(yaml: String, file: String, baseDirectory: String,
                             catalog: TierCatalog = .builtIn) throws(ScenarioError) -> Scenario {
        try parseWithWarnings(yaml: yaml, file: file, baseDirectory: baseDirectory, catalog: catalog).scenario
    }

    /// `parse`, with the warnings `loadWithWarnings` describes.
    public static func parseWithWarnings(yaml: String, file: String, baseDirectory: String, catalog: TierCatalog = .builtIn)
        throws(ScenarioError) -> (scenario: Scenario, warnings: [ScenarioIssue]) {
        let diag = Diagnostics(file: file, baseDirectory: baseDirectory)
        var scenario: Scenario?
        if let root = compose(yaml, diag) {
            scenario = ScenarioReader(diag: diag, catalog: catalog).read(root)
        }
        if diag.hasIssues { throw ScenarioError(issues: diag.sortedIssues) }
        guard let scenario else {
            throw ScenarioError(issues: [ScenarioIssue(file: file, line: 0, column: 0, path: "",
                                                       message: "internal error: no scenario and no problem reported")])
        }
        return (scenario, diag.warnings)
    }

    // MARK: YAML

    /// The document's root node (`.some(nil)` for an empty document), or nil after reporting a
    /// syntax error. Duplicate keys, which Yams refuses outright, are renamed to markers one at a
    /// time so that the rest of the document can still be checked; the reader reports them.
    package static func compose(_ text: String, _ diag: Diagnostics) -> Node?? {
        if let excess = AliasBudget.excess(in: text) {
            diag.report(line: excess.line, column: excess.column, "",
                        "the alias *\(excess.anchor) takes the document past \(AliasBudget.maxAliasNodes) values "
                        + "repeated through aliases; limitlab refuses YAML whose aliases expand this far "
                        + "(write the values out, or put bulk data in a file: it refers to)")
            return nil
        }
        var yaml = text
        for attempt in 1...100 {
            do {
                return .some(try Yams.compose(yaml: yaml))
            } catch let error as YamlError {
                if case .duplicatedKeysInMapping(let keys, let context) = error, let key = keys.first {
                    if let found = DuplicateKeys.locate(key: key, after: context.mark, in: yaml) {
                        let marker = "__limitlab_duplicate_\(attempt)__"
                        yaml = DuplicateKeys.replace(in: yaml, line: found.line, column: found.column,
                                                     length: found.length, with: marker)
                        diag.duplicateMarkers[marker] = (key, context.mark.line)
                        continue
                    }
                    diag.report(context.mark, "", "duplicate key \(Found.quote(key))")
                    return nil
                }
                report(error, in: yaml, diag)
                return nil
            } catch {
                diag.report(line: 1, column: 1, "", "YAML syntax error: \(error)")
                return nil
            }
        }
        diag.report(line: 1, column: 1, "", "too many duplicate keys")
        return nil
    }

    private static func report(_ error: YamlError, in yaml: String, _ diag: Diagnostics) {
        func contextText(_ context: YamlError.Context?) -> String {
            guard let c = context else { return "" }
            return " (\(c.text) at line \(c.mark.line), column \(c.mark.column))"
        }
        switch error {
        case .scanner(let context, let problem, let mark, _),
             .parser(let context, let problem, let mark, _),
             .composer(let context, let problem, let mark, _):
            diag.report(mark, "", "YAML syntax error: \(problem)\(contextText(context))")
        case .reader(let problem, let offset, _, _):
            var line = 1, column = 1
            if let offset {
                for ch in yaml.prefix(offset) {
                    if ch == "\n" { line += 1; column = 1 } else { column += ch.unicodeScalars.count }
                }
            }
            diag.report(line: line, column: column, "", "YAML syntax error: \(problem)")
        default:
            diag.report(line: 1, column: 1, "", "YAML syntax error: \(error)")
        }
    }
}

/// Finding the second use of a key that Yams reported as duplicated.
enum DuplicateKeys {
    /// Position (1-based line and column, in Unicode scalars) and length of the next key named
    /// `key` in the same mapping as the one at `first`.
    static func locate(key: String, after first: Mark, in text: String) -> (line: Int, column: Int, length: Int)? {
        let lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map(Array.init)
        let l0 = first.line - 1, c0 = first.column - 1
        guard l0 >= 0, l0 < lines.count, c0 >= 0, c0 <= lines[l0].count,
              let firstLength = keyLength(lines[l0], c0, key)
        else { return nil }
        let prefix = lines[l0][0..<c0]
        let block = prefix.allSatisfy { $0 == " " || $0 == "-" }
        if block {
            // Block mapping: the next line whose content starts at the same column with the key;
            // a line starting further left ends the mapping.
            for i in (l0 + 1)..<lines.count {
                let line = lines[i]
                guard let start = line.firstIndex(where: { $0 != " " && $0 != "\r" }) else { continue }
                if line[start] == "#" { continue }
                if start < c0 { return nil }
                if start == c0, let n = keyLength(line, c0, key) { return (i + 1, c0 + 1, n) }
            }
            return nil
        }
        // Flow mapping: the next occurrence after a `{` or `,`.
        var i = l0, c = c0 + firstLength
        var previous: Unicode.Scalar = " "
        while i < lines.count {
            let line = lines[i]
            while c < line.count {
                let ch = line[c]
                if (previous == "{" || previous == ","), let n = keyLength(line, c, key) { return (i + 1, c + 1, n) }
                if ch != " " && ch != "\t" && ch != "\r" { previous = ch }
                c += 1
            }
            i += 1
            c = 0
        }
        return nil
    }

    /// Length of `key` (plain or quoted) at `column` when it is followed by `:`.
    private static func keyLength(_ line: [Unicode.Scalar], _ column: Int, _ key: String) -> Int? {
        let k = Array(key.unicodeScalars)
        for (open, close) in [("", ""), ("\"", "\""), ("'", "'")] {
            let token = Array(open.unicodeScalars) + k + Array(close.unicodeScalars)
            guard column + token.count <= line.count, Array(line[column..<(column + token.count)]) == token else { continue }
            var j = column + token.count
            while j < line.count, line[j] == " " || line[j] == "\t" { j += 1 }
            if j < line.count, line[j] == ":" {
                let after = j + 1
                if after == line.count || [" ", "\t", "\r"].contains(line[after]) || !open.isEmpty { return token.count }
                if [",", "}", "]"].contains(line[after]) { return token.count }
            }
        }
        return nil
    }

    /// `text` with `length` scalars at (line, column) replaced by `marker`.
    static func replace(in text: String, line: Int, column: Int, length: Int, with marker: String) -> String {
        var lines = text.unicodeScalars.split(separator: "\n", omittingEmptySubsequences: false).map(Array.init)
        lines[line - 1].replaceSubrange((column - 1)..<(column - 1 + length), with: marker.unicodeScalars)
        return lines.map { l in
            var s = String.UnicodeScalarView()
            s.append(contentsOf: l)
            return String(s)
        }.joined(separator: "\n")
    }
}
