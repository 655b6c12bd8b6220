/// Bottleneck's heartbeat (`LocalDatastore._startHeartbeat`) on an ideal grid: ticks at
/// `origin + k × period` for k = 1, 2, …, where `origin` is limiter creation. A tick refreshes
/// when `now ≥ lastRefresh + interval` and then sets `lastRefresh = now`; with ticks exactly on
/// the grid that is "every ⌈interval / period⌉ ticks", so the schedule is kept in whole ticks
/// (no float drift). The same holds for increases.
struct BottleneckHeartbeat: Sendable {
    let origin: Double
    let period: Double
    /// Ticks between refreshes; nil when refresh is off.
    let refreshEvery: Int?
    let refreshAmount: Int
    /// Ticks between increases; nil when increase is off.
    let increaseEvery: Int?
    let increaseAmount: Int
    let increaseMaximum: Int?
    /// Tick of the last refresh / increase; 0 is limiter creation (`Date.now()` in the constructor).
    private(set) var lastRefresh = 0
    private(set) var lastIncrease = 0

    init(settings s: BottleneckSettings, origin: Double) {
        self.origin = origin
        period = s.heartbeatInterval
        refreshEvery = s.refreshActive ? Self.ticks(s.reservoirRefreshInterval!, period: s.heartbeatInterval) : nil
        refreshAmount = s.reservoirRefreshAmount ?? 0
        increaseEvery = s.increaseActive ? Self.ticks(s.reservoirIncreaseInterval!, period: s.heartbeatInterval) : nil
        increaseAmount = s.reservoirIncreaseAmount ?? 0
        increaseMaximum = s.reservoirIncreaseMaximum
    }

    /// The first tick after the previous one that satisfies `k × period ≥ interval`: the interval
    /// rounded up to whole heartbeats ("late by up to one heartbeat, never early"), at least one.
    /// The 1e-9 keeps `60 s / 250 ms` at 240 ticks despite binary fractions.
    static func ticks(_ interval: Double, period: Double) -> Int {
        let exact = interval / period
        guard exact.isFinite else { return Int.max / 4 }
        return Swift.max(1, Int((exact - 1e-9).rounded(.up)))
    }

    var isActive: Bool { refreshEvery != nil || increaseEvery != nil }

    func time(ofTick k: Int) -> Double { origin + Double(k) * period }

    /// The next tick at which a refresh or an increase is due; nil when the heartbeat is off.
    var nextFiringTick: Int? {
        switch (refreshEvery, increaseEvery) {
        case let (r?, i?): return Swift.min(lastRefresh + r, lastIncrease + i)
        case let (r?, nil): return lastRefresh + r
        case let (nil, i?): return lastIncrease + i
        case (nil, nil): return nil
        }
    }

    /// Applies tick `k` (a firing tick) to `reservoir`, refresh first then increase, as the
    /// heartbeat callback does. Returns whether Bottleneck drains the queue after it: always
    /// after a refresh, after an increase only when it added something.
    mutating func fire(tick k: Int, reservoir: inout Int?) -> Bool {
        var drain = false
        if let r = refreshEvery, k >= lastRefresh + r {
            lastRefresh = k
            reservoir = refreshAmount
            drain = true
        }
        if let i = increaseEvery, k >= lastIncrease + i {
            lastIncrease = k
            // `maximum - reservoir` and `reservoir += incr` with a null reservoir treat it as 0.
            let current = reservoir ?? 0
            let incr = increaseMaximum.map { Swift.min(increaseAmount, $0 - current) } ?? increaseAmount
            if incr > 0 {
                reservoir = current + incr
                drain = true
            }
        }
        return drain
    }

    /// The first future firing tick at which the reservoir reaches `weight`, assuming nothing
    /// else changes it (true while the queue is blocked by the reservoir: nothing registers).
    /// nil when it never does: the head job is stuck for good, as in Bottleneck, and the driver
    /// must not be woken every heartbeat forever.
    func firstTick(reservoirReaches weight: Int, from reservoir: Int) -> Int? {
        switch (refreshEvery, increaseEvery) {
        case (nil, nil):
            return nil
        case let (r?, nil):
            return refreshAmount >= weight ? lastRefresh + r : nil
        case let (nil, i?):
            // Monotone: each increase adds `amount` until `maximum`.
            guard increaseAmount > 0, (increaseMaximum ?? Int.max) >= weight else { return nil }
            let steps = (weight - reservoir + increaseAmount - 1) / increaseAmount
            return lastIncrease + Swift.max(1, steps) * i
        case let (r?, i?):
            // Refresh resets, increases climb between resets: the pattern repeats with period
            // lcm(r, i) ticks once a refresh has happened, so scanning one period past the next
            // two refreshes finds the first fit or shows there is none. The scan is capped at a
            // million firings (intervals of days that are coprime in heartbeats); past that the
            // head is treated as stuck.
            let g = gcd(r, i)
            let lcm = (r / g).multipliedReportingOverflow(by: i)
            let period = lcm.overflow ? Int.max / 8 : Swift.min(lcm.partialValue, Int.max / 8)
            let horizon = (lastRefresh + 2 * r).addingReportingOverflow(period)
            let limit = horizon.overflow ? Int.max : horizon.partialValue
            var copy = self
            var level: Int? = reservoir
            var budget = 1_000_000
            while let k = copy.nextFiringTick, k <= limit, budget > 0 {
                budget -= 1
                _ = copy.fire(tick: k, reservoir: &level)
                if let l = level, l >= weight { return k }
            }
            return nil
        }
    }

    private func gcd(_ a: Int, _ b: Int) -> Int {
        var (x, y) = (a, b)
        while y != 0 { (x, y) = (y, x % y) }
        return Swift.max(1, x)
    }
}
