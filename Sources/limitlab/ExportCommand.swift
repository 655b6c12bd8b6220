import ArgumentParser
import Foundation
import LimitlabCore
import LimitlabStrategies
import LimitlabWorkload

struct ExportCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "export",
        abstract: "Write a strategy as client code: the SDK's retry settings, tenacity, aiolimiter or Bottleneck.",
        discussion: """
            STRATEGY is a strategy label of SCENARIO (its strategies: entry, with the parameters it sets) \
            or a name from `limitlab strategies` with its defaults. With a SCENARIO, limiters sized from the \
            tier take the scenario's limits and the file's main replays the scenario's arrivals, so that \
            `limitlab test SCENARIO -- python3 FILE` offers the load `limitlab run` simulated.
            Formats: anthropic-python (the official SDK's max_retries/timeout), tenacity (a retry around \
            the SDK call), aiolimiter (AsyncLimiter + asyncio.Semaphore, the strategy's retry as a loop), \
            bottleneck (Bottleneck's options object, JavaScript). What a format cannot carry is listed in \
            the file's header and on stderr. See docs/export.md.
            Exit codes: 0 written, 2 unknown strategy or format, a strategy the format cannot express, \
            a bad scenario, or an --out that exists.
            """)

    @Argument(help: "A strategy label of SCENARIO, or a strategy or preset name (see `limitlab strategies`).")
    var strategy: String

    @Argument(help: "Scenario file (YAML): its strategy entry, limits and arrivals.")
    var scenario: String?

    @Option(name: .customLong("as"), help: "Output format: \(ExportFormat.allCases.map(\.rawValue).joined(separator: ", ")).")
    var format: String

    @Option(help: "Write to this file (never replaced if it exists) instead of stdout.")
    var out: String?

    @Flag(help: "Do not list on stderr what cannot be carried over (the file's header still does).")
    var quiet = false

    func run() throws {
        guard let as_ = ExportFormat(rawValue: format) else {
            throw CLIFailure.badInput("--as \(format): unknown format; expected one of "
                                      + ExportFormat.allCases.map(\.rawValue).joined(separator: ", "))
        }
        if let out {
            if FileManager.default.fileExists(atPath: out) {
                throw CLIFailure.badInput("--out \(out) already exists; limitlab export never replaces a file: "
                                          + "give a new path or remove it")
            }
            try OutputPath.checkFile(out)
        }
        let (spec, limits, schedule) = try resolve()
        let file = try Self.export(spec, limits: limits, format: as_, schedule: schedule)
        if let out {
            do {
                try Data(file.text.utf8).write(to: URL(fileURLWithPath: out), options: .withoutOverwriting)
            } catch {
                throw CLIFailure.badInput("--out \(out): cannot write it (\(error.localizedDescription)); "
                                          + "limitlab export never replaces a file")
            }
        } else {
            writeStdout(file.text)
        }
        guard !quiet else { return }
        var note = "limitlab export: \(spec.label) as \(as_.rawValue) for \(as_.library)"
        note += out.map { ", written to \($0)" } ?? ""
        note += "\n"
        if file.gaps.isEmpty {
            note += "limitlab export: every parameter is carried over\n"
        } else {
            note += "limitlab export: not carried over:\n" + file.gaps.map { "  - \($0)\n" }.joined()
        }
        writeStderr(note)
    }

    /// The file, or the reason the strategy cannot be exported as bad input (exit 2).
    private static func export(_ spec: StrategySpec, limits: LimitConfig?, format: ExportFormat,
                               schedule: ExportSchedule?) throws -> ExportedFile {
        let result = Result { () throws(ExportError) -> ExportedFile in
            try ExportRenderer.render(try StrategyExport.plan(spec, limits: limits), as: format, schedule: schedule)
        }
        switch result {
        case .success(let file): return file
        case .failure(let error): throw CLIFailure.badInput(error.message)
        }
    }

    /// The strategy spec, the limits it is sized against and the arrivals to replay.
    private func resolve() throws -> (StrategySpec, LimitConfig?, ExportSchedule?) {
        guard let scenario else {
            guard StrategyRegistry.descriptor(named: strategy) != nil else {
                throw CLIFailure.badInput("unknown strategy \"\(strategy)\"; known: "
                                          + StrategyRegistry.names.joined(separator: ", ")
                                          + " (or give a SCENARIO to export one of its strategy labels)")
            }
            return (StrategySpec(name: strategy), nil, nil)
        }
        let sc = try ScenarioInput.load(scenario, seed: nil, strategies: nil)
        let spec: StrategySpec
        if let labelled = sc.strategies.first(where: { $0.label == strategy }) {
            spec = labelled
        } else if StrategyRegistry.descriptor(named: strategy) != nil {
            spec = StrategySpec(name: strategy)
        } else {
            throw CLIFailure.badInput("\"\(strategy)\" is neither a strategy of \(scenario) ("
                                      + sc.strategies.map(\.label).joined(separator: ", ")
                                      + ") nor a known strategy name (see `limitlab strategies`)")
        }
        let stream = ArrivalGenerator.generate(sc)
        guard stream.count <= ExportSchedule.maxArrivals else {
            throw CLIFailure.badInput("\(scenario) has \(stream.count) arrivals; an exported client replays at most "
                                      + "\(ExportSchedule.maxArrivals): shorten the scenario (requests: or duration:)")
        }
        let arrivals = (0..<stream.count).map {
            ExportSchedule.Arrival(at: stream.intendedAt[$0], inputTokens: Int(stream.inputTokens[$0]),
                                   maxTokens: Int(stream.maxTokens[$0]))
        }
        return (spec, sc.limits.config, ExportSchedule(scenario: sc.name, seed: sc.seed, model: sc.model, arrivals: arrivals,
                                                          stream: sc.workload.stream))
    }
}
