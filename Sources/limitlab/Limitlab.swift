import ArgumentParser
import Foundation
import LimitlabCore

/// Exit codes, documented in the README.
enum ExitCodes {
    static let ok: Int32 = 0
    static let internalError: Int32 = 1
    static let badInput: Int32 = 2
    static let checkFailed: Int32 = 3
}

/// A failure with its exit code and a message for the user (never a stack trace).
struct CLIFailure: Error, CustomStringConvertible {
    var code: Int32
    var message: String
    var description: String { message }

    static func badInput(_ message: String) -> CLIFailure { CLIFailure(code: ExitCodes.badInput, message: message) }
    static func internalError(_ message: String) -> CLIFailure { CLIFailure(code: ExitCodes.internalError, message: message) }
}

struct Limitlab: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "limitlab",
        abstract: "Load testing and limit simulation for rate-limited LLM APIs (Anthropic's Messages API first).",
        discussion: """
            Exit codes: 0 success, 3 a check failed (check, run --check), 2 bad input (scenario file or
            flags), 1 internal error.
            """,
        version: "0.1.0",
        subcommands: [RunCommand.self, CompareCommand.self, SizeCommand.self, SweepCommand.self, CheckCommand.self,
                      BaselineCommand.self, ServeCommand.self, ValidateCommand.self, TiersCommand.self,
                      StrategiesCommand.self, MergeCommand.self, ReportCommand.self, TestCommand.self])
}

@main
enum Main {
    static func main() {
        do {
            var command = try Limitlab.parseAsRoot()
            try command.run()
        } catch let failure as CLIFailure {
            FileHandle.standardError.write(Data(("limitlab: " + failure.message + "\n").utf8))
            exit(failure.code)
        } catch {
            let code = Limitlab.exitCode(for: error)
            let message = Limitlab.fullMessage(for: error)
            if code == .success {
                print(message)
                exit(0)
            }
            if !message.isEmpty { FileHandle.standardError.write(Data((message + "\n").utf8)) }
            // Everything the argument parser rejects is a usage error: bad input.
            exit(ExitCodes.badInput)
        }
    }
}

func writeStdout(_ s: String) {
    FileHandle.standardOutput.write(Data(s.utf8))
}
