import Foundation

internal import CGSL

/// The quantile definition every limitlab report uses, named in the report itself.
public let quantileDefinition =
    "GSL gsl_stats_quantile_from_sorted_data: linear interpolation between order statistics "
    + "(Hyndman-Fan type 7, numpy.quantile method=\"linear\"), exact on all samples"

/// Exact sample statistics through GSL.
public enum Stats {
    /// Sorts in place, ascending. Swift's introsort rather than `gsl_sort`: GSL's heapsort is
    /// cache-hostile and took 15 s on 10M samples; the order (and so every quantile) is the same.
    public static func sort(_ values: inout [Double]) {
        values.sort()
    }

    /// Type-7 quantile of already sorted data; `p` in [0, 1]. NaN for no data.
    public static func quantile(sorted: [Double], _ p: Double) -> Double {
        GSL.initialise()
        return sorted.withUnsafeBufferPointer { buf in
            guard let base = buf.baseAddress, buf.count > 0 else { return .nan }
            return gsl_stats_quantile_from_sorted_data(base, 1, buf.count, Swift.min(1, Swift.max(0, p)))
        }
    }

    /// Arithmetic mean (GSL's running-mean algorithm, stable for large n). NaN for no data.
    public static func mean(_ values: [Double]) -> Double {
        values.withUnsafeBufferPointer { buf in
            guard let base = buf.baseAddress, buf.count > 0 else { return .nan }
            return gsl_stats_mean(base, 1, buf.count)
        }
    }

    /// Sample standard deviation (n − 1). NaN for fewer than two values.
    public static func standardDeviation(_ values: [Double]) -> Double {
        values.withUnsafeBufferPointer { buf in
            guard let base = buf.baseAddress, buf.count > 1 else { return .nan }
            return gsl_stats_sd(base, 1, buf.count)
        }
    }

    /// Upper-tail probability of the standard normal.
    public static func normalQ(_ x: Double) -> Double { gsl_cdf_ugaussian_Q(x) }
    /// Lower-tail probability of the exponential with the given mean.
    public static func exponentialP(_ x: Double, mean: Double) -> Double { gsl_cdf_exponential_P(x, mean) }
    /// Lower-tail probability of the gamma distribution.
    public static func gammaP(_ x: Double, shape: Double, scale: Double) -> Double { gsl_cdf_gamma_P(x, shape, scale) }

    /// Kolmogorov–Smirnov statistic D of sorted samples against a CDF, with the asymptotic
    /// p-value from the Kolmogorov series (GSL has no KS distribution).
    public static func kolmogorovSmirnov(sorted: [Double], cdf: (Double) -> Double) -> (d: Double, p: Double) {
        let n = Double(sorted.count)
        guard n > 0 else { return (.nan, .nan) }
        var d = 0.0
        for (i, x) in sorted.enumerated() {
            let f = cdf(x)
            d = Swift.max(d, f - Double(i) / n, Double(i + 1) / n - f)
        }
        let lambda = (n.squareRoot() + 0.12 + 0.11 / n.squareRoot()) * d
        var p = 0.0
        for j in 1...100 {
            let jd = Double(j)
            let term = 2 * (j % 2 == 1 ? 1.0 : -1.0) * exp(-2 * jd * jd * lambda * lambda)
            p += term
            if abs(term) < 1e-12 { break }
        }
        return (d, Swift.min(1, Swift.max(0, p)))
    }
}

/// Percentile summary of a sample, as reports print it.
public struct Percentiles: Sendable, Equatable, Codable {
    public var count: Int
    public var p50: Double
    public var p90: Double
    public var p95: Double
    public var p99: Double
    public var p999: Double
    public var mean: Double
    public var max: Double
    /// User-chosen percentiles, keyed `p75`, `p99.99`…; absent when none were asked for.
    public var extra: [String: Double]?

    /// The key of a percentile in `extra`: `p` followed by the percentage, without trailing zeros.
    public static func key(_ p: Double) -> String {
        var s = String(format: "%.6f", p * 100)
        while s.hasSuffix("0") { s.removeLast() }
        if s.hasSuffix(".") { s.removeLast() }
        return "p" + s
    }

    /// Summarises `values` (sorted in place). All fields NaN-free: an empty sample gives zeros
    /// with `count` 0, so JSON stays valid and readers check `count`.
    public static func of(_ values: inout [Double], extra: [Double] = []) -> Percentiles {
        let extraKeys = extra.isEmpty ? nil : Dictionary(extra.map { (key($0), 0.0) }, uniquingKeysWith: { a, _ in a })
        guard !values.isEmpty else {
            return Percentiles(count: 0, p50: 0, p90: 0, p95: 0, p99: 0, p999: 0, mean: 0, max: 0, extra: extraKeys)
        }
        Stats.sort(&values)
        func q(_ p: Double) -> Double { Stats.quantile(sorted: values, p) }
        let more = extra.isEmpty ? nil : Dictionary(extra.map { (key($0), q($0)) }, uniquingKeysWith: { a, _ in a })
        return Percentiles(count: values.count, p50: q(0.5), p90: q(0.9), p95: q(0.95), p99: q(0.99),
                           p999: q(0.999), mean: Stats.mean(values), max: values[values.count - 1], extra: more)
    }
}
