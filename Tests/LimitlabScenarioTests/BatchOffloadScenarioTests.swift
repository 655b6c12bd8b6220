import LimitlabScenario
import Testing

/// batch-offload's `urgent` names another strategy: the reader refuses a bad one where the file
/// names it, instead of the factory at run time (found by the scenario fuzzer).
@Suite struct BatchOffloadScenarioTests {
    @Test(arguments: ["\"65536\"", "\"-1s\"", "batch-offload", "no-such-strategy"])
    func anUrgentThatIsNoStrategyIsRefusedWhenRead(_ urgent: String) {
        let yaml = minimalYAML + "\nstrategies:\n  - {name: batch-offload, params: {urgent: \(urgent)}}\n"
        let found = messages(yaml)
        #expect(found.contains { $0.contains("urgent:") && $0.contains("is not a strategy that can send urgent requests") },
                "\(found)")
    }

    @Test func aKnownUrgentStrategyIsRead() throws {
        let s = try scenario(minimalYAML + "\nstrategies:\n  - {name: batch-offload, params: {urgent: token-bucket}}\n")
        #expect(s.strategies.first?.params["urgent"] == .string("token-bucket"))
    }
}
