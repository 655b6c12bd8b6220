import ArgumentParser
import Foundation
import LimitlabCore

struct StrategiesCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "strategies",
        abstract: "List the client strategies, their parameters and defaults, and the library each mirrors.")

    @Flag(help: "Print as JSON.")
    var json = false

    func run() throws {
        if json {
            let items: [[String: Any]] = StrategyRegistry.descriptors.map { d in
                [
                    "name": d.name, "summary": d.summary, "mirrors": d.mirrors,
                    "parameters": d.parameters.map { p in
                        ["name": p.name, "type": p.kind.label, "default": p.defaultValue, "summary": p.summary]
                    },
                ]
            }
            let data = try JSONSerialization.data(withJSONObject: items, options: [.prettyPrinted, .sortedKeys])
            writeStdout(String(decoding: data, as: UTF8.self) + "\n")
            return
        }
        var text = ""
        for d in StrategyRegistry.descriptors {
            text += "\(d.name)\n  \(d.summary)\n  mirrors: \(d.mirrors)\n"
            for p in d.parameters {
                text += "  - \(p.name) (\(p.kind.label), default \(p.defaultValue)): \(p.summary)\n"
            }
            text += "\n"
        }
        writeStdout(text)
    }
}
