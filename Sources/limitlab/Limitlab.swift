import ArgumentParser
import Foundation
import LimitlabCore

/// Exit codes, documented in the README.
enum ExitCodes {
    static let ok: Int32 = 0
    static let internalError: Int32 = 1
    static let badInput: Int32 = 2
    static let checkFailed: Int32 = 3
    /// `merge` was given runs that do not belong together.
    static let mismatch: Int32 = 4
    /// A live run that did not complete as asked: interrupted (SIGINT/SIGTERM), stopped by a guard
    /// (`--max-cost-usd`, `--max-requests`) or by a failure, or one that sent nothing. Its report
    /// is still written, marked `partial`.
    static let partial: Int32 = 5
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
        // Lines stay under 80 columns so that the help never rewraps them mid-entry.
        discussion: """
            Exit codes:
              0  success: the run completed as asked, every check passed
              1  internal error
              2  bad input: scenario file, flags, an --out that cannot be written or
                 already holds files (found before anything runs)
              3  a threshold or regression check failed (check, run --check,
                 report --check, test); takes precedence over 5
              4  merge was given runs that do not belong together
              5  a partial live run (interrupted by SIGINT/SIGTERM, stopped by
                 --max-cost-usd or --max-requests, or nothing was sent; its report
                 is still written, marked partial), a simulation interrupted
                 by SIGINT/SIGTERM (the strategies that finished are reported,
                 the others named), or the command run by
                 `limitlab test` failed, timed out or was interrupted
            """,
        version: "0.1.0",
        subcommands: [RunCommand.self, CompareCommand.self, SizeCommand.self, SweepCommand.self, CheckCommand.self,
                      BaselineCommand.self, ServeCommand.self, ValidateCommand.self, TiersCommand.self,
                      StrategiesCommand.self, MergeCommand.self, ReportCommand.self, TestCommand.self, ExportCommand.self])
}

@main
enum Main {
    static func main() {
        // The commands that stop cleanly on SIGINT/SIGTERM hold the signals from the first moment,
        // so that one arriving while they load or start is not lost (StopSignals.swift).
        if let command = CommandLine.arguments.dropFirst().first, ["run", "serve", "test", "compare"].contains(command) {
            StopSignals.hold()
        }
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
