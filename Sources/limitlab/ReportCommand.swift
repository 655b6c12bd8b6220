import ArgumentParser
import Foundation
import LimitlabCore
import LimitlabMock
import LimitlabReport

struct ReportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "report",
        abstract: "Turn a server recording (serve --record DIR) into report.html, report.json and summary.md.",
        discussion: """
            The report is the run's report from the server's side: one run labelled "client" (your own \
            client), its requests chained from the recorded attempts (docs/recording.md). With --scenario, \
            its name, limits, SLO and thresholds apply; `limitlab check REPORT.json` then gates it like a \
            live run (noise-aware against a baseline). Exit codes: 0, 3 a check failed (--check), 2 bad input.
            """)

    @Argument(help: "The recording directory (or its recording.jsonl).")
    var recording: String

    @Option(help: "Scenario whose name, limits, SLO and thresholds the report uses (default: built from the recording).")
    var scenario: String?

    @Option(help: "Report directory (default: the recording directory).")
    var out: String?

    @Flag(help: "Print nothing but errors.")
    var quiet = false

    @Flag(help: "After writing, check the scenario's thresholds (and --baseline); exit 3 on failure.")
    var check = false

    @OptionGroup var gate: GateOptions

    func run() throws {
        if !check && (gate.baseline != nil || gate.junit != nil || gate.markdown != nil || gate.maxRegression != nil) {
            throw CLIFailure.badInput("--baseline, --max-regression, --junit and --markdown need --check")
        }
        let given = try scenario.map { try ScenarioInput.load($0, seed: nil, strategies: nil) }
        let directory = out ?? (isDirectory(recording) ? recording : parentDirectory(of: recording))
        let report = try RecordingReports.write(recording: recording, scenario: given, scenarioFile: scenario,
                                                to: directory)
        if !quiet {
            writeStdout(RecordingReports.describe(report, directory: directory))
        }
        if check {
            if !quiet { writeStdout("\n") }
            try gate.evaluate(report, quiet: quiet)
        }
    }

    private func isDirectory(_ path: String) -> Bool {
        var d: ObjCBool = false
        return FileManager.default.fileExists(atPath: path, isDirectory: &d) && d.boolValue
    }
}

/// Recording → report files, shared by `report` and `test`.
enum RecordingReports {
    /// Reads the recording, builds the report and writes report.json, report.html, summary.md
    /// and events-client.csv into `directory`.
    static func write(recording: String, scenario: Scenario?, scenarioFile: String?, to directory: String) throws -> Report {
        let contents: RecordingFormat.Contents
        do { contents = try RecordingFormat.read(recording) } catch { throw CLIFailure.badInput(error.description) }
        let name = scenario?.name ?? ReportWriter.fileSafe((directoryOf(contents.path) as NSString).lastPathComponent)
        let recorded = RecordingConversion.run(contents, scenario: scenario, name: name.isEmpty ? "recording" : name)
        var sc = recorded.scenario
        // One run: the user's own client.
        sc.strategies = [StrategySpec(name: RecordingConversion.clientLabel)]
        let runs = [(spec: sc.strategies[0], log: recorded.log)]
        let report = RecordingReport.build(
            scenario: sc, scenarioFile: scenarioFile, stream: recorded.stream, log: recorded.log,
            keyLabels: recorded.keyLabels, organizations: recorded.organizations,
            organizationLimits: recorded.organizationLimits, attemptOutputTokens: recorded.attemptOutputTokens,
            source: contents.path, messagesRows: recorded.messagesRows, otherRows: recorded.otherRows,
            droppedRows: contents.dropped, truncatedLastLine: contents.truncatedLastLine, originS: recorded.origin)
        do {
            try ReportWriter.write(report: report, stream: recorded.stream, runs: runs, to: directory)
        } catch {
            throw CLIFailure.internalError(error.description)
        }
        return report
    }

    static func describe(_ report: Report, directory: String) -> String {
        var text = "recording → report of \(report.scenario.name) · model \(report.scenario.model)"
        if let r = report.recording {
            text += " · \(r.messagesRows) requests seen"
            if r.truncatedLastLine { text += " (cut-off last line skipped)" }
            if r.droppedRows > 0 { text += " (\(r.droppedRows) rows dropped by the server)" }
            text += String(format: "\noverall overshoot %.2f× (requests %.2f×, input %.2f×, output %.2f×) · "
                           + "%d of %d retries after a 429 came back before their retry-after\n\n",
                           r.overshoot.ratio, r.overshoot.requests, r.overshoot.inputTokens, r.overshoot.outputTokens,
                           r.retryStorm.early, r.retryStorm.retriesAfter429)
        }
        text += SummaryTable.render(report)
        text += "\nlatency is measured from each request's first attempt at the server\n"
        text += "report: \(directory)/report.html (report.json, summary.md beside it)\n"
        return text
    }

    private static func directoryOf(_ file: String) -> String { parentDirectory(of: file) }
}
