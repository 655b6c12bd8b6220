import ArgumentParser
import Foundation
import LimitlabCore
import LimitlabScenario

struct ValidateCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "validate",
        abstract: "Check scenario files; errors name file:line:column, the key path, what was expected and what was found.",
        discussion: "Exit 2 when a file is invalid. A valid scenario that asks for requests the API refuses (a max_tokens "
            + "above the model's maximum output, a prompt past its context window, from the catalog's models) gets a "
            + "warning naming the place and the fix, and exit 0: the simulator answers those requests as the API "
            + "does (400 invalid_request_error, not retried).")

    @Argument(help: "Scenario files (YAML).")
    var files: [String]

    func run() throws {
        var bad = 0
        for file in files {
            do {
                let (s, warnings) = try ScenarioLoader.loadWithWarnings(path: file)
                for w in warnings { writeStderr(w.warningDescription + "\n") }
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
