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
    func simulate(_ scenario: inout Scenario, path: String) throws
        -> (stream: ArrivalStream, runs: [(spec: StrategySpec, log: RunLog)], section: ReplicationSection?) {
        let plan = try plan(base: scenario.seed)
        let (seeds, jobs) = (plan.seeds, try width())
        scenario.seed = seeds[0]
        let sc = scenario
        let sim: ReplicatedSimulation
        do { sim = try blocking { try await Replicator.simulate(sc, seeds: seeds, jobs: jobs) } } catch {
            throw CLIFailure.badInput("\(path): \(error)")
        }
        let section = seeds.count > 1
            ? ReplicationSection(seeds: seeds, figures: sim.figures, labels: sim.runs.map(\.spec.label)) : nil
        return (sim.stream, sim.runs.map { (spec: $0.spec, log: $0.log) }, section)
    }
}
