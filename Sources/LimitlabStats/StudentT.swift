internal import CGSL

extension Stats {
    /// Quantile of Student's t distribution with `df` degrees of freedom
    /// (GSL `gsl_cdf_tdist_Pinv`, https://www.gnu.org/software/gsl/doc/html/randist.html#the-t-distribution).
    public static func studentTQuantile(_ p: Double, degreesOfFreedom df: Double) -> Double {
        GSL.initialise()
        return gsl_cdf_tdist_Pinv(p, df)
    }
}
