import ArgumentParser
import Dispatch
import Foundation
import LimitlabCore
import LimitlabMock
import LimitlabReport

extension ExitCodes {
    /// `limitlab test`: the command under test failed, timed out or was interrupted.
    static let commandFailed: Int32 = 5
}

struct TestCommand: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "test",
        abstract: "Run your own client (CMD) against the mock with the scenario's limits, then report and check.",
        discussion: """
            Starts the mock with the scenario's limits, server model and seed on a free loopback port, \
            recording every request; runs CMD with ANTHROPIC_BASE_URL and ANTHROPIC_API_KEY pointing at it \
            (the official SDKs read both); when CMD ends, writes report.html / report.json / summary.md from \
            the recording and checks the scenario's thresholds and --baseline (noise-aware). CMD's output \
            goes to cmd-stdout.txt and cmd-stderr.txt in the report folder. Only the scenario's model, \
            limits, server, seed, slo and thresholds are used; its arrivals and strategies are not.
            Exit codes: 0 CMD succeeded and every check passes, 3 a check failed, 5 CMD failed, timed out or \
            was interrupted (the report is still written), 2 bad input, 1 internal error.
            """)

    @Argument(help: "Scenario file (YAML).")
    var scenario: String

    @Option(help: "Stop CMD after this long (e.g. 90s, 10m) and exit 5.")
    var timeout: String?

    @Option(help: "Report directory (default: reports/<scenario>-test-<timestamp>/).")
    var out: String?

    @Flag(help: "Print nothing but errors and failed checks.")
    var quiet = false

    @Flag(help: "Write into --out even when it holds an earlier test (its recording and output are replaced).")
    var force = false

    @OptionGroup var gate: GateOptions

    @Argument(parsing: .postTerminator, help: "The command to run, after --.")
    var command: [String] = []

    func run() throws {
        guard !command.isEmpty else {
            throw CLIFailure.badInput("no command to test: give it after --, e.g. `limitlab test \(scenario) -- python3 client.py`")
        }
        var limit: Double?
        if let timeout {
            guard let d = Units.parseDuration(timeout), d > 0 else {
                throw CLIFailure.badInput("--timeout \(timeout): expected a duration such as 90s or 10m")
            }
            limit = d
        }
        let sc = try ScenarioInput.load(scenario, seed: nil, strategies: nil)
        // Flag mistakes cost nothing: found before CMD runs (thresholds are optional here).
        try gate.checkBeforeRun(hasThresholds: true)
        // An earlier test's folder is never overwritten (unless --force).
        let directory = try OutputFolder.choose(out: out, force: force, name: sc.name, suffix: "-test")
        let fm = FileManager.default
        do {
            try fm.createDirectory(atPath: directory, withIntermediateDirectories: true)
            if force {
                for f in [MockRecorder.fileName, "cmd-stdout.txt", "cmd-stderr.txt"] {
                    try? fm.removeItem(atPath: (directory as NSString).appendingPathComponent(f))
                }
            }
        } catch {
            throw CLIFailure.badInput("cannot create the report directory \(directory): \(error.localizedDescription)")
        }

        // The scenario's mock; its first organisation takes any key, so CMD may bring its own.
        var config = MockConfig(scenario: sc)
        config.organizations[0].acceptsAnyKey = true
        let recorder: MockRecorder
        do { recorder = try MockRecorder(directory: directory) } catch { throw CLIFailure.badInput(error.description) }
        let server = MockServer(config: config, threads: 2, recorder: recorder)
        let port: Int
        do { port = try server.startBlocking(host: "127.0.0.1", port: 0) } catch {
            server.stopBlocking()
            throw CLIFailure.internalError(error.description)
        }
        let baseURL = "http://127.0.0.1:\(port)"
        if !quiet {
            writeStderr("limitlab test: mock for \(sc.name) on \(baseURL), recording to \(recorder.path)\n")
            writeStderr("limitlab test: running \(command.joined(separator: " "))\n")
        }

        let child: ChildProcess
        do {
            // A real bearer token in the environment would be sent along (and the SDK warns
            // about it): the command under test sees only the mock's key.
            child = try ChildProcess.spawn(command, environment: [
                "ANTHROPIC_BASE_URL": baseURL, "ANTHROPIC_API_KEY": MockConfig.scenarioKey(0),
            ], removing: ["ANTHROPIC_AUTH_TOKEN"], stdout: (directory as NSString).appendingPathComponent("cmd-stdout.txt"),
               stderr: (directory as NSString).appendingPathComponent("cmd-stderr.txt"))
        } catch {
            server.stopBlocking()
            throw error
        }
        // SIGINT/SIGTERM stop CMD; the report is still written.
        let interrupted = StopRequest()
        let stopHandler = onStopSignals { interrupted.set() }
        let ending = child.wait(timeout: limit, interrupted: interrupted)
        stopHandler.cancel()
        server.stopBlocking()

        let report = try RecordingReports.write(recording: directory, scenario: sc, scenarioFile: scenario, to: directory)
        if !quiet { writeStdout(RecordingReports.describe(report, directory: directory)) }
        if report.recording?.messagesRows == 0 {
            writeStderr("limitlab test: WARNING: the mock saw no Messages request; does the command read ANTHROPIC_BASE_URL?\n")
        }

        switch ending {
        case .exited(0):
            break
        default:
            let what: String
            switch ending {
            case .exited(let code): what = "exited with status \(code)"
            case .signalled(let sig): what = "was killed by signal \(sig)"
            case .timedOut: what = "did not finish within --timeout \(timeout ?? "")"
            case .interrupted: what = "was stopped by a signal to limitlab"
            }
            let tail = Self.tail(of: (directory as NSString).appendingPathComponent("cmd-stderr.txt"), lines: 15)
            if !tail.isEmpty { writeStderr("--- last lines of \(directory)/cmd-stderr.txt\n\(tail)\n---\n") }
            throw CLIFailure(code: ExitCodes.commandFailed,
                             message: "the command under test \(what); its output is in \(directory)/cmd-stdout.txt "
                                 + "and cmd-stderr.txt, the report in \(directory)/report.html")
        }

        guard !(report.scenario.thresholds ?? []).isEmpty || gate.baseline != nil else {
            if gate.maxRegression != nil { throw CLIFailure.badInput("--max-regression needs --baseline") }
            if !quiet { writeStdout("\nno checks: the scenario has no thresholds: and no --baseline was given\n") }
            return
        }
        if !quiet { writeStdout("\n") }
        try gate.evaluate(report, quiet: quiet)
    }

    static func tail(of path: String, lines n: Int) -> String {
        guard let data = FileManager.default.contents(atPath: path) else { return "" }
        let text = String(decoding: data.suffix(16_384), as: UTF8.self)
        return text.split(separator: "\n", omittingEmptySubsequences: false).suffix(n + 1)
            .joined(separator: "\n").trimmingCharacters(in: .whitespacesAndNewlines)
    }
}

/// A flag set from a signal handler's queue and read by the waiting thread.
final class StopRequest: @unchecked Sendable {
    private let lock = NSLock()
    private var value = false
    func set() { lock.withLock { value = true } }
    var isSet: Bool { lock.withLock { value } }
}

/// The command under test: spawned in a process group of its own, so that stopping it stops
/// whatever it started too (a shell, `make`, worker processes).
struct ChildProcess {
    enum Ending: Equatable {
        case exited(Int32)
        case signalled(Int32)
        case timedOut
        case interrupted
    }

    let pid: pid_t

    /// Starts `argv` (looked up in PATH) with the environment, less `removing`, plus
    /// `environment`; its output into the two files.
    static func spawn(_ argv: [String], environment: [String: String], removing: [String] = [], stdout: String,
                      stderr: String) throws -> ChildProcess {
        var env = ProcessInfo.processInfo.environment
        for k in removing { env[k] = nil }
        for (k, v) in environment { env[k] = v }
        var actions = posix_spawn_file_actions_t()
        posix_spawn_file_actions_init(&actions)
        defer { posix_spawn_file_actions_destroy(&actions) }
        posix_spawn_file_actions_addopen(&actions, 0, "/dev/null", O_RDONLY, 0)
        posix_spawn_file_actions_addopen(&actions, 1, stdout, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        posix_spawn_file_actions_addopen(&actions, 2, stderr, O_WRONLY | O_CREAT | O_TRUNC, 0o644)
        var attributes = posix_spawnattr_t()
        posix_spawnattr_init(&attributes)
        defer { posix_spawnattr_destroy(&attributes) }
        posix_spawnattr_setpgroup(&attributes, 0)
        // The child must not inherit limitlab's ignored SIGINT/SIGTERM.
        var defaults = sigset_t()
        sigemptyset(&defaults)
        sigaddset(&defaults, SIGINT)
        sigaddset(&defaults, SIGTERM)
        sigaddset(&defaults, SIGPIPE)
        posix_spawnattr_setsigdefault(&attributes, &defaults)
        posix_spawnattr_setflags(&attributes, Int16(POSIX_SPAWN_SETPGROUP | POSIX_SPAWN_SETSIGDEF))

        let cArgs = argv.map { strdup($0) } + [nil]
        let cEnv = env.map { strdup("\($0.key)=\($0.value)") } + [nil]
        defer {
            cArgs.forEach { free($0) }
            cEnv.forEach { free($0) }
        }
        var pid: pid_t = 0
        let rc = posix_spawnp(&pid, argv[0], &actions, &attributes, cArgs, cEnv)
        guard rc == 0 else {
            throw CLIFailure(code: ExitCodes.commandFailed,
                             message: "cannot run \(argv[0]): \(String(cString: strerror(rc))) (is it installed and on PATH?)")
        }
        return ChildProcess(pid: pid)
    }

    /// Waits for the process; past `timeout` or once `interrupted` is set, stops its group
    /// (SIGTERM, then SIGKILL after 5 s).
    func wait(timeout: Double?, interrupted: StopRequest) -> Ending {
        let start = Date()
        var stopping: (reason: Ending, since: Date)?
        while true {
            var status: Int32 = 0
            let r = waitpid(pid, &status, WNOHANG)
            if r == pid {
                if let stopping { return stopping.reason }
                // WIFEXITED / WTERMSIG, spelled out (the C macros are not imported).
                let sig = status & 0x7f
                return sig == 0 ? .exited((status >> 8) & 0xff) : .signalled(sig)
            }
            if r < 0 && errno != EINTR { return stopping?.reason ?? .exited(-1) }
            if let s = stopping {
                if Date().timeIntervalSince(s.since) > 5 { kill(-pid, SIGKILL) }
            } else if interrupted.isSet {
                stopping = (.interrupted, Date())
                kill(-pid, SIGTERM)
            } else if let timeout, Date().timeIntervalSince(start) > timeout {
                stopping = (.timedOut, Date())
                kill(-pid, SIGTERM)
            }
            usleep(20_000)
        }
    }
}
