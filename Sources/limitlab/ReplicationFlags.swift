import ArgumentParser
import Dispatch
import LimitlabReport
import LimitlabSim

/// `--replications`, `--seeds` and `--jobs`, shared by run, compare, size and sweep.
struct ReplicationFlags: ParsableArguments {
    @Option(help: "Run N seeds (the scenario's seed and the N−1 after it); figures become across-seed means with 95% Student t intervals.")
    var replications: Int?

    @Option(help: "Run the seeds FROM..TO (both included) instead of --replications.")
    var seeds: String?

    @Option(help: "Simulations run at the same time (default: the number of cores). The output does not depend on it.")
    var jobs: Int?

    /// The seeds to run, from the scenario's (already overridden) seed.
    func plan(base: UInt64) throws -> SeedPlan {
        do { return try SeedPlan.parse(replications: replications, seeds: seeds, base: base) } catch {
            throw CLIFailure.badInput(error.message)
        }
    }

    func width() throws -> Int {
        guard let jobs else { return Parallel.defaultJobs }
        guard jobs >= 1 else { throw CLIFailure.badInput("--jobs \(jobs): expected 1 or more") }
        return jobs
    }
}

/// Runs async work from a synchronous command and waits for it. Only for the main thread
/// (commands): it blocks the calling thread, which must not be one of the concurrency pool's.
func blocking<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) throws -> T {
    let box = BlockingBox<T>()
    let done = DispatchSemaphore(value: 0)
    // A detached task inherits no task-locals: carry the progress hooks over by hand.
    let hooks = Simulator.progress
    Task.detached {
        do {
            box.result = .success(try await Simulator.$progress.withValue(hooks) { try await body() })
        } catch { box.result = .failure(error) }
        done.signal()
    }
    done.wait()
    return try box.result!.get()
}

/// The result slot of `blocking`: written by the task before it signals, read after the wait.
private final class BlockingBox<T: Sendable>: @unchecked Sendable {
    var result: Result<T, any Error>?
}
