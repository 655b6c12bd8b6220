public import LimitlabCore

/// Guava's `RateLimiter` (SmoothBursty and SmoothWarmingUp), ported from
/// `SmoothRateLimiter.java` as a state machine on model time in seconds.
///
/// State: `storedPermits`, `maxPermits`, `stableInterval = 1/rate` and `nextFree`
/// (`nextFreeTicketMicros`). `resync(now)`: if `now > nextFree`, then `storedPermits =
/// min(maxPermits, storedPermits + (now − nextFree)/coolDownInterval)` and `nextFree = now`.
/// A reservation of n permits waits until the *old* `nextFree` and then pushes it on by
/// `storedPermitsToWaitTime(stored, min(n, stored)) + fresh · stableInterval`: each request
/// pays for the one before it, so `acquire(100)` at 1 permit/s goes at once and the next
/// caller waits 100 s.
///
/// - SmoothBursty: `maxPermits = maxBurstSeconds · rate`; stored permits cost nothing; they
///   accumulate at the stable rate from creation (0 at the start).
/// - SmoothWarmingUp: cold interval `coldFactor · stable`; `thresholdPermits = 0.5 · warmup /
///   stable`; `maxPermits = threshold + 2 · warmup / (stable + cold)`; a stored permit above the
///   threshold costs between `stable` and `cold` (the trapezoid under a line of slope
///   `(cold − stable)/(maxPermits − threshold)`), one at or below it costs `stable`; it starts
///   cold (`storedPermits = maxPermits`) and cools at `warmup / maxPermits` per permit.
///
/// Guava truncates each wait to whole microseconds (`(long)` casts); this port keeps seconds
/// as `Double`, which differs from it by under a microsecond per reservation.
///
/// In the pipeline a request is reserved when it is sent, which is Guava's reservation made
/// when the caller asked: `resync` changes nothing while `now ≤ nextFree`, and the queue is
/// head-of-line, so no other reservation comes between. `tryAcquire(timeout)` is the queue's
/// `max_wait`: a request whose slot is not before its deadline is refused at once (Guava's
/// `canAcquire`), without taking permits.
public struct GuavaRateLimiter: AdmissionPolicy {
    public enum Kind: Sendable, Equatable {
        /// `RateLimiter.create(rate)`: `maxBurstSeconds` of stored permits (Guava's 1.0).
        case bursty(maxBurstSeconds: Double)
        /// `RateLimiter.create(rate, warmupPeriod, unit)`: cold factor 3.0 in the public factory.
        case warmingUp(warmup: Double, coldFactor: Double)
    }

    /// What one request takes in permits.
    public enum Permits: String, Sendable, CaseIterable {
        /// One permit per request.
        case request
        /// One permit per input token charged at send (input + cache creation).
        case inputTokens = "input-tokens"
    }

    public let kind: Kind
    public let permits: Permits
    /// Permits per second.
    public let rate: Double
    public let stableInterval: Double
    public let maxPermits: Double
    public private(set) var storedPermits: Double
    /// Guava's `nextFreeTicketMicros`, in seconds.
    public private(set) var nextFree: Double
    private let thresholdPermits: Double
    private let slope: Double
    private let coolDownInterval: Double

    /// A limiter created at model time `start` (Guava's stopwatch starts with it).
    public init(kind: Kind, rate: Double, permits: Permits = .request, start: Double = 0) {
        precondition(rate > 0)
        self.kind = kind; self.permits = permits; self.rate = rate
        stableInterval = 1 / rate
        nextFree = start
        switch kind {
        case .bursty(let maxBurstSeconds):
            maxPermits = maxBurstSeconds * rate
            thresholdPermits = 0; slope = 0
            coolDownInterval = stableInterval
            // doSetRate on a new limiter: oldMaxPermits is 0, so storedPermits = 0.
            storedPermits = 0
        case .warmingUp(let warmup, let coldFactor):
            let coldInterval = stableInterval * coldFactor
            thresholdPermits = 0.5 * warmup / stableInterval
            maxPermits = thresholdPermits + 2 * warmup / (stableInterval + coldInterval)
            slope = (coldInterval - stableInterval) / (maxPermits - thresholdPermits)
            coolDownInterval = warmup / maxPermits
            // "initial state is cold".
            storedPermits = maxPermits
        }
    }

    /// Permits `cost` takes.
    public func permits(for cost: RequestCost) -> Double {
        switch permits {
        case .request: return 1
        case .inputTokens: return Double(cost.inputTokens + cost.cacheCreationTokens)
        }
    }

    private mutating func resync(_ now: Double) {
        if now > nextFree {
            storedPermits = Swift.min(maxPermits, storedPermits + (now - nextFree) / coolDownInterval)
            nextFree = now
        }
    }

    private func permitsToTime(_ permits: Double) -> Double { stableInterval + permits * slope }

    /// Seconds the `take` stored permits cost when `stored` are held (0 for SmoothBursty).
    private func storedPermitsToWaitTime(_ stored: Double, _ take: Double) -> Double {
        guard case .warmingUp = kind else { return 0 }
        var toTake = take
        var wait = 0.0
        let above = stored - thresholdPermits
        if above > 0 {
            let aboveToTake = Swift.min(above, toTake)
            let length = permitsToTime(above) + permitsToTime(above - aboveToTake)
            wait = aboveToTake * length / 2
            toTake -= aboveToTake
        }
        return wait + stableInterval * toTake
    }

    /// Guava's `reserveEarliestAvailable`: the time the caller may go (the old `nextFree`,
    /// or `now` after a resync), pushing `nextFree` on by the cost of `n` permits.
    @discardableResult
    public mutating func reserve(_ n: Double, now: Double) -> Double {
        resync(now)
        let moment = nextFree
        let spend = Swift.min(n, storedPermits)
        let fresh = n - spend
        nextFree = moment + storedPermitsToWaitTime(storedPermits, spend) + fresh * stableInterval
        storedPermits -= spend
        return moment
    }

    /// Guava's `acquire(n)` at `now`: the seconds the caller sleeps.
    public mutating func acquire(_ n: Double = 1, now: Double) -> Double {
        Swift.max(reserve(n, now: now) - now, 0)
    }

    /// `stored_permits`: the permits stored at `now` (after Guava's `resync`, without applying
    /// it); `wait_s`: how long a caller asking at `now` would wait (`nextFree − now`, ≥ 0).
    public func stateGauges(now: Double) -> [StateGauge] {
        let stored = now > nextFree ? Swift.min(maxPermits, storedPermits + (now - nextFree) / coolDownInterval)
            : storedPermits
        return [StateGauge("stored_permits", stored), StateGauge("wait_s", Swift.max(0, nextFree - now))]
    }

    public mutating func ask(_ request: PendingRequest, attempt: Int, now: Double) -> AdmissionAnswer {
        .notBefore(nextFree, now: now)
    }

    public mutating func ask(_ request: PendingRequest, attempt: Int, now: Double, deadline: Double) -> AdmissionAnswer {
        // tryAcquire: refused at once when the slot is not before the deadline the queue drops at.
        if nextFree > now && nextFree >= deadline { return .reject(.deadline) }
        return .notBefore(nextFree, now: now)
    }

    public mutating func sent(_ request: PendingRequest, attempt: Int, now: Double) {
        reserve(permits(for: request.cost), now: now)
    }
}

extension GuavaRateLimiter {
    static let definition = StrategyDefinition.admission(
        "guava",
        summary: "Guava's RateLimiter. bursty (SmoothBursty): up to max_burst_seconds of unused permits are stored "
            + "and spent at no wait; each request pays for the one before it, so a large request goes at once and "
            + "the next waits out its cost (acquire(100) at 1/s: the next caller waits 100 s). warming-up "
            + "(SmoothWarmingUp): starts cold, a stored permit above the threshold 0.5·warmup/stable costs up to "
            + "cold_factor × the stable interval, and saturation brings the rate to stable over `warmup`; idle "
            + "time cools it again. With max_wait, a request whose slot comes after its deadline is refused at "
            + "once (tryAcquire with a timeout).",
        mirrors: "Guava RateLimiter / SmoothRateLimiter @07212fe (https://github.com/google/guava/blob/07212fe/"
            + "guava/src/com/google/common/util/concurrent/SmoothRateLimiter.java)",
        parameters: [
            StrategyParameter("kind", .choice(["bursty", "warming-up"]), "bursty",
                              "bursty: RateLimiter.create(rate); warming-up: create(rate, warmup, unit)."),
            StrategyParameter("rate", .number(min: 0, max: .infinity), "none",
                              "Permits per second; none = the scenario's RPM/60 (or ITPM/60 with permits: "
                              + "input-tokens)."),
            StrategyParameter("permits", .choice(["request", "input-tokens"]), "request",
                              "What a request acquires: 1 permit, or its input tokens (acquire(n))."),
            StrategyParameter("max_burst_seconds", .duration, "1s",
                              "bursty: seconds of unused permits stored (Guava's create uses 1.0)."),
            StrategyParameter("warmup", .duration, "10s",
                              "warming-up: the warm-up period (limitlab's default; Guava has none)."),
            StrategyParameter("cold_factor", .number(min: 1, max: .infinity), "3",
                              "warming-up: cold interval ÷ stable interval (Guava's public factory: 3.0)."),
        ] + PipelineStrategy.queueParameters
    ) { (p, context) throws(StrategyError) in
        guard let permits = Permits(rawValue: try p.string("permits")) else {
            throw StrategyError(message: "\(p.owner): permits must be request or input-tokens")
        }
        let fallback = permits == .request ? context.limits.rpm / 60 : context.limits.itpm / 60
        let rate = try p.optionalDouble("rate") ?? fallback
        guard rate > 0, rate.isFinite else { throw StrategyError(message: "\(p.owner): rate must be above 0") }
        let kind: Kind
        switch try p.string("kind") {
        case "bursty":
            let burst = try p.double("max_burst_seconds")
            guard burst >= 0 else { throw StrategyError(message: "\(p.owner): max_burst_seconds must be at least 0") }
            kind = .bursty(maxBurstSeconds: burst)
        case "warming-up":
            let warmup = try p.double("warmup"), cold = try p.double("cold_factor")
            // Guava: checkArgument(warmupPeriod >= 0); a zero period divides by zero in maxPermits.
            guard warmup > 0 else { throw StrategyError(message: "\(p.owner): warmup must be longer than 0s") }
            guard cold >= 1 else { throw StrategyError(message: "\(p.owner): cold_factor must be at least 1") }
            kind = .warmingUp(warmup: warmup, coldFactor: cold)
        case let other:
            throw StrategyError(message: "\(p.owner): kind \(other) must be bursty or warming-up")
        }
        return GuavaRateLimiter(kind: kind, rate: rate, permits: permits)
    }
}
