import Foundation
import LimitlabCore
import LimitlabScenario
import Testing

@Suite("Shipped scenarios and documentation")
struct ShippedScenarioTests {
    static let scenariosDir = repoRoot.appendingPathComponent("scenarios")

    static var shipped: [String] {
        let names = (try? FileManager.default.contentsOfDirectory(atPath: scenariosDir.path)) ?? []
        return names.filter { $0.hasSuffix(".yaml") }.sorted()
    }

    @Test func theExpectedScenariosAreShipped() {
        #expect(Set(Self.shipped).isSuperset(of: ["quickstart.yaml", "tier1-burst.yaml", "cache-heavy.yaml", "trace-replay.yaml"]))
    }

    @Test(arguments: shipped)
    func shippedScenarioLoads(_ name: String) throws {
        let path = Self.scenariosDir.appendingPathComponent(name).path
        do {
            let s = try ScenarioLoader.load(path: path)
            #expect(s.name + ".yaml" == name, "a scenario's name matches its file name")
        } catch {
            Issue.record("\(name) does not load:\n\(error)")
        }
    }

    @Test func quickstart() throws {
        let s = try ScenarioLoader.load(path: Self.scenariosDir.appendingPathComponent("quickstart.yaml").path)
        #expect(s.model == "claude-sonnet-4-5")
        #expect(s.limits.tier == "tier-1")
        #expect((s.limits.config.rpm, s.limits.config.itpm, s.limits.config.otpm) == (50, 30000, 8000))
        #expect(s.length == .duration(600))
        #expect(s.arrivals == [ArrivalSpec(.poisson(rate: 0.75))])
        #expect(s.workload.maxTokens == 1024)
        #expect(s.strategies.map(\.label) == ["none", "sdk-default"])
        #expect(s.slo?.latency == 30)
        // The point of the scenario: demand is above the output limit and near the input limit.
        let perMinute = 45.0
        let outputDemand = perMinute * s.workload.outputTokens.distribution.mean
        let inputDemand = perMinute * s.workload.inputTokens.distribution.mean
        #expect(outputDemand > s.limits.config.otpm)
        #expect(inputDemand > 0.9 * s.limits.config.itpm)
    }

    @Test func tier1Burst() throws {
        let s = try ScenarioLoader.load(path: Self.scenariosDir.appendingPathComponent("tier1-burst.yaml").path)
        #expect(s.limits.tier == "tier-1")
        #expect(s.arrivals.contains { $0.process == .burst(at: 120, count: 60, over: 5) })
        #expect(s.strategies == [
            StrategySpec(name: "none"), StrategySpec(name: "sdk-default"),
            StrategySpec(name: "sdk-default", label: "sdk-ts", params: ["variant": .string("typescript")]),
        ])
    }

    @Test func cacheHeavy() throws {
        let s = try ScenarioLoader.load(path: Self.scenariosDir.appendingPathComponent("cache-heavy.yaml").path)
        #expect(s.limits.modelClass == "haiku-3.5")
        #expect(s.limits.tier == "tier-2")
        #expect(s.limits.config.cacheReadsCount)
        #expect(s.workload.cache?.share == 0.9)
    }

    @Test func traceReplay() throws {
        let s = try ScenarioLoader.load(path: Self.scenariosDir.appendingPathComponent("trace-replay.yaml").path)
        #expect(s.limits == LimitsSpec(config: LimitConfig(rpm: 30, itpm: 20000, otpm: 4000), tier: nil,
                                       modelClass: "sonnet-4.x", source: "explicit"))
        guard case .trace(let path, let rows) = s.arrivals.first?.process else {
            Issue.record("not a trace")
            return
        }
        #expect(path.hasSuffix("scenarios/traces/sample.csv"))
        #expect(s.length == .requests(rows.count))
        #expect(rows.count == 200)
        #expect(rows.last!.at < 300)
        #expect(rows.contains { ($0.cacheReadTokens ?? 0) > 0 })
        // The burst: some 10-second window holds far more rows than the ~5 an average one does.
        let busiest = rows.indices.map { i in rows[i...].prefix { $0.at < rows[i].at + 10 }.count }.max() ?? 0
        #expect(busiest >= 40)
    }

    /// Every ```yaml block in docs/scenarios.md is a complete scenario that loads.
    @Test func documentationExamplesLoad() throws {
        let docPath = repoRoot.appendingPathComponent("docs/scenarios.md").path
        let text = try String(contentsOfFile: docPath, encoding: .utf8)
        var blocks: [(line: Int, body: String)] = []
        var current: [String]?
        var start = 0
        for (i, line) in text.components(separatedBy: "\n").enumerated() {
            if current == nil, line.trimmingCharacters(in: .whitespaces) == "```yaml" {
                current = []
                start = i + 2
            } else if current != nil, line.trimmingCharacters(in: .whitespaces) == "```" {
                blocks.append((start, current!.joined(separator: "\n")))
                current = nil
            } else if current != nil {
                current!.append(line)
            }
        }
        #expect(blocks.count >= 10)
        for block in blocks {
            do {
                _ = try ScenarioLoader.parse(yaml: block.body, file: "docs/scenarios.md@\(block.line)",
                                             baseDirectory: Self.scenariosDir.path)
            } catch {
                Issue.record("the example at docs/scenarios.md:\(block.line) does not load:\n\(error)")
            }
        }
    }
}
