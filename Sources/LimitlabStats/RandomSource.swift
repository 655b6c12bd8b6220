internal import CGSL

/// GSL set-up that must run before any GSL call: switches off the abort-on-error handler, so a
/// domain error returns a code (or NaN) instead of killing the process with results unsaved.
public enum GSL {
    private static let initialised: Bool = {
        limitlab_gsl_disable_abort()
        return true
    }()

    /// Idempotent; every GSL-owning type calls it.
    public static func initialise() { _ = initialised }
}

/// Derives independent 64-bit seeds from one scenario seed and a stream label (SplitMix64 over
/// an FNV-1a hash of the label), so adding a stream never shifts the draws of another.
public enum SeedDerivation {
    public static func seed(_ base: UInt64, stream: String) -> UInt64 {
        var h: UInt64 = 0xcbf2_9ce4_8422_2325
        for b in stream.utf8 { h = (h ^ UInt64(b)) &* 0x0000_0100_0000_01b3 }
        return splitMix(base ^ splitMix(h))
    }

    static func splitMix(_ x: UInt64) -> UInt64 {
        var z = x &+ 0x9e37_79b9_7f4a_7c15
        z = (z ^ (z >> 30)) &* 0xbf58_476d_1ce4_e5b9
        z = (z ^ (z >> 27)) &* 0x94d0_49bb_1331_11eb
        return z ^ (z >> 31)
    }
}

/// A seeded Mersenne Twister (GSL `gsl_rng_mt19937`) with the distributions limitlab draws
/// from. Owns its GSL handle. Not thread-safe: use one per stream of draws.
public final class RandomSource {
    private let rng: UnsafeMutablePointer<gsl_rng>

    /// `seed` is folded to a non-zero 32-bit value: MT19937 takes an unsigned long, and GSL maps
    /// seed 0 to its default seed, which would alias another stream.
    public init(seed: UInt64) {
        GSL.initialise()
        guard let r = gsl_rng_alloc(limitlab_gsl_rng_mt19937()) else {
            fatalError("out of memory allocating a GSL random generator")
        }
        rng = r
        var s = UInt(truncatingIfNeeded: (seed ^ (seed >> 32)) & 0xffff_ffff)
        if s == 0 { s = 0x9e37_79b9 }
        gsl_rng_set(rng, s)
    }

    /// A generator for a named stream under a base seed.
    public convenience init(seed: UInt64, stream: String) {
        self.init(seed: SeedDerivation.seed(seed, stream: stream))
    }

    deinit { gsl_rng_free(rng) }

    /// Uniform on [0, 1).
    @inline(__always) public func uniform() -> Double { gsl_rng_uniform(rng) }
    /// Uniform on (0, 1).
    @inline(__always) public func uniformPositive() -> Double { gsl_rng_uniform_pos(rng) }
    /// Uniform integer on 0..<n (n ≥ 1).
    @inline(__always) public func uniformInt(_ n: Int) -> Int {
        n <= 1 ? 0 : Int(gsl_rng_uniform_int(rng, UInt(n)))
    }
    @inline(__always) public func exponential(mean: Double) -> Double { gsl_ran_exponential(rng, mean) }
    /// Gamma with shape `a` and scale `b` (mean a·b).
    @inline(__always) public func gamma(shape: Double, scale: Double) -> Double { gsl_ran_gamma(rng, shape, scale) }
    /// exp(N(zeta, sigma²)).
    @inline(__always) public func lognormal(zeta: Double, sigma: Double) -> Double { gsl_ran_lognormal(rng, zeta, sigma) }
    @inline(__always) public func gaussian(sigma: Double) -> Double { gsl_ran_gaussian_ziggurat(rng, sigma) }
    @inline(__always) public func poisson(mean: Double) -> Int { Int(gsl_ran_poisson(rng, mean)) }
    /// Successes in `n` Bernoulli(p) trials.
    @inline(__always) public func binomial(p: Double, n: Int) -> Int { Int(gsl_ran_binomial(rng, p, UInt32(clamping: n))) }
}
