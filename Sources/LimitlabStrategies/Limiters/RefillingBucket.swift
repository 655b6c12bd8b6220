/// A client-side bucket that refills continuously at `rate` per second up to `capacity` and
/// may be driven below zero (debt). Waits are computed in closed form, never by polling.
struct RefillingBucket: Sendable, Equatable {
    let rate: Double
    let capacity: Double
    private(set) var level: Double
    private(set) var updatedAt: Double

    init(rate: Double, capacity: Double, level: Double, at start: Double) {
        self.rate = rate; self.capacity = capacity; self.level = level; self.updatedAt = start
    }

    /// Levels within this of a threshold count as reaching it: float residue of `rate · dt` must
    /// not make a request that was told "at t" miss at t and be asked again an ulp later.
    var tolerance: Double { 1e-9 * Swift.max(1, capacity) }

    func level(at now: Double) -> Double {
        guard now > updatedAt else { return level }
        return Swift.min(capacity, level + rate * (now - updatedAt))
    }

    mutating func advance(to now: Double) {
        guard now > updatedAt else { return }
        level = Swift.min(capacity, level + rate * (now - updatedAt))
        updatedAt = now
    }

    /// Earliest time ≥ `now` at which the level reaches `need` (callers cap `need` at capacity).
    /// Exact: the returned time is the first representable one at which `level(at:)` is at
    /// least `need`, so a request told "at t" passes when asked at t, and a server bucket
    /// refilled by the same arithmetic agrees with it.
    func timeToReach(_ need: Double, from now: Double) -> Double {
        let l = level(at: now)
        if l >= need { return now }
        guard rate > 0 else { return .infinity }
        var t = now + (need - l) / rate
        // The division leaves at most a few ulps of residue.
        var steps = 0
        while level(at: t) < need && steps < 64 { t = t.nextUp; steps += 1 }
        return level(at: t) >= need ? t : t + 1e-9 * Swift.max(1, t)
    }

    /// Seconds from `now` until the bucket is full (what a `*-reset` header reports).
    func secondsUntilFull(from now: Double) -> Double {
        guard rate > 0 else { return 0 }
        return Swift.max(0, (capacity - level(at: now)) / rate)
    }

    mutating func take(_ amount: Double, at now: Double) {
        advance(to: now)
        level -= amount
    }

    /// Returns tokens (a refund), never above capacity.
    mutating func give(_ amount: Double, at now: Double) {
        advance(to: now)
        level = Swift.min(capacity, level + amount)
    }
}

extension AdmissionAnswer {
    /// The answer of a limiter that computed "not before `t`" when asked at `now`.
    static func notBefore(_ t: Double, now: Double) -> AdmissionAnswer {
        t <= now ? .now : .at(t)
    }
}
