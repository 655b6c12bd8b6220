import LimitlabCore
import LimitlabScenario
import Testing

@Suite("Scenario workers: block")
struct WorkersScenarioTests {
    @Test func mappingAndShorthandLoad() throws {
        let full = try scenario(minimalYAML + "\nworkers:\n  count: 4\n  split: random")
        #expect(full.workers == WorkersSpec(count: 4, split: .random))
        let short = try scenario(minimalYAML + "\nworkers: 3")
        #expect(short.workers == WorkersSpec(count: 3, split: .roundRobin))
        #expect(try scenario(minimalYAML).workers == nil)
    }

    @Test func badCountIsLocated() {
        #expect(messages(minimalYAML + "\nworkers:\n  count: 0") == [
            "scenarios/x.yaml:14:10: workers.count: expected an integer in 1...1024, found \"0\"",
        ])
        let tooMany = messages(minimalYAML + "\nworkers: 5000")
        #expect(tooMany.count == 1 && tooMany[0].hasPrefix("scenarios/x.yaml:13:10: workers: expected an integer"))
    }

    @Test func unknownSplitAndKeysAreLocated() {
        let found = messages(minimalYAML + "\nworkers:\n  count: 2\n  split: fair\n  spilt: random")
        #expect(found.count == 2)
        #expect(found[0].hasPrefix("scenarios/x.yaml:15:10: workers.split: unknown worker split \"fair\""))
        #expect(found[1].hasPrefix("scenarios/x.yaml:16:3: workers.spilt: unknown key \"spilt\"; expected one of: count, split"))
        #expect(found[1].contains("did you mean \"split\""))
    }

    @Test func missingCount() {
        #expect(messages(minimalYAML + "\nworkers:\n  split: random") == [
            "scenarios/x.yaml:14:3: workers: missing required key \"count\"",
        ])
    }

    @Test func sharedLimiterParametersAreChecked() throws {
        let ok = try scenario(minimalYAML + """

            strategies:
              - name: shared-token-bucket
                params: {key: "org:acme", fallback: fail-closed, store_retry: 2s}
            """)
        #expect(ok.strategies[0].params["key"] == .string("org:acme"))
        let bad = messages(minimalYAML + """

            strategies:
              - name: shared-gcra
                params: {fallback: open, key: "a b"}
            """)
        #expect(bad.count == 2)
        #expect(bad.contains { $0.contains("strategies[0].params.fallback") && $0.contains("\"open\"") })
        #expect(bad.contains { $0.contains("strategies[0].params.key") && $0.contains("found \"a b\"") })
    }
}
