import ArgumentParser
import Foundation
import LimitlabCore
import LimitlabStrategies

struct StrategiesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "strategies",
        abstract: "List the client strategies and roles, their parameters and defaults, and the library each mirrors.",
        discussion: """
            A scenario's strategy names a baseline, an admission limiter or a preset (name:), and may \
            compose it with a retry policy (retry:), a retry budget (budget:), a concurrency limit \
            (concurrency:), a load shedder (shed:) and a key pool (pool: round-robin | least-loaded).
            """)

    @Flag(help: "Print as JSON.")
    var json = false

    @Flag(help: "Print the reference as Markdown (the generated part of docs/strategies.md).")
    var markdown = false

    @Option(help: "Only this role: baseline, admission, preset, retry, budget, concurrency, shed, pool, route or trim.")
    var role: String?

    func run() throws {
        var entries = StrategyRegistry.descriptors
        if let role {
            guard let r = StrategyRole(rawValue: role) else {
                throw CLIFailure.badInput("--role \(role): expected one of "
                                          + StrategyRole.allCases.map(\.rawValue).joined(separator: ", "))
            }
            entries = entries.filter { $0.role == r }
        }
        if json {
            let items: [[String: Any]] = entries.map { d in
                [
                    "name": d.name, "role": d.role.rawValue, "scenario_key": d.role.scenarioKey,
                    "summary": d.summary, "mirrors": d.mirrors,
                    "parameters": d.parameters.map { p in
                        ["name": p.name, "type": p.kind.label, "default": p.defaultValue, "summary": p.summary]
                    },
                ]
            }
            let data = try JSONSerialization.data(withJSONObject: items, options: [.prettyPrinted, .sortedKeys])
            writeStdout(String(decoding: data, as: UTF8.self) + "\n")
            return
        }
        if markdown {
            writeStdout(Self.markdownReference(entries))
            return
        }
        var text = ""
        for r in StrategyRole.allCases {
            let group = entries.filter { $0.role == r }
            guard !group.isEmpty else { continue }
            text += "== \(r.rawValue) (scenario key \(r.scenarioKey):)\n\n"
            for d in group {
                text += "\(d.name)\n  \(d.summary)\n  mirrors: \(d.mirrors)\n"
                for p in d.parameters {
                    text += "  - \(p.name) (\(p.kind.label), default \(p.defaultValue)): \(p.summary)\n"
                }
                text += "\n"
            }
        }
        writeStdout(text)
    }

    static func markdownReference(_ entries: [StrategyDescriptor]) -> String {
        var md = ""
        for r in StrategyRole.allCases {
            let group = entries.filter { $0.role == r }
            guard !group.isEmpty else { continue }
            md += "### Role `\(r.rawValue)` (scenario key `\(r.scenarioKey):`)\n\n"
            for d in group {
                md += "#### `\(d.name)`\n\n\(d.summary)\n\n*Mirrors:* \(d.mirrors)\n\n"
                if !d.parameters.isEmpty {
                    md += "| parameter | type | default | meaning |\n|---|---|---|---|\n"
                    for p in d.parameters {
                        let summary = p.summary.replacingOccurrences(of: "|", with: "\\|")
                        md += "| `\(p.name)` | \(p.kind.label) | `\(p.defaultValue)` | \(summary) |\n"
                    }
                    md += "\n"
                }
            }
        }
        return md
    }
}
