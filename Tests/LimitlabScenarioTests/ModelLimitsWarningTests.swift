import Foundation
import LimitlabCore
import LimitlabScenario
import Testing

/// `validate` warns (and still loads the scenario) when its requests ask for more than the
/// catalog model allows: a `max_tokens` above its maximum output, a prompt past its context
/// window, or the two together past the window.
@Suite struct ModelLimitsWarningTests {
    func warnings(_ yaml: String, base: String = fixtures) throws -> [ScenarioIssue] {
        try ScenarioLoader.parseWithWarnings(yaml: yaml, file: "w.yaml", baseDirectory: base).warnings
    }

    /// claude-haiku-4-5: 64,000 output tokens, a 200,000-token context window (catalog.json).
    let haiku = "model: claude-haiku-4-5"

    @Test func maxTokensAboveTheModelsMaximumOutput() throws {
        let yaml = replacing("model: claude-sonnet-4-5", with: haiku, in: replacing("  max_tokens: 1024", with: "  max_tokens: 100000"))
        let found = try warnings(yaml)
        #expect(found.count == 1, "\(found)")
        let w = try #require(found.first)
        #expect(w.path == "workload.max_tokens" && w.line == 12 && w.column == 15, "\(w)")
        #expect(w.message.contains("max_tokens 100000 is above the maximum output of claude-haiku-4-5-20251001 (64000 tokens)"))
        #expect(w.message.contains("400 invalid_request_error") && w.message.contains("set max_tokens to at most 64000"))
        #expect(w.warningDescription.hasPrefix("w.yaml:12:15: workload.max_tokens: warning: "))
    }

    @Test func aPromptPastTheContextWindow() throws {
        let input = replacing("  input_tokens: 400", with: "  input_tokens: {dist: uniform, min: 1000, max: 250000}")
        let found = try warnings(replacing("model: claude-sonnet-4-5", with: haiku, in: input))
        #expect(found.map(\.path) == ["workload.input_tokens"], "\(found)")
        #expect(found.first?.message.contains("input_tokens can reach 250000, past the context window") == true)
        #expect(found.first?.message.contains("at most 200000") == true)
        // A lognormal without a max: clamp has no largest value: no warning.
        let open = replacing("  input_tokens: 400", with: "  input_tokens: {dist: lognormal, median: 1000, sigma: 1}")
        #expect(try warnings(replacing("model: claude-sonnet-4-5", with: haiku, in: open)).isEmpty)
    }

    @Test func promptPlusMaxTokensPastTheWindow() throws {
        var yaml = replacing("  input_tokens: 400", with: "  input_tokens: 150000")
        yaml = replacing("  max_tokens: 1024", with: "  max_tokens: 60000", in: yaml)
        let found = try warnings(replacing("model: claude-sonnet-4-5", with: haiku, in: yaml))
        #expect(found.map(\.path) == ["workload.max_tokens"], "\(found)")
        #expect(found.first?.message.contains("input_tokens (up to 150000) + max_tokens (60000) exceed") == true)
        #expect(found.first?.message.contains("lower max_tokens to at most 50000") == true)
    }

    @Test func withinTheModelsLimitsThereIsNoWarning() throws {
        #expect(try warnings(minimalYAML).isEmpty)
        // The largest the model takes is fine.
        let edge = replacing("  max_tokens: 1024", with: "  max_tokens: 64000")
        #expect(try warnings(replacing("model: claude-sonnet-4-5", with: haiku, in: edge)).isEmpty)
        // A model outside the catalog (served with explicit limits) is not checked.
        var extra = replacing("model: claude-sonnet-4-5", with: "model: my-finetune")
        extra = replacing("  tier: tier-1", with: "  rpm: 50\n  itpm: 30000\n  otpm: 8000", in: extra)
        extra = replacing("  max_tokens: 1024", with: "  max_tokens: 900000", in: extra)
        #expect(try warnings(extra).isEmpty)
    }

    @Test func traceRowsAreCheckedAtTheirFileKey() throws {
        let dir = FileManager.default.temporaryDirectory.appendingPathComponent("model-limits-\(getpid())")
        try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: dir) }
        try Data("at_s,input_tokens,output_tokens,max_tokens\n0,100,10,100000\n1,250000,10,100\n2,100,10,100\n"
            .utf8).write(to: dir.appendingPathComponent("t.csv"))
        let yaml = """
            name: t
            model: claude-haiku-4-5
            limits: {tier: tier-1}
            arrivals:
              - process: trace
                file: t.csv
            workload: {input_tokens: 1, output_tokens: 1, max_tokens: 900000}
            """
        let found = try warnings(yaml, base: dir.path)
        // The workload's max_tokens is not used by a trace: only the rows are checked.
        #expect(found.map(\.path) == ["arrivals[0].file", "arrivals[0].file"], "\(found)")
        #expect(found.allSatisfy { $0.line == 6 }, "\(found)")
        #expect(found[0].message.hasPrefix("1 of 3 rows have max_tokens above the maximum output"))
        #expect(found[1].message.hasPrefix("1 of 3 rows have input_tokens past the context window"))
    }
}
