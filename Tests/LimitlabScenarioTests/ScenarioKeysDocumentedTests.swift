import Foundation
import Testing

/// docs/scenarios.md must name every key the scenario reader accepts. The accepted keys are
/// collected from the reader's source: every `checkKeys(...)` call in Sources/LimitlabScenario,
/// with the named key lists it uses (`Self.topKeys`, `Diagnostics.limitKeys`, ...) resolved to
/// their definitions. A key counts as documented when the document writes it as `` `key` ``.
@Suite("Scenario keys are documented")
struct ScenarioKeysDocumentedTests {
    static let sourceDir = repoRoot.appendingPathComponent("Sources/LimitlabScenario")
    static let docPath = repoRoot.appendingPathComponent("docs/scenarios.md")

    static func readerSources() throws -> String {
        let names = try FileManager.default.contentsOfDirectory(atPath: sourceDir.path)
            .filter { $0.hasSuffix(".swift") }.sorted()
        return try names.map { try String(contentsOf: sourceDir.appendingPathComponent($0), encoding: .utf8) }
            .joined(separator: "\n")
    }

    @Test func everyAcceptedKeyIsDocumented() throws {
        let source = try Self.readerSources()
        let keys = ScenarioKeyScan.acceptedKeys(in: source)
        // Guard against the scan silently finding nothing (a renamed helper, a moved folder).
        #expect(keys.isSuperset(of: ["name", "limits", "thresholds", "percentiles", "keys", "count", "split",
                                     "rate_on", "stall_duration", "retry", "pool"]))
        let doc = try String(contentsOf: Self.docPath, encoding: .utf8)
        let missing = ScenarioKeyScan.undocumented(keys, in: doc)
        #expect(missing.isEmpty, "accepted by the scenario reader but not written as `key` in docs/scenarios.md: \(missing)")
    }

    /// The test above fails when a key is added to a reader without docs: a synthetic reader
    /// with one new literal key and one new named list is scanned against the real document.
    @Test func aNewKeyWithoutDocsIsReported() throws {
        let synthetic = """
            static let extraKeys = ["name", "zz_new_listed_key"]
            func read() {
                m.checkKeys(["limits", "zz_new_literal_key"])
                m.checkKeys(Self.extraKeys + ["seed"])
            }
            """
        let keys = ScenarioKeyScan.acceptedKeys(in: synthetic)
        #expect(keys == ["name", "limits", "seed", "zz_new_literal_key", "zz_new_listed_key"])
        let doc = try String(contentsOf: Self.docPath, encoding: .utf8)
        #expect(ScenarioKeyScan.undocumented(keys, in: doc) == ["zz_new_listed_key", "zz_new_literal_key"])
        // And once documented, it is no longer reported.
        #expect(ScenarioKeyScan.undocumented(keys, in: doc + "\n`zz_new_literal_key`") == ["zz_new_listed_key"])
    }
}

/// Reads accepted keys out of Swift source text.
enum ScenarioKeyScan {
    /// Every string literal in the arguments of `checkKeys(...)` calls, and in the definitions
    /// of the `let` constants those arguments name.
    static func acceptedKeys(in source: String) -> Set<String> {
        var keys = Set<String>()
        for argument in callArguments(of: "checkKeys(", in: source) {
            keys.formUnion(stringLiterals(in: argument))
            for name in identifiers(in: argument) {
                if let definition = definition(of: name, in: source) { keys.formUnion(stringLiterals(in: definition)) }
            }
        }
        return keys
    }

    /// The keys that never appear as `` `key` `` in `doc`, sorted.
    static func undocumented(_ keys: Set<String>, in doc: String) -> [String] {
        keys.filter { !doc.contains("`\($0)`") }.sorted()
    }

    /// The text between `call` and its matching closing parenthesis, for each occurrence.
    static func callArguments(of call: String, in source: String) -> [String] {
        var out: [String] = []
        var rest = source[...]
        while let r = rest.range(of: call) {
            let body = balanced(rest[r.upperBound...], open: "(", close: ")")
            out.append(String(body))
            rest = rest[r.upperBound...]
        }
        return out
    }

    /// The prefix of `text` up to the bracket closing an already open one.
    static func balanced(_ text: Substring, open: Character, close: Character) -> Substring {
        var depth = 1
        var inString = false
        for i in text.indices {
            let c = text[i]
            if c == "\"" { inString.toggle() }
            if inString { continue }
            if c == open { depth += 1 }
            if c == close {
                depth -= 1
                if depth == 0 { return text[..<i] }
            }
        }
        return text
    }

    static func stringLiterals(in text: String) -> [String] {
        text.split(separator: "\"", omittingEmptySubsequences: false).enumerated()
            .filter { $0.offset % 2 == 1 }.map { String($0.element) }
    }

    /// Names like `topKeys` in `Self.topKeys`, `Diagnostics.limitKeys`, `clampKeys`: the
    /// identifiers outside string literals (other words are harmless: they have no definition).
    static func identifiers(in text: String) -> [String] {
        let outside = text.split(separator: "\"", omittingEmptySubsequences: false).enumerated()
            .filter { $0.offset % 2 == 0 }.map(\.element).joined(separator: " ")
        return outside.split { !($0.isLetter || $0.isNumber || $0 == "_") }.map(String.init)
            .filter { $0.first?.isLetter == true }
    }

    /// The initialiser of `let NAME = [...]` (or `let NAME: T = [...]`), bracket-matched.
    static func definition(of name: String, in source: String) -> String? {
        var rest = source[...]
        while let r = rest.range(of: "let \(name)") {
            let after = rest[r.upperBound...]
            rest = after
            guard let first = after.first, first == " " || first == ":" else { continue }
            guard let eq = after.range(of: "= [") else { continue }
            // The `=` must belong to this declaration, on its first line.
            if after[..<eq.lowerBound].contains("\n") { continue }
            return String(balanced(after[eq.upperBound...], open: "[", close: "]"))
        }
        return nil
    }
}
