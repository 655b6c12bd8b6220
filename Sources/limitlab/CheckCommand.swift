import ArgumentParser
import Foundation
import LimitlabCore
import LimitlabReport

/// Options shared by `check` and `run --check`.
struct GateOptions: ParsableArguments {
    @Option(help: "Baseline to compare against: a baseline file or a report.json.")
    var baseline: String?

    @Option(name: .customLong("max-regression"),
            help: "Allowed worsening per metric, e.g. p99=10%,goodput=5%,rate_429=0.01 (default 0: exact for simulated runs).")
    var maxRegression: String?

    @Option(help: "Also write the results as JUnit XML (one test case per check).")
    var junit: String?

    @Option(help: "Also write the results as Markdown (for a pull-request comment).")
    var markdown: String?

    /// The checks `evaluate` would make on the flags, made before a run so that a typo in
    /// `--max-regression` or a missing baseline costs nothing (exit 2).
    func checkBeforeRun(hasThresholds: Bool) throws {
        if let baseline {
            do {
                _ = try Baseline.load(path: baseline)
                if let maxRegression { _ = try RegressionAllowance.parse(maxRegression) }
            } catch { throw CLIFailure.badInput(error.description) }
        } else if maxRegression != nil {
            throw CLIFailure.badInput("--max-regression needs --baseline")
        } else if !hasThresholds {
            throw CLIFailure.badInput("nothing to check: the scenario has no thresholds: and no --baseline was given")
        }
        if let junit { try OutputPath.checkFile(junit, flag: "--junit") }
        if let markdown { try OutputPath.checkFile(markdown, flag: "--markdown") }
    }

    /// Evaluates and prints (a table, or with `json` the `limitlab.check/1` document); throws
    /// exit 3 when a check fails.
    func evaluate(_ report: Report, quiet: Bool, json: Bool = false) throws {
        var results = Gate.thresholds(report)
        if let baseline {
            let b: Baseline
            let allowance: RegressionAllowance
            do {
                b = try Baseline.load(path: baseline)
                allowance = try maxRegression.map { (t) throws(GateError) in try RegressionAllowance.parse(t) } ?? RegressionAllowance()
            } catch { throw CLIFailure.badInput(error.description) }
            results += Gate.regressions(report, baseline: b, allowance: allowance)
        } else if maxRegression != nil {
            throw CLIFailure.badInput("--max-regression needs --baseline")
        }
        if results.isEmpty {
            throw CLIFailure.badInput("nothing to check: the scenario has no thresholds: and no --baseline was given")
        }
        let title = report.scenario.name
        do {
            if let junit { try Data(GateOutput.junit(results, suite: title).utf8).write(to: URL(fileURLWithPath: junit)) }
            if let markdown { try Data(GateOutput.markdown(results, title: title).utf8).write(to: URL(fileURLWithPath: markdown)) }
        } catch {
            throw CLIFailure.internalError("cannot write check output: \(error.localizedDescription)")
        }
        let failed = results.filter { !$0.passed }.count
        if json {
            writeStdout(try CheckJSON.render(results, scenario: title) + "\n")
        } else if !quiet || failed > 0 {
            writeStdout(GateOutput.table(results))
            writeStdout(failed == 0 ? "\nall \(results.count) checks pass\n" : "\n\(failed) of \(results.count) checks FAIL\n")
        }
        if failed > 0 { throw CLIFailure(code: ExitCodes.checkFailed, message: "\(failed) check(s) failed") }
    }
}

struct CheckCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check",
        abstract: "Gate CI on a report: the scenario's thresholds, and regressions against a baseline.",
        discussion: """
            Exit codes: 0 every check passes, 3 a threshold or regression failed, 2 bad input, \
            1 internal error. A metric that was not measured never passes. Simulated runs are \
            deterministic and compare exactly; live runs compare with 95% bootstrap intervals, \
            so that noise passes and real regressions fail.

            --json prints one JSON object (schema limitlab.check/1) instead of the table: \
            scenario, passed, checks, failed, and results, each with kind (threshold or \
            regression), strategy, metric, check, value and limit (null when not measured), \
            passed and detail. The exit code is the same; bad input is still reported on \
            standard error with exit 2.
            """)

    @Argument(help: "The report.json to check.")
    var report: String

    @OptionGroup var gate: GateOptions

    @Flag(help: "Print the verdicts as JSON (schema limitlab.check/1) instead of a table.")
    var json = false

    func run() throws {
        let r: Report
        do { r = try Report.load(path: report) } catch { throw CLIFailure.badInput(error.description) }
        try gate.evaluate(r, quiet: false, json: json)
    }
}

/// `limitlab check --json`: the verdicts as one JSON object, documented in the command's help
/// and README.
enum CheckJSON {
    static let schema = "limitlab.check/1"

    struct Document: Encodable {
        var schema = CheckJSON.schema
        var scenario: String
        var passed: Bool
        var checks: Int
        var failed: Int
        var results: [Result]
    }

    /// One verdict; `value` and `limit` are written as null when absent or not finite.
    struct Result: Encodable {
        var r: CheckResult
        enum Keys: String, CodingKey { case kind, strategy, metric, check, value, limit, passed, detail }
        func encode(to encoder: any Encoder) throws {
            var c = encoder.container(keyedBy: Keys.self)
            try c.encode(r.kind.rawValue, forKey: .kind)
            try c.encode(r.strategy, forKey: .strategy)
            try c.encode(r.metric, forKey: .metric)
            try c.encode(r.check, forKey: .check)
            try c.encode(r.value.flatMap { $0.isFinite ? $0 : nil }, forKey: .value)
            try c.encode(r.limit.flatMap { $0.isFinite ? $0 : nil }, forKey: .limit)
            try c.encode(r.passed, forKey: .passed)
            try c.encode(r.detail, forKey: .detail)
        }
    }

    static func render(_ results: [CheckResult], scenario: String) throws -> String {
        let failed = results.filter { !$0.passed }.count
        let doc = Document(scenario: scenario, passed: failed == 0, checks: results.count, failed: failed,
                           results: results.map { Result(r: $0) })
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do { return String(decoding: try encoder.encode(doc), as: UTF8.self) } catch {
            throw CLIFailure.internalError("check results do not encode as JSON: \(error)")
        }
    }
}

struct BaselineCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "baseline",
        abstract: "Manage baselines for `limitlab check`.",
        subcommands: [Update.self])

    struct Update: ParsableCommand {
        static let configuration = CommandConfiguration(
            commandName: "update",
            abstract: "Write a baseline (limitlab.baseline/1) from a report, meant to be committed.")

        @Argument(help: "The report.json to take the baseline from.")
        var report: String

        @Option(help: "Baseline file to write (default: baselines/<scenario>.json).")
        var out: String?

        func run() throws {
            let r: Report
            do { r = try Report.load(path: report) } catch { throw CLIFailure.badInput(error.description) }
            let path = out ?? "baselines/\(ReportWriter.fileSafe(r.scenario.name)).json"
            try OutputPath.checkFile(path)
            try ScenarioInput.writeJSON(Baseline(report: r), to: path)
            writeStdout("baseline for \(r.scenario.name) (\(r.runs.count) strategies) written to \(path)\n")
        }
    }
}
