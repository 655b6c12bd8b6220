import LimitlabCore
import LimitlabReport
import LimitlabSim

extension ReplicationFlags {
    /// Several seeds need the simulator: a live run is one replication.
    func checkTarget(_ target: TargetSpec) throws {
        if target != .sim && (replications ?? 1 > 1 || seeds != nil) {
            throw CLIFailure.badInput("--replications and --seeds need --target sim (a live run is one replication)")
        }
    }

    /// `run --target sim`: the first seed's runs (the report, events and charts, as with one
    /// seed) and, over several seeds, the replication section; every (strategy, seed) in
    /// parallel. Several seeds need the simulator.
    /// `scenario.seed` becomes the first seed run (the report's).
    /// With `stop`, strategies are simulated a group at a time (as many as `--jobs` keeps busy)
    /// and `stop` is asked between groups: once it says yes, the strategies not yet started are
    /// not run and come back in `notRun` (an interrupted run keeps what was finished).
    func simulate(_ scenario: inout Scenario, path: String, stop: (@Sendable () -> Bool)? = nil) throws
        -> (stream: ArrivalStream, runs: [(spec: StrategySpec, log: RunLog)], section: ReplicationSection?,
            notRun: [String]) {
        let plan = try plan(base: scenario.seed)
        let (seeds, jobs) = (plan.seeds, try width())
        scenario.seed = seeds[0]
        let specs = scenario.strategies
        let group = stop == nil ? Swift.max(1, specs.count) : Swift.max(1, (jobs + seeds.count - 1) / seeds.count)
        var stream: ArrivalStream?
        var runs: [(spec: StrategySpec, log: RunLog)] = []
        var figures: [[ReplicaFigures]] = []
        var next = 0
        while next < specs.count {
            if next > 0, let stop, stop() { break }
            var sc = scenario
            sc.strategies = Array(specs[next..<Swift.min(specs.count, next + group)])
            let part = sc
            let sim: ReplicatedSimulation
            do { sim = try blocking { try await Replicator.simulate(part, seeds: seeds, jobs: jobs) } } catch {
                throw CLIFailure.badInput("\(path): \(error)")
            }
            stream = stream ?? sim.stream
            runs += sim.runs.map { (spec: $0.spec, log: $0.log) }
            figures += sim.figures
            next += sc.strategies.count
        }
        guard let stream else { throw CLIFailure.badInput("\(path): no strategy to run") }
        let section = seeds.count > 1 ? ReplicationSection(seeds: seeds, figures: figures, labels: runs.map(\.spec.label)) : nil
        return (stream, runs, section, specs[next...].map(\.label))
    }
}
