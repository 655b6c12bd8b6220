import Foundation
import LimitlabScenario
import Testing

/// A short YAML file whose aliases expand to a huge tree is refused before it is composed
/// (a 1 MB file referencing a 1 MB anchor 20,000 times ran `validate` for minutes).
@Suite("YAML alias budget")
struct AliasBudgetTests {
    /// Anchors of ten aliases each, nested: the last expands to 10^depth arrival sources.
    static func laughs(depth: Int) -> String {
        var lines = ["shared:", "  s0: &s0 {process: poisson, rate: 1/s}"]
        for d in 1...depth {
            let refs = Array(repeating: "*s\(d - 1)", count: 10).joined(separator: ", ")
            lines.append("  s\(d): &s\(d) [\(refs)]")
        }
        return replacing("arrivals:\n  - process: poisson\n    rate: 40/min",
                         with: "arrivals: *s\(depth)") + "\n" + lines.joined(separator: "\n")
    }

    @Test func aliasAmplificationIsRefusedQuickly() {
        let start = ContinuousClock.now
        let found = issues(Self.laughs(depth: 7))
        #expect(ContinuousClock.now - start < .seconds(5))
        #expect(found.count == 1)
        #expect(found.first?.file == "scenarios/x.yaml")
        #expect(found.first?.message.hasPrefix("the alias *s4 takes the document past 100000 values repeated through aliases") == true,
                "\(found)")
        // Past the bound the count saturates, so the check itself is linear in the text.
        #expect(found.first?.line == 17)
    }

    @Test func aFewAliasesStillRead() throws {
        let yaml = replacing("  input_tokens: 400\n  output_tokens: 150",
                             with: "  input_tokens: &n 400\n  output_tokens: *n")
        let s = try scenario(yaml)
        #expect(s.workload.outputTokens == s.workload.inputTokens)
    }
}
