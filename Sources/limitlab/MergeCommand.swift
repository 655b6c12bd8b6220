import ArgumentParser
import Foundation
import LimitlabCore
import LimitlabReport
import LimitlabScenario

struct MergeCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "merge",
        abstract: "Merge the event files of runs of one scenario (several machines or worker processes) into one report.",
        discussion: """
            Each DIR is what `limitlab run --out DIR` wrote (report.json and events-<strategy>.csv). The runs \
            must be of the same scenario name, model, limits and strategies; their clocks are aligned by each \
            run's time_origin_epoch_s. Exit codes: 0 merged; 2 unreadable input, the same run given twice, or \
            --out naming one of the runs; 4 runs that do not belong together (another scenario, model, limits \
            or strategy list), or a --scenario file of another scenario.
            Shard folders (written by compare, run, sweep or size with --shard i/n) merge into exactly the files \
            the unsharded command writes (docs/sharding.md): every shard once, none missing (exit 2 names \
            the missing ones), all of one command line over one scenario file and limitlab version (exit 4).
            """)

    /// Exit code for runs that do not belong together.
    static let mismatchExitCode: Int32 = ExitCodes.mismatch

    @Argument(help: "Run directories, or shard folders, to merge.")
    var directories: [String]

    @Option(help: "Directory of the merged report (report.json, summary.md, report.html, events-*.csv).")
    var out: String

    @Option(help: "The scenario file, for what reports do not echo (the prompt-cache TTL used for cost).")
    var scenario: String?

    @Flag(help: "Print nothing but errors.")
    var quiet = false

    func run() throws {
        // Writing the merge over one of its inputs would destroy that run.
        let outPath = RunMerge.canonicalPath(out)
        if let clash = directories.first(where: { RunMerge.canonicalPath($0) == outPath }) {
            throw CLIFailure.badInput("--out \(out) is the run directory \(clash), which the merge reads: writing there would "
                                      + "overwrite that run; choose a new directory for the merged report")
        }
        try OutputPath.checkNewDirectory(out)
        if directories.contains(where: ShardMerge.isShard) {
            return try Sharding.merge(directories, out: out, scenario: scenario, quiet: quiet)
        }
        var sc: Scenario?
        if let scenario { sc = try ScenarioInput.load(scenario, seed: nil, strategies: nil) }
        let merged: MergedRun
        do {
            merged = try RunMerge.merge(directories: directories, scenario: sc)
        } catch {
            switch error.kind {
            case .mismatch: throw CLIFailure(code: Self.mismatchExitCode, message: error.message)
            case .unreadable, .invalid: throw CLIFailure.badInput(error.message)
            }
        }
        do {
            try ReportWriter.write(report: merged.report, stream: merged.stream, runs: merged.runs, to: out)
        } catch {
            throw CLIFailure.internalError(error.description)
        }
        if !quiet {
            writeStdout("merged \(directories.count) runs: \(merged.report.arrivals.offered) requests\n\n")
            writeStdout(SummaryTable.render(merged.report))
            writeStdout("\nreport: \(out)/report.html (report.json, summary.md, events-*.csv beside it)\n")
        }
    }
}
