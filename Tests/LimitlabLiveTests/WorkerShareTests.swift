import LimitlabWorkload
import LimitlabCore
import LimitlabLive
import LimitlabSim
import LimitlabStats
import LimitlabStrategies
import LimitlabTestSupport
import Testing

extension Live {
    /// A worker process of `run --workers N` sends exactly the arrivals the simulator's worker
    /// pool deals to that worker, so a multi-process run and its simulation split alike.
    @Suite struct WorkerShareTests {
        /// Remembers nothing; the pool's `worker(for:)` says where each arrival went.
        struct Sink: ClientStrategy {
            mutating func arrived(_ request: PendingRequest, now: Double) {}
            mutating func finished(_ request: PendingRequest, attempt: Int, outcome: AttemptOutcome, now: Double) {}
            mutating func poll(now: Double, into commands: inout [StrategyCommand]) {}
            var nextWakeup: Double? { nil }
        }

        func poolAssignment(_ stream: ArrivalStream, split: WorkerSplit, count: Int, seed: UInt64,
                            label: String) -> [Int] {
            var pool = WorkerPoolStrategy(split: split, workers: Array(repeating: Sink(), count: count),
                                          random: split == .random ? RandomSource(seed: seed, stream: "workers:" + label) : nil)
            return (0..<stream.count).map { r in
                pool.arrived(stream.pendingRequest(r), now: stream.intendedAt[r])
                return pool.worker(for: Int32(r))
            }
        }

        @Test(arguments: [WorkerSplit.roundRobin, .random])
        func sharesMatchTheSimulatorsWorkerPool(split: WorkerSplit) {
            let s = makeScenario(.live, arrivals: [ArrivalSpec(.poisson(rate: 20))], length: .duration(30), seed: 11)
            let stream = ArrivalGenerator.generate(s)
            #expect(stream.count > 400)
            for count in [1, 3, 4] {
                let expected = poolAssignment(stream, split: split, count: count, seed: s.seed, label: "lbl")
                var union: [Int] = []
                for i in 0..<count {
                    let share = LiveWorkerOptions.share(of: stream, index: i, count: count, split: split, seed: s.seed,
                                                        label: "lbl")
                    #expect(share == expected.indices.filter { expected[$0] == i }, "worker \(i) of \(count), \(split)")
                    union += share
                }
                #expect(union.sorted() == Array(0..<stream.count))
            }
        }
    }
}
