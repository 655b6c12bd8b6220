public import LimitlabCore
public import LimitlabStats

/// Draws of scenario quantities. The arrival generator and the organisation server (which the
/// simulator and the mock both run) use these, so the same seed gives the same values everywhere.
extension RandomSource {
    /// One draw of a clamped distribution.
    public func draw(_ s: Sampled) -> Double {
        var v: Double
        switch s.distribution {
        case .constant(let c): v = c
        case .uniform(let a, let b): v = a + (b - a) * uniform()
        case .lognormal(let mu, let sigma): v = lognormal(zeta: mu, sigma: sigma)
        case .exponential(let m): v = exponential(mean: m)
        case .empirical(let values): v = values.isEmpty ? 0 : values[uniformInt(values.count)]
        }
        if let lo = s.min, v < lo { v = lo }
        if let hi = s.max, v > hi { v = hi }
        return v
    }

    /// A token count: integer draws for integer uniform ranges, otherwise rounded, at least `floor`.
    public func drawTokens(_ s: Sampled, floor: Int) -> Int {
        if case .uniform(let a, let b) = s.distribution, a == a.rounded(), b == b.rounded(), b >= a {
            return Swift.max(floor, Int(a) + uniformInt(Int(b - a) + 1))
        }
        let v = draw(s).rounded()
        guard v.isFinite else { return floor }
        return Swift.max(floor, Int(Swift.min(v, 1e9)))
    }
}
