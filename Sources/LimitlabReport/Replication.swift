import Foundation
import LimitlabStats

/// The seeds a replicated command runs: `--replications N` (the scenario's seed and the N − 1
/// after it) or `--seeds A..B` (both ends included).
public struct SeedPlan: Sendable, Equatable {
    public var seeds: [UInt64]

    public init(seeds: [UInt64]) { self.seeds = seeds }

    /// Reads the two flags; neither gives the single seed `base`.
    public static func parse(replications: Int?, seeds: String?, base: UInt64) throws(ReplicationError) -> SeedPlan {
        if replications != nil && seeds != nil {
            throw ReplicationError(message: "--replications and --seeds both choose the seeds; give one of them")
        }
        if let n = replications {
            guard n >= 1 && n <= 10_000 else {
                throw ReplicationError(message: "--replications \(n): expected a count from 1 to 10000")
            }
            return SeedPlan(seeds: (0..<UInt64(n)).map { base &+ $0 })
        }
        if let text = seeds {
            let ends = text.components(separatedBy: "..")
            guard ends.count == 2, let a = UInt64(ends[0].trimmingCharacters(in: .whitespaces)),
                  let b = UInt64(ends[1].trimmingCharacters(in: .whitespaces)) else {
                throw ReplicationError(message: "--seeds \(text): expected a range of seeds like 1..10")
            }
            guard a <= b, b - a < 10_000 else {
                throw ReplicationError(message: "--seeds \(text): expected FROM <= TO and at most 10000 seeds")
            }
            return SeedPlan(seeds: Array(a...b))
        }
        return SeedPlan(seeds: [base])
    }
}

public struct ReplicationError: Error, Sendable, CustomStringConvertible {
    public var message: String
    public var description: String { message }
}

/// A figure over replications: the across-seed mean with a 95 % Student t interval on the
/// per-seed values (mean ± t₀.₉₇₅,ₙ₋₁ · s/√n). With one seed the interval is the value itself.
public struct ReplicatedValue: Codable, Sendable, Equatable {
    public var mean: Double
    public var low: Double
    public var high: Double
    /// Replications that measured the figure (seeds with no successes have no latency).
    public var n: Int

    public static let method = "across-seed mean with a 95% Student t interval on the per-seed values "
        + "(mean ± t(0.975, n−1)·s/√n; GSL gsl_cdf_tdist_Pinv), shares clipped to 0–1, other figures at 0"

    /// The range of a figure that cannot be negative (counts, rates, latencies, costs): a wide
    /// interval over a few seeds (429s in one seed of three) would otherwise reach below zero.
    public static let nonNegative: ClosedRange<Double> = 0...Double.infinity

    /// nil when no replication measured the figure. `bounds` clips the interval to the
    /// figure's possible range (a share stays within 0…1).
    public static func of(_ values: [Double?], bounds: ClosedRange<Double>? = nil) -> ReplicatedValue? {
        let xs = values.compactMap { $0 }.filter { !$0.isNaN }
        guard !xs.isEmpty else { return nil }
        let mean = Stats.mean(xs)
        guard xs.count > 1 else { return ReplicatedValue(mean: mean, low: mean, high: mean, n: 1) }
        let half = Stats.studentTQuantile(0.975, degreesOfFreedom: Double(xs.count - 1))
            * Stats.standardDeviation(xs) / Double(xs.count).squareRoot()
        var low = mean - half, high = mean + half
        if let bounds { low = max(low, bounds.lowerBound); high = min(high, bounds.upperBound) }
        return ReplicatedValue(mean: mean, low: low, high: high, n: xs.count)
    }

    /// Whether the interval excludes zero (for a paired difference: significant).
    public var excludesZero: Bool { low > 0 || high < 0 }
}

/// Runs independent jobs on Swift structured concurrency (a `TaskGroup` at most `jobs` wide)
/// and returns their results in index order, so the output never depends on which job
/// finished first.
public enum Parallel {
    /// The default width: the machine's active cores.
    public static var defaultJobs: Int { ProcessInfo.processInfo.activeProcessorCount }

    /// `body(0) … body(count − 1)`, at most `jobs` at a time; the error of the lowest failing
    /// index is rethrown after every started job finished. `jobs` ≤ 1 runs them in order on
    /// the caller's task.
    public static func map<T: Sendable>(count: Int, jobs: Int,
                                        _ body: @escaping @Sendable (Int) throws -> T) async throws -> [T] {
        if jobs <= 1 || count <= 1 { return try (0..<count).map(body) }
        let width = min(jobs, count)
        let slots = await withTaskGroup(of: (Int, Result<T, any Error>).self,
                                        returning: [Result<T, any Error>?].self) { group in
            var slots = [Result<T, any Error>?](repeating: nil, count: count)
            var next = 0
            while next < width {
                let i = next
                group.addTask { (i, Result { try body(i) }) }
                next += 1
            }
            while let (i, r) = await group.next() {
                slots[i] = r
                if next < count {
                    let j = next
                    group.addTask { (j, Result { try body(j) }) }
                    next += 1
                }
            }
            return slots
        }
        return try slots.map { try $0!.get() }
    }
}
