import LimitlabWorkload
public import LimitlabCore
public import LimitlabStrategies

/// One strategy's run in a simulation.
public struct StrategyRun: Sendable {
    public var spec: StrategySpec
    public var log: RunLog
}

/// All strategy runs of a scenario over one shared arrival stream.
public struct SimulationResult: Sendable {
    public var scenario: Scenario
    public var stream: ArrivalStream
    public var runs: [StrategyRun]
}

/// Runs a scenario in virtual time: one arrival stream, every strategy on it.
public enum Simulator {
    /// The command line's progress hooks, bound around the simulations they count. Task-local,
    /// so a binding affects only the simulations run inside it. One reference-sized value on
    /// purpose: binding optional closures directly crashed optimized builds of Swift 6.3.1 in
    /// `swift_task_localValuePush` (a task-local payload wider than a pointer; the same lowering
    /// problem as swiftlang/swift's TaskLocal back-deployment crashes).
    @TaskLocal public static var progress: SimulationProgress?

    public static func run(_ scenario: Scenario) throws(StrategyError) -> SimulationResult {
        let stream = ArrivalGenerator.generate(scenario)
        var runs: [StrategyRun] = []
        for spec in scenario.strategies {
            // One store per strategy run: its workers share it, other strategies start afresh.
            let strategy = try StrategyFactory.make(spec, limits: scenario.limits.config, keys: scenario.limits.keyConfigs,
                                                   seed: scenario.seed, workers: scenario.workers,
                                                   namespace: "limitlab:\(scenario.name):\(spec.label)",
                                                   models: scenario.modelIds)
            runs.append(StrategyRun(spec: spec, log: run(scenario: scenario, stream: stream, strategy: strategy)))
            progress?.strategyFinished(spec.label)
        }
        return SimulationResult(scenario: scenario, stream: stream, runs: runs)
    }

    /// Runs one strategy object (opened from its existential so the engine is specialised).
    public static func run(scenario: Scenario, stream: ArrivalStream, strategy: any ClientStrategy) -> RunLog {
        func open<S: ClientStrategy>(_ s: S) -> RunLog {
            var s = s
            return SimDriver.run(scenario: scenario, stream: stream, strategy: &s)
        }
        return open(strategy)
    }
}

/// Progress hooks of a simulation (see `Simulator.progress`).
public final class SimulationProgress: Sendable {
    /// Called with a strategy's label after each strategy run.
    public let strategyFinished: @Sendable (String) -> Void
    /// Called during a strategy run with the share (0…1) of the arrival window simulated so far,
    /// at each bucket-level sample (a few hundred times a run at most).
    public let strategyProgress: @Sendable (Double) -> Void
    public init(strategyFinished: @escaping @Sendable (String) -> Void,
                strategyProgress: @escaping @Sendable (Double) -> Void) {
        self.strategyFinished = strategyFinished
        self.strategyProgress = strategyProgress
    }
}
