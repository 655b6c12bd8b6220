import ArgumentParser
import CCurl
import Dispatch
import Foundation
import LimitlabWorkload
import LimitlabCore
import LimitlabLive
import LimitlabMock
import LimitlabRedis
import LimitlabReport
import LimitlabSim

#if canImport(Glibc)
import Glibc
#endif

/// `run --workers N [--redis URL]`: the organisation as N client processes against one target.
///
/// The parent starts the target (`--target mock`: one embedded mock, fresh for each strategy,
/// shared by all workers), then for each strategy picks a start time a little in the future and
/// spawns N copies of this executable in worker mode (the hidden options below). Worker i sends
/// its share of the arrival stream (round-robin: arrivals k ≡ i mod N; the scenario's
/// `workers.split: random` deals as the simulator does) with model time 0 at the common start,
/// and its strategies' shared limiters use a `RedisQuotaStore` on `--redis` (without it, an
/// in-memory store per process: nothing is shared, and the report says so). Each worker writes a
/// normal run directory; the parent joins them with `RunMerge` (what `limitlab merge` does) and
/// writes one report of the organisation.
struct WorkerFlags: ParsableArguments {
    @Option(help: "Run the organisation as N worker processes against one target (mock or URL targets): each sends its share of the arrivals; the report merges them.")
    var workers: Int?

    @Option(help: "Redis URL (redis://[:password@]host[:port][/db]) whose store the workers' shared limiters (shared-token-bucket, shared-gcra) use. The password is never printed. Without it each worker process has its own store.")
    var redis: String?

    @Option(name: .customLong("worker-index"), help: .hidden)
    var workerIndex: Int?

    @Option(name: .customLong("worker-count"), help: .hidden)
    var workerCount: Int?

    /// Unix time of model time 0, the same for every worker.
    @Option(name: .customLong("start-at"), help: .hidden)
    var startAt: Double?

    /// Key prefix in Redis: one per `--workers` run, so runs never share state.
    @Option(name: .customLong("redis-prefix"), help: .hidden)
    var redisPrefix: String?

    /// The target is the parent's embedded mock: send its keys.
    @Flag(name: .customLong("worker-mock-keys"), help: .hidden)
    var workerMockKeys = false

    /// The process id of the `--workers` parent: the worker dies with it (`dieWithParent`).
    @Option(name: .customLong("parent-pid"), help: .hidden)
    var parentPID: Int32?

    /// Seconds between spawning the workers and their common start.
    @Option(name: .customLong("start-delay"), help: .hidden)
    var startDelay: Double = 1.5

    /// The environment variable the parent passes the Redis URL in (never on a command line,
    /// where `ps` would show the password).
    static let redisEnvironment = "LIMITLAB_WORKER_REDIS_URL"

    var isWorker: Bool { workerIndex != nil }

    /// The Redis URL given to this process (flag, else the parent's environment variable).
    var redisURL: String? {
        if let redis { return redis }
        let env = ProcessInfo.processInfo.environment[Self.redisEnvironment]
        return env?.isEmpty == false ? env : nil
    }

    func check(target: TargetSpec) throws {
        if let n = workers {
            guard (1...256).contains(n) else { throw CLIFailure.badInput("--workers must be 1–256, got \(n)") }
            guard target != .sim else {
                throw CLIFailure.badInput("--workers runs worker processes against a live target: add --target mock or "
                                          + "--target URL (the simulator models workers with the scenario's workers: block)")
            }
            guard workerIndex == nil else { throw CLIFailure.badInput("--workers and --worker-index exclude each other") }
        }
        if let i = workerIndex {
            guard let n = workerCount, n >= 1, (0..<n).contains(i), startAt != nil else {
                throw CLIFailure.badInput("--worker-index needs --worker-count N (index 0…N-1) and --start-at")
            }
            guard target != .sim else { throw CLIFailure.badInput("--worker-index needs a live target (--target URL)") }
        } else if workerCount != nil || startAt != nil || parentPID != nil {
            throw CLIFailure.badInput("--worker-count, --start-at and --parent-pid are for worker processes (--worker-index)")
        }
        if redis != nil && workers == nil && workerIndex == nil {
            throw CLIFailure.badInput("--redis is for multi-process runs: add --workers N")
        }
        if let url = redisURL {
            do { _ = try RedisURL(parsing: url) } catch { throw CLIFailure.badInput(error.message) }
        }
    }

    /// A worker whose parent is killed (even with SIGKILL) must not run on as an orphan,
    /// sending load nobody collects: the kernel sends it SIGTERM when the parent exits, which
    /// stops it as a SIGTERM from the parent would (in-flight requests end, a partial result is
    /// written). A parent that died before the signal was armed shows as a changed parent pid.
    func dieWithParent() throws {
        guard let parent = parentPID else { return }
        switch limitlab_die_with_parent(SIGTERM, pid_t(parent)) {
        case 1:
            throw CLIFailure.internalError("worker \(workerIndex ?? -1): the limitlab run that started it "
                                           + "(pid \(parent)) has exited; stopping")
        default:
            return // 0: armed; -1: no parent-death signal on this platform (not Linux)
        }
    }

    /// The options of worker mode (this process is one worker).
    func liveWorker(for scenario: Scenario) throws -> LiveWorkerOptions? {
        guard let index = workerIndex, let count = workerCount else { return nil }
        try dieWithParent()
        let split = scenario.workers?.split ?? .roundRobin
        if split == .random && scenario.strategies.count > 1 {
            throw CLIFailure.badInput("workers.split: random deals arrivals per strategy: run one strategy per worker "
                                      + "invocation (--strategies LABEL)")
        }
        let stream = ArrivalGenerator.generate(scenario)
        let requests = LiveWorkerOptions.share(of: stream, index: index, count: count, split: split, seed: scenario.seed,
                                               label: scenario.strategies.first?.label ?? "")
        var makeStore: (@Sendable (Int, StrategySpec) throws -> (any SharedQuotaStore)?)?
        if let text = redisURL {
            let url: RedisURL
            do { url = try RedisURL(parsing: text) } catch { throw CLIFailure.badInput(error.message) }
            let prefix = redisPrefix ?? "limitlab-run:\(scenario.name):"
            makeStore = { _, _ in RedisQuotaStore(url: url, options: RedisQuotaOptions(keyPrefix: prefix)) }
        }
        let name = scenario.name
        return LiveWorkerOptions(index: index, count: count, requests: requests, startAt: startAt, makeStore: makeStore,
                                 namespace: { "limitlab:\(name):\($0.label)" })
    }

    /// The note for the report when shared limiters shared nothing across processes.
    static let noStoreWarning = "NO SHARED STORE: the worker processes ran without --redis, so each one's shared "
        + "limiters (shared-token-bucket, shared-gcra) used their own in-memory store and did not share one quota"
}

/// The parent of a `--workers N` run.
enum WorkerProcesses {
    struct Result {
        var stream: ArrivalStream
        var runs: [(spec: StrategySpec, log: RunLog)]
        var echo: LiveEcho
    }

    struct Settings {
        var scenarioPath: String
        var seed: UInt64
        var apiKeyEnv: String?
        var maxCostUSD: Double?
        var maxRequests: Int?
        var quiet: Bool
        var directory: String
    }

    static func run(_ scenario: Scenario, flags: WorkerFlags, settings s: Settings) throws -> Result {
        let n = flags.workers ?? 1
        var warnings: [String] = []
        let redis = flags.redis
        let runID = String(format: "%08x", UInt32.random(in: 0...UInt32.max))
        if let text = redis {
            // Fail before spawning anything when the store cannot be reached.
            let store: RedisQuotaStore
            do { store = try RedisQuotaStore(url: text, options: RedisQuotaOptions(connectTimeout: 2, commandTimeout: 2)) } catch {
                throw CLIFailure.badInput(error.message)
            }
            do { try store.ping() } catch { throw CLIFailure.badInput(error.message) }
            if !s.quiet { writeStderr("shared store: \(store.url.redacted) (keys under limitlab-run:\(runID):)\n") }
        } else {
            warnings.append(WorkerFlags.noStoreWarning)
        }
        guard let executable = executablePath() else {
            throw CLIFailure.internalError("cannot find this program's executable to start the workers")
        }

        let control = ChildControl()
        let stopHandler = onStopSignals {
            writeStderr("\nstopping: the workers finish what is in flight\n")
            control.stopAll()
        }
        defer { stopHandler.cancel() }

        var rounds: [MergedRun] = []
        var echoes: [LiveEcho] = []
        var baseURL = ""
        for spec in scenario.strategies {
            if control.stopped { break }
            var mock: MockServer?
            let url: String
            switch scenario.target {
            case .mock:
                // One mock per strategy, shared by every worker: full buckets, as the simulator gives.
                let server = MockServer(config: MockConfig(scenario: scenario), threads: 2)
                let port: Int
                do { port = try server.startBlocking(host: "127.0.0.1", port: 0) } catch {
                    throw CLIFailure.internalError("the embedded mock did not start: \(error)")
                }
                mock = server
                url = "http://127.0.0.1:\(port)"
            case .url(let u):
                url = u
            case .sim:
                preconditionFailure("checked by WorkerFlags.check")
            }
            defer { mock?.stopBlocking() }
            baseURL = scenario.target == .mock ? "mock (\(url))" : url
            let startAt = (Date().timeIntervalSince1970 + flags.startDelay).rounded(.up)
            let roundDir = (s.directory as NSString).appendingPathComponent("workers/\(ReportWriter.fileSafe(spec.label))")
            var dirs: [String] = []
            var children: [(Int, Process)] = []
            for i in 0..<n {
                let dir = (roundDir as NSString).appendingPathComponent("worker-\(i)")
                dirs.append(dir)
                var args = ["run", s.scenarioPath, "--target", url, "--seed", String(s.seed), "--strategies", spec.label,
                            "--out", dir, "--quiet", "--worker-index", String(i), "--worker-count", String(n),
                            "--start-at", String(format: "%.6f", startAt), "--redis-prefix", "limitlab-run:\(runID):",
                            "--parent-pid", String(getpid())]
                if scenario.target == .mock { args.append("--worker-mock-keys") }
                if let e = s.apiKeyEnv { args += ["--api-key-env", e] }
                // Caps are per process: each worker gets its share.
                if let c = s.maxCostUSD { args += ["--max-cost-usd", String(c / Double(n))] }
                if let m = s.maxRequests { args += ["--max-requests", String((m + n - 1 - i) / n)] }
                let p = Process()
                p.executableURL = URL(fileURLWithPath: executable)
                p.arguments = args
                var env = ProcessInfo.processInfo.environment
                env[WorkerFlags.redisEnvironment] = redis ?? ""
                p.environment = env
                do { try p.run() } catch {
                    control.stopAll()
                    throw CLIFailure.internalError("worker \(i) did not start: \(error)")
                }
                control.add(p)
                children.append((i, p))
            }
            if !s.quiet {
                writeStderr("[\(spec.label)] \(n) workers, common start \(String(format: "%.3f", startAt)) (Unix time)\n")
            }
            var failed: [String] = []
            for (i, p) in children {
                p.waitUntilExit()
                // Exit 5 is a partial worker run: its report is written and marked partial.
                if (p.terminationStatus != 0 && p.terminationStatus != ExitCodes.partial) || p.terminationReason != .exit {
                    let how = p.terminationReason == .exit ? "exit code \(p.terminationStatus)"
                        : "signal \(p.terminationStatus)"
                    failed.append("worker \(i) (\(how))")
                }
            }
            control.clear()
            let written = dirs.filter { FileManager.default.fileExists(atPath: ($0 as NSString).appendingPathComponent("report.json")) }
            if !failed.isEmpty {
                warnings.append("run \(spec.label): \(failed.joined(separator: ", ")) failed; "
                                + "\(written.count) of \(n) workers wrote their results (in \(roundDir))")
            }
            guard !written.isEmpty else {
                throw CLIFailure.internalError("run \(spec.label): no worker wrote a result (see the messages above)")
            }
            let merged: MergedRun
            do { merged = try RunMerge.merge(directories: written, scenario: scenario) } catch {
                throw CLIFailure.internalError("merging the workers of \(spec.label) failed: \(error.message)")
            }
            rounds.append(merged)
            for dir in written {
                if let data = FileManager.default.contents(atPath: (dir as NSString).appendingPathComponent("report.json")),
                   let report = try? JSONDecoder().decode(Report.self, from: data), let live = report.live {
                    echoes.append(live)
                }
            }
        }
        guard let first = rounds.first else { throw CLIFailure.internalError("no strategy ran (interrupted)") }

        // One stream for all strategies (every round replays the same arrivals); a round cut
        // short by a stop cuts every round to the requests it was offered.
        let offered = rounds.map(\.stream.count).min() ?? 0
        var stream = first.stream
        var runs: [(spec: StrategySpec, log: RunLog)] = []
        for r in rounds { runs += r.runs }
        if offered < stream.count || rounds.contains(where: { $0.stream.count != stream.count }) {
            stream = first.stream.prefix(offered)
            runs = runs.map { ($0.spec, $0.log.truncated(requests: offered)) }
            warnings.append("strategies were offered different numbers of requests (a stop or a failed worker); all are "
                            + "compared on the first \(offered)")
        }
        let partial = echoes.contains { $0.partial } || control.stopped || rounds.count < scenario.strategies.count
        if rounds.count < scenario.strategies.count {
            warnings.insert("PARTIAL RUN: \(scenario.strategies.count - rounds.count) strategies not run", at: 0)
        }
        var causes: [String: Int] = [:]
        for e in echoes { for (k, v) in e.errorCauses { causes[k, default: 0] += v } }
        let childWarnings = echoes.flatMap(\.warnings).filter { !warnings.contains($0) }
        // The workers printed their own warnings already.
        for w in warnings { writeStderr("WARNING: \(w)\n") }
        let echo = LiveEcho(partial: partial, stopReason: echoes.compactMap(\.stopReason).first,
                            baseURL: baseURL,
                            lagP50S: echoes.map(\.lagP50S).max() ?? 0, lagP99S: echoes.map(\.lagP99S).max() ?? 0,
                            lagMaxS: echoes.map(\.lagMaxS).max() ?? 0,
                            warnings: warnings + Array(Set(childWarnings)).sorted(), errorCauses: causes,
                            costUSD: echoes.reduce(0) { $0 + $1.costUSD })
        return Result(stream: stream, runs: runs, echo: echo)
    }

    /// This program, to start the workers with.
    static func executablePath() -> String? {
        #if os(Linux)
        if let p = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") { return p }
        #endif
        return Bundle.main.executablePath ?? CommandLine.arguments.first
    }
}

/// The running workers, for forwarding a stop.
final class ChildControl: @unchecked Sendable {
    private let lock = NSLock()
    private var children: [Process] = []
    private var stop = false

    func add(_ p: Process) {
        let late = lock.withLock { () -> Bool in
            children.append(p)
            return stop
        }
        if late { kill(p.processIdentifier, SIGINT) }
    }

    func clear() { lock.withLock { children.removeAll() } }

    var stopped: Bool { lock.withLock { stop } }

    /// SIGINT to every worker: each stops new arrivals, finishes in-flight requests and writes a
    /// partial result.
    func stopAll() {
        let running = lock.withLock { () -> [Process] in
            stop = true
            return children
        }
        for p in running where p.isRunning { kill(p.processIdentifier, SIGINT) }
    }
}
