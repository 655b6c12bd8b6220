import Foundation
import LimitlabCore
import LimitlabReport
import LimitlabScenario
import LimitlabSim

/// Shared by the commands that simulate: load, apply overrides, check the target.
enum ScenarioInput {
    static func load(_ path: String, seed: UInt64?, strategies: String?) throws -> Scenario {
        var scenario: Scenario
        do {
            scenario = try ScenarioLoader.load(path: path)
        } catch {
            throw CLIFailure.badInput("\(path) is not a valid scenario:\n\(error)")
        }
        if let seed { scenario.seed = seed }
        if let strategies {
            let wanted = strategies.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
            let known = scenario.strategies.map(\.label)
            for w in wanted where !known.contains(w) {
                throw CLIFailure.badInput("--strategies: \"\(w)\" is not in \(path); its strategies are: \(known.joined(separator: ", "))")
            }
            scenario.strategies = scenario.strategies.filter { wanted.contains($0.label) }
        }
        return scenario
    }

    static func simulate(_ scenario: Scenario, path: String) throws -> SimulationResult {
        do { return try Simulator.run(scenario) } catch {
            throw CLIFailure.badInput("\(path): \(error)")
        }
    }

    static func defaultDirectory(for name: String, suffix: String = "") -> String {
        let f = DateFormatter()
        f.locale = Locale(identifier: "en_US_POSIX")
        f.timeZone = TimeZone(identifier: "UTC")
        f.dateFormat = "yyyyMMdd-HHmmss"
        return "reports/\(ReportWriter.fileSafe(name))\(suffix)-\(f.string(from: Date()))"
    }

    static func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            try FileManager.default.createDirectory(atPath: (path as NSString).deletingLastPathComponent,
                                                    withIntermediateDirectories: true)
            try encoder.encode(value).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw CLIFailure.internalError("cannot write \(path): \(error.localizedDescription)")
        }
    }

    static func jsonString<T: Encodable>(_ value: T) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        return String(decoding: try encoder.encode(value), as: UTF8.self)
    }
}
