import ArgumentParser
import Foundation
import LimitlabCore
import LimitlabScenario

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check scenario files; errors name file:line:column, the key path, what was expected and what was found.")

    @Argument(help: "Scenario files (YAML).")
    var files: [String]

    func run() throws {
        var bad = 0
        for file in files {
            do {
                let s = try ScenarioLoader.load(path: file)
                let length: String
                switch s.length {
                case .duration(let d): length = Units.formatDuration(d)
                case .requests(let n): length = "\(n) requests"
                }
                writeStdout("\(file): ok — \(s.name), \(length), \(s.arrivals.count) arrival source(s), strategies: "
                            + s.strategies.map(\.label).joined(separator: ", ") + "\n")
            } catch {
                bad += 1
                FileHandle.standardError.write(Data((error.description + "\n").utf8))
            }
        }
        if bad > 0 {
            throw CLIFailure.badInput("\(bad) of \(files.count) scenario file(s) invalid")
        }
    }
}
