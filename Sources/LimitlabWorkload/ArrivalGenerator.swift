public import LimitlabCore
public import LimitlabStats
import Foundation

/// Produces the arrival times of one source, in increasing order, from its own random stream.
struct ArrivalSource {
    let spec: ArrivalSpec
    let random: RandomSource
    /// Absolute end of the source (its `end`, or the run's end).
    let stopAt: Double
    private var t: Double
    private var k = 0
    // on-off state
    private var on = true
    private var stateEnd = 0.0
    // ramp: cumulative unit-exponential mass
    private var mass = 0.0

    init(spec: ArrivalSpec, random: RandomSource, runEnd: Double) {
        self.spec = spec
        self.random = random
        self.stopAt = Swift.min(spec.end ?? .infinity, runEnd)
        self.t = spec.start
        if case .onOff(_, _, let meanOn, _) = spec.process {
            stateEnd = spec.start + random.exponential(mean: meanOn)
        }
    }

    /// The next arrival time and, for traces, the row index.
    mutating func next() -> (time: Double, row: Int)? {
        let time: Double
        var row = -1
        switch spec.process {
        case .constant(let rate):
            guard rate > 0 else { return nil }
            time = spec.start + Double(k) / rate
        case .poisson(let rate):
            guard rate > 0 else { return nil }
            t += random.exponential(mean: 1 / rate)
            time = t
        case .gamma(let rate, let shape):
            guard rate > 0 else { return nil }
            t += random.gamma(shape: shape, scale: 1 / (rate * shape))
            time = t
        case .onOff(let rateOn, let rateOff, let meanOn, let meanOff):
            // Memoryless in both states: draw a gap at the current rate; if it crosses the state
            // boundary, move to the boundary, flip, and draw again.
            while true {
                let rate = on ? rateOn : rateOff
                let gap = rate > 0 ? random.exponential(mean: 1 / rate) : .infinity
                if t + gap < stateEnd {
                    t += gap
                    break
                }
                t = stateEnd
                if t >= stopAt { return nil }
                on.toggle()
                stateEnd = t + random.exponential(mean: on ? meanOn : meanOff)
            }
            time = t
        case .burst(let at, let count, let over):
            guard k < count else { return nil }
            time = spec.start + at + (count > 0 ? over * Double(k) / Double(count) : 0)
        case .ramp(let from, let to, let over):
            mass += random.exponential(mean: 1)
            guard let offset = Self.rampInverse(mass: mass, from: from, to: to, over: over) else { return nil }
            time = spec.start + offset
        case .trace(_, let rows):
            guard k < rows.count else { return nil }
            time = spec.start + rows[k].at
            row = k
        }
        k += 1
        guard time < stopAt else { return nil }
        return (time, row)
    }

    /// Inverts the cumulative intensity of a linear ramp that then holds `to`:
    /// Λ(τ) = from·τ + (to − from)·τ²/(2·over) for τ ≤ over, then Λ(over) + to·(τ − over).
    static func rampInverse(mass s: Double, from r0: Double, to r1: Double, over: Double) -> Double? {
        let rampMass = (r0 + r1) / 2 * over
        if s <= rampMass {
            let a = (r1 - r0) / (2 * over)
            let disc = r0 * r0 + 4 * a * s
            guard disc >= 0 else { return nil }
            let denom = r0 + disc.squareRoot()
            return denom > 0 ? 2 * s / denom : nil
        }
        guard r1 > 0 else { return nil }
        return over + (s - rampMass) / r1
    }
}

/// Builds a scenario's arrival stream: superposed sources, each with its own random stream,
/// then the workload's token draws in arrival order. Gaps are never rescaled to hit an exact
/// count; the realised rate is whatever the process produced.
public enum ArrivalGenerator {
    public static func generate(_ scenario: Scenario) -> ArrivalStream {
        let runEnd: Double
        let limit: Int
        switch scenario.length {
        case .duration(let d): runEnd = d; limit = .max
        case .requests(let n): runEnd = .infinity; limit = n
        }
        var sources = scenario.arrivals.enumerated().map { i, spec in
            ArrivalSource(spec: spec, random: RandomSource(seed: scenario.seed, stream: "arrivals[\(i)]"), runEnd: runEnd)
        }
        struct Head: Comparable {
            var time: Double; var source: Int; var row: Int
            static func < (a: Head, b: Head) -> Bool { a.time < b.time || (a.time == b.time && a.source < b.source) }
        }
        var heads = MinHeap<Head>()
        for i in sources.indices {
            if let n = sources[i].next() { heads.push(Head(time: n.time, source: i, row: n.row)) }
        }

        let workload = scenario.workload
        let random = RandomSource(seed: scenario.seed, stream: "workload")
        var stream = ArrivalStream()
        if case .duration(let d) = scenario.length {
            let rate = scenario.arrivals.reduce(0.0) { $0 + nominalRate($1) }
            stream.reserveCapacity(Int(Swift.min(rate * d * 1.05 + 16, 50_000_000)))
        } else {
            stream.reserveCapacity(Swift.min(limit, 50_000_000))
        }
        let cache = workload.cache
        let sharedPrefix = cache.map { prefixTokens($0, workload) } ?? 0
        let maxTokens = workload.maxTokens

        while stream.count < limit, let head = heads.pop() {
            if let n = sources[head.source].next() {
                heads.push(Head(time: n.time, source: head.source, row: n.row))
            }
            if head.row >= 0, case .trace(_, let rows) = scenario.arrivals[head.source].process {
                let r = rows[head.row]
                var prefix = 0, prefixId = 0
                if let read = r.cacheReadTokens {
                    prefix = Swift.min(read, r.inputTokens)
                    prefixId = -1
                } else if let cache {
                    (prefix, prefixId) = cachePrefix(cache, prefixTokens: sharedPrefix, input: r.inputTokens,
                                                     random: random)
                }
                stream.append(at: head.time, input: r.inputTokens, output: Swift.min(r.outputTokens, r.maxTokens),
                              maxTokens: r.maxTokens, prefixTokens: prefix, prefixId: prefixId)
                continue
            }
            let input = random.drawTokens(workload.inputTokens, floor: 1)
            let output = Swift.min(random.drawTokens(workload.outputTokens, floor: 1), maxTokens)
            var prefix = 0, prefixId = 0
            if let cache { (prefix, prefixId) = cachePrefix(cache, prefixTokens: sharedPrefix, input: input, random: random) }
            stream.append(at: head.time, input: input, output: output, maxTokens: maxTokens,
                          prefixTokens: prefix, prefixId: prefixId)
        }
        switch scenario.length {
        case .duration(let d): stream.window = d
        case .requests: stream.window = stream.intendedAt.last ?? 0
        }
        markDeferrable(&stream, scenario)
        return stream
    }

    /// A request's shared prefix: one of `prefixes`, each of a fixed length (`share` of the mean
    /// prompt), since a cache hit needs the same content up to the breakpoint — on the real API
    /// and in the mock, which key the cache by content. A prompt shorter than the prefix plus
    /// the 4 tokens the rest of a message needs carries none.
    private static func cachePrefix(_ cache: CacheSpec, prefixTokens tokens: Int, input: Int,
                                    random: RandomSource) -> (Int, Int) {
        let id = cache.prefixes > 1 ? random.uniformInt(cache.prefixes) : 0
        return (tokens >= cache.minCacheableTokens && tokens > 0 && tokens + 4 <= input ? tokens : 0, id)
    }

    /// Length of every shared prefix: `share` of the workload's mean prompt.
    static func prefixTokens(_ cache: CacheSpec, _ workload: WorkloadSpec) -> Int {
        var mean = workload.inputTokens.distribution.mean
        if let lo = workload.inputTokens.min { mean = Swift.max(mean, lo) }
        if let hi = workload.inputTokens.max { mean = Swift.min(mean, hi) }
        let t = (mean * cache.share).rounded(.down)
        return t.isFinite && t > 0 ? Int(Swift.min(t, 1e9)) : 0
    }

    /// Long-run rate of a source in requests per second (for capacity reservation only).
    static func nominalRate(_ spec: ArrivalSpec) -> Double {
        switch spec.process {
        case .constant(let r), .poisson(let r), .gamma(let r, _): return r
        case .onOff(let on, let off, let mOn, let mOff): return (on * mOn + off * mOff) / (mOn + mOff)
        case .burst: return 0
        case .ramp(let a, let b, _): return Swift.max(a, b)
        case .trace: return 0
        }
    }
}

extension ArrivalGenerator {
    /// Marks each request deferrable with probability `workload.deferrable.share`, drawn in
    /// arrival order from the scenario's own `deferrable` stream (the other draws do not move).
    static func markDeferrable(_ stream: inout ArrivalStream, _ scenario: Scenario) {
        guard let spec = scenario.workload.deferrable, spec.share > 0 else { return }
        let random = RandomSource(seed: scenario.seed, stream: "deferrable")
        stream.deferrable = (0..<stream.count).map { _ in random.uniform() < spec.share ? 1 : 0 }
    }
}
