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
            let warnings: [ScenarioIssue]
            (scenario, warnings) = try ScenarioLoader.loadWithWarnings(path: path)
            // Requests the API refuses run as refused; say why once (not again in each worker
            // process, which its parent starts with this variable set).
            if ProcessInfo.processInfo.environment[WorkerFlags.redisEnvironment] == nil {
                for w in warnings { writeStderr(w.warningDescription + "\n") }
            }
        } catch {
            throw CLIFailure.badInput("\(path) is not a valid scenario:\n\(error)")
        }
        if let seed { scenario.seed = seed }
        if let strategies {
            let wanted = strategies.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
                .filter { !$0.isEmpty }
            guard !wanted.isEmpty else {
                throw CLIFailure.badInput("--strategies \"\(strategies)\": no strategy named; give labels from \(path): "
                                          + scenario.strategies.map(\.label).joined(separator: ", "))
            }
            let known = scenario.strategies.map(\.label)
            for w in wanted where !known.contains(w) {
                throw CLIFailure.badInput("--strategies: \"\(w)\" is not in \(path); its strategies are: \(known.joined(separator: ", "))")
            }
            scenario.strategies = scenario.strategies.filter { wanted.contains($0.label) }
        }
        return scenario
    }

    /// Runs every strategy of `scenario` in virtual time, with a progress line on a terminal
    /// unless `quiet`.
    static func simulate(_ scenario: Scenario, path: String, quiet: Bool = false) throws -> SimulationResult {
        let progress = Progress("simulating \(scenario.name)", total: Double(scenario.strategies.count), quiet: quiet)
        do { return try progress.countingSimulations { try Simulator.run(scenario) } } catch {
            throw CLIFailure.badInput("\(path): \(error)")
        }
    }

    static func writeJSON<T: Encodable>(_ value: T, to path: String) throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        do {
            let parent = parentDirectory(of: path)
            if !parent.isEmpty {
                try FileManager.default.createDirectory(atPath: parent, withIntermediateDirectories: true)
            }
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

/// Checks on output paths made before any work, so that a path that cannot be written is bad
/// input (exit 2) found at once, not an internal error after a long (or paid) run.
enum OutputPath {
    /// Linux limits (PATH_MAX, NAME_MAX in <linux/limits.h>).
    static let maxPath = 4095, maxName = 255

    /// `path` must be a directory limitlab can create, or an empty one: an earlier run's output
    /// is never overwritten, and files left from it (an `events-<strategy>.csv` of a strategy
    /// this run does not have) would be mistaken for this run's.
    static func checkNewDirectory(_ path: String, flag: String = "--out") throws {
        try checkSyntax(path, flag: flag)
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            guard isDir.boolValue else {
                throw CLIFailure.badInput("\(flag) \(path) is a file, not a directory; give a new directory for the output")
            }
            let entries: [String]
            do { entries = try FileManager.default.contentsOfDirectory(atPath: path) } catch {
                throw CLIFailure.badInput("\(flag) \(path): cannot read the directory (\(error.localizedDescription))")
            }
            guard entries.isEmpty else {
                let shown = entries.sorted().prefix(3).joined(separator: ", ") + (entries.count > 3 ? ", …" : "")
                throw CLIFailure.badInput("\(flag) \(path) already holds files (\(shown)): limitlab never overwrites an "
                                          + "earlier run's output; give a new or empty directory")
            }
            guard access(path, W_OK | X_OK) == 0 else {
                throw CLIFailure.badInput("\(flag) \(path): the directory is not writable")
            }
            return
        }
        try checkCreatable(path, flag: flag)
    }

    /// `path` must be a file that can be written (created or replaced), not a directory.
    static func checkFile(_ path: String, flag: String = "--out") throws {
        try checkSyntax(path, flag: flag)
        var isDir: ObjCBool = false
        if FileManager.default.fileExists(atPath: path, isDirectory: &isDir) {
            guard !isDir.boolValue else {
                throw CLIFailure.badInput("\(flag) \(path) is a directory; give a file path, e.g. \(path)/baseline.json")
            }
            guard access(path, W_OK) == 0 else { throw CLIFailure.badInput("\(flag) \(path): the file is not writable") }
            return
        }
        try checkCreatable(path, flag: flag)
    }

    private static func checkSyntax(_ path: String, flag: String) throws {
        guard !path.isEmpty else { throw CLIFailure.badInput("\(flag): empty path; give a path") }
        guard path.utf8.count <= maxPath,
              path.split(separator: "/").allSatisfy({ $0.utf8.count <= maxName }) else {
            throw CLIFailure.badInput("\(flag): the path is too long (at most \(maxPath) bytes, \(maxName) per name); "
                                      + "give a shorter one")
        }
    }

    /// The nearest existing ancestor must be a writable directory.
    private static func checkCreatable(_ path: String, flag: String) throws {
        var ancestor = parentDirectory(of: path)
        if ancestor.isEmpty { ancestor = "." }
        while !FileManager.default.fileExists(atPath: ancestor) {
            let up = parentDirectory(of: ancestor)
            let next = up.isEmpty ? "." : up
            if next == ancestor { break } // "." or "/" missing: reported below
            ancestor = next
        }
        var isDir: ObjCBool = false
        FileManager.default.fileExists(atPath: ancestor, isDirectory: &isDir)
        guard isDir.boolValue else {
            throw CLIFailure.badInput("\(flag) \(path): \(ancestor) is a file, so the path cannot be created")
        }
        guard access(ancestor, W_OK | X_OK) == 0 else {
            throw CLIFailure.badInput("\(flag) \(path): cannot create it, \(ancestor) is not writable")
        }
    }
}

/// The folder part of a path ("" when there is none). Not `NSString.deletingLastPathComponent`:
/// the Foundation of Swift 6.3.1 crashes on a one-character path (found by the scenario fuzzer).
func parentDirectory(of path: String) -> String {
    Diagnostics.directory(of: path)
}
