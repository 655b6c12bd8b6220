import Foundation
import LimitlabCore
import LimitlabScenario
import Testing

/// The repository root, found from this file's path (Tests/LimitlabScenarioTests/Support.swift).
let repoRoot: URL = URL(fileURLWithPath: #filePath)
    .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// The copied Fixtures folder.
let fixtures: String = Bundle.module.url(forResource: "Fixtures", withExtension: nil)!.path

/// A valid scenario to start from; tests replace parts of it.
let minimalYAML = """
    name: minimal
    model: claude-sonnet-4-5
    duration: 10m
    limits:
      tier: tier-1
    arrivals:
      - process: poisson
        rate: 40/min
    workload:
      input_tokens: 400
      output_tokens: 150
      max_tokens: 1024
    """

/// Parses text that must be valid.
func scenario(_ yaml: String, base: String = fixtures, sourceLocation: SourceLocation = #_sourceLocation) throws -> Scenario {
    do {
        return try ScenarioLoader.parse(yaml: yaml, file: "fixtures/test.yaml", baseDirectory: base)
    } catch {
        Issue.record("unexpected scenario issues:\n\(error)", sourceLocation: sourceLocation)
        throw error
    }
}

/// Parses text that must be invalid; returns its issues.
func issues(_ yaml: String, file: String = "scenarios/x.yaml", base: String = fixtures,
            sourceLocation: SourceLocation = #_sourceLocation) -> [ScenarioIssue] {
    do {
        let s = try ScenarioLoader.parse(yaml: yaml, file: file, baseDirectory: base)
        Issue.record("expected issues, but the scenario loaded: \(s.name)", sourceLocation: sourceLocation)
        return []
    } catch {
        return error.issues
    }
}

/// The issues' descriptions, one per issue.
func messages(_ yaml: String, file: String = "scenarios/x.yaml", base: String = fixtures) -> [String] {
    issues(yaml, file: file, base: base).map(\.description)
}

/// `minimalYAML` with one line replaced (matched by its text, indentation included).
func replacing(_ line: String, with replacement: String, in yaml: String = minimalYAML) -> String {
    precondition(yaml.contains(line), "no line \(line)")
    return yaml.replacingOccurrences(of: line, with: replacement)
}
